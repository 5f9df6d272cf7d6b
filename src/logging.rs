//! Diagnostic logs: `tracing` to stderr (`-v` info, `-vv` debug) and to `--log-file` (always
//! debug; a new file is made 0600, a symbolic link there is refused), one span per host. Every
//! line passes through the run's [`Redactor`] on its way out, so a secret that reaches a log
//! message is masked like anywhere else.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use clearfleet_base::secret::Redactor;
use clearfleet_events::{EVENTS_TARGET, Event, EventKind, host_span};

/// The secrets of the current run; set once they are known (after the inventory is read).
static REDACTOR: RwLock<Option<Redactor>> = RwLock::new(None);

/// Masks `redactor`'s secrets (and those set before) in every later log line.
pub fn add_secrets(redactor: &Redactor) {
    let mut r = REDACTOR.write().unwrap_or_else(|p| p.into_inner());
    *r = Some(match r.take() {
        Some(old) => old.merged(redactor),
        None => redactor.clone(),
    });
}

/// `text` with every secret known so far masked.
pub fn redact(text: &str) -> String {
    match &*REDACTOR.read().unwrap_or_else(|p| p.into_inner()) {
        Some(r) => r.redact(text),
        None => text.to_owned(),
    }
}

/// Where one log destination writes: every write is one formatted line (or several).
#[derive(Clone)]
enum Sink {
    Stderr,
    File(Arc<Mutex<std::fs::File>>),
}

struct RedactingWriter(Sink);

impl Write for RedactingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = redact(&String::from_utf8_lossy(buf));
        match &self.0 {
            Sink::Stderr => std::io::stderr().lock().write_all(text.as_bytes())?,
            Sink::File(f) => f
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .write_all(text.as_bytes())?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Sink {
    type Writer = RedactingWriter;
    fn make_writer(&'a self) -> RedactingWriter {
        RedactingWriter(self.clone())
    }
}

/// Starts logging for this process: stderr by `-v`/`-q` (or `CLEARFLEET_LOG`), and the log
/// file, if any, at debug level. Errors: the log file cannot be opened.
pub fn init(verbose: u8, quiet: bool, log_file: Option<&Path>) -> std::io::Result<()> {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::prelude::*;
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn,russh=error",
        (false, 1) => "info,russh=warn",
        (false, _) => "debug,russh=info",
    };
    let stderr_filter = EnvFilter::try_from_env("CLEARFLEET_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("{default},{EVENTS_TARGET}=off")));
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(Sink::Stderr)
        .with_target(false)
        .with_ansi(color)
        .with_filter(stderr_filter);
    let file = match log_file {
        Some(path) => {
            // Made 0600 if new, never opened through a symbolic link.
            let f = clearfleet_base::private_files::open_append(path)?;
            Some(
                tracing_subscriber::fmt::layer()
                    .with_writer(Sink::File(Arc::new(Mutex::new(f))))
                    .with_ansi(false)
                    .with_target(false)
                    .with_filter(EnvFilter::new("debug,russh=info")),
            )
        }
        None => None,
    };
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .try_init();
    Ok(())
}

/// Logs one run event (already redacted by the runner), in its host's span.
pub fn log_event(event: &Event) {
    let ms = u64::try_from(event.elapsed.as_millis()).unwrap_or(u64::MAX);
    match &event.kind {
        EventKind::RunStarted {
            command,
            hosts,
            forks,
        } => tracing::info!(target: EVENTS_TARGET, command = %command, hosts = hosts.len(), forks, "run started"),
        EventKind::HostStarted { host } => host_span(host).in_scope(|| {
            tracing::info!(target: EVENTS_TARGET, at_ms = ms, "host started");
        }),
        EventKind::PlayStarted { name, hosts } => {
            tracing::info!(target: EVENTS_TARGET, play = %name, hosts = hosts.len(), "play started");
        }
        EventKind::TaskStarted { name, location, .. } => {
            tracing::debug!(target: EVENTS_TARGET, task = %name, location = %location, "task started");
        }
        EventKind::HostTask { host, task } => host_span(host).in_scope(|| {
            tracing::debug!(target: EVENTS_TARGET, task = %task, "task begins");
        }),
        EventKind::TaskResult(r) => host_span(&r.host).in_scope(|| {
            tracing::info!(
                target: EVENTS_TARGET,
                task = %r.task,
                status = r.status.as_str(),
                item = r.item.as_deref().unwrap_or(""),
                rc = r.rc,
                msg = r.msg.as_deref().unwrap_or(""),
                duration_ms = u64::try_from(r.duration.as_millis()).unwrap_or(u64::MAX),
                "task result"
            );
            if !r.stdout.is_empty() || !r.stderr.is_empty() {
                tracing::debug!(target: EVENTS_TARGET, task = %r.task, stdout = %r.stdout, stderr = %r.stderr, "task output");
            }
        }),
        EventKind::HostFinished(o) => host_span(&o.host).in_scope(|| {
            tracing::info!(
                target: EVENTS_TARGET,
                status = o.status.as_str(),
                rc = o.rc,
                error = o.error.as_deref().unwrap_or(""),
                duration_ms = u64::try_from(o.duration.as_millis()).unwrap_or(u64::MAX),
                "host finished"
            );
            if !o.stdout.is_empty() || !o.stderr.is_empty() {
                tracing::debug!(target: EVENTS_TARGET, stdout = %o.stdout, stderr = %o.stderr, "host output");
            }
        }),
        EventKind::Warning { message } => {
            tracing::warn!(target: EVENTS_TARGET, "{message}");
        }
        EventKind::Interrupted { stage } => {
            tracing::warn!(target: EVENTS_TARGET, stage, "interrupted by Ctrl-C");
        }
        EventKind::RunFinished(s) => tracing::info!(
            target: EVENTS_TARGET,
            ok = s.ok,
            failed = s.failed,
            unreachable = s.unreachable,
            interrupted = s.interrupted,
            duration_ms = u64::try_from(s.duration.as_millis()).unwrap_or(u64::MAX),
            "run finished"
        ),
    }
}
