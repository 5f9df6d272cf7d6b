//! UTC timestamps in the three spellings clearfleet writes: RFC 3339 and a directory-safe form
//! for report files, and Ansible's `start`/`end` form for command results; the calendar
//! arithmetic is jiff's.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The UTC calendar date and time of `t` (whole seconds), and `t` since the epoch for its
/// fraction. A time before 1970 counts as 1970-01-01 and one past jiff's range (year 9999) as
/// its last instant, rather than failing: these are labels, never inputs.
fn civil(t: SystemTime) -> (DateTime, Duration) {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let second = i64::try_from(since.as_secs()).unwrap_or(i64::MAX);
    let ts = Timestamp::from_second(second).unwrap_or(Timestamp::MAX);
    (TimeZone::UTC.to_datetime(ts), since)
}

/// `2026-11-26T10:27:28.123Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let (c, since) = civil(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        c.year(),
        c.month(),
        c.day(),
        c.hour(),
        c.minute(),
        c.second(),
        since.subsec_millis()
    )
}

/// `20261126T102728Z`: sorts by time and is safe in file names.
pub fn compact(t: SystemTime) -> String {
    let (c, _) = civil(t);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        c.year(),
        c.month(),
        c.day(),
        c.hour(),
        c.minute(),
        c.second()
    )
}

/// `2026-11-26`: the UTC date (`useradd -e`'s form of an account expiry).
pub fn date(t: SystemTime) -> String {
    let (c, _) = civil(t);
    format!("{:04}-{:02}-{:02}", c.year(), c.month(), c.day())
}

/// `2024-05-01 12:00:00.123456`: the `start`/`end` of Ansible's command results (in UTC, where
/// Ansible prints the host's local time).
pub fn ansible_timestamp(t: SystemTime) -> String {
    let (c, since) = civil(t);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
        c.year(),
        c.month(),
        c.day(),
        c.hour(),
        c.minute(),
        c.second(),
        since.subsec_micros()
    )
}

/// `t` (in UTC) formatted as Python's `datetime.strftime(fmt)`: `%f` is six digits of
/// microseconds as in Python; the other directives are jiff's, which spell the common ones
/// (`%Y %m %d %H %M %S %s %j %a %b %p %z %%`...) as Python does.
pub fn strftime(t: SystemTime, fmt: &str) -> Result<String, String> {
    let mut jiff_fmt = String::with_capacity(fmt.len());
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        jiff_fmt.push(c);
        if c == '%' {
            match chars.next() {
                Some('f') => jiff_fmt.push_str("6f"),
                Some(d) => jiff_fmt.push(d),
                None => {}
            }
        }
    }
    let ts = Timestamp::try_from(t).map_err(|e| e.to_string())?;
    jiff::fmt::strtime::format(&jiff_fmt, &ts.to_zoned(TimeZone::UTC)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_micros(us: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_micros(us)
    }

    #[test]
    fn strftime_like_python() {
        let t = at_micros(1_714_564_800_000_123);
        assert_eq!(
            strftime(t, "%s.%f|%Y-%m-%d %H:%M:%S|%%f|%j %a %b").as_deref(),
            Ok("1714564800.000123|2024-05-01 12:00:00|%f|122 Wed May")
        );
    }

    #[test]
    fn formats_utc() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_689_448_123);
        assert_eq!(rfc3339(t), "2026-11-26T10:37:28.123Z");
        assert_eq!(compact(t), "20261126T103728Z");
        assert_eq!(date(t), "2026-11-26");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            ansible_timestamp(at_micros(1_714_564_800_000_123)),
            "2024-05-01 12:00:00.000123"
        );
    }

    /// Expected values from Python's `datetime.fromtimestamp(s, timezone.utc)`.
    #[test]
    fn leap_days_and_the_epoch_edges() {
        let t = at_micros(1_709_210_096_789_000);
        assert_eq!(rfc3339(t), "2024-02-29T12:34:56.789Z");
        assert_eq!(compact(t), "20240229T123456Z");
        assert_eq!(ansible_timestamp(t), "2024-02-29 12:34:56.789000");
        assert_eq!(compact(at_micros(951_800_461_000_000)), "20000229T050101Z");
        assert_eq!(ansible_timestamp(UNIX_EPOCH), "1970-01-01 00:00:00.000000");
        // The last second of a signed 32-bit time_t, and the first after it.
        assert_eq!(
            rfc3339(at_micros(2_147_483_647_999_000)),
            "2038-01-19T03:14:07.999Z"
        );
        assert_eq!(
            compact(at_micros(2_147_483_648_000_000)),
            "20380119T031408Z"
        );
        assert_eq!(
            ansible_timestamp(at_micros(4_102_444_799_000_001)),
            "2099-12-31 23:59:59.000001"
        );
    }

    #[test]
    fn before_the_epoch_is_the_epoch() {
        let t = UNIX_EPOCH - Duration::from_secs(86_400);
        assert_eq!(compact(t), "19700101T000000Z");
    }
}
