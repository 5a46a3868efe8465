//! String filters: base64 and hashes, `to_uuid`, `quote`, `comment`, `split`, the `regex_*`
//! family (Python regex semantics, see `pyregex`), `strftime` and `to_datetime`.

use crate::pytext::{format_time, shell_quote};
use base64::Engine as _;
use minijinja::value::{Kwargs, Rest};
use minijinja::{Error, Value as JValue};
use serde_json::Value;
use sha1::Digest as _;

use super::pyregex::{self, PyRegex};
use super::{err, j, py_class, text, to_jinja, PyArgs};

/// Text in one of the encodings Python's codecs name, as bytes.
fn encode(s: &str, encoding: &str) -> Result<Vec<u8>, Error> {
    let enc = encoding.to_ascii_lowercase().replace('_', "-");
    Ok(match enc.as_str() {
        "utf-8" | "utf8" => s.as_bytes().to_vec(),
        "utf-16" => [0xff, 0xfe].into_iter().chain(s.encode_utf16().flat_map(u16::to_le_bytes)).collect(),
        "utf-16-le" | "utf-16le" => s.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        "utf-16-be" | "utf-16be" => s.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        "latin-1" | "latin1" | "iso-8859-1" | "ascii" | "us-ascii" => {
            let max = if enc.contains("ascii") { 0x7f } else { 0xff };
            s.chars()
                .map(|c| u8::try_from(c as u32).ok().filter(|b| *b <= max))
                .collect::<Option<Vec<u8>>>()
                .ok_or_else(|| err(format!("'{encoding}' codec can't encode the text")))?
        }
        _ => return Err(err(format!("unknown encoding: {encoding}"))),
    })
}

fn decode(b: &[u8], encoding: &str) -> Result<String, Error> {
    let enc = encoding.to_ascii_lowercase().replace('_', "-");
    let utf16 = |b: &[u8], le: bool| -> String {
        let units: Vec<u16> =
            b.chunks(2)
                .map(|c| {
                    if le {
                        u16::from_le_bytes([c[0], *c.get(1).unwrap_or(&0)])
                    } else {
                        u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])
                    }
                })
                .collect();
        String::from_utf16_lossy(&units)
    };
    Ok(match enc.as_str() {
        "utf-8" | "utf8" => String::from_utf8_lossy(b).into_owned(),
        "utf-16" => match b {
            [0xfe, 0xff, rest @ ..] => utf16(rest, false),
            [0xff, 0xfe, rest @ ..] => utf16(rest, true),
            _ => utf16(b, true),
        },
        "utf-16-le" | "utf-16le" => utf16(b, true),
        "utf-16-be" | "utf-16be" => utf16(b, false),
        "latin-1" | "latin1" | "iso-8859-1" | "ascii" | "us-ascii" => b.iter().map(|x| *x as char).collect(),
        _ => return Err(err(format!("unknown encoding: {encoding}"))),
    })
}

pub fn b64encode(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("b64encode", rest, kw, &["encoding", "urlsafe"])?;
    let bytes = encode(&text(&v)?, &a.string_or(0, "utf-8")?)?;
    let out = if a.get(1).is_some_and(|u| u.is_true()) {
        base64::engine::general_purpose::URL_SAFE.encode(bytes)
    } else {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    Ok(JValue::from(out))
}

pub fn b64decode(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("b64decode", rest, kw, &["encoding", "urlsafe"])?;
    let urlsafe = a.get(1).is_some_and(|u| u.is_true());
    // Python drops characters outside the alphabet, but wants the padding.
    let alphabet = |c: char| c.is_ascii_alphanumeric() || c == '=' || if urlsafe { c == '-' || c == '_' } else { c == '+' || c == '/' };
    let clean: String = text(&v)?.chars().filter(|c| alphabet(*c)).collect();
    let engine = if urlsafe { &base64::engine::general_purpose::URL_SAFE } else { &base64::engine::general_purpose::STANDARD };
    let bytes = engine.decode(clean.as_bytes()).map_err(|e| {
        err(match e {
            base64::DecodeError::InvalidPadding | base64::DecodeError::InvalidLength(_) => "Incorrect padding".to_string(),
            other => other.to_string(),
        })
    })?;
    Ok(JValue::from(decode(&bytes, &a.string_or(0, "utf-8")?)?))
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

pub fn hash(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("hash", rest, kw, &["hashtype"])?;
    let algo = a.string_or(0, "sha1")?;
    let name = algo.to_ascii_lowercase().replace('-', "");
    hex_digest(&name, text(&v)?.as_bytes()).map(JValue::from).ok_or_else(|| err(format!("unsupported hash type {algo}")))
}

pub fn to_uuid(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("to_uuid", rest, kw, &["namespace"])?;
    let ns = match a.get(0) {
        None => "361E6D51-FAEC-444A-9079-341386DA8E2E".to_string(),
        Some(n) => match j(&n)? {
            Value::String(s) => s,
            other => {
                let t = super::py_type_name(&other);
                return Err(err(format!("Invalid value '{}' for 'namespace': '{t}' object has no attribute 'replace'", text(&n)?)));
            }
        },
    };
    let hexs: String = ns.trim_start_matches("urn:").trim_start_matches("uuid:").replace(['{', '}', '-'], "");
    if hexs.len() != 32 || !hexs.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(err(format!("Invalid value '{ns}' for 'namespace': badly formed hexadecimal UUID string")));
    }
    let mut data: Vec<u8> = (0..16).map(|i| u8::from_str_radix(&hexs[2 * i..2 * i + 2], 16).unwrap_or(0)).collect();
    data.extend_from_slice(text(&v)?.as_bytes());
    let h = sha1::Sha1::digest(&data);
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(JValue::from(format!("{}-{}-{}-{}-{}", &x[0..8], &x[8..12], &x[12..16], &x[16..20], &x[20..32])))
}

pub fn quote(v: JValue) -> Result<String, Error> {
    Ok(if v.is_none() { "''".into() } else { shell_quote(&text(&v)?) })
}

/// Ansible's `comment`: a style's beginning, decoration and end, every part overridable.
pub fn comment(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::any("comment", rest, kw)?;
    let style = match a.get_any(0, "style") {
        Some(s) => text(&s)?,
        None => "plain".into(),
    };
    let (beginning, decoration, end) = match style.as_str() {
        "plain" => ("", "# ", ""),
        "erlang" => ("", "% ", ""),
        "c" => ("", "// ", ""),
        "cblock" => ("/*", " * ", " */"),
        "xml" => ("<!--", " - ", "-->"),
        _ => {
            return Err(err(format!(
                "Invalid style {}. Available styles: plain, erlang, c, cblock, xml",
                super::py_repr(&Value::from(style.as_str()))
            )))
        }
    };
    let get = |k: &str, d: &str| -> Result<String, Error> {
        match a.keyword(k) {
            Some(x) => text(&x),
            None => Ok(d.to_string()),
        }
    };
    let count = |k: &str| -> Result<usize, Error> {
        match a.keyword(k) {
            Some(x) => Ok(x.as_i64().or_else(|| text(&x).ok().and_then(|t| t.trim().parse().ok())).unwrap_or(1).max(0) as usize),
            None => Ok(1),
        }
    };
    let prepost = get("decoration", decoration)?;
    let newline = get("newline", "\n")?;
    let beginning = get("beginning", beginning)?;
    let prefix = get("prefix", prepost.trim_end())?;
    let postfix = get("postfix", prepost.trim_end())?;
    let decoration = get("decoration", decoration)?;
    let end = get("end", end)?;
    let body = text(&v)?;
    let mut out = String::new();
    if !beginning.is_empty() {
        out += &beginning;
        out += &newline;
    }
    if !prefix.is_empty() {
        let one = if prefix != newline { format!("{prefix}{newline}") } else { newline.clone() };
        out += &one.repeat(count("prefix_count")?);
    }
    let decorated = format!("{decoration}{}", body.replace(&newline, &format!("{newline}{decoration}")));
    out += &decorated.replace(&format!("{decoration}{newline}"), &format!("{}{newline}", decoration.trim_end()));
    for _ in 0..count("postfix_count")? {
        out += &newline;
        out += &postfix;
    }
    if !end.is_empty() {
        out += &newline;
        out += &end;
    }
    Ok(JValue::from(out))
}

/// `str.split(sep=None, maxsplit=-1)`.
pub fn split(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("split", rest, kw, &["sep", "maxsplit"])?;
    let s = text(&v)?;
    let max = a.get(1).and_then(|m| m.as_i64()).unwrap_or(-1);
    let limit = if max < 0 { usize::MAX } else { max as usize + 1 };
    let parts: Vec<String> = match a.get(0).filter(|x| !x.is_none()) {
        Some(sep) => {
            let sep = text(&sep)?;
            if sep.is_empty() {
                return Err(err("empty separator"));
            }
            s.splitn(limit, sep.as_str()).map(str::to_string).collect()
        }
        None => {
            // Runs of whitespace separate; the remainder after `maxsplit` keeps its inner spaces.
            let mut out = Vec::new();
            let mut rest = s.trim_start();
            while !rest.is_empty() {
                if out.len() + 1 == limit {
                    out.push(rest.trim_end().to_string());
                    break;
                }
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                out.push(rest[..end].to_string());
                rest = rest[end..].trim_start();
            }
            out
        }
    };
    Ok(to_jinja(&Value::from(parts)))
}

fn regex_flags(a: &PyArgs, ic: usize, ml: usize) -> (bool, bool) {
    (a.get(ic).is_some_and(|x| x.is_true()), a.get(ml).is_some_and(|x| x.is_true()))
}

pub fn regex_replace(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("regex_replace", rest, kw, &["pattern", "replacement", "ignorecase", "multiline", "count", "mandatory_count"])?;
    let s = text(&v)?;
    let pattern = a.string_or(0, "")?;
    let replacement = a.string_or(1, "")?;
    let (ic, ml) = regex_flags(&a, 2, 3);
    let count = a.get(4).and_then(|c| c.as_i64()).unwrap_or(0).max(0) as usize;
    let mandatory = a.get(5).and_then(|c| c.as_i64()).unwrap_or(0);
    let re = PyRegex::new(&pattern, ic, ml)?;
    let (out, subs) = pyregex::sub(&re, &replacement, &s, count)?;
    if mandatory != 0 && mandatory != subs as i64 {
        // Ansible's message reports `count` where it means the number of matches.
        return Err(err(format!("'{pattern}' should match {mandatory} times, but matches {count} times in '{s}'")));
    }
    Ok(JValue::from(out))
}

pub fn regex_search(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::any("regex_search", rest, kw)?;
    let s = text(&v)?;
    let pattern =
        text(&a.positional().first().cloned().ok_or_else(|| err("regex_search() missing 1 required positional argument: 'regex'"))?)?;
    enum G {
        Num(usize),
        Name(String),
    }
    let mut groups = Vec::new();
    for g in a.positional().iter().skip(1) {
        let g = text(g)?;
        if let Some(name) = g.strip_prefix("\\g<").and_then(|x| x.split('>').next()) {
            groups.push(G::Name(name.to_string()));
        } else if let Some(n) = g.strip_prefix('\\') {
            let digits: String = n.chars().take_while(char::is_ascii_digit).collect();
            groups.push(G::Num(digits.parse().map_err(|_| err("'NoneType' object has no attribute 'group'"))?));
        } else {
            return Err(err("Unknown argument"));
        }
    }
    let ic = a.keyword("ignorecase").is_some_and(|x| x.is_true());
    let ml = a.keyword("multiline").is_some_and(|x| x.is_true());
    let re = PyRegex::new(&pattern, ic, ml)?;
    let Some(spans) = re.first(&s)? else { return Ok(JValue::from(())) };
    let group = |i: usize| -> Result<Value, Error> {
        match spans.get(i) {
            Some(Some((b, e))) => Ok(Value::from(&s[*b..*e])),
            Some(None) => Ok(Value::Null),
            None => Err(err("no such group")),
        }
    };
    if groups.is_empty() {
        return Ok(to_jinja(&group(0)?));
    }
    let mut out = Vec::new();
    for g in groups {
        let i = match g {
            G::Num(n) => n,
            G::Name(name) => re.group_index(&name).ok_or_else(|| err("no such group"))?,
        };
        out.push(group(i)?);
    }
    Ok(to_jinja(&Value::Array(out)))
}

pub fn regex_findall(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("regex_findall", rest, kw, &["regex", "multiline", "ignorecase"])?;
    let s = text(&v)?;
    let (ml, ic) = regex_flags(&a, 1, 2);
    let re = PyRegex::new(&a.string_or(0, "")?, ic, ml)?;
    let n = re.groups();
    let piece = |sp: &Option<(usize, usize)>| Value::from(sp.map(|(b, e)| &s[b..e]).unwrap_or(""));
    let out: Vec<Value> = re
        .find_all(&s, 0)?
        .iter()
        .map(|spans| match n {
            0 => piece(&spans[0]),
            1 => piece(&spans[1]),
            _ => Value::Array(spans[1..].iter().map(piece).collect()),
        })
        .collect();
    Ok(to_jinja(&Value::Array(out)))
}

pub fn regex_escape(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("regex_escape", rest, kw, &["re_type"])?;
    let s = text(&v)?;
    match a.string_or(0, "python")?.as_str() {
        "python" => Ok(JValue::from(pyregex::escape(&s))),
        "posix_basic" => {
            let re = PyRegex::new(r"([].[^$*\\])", false, false)?;
            Ok(JValue::from(pyregex::sub(&re, r"\\\1", &s, 0)?.0))
        }
        "posix_extended" => Err(err("Regex type (posix_extended) not yet implemented")),
        other => Err(err(format!("Invalid regex type ({other})"))),
    }
}

pub fn strftime(fmt: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("strftime", rest, kw, &["second", "utc"])?;
    let utc = a.get(1).is_some_and(|u| u.is_true());
    let secs = match a.get(0).filter(|s| !s.is_none()) {
        Some(s) => {
            let v = j(&s)?;
            let n = match &v {
                Value::Number(n) => n.as_f64(),
                Value::Bool(b) => Some(*b as i64 as f64),
                Value::String(t) => t.trim().parse::<f64>().ok(),
                _ => None,
            };
            n.ok_or_else(|| err(format!("Invalid value for epoch value ({})", crate::template::to_text(&v))))?.floor() as i64
        }
        None => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0),
    };
    Ok(JValue::from(format_time(&text(&fmt)?, secs, utc)))
}

/// Seconds since the epoch (UTC) for a date string in the given format: comparable and
/// subtractable, which is what playbooks do with Python's datetime objects.
pub fn to_datetime(v: JValue, rest: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let a = PyArgs::new("to_datetime", rest, kw, &["format"])?;
    let s = text(&v)?;
    let fmt = a.string_or(0, "%Y-%m-%d %H:%M:%S")?;
    // SAFETY: an all-zero `tm` is a valid value of this plain C struct.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let (Ok(cs), Ok(cf)) = (std::ffi::CString::new(s.clone()), std::ffi::CString::new(fmt.clone())) else {
        return Err(err("embedded null character"));
    };
    // SAFETY: valid C strings and a zeroed tm.
    let r = unsafe { libc::strptime(cs.as_ptr(), cf.as_ptr(), &mut tm) };
    // SAFETY: `r` points into `cs` when not null.
    if r.is_null() || unsafe { *r } != 0 {
        return Err(err(format!("time data '{s}' does not match format '{fmt}'")));
    }
    // SAFETY: tm was filled by strptime.
    let secs = unsafe { libc::timegm(&mut tm) };
    Ok(JValue::from(secs as i64))
}

/// Jinja's `url_quote`: percent-encoding of UTF-8, `/` kept outside query strings, and a
/// space as `+` inside them.
fn url_quote(v: &Value, for_qs: bool) -> String {
    let s = crate::template::to_text(v);
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) || (!for_qs && b == b'/') {
            out.push(b as char);
        } else if for_qs && b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Jinja's `urlencode`: a string is quoted; a mapping or a list of pairs becomes a query.
pub fn urlencode(v: JValue) -> Result<JValue, Error> {
    let pairs: Vec<(Value, Value)> = match j(&v)? {
        Value::Object(m) => m.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Array(kv) if kv.len() == 2 => Ok((kv[0].clone(), kv[1].clone())),
                Value::Array(kv) => Err(err(format!("too many values to unpack (expected 2, got {})", kv.len()))),
                other => Err(err(format!("cannot unpack non-iterable {} object", super::py_type_name(&other)))),
            })
            .collect::<Result<_, _>>()?,
        scalar => return Ok(JValue::from(url_quote(&scalar, false))),
    };
    let parts: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", url_quote(k, true), url_quote(v, true))).collect();
    Ok(JValue::from(parts.join("&")))
}

/// `path_join`: a string is itself, a sequence is `os.path.join(*paths)`.
pub fn path_join(v: JValue) -> Result<JValue, Error> {
    match j(&v)? {
        Value::String(s) => Ok(JValue::from(s)),
        Value::Array(parts) => {
            let parts: Vec<String> = parts
                .iter()
                .map(|p| match p {
                    Value::String(s) => Ok(s.clone()),
                    other => {
                        Err(err(format!("join() argument must be str, bytes, or os.PathLike object, not '{}'", super::py_type_name(other))))
                    }
                })
                .collect::<Result<_, _>>()?;
            Ok(JValue::from(super::paths::join(&parts)))
        }
        other => Err(err(format!("|path_join expects string or sequence, got {} instead.", py_class(&other)))),
    }
}

#[cfg(test)]
mod tests {
    use crate::template::env;

    fn r(t: &str) -> String {
        env().render_str(t, ()).unwrap_or_else(|e| format!("ERR {}", e.detail().unwrap_or("")))
    }

    // Expected strings: ansible-core 2.19.14's filter_core integration target and its output.
    #[test]
    fn core_text_filters() {
        assert_eq!(r(r#"{{ "boo!"|comment }}"#), "#\n# boo!\n#");
        assert_eq!(r(r#"{{ "boo!"|comment(decoration="-- ") }}"#), "--\n-- boo!\n--");
        assert_eq!(r(r#"{{ "boo!"|comment(style="cblock") }}"#), "/*\n *\n * boo!\n *\n */");
        assert_eq!(r(r#"{{ "boo!"|comment(decoration="") }}"#), "boo!\n");
        assert_eq!(r(r#"{{ "boo!"|comment(prefix="\n", prefix_count=3) }}"#), "\n\n\n# boo!\n#");
        assert!(r(r#"{{ "boo"|comment(style="invalid") }}"#).contains("Invalid style"));
        assert_eq!(r("{{ 'Ansible - くらとみ\n' | b64encode }}"), "QW5zaWJsZSAtIOOBj+OCieOBqOOBvwo=");
        assert_eq!(r("{{ 'Ansible - くらとみ\n' | b64encode(encoding='utf-16-le') }}"), "QQBuAHMAaQBiAGwAZQAgAC0AIABPMIkwaDB/MAoA");
        assert_eq!(r("{{ 'QQBuAHMAaQBiAGwAZQAgAC0AIABPMIkwaDB/MAoA' | b64decode(encoding='utf-16-le') }}"), "Ansible - くらとみ\n");
        assert_eq!(r("{{ 'https://www.python.org/example-1' | b64encode(urlsafe=True) }}"), "aHR0cHM6Ly93d3cucHl0aG9uLm9yZy9leGFtcGxlLTE=");
        assert_eq!(r("{{ 'x' | b64encode(encoding='utf-16') }}"), "//54AA==");
        assert!(r("{{ 'aGk' | b64decode }}").contains("Incorrect padding"));
        assert_eq!(r(r#"{{ "café" | hash("sha1") }}"#), "f424452a9673918c6f09b0cdd35b20be8e6ae7d7");
        assert!(r("{{ 'hash' | hash('unsupported_hash_type') }}").contains("unsupported hash type"));
        assert_eq!(r(r#"{{ "monkeys"|to_uuid }}"#), "0d03a178-da0f-5b51-934e-cda9c76578c3");
        assert_eq!(r("{{ 'hey'|to_uuid(namespace='6ba7b810-9dad-11d1-80b4-00c04fd430c8') }}"), "f58ed97c-abb8-5d81-b495-7d0107f448f5");
        assert!(r(r#"{{ "hey"|to_uuid(namespace=22) }}"#).contains("Invalid value"));
        assert_eq!(r("{{ none | quote }}"), "''");
        assert_eq!(r("{{ '%Y-%m-%d'|strftime(1585247522) }}"), "2020-03-26");
        assert_eq!(r("{{ '%Y-%m-%d'|strftime('1585247522.0', utc=True) }}"), "2020-03-26");
        assert!(r("{{ '%Y'|strftime('foo') }}").contains("Invalid value for epoch value (foo)"));
        assert_eq!(r("{{ '1,2,,3' | split(',') }}"), "['1', '2', '', '3']");
        assert_eq!(r("{{ ' a b  c ' | split }}"), "['a', 'b', 'c']");
        assert_eq!(r("{{ 'a-b-c' | split('-', 1) }}"), "['a', 'b-c']");
        assert_eq!(r("{{ 'a b&c=d/é' | urlencode }}"), "a%20b%26c%3Dd/%C3%A9");
        assert_eq!(r("{{ {'a': 'b c', 'd': 'é/'} | urlencode }}"), "a=b+c&d=%C3%A9%2F");
        assert_eq!(r("{{ () | urlencode }}"), "");
        assert!(r("{{ [1, 2] | urlencode }}").contains("cannot unpack non-iterable int object"));
    }

    #[test]
    fn regex_filters() {
        assert_eq!(r("{{ 'hello' | regex_search('HELLO', ignorecase=true) }}"), "hello");
        assert_eq!(r(r"{{ 'goodbye' | regex_search('(?P<first>good)(?P<second>bye)', '\\g<second>', '\\g<first>') }}"), "['bye', 'good']");
        assert_eq!(r(r"{{ 'goodbye' | regex_search('(good)(bye)', '\\2', '\\1') }}"), "['bye', 'good']");
        assert!(r("{{ 'hello' | regex_search('hello', 'unknown') }}").contains("Unknown argument"));
        assert_eq!(r(r#"{{ "foo=bar=baz"|regex_replace("=", ":", count=1) }}"#), "foo:bar=baz");
        assert_eq!(r(r#"{{ "foo=bar=baz"|regex_replace("=", ":", mandatory_count=2) }}"#), "foo:bar:baz");
        assert!(r(r#"{{ "foo=bar=baz"|regex_replace("=", ":", mandatory_count=1) }}"#).contains(" times, but matches "));
        assert_eq!(r(r#"{{ "hEllo there heLlo haha HELLO there"|regex_findall("h.... ", ignorecase=True)|length }}"#), "3");
        assert_eq!(r(r#"{{ 'car\ntar\nfoo\nbar\n' | regex_findall('^.ar$', multiline=True) }}"#), "['car', 'tar', 'bar']");
        assert_eq!(r(r#"{{ '^f.*o(.*)$' | regex_escape() }}"#), r"\^f\.\*o\(\.\*\)\$");
        assert_eq!(r(r#"{{ "]]^"|regex_escape(re_type="posix_basic") }}"#), r"\]\]\^");
        assert!(r(r#"{{ "]]^"|regex_escape(re_type="posix_extended") }}"#).contains("Regex type (posix_extended) not yet implemented"));
        assert!(r(r#"{{ "]]^"|regex_escape(re_type="haha") }}"#).contains("Invalid regex type (haha)"));
    }
}
