//! `file` (a file's text, by default with trailing whitespace removed) and `fileglob` (the
//! files matching a pattern in one folder), found where Ansible finds them.

use std::path::Path;

use minijinja::Error;
use serde_json::{Map, Value};

use super::{err, Ctx};
use crate::template::{filters_bool, to_text};

pub fn file(ctx: &Ctx, terms: Vec<Value>, kw: &Map<String, Value>) -> Result<Vec<Value>, Error> {
    let rstrip = kw.get("rstrip").is_none_or(filters_bool);
    let lstrip = kw.get("lstrip").is_some_and(filters_bool);
    let mut out = Vec::new();
    for t in terms {
        let name = to_text(&t);
        let Some(path) = ctx.find("files", &name) else {
            return Err(err(format!("Unable to access the file '{name}': File not found.")));
        };
        let bytes = std::fs::read(&path).map_err(|e| err(format!("Unable to access the file '{name}': {e}")))?;
        let mut text = String::from_utf8_lossy(&bytes).into_owned();
        if crate::vault::is_vaulted(&text) {
            let plain = crate::vault::decrypt(&text).map_err(|e| err(format!("Unable to access the file '{name}': {e}")))?;
            text = String::from_utf8_lossy(&plain).into_owned();
        }
        if lstrip {
            text = text.trim_start().to_string();
        }
        if rstrip {
            text = text.trim_end().to_string();
        }
        out.push(Value::from(text));
    }
    Ok(out)
}

pub fn fileglob(ctx: &Ctx, terms: Vec<Value>, _: &Map<String, Value>) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for t in terms {
        let pat = to_text(&t);
        let p = Path::new(&pat);
        let base = p.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        let dirs: Vec<std::path::PathBuf> = match p.parent().map(|d| d.to_string_lossy().into_owned()).filter(|d| !d.is_empty()) {
            Some(dir) => ctx.find("files", &dir).into_iter().collect(),
            None => {
                let mut dirs: Vec<std::path::PathBuf> = Vec::new();
                for entry in ctx.search_path() {
                    dirs.push(Path::new(&entry).join("files"));
                    dirs.push(entry.into());
                }
                if dirs.is_empty() {
                    dirs.extend(ctx.playbook_dir().map(Into::into));
                }
                dirs
            }
        };
        // The first folder with a match gives all the results for this pattern.
        for dir in dirs {
            let full = dir.join(&base).display().to_string();
            let mut found: Vec<String> = glob::glob(&full)
                .map_err(|e| err(format!("bad pattern '{pat}': {e}")))?
                .filter_map(Result::ok)
                .filter(|p| p.is_file())
                .map(|p| p.display().to_string())
                .collect();
            if !found.is_empty() {
                found.sort();
                out.extend(found.into_iter().map(Value::from));
                break;
            }
        }
    }
    Ok(out)
}
