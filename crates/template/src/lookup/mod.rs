//! Ansible's lookups (`lookup()`, `query()`/`q()`, and the `with_<lookup>` loops built on
//! them): run on the controller, as in Ansible, reading the playbook's files through
//! `ControllerFiles` (the disk, or the built-in playbook in memory).
//!
//! `lookup('file', 'a', 'b')` runs the plugin over the terms `['a', 'b']`. As ansible-core
//! 2.19's `_invoke_lookup`: `query()` (or `wantlist=True`) returns the list as it is;
//! `lookup()` returns the only element of a one-element list, joins a list of strings with
//! `,`, and returns any other list as it is. `errors='ignore'` or `'warn'` turn a failure into
//! None (`[]` with `wantlist`); there is no warning printed (templates do not print).

mod files;
mod lists;
mod password;
pub mod search;
mod template;

use std::path::PathBuf;

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};

use clearfleet_base::controller_files::ControllerFiles;

/// The lookups clearfleet implements (for `with_<name>` and error messages).
pub const LOOKUPS: &[&str] = &[
    "dict",
    "env",
    "file",
    "fileglob",
    "first_found",
    "flattened",
    "indexed_items",
    "items",
    "lines",
    "list",
    "password",
    "pipe",
    "sequence",
    "subelements",
    "template",
    "together",
    "vars",
];

/// The keyword argument by which a `with_<lookup>` loop tells `first_found` which directory
/// its module's files live in (`files`, `templates`, `vars`); not one of Ansible's options.
pub const WITH_SUBDIR: &str = "__clearfleet_with_subdir";

/// What a lookup sees besides its terms: the playbook's files and the template state.
pub(crate) struct Call<'a, 's> {
    pub state: &'a State<'a, 's>,
    pub files: &'a ControllerFiles,
    pub kwargs: &'a Kwargs,
}

impl Call<'_, '_> {
    /// `playbook_dir`: Ansible's basedir (relative paths of `password`, `pipe`'s directory).
    pub fn basedir(&self) -> PathBuf {
        self.state
            .lookup("playbook_dir")
            .and_then(|v| v.as_str().map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// `ansible_search_path` (the task's directories; the runner sets it), then the basedir.
    pub fn search_path(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = self
            .state
            .lookup("ansible_search_path")
            .and_then(|v| v.try_iter().ok().map(|i| i.collect::<Vec<_>>()))
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.as_str().map(PathBuf::from))
            .collect();
        let base = self.basedir();
        if !dirs.contains(&base) {
            dirs.push(base);
        }
        dirs
    }

    /// A keyword argument of the lookup (`rstrip=False`, `default=''`).
    pub fn kwarg(&self, name: &str) -> Result<Option<Value>, Error> {
        self.kwargs.get::<Option<Value>>(name)
    }
}

/// A lookup's failure, worded as Ansible's.
pub(crate) fn fail(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// Registers `lookup`, `query` and `q`, reading controller files from `files`.
pub(crate) fn register(env: &mut Environment<'static>, files: ControllerFiles) {
    let f = files.clone();
    env.add_function(
        "lookup",
        move |state: &State, name: String, terms: Rest<Value>, kwargs: Kwargs| {
            invoke(state, &f, &name, terms.0, &kwargs, false)
        },
    );
    for q in ["query", "q"] {
        let f = files.clone();
        env.add_function(
            q,
            move |state: &State, name: String, terms: Rest<Value>, kwargs: Kwargs| {
                invoke(state, &f, &name, terms.0, &kwargs, true)
            },
        );
    }
}

/// Ansible's `_invoke_lookup`: the plugin, then `wantlist` and `errors`.
fn invoke(
    state: &State,
    files: &ControllerFiles,
    name: &str,
    terms: Vec<Value>,
    kwargs: &Kwargs,
    query: bool,
) -> Result<Value, Error> {
    let short = name
        .trim_start_matches("ansible.builtin.")
        .trim_start_matches("ansible.legacy.");
    // An undefined argument. `_invoke_lookup` (2.19.14's `_jinja_plugins.py`) gives back the
    // first marker among the terms and keyword arguments of a lookup that does not accept
    // them: the lookup's value is that undefined value. The two that accept them fail reading
    // one (`'x' is undefined`), but for `env`'s `default` (env.py: "the `default` arg can
    // accept undefined values").
    let accepts_markers = matches!(short, "first_found" | "env");
    let kwarg_values = kwargs
        .args()
        .filter(|k| !(short == "env" && *k == "default"))
        .map(|k| kwargs.peek::<Value>(k))
        .collect::<Result<Vec<_>, _>>()?;
    for v in terms.iter().chain(&kwarg_values) {
        if !v.is_undefined() {
            continue;
        }
        if !accepts_markers {
            return Ok(v.clone());
        }
        crate::filters::check_defined(state, v)?;
    }
    let wantlist = query
        || kwargs
            .get::<Option<Value>>("wantlist")?
            .is_some_and(|v| v.is_true());
    let errors = kwargs
        .get::<Option<String>>("errors")?
        .unwrap_or_else(|| "strict".to_owned());
    if !matches!(errors.as_str(), "strict" | "warn" | "ignore") {
        return Err(fail(format!(
            "lookup: `errors` must be strict, warn or ignore, not {errors:?}"
        )));
    }
    let call = Call {
        state,
        files,
        kwargs,
    };
    let result = match run(&call, short, terms) {
        Ok(r) => r,
        Err(e) if errors == "strict" => {
            return Err(fail(format!(
                "The lookup plugin '{short}' failed: {}",
                e.detail().unwrap_or_default()
            )));
        }
        Err(_) => {
            return Ok(if wantlist {
                Value::from(Vec::<Value>::new())
            } else {
                Value::from(())
            });
        }
    };
    if wantlist {
        return Ok(Value::from(result));
    }
    Ok(match result.len() {
        0 => Value::from(result),
        1 => result.into_iter().next().unwrap_or_default(),
        _ if result.iter().all(|v| v.kind() == ValueKind::String) => Value::from(
            result
                .iter()
                .map(|v| v.as_str().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => Value::from(result),
    })
}

/// Runs lookup `name` over `terms`.
fn run(call: &Call, name: &str, terms: Vec<Value>) -> Result<Vec<Value>, Error> {
    match name {
        "file" => files::file(call, &terms),
        "fileglob" => files::fileglob(call, &terms),
        "first_found" => files::first_found(call, &terms),
        "template" => template::template(call, &terms),
        "env" => env(call, &terms),
        "pipe" => pipe(call, &terms, "pipe")
            .map(|outs| outs.iter().map(|o| Value::from(o.trim_end())).collect()),
        "lines" => pipe(call, &terms, "lines").map(|outs| {
            outs.iter()
                .flat_map(|o| bytes_lines(o))
                .map(Value::from)
                .collect()
        }),
        "vars" => vars(call, &terms),
        "password" => password::password(call, &terms),
        "items" => Ok(lists::flatten_once(terms)),
        "list" => Ok(terms),
        "flattened" => Ok(lists::flatten_all(terms)),
        "indexed_items" => Ok(lists::indexed(terms)),
        "dict" => lists::dict(&terms),
        "together" => lists::together(&terms),
        "sequence" => lists::sequence(call, &terms),
        "subelements" => lists::subelements(&terms),
        _ => Err(Error::new(
            ErrorKind::UnknownFunction,
            format!(
                "lookup plugin {name:?} not found (clearfleet has: {})",
                LOOKUPS.join(", ")
            ),
        )),
    }
}

/// A term that must be a string.
pub(crate) fn term_str(v: &Value) -> Result<String, Error> {
    match v.as_str() {
        Some(s) => Ok(s.to_owned()),
        None if v.is_undefined() => Err(fail("a term is undefined")),
        None => Ok(crate::filters::py_str(v)),
    }
}

/// `env`: the controller's environment variables (`default` when unset, else '').
fn env(call: &Call, terms: &[Value]) -> Result<Vec<Value>, Error> {
    // Not `kwarg`: an undefined default stays undefined.
    let default = match call.kwargs.has("default") {
        true => Some(call.kwargs.peek::<Value>("default")?),
        false => None,
    };
    terms
        .iter()
        .map(|t| {
            let s = term_str(t)?;
            let var = s.split_whitespace().next().unwrap_or_default();
            Ok(match (std::env::var(var), &default) {
                (Ok(v), _) => Value::from(v),
                (Err(_), Some(d)) => d.clone(),
                (Err(_), None) => Value::from(""),
            })
        })
        .collect()
}

/// `pipe`: each term run by `sh -c` on the controller in the playbook's directory; its
/// stdout with trailing whitespace removed. A non-zero exit fails; stderr is kept out of
/// the terminal.
/// `pipe` and `lines` (`plugin`): each term run by `/bin/sh -c` in the basedir, its stdout.
fn pipe(call: &Call, terms: &[Value], plugin: &str) -> Result<Vec<String>, Error> {
    terms
        .iter()
        .map(|t| {
            let cmd = term_str(t)?;
            let out = std::process::Command::new("/bin/sh")
                .arg("-c")
                .arg(&cmd)
                .current_dir(call.basedir())
                .stdin(std::process::Stdio::null())
                .output()
                .map_err(|e| fail(format!("lookup_plugin.{plugin}({cmd}): {e}")))?;
            match out.status.code() {
                Some(0) => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
                // Ansible lets the command's stderr reach the terminal; clearfleet's output
                // belongs to its reporters, so the last line goes into the error instead.
                code => {
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    let last = stderr.lines().rev().map(str::trim).find(|l| !l.is_empty());
                    Err(fail(format!(
                        "lookup_plugin.{plugin}({cmd}) returned {}{}",
                        code.unwrap_or(-1),
                        last.map(|l| format!(": {l}")).unwrap_or_default()
                    )))
                }
            }
        })
        .collect()
}

/// Python's `bytes.splitlines()`: lines ended by `\n`, `\r\n` or `\r`, without their ends.
fn bytes_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        lines.push(&rest[..end]);
        rest = &rest[end..];
        rest = rest
            .strip_prefix("\r\n")
            .or_else(|| rest.strip_prefix(['\n', '\r']))
            .unwrap_or(rest);
    }
    lines
}

/// `vars`: the values of the variables named (`default` for a missing one, else an error).
fn vars(call: &Call, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let default = call.kwarg("default")?;
    terms
        .iter()
        .map(|t| {
            let Some(name) = t.as_str() else {
                return Err(fail(format!(
                    "Variable name must be 'str' not '{}'.",
                    crate::filters::type_name(t)
                )));
            };
            match (
                call.state.lookup(name).filter(|v| !v.is_undefined()),
                &default,
            ) {
                (Some(v), _) => Ok(v),
                (None, Some(d)) => Ok(d.clone()),
                (None, None) => Err(fail(format!("No variable named '{name}' was found."))),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::{Origin, Templates};
    use serde_json::{Value as J, json};

    fn render(src: &str, vars: J) -> Result<J, String> {
        let mut t = Templates::new();
        let id = t
            .compile(src, Origin::new("t.yml", 1, 1, "test"))
            .map_err(|e| e.to_string())?;
        t.render(id, &vars).map_err(|e| e.to_string())
    }

    /// `lines`: the command's output split as Python's `bytes.splitlines()`; `pipe`: whole.
    #[test]
    fn lines_and_pipe_run_the_command() {
        assert_eq!(
            render("{{ query('lines', 'echo a; echo; echo c') }}", json!({})),
            Ok(json!(["a", "", "c"]))
        );
        assert_eq!(
            render("{{ lookup('lines', 'echo one; echo two') }}", json!({})),
            Ok(json!("one,two"))
        );
        assert_eq!(
            render("{{ lookup('pipe', 'echo one; echo two') }}", json!({})),
            Ok(json!("one\ntwo"))
        );
        let err = render("{{ lookup('lines', 'exit 3') }}", json!({})).expect_err("exit 3 fails");
        assert!(
            err.contains("lookup_plugin.lines(exit 3) returned 3"),
            "{err}"
        );
        assert_eq!(super::bytes_lines("a\rb\r\n\nc"), ["a", "b", "", "c"]);
    }

    #[test]
    fn list_lookups_as_ansible() {
        let r = |s: &str| {
            render(
                s,
                json!({"x": 5, "users": [{"n": "a", "k": [1, 2]}, {"n": "b", "k": [3]}]}),
            )
        };
        assert_eq!(r("{{ query('items', [1, 2], 3) }}"), Ok(json!([1, 2, 3])));
        assert_eq!(r("{{ lookup('items', ['a', 'b']) }}"), Ok(json!("a,b")));
        assert_eq!(r("{{ lookup('items', ['a']) }}"), Ok(json!("a")));
        assert_eq!(r("{{ lookup('items', [1, 2]) }}"), Ok(json!([1, 2])));
        assert_eq!(
            r("{{ q('sequence', 'start=1 end=3 format=h%02d') }}"),
            Ok(json!(["h01", "h02", "h03"]))
        );
        assert_eq!(
            r("{{ q('sequence', '2-10/4') }}"),
            Ok(json!(["2", "6", "10"]))
        );
        // ansible-core 2.19 reads the numbers as decimals (`Decimal(value)`): no hex, and a
        // leading 0 is no octal (tests/fixtures/run/lookups/lookups.yml checks both tools).
        assert_eq!(
            r("{{ q('sequence', 'count=3 start=010') }}"),
            Ok(json!(["10", "11", "12"]))
        );
        assert!(
            r("{{ q('sequence', 'count=3 start=0x0f') }}")
                .is_err_and(|e| e.contains("has an invalid value"))
        );
        assert_eq!(
            r("{{ q('together', [1, 2], ['a']) }}"),
            Ok(json!([[1, "a"], [2, null]]))
        );
        assert_eq!(
            r("{{ q('dict', {'a': 1}) }}"),
            Ok(json!([{"key": "a", "value": 1}]))
        );
        assert_eq!(
            r("{{ q('subelements', users, 'k') | map('last') | list }}"),
            Ok(json!([1, 2, 3]))
        );
        assert_eq!(
            r("{{ q('subelements', users, 'k')[0][0] }}"),
            Ok(json!({"n": "a"}))
        );
        assert_eq!(
            r("{{ q('indexed_items', ['a', 'b']) }}"),
            Ok(json!([[0, "a"], [1, "b"]]))
        );
        assert_eq!(
            r("{{ q('flattened', [1, [2, [3]]]) }}"),
            Ok(json!([1, 2, 3]))
        );
        assert_eq!(r("{{ lookup('vars', 'x') }}"), Ok(json!(5)));
        assert_eq!(r("{{ lookup('vars', 'nope', default=1) }}"), Ok(json!(1)));
        assert_eq!(r("{{ lookup('pipe', 'echo hi; echo') }}"), Ok(json!("hi")));
        assert_eq!(
            r("{{ lookup('env', 'CLEARFLEET_NO_SUCH_VAR', default='d') }}"),
            Ok(json!("d"))
        );
        assert_eq!(
            r("{{ lookup('file', '/nonexistent/x', errors='ignore') }}"),
            Ok(J::Null)
        );
        assert_eq!(
            r("{{ query('file', '/nonexistent/x', errors='warn') }}"),
            Ok(json!([]))
        );
        let e = r("{{ lookup('file', '/nonexistent/x') }}")
            .err()
            .unwrap_or_default();
        assert!(
            e.contains(
                "The lookup plugin 'file' failed: Unable to access the file '/nonexistent/x'"
            ),
            "{e}"
        );
        let e = r("{{ lookup('nope', 'x') }}").err().unwrap_or_default();
        assert!(e.contains("lookup plugin \"nope\" not found"), "{e}");
        let e = r("{{ lookup('vars', 'nope') }}").err().unwrap_or_default();
        assert!(e.contains("No variable named 'nope' was found."), "{e}");
    }

    #[test]
    fn password_seed_gives_pythons_choice() {
        // python3 -c "import random; r=random.Random('x'); print(''.join(r.choice('abcdef') for _ in range(8)))"
        let got = render(
            "{{ lookup('password', '/dev/null chars=abcdef length=8 seed=x') }}",
            json!({}),
        );
        assert_eq!(got, Ok(json!("fceedade")));
    }
}
