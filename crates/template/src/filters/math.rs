//! Ansible's math and itertools filters: `pow`, `log`, `root`, `product`, `zip_longest`.

use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Error, State};

use super::{check_defined, fail};

fn number(state: &State, v: &Value) -> Result<f64, Error> {
    check_defined(state, v)?;
    f64::try_from(v.clone())
        .map_err(|_| fail(format!("a number is required, got {}", super::type_name(v))))
}

/// `pow(x, y)`: Python's `math.pow` (always a float).
pub(super) fn pow(state: &State, x: &Value, y: &Value) -> Result<f64, Error> {
    Ok(number(state, x)?.powf(number(state, y)?))
}

/// `log(x, base=e)`.
pub(super) fn log(state: &State, x: &Value, base: Option<f64>) -> Result<f64, Error> {
    let x = number(state, x)?;
    if x <= 0.0 {
        return Err(fail("math domain error"));
    }
    Ok(match base {
        Some(10.0) => x.log10(),
        Some(b) => x.ln() / b.ln(),
        None => x.ln(),
    })
}

/// `root(x, base=2)`.
pub(super) fn root(state: &State, x: &Value, base: Option<f64>) -> Result<f64, Error> {
    let x = number(state, x)?;
    Ok(match base {
        None | Some(2.0) => x.sqrt(),
        Some(b) => x.powf(1.0 / b),
    })
}

/// `product(*lists)`: `itertools.product`, as a list of lists.
pub(super) fn product(state: &State, first: &Value, rest: Rest<Value>) -> Result<Value, Error> {
    let mut result: Vec<Vec<Value>> = vec![Vec::new()];
    for list in std::iter::once(first).chain(rest.iter()) {
        check_defined(state, list)?;
        let items: Vec<Value> = list.try_iter()?.collect();
        if result.len().saturating_mul(items.len()) > 1_000_000 {
            return Err(fail("product: result too large"));
        }
        result = result
            .into_iter()
            .flat_map(|prefix| {
                items.iter().map(move |item| {
                    let mut p = prefix.clone();
                    p.push(item.clone());
                    p
                })
            })
            .collect();
    }
    Ok(Value::from(
        result.into_iter().map(Value::from).collect::<Vec<_>>(),
    ))
}

/// `zip_longest(*lists, fillvalue=None)`.
pub(super) fn zip_longest(
    state: &State,
    first: &Value,
    rest: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let fill = kwargs
        .get::<Option<Value>>("fillvalue")?
        .unwrap_or(Value::from(()));
    kwargs.assert_all_used()?;
    let mut columns = Vec::new();
    for v in std::iter::once(first).chain(rest.iter()) {
        check_defined(state, v)?;
        columns.push(v.try_iter()?.collect::<Vec<_>>());
    }
    let len = columns.iter().map(Vec::len).max().unwrap_or(0);
    Ok(Value::from(
        (0..len)
            .map(|i| {
                Value::from(
                    columns
                        .iter()
                        .map(|c| c.get(i).cloned().unwrap_or_else(|| fill.clone()))
                        .collect::<Vec<_>>(),
                )
            })
            .collect::<Vec<_>>(),
    ))
}
