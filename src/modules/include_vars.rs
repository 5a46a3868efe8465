//! `include_vars`: load variables from YAML files on the controller while the play runs.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::{fail, Arg, Args, FreeForm, ModError, Module, Outcome, TaskCtx};

pub struct IncludeVars;

#[async_trait]
impl Module for IncludeVars {
    fn name(&self) -> &'static str {
        "include_vars"
    }
    fn doc(&self) -> &'static str {
        "Load variables from a YAML/JSON file (or every file of a folder), searched in the role's vars/\nand the playbook's folder.\n\nexample:\n  - include_vars: \"{{ ansible_os_family }}.yml\"\n  - include_vars:\n      dir: vars/sites\n      name: sites\n"
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("file", "a file of variables"),
            Arg::str("dir", "a folder whose files are all loaded, in name order"),
            Arg::str("name", "put the variables under this one name"),
            Arg::int("depth", "how deep to go into dir (0: all)"),
            Arg::str("files_matching", "only files in dir matching this regular expression"),
            Arg::list("ignore_files", "file names to skip in dir"),
            Arg::list("extensions", "file extensions to load from dir (default yaml, yml, json)"),
            Arg::str("hash_behaviour", "replace (default) or merge"),
            Arg::bool("ignore_unknown_extensions", "skip files in dir with other extensions"),
        ];
        A
    }
    fn free_form(&self) -> FreeForm {
        FreeForm::Named("file")
    }
    fn controller_only(&self) -> bool {
        true
    }
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let mut files: Vec<PathBuf> = Vec::new();
        if let Some(f) = args.str("file")?.or(args.str("_raw_params")?) {
            match ctx.find_local("vars", &f) {
                Some(p) => files.push(p),
                None => return fail(format!("Could not find or access '{f}'")),
            }
        } else if let Some(d) = args.str("dir")? {
            let Some(dir) = ctx.find_local("vars", &d) else {
                return fail(format!("{d} directory does not exist"));
            };
            let exts = args.str_list("extensions")?;
            let exts: Vec<String> = if exts.is_empty() { vec!["yaml".into(), "yml".into(), "json".into()] } else { exts };
            let ignore = args.str_list("ignore_files")?;
            let matching = match args.str("files_matching")? {
                Some(r) => Some(regex::Regex::new(&r).map_err(|e| ModError::Fail(format!("files_matching: {e}")))?),
                None => None,
            };
            let depth = args.int("depth")?.unwrap_or(0);
            collect(&dir, depth, 1, &mut files);
            files.retain(|f| {
                let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
                let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
                exts.iter().any(|e| e == ext) && !ignore.iter().any(|i| i == name) && matching.as_ref().is_none_or(|r| r.is_match(name))
            });
            files.sort();
        } else {
            return fail("one of file, dir or a file name is required");
        }
        let mut vars = Map::new();
        for f in &files {
            let m = crate::inventory::read_vars_file(f).map_err(|d| ModError::Fail(d.message))?;
            vars.extend(m);
        }
        let vars = match args.str("name")? {
            Some(n) => [(n, Value::Object(vars))].into_iter().collect(),
            None => vars,
        };
        let mut o = Outcome::ok();
        o.data.insert("ansible_included_var_files".into(), json!(files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>()));
        o.data.insert("ansible_facts".into(), Value::Object(vars.clone()));
        o.include_vars = Some(vars);
        Ok(o)
    }
}

fn collect(dir: &Path, depth: i64, level: i64, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            if depth == 0 || level < depth {
                collect(&p, depth, level + 1, out);
            }
        } else {
            out.push(p);
        }
    }
}
