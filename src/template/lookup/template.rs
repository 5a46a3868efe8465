//! `template`: a template file rendered with the task's variables, found in `templates/` where
//! Ansible looks; `{% include %}` finds its files beside it and in each search-path entry's
//! `templates/`. Options: `template_vars` (more variables), `variable_start_string`,
//! `variable_end_string`, `comment_start_string`, `comment_end_string`, `trim_blocks`. As
//! Ansible 2.19 does, a template that is one expression gives that expression's value (a list
//! stays a list), and one that renders to nothing gives None.

use std::path::{Path, PathBuf};

use minijinja::Error;
use serde_json::{Map, Value};

use super::{err, Ctx};
use crate::template::{filters_bool, to_text, LookupSyntax};

pub fn run(ctx: &Ctx, terms: Vec<Value>, kw: &Map<String, Value>) -> Result<Vec<Value>, Error> {
    let opt = |k: &str, d: &str| kw.get(k).filter(|v| !v.is_null()).map(to_text).unwrap_or_else(|| d.to_string());
    let syntax = LookupSyntax {
        variable: (opt("variable_start_string", "{{"), opt("variable_end_string", "}}")),
        comment: (opt("comment_start_string", "{#"), opt("comment_end_string", "#}")),
        trim_blocks: kw.get("trim_blocks").is_none_or(filters_bool),
    };
    let extra = match kw.get("template_vars") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => return Err(err(format!("template_vars must be a dictionary, not {}", crate::template::py_str(other)))),
    };
    let mut out = Vec::new();
    for t in terms {
        let name = to_text(&t);
        let Some(path) = ctx.find("templates", &name) else {
            return Err(err(format!("the template file {name} could not be found for the lookup")));
        };
        let text = std::fs::read_to_string(&path).map_err(|e| err(format!("cannot read {}: {e}", path.display())))?;
        let mut vars = template_vars(ctx, &name, &path);
        vars.extend(extra.clone());
        let scope = ctx.scope.with_layer(vars);
        let dirs = include_dirs(ctx, &path);
        let v = crate::template::render_lookup_template(&text, &path.display().to_string(), &scope, &syntax, dirs)
            .map_err(|e| err(e.message))?;
        out.push(v);
    }
    Ok(out)
}

/// Where `{% include %}` looks: the template's folder, then each search-path entry's
/// `templates/` and the entry itself.
fn include_dirs(ctx: &Ctx, path: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = path.parent().map(Path::to_path_buf).into_iter().collect();
    for entry in ctx.search_path() {
        dirs.push(Path::new(&entry).join("templates"));
        dirs.push(entry.into());
    }
    dirs
}

/// What Ansible adds for a template: `template_path` and friends, and `ansible_managed`
/// unless the play sets it.
fn template_vars(ctx: &Ctx, name: &str, path: &Path) -> Map<String, Value> {
    crate::template::template_vars(path, name, None, ctx.scope.raw("ansible_managed").is_some())
}
