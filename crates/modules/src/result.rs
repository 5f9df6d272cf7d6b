//! What a module reports: Ansible's result keys, so `register:` stores what playbooks expect.

use serde_json::{Map, Value, json};

use super::remote::RemoteError;
use clearfleet_base::capture::Truncation;

/// Before/after text for `--diff`, shaped like Ansible's `diff` result entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    pub before: String,
    pub after: String,
    /// Usually the path (Ansible's `before_header`).
    pub before_header: Option<String>,
    pub after_header: Option<String>,
}

impl Diff {
    /// A diff of one path's content.
    pub fn content(path: &str, before: String, after: String) -> Diff {
        Diff {
            before,
            after,
            before_header: Some(path.to_owned()),
            after_header: Some(path.to_owned()),
        }
    }

    /// Ansible's shape for the `diff` key of a registered result.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("before".into(), Value::String(self.before.clone()));
        m.insert("after".into(), Value::String(self.after.clone()));
        if let Some(h) = &self.before_header {
            m.insert("before_header".into(), Value::String(h.clone()));
        }
        if let Some(h) = &self.after_header {
            m.insert("after_header".into(), Value::String(h.clone()));
        }
        Value::Object(m)
    }
}

/// The outcome of one module run on one host.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModuleResult {
    pub changed: bool,
    pub failed: bool,
    pub msg: Option<String>,
    pub rc: Option<i32>,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    pub diff: Option<Diff>,
    /// Module-specific return values, named as Ansible names them.
    pub data: Map<String, Value>,
    pub unreachable: bool,
    /// The module does not support check mode (or could not decide) and did nothing.
    pub skipped_check_mode: bool,
    /// Ansible's `warnings`: registered with the result, and reported as the run's warnings.
    pub warnings: Vec<String>,
    /// An action plugin's own skip (`AnsibleActionSkip`, before any module ran): its result
    /// has no `failed` key.
    pub action_skip: bool,
}

impl ModuleResult {
    /// Nothing to do.
    pub fn ok() -> ModuleResult {
        ModuleResult::default()
    }

    /// A change was made (or would be, in check mode).
    pub fn changed() -> ModuleResult {
        ModuleResult {
            changed: true,
            ..ModuleResult::default()
        }
    }

    /// A failure with a message.
    pub fn fail(msg: impl Into<String>) -> ModuleResult {
        ModuleResult {
            failed: true,
            msg: Some(msg.into()),
            ..ModuleResult::default()
        }
    }

    /// Skipped because the module cannot predict its effect in check mode.
    pub fn skipped_check(msg: impl Into<String>) -> ModuleResult {
        ModuleResult {
            skipped_check_mode: true,
            msg: Some(msg.into()),
            ..ModuleResult::default()
        }
    }

    /// An action plugin's own skip (`AnsibleActionSkip`, lib/ansible/errors/__init__.py):
    /// skipped with `msg`, and no `failed` key.
    pub fn action_skip(msg: impl Into<String>) -> ModuleResult {
        ModuleResult {
            action_skip: true,
            ..ModuleResult::skipped_check(msg)
        }
    }

    /// The result of a transport error: unreachable, or failed on a timeout.
    pub fn from_remote_error(e: &RemoteError) -> ModuleResult {
        match e {
            RemoteError::Unreachable(m) => ModuleResult {
                unreachable: true,
                msg: Some(format!("host unreachable: {m}")),
                ..ModuleResult::default()
            },
            RemoteError::Timeout(_) => ModuleResult::fail(e.to_string()),
            RemoteError::Other(m) => ModuleResult::fail(m.clone()),
        }
    }

    /// Sets a message.
    pub fn with_msg(mut self, msg: impl Into<String>) -> ModuleResult {
        self.msg = Some(msg.into());
        self
    }

    /// Adds `stdout_dropped` and `stderr_dropped` for the streams the output limit cut.
    pub fn with_truncation(mut self, t: &Truncation) -> ModuleResult {
        for (key, dropped) in [
            ("stdout_dropped", t.stdout_dropped),
            ("stderr_dropped", t.stderr_dropped),
        ] {
            if dropped > 0 {
                self.data.insert(key.to_owned(), json!(dropped));
            }
        }
        self
    }

    /// Adds a module-specific return value.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> ModuleResult {
        self.data.insert(key.to_owned(), value.into());
        self
    }

    /// What `register:` stores, shaped as Ansible's result dict.
    pub fn to_registered(&self) -> Value {
        let mut m = Map::new();
        m.insert("changed".into(), json!(self.changed));
        // An unreachable result has no `failed` key (ansible-core's connection failure
        // result: `unreachable`, `msg`, `changed`, `exception`), seen under `ignore_unreachable`.
        if !self.action_skip && !self.unreachable {
            m.insert("failed".into(), json!(self.failed));
        }
        if let Some(msg) = &self.msg {
            m.insert("msg".into(), json!(msg));
        }
        if let Some(rc) = self.rc {
            m.insert("rc".into(), json!(rc));
        }
        if let Some(out) = &self.stdout {
            m.insert("stdout".into(), json!(out));
            m.insert("stdout_lines".into(), json!(lines(out)));
        }
        if let Some(err) = &self.stderr {
            m.insert("stderr".into(), json!(err));
            m.insert("stderr_lines".into(), json!(lines(err)));
        }
        if let Some(d) = &self.diff {
            m.insert("diff".into(), d.to_json());
        }
        if self.unreachable {
            m.insert("unreachable".into(), json!(true));
        }
        if self.skipped_check_mode {
            m.insert("skipped".into(), json!(true));
        }
        if !self.warnings.is_empty() {
            m.insert("warnings".into(), json!(self.warnings));
        }
        // ansible-core 2.19 gives every failed result an `exception` (its traceback only at
        // -vvv, which clearfleet has none of).
        if self.failed || self.unreachable {
            m.insert("exception".into(), json!(NO_TRACEBACK));
        }
        for (k, v) in &self.data {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    }
}

/// What ansible-core 2.19 puts in a failed result's `exception` without -vvv.
pub const NO_TRACEBACK: &str = "(traceback unavailable)";

/// Python's `str.splitlines()` for the `*_lines` keys.
fn lines(s: &str) -> Vec<&str> {
    super::service_exec::splitlines(s)
}
