//! Ansible's `now()` global: the current time for a template, the one clock a playbook reads
//! (`now(fmt='%s.%f')` to time a loop's pauses).

use std::time::SystemTime;

use minijinja::Error;
use minijinja::value::{Kwargs, Value};

use clearfleet_base::time::{ansible_timestamp, strftime};

use super::fail;

/// `now(utc=False, fmt=None)`: with `fmt`, the time formatted as Python's `strftime`; without,
/// as Python prints a `datetime` (`2024-05-01 12:00:00.000123`). clearfleet's clock is UTC
/// either way (Ansible's default is the controller's local time).
pub(crate) fn now(_utc: Option<bool>, fmt: Option<String>, kwargs: Kwargs) -> Result<Value, Error> {
    // `utc` changes nothing here; it is read so that it is accepted.
    kwargs.get::<Option<bool>>("utc")?;
    let fmt = kwargs.get::<Option<String>>("fmt")?.or(fmt);
    kwargs.assert_all_used()?;
    let t = SystemTime::now();
    match fmt {
        Some(f) => strftime(t, &f)
            .map(Value::from)
            .map_err(|e| fail(format!("now: {e}"))),
        None => Ok(Value::from(ansible_timestamp(t))),
    }
}
