//! The documented exit codes: one table shared by every command (see README "Exit codes").

/// Every selected host ok.
pub const OK: u8 = 0;
/// At least one host failed.
pub const HOST_FAILED: u8 = 2;
/// At least one host unreachable, none failed.
pub const HOST_UNREACHABLE: u8 = 3;
/// Invalid input (command line, inventory, pattern, key file): no host was contacted.
pub const INVALID_INPUT: u8 = 4;
/// Interrupted by Ctrl-C.
pub const INTERRUPTED: u8 = 130;
