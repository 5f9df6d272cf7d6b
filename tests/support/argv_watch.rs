//! Watches the command lines of a test host's processes while something runs: a process's
//! argv can be read by every local user (`/proc/PID/cmdline`, `ps`), so no secret may ever be
//! there. A thread reads the argv of every process of the host's mount namespace (its sshd,
//! every session and what runs in it, sudo, docker's client and daemons) over and over; a
//! process that lives shorter than one pass (about a millisecond) can slip through, so a test
//! also proves the watch sees a short command it starts itself (a canary).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the watch saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Passes over the process list.
    pub passes: u64,
    /// Distinct processes of the host seen (pid and command line).
    pub processes: usize,
    /// Each needle found, with the command line that held it.
    pub hits: Vec<(String, String)>,
}

impl Seen {
    /// The command lines that held `needle`.
    pub fn holding(&self, needle: &str) -> Vec<&str> {
        self.hits
            .iter()
            .filter(|(n, _)| n == needle)
            .map(|(_, l)| l.as_str())
            .collect()
    }
}

/// A running watch; [`ArgvWatch::stop`] ends it and says what it saw.
pub struct ArgvWatch {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Seen>>,
}

impl ArgvWatch {
    /// Watches every process whose mount namespace is `mnt` (a `/proc/PID/ns/mnt` link, see
    /// `DockerHost::mount_namespace`) for `needles` in its command line.
    pub fn start(mnt: String, needles: Vec<String>) -> ArgvWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut seen = Seen::default();
            let mut processes: HashSet<(u32, String)> = HashSet::new();
            let mut hits: HashSet<(String, String)> = HashSet::new();
            while !flag.load(Ordering::Relaxed) {
                pass(&mnt, &needles, &mut processes, &mut hits);
                seen.passes += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
            seen.processes = processes.len();
            seen.hits = hits.into_iter().collect();
            seen
        });
        ArgvWatch {
            stop,
            thread: Some(thread),
        }
    }

    /// Ends the watch.
    pub fn stop(mut self) -> Seen {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .map(|t| t.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .unwrap_or_default()
    }
}

impl Drop for ArgvWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// One pass over /proc: the argv of each process of `mnt`, searched for every needle.
fn pass(
    mnt: &str,
    needles: &[String],
    processes: &mut HashSet<(u32, String)>,
    hits: &mut HashSet<(String, String)>,
) {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        // The namespace first: the argv read after it is of the same process (a pid reused
        // in between is all but impossible within a microsecond).
        let ours = std::fs::read_link(format!("/proc/{pid}/ns/mnt"))
            .is_ok_and(|l| l.as_os_str() == std::ffi::OsStr::new(mnt));
        if !ours {
            continue;
        }
        let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if raw.is_empty() {
            continue;
        }
        let line: String = String::from_utf8_lossy(&raw).replace('\0', " ");
        for needle in needles {
            if line.contains(needle.as_str()) {
                hits.insert((needle.clone(), line.clone()));
            }
        }
        processes.insert((pid, line));
    }
}
