//! A `!vault` value that could not be decrypted (no password was given), as templates see it:
//! Ansible's undecryptable-value marker. Printing it, turning it into data, iterating it or
//! testing it fails; only `unvault` reads it, with the password it is given.

use std::sync::Arc;

use minijinja::value::{Object, ObjectRepr};
use minijinja::{Error, ErrorKind, Value as JValue};

#[derive(Debug)]
pub struct Encrypted {
    pub ciphertext: String,
}

impl Object for Encrypted {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn is_true(self: &Arc<Self>) -> bool {
        false
    }
}

/// The error of using an undecryptable value.
pub fn used() -> Error {
    Error::new(ErrorKind::InvalidOperation, crate::vault::UNDECRYPTABLE)
}

/// A variable's value as templates see it: each value kept encrypted, at the top or inside a
/// mapping or list, becomes the marker.
pub fn from_data(v: serde_json::Value) -> JValue {
    if !crate::vault::holds_encrypted(&v) {
        return JValue::from(minijinja::value::Serde(v));
    }
    fn inner(v: &serde_json::Value) -> JValue {
        if let Some(ct) = crate::vault::ciphertext_of(v) {
            return JValue::from_object(Encrypted { ciphertext: ct.to_string() });
        }
        match v {
            serde_json::Value::Object(m) => JValue::from_pairs(m.iter().map(|(k, x)| (k.clone(), inner(x)))),
            serde_json::Value::Array(a) => JValue::from_iter(a.iter().map(inner)),
            other => JValue::from(minijinja::value::Serde(other)),
        }
    }
    inner(&v)
}

/// Whether a template value holds an undecryptable value anywhere inside.
pub fn holds_marker(v: &JValue) -> bool {
    fn walk(v: &JValue, depth: usize) -> bool {
        use minijinja::value::ValueKind;
        if v.downcast_object_ref::<Encrypted>().is_some() {
            return true;
        }
        if depth > 64 || v.downcast_object_ref::<super::Scope>().is_some() {
            return false;
        }
        match v.kind() {
            ValueKind::Map => v.try_iter().is_ok_and(|keys| keys.into_iter().any(|k| v.get_item(&k).is_ok_and(|x| walk(&x, depth + 1)))),
            ValueKind::Seq => v.try_iter().is_ok_and(|mut it| it.any(|x| walk(&x, depth + 1))),
            _ => false,
        }
    }
    crate::vault::any_encrypted() && walk(v, 0)
}

/// The ciphertext of a marker (or of the mapping that stands for one).
pub fn ciphertext(v: &JValue) -> Option<String> {
    if let Some(e) = v.downcast_object_ref::<Encrypted>() {
        return Some(e.ciphertext.clone());
    }
    let text = v.get_attr(crate::vault::ENCRYPTED_KEY).ok()?;
    let text = text.as_str().filter(|t| crate::vault::is_vaulted(t))?;
    (v.len() == Some(1)).then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use crate::template::{eval_condition, render_value, Scope};

    /// `secret` under the password `test` (filter_encryption's data1_vaulted).
    const CT: &str = "$ANSIBLE_VAULT;1.1;AES256\n33323332333033383335333533383338333333303339333733323339333833303334333133313339\n33373339333133323331333833373335333933323338333633343338333133343334333733383334\n33333335333433383337333133303339333433353332333333363339333733363335333233303330\n3337333733353331333633313335333733373334333733320a373938666533366165653830313163\n62386564343438653437333564383664646538653364343138303831613039313232636437336530\n3438376662373764650a633366646563386335623161646262366137393635633464333265613938\n6661\n";

    fn scope() -> Arc<Scope> {
        crate::vault::note_encrypted();
        let v = json!({"v": {crate::vault::ENCRYPTED_KEY: CT}, "d": {"fine": "hi", "v": {crate::vault::ENCRYPTED_KEY: CT}}});
        Scope::new(vec![Arc::new(v.as_object().unwrap().clone())], None)
    }

    #[test]
    fn an_undecryptable_value_fails_where_it_is_used() {
        let s = scope();
        for t in ["{{ v }}", "x{{ v }}", "{{ d }}", "{{ d | string }}", "{{ v | select }}", "{{ [v] }}"] {
            assert!(render_value(&json!(t), &s).is_err(), "{t}");
        }
        assert_eq!(render_value(&json!("{{ d.fine }}"), &s).unwrap(), json!("hi"));
        assert!(render_value(&json!({"arg": {crate::vault::ENCRYPTED_KEY: CT}}), &s).is_err());
    }

    #[test]
    fn unvault_reads_it_with_the_password() {
        let s = scope();
        assert_eq!(render_value(&json!("{{ v | unvault('test') }}"), &s).unwrap(), json!("secret"));
        assert!(eval_condition(&json!("d.v | unvault('test') == 'secret'"), &s).unwrap());
    }
}
