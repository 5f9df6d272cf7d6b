//! Error reporting: undefined names, origin file:line:col, syntax error columns, non-bool conditions.

use crate::common;

use clearfleet_template::{Origin, TemplateError, Templates};
use common::*;
use serde_json::json;

#[test]
fn undefined_variable_names_it_and_the_origin() {
    let msg = rerr("echo {{ missing }}", json!({}));
    // origin 10:12, `missing` starts at byte 8 of the template -> column 12 + 8.
    assert_eq!(
        msg,
        "play.yml:10:20: task `t`, field `msg`: 'missing' is undefined"
    );
    let err = render("{{ x.y.z }}", json!({"x": {}})).expect_err("undefined");
    assert_eq!(err.undefined_name(), Some("x.y"));
}

#[test]
fn undefined_on_a_later_line_uses_that_line() {
    let msg = rerr("line one\n  {% if nope %}x{% endif %}", json!({}));
    assert!(msg.starts_with("play.yml:11:9: "), "{msg}");
    assert!(msg.contains("'nope' is undefined"), "{msg}");
}

#[test]
fn undefined_in_filters_loops_and_conditions() {
    for src in [
        "{{ missing | upper }}",
        "{{ missing | bool }}",
        "{{ missing | to_json }}",
        "{% for i in missing %}{% endfor %}",
        "{{ 'a' ~ missing }}",
    ] {
        let msg = rerr(src, json!({}));
        assert!(msg.contains("'missing' is undefined"), "{src}: {msg}");
    }
    let err = cond("missing == 1", json!({})).expect_err("undefined");
    assert_eq!(err.undefined_name(), Some("missing"));
    let err = cond("missing", json!({})).expect_err("undefined");
    assert_eq!(err.undefined_name(), Some("missing"));
}

#[test]
fn mandatory_names_the_variable_or_uses_the_message() {
    assert!(rerr("{{ nope | mandatory }}", json!({})).contains("'nope' is undefined"));
    assert!(rerr("{{ nope | mandatory('set nope!') }}", json!({})).ends_with("set nope!"));
}

#[test]
fn syntax_error_points_at_the_column() {
    let mut t = Templates::new();
    let err = t
        .compile("abc {{ 1 +* }}", origin())
        .expect_err("syntax error");
    assert!(matches!(err, TemplateError::Syntax { .. }));
    // `*` is byte 10 of the template; origin column 12.
    assert_eq!(err.location().map(|l| (l.line, l.column)), Some((10, 22)));
    assert!(err.to_string().contains("unexpected `*`"), "{err}");
}

#[test]
fn syntax_error_column_survives_backslash_escaping() {
    let mut t = Templates::new();
    let err = t
        .compile(r"{{ '\d' }} {{ x +* }}", origin())
        .expect_err("syntax error");
    assert_eq!(err.location().map(|l| l.column), Some(12 + 17));
}

#[test]
fn expression_errors_point_into_the_expression() {
    let mut t = Templates::new();
    let err = t
        .compile_expr(
            "x == == 1",
            Origin::new("p.yml", 3, 11, "task `a`, field `when`"),
        )
        .expect_err("syntax error");
    assert_eq!(err.location().map(|l| (l.line, l.column)), Some((3, 16)));
    let id = t
        .compile_expr("x and nope", Origin::new("p.yml", 3, 11, "w"))
        .expect("compiles");
    let err = t.eval_bool(id, &json!({"x": true})).expect_err("undefined");
    // minijinja reports the whole `and` expression; the location is its start.
    assert_eq!(err.to_string(), "p.yml:3:11: w: 'nope' is undefined");
}

#[test]
fn conditions_must_be_boolean() {
    let err = cond("x", json!({"x": "yes"})).expect_err("non-bool");
    assert!(
        err.to_string()
            .contains("Conditionals must have a boolean result"),
        "{err}"
    );
    assert!(c("x | bool", json!({"x": "yes"})));
}

#[test]
fn filter_errors_are_render_errors() {
    let msg = rerr("{{ 'x' | regex_replace('(', '') }}", json!({}));
    assert!(msg.contains("invalid regular expression"), "{msg}");
    let msg = rerr("{{ {'a': 1} | items2dict }}", json!({}));
    assert!(msg.contains("items2dict requires a list"), "{msg}");
}

#[test]
fn render_file_names_the_template() {
    let t = Templates::new();
    let err = t
        .render_file("motd.j2", "hello\n{{ who }}\n", &json!({}))
        .expect_err("undefined");
    assert_eq!(
        err.to_string(),
        "motd.j2:2:4: template `motd.j2`: 'who' is undefined"
    );
    let out = t
        .render_file(
            "a.yml",
            "x: {{ v }}\n{% if v %}\ny: 1\n{% endif %}\n",
            &json!({"v": "a b; rm -rf /"}),
        )
        .expect("renders");
    assert_eq!(out, "x: a b; rm -rf /\ny: 1\n");
}

#[test]
fn unknown_id_is_an_error_not_a_panic() {
    let mut a = Templates::new();
    let b = Templates::new();
    let id = a.compile("{{ 1 }}", origin()).expect("compiles");
    assert!(matches!(
        b.render(id, &json!({})),
        Err(TemplateError::UnknownId(0))
    ));
}

#[test]
fn odd_input_never_panics() {
    let vars = json!({"x": {"y": [1, "é"]}, "s": "é\\"});
    for src in [
        "{{",
        "}}",
        "{{ }}",
        "{{ 'é",
        "{% if %}",
        "{{ x.y[5] }}",
        "{{ x.y[1][9] }}",
        "{{ s[0:1] }}",
        "{{ 'é\\\\' | regex_replace('(', 'x') }}",
        "{{ s | b64decode }}",
        "{{ 'é' | int(base=99) }}",
        "{{ 1 / 0 }}",
        "{{ x | dict2items }}",
        "{{ [1] | items2dict }}",
        "{{ 'a' | from_json }}",
        "{{ ':' | from_yaml }}",
        "{{ 'x' | regex_search('(a)', '\\\\9') }}",
        "{{ 'x' | regex_replace('a', '\\\\9') }}",
        "{{ 1e400 | to_json }}",
        "{{ '1e999' | int }}",
        "{{ -1 | flatten }}",
        "{{ x | combine(x, recursive=1) }}",
        "{% for i in range(3) %}{% break %}{% endfor %}",
        "{{ '1.0' is version('', 'eq') }}",
    ] {
        let _ = render(src, vars.clone());
        let mut t = Templates::new();
        if let Ok(id) = t.compile_expr(src, origin()) {
            let _ = t.eval(id, &vars);
        }
    }
}

#[test]
fn quoted_host_variable_never_runs_a_second_command() {
    let dir = std::env::temp_dir().join(format!("cf-canary-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let canary = dir.join("canary");
    let evil = format!("x; touch {}", canary.display());
    let cmd = render("echo {{ name | quote }}", json!({ "name": evil })).expect("renders");
    let cmd = cmd.as_str().expect("a string").to_owned();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(&cmd)
        .output()
        .expect("runs sh");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), evil);
    assert!(!canary.exists(), "the canary was created by {cmd}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Random Jinja-ish input through every entry point: errors are fine, panics are not.
#[test]
fn random_input_never_panics() {
    const PIECES: &[&str] = &[
        "{{",
        "}}",
        "{%",
        "%}",
        "{#",
        "#}",
        " ",
        "x",
        "y",
        ".",
        "[",
        "]",
        "(",
        ")",
        "'",
        "\"",
        "\\",
        "|",
        "default",
        "d",
        "is",
        "defined",
        "not",
        "%",
        "s",
        "1",
        "0",
        ",",
        "é",
        "\n",
        "if",
        "endif",
        "for",
        "in",
        "endfor",
        "raw",
        "endraw",
        "-",
        "+",
        "~",
        "*",
        "regex_replace",
        "ansible.builtin.",
        "missing",
        "x.y",
        "'%s'",
        "to_yaml",
        "from_yaml",
        "{",
        "}",
        ":",
        "=",
    ];
    let vars = json!({"x": {"y": [1, "a", null]}, "y": "s"});
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut t = Templates::new();
    for _ in 0..3000 {
        let len = (next() % 12) as usize + 1;
        let src: String = (0..len)
            .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
            .collect();
        if let Ok(id) = t.compile(&src, origin()) {
            let _ = t.render(id, &vars);
            let _ = t.render_str(id, &vars);
        }
        if let Ok(id) = t.compile_expr(&src, origin()) {
            let _ = t.eval(id, &vars);
            let _ = t.eval_bool(id, &vars);
        }
        let _ = t.render_file("f.j2", &src, &vars);
    }
}
