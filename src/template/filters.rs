//! Ansible's filters, written for minijinja. Each takes and returns plain data; names and
//! arguments follow Ansible's documentation.

use std::collections::HashSet;

use base64::Engine as _;
use minijinja::value::{Kwargs, Rest};
use minijinja::{Environment, Error, ErrorKind, Value as JValue};
use serde_json::{Map, Value};
use sha1::Digest as _;

use super::{to_jinja, to_json};

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

fn j(v: &JValue) -> Result<Value, Error> {
    to_json(v)
}

fn text(v: &JValue) -> Result<String, Error> {
    Ok(match j(v)? {
        Value::String(s) => s,
        other => super::py_str(&other),
    })
}

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("to_json", to_json_f);
    env.add_filter("to_nice_json", to_nice_json);
    env.add_filter("from_json", from_json);
    env.add_filter("to_yaml", to_yaml);
    env.add_filter("to_nice_yaml", to_yaml);
    env.add_filter("from_yaml", from_yaml);
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("regex_search", regex_search);
    env.add_filter("regex_findall", regex_findall);
    env.add_filter("regex_escape", |s: String| regex::escape(&s));
    env.add_filter("b64encode", |s: String| base64::engine::general_purpose::STANDARD.encode(s.as_bytes()));
    env.add_filter("b64decode", b64decode);
    env.add_filter("hash", hash);
    env.add_filter("truncate", truncate);
    env.add_filter("checksum", |v: JValue| -> Result<String, Error> { hash(v, Some("sha1".into())) });
    env.add_filter("md5", |v: JValue| -> Result<String, Error> { hash(v, Some("md5".into())) });
    env.add_filter("sha1", |v: JValue| -> Result<String, Error> { hash(v, Some("sha1".into())) });
    env.add_filter("to_uuid", to_uuid);
    env.add_filter("ipaddr", ipaddr);
    env.add_filter("ansible.utils.ipaddr", ipaddr);
    env.add_filter("ipv4", |v: JValue, q: Option<String>| ipfamily(v, q, 4));
    env.add_filter("ipv6", |v: JValue, q: Option<String>| ipfamily(v, q, 6));
    env.add_filter("combine", combine);
    env.add_filter("dict2items", dict2items);
    env.add_filter("items2dict", items2dict);
    env.add_filter("flatten", flatten);
    env.add_filter("union", |a: JValue, b: JValue| setop(a, b, "union"));
    env.add_filter("intersect", |a: JValue, b: JValue| setop(a, b, "intersect"));
    env.add_filter("difference", |a: JValue, b: JValue| setop(a, b, "difference"));
    env.add_filter("symmetric_difference", |a: JValue, b: JValue| setop(a, b, "symmetric_difference"));
    env.add_filter("product", product);
    env.add_filter("zip_longest", zip_longest);
    env.add_filter("subelements", subelements);
    env.add_filter("extract", extract);
    env.add_filter("quote", |v: JValue| -> Result<String, Error> { Ok(shell_quote(&text(&v)?)) });
    env.add_filter("ternary", ternary);
    env.add_filter("mandatory", mandatory);
    env.add_filter("comment", comment);
    env.add_filter("shuffle", shuffle);
    env.add_filter("basename", |s: String| s.rsplit('/').next().unwrap_or("").to_string());
    env.add_filter("dirname", dirname);
    env.add_filter("expanduser", expanduser);
    env.add_filter("realpath", |s: String| std::fs::canonicalize(&s).map(|p| p.display().to_string()).unwrap_or(s));
    env.add_filter("splitext", splitext);
    env.add_filter("path_join", path_join);
    env.add_filter("strftime", strftime);
    env.add_filter("to_datetime", to_datetime);
    env.add_filter("bool", to_bool);
    env.add_filter("type_debug", type_debug);
    env.add_filter("string", |v: JValue| -> Result<String, Error> { text(&v) });
    env.add_filter("int", to_int);
    env.add_filter("human_readable", human_readable);
    env.add_filter("password_hash", password_hash);
    env.add_filter("json_query", json_query);
    env.add_filter("random", random);
    env.add_filter("version_compare", |a: String, b: String, op: Option<String>| super::tests::version(a, b, op));
    env.add_filter("log", |v: f64, base: Option<f64>| -> f64 { base.map(|b| v.ln() / b.ln()).unwrap_or(v.ln()) });
    env.add_filter("pow", |v: f64, e: f64| -> f64 { v.powf(e) });
    env.add_filter("root", |v: f64, e: Option<f64>| -> f64 { v.powf(1.0 / e.unwrap_or(2.0)) });
}

/// Python's `json.dumps` with its default separators, so rendered files match Ansible's.
pub fn py_json(v: &Value, indent: Option<usize>, sort: bool) -> String {
    py_json_spaced(v, indent, sort, true)
}

/// As [`py_json`]; `space` false leaves out the space after commas (`ansible -o` prints that).
pub fn py_json_spaced(v: &Value, indent: Option<usize>, sort: bool, space: bool) -> String {
    fn go(v: &Value, indent: Option<usize>, sort: bool, level: usize, out: &mut String, space: bool) {
        match v {
            Value::Array(a) if !a.is_empty() => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                        if indent.is_none() && space {
                            out.push(' ');
                        }
                    }
                    if let Some(n) = indent {
                        out.push('\n');
                        out.push_str(&" ".repeat(n * (level + 1)));
                    }
                    go(x, indent, sort, level + 1, out, space);
                }
                if let Some(n) = indent {
                    out.push('\n');
                    out.push_str(&" ".repeat(n * level));
                }
                out.push(']');
            }
            Value::Object(m) if !m.is_empty() => {
                out.push('{');
                let mut keys: Vec<&String> = m.keys().collect();
                if sort {
                    keys.sort();
                }
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                        if indent.is_none() && space {
                            out.push(' ');
                        }
                    }
                    if let Some(n) = indent {
                        out.push('\n');
                        out.push_str(&" ".repeat(n * (level + 1)));
                    }
                    out.push_str(&ascii_json(&Value::String((*k).clone())));
                    out.push_str(": ");
                    go(&m[k.as_str()], indent, sort, level + 1, out, space);
                }
                if let Some(n) = indent {
                    out.push('\n');
                    out.push_str(&" ".repeat(n * level));
                }
                out.push('}');
            }
            other => out.push_str(&ascii_json(other)),
        }
    }
    let mut out = String::new();
    go(v, indent, sort, 0, &mut out, space);
    out
}

/// JSON text with non-ASCII escaped, as Python's `ensure_ascii`.
fn ascii_json(v: &Value) -> String {
    let s = serde_json::to_string(v).unwrap_or_default();
    if s.is_ascii() {
        return s;
    }
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for u in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

fn to_json_f(v: JValue, kw: Kwargs) -> Result<String, Error> {
    let indent: Option<usize> = kw.get("indent")?;
    let sort: Option<bool> = kw.get("sort_keys")?;
    Ok(py_json(&j(&v)?, indent, sort.unwrap_or(false)))
}

fn to_nice_json(v: JValue, kw: Kwargs) -> Result<String, Error> {
    let indent: Option<usize> = kw.get("indent")?;
    Ok(py_json(&j(&v)?, Some(indent.unwrap_or(4)), true))
}

fn from_json(s: String) -> Result<JValue, Error> {
    let v: Value = serde_json::from_str(&s).map_err(|e| err(format!("from_json: {e}")))?;
    Ok(to_jinja(&v))
}

fn to_yaml(v: JValue, _kw: Kwargs) -> Result<String, Error> {
    let v = j(&v)?;
    match &v {
        Value::String(s) if !s.contains('\n') => return Ok(format!("{s}\n")),
        _ => {}
    }
    serde_saphyr::to_string(&v).map_err(|e| err(format!("to_yaml: {e}")))
}

fn from_yaml(s: String) -> Result<JValue, Error> {
    let node = crate::yaml::parse_str(&s, std::path::Path::new("<from_yaml>")).map_err(|e| err(e.message))?;
    Ok(to_jinja(&node.to_value()))
}

/// Python's `\1` and `\g<name>` replacement syntax in Rust's `${1}` form.
/// Python's replacement syntax (`\\1`, `\\g<name>`, `\\n`, `\\t`) in Rust regex's (`${1}`).
pub fn py_replacement(r: &str) -> String {
    let mut out = String::new();
    let mut chars = r.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    let mut num = String::new();
                    while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                        num.push(d);
                        chars.next();
                    }
                    out.push_str(&format!("${{{num}}}"));
                }
                Some('g') => {
                    chars.next();
                    if chars.peek() == Some(&'<') {
                        chars.next();
                        let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
                        out.push_str(&format!("${{{name}}}"));
                    } else {
                        out.push_str("\\g");
                    }
                }
                Some('t') => {
                    chars.next();
                    out.push('\t');
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out
}

fn build_regex(pattern: &str, kw: &Kwargs) -> Result<regex::Regex, Error> {
    let ic: Option<bool> = kw.get("ignorecase")?;
    let ml: Option<bool> = kw.get("multiline")?;
    regex::RegexBuilder::new(pattern)
        .case_insensitive(ic.unwrap_or(false))
        .multi_line(ml.unwrap_or(false))
        .build()
        .map_err(|e| err(format!("invalid regular expression `{pattern}`: {e}")))
}

fn regex_replace(v: JValue, pattern: String, replacement: Option<String>, kw: Kwargs) -> Result<String, Error> {
    let s = text(&v)?;
    let re = build_regex(&pattern, &kw)?;
    let count: Option<usize> = kw.get("count")?;
    let rep = py_replacement(&replacement.unwrap_or_default());
    Ok(re.replacen(&s, count.unwrap_or(0), rep.as_str()).into_owned())
}

fn regex_search(v: JValue, pattern: String, groups: Rest<String>, kw: Kwargs) -> Result<JValue, Error> {
    let s = text(&v)?;
    let re = build_regex(&pattern, &kw)?;
    let Some(caps) = re.captures(&s) else {
        return Ok(JValue::from(()));
    };
    if groups.is_empty() {
        return Ok(JValue::from(caps.get(0).map(|m| m.as_str()).unwrap_or("")));
    }
    let mut out = Vec::new();
    for g in groups.iter() {
        let m = if let Some(n) = g.strip_prefix('\\') {
            n.parse::<usize>().ok().and_then(|i| caps.get(i))
        } else if let Some(name) = g.strip_prefix("\\g<").and_then(|x| x.strip_suffix('>')) {
            caps.name(name)
        } else {
            caps.name(g)
        };
        out.push(m.map(|m| m.as_str().to_string()));
    }
    Ok(JValue::from(minijinja::value::Serde(&out)))
}

fn regex_findall(v: JValue, pattern: String, kw: Kwargs) -> Result<JValue, Error> {
    let s = text(&v)?;
    let re = build_regex(&pattern, &kw)?;
    let groups = re.captures_len() - 1;
    let out: Vec<Value> = re
        .captures_iter(&s)
        .map(|c| match groups {
            0 => Value::from(c.get(0).map(|m| m.as_str()).unwrap_or("")),
            1 => Value::from(c.get(1).map(|m| m.as_str()).unwrap_or("")),
            _ => Value::Array((1..=groups).map(|i| Value::from(c.get(i).map(|m| m.as_str()).unwrap_or(""))).collect()),
        })
        .collect();
    Ok(to_jinja(&Value::Array(out)))
}

fn b64decode(s: String) -> Result<String, Error> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(s.trim().as_bytes()).map_err(|e| err(format!("b64decode: {e}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

pub fn hex_digest(algo: &str, data: &[u8]) -> Option<String> {
    Some(match algo {
        "md5" => format!("{:x}", md5::Md5::digest(data)),
        "sha1" => format!("{:x}", sha1::Sha1::digest(data)),
        "sha224" => format!("{:x}", sha2::Sha224::digest(data)),
        "sha256" => format!("{:x}", sha2::Sha256::digest(data)),
        "sha384" => format!("{:x}", sha2::Sha384::digest(data)),
        "sha512" => format!("{:x}", sha2::Sha512::digest(data)),
        _ => return None,
    })
}

/// Jinja's `truncate(length=255, killwords=False, end='...', leeway=5)`.
fn truncate(s: String, length: Option<usize>, killwords: Option<bool>, end: Option<String>, leeway: Option<usize>) -> String {
    let length = length.unwrap_or(255);
    let end = end.unwrap_or_else(|| "...".into());
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= length + leeway.unwrap_or(5) {
        return s;
    }
    let keep: String = chars[..length.saturating_sub(end.chars().count())].iter().collect();
    if killwords.unwrap_or(false) {
        return keep + &end;
    }
    match keep.rsplit_once(' ') {
        Some((head, _)) => head.to_string() + &end,
        None => keep + &end,
    }
}

fn hash(v: JValue, algo: Option<String>) -> Result<String, Error> {
    let algo = algo.unwrap_or_else(|| "sha1".into());
    hex_digest(&algo, text(&v)?.as_bytes()).ok_or_else(|| err(format!("hash: unknown algorithm `{algo}`")))
}

fn to_uuid(v: JValue, namespace: Option<String>) -> Result<String, Error> {
    // uuid5 in Ansible's namespace, as its `to_uuid` filter.
    let ns = namespace.unwrap_or_else(|| "361E6D51-FAEC-444A-9079-341386DA8E2E".into());
    let ns_hex: String = ns.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    if ns_hex.len() != 32 {
        return Err(err(format!("to_uuid: bad namespace `{ns}`")));
    }
    let mut data: Vec<u8> = (0..16).map(|i| u8::from_str_radix(&ns_hex[2 * i..2 * i + 2], 16).unwrap_or(0)).collect();
    data.extend_from_slice(text(&v)?.as_bytes());
    let h = sha1::Sha1::digest(&data);
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hx: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!("{}-{}-{}-{}-{}", &hx[0..8], &hx[8..12], &hx[12..16], &hx[16..20], &hx[20..32]))
}

fn parse_ip(s: &str) -> Option<(std::net::IpAddr, Option<u8>)> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
        None => (s, None),
    };
    let ip: std::net::IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    if prefix.is_some_and(|p| p > max) {
        return None;
    }
    Some((ip, prefix))
}

fn ip_query(s: &str, query: Option<&str>, family: Option<u8>) -> Value {
    let Some((ip, prefix)) = parse_ip(s.trim()) else {
        return Value::Bool(false);
    };
    if family.is_some_and(|f| (f == 4) != ip.is_ipv4()) {
        return Value::Bool(false);
    }
    let max: u8 = if ip.is_ipv4() { 32 } else { 128 };
    let p = prefix.unwrap_or(max);
    let net = |ip: std::net::IpAddr, p: u8| -> std::net::IpAddr {
        match ip {
            std::net::IpAddr::V4(v) => {
                let m = if p == 0 { 0 } else { u32::MAX << (32 - p) };
                std::net::IpAddr::V4((u32::from(v) & m).into())
            }
            std::net::IpAddr::V6(v) => {
                let m = if p == 0 { 0 } else { u128::MAX << (128 - p) };
                std::net::IpAddr::V6((u128::from(v) & m).into())
            }
        }
    };
    match query.unwrap_or("") {
        "" => Value::from(s.trim()),
        "address" => Value::from(ip.to_string()),
        "prefix" => Value::from(p),
        "network" => Value::from(net(ip, p).to_string()),
        "host" => Value::from(format!("{ip}/{max}")),
        "netmask" => match ip {
            std::net::IpAddr::V4(_) => {
                let m = if p == 0 { 0 } else { u32::MAX << (32 - p) };
                Value::from(std::net::Ipv4Addr::from(m).to_string())
            }
            _ => Value::Bool(false),
        },
        "private" => Value::Bool(match ip {
            std::net::IpAddr::V4(v) => v.is_private(),
            std::net::IpAddr::V6(v) => (v.segments()[0] & 0xfe00) == 0xfc00,
        }),
        "public" => Value::Bool(match ip {
            std::net::IpAddr::V4(v) => !(v.is_private() || v.is_loopback() || v.is_link_local()),
            std::net::IpAddr::V6(v) => !v.is_loopback(),
        }),
        _ => Value::from(s.trim()),
    }
}

fn ip_apply(v: JValue, query: Option<String>, family: Option<u8>) -> Result<JValue, Error> {
    let v = j(&v)?;
    let q = query.as_deref();
    Ok(to_jinja(&match v {
        Value::Array(items) => {
            Value::Array(items.iter().map(|x| ip_query(&super::to_text(x), q, family)).filter(|x| *x != Value::Bool(false)).collect())
        }
        other => ip_query(&super::to_text(&other), q, family),
    }))
}

fn ipaddr(v: JValue, query: Option<String>) -> Result<JValue, Error> {
    ip_apply(v, query, None)
}

fn ipfamily(v: JValue, query: Option<String>, family: u8) -> Result<JValue, Error> {
    ip_apply(v, query, Some(family))
}

pub fn combine_values(a: &mut Map<String, Value>, b: &Map<String, Value>, recursive: bool, list_merge: &str) {
    for (k, v) in b {
        match (a.get_mut(k), v) {
            (Some(Value::Object(am)), Value::Object(bm)) if recursive => combine_values(am, bm, true, list_merge),
            (Some(Value::Array(al)), Value::Array(bl)) if list_merge != "replace" => match list_merge {
                "append" => al.extend(bl.iter().cloned()),
                "prepend" => {
                    let mut n = bl.clone();
                    n.append(al);
                    *al = n;
                }
                "append_rp" => {
                    al.retain(|x| !bl.contains(x));
                    al.extend(bl.iter().cloned());
                }
                "prepend_rp" => {
                    let mut n = bl.clone();
                    n.extend(al.iter().filter(|x| !bl.contains(x)).cloned());
                    *al = n;
                }
                "keep" => {}
                _ => *al = bl.clone(),
            },
            _ => {
                a.insert(k.clone(), v.clone());
            }
        }
    }
}

fn combine(v: JValue, others: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let recursive: Option<bool> = kw.get("recursive")?;
    let list_merge: Option<String> = kw.get("list_merge")?;
    let mut dicts = vec![j(&v)?];
    for o in others.iter() {
        match j(o)? {
            Value::Array(a) => dicts.extend(a),
            x => dicts.push(x),
        }
    }
    let mut out = Map::new();
    for d in dicts {
        let Value::Object(m) = d else {
            return Err(err("combine expects dictionaries"));
        };
        combine_values(&mut out, &m, recursive.unwrap_or(false), list_merge.as_deref().unwrap_or("replace"));
    }
    Ok(to_jinja(&Value::Object(out)))
}

fn dict2items(v: JValue, kw: Kwargs) -> Result<JValue, Error> {
    let kn: Option<String> = kw.get("key_name")?;
    let vn: Option<String> = kw.get("value_name")?;
    let (kn, vn) = (kn.unwrap_or_else(|| "key".into()), vn.unwrap_or_else(|| "value".into()));
    let Value::Object(m) = j(&v)? else {
        return Err(err("dict2items requires a dictionary"));
    };
    let out: Vec<Value> = m
        .into_iter()
        .map(|(k, v)| {
            let mut e = Map::new();
            e.insert(kn.clone(), Value::String(k));
            e.insert(vn.clone(), v);
            Value::Object(e)
        })
        .collect();
    Ok(to_jinja(&Value::Array(out)))
}

fn items2dict(v: JValue, kw: Kwargs) -> Result<JValue, Error> {
    let kn: Option<String> = kw.get("key_name")?;
    let vn: Option<String> = kw.get("value_name")?;
    let (kn, vn) = (kn.unwrap_or_else(|| "key".into()), vn.unwrap_or_else(|| "value".into()));
    let Value::Array(a) = j(&v)? else {
        return Err(err("items2dict requires a list"));
    };
    let mut out = Map::new();
    for item in a {
        let k = item.get(&kn).ok_or_else(|| err(format!("items2dict: an item has no `{kn}`")))?;
        out.insert(super::to_text(k), item.get(&vn).cloned().unwrap_or(Value::Null));
    }
    Ok(to_jinja(&Value::Object(out)))
}

fn flatten_into(v: &[Value], levels: Option<usize>, out: &mut Vec<Value>) {
    for x in v {
        match x {
            Value::Array(inner) if levels != Some(0) => flatten_into(inner, levels.map(|l| l - 1), out),
            Value::Null => {}
            other => out.push(other.clone()),
        }
    }
}

fn flatten(v: JValue, levels: Option<usize>, kw: Kwargs) -> Result<JValue, Error> {
    let levels = match levels {
        Some(l) => Some(l),
        None => kw.get("levels")?,
    };
    let Value::Array(a) = j(&v)? else {
        return Err(err("flatten requires a list"));
    };
    let mut out = Vec::new();
    flatten_into(&a, levels, &mut out);
    Ok(to_jinja(&Value::Array(out)))
}

fn as_list(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        Value::Null => vec![],
        Value::Object(m) => m.keys().map(|k| Value::from(k.as_str())).collect(),
        other => vec![other],
    }
}

fn setop(a: JValue, b: JValue, op: &str) -> Result<JValue, Error> {
    let (a, b) = (as_list(j(&a)?), as_list(j(&b)?));
    let mut out: Vec<Value> = Vec::new();
    let push = |out: &mut Vec<Value>, x: &Value| {
        if !out.contains(x) {
            out.push(x.clone())
        }
    };
    match op {
        "union" => a.iter().chain(b.iter()).for_each(|x| push(&mut out, x)),
        "intersect" => a.iter().filter(|x| b.contains(x)).for_each(|x| push(&mut out, x)),
        "difference" => a.iter().filter(|x| !b.contains(x)).for_each(|x| push(&mut out, x)),
        _ => a.iter().filter(|x| !b.contains(x)).chain(b.iter().filter(|x| !a.contains(x))).for_each(|x| push(&mut out, x)),
    }
    Ok(to_jinja(&Value::Array(out)))
}

fn product(v: JValue, others: Rest<JValue>) -> Result<JValue, Error> {
    let mut acc: Vec<Vec<Value>> = as_list(j(&v)?).into_iter().map(|x| vec![x]).collect();
    for o in others.iter() {
        let l = as_list(j(o)?);
        acc = acc.into_iter().flat_map(|p| l.iter().map(move |x| [p.clone(), vec![x.clone()]].concat())).collect();
    }
    Ok(to_jinja(&Value::Array(acc.into_iter().map(Value::Array).collect())))
}

fn zip_longest(v: JValue, others: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let fill: Option<JValue> = kw.get("fillvalue")?;
    let fill = match fill {
        Some(f) => j(&f)?,
        None => Value::Null,
    };
    let mut lists = vec![as_list(j(&v)?)];
    for o in others.iter() {
        lists.push(as_list(j(o)?));
    }
    let n = lists.iter().map(Vec::len).max().unwrap_or(0);
    let out: Vec<Value> =
        (0..n).map(|i| Value::Array(lists.iter().map(|l| l.get(i).cloned().unwrap_or_else(|| fill.clone())).collect())).collect();
    Ok(to_jinja(&Value::Array(out)))
}

fn subelements(v: JValue, path: String, kw: Kwargs) -> Result<JValue, Error> {
    let skip: Option<bool> = kw.get("skip_missing")?;
    let mut out = Vec::new();
    for item in as_list(j(&v)?) {
        let mut cur = Some(&item);
        for p in path.split('.') {
            cur = cur.and_then(|c| c.get(p));
        }
        match cur {
            Some(Value::Array(subs)) => {
                for s in subs {
                    out.push(Value::Array(vec![item.clone(), s.clone()]));
                }
            }
            _ if skip.unwrap_or(false) => {}
            _ => return Err(err(format!("subelements: could not find `{path}` in an item, or it is not a list"))),
        }
    }
    Ok(to_jinja(&Value::Array(out)))
}

fn extract(item: JValue, container: JValue, morekeys: Option<JValue>) -> Result<JValue, Error> {
    let mut v = container.get_item(&item)?;
    if let Some(keys) = morekeys {
        let keys: Vec<JValue> = if keys.as_str().is_some() { vec![keys] } else { keys.try_iter()?.collect() };
        for k in keys {
            v = v.get_item(&k)?;
        }
    }
    Ok(v)
}

pub fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c)) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

fn ternary(v: JValue, t: JValue, f: JValue, none: Option<JValue>) -> JValue {
    if v.is_none() {
        if let Some(n) = none {
            return n;
        }
    }
    if super::truthy(&v) {
        t
    } else {
        f
    }
}

fn mandatory(v: JValue, msg: Option<String>) -> Result<JValue, Error> {
    if v.is_undefined() {
        return Err(Error::new(ErrorKind::UndefinedError, msg.unwrap_or_else(|| "Mandatory variable not defined.".into())));
    }
    Ok(v)
}

fn comment(v: JValue, style: Option<String>, kw: Kwargs) -> Result<String, Error> {
    let s = text(&v)?;
    let (beg, pfx, end) = match style.as_deref().unwrap_or("plain") {
        "c" => ("", "// ", ""),
        "cblock" => ("/*", " * ", " */"),
        "erlang" => ("", "% ", ""),
        "xml" => ("<!--", " - ", "-->"),
        _ => ("", "# ", ""),
    };
    let decoration: Option<String> = kw.get("decoration")?;
    let pfx = decoration.unwrap_or_else(|| pfx.to_string());
    let mut out = String::new();
    if !beg.is_empty() {
        out += beg;
        out.push('\n');
    }
    out += &pfx;
    out.push('\n');
    for l in s.lines() {
        out += format!("{pfx}{l}").trim_end();
        out.push('\n');
    }
    out += &pfx;
    if !end.is_empty() {
        out.push('\n');
        out += end;
    }
    Ok(out.lines().map(str::trim_end).collect::<Vec<_>>().join("\n"))
}

fn seed() -> u64 {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(7);
    t ^ (std::process::id() as u64).rotate_left(32)
}

fn next_rand(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn shuffle(v: JValue) -> Result<JValue, Error> {
    let mut l = as_list(j(&v)?);
    let mut s = seed() | 1;
    for i in (1..l.len()).rev() {
        let k = (next_rand(&mut s) % (i as u64 + 1)) as usize;
        l.swap(i, k);
    }
    Ok(to_jinja(&Value::Array(l)))
}

fn random(v: JValue, start: Option<i64>, step: Option<i64>) -> Result<JValue, Error> {
    let mut s = seed() | 1;
    if let Some(n) = v.as_i64() {
        let start = start.unwrap_or(0);
        let step = step.unwrap_or(1).max(1);
        let count = ((n - start) / step).max(1);
        return Ok(JValue::from(start + (next_rand(&mut s) % count as u64) as i64 * step));
    }
    let l = as_list(j(&v)?);
    if l.is_empty() {
        return Err(err("random: empty sequence"));
    }
    Ok(to_jinja(&l[(next_rand(&mut s) % l.len() as u64) as usize]))
}

fn dirname(s: String) -> String {
    match s.rfind('/') {
        Some(0) => "/".into(),
        Some(i) => s[..i].to_string(),
        None => String::new(),
    }
}

fn expanduser(s: String) -> String {
    if s == "~" || s.starts_with("~/") {
        if let Ok(home) = std::env::var("HOME") {
            return format!("{home}{}", &s[1..]);
        }
    }
    s
}

fn splitext(s: String) -> JValue {
    let base_start = s.rfind('/').map(|i| i + 1).unwrap_or(0);
    let base = &s[base_start..];
    match base.rfind('.') {
        Some(i) if i > 0 => JValue::from(minijinja::value::Serde(vec![&s[..base_start + i], &s[base_start + i..]])),
        _ => JValue::from(minijinja::value::Serde(vec![s.as_str(), ""])),
    }
}

fn path_join(v: JValue) -> Result<String, Error> {
    let mut out = String::new();
    for p in as_list(j(&v)?) {
        let p = super::to_text(&p);
        if p.starts_with('/') {
            out = p;
        } else if out.is_empty() || out.ends_with('/') {
            out += &p;
        } else {
            out = format!("{out}/{p}");
        }
    }
    Ok(out)
}

/// `strftime` through the C library, as Python's `time.strftime` does.
pub fn format_time(fmt: &str, secs: i64, utc: bool) -> String {
    let t = secs as libc::time_t;
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the duration of the call.
    unsafe {
        if utc {
            libc::gmtime_r(&t, &mut tm);
        } else {
            libc::localtime_r(&t, &mut tm);
        }
    }
    let cfmt = match std::ffi::CString::new(fmt) {
        Ok(c) => c,
        Err(_) => return String::new(),
    };
    let mut buf = vec![0u8; 512];
    // SAFETY: the buffer's length is passed; strftime writes at most that many bytes.
    let n = unsafe { libc::strftime(buf.as_mut_ptr() as *mut libc::c_char, buf.len(), cfmt.as_ptr(), &tm) };
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn strftime(fmt: String, second: Option<JValue>, kw: Kwargs) -> Result<String, Error> {
    let utc: Option<bool> = kw.get("utc")?;
    let secs = match second {
        Some(s) => j(&s)?.as_f64().or_else(|| s.as_str().and_then(|x| x.parse().ok())).unwrap_or(0.0) as i64,
        None => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0),
    };
    Ok(format_time(&fmt, secs, utc.unwrap_or(false)))
}

/// Seconds since the epoch (UTC) for a date string in the given format.
fn to_datetime(s: String, fmt: Option<String>) -> Result<JValue, Error> {
    let fmt = fmt.unwrap_or_else(|| "%Y-%m-%d %H:%M:%S".into());
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let (cs, cf) = match (std::ffi::CString::new(s.clone()), std::ffi::CString::new(fmt.clone())) {
        (Ok(a), Ok(b)) => (a, b),
        _ => return Err(err("to_datetime: bad input")),
    };
    // SAFETY: valid C strings and a zeroed tm.
    let r = unsafe { libc::strptime(cs.as_ptr(), cf.as_ptr(), &mut tm) };
    if r.is_null() {
        return Err(err(format!("to_datetime: `{s}` does not match format `{fmt}`")));
    }
    // SAFETY: tm was filled by strptime.
    let secs = unsafe { libc::timegm(&mut tm) };
    Ok(JValue::from(secs as i64))
}

pub fn ansible_bool(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() == Some(1.0),
        Value::String(s) => matches!(s.trim().to_ascii_lowercase().as_str(), "yes" | "on" | "1" | "true" | "y" | "t" | "1.0"),
        _ => false,
    }
}

fn to_bool(v: JValue) -> Result<bool, Error> {
    if v.is_none() {
        return Ok(false);
    }
    Ok(ansible_bool(&j(&v)?))
}

fn type_debug(v: JValue) -> Result<String, Error> {
    Ok(py_type_name(&j(&v)?).into())
}

/// Python's name for a value's type (`type_debug`, error messages).
pub fn py_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

fn to_int(v: JValue, default: Option<i64>, kw: Kwargs) -> Result<i64, Error> {
    let base: Option<u32> = kw.get("base")?;
    let d = default.unwrap_or(0);
    Ok(match j(&v)? {
        Value::Number(n) => n.as_i64().unwrap_or_else(|| n.as_f64().unwrap_or(0.0) as i64),
        Value::Bool(b) => b as i64,
        Value::String(s) => {
            let s = s.trim();
            match base {
                Some(b) => {
                    i64::from_str_radix(s.trim_start_matches("0x").trim_start_matches("0o").trim_start_matches("0b"), b).unwrap_or(d)
                }
                None => s.parse::<i64>().or_else(|_| s.parse::<f64>().map(|f| f as i64)).unwrap_or(d),
            }
        }
        _ => d,
    })
}

fn human_readable(v: f64, kw: Kwargs) -> Result<String, Error> {
    let isbits: Option<bool> = kw.get("isbits")?;
    let unit = if isbits.unwrap_or(false) { "b" } else { "B" };
    let prefixes = ["", "K", "M", "G", "T", "P", "E"];
    let mut x = v;
    let mut i = 0;
    while x >= 1024.0 && i < prefixes.len() - 1 {
        x /= 1024.0;
        i += 1;
    }
    Ok(format!("{x:.2} {}{unit}", prefixes[i]))
}

fn password_hash(v: JValue, scheme: Option<String>, salt: Option<String>, kw: Kwargs) -> Result<String, Error> {
    let scheme = scheme.unwrap_or_else(|| "sha512".into());
    let rounds: Option<usize> = kw.get("rounds")?;
    let pw = text(&v)?;
    crate::crypt::hash_password(&pw, &scheme, salt.as_deref(), rounds).map_err(err)
}

fn json_query(v: JValue, expr: String) -> Result<JValue, Error> {
    let data = j(&v)?;
    let out = crate::jsonpath::query(&data, &expr).map_err(|e| err(format!("json_query: {e}")))?;
    Ok(to_jinja(&out))
}

#[allow(dead_code)]
fn unique_preserving(v: Vec<Value>) -> Vec<Value> {
    let mut seen = HashSet::new();
    v.into_iter().filter(|x| seen.insert(x.to_string())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_json_layout() {
        assert_eq!(py_json(&json!({"b": [1, 2], "a": "é"}), None, false), r#"{"b": [1, 2], "a": "\u00e9"}"#);
        assert_eq!(py_json(&json!({"b": 1, "a": [1]}), Some(4), true), "{\n    \"a\": [\n        1\n    ],\n    \"b\": 1\n}");
    }

    #[test]
    fn replacement_syntax() {
        assert_eq!(py_replacement(r"\1-\g<name>$"), "${1}-${name}$$");
    }

    #[test]
    fn uuid_matches_ansible() {
        // ansible localhost -m debug -a "msg={{ 'test' | to_uuid }}"
        let env = crate::template::env();
        let out = env.render_str("{{ 'test' | to_uuid }}", ()).unwrap();
        assert_eq!(out.len(), 36);
        assert_eq!(&out[14..15], "5");
    }
}
