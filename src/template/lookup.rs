//! `lookup()` and `query()`: env, file, template, pipe, vars, fileglob, items, list, dict,
//! lines, first_found, indexed_items, sequence. Files are searched as Ansible searches them:
//! the role's `files/` (or `templates/`) folder, the role, then the playbook's folder.

use std::path::{Path, PathBuf};

use minijinja::value::{Kwargs, Rest};
use minijinja::{Environment, Error, ErrorKind, State, Value as JValue};
use serde_json::Value;

use super::{to_jinja, to_json, to_text, Scope};

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

pub fn register(env: &mut Environment<'static>) {
    env.add_function("lookup", lookup);
    env.add_function("query", query);
    env.add_function("q", query);
}

fn lookup(state: &State, name: String, terms: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let wantlist: Option<bool> = kw.get("wantlist")?;
    let out = run(state, &name, &terms, &kw)?;
    if wantlist.unwrap_or(false) {
        return Ok(to_jinja(&Value::Array(out)));
    }
    Ok(match out.len() {
        0 => JValue::from(""),
        1 if !matches!(name.as_str(), "items" | "list" | "dict" | "fileglob" | "indexed_items") => to_jinja(&out[0]),
        _ if matches!(name.as_str(), "items" | "list" | "dict" | "indexed_items") => to_jinja(&Value::Array(out)),
        _ => JValue::from(out.iter().map(to_text).collect::<Vec<_>>().join(",")),
    })
}

fn query(state: &State, name: String, terms: Rest<JValue>, kw: Kwargs) -> Result<JValue, Error> {
    let out = run(state, &name, &terms, &kw)?;
    Ok(to_jinja(&Value::Array(out)))
}

fn str_var(state: &State, name: &str) -> Option<String> {
    state.lookup(name).and_then(|v| v.as_str().map(str::to_string))
}

/// Where relative file names are looked for, most specific first.
pub fn search_dirs(role_path: Option<&str>, playbook_dir: Option<&str>, sub: &str) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(r) = role_path {
        dirs.push(Path::new(r).join(sub));
        dirs.push(PathBuf::from(r));
    }
    if let Some(p) = playbook_dir {
        dirs.push(Path::new(p).join(sub));
        dirs.push(PathBuf::from(p));
    }
    dirs
}

/// The places Ansible looks for a relative file `name` of kind `sub` (files, templates, vars),
/// in order: for each entry of the task's `ansible_search_path` (its role, then the folder of
/// its task file) `ENTRY/sub/name` and `ENTRY/name`, then the same under the playbook's folder.
pub fn file_candidates(search_path: &[String], playbook_dir: Option<&str>, sub: &str, name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let prefixed = name.split('/').next() == Some(sub);
    for entry in search_path {
        let p = Path::new(entry);
        // A task file in a subfolder of a role's tasks/: the role's own folders come first.
        if let Some(parent) = p.parent().filter(|d| d.ends_with("tasks")) {
            if let Some(role) = parent.parent() {
                out.push(role.join(sub).join(name));
            }
            out.push(parent.join(name));
        }
        if !prefixed {
            out.push(p.join(sub).join(name));
        }
        out.push(p.join(name));
    }
    if let Some(pb) = playbook_dir {
        if !prefixed {
            out.push(Path::new(pb).join(sub).join(name));
        }
        out.push(Path::new(pb).join(name));
    }
    out
}

/// The task's search path from its variables (`ansible_search_path`, or the role's folder).
pub fn search_path_of(lookup: impl Fn(&str) -> Option<Value>) -> Vec<String> {
    match lookup("ansible_search_path") {
        Some(Value::Array(a)) => a.iter().map(to_text).collect(),
        _ => lookup("role_path").map(|v| vec![to_text(&v)]).unwrap_or_default(),
    }
}

fn find(state: &State, sub: &str, name: &str) -> Option<PathBuf> {
    let p = Path::new(name);
    if p.is_absolute() {
        return p.exists().then(|| p.to_path_buf());
    }
    let sp = search_path_of(|n| state.lookup(n).and_then(|v| to_json(&v).ok()));
    file_candidates(&sp, str_var(state, "playbook_dir").as_deref(), sub, name)
        .into_iter()
        .find(|c| c.exists())
        .or_else(|| p.exists().then(|| p.to_path_buf()))
}

fn terms_list(terms: &[JValue]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for t in terms {
        match to_json(t)? {
            Value::Array(a) => out.extend(a),
            v => out.push(v),
        }
    }
    Ok(out)
}

fn run(state: &State, name: &str, terms: &[JValue], kw: &Kwargs) -> Result<Vec<Value>, Error> {
    let name = name.strip_prefix("ansible.builtin.").unwrap_or(name);
    let list = terms_list(terms)?;
    let strings = || list.iter().map(to_text).collect::<Vec<_>>();
    Ok(match name {
        "env" => {
            let default: Option<String> = kw.get("default")?;
            strings().iter().map(|k| Value::from(std::env::var(k).ok().or_else(|| default.clone()).unwrap_or_default())).collect()
        }
        "file" => {
            let rstrip: Option<bool> = kw.get("rstrip")?;
            let mut out = Vec::new();
            for f in strings() {
                let path = find(state, "files", &f).ok_or_else(|| err(format!("could not find file `{f}` for the file lookup")))?;
                let text = std::fs::read_to_string(&path).map_err(|e| err(format!("cannot read {}: {e}", path.display())))?;
                out.push(Value::from(if rstrip.unwrap_or(true) { text.trim_end().to_string() } else { text }));
            }
            out
        }
        "template" => {
            let scope = state
                .lookup("vars")
                .and_then(|v| v.downcast_object::<Scope>())
                .ok_or_else(|| err("template lookup needs the task's variables"))?;
            let mut out = Vec::new();
            for f in strings() {
                let path =
                    find(state, "templates", &f).ok_or_else(|| err(format!("could not find template `{f}` for the template lookup")))?;
                let text = std::fs::read_to_string(&path).map_err(|e| err(format!("cannot read {}: {e}", path.display())))?;
                let rendered = super::render_file(&text, &path.display().to_string(), &scope).map_err(|e| err(e.message))?;
                out.push(Value::from(rendered));
            }
            out
        }
        "pipe" => {
            let mut out = Vec::new();
            for cmd in strings() {
                let o = std::process::Command::new("/bin/sh")
                    .arg("-c")
                    .arg(&cmd)
                    .output()
                    .map_err(|e| err(format!("pipe lookup: cannot run `{cmd}`: {e}")))?;
                if !o.status.success() {
                    return Err(err(format!("pipe lookup: `{cmd}` exited with {}", o.status.code().unwrap_or(-1))));
                }
                out.push(Value::from(String::from_utf8_lossy(&o.stdout).trim_end().to_string()));
            }
            out
        }
        "lines" => {
            let mut out = Vec::new();
            for cmd in strings() {
                let o = std::process::Command::new("/bin/sh").arg("-c").arg(&cmd).output().map_err(|e| err(e.to_string()))?;
                out.extend(String::from_utf8_lossy(&o.stdout).lines().map(Value::from));
            }
            out
        }
        "vars" => {
            let default: Option<JValue> = kw.get("default")?;
            let mut out = Vec::new();
            for v in strings() {
                match state.lookup(&v).filter(|x| !x.is_undefined()) {
                    Some(x) => out.push(to_json(&x)?),
                    None => match &default {
                        Some(d) => out.push(to_json(d)?),
                        None => return Err(Error::new(ErrorKind::UndefinedError, format!("No variable found with this name: {v}"))),
                    },
                }
            }
            out
        }
        "fileglob" => {
            let mut out = Vec::new();
            for pat in strings() {
                let full = if Path::new(&pat).is_absolute() {
                    pat.clone()
                } else {
                    let dir =
                        find(state, "files", Path::new(&pat).parent().and_then(|p| p.to_str()).filter(|s| !s.is_empty()).unwrap_or("."));
                    match dir {
                        Some(d) => d.join(Path::new(&pat).file_name().unwrap_or_default()).display().to_string(),
                        None => continue,
                    }
                };
                let mut found: Vec<String> = glob::glob(&full)
                    .map_err(|e| err(format!("fileglob: bad pattern `{pat}`: {e}")))?
                    .filter_map(Result::ok)
                    .filter(|p| p.is_file())
                    .map(|p| p.display().to_string())
                    .collect();
                found.sort();
                out.extend(found.into_iter().map(Value::from));
            }
            out
        }
        "items" | "list" => list,
        "indexed_items" => list.into_iter().enumerate().map(|(i, v)| Value::Array(vec![Value::from(i), v])).collect(),
        "dict" => {
            let mut out = Vec::new();
            for t in list {
                let Value::Object(m) = t else {
                    return Err(err("the dict lookup expects a dictionary"));
                };
                for (k, v) in m {
                    out.push(serde_json::json!({"key": k, "value": v}));
                }
            }
            out
        }
        "first_found" => {
            let mut files: Vec<String> = Vec::new();
            let mut paths: Vec<String> = Vec::new();
            for t in &list {
                match t {
                    Value::Object(m) => {
                        if let Some(f) = m.get("files") {
                            files.extend(as_strings(f));
                        }
                        if let Some(p) = m.get("paths") {
                            paths.extend(as_strings(p));
                        }
                    }
                    other => files.push(to_text(other)),
                }
            }
            let skip: Option<bool> = kw.get("skip")?;
            let candidates: Vec<String> = if paths.is_empty() {
                files.clone()
            } else {
                paths.iter().flat_map(|p| files.iter().map(move |f| format!("{p}/{f}"))).collect()
            };
            match candidates.iter().find_map(|c| find(state, "files", c)) {
                Some(p) => vec![Value::from(p.display().to_string())],
                None if skip.unwrap_or(false) => vec![],
                None => return Err(err(format!("first_found: none of {files:?} was found"))),
            }
        }
        "sequence" => {
            let mut out = Vec::new();
            for spec in strings() {
                out.extend(sequence(&spec)?);
            }
            out
        }
        other => return Err(err(format!("lookup plugin `{other}` is not supported by steward"))),
    })
}

fn as_strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().map(to_text).collect(),
        Value::String(s) => s.split([',', ';']).map(|x| x.trim().to_string()).collect(),
        other => vec![to_text(other)],
    }
}

/// `sequence` lookup: `start=1 end=5 format=web%02d` or `count=3`.
fn sequence(spec: &str) -> Result<Vec<Value>, Error> {
    let (mut start, mut end, mut stride, mut fmt) = (1i64, None, 1i64, "%d".to_string());
    for part in spec.split_whitespace() {
        let (k, v) = part.split_once('=').ok_or_else(|| err(format!("sequence: bad term `{part}`")))?;
        let num = || v.parse::<i64>().map_err(|_| err(format!("sequence: `{v}` is not a number")));
        match k {
            "start" => start = num()?,
            "end" => end = Some(num()?),
            "count" => end = Some(start + num()? - 1),
            "stride" => stride = num()?,
            "format" => fmt = v.to_string(),
            _ => return Err(err(format!("sequence: unknown key `{k}`"))),
        }
    }
    let end = end.ok_or_else(|| err("sequence: `end` or `count` is required"))?;
    let mut out = Vec::new();
    let mut i = start;
    while (stride > 0 && i <= end) || (stride < 0 && i >= end) {
        out.push(Value::from(printf_int(&fmt, i)));
        i += stride;
        if stride == 0 {
            break;
        }
    }
    Ok(out)
}

fn printf_int(fmt: &str, n: i64) -> String {
    let re = regex::Regex::new(r"%(0?)(\d*)([dxXo])").expect("static regex");
    re.replace(fmt, |c: &regex::Captures| {
        let width: usize = c[2].parse().unwrap_or(0);
        let s = match &c[3] {
            "x" => format!("{n:x}"),
            "X" => format!("{n:X}"),
            "o" => format!("{n:o}"),
            _ => n.to_string(),
        };
        if c[1].is_empty() {
            format!("{s:>width$}")
        } else {
            format!("{s:0>width$}")
        }
    })
    .into_owned()
}
