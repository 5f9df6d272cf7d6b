//! `async`/`poll` and `async_status` end to end on real sshd hosts: a polled job past its
//! time is killed on the host, a fire-and-forget job outlives the task's channel and is read
//! back and removed with `async_status`, and the registered results have Ansible's fields
//! (tests/fixtures/run/async_compat.yml under both tools).

use crate::run_ansible_diff::{dumped, run_both_with};
use crate::support;

use std::time::{Duration, Instant};

use support::setup::Setup;

/// A polled job past `async:` fails with Ansible's message after `async` seconds of polling, and
/// the watcher on the host kills it (its whole process group: the `sleep` too), so it never
/// gets to its `touch`. A job within its time returns the command's result.
#[test]
fn async_poll_past_its_time_fails_and_the_job_is_killed() {
    let Some(s) = Setup::new(1) else {
        return;
    };
    let pb = s.play(
        r#"
    - name: within its time
      shell: echo hi; echo err >&2
      async: 10
      poll: 1
      register: quick
    - name: too slow
      shell: sleep 31; touch {{ work_dir }}/too-late
      async: 8
      poll: 2
      register: slow
      ignore_errors: true
    - copy:
        dest: "{{ work_dir }}/dump.json"
        content: "{{ {'quick': [quick.rc, quick.stdout, quick.stderr, quick.finished], 'slow': [slow.failed, slow.msg, slow.async_result.finished]} | to_json }}"
"#,
    );
    let started = Instant::now();
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(started.elapsed() < Duration::from_secs(25), "{run:?}");
    let dump = s.json("dump.json");
    assert_eq!(dump["quick"], serde_json::json!([0, "hi", "err", true]));
    assert_eq!(
        dump["slow"],
        serde_json::json!([
            true,
            "async task did not complete within the requested time - 8s",
            false
        ])
    );
    // The watcher (checking every 5 s) kills the job's process group at 10 s, after the last
    // poll at 8 s.
    let gone = (0..150).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        !support::process_running("sleep 31; touch")
    });
    assert!(gone, "the timed-out job still runs");
    assert!(!s.exists("too-late"));
}

/// `poll: 0` returns at once with the job id; the job keeps running after its channel has
/// closed (it writes its file two seconds later), `async_status` with `until` reads its
/// result, `mode: cleanup` removes its results file.
#[test]
fn fire_and_forget_then_async_status_reads_and_cleans_up() {
    let Some(s) = Setup::new(1) else {
        return;
    };
    let pb = s.play(
        r#"
    - name: fire and forget
      shell: sleep 2; echo done > {{ work_dir }}/done; echo finished
      async: 30
      poll: 0
      register: job
    - name: not there yet
      stat:
        path: "{{ work_dir }}/done"
      register: early
    - async_status:
        jid: "{{ job.ansible_job_id }}"
      register: status
      until: status is finished
      retries: 20
      delay: 1
    - async_status:
        jid: "{{ job.ansible_job_id }}"
        mode: cleanup
      register: cleaned
    - stat:
        path: "{{ job.results_file }}"
      register: results_file
    - copy:
        dest: "{{ work_dir }}/dump.json"
        content: "{{ {'job': [job.started, job.finished, job.changed], 'early': early.stat.exists, 'status': [status.stdout, status.rc, status.finished, status.attempts > 1], 'erased': cleaned.erased == job.results_file, 'left': results_file.stat.exists} | to_json }}"
"#,
    );
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let dump = s.json("dump.json");
    assert_eq!(
        dump,
        serde_json::json!({
            "job": [true, false, true],
            "early": false,
            "status": ["finished", 0, true, true],
            "erased": true,
            "left": false,
        }),
        "{run:?}"
    );
    assert_eq!(s.read("done"), "done\n");
}

/// The fixture's registered results (polled, failing, fire and forget, `async_status` while
/// running, finished, cleaned up and gone, past its time, refused by `debug`, in a loop, in
/// check mode) have the same keys and the same stable values under both tools.
///
/// The test hosts' sessions have a HOME of their own (sshd's `SetEnv`), not root's `/root`:
/// Ansible's async_wrapper writes under `$HOME` but its `async_status` looks under `~root`, so
/// Ansible is given the session's directory as `ansible_async_dir` (where clearfleet's jobs go).
#[test]
fn ansible_and_clearfleet_agree_on_async() {
    let hosts = ["h01"];
    let Some(both) = run_both_with("async_compat.yml", &hosts, &[], |fleet, inv| {
        let dir = fleet.host(0).home().join(".ansible_async");
        inv.var("ansible_async_dir", dir.display())
    }) else {
        return;
    };
    let name = "h01-async.json";
    assert_eq!(
        dumped(&both.ours_dir(), name),
        dumped(&both.theirs_dir(), name),
        "registered values differ\n--- clearfleet:\n{}\n--- ansible:\n{}",
        both.ours.stdout,
        both.theirs
    );
}
