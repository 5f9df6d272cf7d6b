//! `arg_spec::validate` against what ansible-core 2.19.14's `ArgumentSpecValidator` gives for
//! the same spec and parameters (each case's errors and validated parameters were printed by
//! that Python class from the ansible-core the differential tests install).

use crate::arg_spec::validate;
use serde_json::Value;

fn check(spec: &str, params: &str, errors: &str, validated: &str) {
    let spec: Value = serde_json::from_str(spec).expect("spec");
    let params: Value = serde_json::from_str(params).expect("params");
    let (Value::Object(spec), Value::Object(params)) = (spec, params) else {
        panic!("spec and params are mappings");
    };
    let got = validate(&spec, &params).expect("a readable spec");
    let errors: Vec<String> = serde_json::from_str(errors).expect("errors");
    assert_eq!(got.errors, errors);
    let validated: Value = serde_json::from_str(validated).expect("validated");
    assert_eq!(Value::Object(got.validated), validated);
}

#[test]
fn types_choices_elements_unsupported() {
    check(
        r#"{"a": {"type": "int", "required": true}, "b": {"type": "str", "choices": ["x", "y"]}, "c": {"type": "list", "elements": "int"}}"#,
        r#"{"a": "5x", "b": "z", "c": ["1", "q", 3], "zz": 1}"#,
        r#"["argument 'a' is of type str and we were unable to convert to int: \"'5x'\" cannot be converted to an int", "Elements value for option 'c' is of type str and we were unable to convert to int: \"'q'\" cannot be converted to an int", "value of b must be one of: x, y, got: z", "zz. Supported parameters include: a, b, c."]"#,
        r#"{"a": "5x", "b": "z", "c": [1, 3], "zz": 1}"#,
    );
}

#[test]
fn nested_required_if() {
    check(
        r#"{"d": {"type": "dict", "options": {"e": {"type": "int", "required": true}, "f": {"type": "bool", "default": true}}, "mutually_exclusive": [["e", "g"]], "required_if": [["f", false, ["e"]]]}}"#,
        r#"{"d": {"f": "no", "g": 1}}"#,
        r#"["missing required arguments: e found in d", "f is False but all of the following are missing: e found in d", "d.g. Supported parameters include: e, f."]"#,
        r#"{"d": {"f": false, "g": 1, "e": null}}"#,
    );
}

#[test]
fn list_of_dicts_aliases() {
    check(
        r#"{"l": {"type": "list", "elements": "dict", "options": {"n": {"type": "str", "aliases": ["nm"]}}}}"#,
        r#"{"l": [{"nm": 1}, {"bad": 2}, "s"]}"#,
        r#"["dictionary requested, could not parse JSON or key=value", "Elements value for option 'l' is of type str and we were unable to convert to dict: dictionary requested, could not parse JSON or key=value", "l.bad. Supported parameters include: n (nm)."]"#,
        r#"{"l": [{"nm": 1, "n": "1"}, {"bad": 2, "n": null}]}"#,
    );
}

#[test]
fn yaml_boolean_choice_and_none() {
    check(
        r#"{"s": {"choices": [true, false]}, "t": {"type": "int"}}"#,
        r#"{"s": "False", "t": null}"#,
        r#"[]"#,
        r#"{"s": false, "t": null}"#,
    );
}

#[test]
fn none_for_required() {
    check(
        r#"{"i": {"type": "int", "required": true}, "l": {"type": "list", "required": true}, "d": {"type": "dict", "required": true}, "r": {"type": "raw", "required": true}, "s": {"type": "str", "required": true}}"#,
        r#"{"i": null, "l": null, "d": null, "r": null, "s": null}"#,
        r#"["argument 'i' is of type NoneType and we were unable to convert to int: \"None\" cannot be converted to an int", "argument 'l' is of type NoneType and we were unable to convert to list: <class 'NoneType'> cannot be converted to a list", "argument 'd' is of type NoneType and we were unable to convert to dict: <class 'NoneType'> cannot be converted to a dict"]"#,
        r#"{"i": null, "l": null, "d": null, "r": null, "s": ""}"#,
    );
}

#[test]
fn conversions() {
    check(
        r#"{"i": {"type": "int"}, "f": {"type": "float"}, "l": {"type": "list"}, "d": {"type": "dict"}, "j": {"type": "json"}, "b": {"type": "bool"}, "by": {"type": "bytes"}, "bi": {"type": "bits"}, "st": {"type": "str"}, "ln": {"type": "list"}}"#,
        r#"{"i": " 42 ", "f": "1.5", "l": "a,b", "d": "k=v, x=\"y z\"", "j": {"a": [1, 2]}, "b": "yes", "by": "2K", "bi": "1Mb", "st": {"k": 1.0}, "ln": 7}"#,
        r#"[]"#,
        r#"{"i": 42, "f": 1.5, "l": ["a", "b"], "d": {"k": "v", "x": "y z"}, "j": "{\"a\": [1, 2]}", "b": true, "by": 2048, "bi": 1048576, "st": "{'k': 1.0}", "ln": ["7"]}"#,
    );
}

#[test]
fn bad_conversions() {
    check(
        r#"{"i": {"type": "int"}, "i2": {"type": "int"}, "f": {"type": "float"}, "b": {"type": "bool"}, "d": {"type": "dict"}, "l": {"type": "list"}, "j": {"type": "jsonarg"}, "u": {"type": "string"}}"#,
        r#"{"i": 1.5, "i2": [1], "f": null, "b": [1], "d": "{bad", "l": {"a": 1}, "j": 5, "u": "x"}"#,
        r#"["argument 'i' is of type float and we were unable to convert to int: \"1.5\" cannot be converted to an int", "argument 'i2' is of type list and we were unable to convert to int: \"[1]\" cannot be converted to an int", "argument 'b' is of type list and we were unable to convert to bool: <class 'list'> cannot be converted to a bool", "argument 'd' is of type str and we were unable to convert to dict: unable to evaluate string as dictionary", "argument 'l' is of type dict and we were unable to convert to list: <class 'dict'> cannot be converted to a list", "argument 'j' is of type int and we were unable to convert to jsonarg: <class 'int'> cannot be converted to a json string", "argument 'u' is of type str and we were unable to convert to string: 'NoneType' object is not callable"]"#,
        r#"{"i": 1.5, "i2": [1], "f": null, "b": [1], "d": "{bad", "l": {"a": 1}, "j": 5, "u": "x"}"#,
    );
}

#[test]
fn defaults_and_required_default() {
    check(
        r#"{"a": {"default": "x"}, "b": {"type": "int", "default": 3, "required": true}, "c": {}}"#,
        r#"{}"#,
        r#"["internal error: required and default are mutually exclusive for b"]"#,
        r#"{"a": "x", "b": 3, "c": null}"#,
    );
}

#[test]
fn deep_nesting() {
    check(
        r#"{"m": {"type": "dict", "options": {"s": {"type": "dict", "options": {"t": {"type": "int", "required": true}}}}}}"#,
        r#"{"m": {"s": {"t": "x"}}}"#,
        r#"["argument 't' is of type str found in 'm -> s'. and we were unable to convert to int: \"'x'\" cannot be converted to an int"]"#,
        r#"{"m": {"s": {"t": "x"}}}"#,
    );
}

#[test]
fn apply_defaults_and_checks() {
    check(
        r#"{"o": {"type": "dict", "apply_defaults": true, "options": {"a": {"default": 1, "type": "int"}, "b": {}, "c": {}}, "required_together": [["b", "c"]], "required_one_of": [["b", "c"]], "required_by": {"a": ["b"]}}}"#,
        r#"{}"#,
        r#"["one of the following is required: b, c found in o", "missing parameter(s) required by 'a': b found in o"]"#,
        r#"{"o": {"a": 1, "b": null, "c": null}}"#,
    );
}

#[test]
fn sub_not_dict() {
    check(
        r#"{"o": {"type": "dict", "options": {"a": {}}}}"#,
        r#"{"o": "x"}"#,
        r#"["dictionary requested, could not parse JSON or key=value", "argument 'o' is of type str and we were unable to convert to dict: dictionary requested, could not parse JSON or key=value", "value of 'o' must be of type dict or list of dicts"]"#,
        r#"{"o": "x"}"#,
    );
}

#[test]
fn choices_list_and_not_iterable() {
    check(
        r#"{"a": {"type": "list", "choices": ["x", "y"]}, "b": {"choices": "xy"}, "c": {"choices": [1, 2], "type": "int"}}"#,
        r#"{"a": ["x", "q", "r"], "b": "x", "c": "2"}"#,
        r#"["value of a must be one or more of: x, y. Got no match for: q, r", "internal error: choices for argument b are not iterable: xy"]"#,
        r#"{"a": ["x", "q", "r"], "b": "x", "c": 2}"#,
    );
}

#[test]
fn elements_on_non_list() {
    check(
        r#"{"a": {"type": "str", "elements": "int"}}"#,
        r#"{"a": "12"}"#,
        r#"["Invalid type str for option '12', elements value check is supported only with 'list' type"]"#,
        r#"{"a": [1, 2]}"#,
    );
}

#[test]
fn mutually_exclusive_nested() {
    check(
        r#"{"o": {"type": "dict", "options": {"a": {}, "b": {}}, "mutually_exclusive": [["a", "b"]]}}"#,
        r#"{"o": {"a": 1, "b": 2}}"#,
        r#"["parameters are mutually exclusive: a|b found in o"]"#,
        r#"{"o": {"a": "1", "b": "2"}}"#,
    );
}

#[test]
fn an_option_that_is_not_a_mapping_is_refused() {
    let spec = serde_json::json!({"a": "str"});
    let Value::Object(spec) = spec else { panic!() };
    let err = validate(&spec, &serde_json::Map::new()).expect_err("not readable");
    assert_eq!(err.to_string(), "'str' object has no attribute 'get'");
}
