//! Builds the minijinja `Environment` configured like Ansible's Jinja2.

use std::collections::BTreeMap;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Rest, Value, ValueKind};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State, UndefinedBehavior};

use super::{filters, tests};

/// The value of Ansible's `omit` placeholder; the playbook engine drops arguments equal to it.
pub const OMIT: &str = "__omit_place_holder__clearfleet";

/// An environment with Ansible's settings, filters and tests.
pub(crate) fn build() -> Environment<'static> {
    let mut env = Environment::new();
    // Strict: printing, iterating, testing the truth of, or passing an undefined value to a
    // filter fails and names it; `default`, `defined` and `undefined` still accept it.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Never HTML/JSON-escape: minijinja would escape templates named *.html, *.yml, *.json...
    env.set_auto_escape_callback(|_| AutoEscape::None);
    // Ansible's Jinja2 settings: trim_blocks on, lstrip_blocks off; trailing newlines are
    // restored after rendering (see `Templates`), as Ansible does.
    if let Ok(syntax) = SyntaxConfig::builder().trim_blocks(true).build() {
        env.set_syntax(syntax);
    }
    env.set_formatter(format_value);
    minijinja_contrib::add_to_environment(&mut env);
    env.set_unknown_method_callback(super::methods::unknown_method);
    filters::register(&mut env);
    tests::register(&mut env);
    env.add_function(super::preprocess::GET_FN, chain_get);
    env.add_function(super::preprocess::CONST_TEMPLATE_FN, const_template);
    super::lookup::register(
        &mut env,
        clearfleet_base::controller_files::ControllerFiles::Disk,
    );
    env.add_global("omit", Value::from(OMIT));
    env.add_global("True", Value::from(true));
    env.add_global("False", Value::from(false));
    env.add_global("None", Value::from(()));
    env
}

/// `__clearfleet_get('name', key...)`: Ansible's chained lookup of variable `name`; a missing
/// link (or a lookup on None, a string, ...) yields undefined instead of failing. See
/// `preprocess`.
fn chain_get(state: &State, name: &str, keys: Rest<Value>) -> Value {
    let mut v = state.lookup(name).unwrap_or(Value::UNDEFINED);
    for key in keys.iter() {
        if v.is_undefined() {
            return v;
        }
        let next = match key.as_str() {
            Some(name) => v.get_attr(name),
            None => v.get_item(key),
        };
        v = next.unwrap_or(Value::UNDEFINED);
    }
    v
}

/// `__clearfleet_const_template('…')`: a string constant that looks like a template, rendered
/// where it stands with the template's variables, its result native (`'{{ [1] }}'` is a list).
/// ansible-core 2.19.14 renders such a constant in a conditional expression
/// (`AnsibleEnvironment._access_const`, `_internal/_templating/_jinja_bits.py`) and in a
/// lookup's terms (`_invoke_lookup`, `_jinja_plugins.py`: `templar.template(value)` of each
/// trusted constant); `preprocess` decides which constants these are.
/// A constant that reads an undefined variable is undefined (2.19's marker), for `default`,
/// `is defined` and strict mode's error at its use; a lookup's term (`term`) fails there,
/// naming the variable, as `lookup` refuses an undefined term.
fn const_template(state: &State, source: String, term: Option<bool>) -> Result<Value, Error> {
    let map = super::preprocess::template(&source, true);
    let template = state.env().template_from_str(&map.text)?;
    match super::native_output(&template, &Value::from(variables(state)), &source) {
        Err(e) if e.kind() == ErrorKind::UndefinedError && term != Some(true) => {
            Ok(Value::UNDEFINED)
        }
        other => other,
    }
}

/// The variables a render sees, by name: what a template rendered from inside it (a template
/// constant, the `template` lookup's file) reads.
pub(crate) fn variables(state: &State) -> BTreeMap<String, Value> {
    state
        .known_variables()
        .iter()
        .filter_map(|n| state.lookup(n).map(|v| (n.to_string(), v)))
        .collect()
}

/// What the formatter printed during one render: Ansible returns the value itself when a
/// template outputs exactly one node (see `Templates::render`).
#[derive(Debug, Default)]
pub(crate) struct Emits {
    pub count: usize,
    pub written: usize,
    pub last: Value,
    /// The length of what printing `last` wrote.
    pub last_len: usize,
}

/// Prints values as Ansible does in string context: None as nothing, booleans as
/// `True`/`False`, floats as Python's repr; minijinja already prints lists and dicts the way
/// Python's `repr` does. Records what it printed in the [`Emits`] extension.
fn format_value(
    out: &mut Output<'_>,
    state: &mut State<'_, '_>,
    value: &Value,
) -> Result<(), Error> {
    if value.is_undefined() {
        // Strict mode fails here and names the undefined value.
        return minijinja::escape_formatter(out, state, value);
    }
    let text = printed(value);
    out.write_str(&text).map_err(Error::from)?;
    let emits = state.get_or_insert_extension_with(Emits::default);
    if value.kind() == ValueKind::String
        && emits.count > 0
        && emits.last_len == text.len()
        && !matches!(emits.last.kind(), ValueKind::String | ValueKind::None)
        && printed(&emits.last) == text
    {
        // A macro's call prints the text its body printed. When that body printed exactly one
        // value, Jinja2's native mode (ansible-core 2.19) returns the value itself:
        // `{{ m() }}` of `{% macro m() %}{{ {'a': 1} }}{% endmacro %}` is the dict. The value
        // printed into the macro and its text printed again count as that one value; a
        // template that printed both (`{{ d }}{{ d | string }}`) still has more text than
        // one value, so it stays text (see `native_output`). What the macro's body printed
        // is not in the output, so `written` keeps counting only this text.
        return Ok(());
    }
    emits.count += 1;
    emits.written += text.len();
    emits.last = value.clone();
    emits.last_len = text.len();
    Ok(())
}

/// What `format_value` prints for `value` (not undefined).
fn printed(value: &Value) -> std::borrow::Cow<'_, str> {
    match value.kind() {
        ValueKind::None => "".into(),
        ValueKind::Bool | ValueKind::Number => filters::py_str(value).into(),
        ValueKind::String => value.as_str().unwrap_or_default().into(),
        _ => value.to_string().into(),
    }
}
