//! The persistent shell's driver as a connection holds it: the slot (empty, running, or
//! unavailable on this host), the running driver's channel, pid and job queue, and how it is
//! killed and closed. Apart from `persistent_shell.rs`, which runs commands in it through the
//! connection, so that the connection (`session.rs`) can hold the slot without depending on it.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use russh::{ChannelWriteHalf, Sig, client};
use tokio::sync::{Mutex, OwnedSemaphorePermit, mpsc};
use tokio::task::JoinHandle;

use super::output::{DRAIN_AFTER_KILL, ExitStatus};

/// How long a kill waits for the driver's pid line if it has not arrived yet.
const PID_WAIT: Duration = Duration::from_secs(2);

/// The connection's driver, behind a lock that a command holds while it runs.
pub(crate) type Slot = Arc<Mutex<State>>;

pub(crate) fn new_slot() -> Slot {
    Arc::new(Mutex::new(State::Empty))
}

pub(crate) enum State {
    /// None yet (or the last one was closed): the next eligible command starts one.
    Empty,
    Ready(Driver),
    /// It could not start on this host: every command gets its own channel.
    Unavailable,
}

/// A running driver.
pub(crate) struct Driver {
    pub(crate) writer: ChannelWriteHalf<client::Msg>,
    /// Its pid, which is also its process group (0 until its first line arrived).
    pub(crate) pid: Arc<AtomicU32>,
    pub(crate) jobs: mpsc::UnboundedSender<Job>,
    pub(crate) reader: JoinHandle<()>,
    pub(crate) permit: OwnedSemaphorePermit,
}

/// One command handed to the reader task: where its output goes (a bounded queue: the
/// command reads it to its end, or drops it before it stops reading).
pub(crate) struct Job {
    pub(crate) nonce: String,
    pub(crate) events: mpsc::Sender<Event>,
}

pub(crate) enum Event {
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
    /// Both end markers arrived; the exit code (`None`: unreadable, cannot happen).
    Finished(Option<u32>),
    /// The driver's channel ended during the command (`began`: the command had started;
    /// `started`: the driver had printed its pid line).
    Ended {
        exit: Option<ExitStatus>,
        began: bool,
        started: bool,
    },
}

impl Driver {
    pub(crate) fn alive(&self) -> bool {
        !self.reader.is_finished() && !self.jobs.is_closed()
    }

    /// Kills the driver's process group (the running command with it, by `kill_group`, given
    /// the pid) and closes it.
    pub(crate) async fn kill<F: Future<Output = ()>>(self, kill_group: impl FnOnce(u32) -> F) {
        let _ = self.writer.signal(Sig::KILL).await;
        // The pid line may still be on its way (a command cancelled right after it started):
        // the reader stores it as soon as it arrives.
        let _ = tokio::time::timeout(PID_WAIT, async {
            while self.pid.load(Ordering::SeqCst) == 0 && !self.reader.is_finished() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        let pid = self.pid.load(Ordering::SeqCst);
        if pid != 0 {
            kill_group(pid).await;
        }
        self.close().await;
    }

    /// Closes the channel and waits (bounded) until the reader saw its end; frees the slot.
    pub(crate) async fn close(mut self) {
        let _ = self.writer.eof().await;
        let _ = self.writer.close().await;
        let _ = tokio::time::timeout(DRAIN_AFTER_KILL, &mut self.reader).await;
        drop(self.permit);
    }
}
