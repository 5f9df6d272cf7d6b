//! A play's `vars_prompt`, asked on the controller when the play starts, as ansible-core's
//! `PlaybookExecutor.run` (lib/ansible/executor/playbook_executor.py) and
//! `Display.do_var_prompt` (lib/ansible/utils/display.py) ask it:
//!
//! - the entries are rendered with the play's variables first (`templar.template(play.vars_prompt)`);
//! - a variable `-e` gives is not asked;
//! - on a terminal: `PROMPT [DEFAULT]: `, `PROMPT: ` or `input for NAME: `; a private entry is
//!   read without echo from the terminal (`getpass`, here `rpassword`, both through
//!   `/dev/tty`), any other from stdin after the question on stdout (`input`); with `confirm`
//!   it is asked again (`confirm PROMPT: `) until both agree, `***** VALUES ENTERED DO NOT
//!   MATCH ****` in between;
//! - when stdin is not a terminal nothing is read: the warning `Not prompting as we are not in
//!   interactive mode`, and the answer is the default, else Python's `str(None)`, `None`;
//! - an empty answer is the default when there is one;
//! - with `encrypt` the answer is hashed by `do_encrypt(result, encrypt, salt_size=, salt=)`
//!   (lib/ansible/utils/encrypt.py, clearfleet_template's copy of it), passlib's algorithm
//!   names; a hash that cannot be made ends the playbook before the play starts (Ansible's
//!   `AnsibleError` from `PlaybookExecutor.run`), as does no answer at all (`None`, which
//!   passlib refuses);
//! - the answer is a play variable (below `vars_files`), rendered when used unless `unsafe`.
//!
//! A private answer typed at the terminal is a secret: masked in all output from then on.

use std::io::{BufRead, IsTerminal, Write};

use serde_json::{Map, Value};

use super::Engine;
use clearfleet_base::secret::Secret;
use clearfleet_events::EventKind;
use clearfleet_playbook::{Play, VarPrompt};

/// What `do_var_prompt` prints when the two answers of a `confirm` entry differ.
const MISMATCH: &str = "***** VALUES ENTERED DO NOT MATCH ****";

/// An answer that could not be hashed: which entry, and why.
#[derive(Debug, thiserror::Error)]
#[error("vars_prompt `{name}`: {message}")]
pub(crate) struct PromptError {
    pub name: String,
    pub location: clearfleet_base::diagnostic::Location,
    pub message: String,
}

/// The answers to `play`'s `vars_prompt` (`play_vars`: the play's variables without them).
pub(crate) async fn answers(
    e: &Engine,
    play: &Play,
    play_vars: &Map<String, Value>,
) -> Result<Map<String, Value>, PromptError> {
    let mut out = Map::new();
    if play.vars_prompt.is_empty() {
        return Ok(out);
    }
    let mut vars = play_vars.clone();
    vars.extend(e.options.extra_vars.clone());
    let ctx = e.context(&vars);
    let interactive = std::io::stdin().is_terminal();
    let mut warned = false;
    for p in &play.vars_prompt {
        if e.options.extra_vars.contains_key(&p.name) {
            continue;
        }
        let render = |text: &Option<String>, what: &str| -> Option<String> {
            let text = text.as_ref()?;
            match e.templates.render_string(text, &ctx, &p.location, what) {
                Ok(s) => Some(s),
                Err(err) => {
                    e.emit(EventKind::Warning {
                        message: err.to_string(),
                    });
                    Some(text.clone())
                }
            }
        };
        let prompt = render(&p.prompt, "vars_prompt `prompt`");
        let default = render(&p.default, "vars_prompt `default`");
        let typed = if interactive {
            let question = question(p, prompt.as_deref(), default.as_deref());
            let (private, confirm) = (p.private, p.confirm);
            let asked = tokio::task::spawn_blocking(move || ask(&question, private, confirm)).await;
            match asked {
                Ok(Ok(answer)) => Some(answer),
                Ok(Err(err)) => {
                    e.emit(EventKind::Warning {
                        message: format!("cannot read the answer for `{}`: {err}", p.name),
                    });
                    None
                }
                Err(_) => None,
            }
        } else {
            if !warned {
                warned = true;
                e.emit(EventKind::Warning {
                    message: "Not prompting as we are not in interactive mode".to_owned(),
                });
            }
            None
        };
        if p.private
            && let Some(answer) = typed.as_ref().filter(|a| !a.is_empty())
        {
            e.config.redactor.learn(Secret::new(answer.clone()));
        }
        let answer = match (typed, default) {
            (Some(a), _) if !a.is_empty() => Some(a),
            (_, Some(d)) => Some(d),
            (a, None) => a,
        };
        let encrypt = render(&p.encrypt, "vars_prompt `encrypt`").filter(|a| !a.is_empty());
        let answer = match (answer, encrypt) {
            (answer, Some(algorithm)) => {
                let fail = |message: String| PromptError {
                    name: p.name.clone(),
                    location: p.location.clone(),
                    message,
                };
                // passlib's `validate_secret`: a TypeError Ansible does not wrap.
                let secret = answer
                    .ok_or_else(|| fail("secret must be unicode or bytes, not None".to_owned()))?;
                let salt_size = match &p.salt_size {
                    None => None,
                    Some(Ok(n)) => Some(Ok(*n)),
                    // A template may render to the integer `do_encrypt` wants; other text
                    // is not one.
                    Some(Err(text)) if text.contains("{{") => {
                        let rendered = render(&Some(text.clone()), "vars_prompt `salt_size`");
                        Some(rendered.and_then(|r| r.trim().parse().ok()).ok_or(()))
                    }
                    Some(Err(_)) => Some(Err(())),
                };
                let settings = clearfleet_template::EncryptSettings {
                    salt: render(&p.salt, "vars_prompt `salt`"),
                    salt_size,
                    ..Default::default()
                };
                clearfleet_template::do_encrypt(&secret, &algorithm, &settings)
                    .map_err(|err| fail(err.to_string()))?
            }
            (Some(answer), None) => answer,
            // Python's `str(None)`.
            (None, None) => "None".to_owned(),
        };
        let value = if p.unsafe_ {
            clearfleet_yaml::syntax::unsafe_template(&answer)
        } else {
            answer
        };
        out.insert(p.name.clone(), Value::String(value));
    }
    Ok(out)
}

/// The question `do_var_prompt` asks.
fn question(p: &VarPrompt, prompt: Option<&str>, default: Option<&str>) -> String {
    match (prompt.filter(|s| !s.is_empty()), default) {
        (Some(q), Some(d)) => format!("{q} [{d}]: "),
        (Some(q), None) => format!("{q}: "),
        (None, _) => format!("input for {}: ", p.name),
    }
}

/// Asks `question` on the terminal (twice with `confirm`, until both answers agree).
fn ask(question: &str, private: bool, confirm: bool) -> std::io::Result<String> {
    loop {
        let first = read(question, private)?;
        if !confirm {
            return Ok(first);
        }
        let second = read(&format!("confirm {question}"), private)?;
        if first == second {
            return Ok(first);
        }
        println!("{MISMATCH}");
    }
}

/// One answer: without echo from the terminal (`getpass`), or a line of stdin after the
/// question on stdout (`input`).
fn read(question: &str, private: bool) -> std::io::Result<String> {
    if private {
        return rpassword::prompt_password(question);
    }
    let mut stdout = std::io::stdout();
    stdout.write_all(question.as_bytes())?;
    stdout.flush()?;
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "EOF when reading a line",
        ));
    }
    let trimmed = line.strip_suffix('\n').unwrap_or(&line);
    Ok(trimmed.strip_suffix('\r').unwrap_or(trimmed).to_owned())
}
