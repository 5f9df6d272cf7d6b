//! A mapping whose entries are built only when a template reads them: `hostvars` names every
//! host of the inventory, but a task reads one or two, so only those hosts' variables are put
//! together.

use std::fmt;
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, Value};

type Get = dyn Fn(&str) -> Option<Value> + Send + Sync;
type Keys = dyn Fn() -> Vec<String> + Send + Sync;

struct LazyMap {
    keys: Box<Keys>,
    get: Box<Get>,
}

impl fmt::Debug for LazyMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LazyMap")
            .field("keys", &(self.keys)())
            .finish()
    }
}

impl Object for LazyMap {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        (self.get)(key.as_str()?)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values((self.keys)().into_iter().map(Value::from).collect())
    }
}

/// A mapping whose keys (in order) `keys` gives and whose values `get` gives, when a template
/// reads them.
pub fn lazy_map(
    keys: impl Fn() -> Vec<String> + Send + Sync + 'static,
    get: impl Fn(&str) -> Option<Value> + Send + Sync + 'static,
) -> Value {
    Value::from_object(LazyMap {
        keys: Box::new(keys),
        get: Box::new(get),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_built_when_read() {
        let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = reads.clone();
        let map = lazy_map(
            || vec!["a".into(), "b".into()],
            move |k| {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                (k != "z").then(|| Value::from(format!("<{k}>")))
            },
        );
        let env = minijinja::Environment::new();
        let out = env
            .render_str(
                "{{ m.a }} {{ m['b'] }} {{ m.z is defined }} {{ m | list }}",
                minijinja::context! { m => map },
            )
            .expect("renders");
        assert_eq!(out, "<a> <b> False ['a', 'b']");
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 3);
    }
}
