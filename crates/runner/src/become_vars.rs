//! The variables that set become, as Ansible names them, for the two places that read them:
//! the planner of `clearfleet exec` (a host's inventory variables) and a playbook's tasks (all
//! of a task's variables). `ansible_become` and `ansible_become_method` are read by
//! lib/ansible/executor/task_executor.py `_set_become_plugin`; the others are the sudo become
//! plugin's options (lib/ansible/plugins/become/sudo.py, DOCUMENTATION `vars:`).

use clearfleet_base::shlex::{ShlexError, split};
use serde_json::Value;

/// Whether to become (beats the `become` keyword and `-b`).
pub const ENABLED: &str = "ansible_become";
/// Which become plugin (beats `become_method`); clearfleet has sudo only.
pub const METHOD: &str = "ansible_become_method";
/// Who to become (sudo's `become_user` option).
pub const USER: &[&str] = &["ansible_become_user", "ansible_sudo_user"];
/// sudo's password (its `become_pass` option).
pub const PASSWORD: &[&str] = &[
    "ansible_become_password",
    "ansible_become_pass",
    "ansible_sudo_pass",
];
/// The sudo executable (its `become_exe` option).
pub const EXE: &[&str] = &["ansible_become_exe", "ansible_sudo_exe"];
/// sudo's options (its `become_flags` option).
pub const FLAGS: &[&str] = &["ansible_become_flags", "ansible_sudo_flags"];

/// Of `names`, the last that `get` finds set to something other than null, with its value:
/// the one Ansible's `ConfigManager._loop_entries` keeps among an option's variables
/// (lib/ansible/config/manager.py; so `ansible_sudo_pass` beats `ansible_become_password`).
pub fn last_set<'v>(
    names: &[&'static str],
    get: impl Fn(&str) -> Option<&'v Value>,
) -> Option<(&'static str, &'v Value)> {
    names
        .iter()
        .rev()
        .find_map(|name| get(name).filter(|v| !v.is_null()).map(|v| (*name, v)))
}

/// sudo's options from a `become_flags` text, split into words as the shell would. With a
/// password, `-n` goes (and the `n` of a cluster such as `-Hn`), so that sudo can prompt, as
/// sudo.py's `build_become_command` does (`re.sub(r'^(-\w*)n(\w*.*)', r'\1\2', flag)`).
pub fn sudo_flags(text: &str, with_password: bool) -> Result<Vec<String>, ShlexError> {
    let words = split(text, false)?;
    if !with_password {
        return Ok(words);
    }
    Ok(words
        .into_iter()
        .filter(|w| w != "-n" && w != "--non-interactive")
        .map(|w| {
            if w.starts_with("--") || !w.starts_with('-') {
                return w;
            }
            // `-\w*` is greedy: the last `n` of the word characters after the dash.
            let run = w[1..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .map_or(w.len(), |i| i + 1);
            match w[1..run].rfind('n') {
                Some(i) => format!("{}{}", &w[..=i], &w[i + 2..]),
                None => w,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_last_variable_set_wins() {
        let vars = serde_json::Map::from_iter([
            ("ansible_become_password".to_owned(), json!("a")),
            ("ansible_become_pass".to_owned(), json!("b")),
            ("ansible_sudo_pass".to_owned(), Value::Null),
        ]);
        assert_eq!(
            last_set(PASSWORD, |n| vars.get(n)),
            Some(("ansible_become_pass", &json!("b")))
        );
        assert_eq!(last_set(USER, |n| vars.get(n)), None);
    }

    #[test]
    fn a_password_takes_n_out_of_the_flags() {
        let flags = |t: &str, pw| sudo_flags(t, pw).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(flags("-H -S -n", false), ["-H", "-S", "-n"]);
        assert_eq!(flags("-H -S -n", true), ["-H", "-S"]);
        assert_eq!(flags("-Hn -E", true), ["-H", "-E"]);
        assert_eq!(flags("-nHn --non-interactive", true), ["-nH"]);
        assert_eq!(
            flags("--preserve-env='A B' -n", true),
            ["--preserve-env=A B"]
        );
        assert!(sudo_flags("-E '", false).is_err());
    }
}
