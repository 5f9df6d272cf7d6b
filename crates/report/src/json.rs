//! `--output json`: JSON Lines on stdout, one object per host as it finishes, then a summary.

use std::io::Write;

use serde_json::json;

use super::{FirstError, Reporter, ms};
use clearfleet_events::{Event, EventKind, HostOutcome};

pub struct JsonReporter<W: Write, E: Write> {
    out: W,
    err: E,
    error: FirstError,
}

impl<W: Write, E: Write> JsonReporter<W, E> {
    pub fn new(out: W, err: E) -> Self {
        JsonReporter {
            out,
            err,
            error: FirstError::default(),
        }
    }

    /// What was written so far (the report directory keeps the stream in memory).
    pub fn get_ref(&self) -> &W {
        &self.out
    }
}

/// The JSON object for one host (the `host` record of the JSON Lines output).
pub fn host_json(o: &HostOutcome) -> serde_json::Value {
    let mut v = json!({
        "type": "host",
        "host": o.host,
        "status": o.status,
        "rc": o.rc,
        "stdout": o.stdout,
        "stderr": o.stderr,
        "duration_ms": u64::try_from(o.duration.as_millis()).unwrap_or(u64::MAX),
        "error": o.error,
    });
    if let Some(map) = v.as_object_mut() {
        // Only when the output limit dropped something, as a registered result has them.
        for (key, dropped) in [
            ("stdout_dropped", o.stdout_dropped),
            ("stderr_dropped", o.stderr_dropped),
        ] {
            if dropped > 0 {
                map.insert(key.to_owned(), json!(dropped));
            }
        }
    }
    if let (Some(r), Some(map)) = (&o.recap, v.as_object_mut()) {
        map.insert(
            "recap".to_owned(),
            serde_json::to_value(r).unwrap_or_default(),
        );
    }
    if let (Some(d), Some(map)) = (&o.detected, v.as_object_mut()) {
        map.insert(
            "detected".to_owned(),
            serde_json::to_value(d).unwrap_or(serde_json::Value::Null),
        );
    }
    v
}

impl<W: Write, E: Write> Reporter for JsonReporter<W, E> {
    fn report(&mut self, event: &Event) {
        let r = match &event.kind {
            EventKind::HostFinished(o) => {
                let mut v = host_json(o);
                if let Some(m) = v.as_object_mut() {
                    m.insert("elapsed_ms".to_owned(), json!(ms(event.elapsed)));
                }
                writeln!(self.out, "{v}")
            }
            EventKind::RunFinished(s) => writeln!(
                self.out,
                "{}",
                json!({
                    "type": "summary",
                    "hosts": s.hosts(),
                    "ok": s.ok,
                    "failed": s.failed,
                    "unreachable": s.unreachable,
                    "interrupted": s.interrupted,
                    "duration_ms": u64::try_from(s.duration.as_millis()).unwrap_or(u64::MAX),
                    "exit_code": s.exit_code(),
                })
            )
            .and_then(|()| self.out.flush()),
            EventKind::Warning { message } => writeln!(self.err, "warning: {message}"),
            EventKind::Interrupted { stage } => {
                writeln!(self.err, "{}", super::human::interrupt_message(*stage))
            }
            EventKind::PlayStarted { name, hosts } => writeln!(
                self.out,
                "{}",
                json!({"type": "play", "name": name, "hosts": hosts})
            ),
            EventKind::TaskStarted {
                name,
                location,
                handler,
            } => writeln!(
                self.out,
                "{}",
                json!({"type": "task", "name": name, "location": location, "handler": handler})
            ),
            EventKind::TaskResult(r) => {
                let mut v = serde_json::to_value(r).unwrap_or_default();
                if let Some(m) = v.as_object_mut() {
                    m.insert("type".to_owned(), json!("result"));
                    m.insert(
                        "duration_ms".to_owned(),
                        m.get("duration").cloned().unwrap_or_default(),
                    );
                    m.remove("duration");
                    // When the result came, since its run started: the step ran from
                    // `elapsed_ms - duration_ms` to `elapsed_ms`.
                    m.insert("elapsed_ms".to_owned(), json!(ms(event.elapsed)));
                }
                writeln!(self.out, "{v}")
            }
            EventKind::RunStarted { .. }
            | EventKind::HostStarted { .. }
            | EventKind::HostTask { .. } => Ok(()),
        };
        self.error.keep(r);
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.error.take()
    }
}
