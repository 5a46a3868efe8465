//! Jinja's `format` filter, which is Python's `%` operator: `'%s-%r' | format(a, b)`,
//! `'%(name)s' | format(name=x)`, `%05.1f`, `%x`, with Python's `repr` for `%r` and its errors
//! for wrong argument counts and types.

use serde_json::Value;

use super::{py_repr, py_type_name};
use crate::template::to_text;

/// Where the values come from: a tuple of positionals or a mapping of names.
pub enum Args<'a> {
    Positional(&'a [Value]),
    Named(&'a serde_json::Map<String, Value>),
}

struct Spec {
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    alt: bool,
    width: usize,
    precision: Option<usize>,
}

pub fn format(fmt: &str, args: Args) -> Result<String, String> {
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = String::new();
    let mut next = 0usize;
    let mut i = 0;
    let mut take = |key: Option<&str>| -> Result<Value, String> {
        match (&args, key) {
            (Args::Named(m), Some(k)) => m.get(k).cloned().ok_or_else(|| format!("'{k}'")),
            (Args::Named(_), None) => Err("format requires a mapping".into()),
            (Args::Positional(_), Some(_)) => Err("format requires a mapping".into()),
            (Args::Positional(p), None) => {
                let v = p.get(next).cloned().ok_or_else(|| "not enough arguments for format string".to_string())?;
                next += 1;
                Ok(v)
            }
        }
    };
    while i < chars.len() {
        if chars[i] != '%' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        i += 1;
        let mut key = None;
        if chars.get(i) == Some(&'(') {
            let close = chars[i..].iter().position(|c| *c == ')').ok_or("incomplete format key")?;
            key = Some(chars[i + 1..i + close].iter().collect::<String>());
            i += close + 1;
        }
        let mut s = Spec { left: false, zero: false, plus: false, space: false, alt: false, width: 0, precision: None };
        while let Some(&f) = chars.get(i) {
            match f {
                '-' => s.left = true,
                '0' => s.zero = true,
                '+' => s.plus = true,
                ' ' => s.space = true,
                '#' => s.alt = true,
                _ => break,
            }
            i += 1;
        }
        let number = |i: &mut usize, take: &mut dyn FnMut(Option<&str>) -> Result<Value, String>| -> Result<Option<usize>, String> {
            if chars.get(*i) == Some(&'*') {
                *i += 1;
                return match take(None)? {
                    Value::Number(n) if n.is_i64() => Ok(Some(n.as_i64().unwrap_or(0).max(0) as usize)),
                    _ => Err("* wants int".into()),
                };
            }
            let start = *i;
            while chars.get(*i).is_some_and(char::is_ascii_digit) {
                *i += 1;
            }
            Ok(if *i > start { chars[start..*i].iter().collect::<String>().parse().ok() } else { None })
        };
        s.width = number(&mut i, &mut take)?.unwrap_or(0);
        if chars.get(i) == Some(&'.') {
            i += 1;
            s.precision = Some(number(&mut i, &mut take)?.unwrap_or(0));
        }
        while matches!(chars.get(i), Some('h' | 'l' | 'L')) {
            i += 1;
        }
        let Some(&conv) = chars.get(i) else { return Err("incomplete format".into()) };
        i += 1;
        if conv == '%' {
            out.push('%');
            continue;
        }
        let v = take(key.as_deref())?;
        out.push_str(&convert(conv, &v, &s)?);
    }
    if let Args::Positional(p) = args {
        if next < p.len() {
            return Err("not all arguments converted during string formatting".into());
        }
    }
    Ok(out)
}

fn pad(body: String, sign: &str, s: &Spec, numeric: bool) -> String {
    let len = sign.chars().count() + body.chars().count();
    if len >= s.width {
        return format!("{sign}{body}");
    }
    let fill = s.width - len;
    if s.left {
        format!("{sign}{body}{}", " ".repeat(fill))
    } else if s.zero && numeric {
        format!("{sign}{}{body}", "0".repeat(fill))
    } else {
        format!("{}{sign}{body}", " ".repeat(fill))
    }
}

fn sign_of(negative: bool, s: &Spec) -> &'static str {
    if negative {
        "-"
    } else if s.plus {
        "+"
    } else if s.space {
        " "
    } else {
        ""
    }
}

fn as_int(v: &Value, conv: char, real_ok: bool) -> Result<i128, String> {
    match v {
        Value::Bool(b) => Ok(*b as i128),
        Value::Number(n) if n.is_f64() && real_ok => Ok(n.as_f64().unwrap_or(0.0).trunc() as i128),
        Value::Number(n) if !n.is_f64() => Ok(n.as_i64().map(i128::from).or(n.as_u64().map(i128::from)).unwrap_or(0)),
        other => {
            let kind = if real_ok { "a real number" } else { "an integer" };
            Err(format!("%{conv} format: {kind} is required, not {}", py_type_name(other)))
        }
    }
}

fn as_float(v: &Value) -> Result<f64, String> {
    match v {
        Value::Bool(b) => Ok(*b as i64 as f64),
        Value::Number(n) => Ok(n.as_f64().unwrap_or(0.0)),
        other => Err(format!("must be real number, not {}", py_type_name(other))),
    }
}

/// `%e` with Python's two-digit exponent.
fn exp_form(f: f64, precision: usize, upper: bool, alt: bool) -> String {
    let s = format!("{:.*e}", precision, f);
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    let m = if alt && precision == 0 { format!("{m}.") } else { m.to_string() };
    let out = format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    if upper {
        out.to_uppercase()
    } else {
        out
    }
}

/// `%g`: fixed or exponent form by the exponent, trailing zeros removed unless `#`.
fn general(f: f64, precision: usize, upper: bool, alt: bool) -> String {
    let p = precision.max(1);
    if f == 0.0 {
        return if alt { format!("{:.*}", p - 1, 0.0) } else { "0".into() };
    }
    let sci = format!("{:.*e}", p - 1, f);
    let exp: i32 = sci.split_once('e').and_then(|(_, e)| e.parse().ok()).unwrap_or(0);
    let strip = |t: String| -> String {
        if alt || !t.contains('.') {
            return t;
        }
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    if -4 <= exp && exp < p as i32 {
        strip(format!("{:.*}", (p as i32 - 1 - exp).max(0) as usize, f))
    } else {
        let e = exp_form(f, p - 1, upper, alt);
        let (m, rest) = e.split_once(if upper { 'E' } else { 'e' }).unwrap_or((&e, ""));
        format!("{}{}{rest}", strip(m.to_string()), if upper { 'E' } else { 'e' })
    }
}

fn convert(conv: char, v: &Value, s: &Spec) -> Result<String, String> {
    Ok(match conv {
        's' | 'r' | 'a' => {
            let mut t = if conv == 's' { to_text(v) } else { py_repr(v) };
            if conv == 'a' {
                t = t.chars().map(|c| if c.is_ascii() { c.to_string() } else { format!("\\x{:02x}", c as u32) }).collect();
            }
            if let Some(p) = s.precision {
                t = t.chars().take(p).collect();
            }
            pad(t, "", s, false)
        }
        'd' | 'i' | 'u' => {
            let n = as_int(v, conv, true)?;
            pad(n.unsigned_abs().to_string(), sign_of(n < 0, s), s, true)
        }
        'x' | 'X' | 'o' => {
            let n = as_int(v, conv, false)?;
            let (body, prefix) = match conv {
                'x' => (format!("{:x}", n.unsigned_abs()), "0x"),
                'X' => (format!("{:X}", n.unsigned_abs()), "0X"),
                _ => (format!("{:o}", n.unsigned_abs()), "0o"),
            };
            let sign = format!("{}{}", sign_of(n < 0, s), if s.alt { prefix } else { "" });
            pad(body, &sign, s, true)
        }
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => {
            let f = as_float(v)?;
            let p = s.precision.unwrap_or(6);
            let body = if f.is_nan() {
                "nan".to_string()
            } else if f.is_infinite() {
                "inf".to_string()
            } else {
                match conv {
                    'e' | 'E' => exp_form(f.abs(), p, conv == 'E', s.alt),
                    'f' | 'F' => format!("{:.*}", p, f.abs()),
                    _ => general(f.abs(), p, conv == 'G', s.alt),
                }
            };
            let body = if conv.is_ascii_uppercase() { body.to_uppercase() } else { body };
            pad(body, sign_of(f.is_sign_negative() && !f.is_nan(), s), s, f.is_finite())
        }
        'c' => {
            let c = match v {
                Value::Number(n) if n.is_i64() => {
                    char::from_u32(n.as_i64().unwrap_or(0) as u32).ok_or("%c arg not in range(0x110000)")?.to_string()
                }
                Value::String(t) if t.chars().count() == 1 => t.clone(),
                _ => return Err("%c requires an int or a unicode character, not a string of length != 1".into()),
            };
            pad(c, "", s, false)
        }
        other => return Err(format!("unsupported format character '{other}' (0x{:x})", other as u32)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(fmt: &str, args: Value) -> String {
        match args {
            Value::Object(m) => format(fmt, Args::Named(&m)),
            Value::Array(a) => format(fmt, Args::Positional(&a)),
            _ => unreachable!(),
        }
        .unwrap_or_else(|e| format!("ERR {e}"))
    }

    // Expected strings: Python 3.11 through ansible-core's `format` filter.
    #[test]
    fn python_percent_format() {
        assert_eq!(f("%s-%r", json!(["a", "b"])), "a-'b'");
        assert_eq!(f("%d %5.2f %x %o %e", json!([3, 2.5, 255, 8, 12345.678])), "3  2.50 ff 10 1.234568e+04");
        assert_eq!(f("%r", json!([[1, "a", null, true]])), "[1, 'a', None, True]");
        assert_eq!(f("%s", json!([{"a": 1}])), "{'a': 1}");
        assert_eq!(f("%(a)s", json!({"a": 1})), "1");
        assert_eq!(f("%-5s|", json!(["ab"])), "ab   |");
        assert_eq!(f("%c", json!([65])), "A");
        assert_eq!(f("%05d|%+d|%#x|%g|%g|%.3g", json!([42, 5, 255, 0.0001, 1e20, 1234.5])), "00042|+5|0xff|0.0001|1e+20|1.23e+03");
        assert_eq!(f("%s %s", json!(["a"])), "ERR not enough arguments for format string");
        assert_eq!(f("%s", json!(["a", "b"])), "ERR not all arguments converted during string formatting");
        assert_eq!(f("%d", json!(["x"])), "ERR %d format: a real number is required, not str");
        assert_eq!(f("100%%", json!([])), "100%");
    }
}
