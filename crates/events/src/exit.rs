//! The documented exit codes: one table shared by every command (see README "Exit codes").

/// Every selected host ok.
pub const OK: u8 = 0;
/// clearfleet itself failed: its output, report directory or async runtime (no host result is
/// in doubt because of the input).
pub const INTERNAL: u8 = 1;
/// At least one host failed.
pub const HOST_FAILED: u8 = 2;
/// At least one host unreachable, none failed.
pub const HOST_UNREACHABLE: u8 = 3;
/// At least one host refused by the upgrade planner (left untouched), none failed or
/// unreachable.
pub const HOST_REFUSED: u8 = 5;
/// Invalid input (command line, inventory, pattern, key file): no host was contacted.
pub const INVALID_INPUT: u8 = 4;
/// Interrupted by Ctrl-C.
pub const INTERRUPTED: u8 = 130;
