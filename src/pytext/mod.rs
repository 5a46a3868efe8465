//! Text as Python, Ansible and Jinja write and read it, which is how Ansible's results,
//! templates and commands look: `str()` and `repr()`, `json.dumps`, `shlex.quote`,
//! `time.strftime`, Ansible's boolean words, and Jinja's markers. Every layer uses them; they
//! depend on nothing else of steward's.

pub mod json;

use serde_json::Value;

/// `shlex.quote`.
pub fn shell_quote(s: &str) -> String {
    if s.is_empty() {
        return "''".into();
    }
    // Byte by byte: whole scripts go through here (the connection's shell gets each as one
    // quoted word).
    let safe = |b: &u8| b.is_ascii_alphanumeric() || b"@%+=:,./-_".contains(b);
    if s.bytes().all(|b| safe(&b)) {
        return s.to_string();
    }
    let quotes = s.bytes().filter(|b| *b == b'\'').count();
    let mut out = String::with_capacity(s.len() + 2 + quotes * 4);
    out.push('\'');
    let mut parts = s.split('\'');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for part in parts {
        out.push_str("'\"'\"'");
        out.push_str(part);
    }
    out.push('\'');
    out
}

/// Python's `repr(float)`: shortest round-trip digits, exponent form below 1e-4 and from 1e16.
pub fn py_float_repr(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if f < 0.0 { "-" } else { "" };
    let point = exp + 1;
    if !(-4 < point && point <= 16) {
        let (first, rest) = digits.split_at(1);
        let m = if rest.is_empty() { first.to_string() } else { format!("{first}.{rest}") };
        let es = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{m}e{es}{:02}", exp.abs());
    }
    let n = digits.len() as i32;
    let body = if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point >= n {
        format!("{digits}{}.0", "0".repeat((point - n) as usize))
    } else {
        format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
    };
    format!("{sign}{body}")
}

/// Python's `json.dumps` with its default separators, so rendered files match Ansible's.
pub fn py_json(v: &Value, indent: Option<usize>, sort: bool) -> String {
    py_json_spaced(v, indent, sort, true)
}

/// As [`py_json`]; `space` false leaves out the space after commas (`ansible -o` prints that).
pub fn py_json_spaced(v: &Value, indent: Option<usize>, sort: bool, space: bool) -> String {
    json::dumps(v, &json::Layout::python(indent, sort, space))
}

/// Text of a rendered value, as Ansible would print it into a string.
pub fn to_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_str(other),
    }
}

/// `str(value)` in Python: strings bare, everything else as its repr.
pub fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

pub fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => {
            if n.is_f64() {
                let f = n.as_f64().unwrap_or(0.0);
                if f.fract() == 0.0 && f.abs() < 1e16 {
                    format!("{f:.1}")
                } else {
                    f.to_string()
                }
            } else {
                n.to_string()
            }
        }
        Value::String(s) => quote(s),
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => {
            format!("{{{}}}", m.iter().map(|(k, v)| format!("{}: {}", quote(k), py_repr(v))).collect::<Vec<_>>().join(", "))
        }
    }
}

fn quote(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

/// `strftime` through the C library, as Python's `time.strftime` does.
pub fn format_time(fmt: &str, secs: i64, utc: bool) -> String {
    let t = secs as libc::time_t;
    // SAFETY: an all-zero `tm` is a valid value of this plain C struct.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the duration of the call.
    unsafe {
        if utc {
            libc::gmtime_r(&t, &mut tm);
        } else {
            libc::localtime_r(&t, &mut tm);
        }
    }
    let Ok(cfmt) = std::ffi::CString::new(fmt) else { return String::new() };
    let mut buf = vec![0u8; 4096];
    // SAFETY: the buffer's length is passed; strftime writes at most that many bytes.
    let n = unsafe { libc::strftime(buf.as_mut_ptr() as *mut libc::c_char, buf.len(), cfmt.as_ptr(), &tm) };
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Ansible's boolean reading of module arguments and keywords (also `y`, `t`, `1.0`).
pub fn ansible_bool(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() == Some(1.0),
        Value::String(s) => matches!(s.trim().to_ascii_lowercase().as_str(), "yes" | "on" | "1" | "true" | "y" | "t" | "1.0"),
        _ => false,
    }
}

/// Whether a string holds Jinja markup, so it is rendered rather than taken as it is.
pub fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// A string that renders to exactly `s`, whatever it holds (`!unsafe` values).
pub fn literal_template(s: &str) -> String {
    if !is_template(s) {
        return s.to_string();
    }
    format!("{{{{ {} }}}}", serde_json::Value::String(s.to_string()))
}
