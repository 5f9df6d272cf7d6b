//! The tracing span of each host, shared by the runner (which works in it) and the event log
//! (which writes each host's events in it), and the target of log lines made from events.

use std::collections::HashMap;
use std::sync::Mutex;

use tracing::Span;

/// One span per host, made on first use and shared by the runner and the event log.
static HOST_SPANS: Mutex<Option<HashMap<String, Span>>> = Mutex::new(None);

/// The target of the log lines made from run events: only the log file shows them by
/// default (stderr has the human output already).
pub const EVENTS_TARGET: &str = "clearfleet::events";

/// The span of `host`'s work: the same span every time for the same host.
pub fn host_span(host: &str) -> Span {
    let mut spans = HOST_SPANS.lock().unwrap_or_else(|p| p.into_inner());
    spans
        .get_or_insert_with(HashMap::new)
        .entry(host.to_owned())
        .or_insert_with(|| tracing::info_span!("host", host = %host))
        .clone()
}
