//! `k=v` argument strings (`copy: src=a dest=/b mode=0644`), split as Ansible splits them:
//! quotes group words, and `{{ }}`/`{% %}` are never split.

use serde_json::{Map, Value};

/// Split on whitespace outside quotes and Jinja blocks; tokens keep their quotes.
pub fn split_args(s: &str) -> Vec<String> {
    split_spans(s).into_iter().map(|(a, b)| s[a..b].to_string()).collect()
}

/// Byte ranges of the tokens of `s`.
fn split_spans(s: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start: Option<usize> = None;
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let next = chars.get(i + 1).map(|x| x.1);
        let opens = quote.is_none() && c == '{' && matches!(next, Some('{') | Some('%') | Some('#'));
        let closes = quote.is_none() && depth > 0 && matches!(c, '}' | '%' | '#') && next == Some('}');
        if opens || closes {
            start.get_or_insert(at);
            if opens {
                depth += 1;
            } else {
                depth -= 1;
            }
            i += 2;
            continue;
        }
        match quote {
            Some(q) if c == q && (i == 0 || chars[i - 1].1 != '\\') => quote = None,
            Some(_) => {}
            None if depth == 0 && (c == '"' || c == '\'') => {
                start.get_or_insert(at);
                quote = Some(c);
            }
            None if depth == 0 && c.is_whitespace() => {
                if let Some(st) = start.take() {
                    spans.push((st, at));
                }
            }
            None => {
                start.get_or_insert(at);
            }
        }
        i += 1;
    }
    if let Some(st) = start {
        spans.push((st, s.len()));
    }
    spans
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

/// Quotes around the whole value come off, nothing else (Ansible's `unquote`).
fn strip_quotes(s: &str) -> String {
    let b = s.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        return s[1..s.len() - 1].to_string();
    }
    s.to_string()
}

/// Ansible's `_decode_escapes`: `\\`, `\'`, `\"`, `\a \b \f \n \r \t \v`, `\xHH`,
/// `\uHHHH` and `\UHHHHHHHH` become the characters they name; any other backslash stays.
pub fn decode_escapes(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '\\' || i + 1 >= chars.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let n = chars[i + 1];
        let simple = match n {
            '\\' => Some('\\'),
            '\'' => Some('\''),
            '"' => Some('"'),
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            _ => None,
        };
        if let Some(ch) = simple {
            out.push(ch);
            i += 2;
            continue;
        }
        let width = match n {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            _ => 0,
        };
        let hex: String = chars.iter().skip(i + 2).take(width).collect();
        if width > 0 && hex.len() == width && hex.chars().all(|h| h.is_ascii_hexdigit()) {
            if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                out.push(ch);
                i += 2 + width;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// The key of a `k=v` token, if it is one.
fn kv_key(tok: &str) -> Option<(&str, &str)> {
    let (k, v) = tok.split_once('=')?;
    if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    Some((k, v))
}

/// As Ansible splits a token of a module that takes no free text: at the first `=` that is not
/// escaped, whatever comes before it (a templated key such as `{{ item }}=moo` too).
fn kv_any(tok: &str) -> Option<(&str, &str)> {
    let b = tok.as_bytes();
    let pos = (1..b.len()).find(|&i| b[i] == b'=' && b[i - 1] != b'\\')?;
    let k = tok[..pos].trim();
    if k.is_empty() || k.starts_with('"') || k.starts_with('\'') {
        return None;
    }
    Some((k, &tok[pos + 1..]))
}

/// Parse `k=v` pairs. With `raw_keys`, only those keys are taken as options and every other
/// word goes, as written, into `_raw_params` (command, shell, script). Without it, a word that
/// is not `k=v` also goes to `_raw_params`.
pub fn parse_kv(s: &str, raw_keys: Option<&[&str]>) -> Map<String, Value> {
    let mut out = Map::new();
    // The free text keeps its own spacing and newlines (a shell script stays a script): only
    // the option tokens are cut out of it.
    let mut raw = String::new();
    let mut last = 0;
    let mut cut = false;
    for (a, b) in split_spans(s) {
        let tok = &s[a..b];
        let kv = match raw_keys {
            Some(keys) => kv_key(tok).filter(|(k, _)| keys.contains(k)),
            None => kv_any(tok),
        };
        if let Some((k, v)) = kv {
            // As Ansible: escapes are decoded in the whole token, then the quotes come off.
            out.insert(k.to_string(), Value::String(strip_quotes(&decode_escapes(v))));
            raw.push_str(&s[last..a]);
            // The spaces after an option go with it, and so does the newline of a line it ends.
            let rest = &s[b..];
            let spaces = rest.len() - rest.trim_start_matches([' ', '\t']).len();
            last = b + spaces + usize::from(rest[spaces..].starts_with('\n'));
            cut = true;
        }
    }
    raw.push_str(&s[last..]);
    if raw.trim().is_empty() {
        return out;
    }
    // Free text (command, shell, raw) is kept as written, as Ansible keeps it, but for a
    // backslash that ends a line outside quotes: a line continuation, dropped with its newline.
    // Where options were cut out, the spaces they leave at either end go too.
    let raw = match raw_keys {
        Some(_) if !cut => join_continued_lines(&raw),
        Some(_) => join_continued_lines(raw.trim_matches(' ')),
        None => raw.trim().to_string(),
    };
    out.insert("_raw_params".into(), Value::String(raw));
    out
}

/// Drop each ` \` + newline that is outside quotes (Ansible's split_args does the same).
fn join_continued_lines(s: &str) -> String {
    if !s.contains("\\\n") {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut quote: Option<char> = None;
    let mut chars = s.chars().peekable();
    let mut prev = ' ';
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q && prev != '\\' => quote = None,
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '\\' && (prev == ' ' || prev == '\n') && chars.peek() == Some(&'\n') => {
                chars.next();
                prev = ' ';
                continue;
            }
            _ => {}
        }
        out.push(c);
        prev = c;
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
        let m = parse_kv("creates=/a\nchdir=/tmp\necho \"test\"\n", Some(&["chdir", "creates"]));
        assert_eq!(m["_raw_params"], Value::from("echo \"test\"\n"));
        let m = parse_kv("echo a chdir=/tmp b", Some(&["chdir"]));
        assert_eq!(m["_raw_params"], Value::from("echo a b"));
        let m = parse_kv("a=1\nif true; then\n  echo  x\nfi\n", Some(&["chdir"]));
        assert_eq!(m["_raw_params"], Value::from("a=1\nif true; then\n  echo  x\nfi\n"));
        // Line continuations outside quotes go; inside quotes a newline stays.
        let m = parse_kv("echo a \\\n\"b \\\nc\" \\\n| cat\n", Some(&["chdir"]));
        assert_eq!(m["_raw_params"], Value::from("echo a \"b \\\nc\" | cat\n"));
        let m = parse_kv("{{ item }}=moo", None);
        assert_eq!(m["{{ item }}"], Value::from("moo"));
        assert!(!m.contains_key("_raw_params"));
        let m = parse_kv(r"regexp='\b(.+)\b' other='\\b' x=a\=b", None);
        assert_eq!(m["regexp"], Value::from("\u{8}(.+)\u{8}"));
        assert_eq!(m["other"], Value::from("\\b"));
    }
}
