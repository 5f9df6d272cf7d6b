//! What an end-to-end test of the binary starts from: a fleet of sshd hosts, a fresh HOME with
//! an empty `work/` directory, and the fleet's inventory in `HOME/inv.yml`.

use std::path::{Path, PathBuf};

use super::cli::{Clearfleet, Run, clearfleet, play, temp_home, write};
use super::sshd::{Fleet, Inventory};

/// A fleet, its HOME (`work/` created) and inventory (`work_dir: HOME/work`).
pub struct Setup {
    pub fleet: Fleet,
    pub home: tempfile::TempDir,
    /// `HOME/work`, the inventory's `work_dir`.
    pub work: PathBuf,
    /// `HOME/inv.yml`.
    pub inv: PathBuf,
}

impl Setup {
    /// `hosts` sshd hosts with the fleet's inventory; `None` when sshd is missing (skipped).
    pub fn new(hosts: usize) -> Option<Setup> {
        Setup::with(hosts, |inv| inv)
    }

    /// The same with the inventory (the fleet's, with `work_dir`) shaped by `inventory`.
    pub fn with(hosts: usize, inventory: impl FnOnce(Inventory) -> Inventory) -> Option<Setup> {
        Some(Setup::on(Fleet::start(hosts)?, inventory))
    }

    /// The same on a fleet built by the caller (test users, sshd options).
    pub fn on(fleet: Fleet, inventory: impl FnOnce(Inventory) -> Inventory) -> Setup {
        let home = temp_home();
        let work = home.path().join("work");
        std::fs::create_dir_all(&work).unwrap_or_else(|e| panic!("mkdir {work:?}: {e}"));
        let inv = inventory(fleet.inventory().work_dir(&work)).write(home.path(), "inv.yml");
        Setup {
            fleet,
            home,
            work,
            inv,
        }
    }

    /// The HOME directory.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// `clearfleet COMMAND -i HOME/inv.yml --known-hosts KNOWN_HOSTS`, in HOME.
    pub fn clearfleet(&self, command: &str) -> Clearfleet {
        clearfleet(self.home())
            .arg(command)
            .fleet(&self.inv, self.fleet.known_hosts_path())
    }

    /// Runs `clearfleet run ARGS PLAYBOOK` on the fleet.
    pub fn run(&self, playbook: &Path, args: &[&str]) -> Run {
        self.clearfleet("run").args(args).arg(playbook).run()
    }

    /// Runs `playbook` with `args`, which must succeed, and gives the names of the tasks it
    /// ran, in order (the `TASK [name]` headers).
    pub fn tasks_run(&self, playbook: &Path, args: &[&str]) -> Vec<String> {
        let run = self.run(playbook, args);
        assert_eq!(run.code, 0, "{run:?}");
        run.stdout
            .lines()
            .filter_map(|l| l.strip_prefix("TASK ["))
            .filter_map(|l| l.split(']').next())
            .map(str::to_owned)
            .collect()
    }

    /// Writes `HOME/name` and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        write(self.home(), name, text)
    }

    /// `HOME/pb.yml`: one play on all hosts with `tasks` (see [`play`]).
    pub fn play(&self, tasks: &str) -> PathBuf {
        play(self.home(), tasks)
    }

    /// The text of `work/name`, empty when there is no such file.
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.work.join(name)).unwrap_or_default()
    }

    /// `work/name` parsed as JSON.
    pub fn json(&self, name: &str) -> serde_json::Value {
        let text = self.read(name);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON ({e}): {text}"))
    }

    /// Whether `work/name` exists.
    pub fn exists(&self, name: &str) -> bool {
        self.work.join(name).exists()
    }
}
