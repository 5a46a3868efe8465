//! URLs as Python's `urllib.parse` reads them: `urlsplit` and `urldecode` here, and the parts
//! the `uri`, `url` and `urn` tests look at.
//!
//! Python's splitter is lenient (anything splits; `www.acme.com` is a path), and playbooks test
//! its exact results (`port` an integer, `hostname` lower case, missing parts `None`), so this
//! follows its steps rather than a strict URL grammar.

use serde_json::{json, Map, Value};

/// `urllib.parse.urlsplit`'s five fields.
#[derive(Debug, PartialEq)]
pub struct Split {
    pub scheme: String,
    pub netloc: String,
    pub path: String,
    pub query: String,
    pub fragment: String,
}

pub fn split(url: &str) -> Result<Split, String> {
    let url: String = url.trim_start_matches(|c: char| c <= ' ').chars().filter(|c| !matches!(c, '\t' | '\r' | '\n')).collect();
    let mut rest = url.as_str();
    let mut scheme = String::new();
    if let Some(i) = rest.find(':') {
        let cand = &rest[..i];
        let first_alpha = cand.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
        if i > 0 && first_alpha && cand.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) {
            scheme = cand.to_ascii_lowercase();
            rest = &rest[i + 1..];
        }
    }
    let mut netloc = String::new();
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        netloc = after[..end].to_string();
        rest = &after[end..];
        if netloc.contains('[') != netloc.contains(']') {
            return Err("Invalid IPv6 URL".into());
        }
    }
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    Ok(Split { scheme, netloc, path: path.into(), query: query.into(), fragment: fragment.into() })
}

impl Split {
    fn userinfo(&self) -> (Option<&str>, Option<&str>) {
        match self.netloc.rsplit_once('@') {
            Some((info, _)) => match info.split_once(':') {
                Some((u, p)) => (Some(u), Some(p)),
                None => (Some(info), None),
            },
            None => (None, None),
        }
    }

    fn hostinfo(&self) -> (&str, Option<&str>) {
        let host = self.netloc.rsplit_once('@').map(|x| x.1).unwrap_or(&self.netloc);
        let (name, port) = match host.split_once('[') {
            Some((_, bracketed)) => {
                let (name, after) = bracketed.split_once(']').unwrap_or((bracketed, ""));
                (name, after.split_once(':').map(|x| x.1).unwrap_or(""))
            }
            None => host.split_once(':').unwrap_or((host, "")),
        };
        (name, Some(port).filter(|p| !p.is_empty()))
    }

    pub fn hostname(&self) -> Option<String> {
        let (name, _) = self.hostinfo();
        if name.is_empty() {
            return None;
        }
        // A zone id after `%` keeps its case.
        Some(match name.split_once('%') {
            Some((h, zone)) => format!("{}%{zone}", h.to_lowercase()),
            None => name.to_lowercase(),
        })
    }

    pub fn port(&self) -> Result<Option<u32>, String> {
        let Some(p) = self.hostinfo().1 else { return Ok(None) };
        if !p.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("Port could not be cast to integer value as '{p}'"));
        }
        match p.parse::<u32>() {
            Ok(n) if n <= 65535 => Ok(Some(n)),
            _ => Err("Port out of range 0-65535".into()),
        }
    }

    /// Every component, as the `urlsplit` filter returns them.
    pub fn to_map(&self) -> Result<Map<String, Value>, String> {
        let (user, password) = self.userinfo();
        let mut m = Map::new();
        m.insert("fragment".into(), json!(self.fragment));
        m.insert("hostname".into(), json!(self.hostname()));
        m.insert("netloc".into(), json!(self.netloc));
        m.insert("password".into(), json!(password));
        m.insert("path".into(), json!(self.path));
        m.insert("port".into(), json!(self.port()?));
        m.insert("query".into(), json!(self.query));
        m.insert("scheme".into(), json!(self.scheme));
        m.insert("username".into(), json!(user));
        Ok(m)
    }
}

/// `urllib.parse.unquote_plus`: `+` is a space, `%XX` bytes are UTF-8 (bad ones replaced),
/// a `%` without two hex digits stays.
pub fn urldecode(s: &str) -> String {
    let s = s.replace('+', " ");
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = hex {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values: ansible-core 2.19.14's urlsplit and urldecode filters.
    #[test]
    fn splits_like_python() {
        let s = split("http://mary:MySecret@www.acme.com:9000/dir/index.html?query=term#fragment").unwrap();
        let want = json!({"fragment": "fragment", "hostname": "www.acme.com", "netloc": "mary:MySecret@www.acme.com:9000",
            "password": "MySecret", "path": "/dir/index.html", "port": 9000, "query": "query=term", "scheme": "http",
            "username": "mary"});
        assert_eq!(Value::Object(s.to_map().unwrap()), want);
        let s = split("www.acme.com").unwrap();
        assert_eq!((s.scheme.as_str(), s.netloc.as_str(), s.path.as_str()), ("", "", "www.acme.com"));
        assert_eq!(s.hostname(), None);
        let s = split("http://[::1]:80/x").unwrap();
        assert_eq!((s.hostname(), s.port()), (Some("::1".into()), Ok(Some(80))));
        assert_eq!(split("HTTP://User@EXAMPLE.com/").unwrap().hostname(), Some("example.com".into()));
        assert_eq!(split("http://h:notaport/").unwrap().port().unwrap_err(), "Port could not be cast to integer value as 'notaport'");
        assert_eq!(split("http://h:99999/").unwrap().port().unwrap_err(), "Port out of range 0-65535");
        assert_eq!(split("admin:secret@example.com").unwrap().scheme, "admin");
    }

    #[test]
    fn decodes() {
        assert_eq!(urldecode("a%20b+c%2Bd"), "a b c+d");
        assert_eq!(urldecode("%E2%82%AC%zz"), "€%zz");
        assert_eq!(urldecode("100%"), "100%");
    }
}
