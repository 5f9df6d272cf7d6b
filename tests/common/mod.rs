//! Helpers shared by the integration tests.
#![allow(dead_code)]

use clearfleet_template::{Origin, TemplateError, Templates};
use serde_json::{Value, json};

pub fn origin() -> Origin {
    Origin::new("play.yml", 10, 12, "task `t`, field `msg`")
}

/// Renders `src` with native types.
pub fn render(src: &str, vars: Value) -> Result<Value, TemplateError> {
    let mut t = Templates::new();
    let id = t.compile(src, origin())?;
    t.render(id, &vars)
}

/// Renders `src` and expects success.
pub fn r(src: &str) -> Value {
    rv(src, json!({}))
}

pub fn rv(src: &str, vars: Value) -> Value {
    match render(src, vars) {
        Ok(v) => v,
        Err(e) => panic!("{src}: {e}"),
    }
}

/// Renders `src` and expects an error; returns its text.
pub fn rerr(src: &str, vars: Value) -> String {
    match render(src, vars) {
        Ok(v) => panic!("{src}: expected an error, got {v}"),
        Err(e) => e.to_string(),
    }
}

pub fn cond(expr: &str, vars: Value) -> Result<bool, TemplateError> {
    let mut t = Templates::new();
    let id = t.compile_expr(expr, origin())?;
    t.eval_bool(id, &vars)
}

pub fn c(expr: &str, vars: Value) -> bool {
    match cond(expr, vars) {
        Ok(b) => b,
        Err(e) => panic!("{expr}: {e}"),
    }
}
