//! `~` at the start of a module's path arguments, expanded on the host as Ansible does: a
//! module's `type='path'` arguments go through `os.path.expanduser` (argument spec
//! `check_type_path`: `~` is `$HOME`), while the `copy`/`template`/`fetch` actions expand their
//! remote path first (`ActionBase._remote_expand_user`: `~` is `~<become user>` or
//! `~<remote user>`, the password database's home). One round trip, made only when an argument
//! starts with `~`.

use serde_json::Value;

use super::context::ModuleContext;
use super::probe::call;
use super::remote::Remote;
use super::result::ModuleResult;

/// The `type='path'` arguments (with their aliases) of each module, from the modules' argument
/// specs in ansible-core 2.19.14 (lib/ansible/modules/*.py); `template` is copy's module, and
/// `fetch`'s action expands its `src` (`_remote_expand_user`).
const PATH_ARGS: &[(&str, &[&str])] = &[
    ("command", &["chdir", "creates", "removes"]),
    ("shell", &["chdir", "creates", "removes"]),
    ("copy", &["dest", "path"]),
    ("template", &["dest", "path"]),
    ("fetch", &["src"]),
    ("file", &["path", "dest", "name", "src"]),
    ("lineinfile", &["path", "dest", "destfile", "name"]),
    ("blockinfile", &["path", "dest", "destfile", "name"]),
    ("replace", &["path", "dest", "destfile", "name"]),
    ("stat", &["path", "dest", "name"]),
    ("slurp", &["src", "path"]),
    ("get_url", &["dest", "tmp_dest"]),
    ("wait_for", &["path"]),
    (
        "uri",
        &[
            "dest",
            "src",
            "creates",
            "removes",
            "unix_socket",
            "ca_path",
        ],
    ),
    ("tempfile", &["path"]),
    ("user", &["home", "shell", "ssh_key_file"]),
    // `src` only when it is on the host (see `tilde_args`); the action expands dest and
    // creates (`_remote_expand_user`), the module its path arguments.
    ("unarchive", &["src", "dest", "creates"]),
    (
        "pip",
        &["virtualenv", "virtualenv_command", "chdir", "executable"],
    ),
];

/// The modules whose action plugin expands `dest` (`src` for fetch) before the module runs
/// (plugins/action/copy.py, template.py, fetch.py of ansible-core 2.19.14).
const BY_ACTION: &[&str] = &["copy", "template", "fetch"];

/// The tilde prefix of `path` (`~` or `~user`, up to the first `/`) when the shell would
/// expand it: a user name of portable characters only, so it can go on a command line
/// unquoted.
pub(crate) fn tilde_prefix(path: &str) -> Option<&str> {
    let prefix = path.split('/').next()?;
    let user = prefix.strip_prefix('~')?;
    user.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .then_some(prefix)
}

/// The path arguments of `module` in `args` that start with a tilde prefix.
fn tilde_args<'a>(module: &str, args: &'a Value) -> Vec<(&'static str, &'a str)> {
    let Some((_, keys)) = PATH_ARGS.iter().find(|(m, _)| *m == module) else {
        return Vec::new();
    };
    // unarchive's `src` is the controller's unless `remote_src` (or `copy: false`) says
    // otherwise.
    let on_host = |key: &str| {
        let flag = |k: &str| args.get(k).and_then(clearfleet_base::boolean::ansible_bool);
        module != "unarchive"
            || key != "src"
            || flag("remote_src") == Some(true)
            || flag("copy") == Some(false)
    };
    keys.iter()
        .filter(|k| on_host(k))
        .filter_map(|k| {
            let v = args.get(*k)?.as_str()?;
            tilde_prefix(v).map(|_| (*k, v))
        })
        .collect()
}

/// Whether `args` of `module` have a path to expand (the round trip is needed).
pub fn needs_expanding(module: &str, args: &Value) -> bool {
    !tilde_args(module, args).is_empty()
}

/// `args` with every tilde prefix of `module`'s path arguments replaced by the home directory
/// the host's shell gives it (`~` is `$HOME`, `~user` from the password database; a user that
/// does not exist stays as written, as `expanduser` leaves it). `Err`: the host could not be
/// asked.
pub async fn expand<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    module: &str,
    args: &Value,
) -> Result<Value, ModuleResult> {
    let found = tilde_args(module, args);
    let mut prefixes: Vec<&str> = found.iter().filter_map(|(_, v)| tilde_prefix(v)).collect();
    prefixes.sort_unstable();
    prefixes.dedup();
    if prefixes.is_empty() {
        return Ok(args.clone());
    }
    let by_action = BY_ACTION.contains(&module);
    // Unquoted on purpose: the shell's tilde expansion. `tilde_prefix` admits only
    // `~[A-Za-z0-9._-]*`, nothing the shell would read otherwise. The action's bare `~` is the
    // session user's home in the password database (`$HOME` where there is no `getent`).
    let words: Vec<&str> = prefixes
        .iter()
        .map(|p| match *p {
            "~" if by_action => "\"${cf_home:-$HOME}\"",
            p => p,
        })
        .collect();
    let lookup = if by_action && prefixes.contains(&"~") {
        "cf_home=$(getent passwd \"$(id -un)\" 2>/dev/null | cut -d: -f6); "
    } else {
        ""
    };
    let script = format!("{lookup}printf '%s\\000' {}", words.join(" "));
    let out = call(ctx, &script, None, None).await?;
    let text = out.stdout_text();
    let homes: Vec<&str> = text.split('\0').collect();
    let mut expanded = args.clone();
    for (key, value) in found {
        let Some(prefix) = tilde_prefix(value) else {
            continue;
        };
        let at = prefixes.iter().position(|p| *p == prefix);
        let Some(home) = at.and_then(|i| homes.get(i)).filter(|h| !h.is_empty()) else {
            continue;
        };
        let rest = &value[prefix.len()..];
        // `expanduser("~/")` keeps the slash after the home; a home of `/` does not double it.
        let joined = if home.ends_with('/') && rest.starts_with('/') {
            format!("{home}{}", &rest[1..])
        } else {
            format!("{home}{rest}")
        };
        if let Some(m) = expanded.as_object_mut() {
            m.insert(key.to_owned(), Value::String(joined));
        }
    }
    Ok(expanded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_a_leading_portable_tilde_prefix_counts() {
        assert_eq!(tilde_prefix("~"), Some("~"));
        assert_eq!(tilde_prefix("~/a/b"), Some("~"));
        assert_eq!(tilde_prefix("~root/x"), Some("~root"));
        assert_eq!(tilde_prefix("~a.b-c_d"), Some("~a.b-c_d"));
        assert_eq!(tilde_prefix("/home/~x"), None);
        assert_eq!(tilde_prefix("a~"), None);
        assert_eq!(tilde_prefix("~$(id)/x"), None);
        assert_eq!(tilde_prefix("~ x/y"), None);
    }

    #[test]
    fn only_path_arguments_of_known_modules_are_picked() {
        let args = json!({"path": "~/t.txt", "line": "~/not-a-path", "regexp": "~x"});
        assert_eq!(tilde_args("lineinfile", &args), vec![("path", "~/t.txt")]);
        assert!(tilde_args("debug", &json!({"msg": "~/x"})).is_empty());
        assert!(needs_expanding(
            "copy",
            &json!({"content": "x", "dest": "~/x"})
        ));
        assert!(!needs_expanding(
            "copy",
            &json!({"content": "~/x", "dest": "/x"})
        ));
    }
}
