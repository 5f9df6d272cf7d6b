//! ansible-core's own integration targets (from its source package, fetched at test time) run
//! under `ansible-playbook` and under `clearfleet run` against the same loopback sshd host: per
//! target, passed or not, assertions passed, and the failure that stopped it. The table in
//! docs/playbooks.md ("ansible-core's integration targets") records the numbers;
//! `scripts/ansible-targets` rewrites it.
//!
//! The test is a ratchet over the targets ansible-playbook passes (they run every assertion the
//! same way each time): it fails when clearfleet passes fewer of them or fewer of their
//! assertions than the table records (or stops passing one it passed), and when
//! ansible-playbook's numbers for them change at all (then the harness, not clearfleet, broke).
//! A target ansible-playbook fails stops where the machine lets it (ACL tools, network, the
//! controller's shared /tmp): only that it still fails is held; its numbers are a note.
//! Some targets assert on timing (`wait_for`'s `elapsed`, `until`'s delays), which a loaded
//! machine running the whole suite can miss: a target whose numbers differ from the table runs
//! once more, alone, and the second run is held (the first is printed as a note).
//!
//! Each target runs as `ansible-test` runs a role target: a play on `testhost` with the target
//! as its role, `output_dir` in the play's vars, `gather_facts` from the target's aliases, the
//! targets directory as the roles path (so the `setup_*` roles its meta names are found). See
//! docs/playbooks.md for where this differs from ansible-test.
//!
//! Environment: `CLEARFLEET_ANSIBLE_TARGETS=a,b` runs only those targets (their rows are still
//! checked); `CLEARFLEET_ANSIBLE_TARGETS_WRITE=1` rewrites the table instead of checking it;
//! `CLEARFLEET_ANSIBLE_TARGETS_JOBS` (default 3) targets run at once, each on its own sshd host.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::ansible;
use support::ansible_source;
use support::cli::clearfleet;
use support::sshd::{Fleet, SshdHost, kill_tree};

/// The targets of issue #13: the modules and keywords clearfleet supports, and the lookups' role
/// targets (`lookup_env` and `lookup_fileglob` are `runme.sh` scripts of their own: not run).
const TARGETS: &[&str] = &[
    "command_shell",
    "shell",
    "raw",
    "script",
    "copy",
    "file",
    "lineinfile",
    "blockinfile",
    "replace",
    "template",
    "stat",
    "slurp",
    "fetch",
    "wait_for",
    "get_url",
    "uri",
    "loops",
    "until",
    "loop-until",
    "changed_when",
    "failed_when",
    "ignore_errors",
    "lookup_dict",
    "lookup_file",
    "lookup_first_found",
    "lookup_indexed_items",
    "lookup_items",
    "lookup_lines",
    "lookup_list",
    "lookup_password",
    "lookup_pipe",
    "lookup_sequence",
    "lookup_subelements",
    "lookup_template",
    "lookup_together",
    "lookup_vars",
    // Added with the modules and actions behind them (`set_fact`, `handlers`, `blocks` and
    // `debug` are runme.sh targets, with no role to run here).
    "assert",
    "include_vars",
    "group",
    "user",
    "ping",
    "tempfile",
    "find",
    "getent",
    "package",
    // Both need a service manager the harness's hosts lack: `service` includes
    // `<service_mgr>_setup.yml` (none for PID 1's name), `systemd` ends the host unless
    // systemd runs.
    "service",
    "systemd",
    "unarchive",
    // `fact_path`'s local facts (the `gathering` target is a runme.sh one).
    "facts_d",
];

/// How long one tool may take over one target before it is killed (and the target fails).
const TIME_LIMIT: Duration = Duration::from_secs(900);

const BEGIN: &str = "<!-- ansible-targets: begin (written by scripts/ansible-targets) -->";
const END: &str = "<!-- ansible-targets: end -->";

/// What one tool did with one target.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    passed: bool,
    /// `assert` results that passed (each loop item counts).
    assertions: u32,
    /// The failure that ended the run: `task: message`, or why the run never started.
    failure: Option<String>,
}

#[derive(Debug, Clone)]
struct Row {
    target: String,
    ansible: Outcome,
    clearfleet: Outcome,
}

/// Whether this machine may run the targets: they change the host they run on (users, sudoers
/// rules, files outside their directories), so only in CI or when asked for
/// (`CLEARFLEET_ANSIBLE_TARGETS_RUN=1`, which scripts/ansible-targets sets).
fn may_run_here() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
    if set("CI") || set("CLEARFLEET_ANSIBLE_TARGETS_RUN") {
        return true;
    }
    eprintln!(
        "SKIPPED: ansible-core's targets change the machine they run on; set CI or \
         CLEARFLEET_ANSIBLE_TARGETS_RUN=1 (scripts/ansible-targets) on a throw-away machine"
    );
    false
}

#[test]
fn ansible_core_integration_targets() {
    if !may_run_here() {
        return;
    }
    let Some(playbook_bin) = ansible::ansible_playbook() else {
        return;
    };
    let selected: Vec<String> = match std::env::var("CLEARFLEET_ANSIBLE_TARGETS") {
        Ok(list) if !list.trim().is_empty() => list.split(',').map(str::to_owned).collect(),
        _ => TARGETS.iter().map(|t| (*t).to_owned()).collect(),
    };
    let jobs = std::env::var("CLEARFLEET_ANSIBLE_TARGETS_JOBS")
        .ok()
        .and_then(|j| j.parse::<usize>().ok())
        .unwrap_or(3)
        .clamp(1, selected.len().max(1));
    let source = ansible_source::source_tree(&ansible::bin_dir().join("pip"));
    let targets_dir = source.join("test/integration/targets");
    // Each host has its own /tmp, as each ansible-test container has: `changed_when` lists
    // /tmp (`ls -al /tmp`), which fails when another target's or test's files vanish meanwhile.
    // And its own copy of /etc: the users, groups and sudoers rules targets make stay there.
    let Some(fleet) = Fleet::builder()
        .hosts(jobs)
        .private_tmp(true)
        .private_etc(true)
        .build()
    else {
        return;
    };
    // Kept after the test (each tool's stdout and stderr per target), emptied when it starts.
    let run_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ansible-targets");
    let _ = std::fs::remove_dir_all(&run_dir);
    std::fs::create_dir_all(run_dir.join("home")).expect("run dir");
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let rows = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for host in fleet.hosts() {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(target) = selected.get(i) else { break };
                    let row =
                        run_target(&run_dir, &targets_dir, target, host, &fleet, &playbook_bin);
                    rows.lock().expect("rows").push(row);
                }
            });
        }
    });
    let mut rows = rows.into_inner().expect("rows");
    rows.sort_by_key(|r| {
        selected
            .iter()
            .position(|t| *t == r.target)
            .unwrap_or(usize::MAX)
    });
    eprintln!(
        "{} targets in {:.1} s ({jobs} at once)",
        rows.len(),
        started.elapsed().as_secs_f64()
    );
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/playbooks.md");
    let text = std::fs::read_to_string(&doc).expect("docs/playbooks.md");
    let writing = std::env::var_os("CLEARFLEET_ANSIBLE_TARGETS_WRITE").is_some_and(|v| v == "1");
    let table_rows = recorded(&text);
    if !writing {
        // ansible-core's targets hold timing assertions (`wait_for`'s `elapsed <= 15`, `until`
        // delays) that a loaded 2-core machine running the whole suite can miss, under either
        // tool. A target whose numbers differ from the table runs once more, alone, and that
        // second run is the one held; the first is printed, so a flake is seen, never hidden.
        let first_host = &fleet.hosts()[0];
        for row in rows.iter_mut() {
            if deviates(&table_rows, row) {
                say(&format!(
                    "note: {} differs from the table on its first run ({row:?}); running it again",
                    row.target
                ));
                *row = run_target(
                    &run_dir,
                    &targets_dir,
                    &row.target,
                    first_host,
                    &fleet,
                    &playbook_bin,
                );
            }
        }
    }
    let table = render(&rows);
    eprintln!("{table}");
    if writing {
        std::fs::write(&doc, replace_table(&text, &table)).expect("write docs/playbooks.md");
        return;
    }
    check_against(&table_rows, &rows);
}

/// Runs one target under both tools on `host`, its work directory under `run_dir`.
fn run_target(
    run_dir: &Path,
    targets_dir: &Path,
    target: &str,
    host: &SshdHost,
    fleet: &Fleet,
    playbook_bin: &Path,
) -> Row {
    let run = TargetRun::prepare(&run_dir.join(target), targets_dir, target, host, fleet);
    let t0 = Instant::now();
    let row = Row {
        target: target.to_owned(),
        ansible: run.ansible(playbook_bin),
        clearfleet: run.clearfleet(&run_dir.join("home")),
    };
    say(&format!(
        "{target} ({:.1} s): {row:?}",
        t0.elapsed().as_secs_f64()
    ));
    row
}

/// Whether a row's numbers differ from the table's where the ratchet holds them: both tools'
/// on a target ansible-playbook passes, ansible-playbook's status on one it fails.
fn deviates(recorded: &[Recorded], r: &Row) -> bool {
    let Some((_, ansible, ours)) = recorded.iter().find(|(t, _, _)| *t == r.target) else {
        return false;
    };
    if ansible.0 {
        *ansible != (r.ansible.passed, r.ansible.assertions)
            || *ours != (r.clearfleet.passed, r.clearfleet.assertions)
    } else {
        r.ansible.passed
    }
}

/// One target's work directory: inventory, ansible.cfg, the wrapper play, `output_dir`.
struct TargetRun<'h> {
    work: PathBuf,
    host: &'h SshdHost,
    /// The sshd host's HOME (sshd's `SetEnv HOME`).
    host_home: PathBuf,
    /// root's home in the passwd database: the working directory of every command the targets
    /// run (`lineinfile` creates `file.txt` there).
    login_home: PathBuf,
    targets_dir: PathBuf,
    inventory: PathBuf,
    known_hosts: PathBuf,
    playbook: PathBuf,
    config: PathBuf,
    roles_path: String,
}

impl<'h> TargetRun<'h> {
    fn prepare(
        work: &Path,
        targets_dir: &Path,
        target: &str,
        host: &'h SshdHost,
        fleet: &Fleet,
    ) -> TargetRun<'h> {
        let _ = std::fs::remove_dir_all(work);
        std::fs::create_dir_all(work).expect("work dir");
        let stand_ins = work.join("stand-in-roles");
        write(
            &stand_ins.join("setup_nobody/tasks/main.yml"),
            "# The harness's stand-in for ansible-core's setup_nobody, whose handler removes the\n\
             # system user `nobody` from the test host (here the machine running the tests).\n\
             - name: nobody exists\n  command: id nobody\n  changed_when: false\n",
        );
        // ansible-test's hosts accept the controller's key for the user they run as; targets
        // copy it from there (copy's unprivileged user).
        write(
            &host.home().join(".ssh/authorized_keys"),
            &std::fs::read_to_string(fleet.dir().join("authorized_keys"))
                .expect("the fleet's authorized_keys"),
        );
        let roles_path = format!("{}:{}", stand_ins.display(), targets_dir.display());
        let known_hosts = fleet.known_hosts_path().to_owned();
        // Pipelining as ansible-test's inventory has it (fewer round trips per task).
        let inventory = work.join("inventory");
        write(
            &inventory,
            &format!(
                "testhost ansible_host=127.0.0.1 ansible_port={} ansible_user=root \
                 ansible_ssh_private_key_file={} ansible_python_interpreter=/usr/bin/python3 \
                 ansible_pipelining=yes \
                 ansible_ssh_common_args='-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes'\n",
                host.port(),
                fleet.client_key().display(),
                known_hosts.display()
            ),
        );
        let config = work.join("ansible.cfg");
        write(&config, &format!("[defaults]\nroles_path = {roles_path}\n"));
        let aliases =
            std::fs::read_to_string(targets_dir.join(target).join("aliases")).unwrap_or_default();
        let gather_facts = !aliases.lines().any(|l| l.trim() == "gather_facts/no");
        let playbook = work.join(format!("{target}.yml"));
        write(
            &playbook,
            &format!(
                "- hosts: testhost\n  gather_facts: {gather_facts}\n  vars:\n    output_dir: {}\n  roles:\n    - {target}\n",
                work.join("output").display()
            ),
        );
        TargetRun {
            work: work.to_owned(),
            host,
            host_home: host.home(),
            login_home: root_home(),
            targets_dir: targets_dir.to_owned(),
            inventory,
            known_hosts,
            playbook,
            config,
            roles_path,
        }
    }

    /// `output_dir`, also in the environment as `OUTPUT_DIR` (as ansible-test sets it: the
    /// `template` target reads it with `lookup('env', …)`; without it, it writes to `/`).
    fn output_dir(&self) -> PathBuf {
        self.work.join("output")
    }

    /// A fresh `output_dir` for the next tool, the host's HOME as the harness made it
    /// (targets write relative paths there: `lineinfile` creates `file.txt`) and its `/tmp` empty.
    fn fresh_output(&self) {
        self.host.empty_private_tmp();
        let out = self.output_dir();
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).expect("output dir");
        for entry in std::fs::read_dir(&self.host_home)
            .into_iter()
            .flatten()
            .flatten()
        {
            if entry.file_name() != ".ssh" {
                let p = entry.path();
                let _ = std::fs::remove_dir_all(&p).or_else(|_| std::fs::remove_file(&p));
            }
        }
    }

    fn ansible(&self, playbook_bin: &Path) -> Outcome {
        self.fresh_output();
        let home = self.work.join("ansible-home");
        std::fs::create_dir_all(&home).expect("ansible home");
        let mut cmd = ansible::command(playbook_bin, &home);
        cmd.arg("-i")
            .arg(&self.inventory)
            .arg(&self.playbook)
            .env("ANSIBLE_CONFIG", &self.config)
            .env("ANSIBLE_ROLES_PATH", &self.roles_path)
            .env("OUTPUT_DIR", self.output_dir())
            .env("INVENTORY_PATH", &self.inventory)
            .current_dir(&self.work);
        let left = self.login_home_files();
        let (code, stdout, stderr) = run_limited(cmd, &self.work.join("ansible"));
        self.remove_new_files(&left);
        self.tidy(ansible_outcome(code, &stdout, &stderr))
    }

    fn clearfleet(&self, home: &Path) -> Outcome {
        self.fresh_output();
        let mut cmd = clearfleet(home)
            .arg("run")
            .fleet(&self.inventory, &self.known_hosts)
            .arg(&self.playbook)
            .env("ANSIBLE_CONFIG", &self.config)
            .env("ANSIBLE_ROLES_PATH", &self.roles_path)
            .env("OUTPUT_DIR", self.output_dir())
            .env("INVENTORY_PATH", &self.inventory)
            .command();
        cmd.current_dir(&self.work);
        let left = self.login_home_files();
        let (code, stdout, stderr) = run_limited(cmd, &self.work.join("clearfleet"));
        self.remove_new_files(&left);
        self.tidy(clearfleet_outcome(code, &stdout, &stderr))
    }

    /// The regular files at the top of the login's home.
    fn login_home_files(&self) -> Vec<PathBuf> {
        std::fs::read_dir(&self.login_home)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .collect()
    }

    /// Removes the regular files a run left at the top of the login's home (a target's
    /// relative paths), so that the next run finds the home as ansible-test's fresh host would.
    fn remove_new_files(&self, before: &[PathBuf]) {
        for f in self.login_home_files() {
            if !before.contains(&f) {
                let _ = std::fs::remove_file(f);
            }
        }
    }

    /// The failure without this run's temporary paths, so that the table does not change
    /// from run to run: `targets/…` for the source package's targets, work files bare. Its first
    /// line whole: the log shows it so (CI's copy of the log is all a red run leaves), the
    /// table shortened.
    fn tidy(&self, mut o: Outcome) -> Outcome {
        o.failure = o.failure.map(|f| {
            first_line(
                &f.replace(&format!("{}/", self.targets_dir.display()), "targets/")
                    .replace(&format!("{}/", self.work.display()), ""),
            )
            .to_owned()
        });
        o
    }
}

/// root's home directory (`/etc/passwd`), where sshd starts root's sessions.
fn root_home() -> PathBuf {
    std::fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&"root")).then(|| PathBuf::from(f.get(5).unwrap_or(&"/root")))
        })
        .unwrap_or_else(|| PathBuf::from("/root"))
}

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create dir");
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Runs `cmd` with its output in `prefix.stdout`/`prefix.stderr` (kept for reading after the
/// test), killed with everything it started after [`TIME_LIMIT`]: the exit code (-1 when
/// killed), stdout and stderr.
fn run_limited(mut cmd: Command, prefix: &Path) -> (i32, String, String) {
    let out_path = prefix.with_extension("stdout");
    let err_path = prefix.with_extension("stderr");
    let out = std::fs::File::create(&out_path).expect("stdout file");
    let err = std::fs::File::create(&err_path).expect("stderr file");
    let mut child: Child = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let deadline = Instant::now() + TIME_LIMIT;
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code().unwrap_or(-1);
        }
        if Instant::now() > deadline {
            kill_tree(child.id());
            let _ = child.wait();
            break -1;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    let mut stderr = read(&err_path);
    if code == -1 {
        stderr.push_str(&format!("\nkilled after {} s\n", TIME_LIMIT.as_secs()));
    }
    (code, read(&out_path), stderr)
}

/// The name in a `TASK [name] ***` or `RUNNING HANDLER [name] ***` header line.
fn header_name(line: &str) -> Option<&str> {
    let rest = line
        .strip_prefix("TASK [")
        .or_else(|| line.strip_prefix("RUNNING HANDLER ["))?;
    let end = rest.rfind("] *")?;
    Some(&rest[..end])
}

/// The first line of `text` that is not blank.
fn first_line(text: &str) -> &str {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

/// One line, at most 110 characters.
fn shorten(text: &str) -> String {
    let line = first_line(text);
    if line.chars().count() > 110 {
        format!("{}…", line.chars().take(110).collect::<String>())
    } else {
        line.to_owned()
    }
}

/// Whether the result that ends before `rest` was ignored: `...ignoring` follows it before the
/// next result or header.
fn ansible_ignored(rest: &[&str]) -> bool {
    const NEXT: [&str; 9] = [
        "ok: ",
        "changed: ",
        "fatal: ",
        "failed: ",
        "skipping: ",
        "included: ",
        "TASK [",
        "RUNNING HANDLER [",
        "PLAY ",
    ];
    rest.iter()
        .find(|l| l.trim() == "...ignoring" || NEXT.iter().any(|p| l.starts_with(p)))
        .is_some_and(|l| l.trim() == "...ignoring")
}

/// The JSON of the result whose line starts `lines` (`… => {…}`, on that line or spread over
/// the lines after it, as for results printed in full).
fn ansible_result(lines: &[&str]) -> Option<serde_json::Value> {
    let (_, first) = lines.first()?.split_once("=> ")?;
    let mut text = first.to_owned();
    for next in lines.iter().skip(1).take(2000) {
        if let Ok(v) = serde_json::from_str(&text) {
            return Some(v);
        }
        text.push('\n');
        text.push_str(next);
    }
    serde_json::from_str(&text).ok()
}

/// `ansible-playbook`'s default output: passed when it exits 0; assertions are the results
/// carrying `"msg": "All assertions passed"`; the failure is the last `fatal:`/`failed:` result
/// not followed by `...ignoring`.
fn ansible_outcome(code: i32, stdout: &str, stderr: &str) -> Outcome {
    let assertions = stdout
        .lines()
        .filter(|l| l.trim() == "\"msg\": \"All assertions passed\"")
        .count();
    let lines: Vec<&str> = stdout.lines().collect();
    let mut task = "";
    let mut failure = None;
    for (i, line) in lines.iter().enumerate() {
        if let Some(name) = header_name(line) {
            task = name;
        }
        let failed =
            line.starts_with("fatal: [testhost]") || line.starts_with("failed: [testhost]");
        if failed && !ansible_ignored(&lines[i + 1..]) {
            let msg = ansible_result(&lines[i..])
                .and_then(|v| {
                    ["msg", "censored"]
                        .iter()
                        .find_map(|k| v.get(*k).and_then(|m| m.as_str()).map(str::to_owned))
                })
                .unwrap_or_else(|| (*line).to_owned());
            failure = Some(format!("{task}: {}", first_line(&msg)));
        }
    }
    outcome(code, assertions, failure, stderr, |l| l.contains("ERROR"))
}

/// The outcome of a run that exited with `code`: without a failed result to name, the first
/// line of stderr that `is_error` picks (else its first line) says why it failed.
fn outcome(
    code: i32,
    assertions: usize,
    failure: Option<String>,
    stderr: &str,
    is_error: fn(&str) -> bool,
) -> Outcome {
    let failure = (code != 0).then(|| {
        failure.unwrap_or_else(|| {
            let why = stderr
                .lines()
                .find(|l| is_error(l))
                .or_else(|| stderr.lines().find(|l| !l.trim().is_empty()))
                .unwrap_or("no output");
            format!("exit {code}: {}", first_line(why))
        })
    });
    Outcome {
        passed: code == 0,
        assertions: u32::try_from(assertions).unwrap_or(u32::MAX),
        failure,
    }
}

/// `clearfleet run`'s human output: passed when it exits 0; assertions are the `ok:` results
/// whose message is `All assertions passed`; the failure is the last `fatal:` result, or the
/// first error of a run refused before it started.
fn clearfleet_outcome(code: i32, stdout: &str, stderr: &str) -> Outcome {
    let assertions = stdout
        .lines()
        .filter(|l| l.starts_with("ok: [testhost]") && l.ends_with(": All assertions passed"))
        .count();
    let mut task = "";
    let mut failure = None;
    for line in stdout.lines() {
        if let Some(name) = header_name(line) {
            task = name;
        }
        if let Some(rest) = line.strip_prefix("fatal: [testhost]") {
            let msg = rest.split_once(": ").map(|(_, m)| m).unwrap_or(rest);
            failure = Some(format!("{task}: {}", first_line(msg)));
        }
    }
    outcome(code, assertions, failure, stderr, |l| {
        l.starts_with("error")
    })
}

/// A table cell: `|` escaped, backticks kept out of the way of Markdown.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('`', "'")
}

fn status(o: &Outcome) -> &'static str {
    if o.passed { "passed" } else { "failed" }
}

fn render(rows: &[Row]) -> String {
    let mut t = String::from(
        "| target | ansible-playbook | assertions | clearfleet | assertions | what stopped clearfleet (ansible-playbook) |\n\
         |---|---|---|---|---|---|\n",
    );
    for r in rows {
        let why = match (&r.clearfleet.failure, &r.ansible.failure) {
            (Some(c), Some(a)) => format!(
                "{} (ansible-playbook: {})",
                cell(&shorten(c)),
                cell(&shorten(a))
            ),
            (Some(c), None) => cell(&shorten(c)),
            (None, Some(a)) => format!("(ansible-playbook: {})", cell(&shorten(a))),
            (None, None) => String::new(),
        };
        t.push_str(&format!(
            "| {} | {} | {} | {} | {} | {why} |\n",
            r.target,
            status(&r.ansible),
            r.ansible.assertions,
            status(&r.clearfleet),
            r.clearfleet.assertions,
        ));
    }
    let n = rows.len();
    let passed = |f: fn(&Row) -> &Outcome| rows.iter().filter(|r| f(r).passed).count();
    let asserted = |f: fn(&Row) -> &Outcome| rows.iter().map(|r| f(r).assertions).sum::<u32>();
    t.push_str(&format!(
        "| **total** | **{} of {n}** | **{}** | **{} of {n}** | **{}** | |\n",
        passed(|r| &r.ansible),
        asserted(|r| &r.ansible),
        passed(|r| &r.clearfleet),
        asserted(|r| &r.clearfleet),
    ));
    t
}

fn replace_table(doc: &str, table: &str) -> String {
    let (Some(b), Some(e)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!("docs/playbooks.md has no `{BEGIN}` … `{END}` markers");
    };
    format!("{}{BEGIN}\n{table}{}", &doc[..b], &doc[e..])
}

/// A recorded row: target, ansible (passed, assertions), clearfleet (passed, assertions).
type Recorded = (String, (bool, u32), (bool, u32));

/// The rows of the table in docs/playbooks.md (the total row left out).
fn recorded(doc: &str) -> Vec<Recorded> {
    let (Some(b), Some(e)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!("docs/playbooks.md has no `{BEGIN}` … `{END}` markers");
    };
    doc[b + BEGIN.len()..e]
        .lines()
        .skip(3)
        .filter(|l| l.starts_with("| ") && !l.starts_with("| **total**"))
        .map(|l| {
            let cells: Vec<&str> = l.split(" | ").map(|c| c.trim_matches(['|', ' '])).collect();
            let n = |i: usize| {
                cells
                    .get(i)
                    .and_then(|c| c.parse::<u32>().ok())
                    .unwrap_or_else(|| panic!("bad row in docs/playbooks.md: {l}"))
            };
            let p = |i: usize| cells.get(i) == Some(&"passed");
            (cells[0].to_owned(), (p(1), n(2)), (p(3), n(4)))
        })
        .collect()
}

/// The ratchet (see the module's comment).
fn check_against(recorded: &[Recorded], rows: &[Row]) {
    let mut problems = Vec::new();
    let (mut had_passed, mut had_assertions, mut now_passed, mut now_assertions) = (0, 0, 0, 0);
    for r in rows {
        let Some((_, ansible, ours)) = recorded.iter().find(|(t, _, _)| *t == r.target) else {
            problems.push(format!(
                "{}: not in the table (run scripts/ansible-targets)",
                r.target
            ));
            continue;
        };
        // A target ansible-playbook passes runs every assertion the same way each time; one it
        // fails stops where this machine lets it (ACL tools, network, the controller's /tmp),
        // so only its status is held, and its numbers are a note.
        let same = if ansible.0 {
            *ansible == (r.ansible.passed, r.ansible.assertions)
        } else {
            !r.ansible.passed
        };
        if !same {
            problems.push(format!(
                "{}: ansible-playbook {} with {} assertions, the table says {} with {}: the harness changed ({:?})",
                r.target,
                status(&r.ansible),
                r.ansible.assertions,
                if ansible.0 { "passed" } else { "failed" },
                ansible.1,
                r.ansible.failure
            ));
        }
        if !ansible.0 {
            if (r.ansible.assertions, r.clearfleet.assertions) != (ansible.1, ours.1) {
                eprintln!(
                    "note: {} (ansible-playbook fails it): assertions {} under ansible-playbook, {} under clearfleet; the table says {} and {}",
                    r.target, r.ansible.assertions, r.clearfleet.assertions, ansible.1, ours.1
                );
            }
            continue;
        }
        if ours.0 && !r.clearfleet.passed {
            problems.push(format!(
                "{}: clearfleet no longer passes: {:?}",
                r.target, r.clearfleet.failure
            ));
        }
        had_passed += u32::from(ours.0);
        had_assertions += ours.1;
        now_passed += u32::from(r.clearfleet.passed);
        now_assertions += r.clearfleet.assertions;
    }
    if now_passed < had_passed || now_assertions < had_assertions {
        problems.push(format!(
            "of the targets ansible-playbook passes, clearfleet passes {now_passed} with {now_assertions} assertions; the table records {had_passed} with {had_assertions}"
        ));
    }
    if now_passed > had_passed || now_assertions > had_assertions {
        eprintln!(
            "clearfleet improved ({now_passed} targets, {now_assertions} assertions of those ansible-playbook passes): run scripts/ansible-targets to record it"
        );
    }
    if !problems.is_empty() {
        say(&format!("ansible-core targets: {}", problems.join("\n")));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Writes to the process's stderr past the test harness's capture, so that a run which only
/// keeps a window of the log around the failing test's line (CI) still shows each target's
/// outcome and why the ratchet failed.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
