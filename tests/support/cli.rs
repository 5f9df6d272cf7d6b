//! Runs the built `clearfleet` binary the way a user would, isolated from the real `~/.ssh`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The JSON Lines of stdout, parsed.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }

    /// The JSON object of `host` in JSON Lines output.
    pub fn host_json(&self, host: &str) -> serde_json::Value {
        self.json_lines()
            .into_iter()
            .find(|v| v["type"] == "host" && v["host"] == host)
            .unwrap_or_else(|| panic!("no JSON line for {host} in:\n{}", self.stdout))
    }

    /// Everything printed, for "this never appears anywhere" checks.
    pub fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// A `clearfleet` invocation with its own empty HOME and no ssh-agent unless asked.
pub struct Clearfleet {
    cmd: Command,
}

pub fn clearfleet(home: &Path) -> Clearfleet {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_clearfleet"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("NO_COLOR", "1")
        // `upgrade` writes reports/<time>/ under the current directory by default.
        .current_dir(home)
        .stdin(Stdio::null());
    Clearfleet { cmd }
}

impl Clearfleet {
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.arg(arg);
        self
    }

    /// `-i INV --known-hosts KNOWN_HOSTS`: a test fleet's inventory and host keys.
    pub fn fleet(self, inv: &Path, known_hosts: &Path) -> Self {
        self.arg("-i")
            .arg(inv)
            .arg("--known-hosts")
            .arg(known_hosts)
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    pub fn run(mut self) -> Run {
        let out = self
            .cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run clearfleet: {e}"));
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn command(self) -> Command {
        self.cmd
    }
}

/// A fresh temporary directory to use as HOME.
pub fn temp_home() -> tempfile::TempDir {
    tempfile::TempDir::new().unwrap_or_else(|e| panic!("tempdir: {e}"))
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir {parent:?}: {e}"));
    }
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {path:?}: {e}"));
    path
}
