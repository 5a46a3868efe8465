//! `k=v` argument strings (`copy: src=a dest=/b mode=0644`), split as Ansible splits them:
//! quotes group words, and `{{ }}`/`{% %}` are never split.

use serde_json::{Map, Value};

/// Split on whitespace outside quotes and Jinja blocks; tokens keep their quotes.
pub fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if quote.is_none()
            && (c == '{' && (next == Some('{') || next == Some('%') || next == Some('#')))
        {
            depth += 1;
            cur.push(c);
            cur.push(next.unwrap_or(' '));
            i += 2;
            continue;
        }
        if quote.is_none() && depth > 0 && ((c == '}' || c == '%' || c == '#') && next == Some('}'))
        {
            depth -= 1;
            cur.push(c);
            cur.push('}');
            i += 2;
            continue;
        }
        match quote {
            Some(q) if c == q && (i == 0 || chars[i - 1] != '\\') => {
                quote = None;
                cur.push(c);
            }
            Some(_) => cur.push(c),
            None if depth == 0 && (c == '"' || c == '\'') => {
                quote = Some(c);
                cur.push(c);
            }
            None if depth == 0 && c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            None => cur.push(c),
        }
        i += 1;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

pub fn unquote(s: &str) -> String {
    let b = s.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        let inner = &s[1..s.len() - 1];
        if b[0] == b'"' {
            return inner.replace("\\\"", "\"");
        }
        return inner.to_string();
    }
    s.to_string()
}

/// The key of a `k=v` token, if it is one.
fn kv_key(tok: &str) -> Option<(&str, &str)> {
    let (k, v) = tok.split_once('=')?;
    if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    Some((k, v))
}

/// Parse `k=v` pairs. With `raw_keys`, only those keys are taken as options and every other
/// word goes, as written, into `_raw_params` (command, shell, script). Without it, a word that
/// is not `k=v` also goes to `_raw_params`.
pub fn parse_kv(s: &str, raw_keys: Option<&[&str]>) -> Map<String, Value> {
    let mut out = Map::new();
    let mut raw: Vec<String> = Vec::new();
    for tok in split_args(s) {
        match kv_key(&tok) {
            Some((k, v)) if raw_keys.is_none_or(|keys| keys.contains(&k)) => {
                out.insert(k.to_string(), Value::String(unquote(v)));
            }
            _ => raw.push(tok),
        }
    }
    if !raw.is_empty() {
        out.insert("_raw_params".into(), Value::String(raw.join(" ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_jinja() {
        let m = parse_kv("src=a dest=\"/b c\" msg={{ x | default('a b') }}", None);
        assert_eq!(m["dest"], Value::from("/b c"));
        assert_eq!(m["msg"], Value::from("{{ x | default('a b') }}"));
        let m = parse_kv("echo a=b chdir=/tmp", Some(&["chdir", "creates"]));
        assert_eq!(m["_raw_params"], Value::from("echo a=b"));
        assert_eq!(m["chdir"], Value::from("/tmp"));
    }
}
