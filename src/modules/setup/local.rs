//! The `local` collector: `ansible_local` from the `*.fact` files under `fact_path`. An
//! executable file is run and its output read; any other file is read. The text is JSON, or
//! else INI as Python's `configparser` reads it (sections of lower-cased keys, `%` interpolation).
//! A file that fails gives its error message as its value, and a warning, as in Ansible.

use serde_json::{Map, Value};

use super::sections::Sections;

pub fn local(out: &Sections, warnings: &mut Vec<String>) -> Value {
    let mut files: Vec<(&str, &str, &str)> = Vec::new();
    for kind in ["local_nostat", "local_out", "local_file", "local_unreadable"] {
        for (path, text) in out.prefixed(kind) {
            files.push((path, kind, text));
        }
    }
    // Python's sorted(glob(...)): by code point.
    files.sort_by(|a, b| a.0.cmp(b.0));
    let mut local = Map::new();
    for (path, kind, text) in files {
        let base = path.rsplit('/').next().unwrap_or(path).replace(".fact", "");
        let fact = match kind {
            "local_nostat" => {
                let m = format!("Could not stat fact ({path}): [Errno 2] No such file or directory: '{path}'");
                warnings.push(m.clone());
                Value::String(m)
            }
            "local_out" => {
                let rc = out.get(&format!("local_rc {path}")).unwrap_or("").trim().to_string();
                if rc != "0" {
                    let err = out.get(&format!("local_err {path}")).unwrap_or("");
                    let m = format!("Failure executing fact script ({path}), rc: {rc}, err: {err}");
                    warnings.push(m.clone());
                    Value::String(m)
                } else {
                    parse_fact(path, text, warnings)
                }
            }
            // Unreadable: Ansible reads it as empty text, which is an INI file with no sections.
            "local_unreadable" => Value::Object(Map::new()),
            _ => parse_fact(path, text.trim(), warnings),
        };
        local.insert(base, fact);
    }
    Value::Object(local)
}

fn parse_fact(path: &str, text: &str, warnings: &mut Vec<String>) -> Value {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return v;
    }
    match parse_ini(text) {
        Err(_) => {
            let m = format!("error loading facts as JSON or ini - please check content: {path}");
            warnings.push(m.clone());
            Value::String(m)
        }
        Ok(ini) => {
            let mut fact = Map::new();
            for (sect, _) in &ini.sections {
                let mut o = Map::new();
                for (k, _) in ini.options(sect) {
                    match ini.get(sect, &k) {
                        Ok(v) => {
                            o.insert(k, Value::String(v));
                        }
                        // No warning here: ansible-core 2.19 shows none for this case either.
                        Err(e) => return Value::String(format!("error loading facts as ini - please check content: {path} ({e})")),
                    }
                }
                fact.insert(sect.clone(), Value::Object(o));
            }
            Value::Object(fact)
        }
    }
}

/// An INI file as `configparser.ConfigParser` (strict, default options) reads it.
#[derive(Debug, Default)]
pub struct Ini {
    defaults: Vec<(String, String)>,
    pub sections: Vec<(String, Vec<(String, String)>)>,
}

impl Ini {
    /// A section's options: its own, then the DEFAULT ones it does not override.
    fn options(&self, sect: &str) -> Vec<(String, String)> {
        let own = self.sections.iter().find(|(s, _)| s == sect).map(|(_, o)| o.clone()).unwrap_or_default();
        let mut all = own.clone();
        for (k, v) in &self.defaults {
            if !own.iter().any(|(o, _)| o == k) {
                all.push((k.clone(), v.clone()));
            }
        }
        all
    }

    fn raw(&self, sect: &str, opt: &str) -> Option<String> {
        self.options(sect).into_iter().find(|(k, _)| k == opt).map(|(_, v)| v)
    }

    /// The value with `%(name)s` and `%%` interpolated (BasicInterpolation).
    fn get(&self, sect: &str, opt: &str) -> Result<String, String> {
        let raw = self.raw(sect, opt).unwrap_or_default();
        let mut acc = String::new();
        self.interpolate(sect, opt, &raw, &raw, &mut acc, 1)?;
        Ok(acc)
    }

    fn interpolate(&self, sect: &str, opt: &str, rawval: &str, rest: &str, acc: &mut String, depth: usize) -> Result<(), String> {
        if depth > 10 {
            return Err(format!(
                "Recursion limit exceeded in value substitution: option {} in section {} contains an interpolation key which cannot be substituted in 10 steps. Raw value: {}",
                py_repr(opt),
                py_repr(sect),
                py_repr(rawval)
            ));
        }
        let mut rest = rest;
        while !rest.is_empty() {
            let Some(p) = rest.find('%') else {
                acc.push_str(rest);
                return Ok(());
            };
            acc.push_str(&rest[..p]);
            rest = &rest[p..];
            match rest.as_bytes().get(1) {
                Some(b'%') => {
                    acc.push('%');
                    rest = &rest[2..];
                }
                Some(b'(') => {
                    let close = rest.find(")s").filter(|&c| c > 2 && !rest[2..c].contains(')'));
                    let Some(c) = close else {
                        return Err(format!("bad interpolation variable reference {}", py_repr(rest)));
                    };
                    let var = rest[2..c].to_lowercase();
                    rest = &rest[c + 2..];
                    let Some(v) = self.raw(sect, &var) else {
                        return Err(format!(
                            "Bad value substitution: option {} in section {} contains an interpolation key {} which is not a valid option name. Raw value: {}",
                            py_repr(opt),
                            py_repr(sect),
                            py_repr(&var),
                            py_repr(rawval)
                        ));
                    };
                    if v.contains('%') {
                        self.interpolate(sect, opt, rawval, &v, acc, depth + 1)?;
                    } else {
                        acc.push_str(&v);
                    }
                }
                _ => return Err(format!("'%' must be followed by '%' or '(', found: {}", py_repr(rest))),
            }
        }
        Ok(())
    }
}

/// Python's repr() of a str, enough for error messages.
fn py_repr(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut o = String::new();
    o.push(q);
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            c if c == q => {
                o.push('\\');
                o.push(c);
            }
            c => o.push(c),
        }
    }
    o.push(q);
    o
}

pub fn parse_ini(text: &str) -> Result<Ini, String> {
    let mut ini = Ini::default();
    // Where the current option lives: None before any section, Some(None) in DEFAULT.
    let mut cur: Option<Option<usize>> = None;
    let mut last: Option<(usize, String)> = None; // (indent of the option line, option)
    for line in text.lines() {
        let stripped = line.trim();
        if stripped.starts_with('#') || stripped.starts_with(';') {
            continue;
        }
        if stripped.is_empty() {
            last = None;
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if let (Some(sect), Some((lvl, opt))) = (cur, &last) {
            if indent > *lvl {
                let opts = match sect {
                    None => &mut ini.defaults,
                    Some(i) => &mut ini.sections[i].1,
                };
                if let Some(e) = opts.iter_mut().find(|(k, _)| k == opt) {
                    e.1.push('\n');
                    e.1.push_str(stripped);
                }
                continue;
            }
        }
        if stripped.starts_with('[') && stripped.ends_with(']') && stripped.len() > 2 {
            let name = &stripped[1..stripped.len() - 1];
            if name == "DEFAULT" {
                cur = Some(None);
            } else {
                if ini.sections.iter().any(|(s, _)| s == name) {
                    return Err(format!("section {} already exists", py_repr(name)));
                }
                ini.sections.push((name.to_string(), Vec::new()));
                cur = Some(Some(ini.sections.len() - 1));
            }
            last = None;
            continue;
        }
        let Some(sect) = cur else {
            return Err("File contains no section headers.".into());
        };
        let Some(p) = stripped.find(['=', ':']) else {
            return Err("Source contains parsing errors".into());
        };
        let key = stripped[..p].trim_end().to_lowercase();
        let value = stripped[p + 1..].trim().to_string();
        let opts = match sect {
            None => &mut ini.defaults,
            Some(i) => &mut ini.sections[i].1,
        };
        if opts.iter().any(|(k, _)| *k == key) {
            return Err(format!("option {} already exists", py_repr(&key)));
        }
        opts.push((key.clone(), value));
        last = Some((indent, key));
    }
    Ok(ini)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(text: &str) -> (Value, Vec<String>) {
        let mut w = Vec::new();
        let out = Sections::parse(text);
        (local(&out, &mut w), w)
    }

    #[test]
    fn facts_d_as_ansible_reads_it() {
        let d = "/tmp/f";
        let text = format!(
            "\n\u{1e}local_dir\n\n\u{1e}local_file {d}/preferences.fact\n[general]\nbar=loaded\nWontBeSeen = ever\n\
             \n\u{1e}local_file {d}/bad.fact\n[bad fact]\nvalue = this is a % bad % fact\n\
             \n\u{1e}local_file {d}/unreadable.fact\nwontbeseen=ever\n\
             \n\u{1e}local_nostat {d}/dead_symlink.fact\n\
             \n\u{1e}local_out {d}/goodscript.fact\n{{\"script_ran\": true}}\n\u{1e}local_rc {d}/goodscript.fact\n0\n\u{1e}local_err {d}/goodscript.fact\n\
             \n\u{1e}local_out {d}/basdscript.fact\n\u{1e}local_rc {d}/basdscript.fact\n1\n\u{1e}local_err {d}/basdscript.fact\n"
        );
        let (l, w) = facts(&text);
        assert_eq!(l["preferences"]["general"]["bar"], "loaded");
        assert_eq!(l["preferences"]["general"]["wontbeseen"], "ever");
        assert_eq!(l["goodscript"]["script_ran"], true);
        assert_eq!(l["basdscript"], format!("Failure executing fact script ({d}/basdscript.fact), rc: 1, err: "));
        assert_eq!(l["unreadable"], format!("error loading facts as JSON or ini - please check content: {d}/unreadable.fact"));
        assert!(l["dead_symlink"].as_str().unwrap().starts_with("Could not stat fact"));
        assert_eq!(
            l["bad"],
            format!("error loading facts as ini - please check content: {d}/bad.fact ('%' must be followed by '%' or '(', found: '% bad % fact')")
        );
        assert_eq!(
            l.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["bad", "basdscript", "dead_symlink", "goodscript", "preferences", "unreadable"]
        );
        assert_eq!(w.len(), 3);
    }

    #[test]
    fn ini_interpolation_and_defaults() {
        let ini = parse_ini("[DEFAULT]\nbase = /srv\n[app]\ndir = %(base)s/app\npct = 100%%\nlong = a\n  b\n").unwrap();
        assert_eq!(ini.get("app", "dir").unwrap(), "/srv/app");
        assert_eq!(ini.get("app", "pct").unwrap(), "100%");
        assert_eq!(ini.get("app", "long").unwrap(), "a\nb");
        assert_eq!(ini.options("app").len(), 4);
    }
}
