//! Ansible's `async`: a `command`/`shell` call run as a background job on the host that outlives
//! the SSH channel that started it (as `async_wrapper` does), the poll loop of a task with
//! `poll:` (the executor's `_poll_async_result`), and the `async_status` module that reads the
//! job's results file back or removes it.
//!
//! # On the host
//! One round trip starts the job and returns at once: it creates `~/.ansible_async`, names the
//! job `j<digits>.<pid>` as Ansible does, writes `<jid>` (Ansible's results file, `{"started": 1,
//! "finished": 0, ...}` while the job runs) and `<jid>.task` (how to read the result back), then
//! starts, in a session of its own (`setsid`, all of its input and output away from the
//! channel), a watcher which runs the command in a process group of its own with its output in
//! `<jid>.out`/`<jid>.err`. The command's end rewrites `<jid>` (atomically) with its exit code and
//! times; past the time limit the watcher kills the job's group and writes Ansible's
//! `{"msg": "Timeout exceeded", "failed": true, "child_pid": N}` (checking as Ansible's watcher
//! does: every 5 s, or every half of a limit under 5 s). `async_status` reads all four files in
//! one round trip and builds the command's result with the same code as a foreground run, so the
//! fields are the same; `mode: cleanup` removes them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::args::{ArgError, Args, Key};
use super::command::{CommandArgs, Prepared};
use super::context::ModuleContext;
use super::probe::{call, nonce};
use super::remote::{Remote, RemoteOutput};
use super::result::ModuleResult;
use clearfleet_base::shell::quote;

/// Accepted keys of `async_status`.
pub const KEYS: &[Key] = &[("jid", &[]), ("mode", &[])];

/// Arguments of `async_status`.
#[derive(Debug, Clone, PartialEq)]
pub struct AsyncStatusArgs {
    pub jid: String,
    /// `mode: cleanup`: remove the job's files instead of reading them.
    pub cleanup: bool,
}

impl AsyncStatusArgs {
    /// Parses and checks the arguments.
    pub fn parse(v: &Value) -> Result<AsyncStatusArgs, ArgError> {
        let mut a = Args::new("async_status", KEYS, v)?;
        let jid = a.req_str("jid")?;
        let mode = a.choice("mode", &["status", "cleanup"], Some("status"))?;
        a.finish()?;
        Ok(AsyncStatusArgs {
            jid,
            cleanup: mode.as_deref() == Some("cleanup"),
        })
    }
}

/// Whether Ansible runs an action in the background (its action plugin's `_supports_async`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsyncSupport {
    /// clearfleet runs it as a background job.
    Yes,
    /// Ansible does, clearfleet does not: its modules are several round trips driven from
    /// the controller, not one program the host can run alone.
    NotInClearfleet,
    /// Ansible refuses: "This action (x) does not support async."
    No,
}

/// What `async` does with `module` (a short name).
pub fn support(module: &str) -> AsyncSupport {
    match module {
        "command" | "shell" => AsyncSupport::Yes,
        // Ansible's `normal` action (and `uri`'s own) support async.
        "file" | "lineinfile" | "stat" | "slurp" | "get_url" | "wait_for" | "uri" | "ping"
        | "tempfile" | "getent" | "async_status" | "setup" | "apt" | "service" | "systemd"
        | "systemd_service" | "sysvinit" => AsyncSupport::NotInClearfleet,
        _ => AsyncSupport::No,
    }
}

/// Why `async` cannot run `module` (Ansible's own failure for an action it refuses), or
/// `None` when it can.
pub fn refusal(module: &str) -> Option<String> {
    match support(module) {
        AsyncSupport::Yes => None,
        AsyncSupport::No => Some(format!("This action ({module}) does not support async.")),
        AsyncSupport::NotInClearfleet => Some(format!(
            "clearfleet runs only command and shell with async, not {module} (its round trips are driven from the controller)"
        )),
    }
}

/// Starts `args` (a `command` or, with `shell`, a `shell` call) as a background job killed
/// after `limit` seconds (`0`: never). The result is Ansible's for `poll: 0`: `ansible_job_id`,
/// `started`, `finished: false`, `results_file`, changed.
pub async fn start<R: Remote>(
    args: &CommandArgs,
    shell: bool,
    limit: u64,
    ctx: &ModuleContext<'_, R>,
) -> ModuleResult {
    let p = match Prepared::new(args, shell, ctx.check_mode) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let digits = match nonce() {
        Ok(n) => n
            .bytes()
            .map(|b| char::from(b'0' + b % 10))
            .take(12)
            .collect::<String>(),
        Err(r) => return *r,
    };
    // The check-mode result needs no run: the job then only records its end.
    let script = if p.runs() { p.script.as_str() } else { ":\n" };
    let launch = launch_script(
        &digits,
        &p.to_json().to_string(),
        script,
        p.stdin.is_some(),
        limit,
    );
    let out = match call(ctx, &launch, p.stdin.clone(), None).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let text = out.stdout_text();
    let mut lines = text.lines();
    match (out.rc, lines.next(), lines.next()) {
        (Some(0), Some(jid), Some(path)) => ModuleResult::changed()
            .with("ansible_job_id", jid)
            .with("started", true)
            .with("finished", false)
            .with("results_file", path),
        _ => {
            let mut r = ModuleResult::fail(format!(
                "could not start the async job: {}",
                out.stderr_text()
            ));
            r.rc = out.rc;
            r
        }
    }
}

/// The one round trip that starts a job (see the module docs).
fn launch_script(digits: &str, task: &str, script: &str, stdin: bool, limit: u64) -> String {
    // Runs the command, then records its end: argument 1 is the results file, 2 the jid.
    let job = format!(
        "start=$(date +%s.%N)\n\
         /bin/sh -c {}\n\
         rc=$?\n\
         end=$(date +%s.%N)\n\
         printf '{{\"started\": 1, \"finished\": 1, \"ansible_job_id\": \"%s\", \"clearfleet\": {{\"rc\": %s, \"start\": \"%s\", \"end\": \"%s\"}}}}' \"$2\" \"$rc\" \"$start\" \"$end\" > \"$1.tmp\" && mv -f \"$1.tmp\" \"$1\"\n",
        quote(script)
    );
    // Starts the job in its own process group and kills that group past the limit, checking
    // as Ansible's async_wrapper does (every 5 s; every half of a limit under 5 s), in tenths.
    let watcher = format!(
        "p=$1; jid=$2\n\
         if [ -f \"$p.in\" ]; then in=\"$p.in\"; else in=/dev/null; fi\n\
         $S /bin/sh -c {job} sh \"$p\" \"$jid\" <\"$in\" >\"$p.out\" 2>\"$p.err\" &\n\
         child=$!\n\
         running() {{ kill -0 \"$child\" 2>/dev/null && grep -q '\"finished\": 0' \"$p\" 2>/dev/null; }}\n\
         rem=$(({limit} * 10)); step=50\n\
         if [ \"$rem\" -ne 0 ] && [ \"$step\" -ge \"$rem\" ]; then step=$((rem / 2)); fi\n\
         nap() {{ sleep \"$((step / 10)).$((step % 10))\" 2>/dev/null || sleep $(((step + 9) / 10)); }}\n\
         nap\n\
         while running; do\n\
           rem=$((rem - step))\n\
           if [ \"$rem\" -le 0 ] && [ {limit} -ne 0 ]; then\n\
             kill -9 -\"$child\" 2>/dev/null || kill -9 \"$child\" 2>/dev/null\n\
             sleep 1\n\
             grep -q '\"finished\": 0' \"$p\" 2>/dev/null || exit 0\n\
             printf '{{\"msg\": \"Timeout exceeded\", \"failed\": true, \"child_pid\": %s}}' \"$child\" > \"$p.tmp\" && mv -f \"$p.tmp\" \"$p\"\n\
             exit 0\n\
           fi\n\
           nap\n\
         done\n",
        job = quote(&job),
    );
    let keep_stdin = if stdin { "cat > \"$p.in\"\n" } else { "" };
    format!(
        "d=\"$HOME/.ansible_async\"\n\
         mkdir -p \"$d\" || exit 1\n\
         jid=j{digits}.$$\n\
         p=\"$d/$jid\"\n\
         printf '%s' {task} > \"$p.task\" || exit 1\n\
         printf '{{\"started\": 1, \"finished\": 0, \"ansible_job_id\": \"%s\"}}' \"$jid\" > \"$p\" || exit 1\n\
         {keep_stdin}\
         if command -v setsid >/dev/null 2>&1; then S=setsid; else S=; fi\n\
         export S\n\
         $S /bin/sh -c {watcher} sh \"$p\" \"$jid\" </dev/null >/dev/null 2>&1 &\n\
         printf '%s\\n%s\\n' \"$jid\" \"$p\"\n",
        task = quote(task),
        watcher = quote(&watcher),
    )
}

/// Runs `async_status`: the job's state (its result once finished), or, with `cleanup`, the
/// removal of its files. Fields as Ansible's action and module return them.
pub async fn status<R: Remote>(args: &AsyncStatusArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    let jid = args.jid.as_str();
    let base = |r: ModuleResult| -> ModuleResult {
        let mut r = r.with("ansible_job_id", jid);
        r.stdout.get_or_insert_with(String::new);
        r.stderr.get_or_insert_with(String::new);
        r
    };
    let not_found = |path: &str| {
        base(ModuleResult::fail("could not find job"))
            .with("started", true)
            .with("finished", true)
            .with("results_file", path)
    };
    let p = format!("\"$HOME/.ansible_async/\"{}", quote(jid));
    if jid.contains('/') {
        return not_found(&format!("~/.ansible_async/{jid}"));
    }
    if args.cleanup {
        let script = format!(
            "p={p}\nprintf '%s\\n' \"$p\"\n[ -f \"$p\" ] || exit 3\n\
             rm -f \"$p\" \"$p.task\" \"$p.out\" \"$p.err\" \"$p.in\" \"$p.tmp\"\n"
        );
        let out = match call(ctx, &script, None, None).await {
            Ok(o) => o,
            Err(r) => return base(r),
        };
        let text = out.stdout_text();
        let path = text.lines().next().unwrap_or_default();
        return match out.rc {
            Some(0) => base(ModuleResult::ok())
                .with("erased", path)
                .with("started", false)
                .with("finished", false),
            _ => not_found(path).with("erased", path),
        };
    }
    let script = format!(
        "p={p}\nprintf '%s\\n' \"$p\"\n\
         for f in \"$p\" \"$p.task\" \"$p.out\" \"$p.err\"; do\n\
           if [ -f \"$f\" ]; then n=$(wc -c < \"$f\"); echo $n; head -c $n \"$f\"; else echo -; fi\n\
         done\n"
    );
    let out = match call(ctx, &script, None, None).await {
        Ok(o) => o,
        Err(r) => return base(r),
    };
    let Some((path, files)) = read_files(&out.stdout) else {
        return base(ModuleResult::fail(format!(
            "async_status: unreadable job files: {}",
            out.stderr_text()
        )));
    };
    let [Some(state), task, stdout, stderr] = files else {
        return not_found(&path);
    };
    let running = || {
        base(ModuleResult::ok())
            .with("results_file", path.as_str())
            .with("started", true)
            .with("finished", false)
    };
    // Ansible reads a results file it cannot parse (being written) as a running job.
    let Ok(Value::Object(data)) = serde_json::from_slice::<Value>(&state) else {
        return running();
    };
    let done = |r: ModuleResult| {
        base(r)
            .with("results_file", path.as_str())
            .with("started", true)
            .with("finished", true)
    };
    if let Some(end) = data.get("clearfleet") {
        let prepared = task
            .and_then(|t| serde_json::from_slice::<Value>(&t).ok())
            .and_then(|t| Prepared::from_json(&t));
        let Some(prepared) = prepared else {
            return done(ModuleResult::fail(
                "async_status: the job's task file is unreadable",
            ));
        };
        let rc = end.get("rc").and_then(Value::as_i64).map(|rc| rc as i32);
        let output = RemoteOutput {
            stdout: stdout.unwrap_or_default(),
            stderr: stderr.unwrap_or_default(),
            rc,
            truncation: Default::default(),
        };
        let time = |k: &str| epoch(end.get(k).and_then(Value::as_str).unwrap_or_default());
        return done(prepared.result(output, time("start"), time("end")));
    }
    if !data.contains_key("started") {
        // What the watcher wrote on a timeout (or another record without `started`).
        let mut r = ModuleResult {
            failed: data.get("failed").and_then(Value::as_bool).unwrap_or(false),
            msg: data.get("msg").and_then(Value::as_str).map(str::to_owned),
            ..ModuleResult::default()
        };
        for (k, v) in data
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "failed" | "msg"))
        {
            r.data.insert(k.clone(), v.clone());
        }
        return done(r);
    }
    if data
        .get("finished")
        .is_some_and(|f| f.as_i64() != Some(0) && f != &json!(false))
    {
        return done(ModuleResult::ok());
    }
    running()
}

/// The path line, then four files each as `<size>\n<bytes>` or `-\n` (absent).
fn read_files(out: &[u8]) -> Option<(String, [Option<Vec<u8>>; 4])> {
    let mut rest = out;
    let line = |rest: &mut &[u8]| -> Option<String> {
        let at = rest.iter().position(|b| *b == b'\n')?;
        let l = String::from_utf8_lossy(&rest[..at]).into_owned();
        *rest = &rest[at + 1..];
        Some(l)
    };
    let path = line(&mut rest)?;
    let mut files: [Option<Vec<u8>>; 4] = Default::default();
    for f in &mut files {
        let size = line(&mut rest)?;
        if size.trim() == "-" {
            continue;
        }
        let n: usize = size.trim().parse().ok()?;
        let bytes = rest.get(..n)?;
        *f = Some(bytes.to_vec());
        rest = &rest[n..];
    }
    Some((path, files))
}

/// `date +%s.%N` as a time (the epoch when unreadable; `%N` unsupported leaves a fraction
/// that is no number, which counts as 0).
fn epoch(s: &str) -> SystemTime {
    let (secs, frac) = s.trim().split_once('.').unwrap_or((s.trim(), ""));
    let secs: u64 = secs.parse().unwrap_or(0);
    let nanos: u32 =
        if !frac.is_empty() && frac.len() <= 9 && frac.bytes().all(|b| b.is_ascii_digit()) {
            format!("{frac:0<9}").parse().unwrap_or(0)
        } else {
            0
        };
    UNIX_EPOCH + Duration::new(secs, nanos)
}

/// A task with `async` and `poll > 0`: starts the job, then reads its status every `poll`
/// seconds until it finishes or `limit` seconds of polling have passed (Ansible's
/// "async task did not complete within the requested time - Ns", with the last status in
/// `async_result`); a finished job's files are removed and its result returned.
pub async fn run_polled<R: Remote>(
    args: &CommandArgs,
    shell: bool,
    limit: u64,
    poll: u64,
    ctx: &ModuleContext<'_, R>,
) -> ModuleResult {
    let started = start(args, shell, limit, ctx).await;
    let Some(jid) = started
        .data
        .get("ansible_job_id")
        .and_then(Value::as_str)
        .filter(|_| !started.failed && !started.unreachable)
        .map(str::to_owned)
    else {
        return started;
    };
    let status_args = AsyncStatusArgs {
        jid,
        cleanup: false,
    };
    let mut left = limit;
    let mut last = None;
    while left > 0 {
        tokio::time::sleep(Duration::from_secs(poll)).await;
        let r = status(&status_args, ctx).await;
        if r.unreachable {
            return r;
        }
        let finished = r.data.get("finished") == Some(&json!(true));
        last = Some(r);
        if finished {
            break;
        }
        left = left.saturating_sub(poll);
    }
    match last {
        Some(r) if r.data.get("finished") == Some(&json!(true)) => {
            let cleanup = AsyncStatusArgs {
                cleanup: true,
                ..status_args
            };
            // The result stands whatever the removal does, as in Ansible.
            let _ = status(&cleanup, ctx).await;
            r
        }
        last => {
            let mut async_result = last.map(|r| r.to_registered()).unwrap_or(json!({}));
            if let Some(m) = async_result.as_object_mut() {
                m.remove("changed");
                m.remove("failed");
            }
            ModuleResult::fail(format!(
                "async task did not complete within the requested time - {limit}s"
            ))
            .with("async_result", async_result)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_files_are_read_by_their_sizes() {
        let out = b"/h/.ansible_async/j1.2\n3\n{}\n-\n5\na\nb\nc0\n";
        let (path, files) = read_files(out).expect("readable");
        assert_eq!(path, "/h/.ansible_async/j1.2");
        assert_eq!(
            files,
            [
                Some(b"{}\n".to_vec()),
                None,
                Some(b"a\nb\nc".to_vec()),
                Some(Vec::new())
            ]
        );
        // A size past the end, or no size at all, is unreadable rather than a panic.
        assert!(read_files(b"/p\n9\nabc").is_none());
        assert!(read_files(b"/p\nx\n").is_none());
    }

    #[test]
    fn date_stamps_with_and_without_nanoseconds() {
        assert_eq!(
            epoch("1700000000.123456789"),
            UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789)
        );
        assert_eq!(
            epoch("1700000000.5"),
            UNIX_EPOCH + Duration::new(1_700_000_000, 500_000_000)
        );
        // busybox's `date` prints `%N` as it is.
        assert_eq!(
            epoch("1700000000.%N"),
            UNIX_EPOCH + Duration::new(1_700_000_000, 0)
        );
        assert_eq!(epoch(""), UNIX_EPOCH);
    }

    #[test]
    fn actions_ansible_refuses_say_so() {
        assert_eq!(
            refusal("script").as_deref(),
            Some("This action (script) does not support async.")
        );
        assert_eq!(refusal("shell"), None);
        assert!(refusal("wait_for").is_some_and(|m| m.contains("only command and shell")));
    }
}
