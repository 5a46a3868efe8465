//! Values printed the way Python prints them, because Ansible's templates are Python's:
//! `True`, `None`, `['a', 'b']`, `{'k': 1}`.

use minijinja::{Error, Output, State, Value as JValue};

pub fn formatter(out: &mut Output, _state: &mut State, v: &JValue) -> Result<(), Error> {
    if let Some(s) = v.as_str() {
        return out.write_str(s).map_err(Error::from);
    }
    if v.is_none() {
        // Ansible 2.19 prints a bare None as nothing.
        return Ok(());
    }
    let text = match super::to_json(v) {
        Ok(j) => py_str(&j),
        Err(e) if e.detail() == Some(crate::vault::UNDECRYPTABLE) => return Err(e),
        Err(_) => v.to_string(),
    };
    out.write_str(&text).map_err(Error::from)
}

pub use crate::pytext::{py_repr, py_str};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn like_python() {
        assert_eq!(py_repr(&json!(["a", 1, true, null, {"k": 1.0}])), "['a', 1, True, None, {'k': 1.0}]");
        assert_eq!(py_repr(&json!("it's")), "\"it's\"");
    }
}
