//! The documented exit codes: one table shared by every command (see README "Exit codes"), and
//! the one precedence that picks a run's code from how its hosts ended.

use crate::HostStatus;

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

/// The exit code of a run: interrupted first, then the worst way a host ended (failed, then
/// unreachable, then refused). `any(status)` says whether at least one host ended so.
pub fn code(interrupted: bool, any: impl Fn(HostStatus) -> bool) -> u8 {
    if interrupted {
        INTERRUPTED
    } else if any(HostStatus::Failed) {
        HOST_FAILED
    } else if any(HostStatus::Unreachable) {
        HOST_UNREACHABLE
    } else if any(HostStatus::Refused) {
        HOST_REFUSED
    } else {
        OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_host_status_decides_and_an_interruption_beats_all() {
        let of =
            |statuses: &[HostStatus], interrupted| code(interrupted, |s| statuses.contains(&s));
        use HostStatus::*;
        assert_eq!(of(&[], false), OK);
        assert_eq!(of(&[Ok, Interrupted], false), OK);
        assert_eq!(of(&[Ok, Refused], false), HOST_REFUSED);
        assert_eq!(of(&[Refused, Unreachable], false), HOST_UNREACHABLE);
        assert_eq!(of(&[Unreachable, Failed, Refused], false), HOST_FAILED);
        assert_eq!(of(&[Ok], true), INTERRUPTED);
    }
}
