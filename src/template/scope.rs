//! The variables a template sees: layers of variables searched from the highest precedence down,
//! evaluated lazily as in Ansible (`a: "{{ b }}"` is rendered when `a` is read, with the scope
//! that reads it), plus `hostvars`, which reaches the variables of other hosts.

use std::cell::Cell;
use std::fmt;
use std::sync::{Arc, Mutex};

use minijinja::value::{Enumerator, Object, ObjectRepr};
use minijinja::Value as JValue;
use serde_json::{Map, Value};

/// Gives templates the variables of every host (`hostvars[name].x`).
pub trait HostVarsSource: Send + Sync {
    fn host_names(&self) -> Vec<String>;
    fn host_scope(&self, host: &str) -> Option<Arc<Scope>>;
}

pub struct Scope {
    /// Highest precedence first.
    pub layers: Vec<Arc<Map<String, Value>>>,
    /// Layers of data that is never templated again (module results, facts, set_fact values,
    /// which were rendered when they were set), as Ansible never templates what a task returned.
    /// Indexed as `layers`; missing entries are false.
    pub literal: Vec<bool>,
    pub hostvars: Option<Arc<dyn HostVarsSource>>,
    /// The first error met while rendering a variable lazily; reported by the caller.
    pub error: Mutex<Option<minijinja::Error>>,
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<vars>")
    }
}

thread_local! {
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    /// The variables being rendered on this thread (scope, name): a container that refers to
    /// itself (`data: {a: 1, b: "{{ data.a }}"}`) sees its own unrendered value inside.
    /// Keyed by the scope and the variable's value in its layer (both stay put while rendering),
    /// so looking costs no allocation.
    static RESOLVING: std::cell::RefCell<Vec<(usize, usize)>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Scope {
    pub fn new(layers: Vec<Arc<Map<String, Value>>>, hostvars: Option<Arc<dyn HostVarsSource>>) -> Arc<Scope> {
        Arc::new(Scope { layers, literal: vec![], hostvars, error: Mutex::new(None) })
    }

    /// A scope whose layers say whether they hold literal data (see [`Scope::literal`]).
    pub fn new_marked(layers: Vec<(Arc<Map<String, Value>>, bool)>, hostvars: Option<Arc<dyn HostVarsSource>>) -> Arc<Scope> {
        let (layers, literal) = layers.into_iter().unzip();
        Arc::new(Scope { layers, literal, hostvars, error: Mutex::new(None) })
    }

    /// A scope with one more layer on top (loop variables, task vars).
    pub fn with_layer(self: &Arc<Self>, top: Map<String, Value>) -> Arc<Scope> {
        let mut layers = Vec::with_capacity(self.layers.len() + 1);
        layers.push(Arc::new(top));
        layers.extend(self.layers.iter().cloned());
        let literal = if self.literal.is_empty() { vec![] } else { std::iter::once(false).chain(self.literal.iter().copied()).collect() };
        Arc::new(Scope { layers, literal, hostvars: self.hostvars.clone(), error: Mutex::new(None) })
    }

    /// The raw (unrendered) value of a variable.
    pub fn raw(&self, name: &str) -> Option<&Value> {
        self.layers.iter().find_map(|l| l.get(name))
    }

    pub fn contains(&self, name: &str) -> bool {
        name == "hostvars" || name == "vars" || self.raw(name).is_some()
    }

    /// A variable's value with its templates rendered.
    pub fn resolve(self: &Arc<Self>, name: &str) -> Result<Option<Value>, minijinja::Error> {
        let Some(i) = self.layers.iter().position(|l| l.contains_key(name)) else {
            return Ok(None);
        };
        let raw = &self.layers[i][name];
        if self.literal.get(i).copied().unwrap_or(false) {
            return Ok(Some(raw.clone()));
        }
        if !super::has_template(raw) {
            return Ok(Some(raw.clone()));
        }
        let key = (Arc::as_ptr(self) as *const () as usize, raw as *const Value as usize);
        let v = raw.clone();
        if RESOLVING.with(|r| r.borrow().contains(&key)) {
            // As Ansible's lazy containers: a mapping or list that reads itself while being
            // rendered sees its own items; a string that needs itself is a loop.
            return match v {
                Value::Object(_) | Value::Array(_) => Ok(Some(v)),
                _ => Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!("recursive loop detected in template: the variable '{name}' refers to itself"),
                )),
            };
        }
        RESOLVING.with(|r| r.borrow_mut().push(key));
        let out = self.render_nested(&v).map(Some);
        RESOLVING.with(|r| r.borrow_mut().pop());
        out
    }

    fn render_nested(self: &Arc<Self>, v: &Value) -> Result<Value, minijinja::Error> {
        if !super::has_template(v) {
            return Ok(v.clone());
        }
        let depth = DEPTH.with(|d| {
            d.set(d.get() + 1);
            d.get()
        });
        let out = if depth > 40 {
            Err(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                "recursive loop detected in template: a variable refers to itself",
            ))
        } else {
            super::render_value_raw(v, self)
        };
        DEPTH.with(|d| d.set(d.get() - 1));
        out
    }

    /// All variables, merged, for `vars` and `hostvars[h]` listings.
    pub fn keys(&self) -> Vec<String> {
        let mut seen = indexmap::IndexSet::new();
        for l in self.layers.iter().rev() {
            for k in l.keys() {
                seen.insert(k.clone());
            }
        }
        seen.into_iter().collect()
    }

    fn stash(&self, e: minijinja::Error) {
        if let Ok(mut slot) = self.error.lock() {
            if slot.is_none() {
                *slot = Some(e);
            }
        }
    }

    pub fn take_error(&self) -> Option<minijinja::Error> {
        self.error.lock().ok().and_then(|mut e| e.take())
    }
}

impl Object for Scope {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        let name = key.as_str()?;
        match name {
            "hostvars" if self.raw("hostvars").is_none() => {
                if let Some(h) = &self.hostvars {
                    return Some(JValue::from_object(HostVars(h.clone())));
                }
            }
            "vars" if self.raw("vars").is_none() => return Some(JValue::from_dyn_object(self.clone())),
            _ => {}
        }
        match self.resolve(name) {
            Ok(Some(v)) => Some(super::encrypted::from_data(v)),
            Ok(None) => None,
            Err(e) => {
                self.stash(e);
                None
            }
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.keys().into_iter().map(JValue::from).collect())
    }
}

struct HostVars(Arc<dyn HostVarsSource>);

impl fmt::Debug for HostVars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<hostvars>")
    }
}

impl Object for HostVars {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        let scope = self.0.host_scope(key.as_str()?)?;
        Some(JValue::from_dyn_object(scope))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.0.host_names().into_iter().map(JValue::from).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_mapping_that_reads_itself_sees_its_items() {
        let vars = json!({"data": {"a": 1, "b": "{{ data.a + 1 }}"}}).as_object().unwrap().clone();
        let scope = Scope::new(vec![Arc::new(vars)], None);
        assert_eq!(scope.resolve("data").unwrap(), Some(json!({"a": 1, "b": 2})));
    }

    #[test]
    fn a_string_that_needs_itself_is_a_loop() {
        let vars = json!({"x": "{{ x }}"}).as_object().unwrap().clone();
        let scope = Scope::new(vec![Arc::new(vars)], None);
        let got = scope.resolve("x");
        assert!(got.is_err() || scope.take_error().is_some(), "{got:?}");
    }
}
