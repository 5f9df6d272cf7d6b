//! Task keywords written as templates (`retries: "{{ n }}"`, `ignore_errors: "{{ x }}"`):
//! rendered for the host when the task starts, as Ansible's `post_validate` does, into a
//! copy of the task whose typed fields then hold the values.

use std::borrow::Cow;

use serde_json::Value;

use super::Engine;
use clearfleet_base::boolean::ansible_bool;
use clearfleet_playbook::cx::is_identifier;
use clearfleet_playbook::{BecomeSpec, Task};
use clearfleet_template::Value as Ctx;

/// Why a templated keyword has no usable value on a host.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeywordError {
    #[error(transparent)]
    Template(clearfleet_template::TemplateError),
    #[error("{at}: `{keyword}`: {value} is not {wanted}")]
    Type {
        at: String,
        keyword: String,
        value: Value,
        wanted: &'static str,
    },
}

/// The keywords of a looped task rendered once for the task, before its items: the loop's
/// own (`loop_control.*`); Ansible renders the others per item, with the loop variables.
pub(crate) fn for_the_loop(keyword: &str) -> bool {
    keyword.starts_with("loop_control.")
}

/// `t` with its templated keywords that `pick` chooses rendered in `vars` (the others stay
/// templates); `t` itself when it has none.
pub(crate) fn resolve<'t>(
    e: &Engine,
    t: &'t Task,
    vars: &Ctx,
    pick: fn(&str) -> bool,
) -> Result<Cow<'t, Task>, Box<KeywordError>> {
    if !t.templated.iter().any(|(k, _)| pick(k)) {
        return Ok(Cow::Borrowed(t));
    }
    let mut task = t.clone();
    for (keyword, source) in t.templated.iter().filter(|(k, _)| pick(k)) {
        let value = e
            .templates
            .render(&source.value, vars, &source.location, keyword)
            .map_err(|e| Box::new(KeywordError::Template(e)))?;
        let wrong = |wanted| {
            Box::new(KeywordError::Type {
                at: source.location.to_string(),
                keyword: keyword.clone(),
                value: value.clone(),
                wanted,
            })
        };
        let number = || match &value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        let uint = || number().filter(|n| *n >= 0.0 && n.fract() == 0.0);
        let boolean = || ansible_bool(&value);
        match keyword.as_str() {
            "retries" => {
                task.retries = Some(
                    uint()
                        .and_then(|n| u32::try_from(n as u64).ok())
                        .ok_or_else(|| wrong("a number of retries"))?,
                );
            }
            "timeout" => {
                task.timeout = Some(uint().ok_or_else(|| wrong("a number of seconds"))? as u64)
            }
            "async" => task.async_ = uint().ok_or_else(|| wrong("a number of seconds"))? as u64,
            "poll" => task.poll = uint().ok_or_else(|| wrong("a number of seconds"))? as u64,
            "delay" => task.delay = Some(number().ok_or_else(|| wrong("a number of seconds"))?),
            "loop_control.pause" => {
                task.loop_pause = Some(number().ok_or_else(|| wrong("a number of seconds"))?);
            }
            "ignore_errors" => task.ignore_errors = boolean().ok_or_else(|| wrong("a boolean"))?,
            "no_log" => task.no_log = boolean().ok_or_else(|| wrong("a boolean"))?,
            "check_mode" => task.check_mode = Some(boolean().ok_or_else(|| wrong("a boolean"))?),
            "loop_control.extended" => {
                task.loop_extended = boolean().ok_or_else(|| wrong("a boolean"))?;
            }
            "loop_control.loop_var" | "loop_control.index_var" => {
                let name = match &value {
                    Value::String(s) if is_identifier(s) => s.clone(),
                    _ => return Err(wrong("a valid variable name")),
                };
                if keyword == "loop_control.loop_var" {
                    task.loop_var = Some(name);
                } else {
                    task.index_var = Some(name);
                }
            }
            "become" => {
                let enabled = boolean().ok_or_else(|| wrong("a boolean"))?;
                let spec = task.become_.get_or_insert_with(BecomeSpec::default);
                spec.enabled = Some(enabled);
            }
            // The loader accepts no other keyword as a template.
            _ => {}
        }
    }
    task.templated.retain(|(k, _)| !pick(k));
    Ok(Cow::Owned(task))
}
