//! The live view on a terminal: below the scrolling output, one overall line (hosts done of
//! total, result counts, elapsed time, an estimate) and one line per running host with its
//! current task, redrawn in place with plain ANSI. Never more lines than the terminal has: the
//! hosts that do not fit collapse into `+N more`. Off the terminal nothing of this is written.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indexmap::IndexMap;

use super::text::{cut, pad, width as columns};
use super::{Reporter, human_duration};
use clearfleet_events::{Event, EventKind, HostStatus, TaskStatus};

/// How often the elapsed times are redrawn when nothing happens.
const TICK: Duration = Duration::from_millis(500);

/// What the view knows about the run, from its events.
#[derive(Debug, Default)]
pub(crate) struct LiveState {
    /// `exec -- uptime`, `upgrade: detect`, or the current play.
    phase: String,
    total: usize,
    /// Hosts that are done, with how they ended.
    done: HashMap<String, HostStatus>,
    /// Running hosts, in the order they started: (what they do, since when).
    running: IndexMap<String, (String, Instant)>,
    /// A playbook's task results; a command run's host results.
    ok: usize,
    changed: usize,
    failed: usize,
    unreachable: usize,
    playbook: bool,
    /// Every host of the plays so far.
    seen: std::collections::HashSet<String>,
    started: Option<Instant>,
}

impl LiveState {
    pub(crate) fn update(&mut self, event: &Event, now: Instant) {
        self.started.get_or_insert(now);
        match &event.kind {
            EventKind::RunStarted { command, hosts, .. } => {
                self.phase = command.clone();
                self.total = hosts.len();
            }
            EventKind::HostStarted { host } => {
                self.running.insert(host.clone(), (self.phase.clone(), now));
            }
            EventKind::PlayStarted { name, hosts } => {
                self.playbook = true;
                self.phase = format!("play {name}");
                self.seen.extend(hosts.iter().cloned());
                self.total = self.total.max(self.seen.len());
            }
            EventKind::HostTask { host, task } => {
                self.running.insert(host.clone(), (task.clone(), now));
            }
            EventKind::TaskResult(r) => {
                match r.status {
                    TaskStatus::Ok => self.ok += 1,
                    TaskStatus::Changed => self.changed += 1,
                    TaskStatus::Failed => self.failed += 1,
                    TaskStatus::Unreachable => self.unreachable += 1,
                    TaskStatus::Skipped | TaskStatus::Ignored | TaskStatus::UnreachableIgnored => {}
                }
                if r.status == TaskStatus::Unreachable {
                    self.done.insert(r.host.clone(), HostStatus::Unreachable);
                }
                if r.item.is_none() {
                    self.running.shift_remove(&r.host);
                } else if let Some((task, _)) = self.running.get_mut(&r.host) {
                    let base = task.split(" (item=").next().unwrap_or("").to_owned();
                    *task = format!("{base} (item={})", r.item.as_deref().unwrap_or(""));
                }
            }
            EventKind::HostFinished(o) => {
                self.running.shift_remove(&o.host);
                if !self.playbook {
                    match o.status {
                        HostStatus::Ok => self.ok += 1,
                        HostStatus::Failed => self.failed += 1,
                        HostStatus::Unreachable => self.unreachable += 1,
                        HostStatus::Interrupted | HostStatus::Refused => {}
                    }
                }
                self.done.insert(o.host.clone(), o.status);
                self.total = self.total.max(self.done.len());
            }
            EventKind::RunFinished(_) => self.running.clear(),
            EventKind::Warning { .. }
            | EventKind::Interrupted { .. }
            | EventKind::TaskStarted { .. } => {}
        }
    }

    /// The lines of the view for a terminal of `rows` x `cols`: at most `rows - 1` lines
    /// (the cursor needs the last row), none wider than `cols - 1` columns (a wider line would
    /// wrap, and the redraw would move up too few rows).
    pub(crate) fn lines(&self, now: Instant, rows: usize, cols: usize) -> Vec<String> {
        let max_lines = rows.saturating_sub(1).max(1);
        let width = cols.saturating_sub(1).max(10);
        let elapsed = self
            .started
            .map(|s| now.duration_since(s))
            .unwrap_or_default();
        let done = self.done.len();
        let mut head = format!("{done}/{} hosts done · ok {}", self.total, self.ok);
        if self.playbook {
            head.push_str(&format!(" · changed {}", self.changed));
        }
        head.push_str(&format!(
            " · failed {} · unreachable {} · {}",
            self.failed,
            self.unreachable,
            clock(elapsed)
        ));
        if done > 0 && done < self.total {
            let left = elapsed.mul_f64((self.total - done) as f64 / done as f64);
            head.push_str(&format!(" · ~{} left", clock(left)));
        }
        // Last, so a narrow terminal cuts it first.
        head.push_str(&format!(" · {}", self.phase));
        let mut out = vec![cut(&head, width)];
        let name_width = self
            .running
            .keys()
            .map(|h| columns(h))
            .max()
            .unwrap_or(0)
            .min(width / 3);
        let room = max_lines - 1;
        let shown = if self.running.len() > room {
            room.saturating_sub(1)
        } else {
            self.running.len()
        };
        for (host, (task, since)) in self.running.iter().take(shown) {
            let line = format!(
                "  {}  {task}  ({})",
                pad(&cut(host, name_width), name_width),
                human_duration(now.duration_since(*since))
            );
            out.push(cut(&line, width));
        }
        if self.running.len() > shown && room > 0 {
            out.push(cut(
                &format!("  +{} more running", self.running.len() - shown),
                width,
            ));
        }
        out
    }
}

/// `m:ss` (or `h:mm:ss`).
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// The terminal's size (rows, columns) from stderr, or 24x80.
fn terminal_size() -> (usize, usize) {
    match rustix::termios::tcgetwinsize(std::io::stderr()) {
        Ok(w) if w.ws_row > 0 && w.ws_col > 0 => (usize::from(w.ws_row), usize::from(w.ws_col)),
        _ => (24, 80),
    }
}

/// The drawn view and what it shows; one lock for every write to the terminal.
struct Screen {
    state: LiveState,
    /// Lines of the view currently on the terminal (just above the cursor).
    drawn: usize,
    color: bool,
    /// The run is over: nothing is drawn any more.
    closed: bool,
}

impl Screen {
    fn clear(&mut self, err: &mut impl Write) {
        if self.drawn > 0 {
            let _ = write!(err, "\x1b[{}A\r\x1b[J", self.drawn);
            self.drawn = 0;
        }
    }

    fn draw(&mut self, err: &mut impl Write) {
        if self.closed {
            return;
        }
        let (rows, cols) = terminal_size();
        let lines = self.state.lines(Instant::now(), rows, cols);
        let mut text = String::new();
        for (i, line) in lines.iter().enumerate() {
            if self.color && i == 0 {
                let bold = anstyle::Style::new().bold();
                text.push_str(&format!("{bold}{line}{bold:#}\n"));
            } else if self.color {
                let dim = anstyle::Style::new().dimmed();
                text.push_str(&format!("{dim}{line}{dim:#}\n"));
            } else {
                text.push_str(line);
                text.push('\n');
            }
        }
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
        self.drawn = lines.len();
    }
}

/// Whether the live view should run: both output streams on a terminal that can move the
/// cursor, human output, not `-q`, and not `-vv` (whose debug log shares stderr).
pub fn wanted(quiet: bool, verbose: u8) -> bool {
    use std::io::IsTerminal;
    let dumb = std::env::var("TERM").map_or(true, |t| t.is_empty() || t == "dumb");
    !quiet
        && verbose < 2
        && !dumb
        && std::io::stdout().is_terminal()
        && std::io::stderr().is_terminal()
}

/// Wraps the human reporter: clears the view, lets it print, draws the view again.
pub struct LiveReporter {
    inner: Box<dyn Reporter>,
    screen: Arc<Mutex<Screen>>,
    stop: Arc<AtomicBool>,
    ticker: Option<std::thread::JoinHandle<()>>,
}

impl LiveReporter {
    pub fn new(inner: Box<dyn Reporter>) -> Self {
        let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let screen = Arc::new(Mutex::new(Screen {
            state: LiveState::default(),
            drawn: 0,
            color,
            closed: false,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let (screen, stop) = (screen.clone(), stop.clone());
            std::thread::Builder::new()
                .name("live-view".to_owned())
                .spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        std::thread::sleep(TICK);
                        let mut s = screen.lock().unwrap_or_else(|p| p.into_inner());
                        if s.closed || s.state.started.is_none() {
                            continue;
                        }
                        let mut err = std::io::stderr().lock();
                        s.clear(&mut err);
                        s.draw(&mut err);
                    }
                })
                .ok()
        };
        LiveReporter {
            inner,
            screen,
            stop,
            ticker,
        }
    }

    fn close(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
        let mut s = self.screen.lock().unwrap_or_else(|p| p.into_inner());
        s.clear(&mut std::io::stderr().lock());
        s.closed = true;
    }
}

impl Reporter for LiveReporter {
    fn report(&mut self, event: &Event) {
        if matches!(event.kind, EventKind::RunFinished(_)) {
            self.close();
            self.inner.report(event);
            return;
        }
        let mut s = self.screen.lock().unwrap_or_else(|p| p.into_inner());
        s.clear(&mut std::io::stderr().lock());
        self.inner.report(event);
        let _ = std::io::stdout().flush();
        s.state.update(event, Instant::now());
        s.draw(&mut std::io::stderr().lock());
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.close();
        self.inner.finish()
    }
}

impl Drop for LiveReporter {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clearfleet_events::HostOutcome;

    fn ev(kind: EventKind) -> Event {
        Event {
            elapsed: Duration::ZERO,
            kind,
        }
    }

    #[test]
    fn the_view_never_has_more_lines_than_the_terminal() {
        let mut s = LiveState::default();
        let t0 = Instant::now();
        let hosts: Vec<String> = (1..=40).map(|i| format!("web{i:02}")).collect();
        s.update(
            &ev(EventKind::RunStarted {
                command: "exec -- uptime".into(),
                hosts: hosts.clone(),
                forks: 50,
            }),
            t0,
        );
        for h in &hosts {
            s.update(&ev(EventKind::HostStarted { host: h.clone() }), t0);
        }
        for rows in [1usize, 2, 3, 5, 10, 24, 60] {
            let lines = s.lines(t0, rows, 40);
            assert!(lines.len() < rows.max(2), "{rows}: {lines:#?}");
            assert!(lines.iter().all(|l| columns(l) <= 39), "{lines:#?}");
        }
        let lines = s.lines(t0 + Duration::from_secs(10), 10, 200);
        assert_eq!(lines.len(), 9);
        assert_eq!(lines[8], "  +33 more running");
        assert_eq!(lines[1], "  web01  exec -- uptime  (10.00s)");
        // Ten hosts done: counts and an estimate from the time they took.
        for h in &hosts[..10] {
            s.update(
                &ev(EventKind::HostFinished(HostOutcome::new(
                    h.clone(),
                    HostStatus::Ok,
                ))),
                t0,
            );
        }
        let head = &s.lines(t0 + Duration::from_secs(10), 10, 200)[0];
        assert_eq!(
            head,
            "10/40 hosts done · ok 10 · failed 0 · unreachable 0 · 0:10 · ~0:30 left · exec -- uptime"
        );
    }

    #[test]
    fn playbook_hosts_show_their_current_task() {
        let mut s = LiveState::default();
        let t0 = Instant::now();
        s.update(
            &ev(EventKind::PlayStarted {
                name: "Upgrade".into(),
                hosts: vec!["a".into(), "b".into()],
            }),
            t0,
        );
        s.update(
            &ev(EventKind::HostTask {
                host: "a".into(),
                task: "Start 2.0.0".into(),
            }),
            t0,
        );
        s.update(
            &ev(EventKind::HostTask {
                host: "b".into(),
                task: "Back up data and config".into(),
            }),
            t0,
        );
        let lines = s.lines(t0, 24, 100);
        assert_eq!(
            lines,
            [
                "0/2 hosts done · ok 0 · changed 0 · failed 0 · unreachable 0 · 0:00 · play Upgrade",
                "  a  Start 2.0.0  (0ms)",
                "  b  Back up data and config  (0ms)"
            ]
        );
    }

    #[test]
    fn wide_host_names_and_tasks_fit_the_terminal_and_line_up() {
        let mut s = LiveState::default();
        let t0 = Instant::now();
        s.update(
            &ev(EventKind::PlayStarted {
                name: "升级".into(),
                hosts: vec!["服务器-1".into(), "web01".into()],
            }),
            t0,
        );
        for (host, task) in [("服务器-1", "启动 2.0.0 🚀"), ("web01", "Start 2.0.0")] {
            s.update(
                &ev(EventKind::HostTask {
                    host: host.into(),
                    task: task.into(),
                }),
                t0,
            );
        }
        let lines = s.lines(t0, 24, 100);
        assert_eq!(
            lines[1..],
            [
                "  服务器-1  启动 2.0.0 🚀  (0ms)",
                "  web01     Start 2.0.0  (0ms)"
            ]
        );
        // The task column starts at the same terminal column on both lines.
        let task_at = |l: &str, task: &str| columns(&l[..l.find(task).unwrap_or(0)]);
        assert_eq!(task_at(&lines[1], "启动"), task_at(&lines[2], "Start"));
        // On a narrow terminal no line is wider than it (it would wrap and break the redraw).
        for cols in [12usize, 20, 27, 33, 40] {
            let lines = s.lines(t0, 24, cols);
            assert!(
                lines.iter().all(|l| columns(l) < cols),
                "{cols}: {lines:#?}"
            );
        }
        let lines = s.lines(t0, 24, 25);
        assert_eq!(lines[1], "  服务器-1  启动 2.0.0 …");
    }
}
