//! A `file` stamp (`modification_time`, `access_time`) read as Python's
//! `time.strptime(stamp, '%Y%m%d%H%M.%S')` reads it (modules/file.py `get_timestamp_for_time`
//! of ansible-core 2.19.14): month, day, hour, minute and second may have one digit
//! (`202001011200.0`), which `touch -t` refuses, so the stamp is written out in full first.

use std::sync::LazyLock;

use regex::Regex;

/// The pattern CPython's `_strptime` builds for `%Y%m%d%H%M.%S`, its alternatives in its order
/// (the first that lets the whole stamp match wins, as Python's backtracking finds it).
static STAMP: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(\d\d\d\d)(1[0-2]|0[1-9]|[1-9])(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])",
        r"(2[0-3]|[0-1]\d|\d)([0-5]\d|\d)\.(6[0-1]|[0-5]\d|\d)$"
    ))
    .ok()
});

/// `stamp` as `touch -t` takes it (`YYYYmmddHHMM.SS`), or `None` when Python would not read it
/// (left to `touch` to refuse, with Ansible's message).
pub(crate) fn touch_stamp(stamp: &str) -> Option<String> {
    let caps = STAMP.as_ref()?.captures(stamp)?;
    let n = |i: usize| -> Option<u32> { caps.get(i)?.as_str().trim().parse().ok() };
    Some(format!(
        "{:04}{:02}{:02}{:02}{:02}.{:02}",
        n(1)?,
        n(2)?,
        n(3)?,
        n(4)?,
        n(5)?,
        n(6)?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stamps_as_python() {
        // Each expectation is CPython 3.11's strftime of its strptime.
        for (stamp, want) in [
            ("202001011200.0", Some("202001011200.00")),
            ("20200101120.5", Some("202001011200.05")),
            ("2020010112.5", Some("202001010102.05")),
            ("2020111111.11", Some("202011110101.11")),
            ("202301311530.59", Some("202301311530.59")),
            ("202013011200.00", None),
            ("202001011200", None),
            ("202001011200.5x", None),
        ] {
            assert_eq!(touch_stamp(stamp).as_deref(), want, "{stamp}");
        }
    }
}
