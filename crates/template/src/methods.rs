//! Python methods on values that templates call (`xs.index(x)`): minijinja-contrib's
//! pycompat has most; the ones it lacks and ansible-core's targets use are here.

use minijinja::value::{Value, ValueKind, from_args};
use minijinja::{Error, ErrorKind, State};

use super::filters::py_str;

/// minijinja's unknown-method hook: `list.index`, then pycompat's methods.
pub(crate) fn unknown_method(
    state: &mut State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    if value.kind() == ValueKind::Seq && method == "index" {
        return list_index(value, args);
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
}

/// Python's `list.index(x[, start[, end]])`: the first position of `x` (negative bounds count
/// from the end), or Python's `ValueError` text.
fn list_index(value: &Value, args: &[Value]) -> Result<Value, Error> {
    let (what, start, end): (&Value, Option<i64>, Option<i64>) = from_args(args)?;
    let items: Vec<Value> = value.try_iter()?.collect();
    let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let bound = |b: Option<i64>, default: i64| -> usize {
        let b = b.unwrap_or(default);
        let b = if b < 0 { (b + len).max(0) } else { b.min(len) };
        usize::try_from(b).unwrap_or(0)
    };
    let (from, to) = (bound(start, 0), bound(end, len));
    items
        .iter()
        .enumerate()
        .take(to)
        .skip(from)
        .find(|(_, item)| *item == what)
        .map(|(i, _)| Value::from(i))
        .ok_or_else(|| {
            // Python's repr: a string quoted, anything else as `str()` shows it.
            let repr = |v: &Value| match v.as_str() {
                Some(s) => format!("'{s}'"),
                None => py_str(v),
            };
            Error::new(
                ErrorKind::InvalidOperation,
                format!("{} is not in list", repr(what)),
            )
        })
}
