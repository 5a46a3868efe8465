//! The lookups that read variables: `vars` (a variable by a computed name, with `default=`),
//! `varnames` (the names matching Python regexes) and `env` (the controller's environment).

use minijinja::{Error, ErrorKind};
use serde_json::{Map, Value};

use super::{err, Ctx};
use crate::template::filters::py_type_name;
use crate::template::filters::pyregex::PyRegex;
use crate::template::{py_str, to_text};

pub fn vars(ctx: &Ctx, terms: Vec<Value>, kw: &Map<String, Value>) -> Result<Vec<Value>, Error> {
    let default = kw.get("default").filter(|d| !d.is_null());
    let mut out = Vec::new();
    for term in terms {
        let Value::String(name) = &term else {
            return Err(err(format!("Variable name must be 'str' not '{}'.", py_type_name(&term))));
        };
        match (ctx.var(name)?, default) {
            (Some(v), _) => out.push(v),
            (None, Some(d)) => out.push(d.clone()),
            (None, None) => return Err(Error::new(ErrorKind::UndefinedError, format!("No variable named '{name}' was found."))),
        }
    }
    Ok(out)
}

pub fn varnames(ctx: &Ctx, terms: Vec<Value>, _: &Map<String, Value>) -> Result<Vec<Value>, Error> {
    let names = ctx.scope.keys();
    let mut out = Vec::new();
    for term in terms {
        let Value::String(pattern) = &term else {
            return Err(err(format!(
                "Invalid setting identifier, \"{}\" is not a string, it is a <class '{}'>",
                py_str(&term),
                py_type_name(&term)
            )));
        };
        let re = PyRegex::search(pattern).map_err(|e| err(format!("Unable to use \"{pattern}\" as a search parameter: {e}")))?;
        for n in &names {
            if re.is_match(n)? {
                out.push(Value::from(n.clone()));
            }
        }
    }
    Ok(out)
}

pub fn env(_: &Ctx, terms: Vec<Value>, kw: &Map<String, Value>) -> Result<Vec<Value>, Error> {
    let default = kw.get("default").cloned().unwrap_or_else(|| Value::from(""));
    Ok(terms.iter().map(|k| std::env::var(to_text(k)).map(Value::from).unwrap_or_else(|_| default.clone())).collect())
}
