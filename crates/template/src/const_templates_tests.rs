//! Template-looking string constants, as ansible-core 2.19.14 treats them (`_access_const` in
//! `_internal/_templating/_jinja_bits.py`, `_invoke_lookup` in `_jinja_plugins.py`): the
//! conditions and templates of the `assert` integration target, and a few around them.

use super::*;
use serde_json::json;

fn origin() -> Origin {
    Origin::new("pb.yml", 1, 1, "field".to_owned())
}

/// A condition as the runner evaluates it: a boolean, or the expression a `{{ }}` led to.
fn condition(src: &str, vars: serde_json::Value) -> Result<Truth, String> {
    let mut t = Templates::new();
    let id = t
        .compile_expr(src, origin())
        .map_err(|e| e.bare_message())?;
    t.eval_condition_ctx(id, &Templates::context(&vars))
        .map_err(|e| e.bare_message())
}

fn rendered(src: &str, vars: serde_json::Value) -> Result<serde_json::Value, String> {
    let mut t = Templates::new();
    let id = t.compile(src, origin()).map_err(|e| e.bare_message())?;
    t.render(id, &vars).map_err(|e| e.bare_message())
}

#[test]
fn a_conditional_expression_renders_its_template_constants() {
    let vars = json!({"a_var": "one"});
    for src in [
        r#""dude" == "du{{'de'}}""#,
        "dict({\"dude\": \"{{ 'dude' }}\"})[\"dude\"] == \"dude\"\n",
        "'{{ a_var }}' == 'one'",
        "'{{ [1] }}' == [1]",
        "'{{ missing }}' is undefined",
        "'{{ missing }}' | default('d') == 'd'",
        r#"lookup('pipe', 'echo {{ "dude" }}') == "dude""#,
        r#"query('pipe', 'echo {{ "dude" }}') == ["dude"]"#,
    ] {
        assert_eq!(condition(src, vars.clone()), Ok(Truth::Bool(true)), "{src}");
    }
}

#[test]
fn a_condition_in_braces_renders_only_lookup_terms() {
    for src in [
        "{{ dict({\"dude\": \"{{ 'dude' }}\"})[\"dude\"] == \"{\" + \"{ 'dude' }}\" }}",
        "{{ \"du{\" + \"{'de'}}\" == \"du{{'de'}}\" }}\n",
        "  {{ lookup('pipe', 'echo {{ \"dude\" }}') == \"dude\" }}\n",
        "{{ query('pipe', 'echo {{ \"dude\" }}') == [\"dude\"] }}",
    ] {
        assert_eq!(condition(src, json!({})), Ok(Truth::Bool(true)), "{src}");
    }
}

#[test]
fn a_template_condition_that_is_no_single_expression_renders_to_text() {
    // 2.19 renders `{{ 'hello' }} == {{ 'world' }}` to `hello == world`, which no author wrote:
    // "untrusted template or expression".
    let err = condition("{{ 'hello' }} == {{ 'world' }}\n", json!({}));
    assert_eq!(err, Err(clearfleet_base::trust::UNTRUSTED.to_owned()));
    clearfleet_base::trust::trust(["cf-const-test == 'cf-const-test'".to_owned()]);
    assert_eq!(
        condition(
            "{{ 'cf-const-test' }} == {{ \"'cf-const-test'\" }}",
            json!({})
        ),
        Ok(Truth::Indirect(
            "cf-const-test == 'cf-const-test'".to_owned()
        ))
    );
}

#[test]
fn a_template_renders_template_constants_only_as_lookup_terms() {
    assert_eq!(
        rendered(
            "{% set pipe = joiner('{{ \"dude\" }}') %}x{{ pipe() }}{{ pipe() }}x",
            json!({})
        ),
        Ok(json!("x{{ \"dude\" }}x"))
    );
    assert_eq!(
        rendered("{{ lookup('pipe', 'echo {{ x }}') }}", json!({"x": "b"})),
        Ok(json!("b"))
    );
    assert_eq!(
        rendered(
            "{{ lookup('list', ['{{ x }}', 'c'], ('{{ x }}'), {'k': '{{ x }}'}) }}",
            json!({"x": "b"})
        ),
        Ok(json!([["b", "c"], "b", {"k": "b"}]))
    );
    assert_eq!(
        rendered("{{ lookup('list', '{{ [1, 2] }}') }}", json!({})),
        Ok(json!([1, 2]))
    );
    assert_eq!(
        rendered("{{ 'a{{ x }}' }}", json!({"x": "b"})),
        Ok(json!("a{{ x }}"))
    );
    let err = rendered("{{ lookup('{{ \"pipe\" }}') }}", json!({}))
        .err()
        .unwrap_or_default();
    assert!(
        err.contains("lookup plugin") && err.contains("not found"),
        "{err}"
    );
}

#[test]
fn the_names_a_template_reads_include_its_constants() {
    let mut t = Templates::new();
    let id = t
        .compile("{{ lookup('pipe', 'echo {{ inner }}') }}", origin())
        .unwrap_or(TemplateId(usize::MAX));
    assert!(
        t.names(id).iter().any(|n| n == "inner"),
        "{:?}",
        t.names(id)
    );
}

#[test]
fn an_undefined_variable_in_a_lookup_term_is_named() {
    for src in [
        "{{ lookup('list', '{{ nope }}') }}",
        "{{ lookup('list', '{{ nope }}') == 1 }}",
    ] {
        let err = rendered(src, json!({})).err().unwrap_or_default();
        assert!(err.contains("'nope' is undefined"), "{src}: {err}");
    }
    let err = condition("lookup('list', '{{ nope }}') == 1", json!({}));
    assert!(
        err.as_ref()
            .is_err_and(|e| e.contains("'nope' is undefined")),
        "{err:?}"
    );
}
