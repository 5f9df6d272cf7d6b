//! Every Jinja test (`is ...`), with the examples from Ansible's playbooks_tests.rst.

use crate::common;

use common::*;
use serde_json::json;

#[test]
fn defined_undefined_none() {
    assert!(c("missing is not defined", json!({})));
    assert!(c("missing is undefined", json!({})));
    assert!(c("x.missing is undefined", json!({"x": {}})));
    assert!(c("x is defined", json!({"x": null})));
    assert!(c("x is none", json!({"x": null})));
    assert!(!c("x is none", json!({"x": 0})));
}

#[test]
fn version_from_the_docs() {
    let v = json!({"ansible_facts": {"distribution_version": "12.04"}, "sample_version_var": "1.0.0-rc1"});
    assert!(c(
        "ansible_facts['distribution_version'] is version('12.04', '>=')",
        v.clone()
    ));
    assert!(c(
        "sample_version_var is version('1.0', operator='gt', strict=false)",
        json!({"sample_version_var": "1.1"})
    ));
    assert!(c("'2.0.0-613' is version('2.0.0', '>')", json!({})));
    assert!(c("'2.0.0-rc1' is version('2.0.0', '>')", json!({})));
    assert!(c("'1.2' is version('1.2.0', 'lt')", json!({})));
    assert!(c("'1.2.3' is version('1.2.3', '==')", json!({})));
    assert!(c("'1.2.3' is version('1.2.3', '=')", json!({})));
    assert!(c("'1.2.3' is version('1.2.3', 'eq')", json!({})));
    assert!(c("'1.2.3' is version('1.2.4', '!=')", json!({})));
    assert!(c("'1.2.3' is version('1.2.4', '<>')", json!({})));
    assert!(c("'1.2.3' is version('1.2.4', 'ne')", json!({})));
    assert!(c("'1.2.3' is version('1.2.4', '<=')", json!({})));
    assert!(c("'1.2.3' is version('1.2.4', 'le')", json!({})));
    assert!(c("'1.2.5' is version('1.2.4', 'ge')", json!({})));
    assert!(c("'1.2.5' is version('1.2.4', 'gt')", json!({})));
    assert!(c(
        "'1.0.0-rc.1' is version('1.0.0', '<', version_type='semver')",
        json!({})
    ));
    assert!(c(
        "'1.0.0-rc.1' is version('1.0.0', '<', version_type='semantic')",
        json!({})
    ));
    assert!(c(
        "'1.0a1' is version('1.0', '<', version_type='strict')",
        json!({})
    ));
    assert!(c("'1.0' is version('1.0.0', '==', strict=true)", json!({})));
    assert!(c("'1.2' is version_compare('1.1', '>')", json!({})));
    assert!(cond("'1.0a' is version('1.0.1', '<')", json!({})).is_err());
    assert!(
        cond(
            "'1.2' is version('1.2.0', '<', version_type='semver')",
            json!({})
        )
        .is_err()
    );
    assert!(cond("'1.2' is version('1.2', 'bogus')", json!({})).is_err());
    assert!(
        cond(
            "'1.2' is version('1.2', strict=true, version_type='loose')",
            json!({})
        )
        .is_err()
    );
}

#[test]
fn regex_tests_from_the_docs() {
    let url = json!({"url": "https://example.com/users/foo/resources/bar"});
    assert!(c(
        "url is match('https://example.com/users/.*/resources')",
        url.clone()
    ));
    assert!(c("url is search('users/.*/resources/.*')", url.clone()));
    assert!(c("url is search('USERS', ignorecase=True)", url.clone()));
    assert!(c("url is regex('example\\.com/\\w+/foo')", url.clone()));
    assert!(!c("url is match('example')", url.clone()));
    assert!(c(
        "'a\\nb' is match('b', multiline=true) == false",
        json!({})
    ));
    assert!(c("'abc' is regex('b', match_type='search')", json!({})));
    assert!(!c("'abc' is regex('b', match_type='match')", json!({})));
    assert!(c(
        "'abc' is regex('abc', match_type='fullmatch')",
        json!({})
    ));
}

#[test]
fn task_results() {
    let v = json!({"r": {"changed": true, "failed": false, "rc": 0},
                   "f": {"failed": true, "changed": false},
                   "l": {"results": [{"changed": false}, {"changed": true}]},
                   "s": {"skipped": true}, "u": {"unreachable": true}});
    assert!(c(
        "r is succeeded and r is success and r is successful",
        v.clone()
    ));
    assert!(c("f is failed and f is failure", v.clone()));
    assert!(c(
        "r is changed and r is change and f is not changed",
        v.clone()
    ));
    assert!(c("l is changed", v.clone()));
    assert!(c(
        "s is skipped and s is skip and r is not skipped",
        v.clone()
    ));
    assert!(c("u is unreachable and r is reachable", v.clone()));
    assert!(cond("'x' is failed", json!({})).is_err());
}

#[test]
fn membership_and_types() {
    assert!(c("'a' in ['a', 'b']", json!({})));
    assert!(c("'b' in 'abc'", json!({})));
    assert!(c("['a', 'b'] is contains('a')", json!({})));
    assert!(c(
        "[{'a': [1]}, {'a': [2]}] | selectattr('a', 'contains', 2) | list | length == 1",
        json!({})
    ));
    assert!(c(
        "'x' is string and 3 is number and 3.5 is number",
        json!({})
    ));
    assert!(c(
        "{} is mapping and [] is sequence and 'a' is sequence",
        json!({})
    ));
    assert!(c("[] is iterable and 'a' is iterable", json!({})));
    assert!(c("true is boolean and 'true' is not boolean", json!({})));
    assert!(c(
        "'x' is truthy and '' is falsy and 'no' is truthy",
        json!({})
    ));
    assert!(c(
        "'no' is falsy(convert_bool=true) and 'yes' is truthy(convert_bool=true)",
        json!({})
    ));
    assert!(c(
        "[1, 2] is subset([1, 2, 3]) and [1, 2, 3] is superset([1, 2])",
        json!({})
    ));
    assert!(!c("[1, 4] is subset([1, 2, 3])", json!({})));
}

#[test]
fn paths_on_the_controller() {
    let dir = std::env::temp_dir();
    let vars = json!({"d": dir.to_string_lossy(), "f": "/definitely/not/here"});
    assert!(c(
        "d is exists and d is directory and d is not file",
        vars.clone()
    ));
    assert!(c("f is not exists and f is not link", vars));
}

#[test]
fn conditionals() {
    assert!(c("{{ x }}", json!({"x": true})));
    assert!(c("x | bool", json!({"x": "yes"})));
    assert!(c("x | int > 3", json!({"x": "4"})));
    assert!(c(
        "ansible_facts.os_family == 'Debian' and not (skip | default(false))",
        json!({"ansible_facts": {"os_family": "Debian"}})
    ));
    assert!(c("(x | default([])) | length == 0", json!({})));
    assert!(cond("x", json!({"x": 1})).is_err());
}

#[test]
fn eval_returns_values() {
    use clearfleet_template::Templates;
    let mut t = Templates::new();
    let id = t.compile_expr("[x, y | int]", origin()).expect("compiles");
    assert_eq!(
        t.eval(id, &json!({"x": "a", "y": "2"})).expect("evaluates"),
        json!(["a", 2])
    );
}
