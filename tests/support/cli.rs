//! Runs the built `clearfleet` binary the way a user would, isolated from the real `~/.ssh`.

#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

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

/// One host's line of the PLAY RECAP in playbook output (`clearfleet run`'s or
/// `ansible-playbook`'s): `h01 : ok=3 changed=1 …`.
#[derive(Debug, Clone, Copy)]
pub struct Recap<'a>(pub &'a str);

impl<'a> Recap<'a> {
    /// The names of the counts, in their order on the line.
    pub const KEYS: [&'static str; 7] = [
        "ok",
        "changed",
        "unreachable",
        "failed",
        "skipped",
        "rescued",
        "ignored",
    ];

    /// The recap line of `host` in `stdout` (panics when there is none).
    pub fn of(stdout: &'a str, host: &str) -> Recap<'a> {
        stdout
            .lines()
            .skip_while(|l| !l.starts_with("PLAY RECAP"))
            .find(|l| l.starts_with(&format!("{host} ")) && l.contains(" : ok="))
            .map(Recap)
            .unwrap_or_else(|| panic!("no recap for {host}:\n{stdout}"))
    }

    /// The `key=N` count (panics when the line has none).
    pub fn count(&self, key: &str) -> u32 {
        self.0
            .split_whitespace()
            .filter_map(|w| w.split_once('='))
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key}= in {}", self.0))
    }

    /// Every count, in the order of [`Recap::KEYS`].
    pub fn counts(&self) -> [u32; 7] {
        Recap::KEYS.map(|k| self.count(k))
    }
}

impl std::fmt::Display for Recap<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// A `clearfleet` invocation with its own empty HOME and no ssh-agent unless asked.
pub struct Clearfleet {
    home: PathBuf,
    args: Vec<OsString>,
    /// Variables set (`Some`) or removed (`None`) on top of PATH, HOME and NO_COLOR=1.
    env: Vec<(OsString, Option<OsString>)>,
    wrap: Wrap,
}

/// How the binary is started.
enum Wrap {
    Plain,
    /// Under `sh -c 'ulimit -n N && exec …'`.
    FdLimit(u32),
    /// Under `sh -c 'umask MASK && exec …'`.
    Umask(u32),
    /// On a pseudo-terminal of `rows` x `cols` (util-linux `script`).
    Terminal {
        rows: u16,
        cols: u16,
    },
    /// Under GNU time, which writes the peak resident set size (KiB) to this file.
    MaxRss(PathBuf),
}

/// GNU time, which measures a child's peak memory exactly (from `wait4`).
pub const GNU_TIME: &str = "/usr/bin/time";

/// The path of the built binary.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_clearfleet")
}

/// `clearfleet` with `home` as HOME and current directory; add arguments, then run it.
pub fn clearfleet(home: &Path) -> Clearfleet {
    Clearfleet {
        home: home.to_path_buf(),
        args: Vec::new(),
        env: Vec::new(),
        wrap: Wrap::Plain,
    }
}

/// `arg` quoted for `sh`.
fn sh_quote(arg: &OsStr) -> String {
    format!("'{}'", arg.to_string_lossy().replace('\'', "'\\''"))
}

impl Clearfleet {
    /// Appends `args`.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Appends `arg`.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// `-i INV --known-hosts KNOWN_HOSTS`: a test fleet's inventory and host keys.
    pub fn fleet(self, inv: &Path, known_hosts: &Path) -> Self {
        self.arg("-i")
            .arg(inv)
            .arg("--known-hosts")
            .arg(known_hosts)
    }

    /// Sets `key=value` in its environment.
    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.env.push((key.into(), Some(value.as_ref().to_owned())));
        self
    }

    /// Leaves `key` out of the environment (`NO_COLOR`, to see colors).
    pub fn env_remove(mut self, key: &str) -> Self {
        self.env.push((key.into(), None));
        self
    }

    /// Runs under `ulimit -n limit` (soft and hard).
    pub fn fd_limit(mut self, limit: u32) -> Self {
        self.wrap = Wrap::FdLimit(limit);
        self
    }

    /// Runs with file mode creation mask `mask` (`umask 022`: what most shells start with).
    pub fn umask(mut self, mask: u32) -> Self {
        self.wrap = Wrap::Umask(mask);
        self
    }

    /// Runs on a pseudo-terminal of `rows` x `cols`: see [`Clearfleet::run_on_terminal`]. TERM
    /// stays unset (no live view) unless given with [`Clearfleet::env`].
    pub fn terminal(mut self, rows: u16, cols: u16) -> Self {
        self.wrap = Wrap::Terminal { rows, cols };
        self
    }

    /// Runs under [`GNU_TIME`], which writes its peak resident set size in KiB to `file`
    /// (see [`max_rss_kib`]).
    pub fn max_rss(mut self, file: &Path) -> Self {
        self.wrap = Wrap::MaxRss(file.to_path_buf());
        self
    }

    /// The command, stdin from /dev/null, in HOME (`upgrade` writes reports/<time>/ under the
    /// current directory by default), for a test that spawns it itself.
    pub fn command(self) -> Command {
        let mut cmd = match self.wrap {
            Wrap::Plain => {
                let mut cmd = Command::new(bin());
                cmd.args(&self.args);
                cmd
            }
            Wrap::FdLimit(limit) => {
                let mut cmd = Command::new("sh");
                cmd.arg("-c")
                    .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                    .arg(bin())
                    .args(&self.args);
                cmd
            }
            Wrap::Umask(mask) => {
                let mut cmd = Command::new("sh");
                cmd.arg("-c")
                    .arg(format!("umask {mask:03o} && exec \"$0\" \"$@\""))
                    .arg(bin())
                    .args(&self.args);
                cmd
            }
            Wrap::MaxRss(file) => {
                let mut cmd = Command::new(GNU_TIME);
                cmd.args(["-f", "%M", "-o"])
                    .arg(file)
                    .arg(bin())
                    .args(&self.args);
                cmd
            }
            Wrap::Terminal { rows, cols } => {
                let line: Vec<String> = std::iter::once(OsStr::new(bin()))
                    .chain(self.args.iter().map(OsString::as_os_str))
                    .map(sh_quote)
                    .collect();
                let mut cmd = Command::new("script");
                cmd.arg("-qec")
                    .arg(format!(
                        "stty rows {rows} cols {cols}; exec {}",
                        line.join(" ")
                    ))
                    .arg("/dev/null");
                cmd
            }
        };
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("NO_COLOR", "1")
            .current_dir(&self.home)
            .stdin(Stdio::null());
        for (key, value) in &self.env {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        cmd
    }

    /// Runs it to the end, capturing stdout and stderr.
    pub fn run(self) -> Run {
        let out = self
            .command()
            .output()
            .unwrap_or_else(|e| panic!("cannot run clearfleet: {e}"));
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs on a pseudo-terminal (set with [`Clearfleet::terminal`]), typing `input` at its
    /// prompts (after 300 ms, as a person would) and keeping the terminal open until it exits
    /// (`script` ends the session when its stdin ends): the exit code and everything written to
    /// the terminal, newlines as `\n` (the terminal writes CRLF).
    pub fn run_on_terminal(self, input: &str) -> (i32, String) {
        assert!(
            matches!(self.wrap, Wrap::Terminal { .. }),
            "run_on_terminal without .terminal(rows, cols)"
        );
        let mut child = self
            .command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("script: {e}"));
        let mut stdin = child.stdin.take();
        if let Some(stdin) = stdin.as_mut().filter(|_| !input.is_empty()) {
            std::thread::sleep(Duration::from_millis(300));
            let _ = stdin.write_all(input.as_bytes());
        }
        let mut out = Vec::new();
        if let Some(mut o) = child.stdout.take() {
            let _ = o.read_to_end(&mut out);
        }
        let status = child.wait().unwrap_or_else(|e| panic!("wait: {e}"));
        drop(stdin);
        (
            status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out).replace("\r\n", "\n"),
        )
    }
}

/// The peak resident set size GNU time wrote to `file` (see [`Clearfleet::max_rss`]).
pub fn max_rss_kib(file: &Path) -> u64 {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("read {file:?}: {e}"));
    text.lines()
        .rev()
        .find_map(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS in {file:?}: {text}"))
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

/// Writes `dir/pb.yml`, one play on all hosts without fact gathering whose `tasks` are given
/// (YAML list items indented four spaces), and returns its path. A `tasks` text that starts
/// with a newline keeps the line numbers of the same playbook written out in full with a
/// leading newline.
pub fn play(dir: &Path, tasks: &str) -> PathBuf {
    write(
        dir,
        "pb.yml",
        &format!("- hosts: all\n  gather_facts: false\n  tasks:\n{tasks}"),
    )
}
