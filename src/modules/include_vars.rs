//! `include_vars`: load variables from YAML files on the controller while the play runs.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::{fail, Arg, Args, FreeForm, ModError, Module, Outcome, Plan, TaskCtx};

pub struct IncludeVars;

#[async_trait]
impl Module for IncludeVars {
    fn name(&self) -> &'static str {
        "include_vars"
    }
    fn doc(&self) -> &'static str {
        include_str!("include_vars.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("file", "a file of variables"),
            Arg::str("dir", "a folder whose files are all loaded, in name order"),
            Arg::str("name", "put the variables under this one name"),
            Arg::int("depth", "how deep to go into dir (0: all)").default("0"),
            Arg::str("files_matching", "only files in dir matching this regular expression"),
            Arg::list("ignore_files", "file names to skip in dir"),
            Arg::list("extensions", "file extensions to load from dir").default("yaml, yml, json"),
            Arg::str("hash_behaviour", "replace, or merge into the host's variables of the same names").default("replace"),
            Arg::bool("ignore_unknown_extensions", "skip files in dir with other extensions").default("false"),
        ];
        A
    }
    fn free_form(&self) -> FreeForm {
        FreeForm::Named("file")
    }
    fn controller_only(&self) -> bool {
        true
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        Ok(Plan::done(outcome(ctx, args)?))
    }
}

/// The task's result, decided on the controller.
fn outcome(ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
    let file = args.str("file")?.or(args.str("_raw_params")?).map(|f| f.trim().to_string());
    let dir = args.str("dir")?;
    if file.is_some() && dir.is_some() {
        return fail("You are mixing file only and dir only arguments, these are incompatible");
    }
    let exts = args.str_list("extensions")?;
    let exts: Vec<String> = if exts.is_empty() { vec!["yaml".into(), "yml".into(), "json".into()] } else { exts };
    let valid_ext = |f: &Path| {
        let e = f.extension().and_then(|e| e.to_str()).unwrap_or("");
        exts.iter().any(|x| x == e)
    };
    let mut files: Vec<PathBuf> = Vec::new();
    // Ansible reports these failures under `message`, not `msg`.
    let failed = |message: String| {
        let mut o = Outcome { failed: true, ..Default::default() };
        o.data.insert("message".into(), json!(message));
        o.data.insert("ansible_included_var_files".into(), json!([]));
        o.data.insert("ansible_facts".into(), json!({}));
        Ok(o)
    };
    // `file: "{{ lookup(..., errors='ignore') }}"` that found nothing: None, as Ansible
    // answers it.
    if file.is_none() && dir.is_none() && args.map.get("file").is_some_and(Value::is_null) {
        let mut o = failed("Could not find file on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option".into())?;
        o.msg = Some("Task failed: Action failed: Unknown error.".into());
        o.warnings.push("Invalid request to find a file that matches a \"null\" value".into());
        return Ok(o);
    }
    if let Some(f) = file {
        match ctx.find_local("vars", &f) {
            Some(p) => files.push(p),
            None => {
                // As Ansible: the searched paths in `message`, a generic `msg`.
                let mut o = failed(ctx.not_found("vars", &f))?;
                o.msg = Some("Task failed: Action failed: Unknown error.".into());
                return Ok(o);
            }
        }
    } else if let Some(d) = dir {
        let dir = source_dir(ctx, &d);
        if !dir.exists() {
            return failed(format!("{} directory does not exist", dir.display()));
        }
        if !dir.is_dir() {
            return failed(format!("{} is not a directory", dir.display()));
        }
        let ignore: Vec<regex::Regex> = args
            .str_list("ignore_files")?
            .iter()
            .map(|p| regex::Regex::new(&format!("{p}$")).map_err(|_| ModError::Fail(format!("Invalid regular expression: {p}"))))
            .collect::<Result<_, _>>()?;
        let matching = match args.str("files_matching")? {
            Some(r) => Some(regex::Regex::new(&r).map_err(|e| ModError::Fail(format!("files_matching: {e}")))?),
            None => None,
        };
        let skip_unknown = args.bool("ignore_unknown_extensions", false)?;
        let depth = args.int("depth")?.unwrap_or(0);
        let role_main = ctx.role_path.as_ref().map(|r| r.join("vars").join("main.yml"));
        let mut found = Vec::new();
        collect(&dir, depth, 1, &mut found);
        // Folders in name order, each folder's files in name order, as Ansible walks them.
        found.sort_by(|a, b| (a.parent(), a.file_name()).cmp(&(b.parent(), b.file_name())));
        for f in found {
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if role_main.as_ref() == Some(&f)
                || matching.as_ref().is_some_and(|r| !r.is_match(name))
                || ignore.iter().any(|r| r.is_match(name))
            {
                continue;
            }
            if !valid_ext(&f) {
                if skip_unknown {
                    continue;
                }
                return failed(format!("{} does not have a valid extension: {}", f.display(), exts.join(", ")));
            }
            files.push(f);
        }
    } else {
        return fail("one of file, dir or a file name is required");
    }
    let mut vars = Map::new();
    for f in &files {
        let node = crate::yaml::load_file(f).map_err(|d| ModError::Fail(d.message))?;
        match node.to_value() {
            Value::Object(m) => merge(&mut vars, m, false),
            Value::Null => {}
            _ => return failed(format!("{} must be stored as a dictionary/hash", f.display())),
        }
    }
    if args.str("hash_behaviour")?.as_deref() == Some("merge") {
        // Merged into what the host has now.
        let mut base = Map::new();
        for k in vars.keys() {
            if let Ok(Some(v)) = ctx.scope.resolve(k) {
                base.insert(k.clone(), v);
            }
        }
        merge(&mut base, vars, true);
        vars = base;
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

/// The folder `dir:` names: in a role, under its vars/ (unless it starts with vars/); else
/// beside the file the task is written in.
fn source_dir(ctx: &TaskCtx, d: &str) -> PathBuf {
    if Path::new(d).is_absolute() {
        return PathBuf::from(d);
    }
    if let Some(r) = &ctx.role_path {
        if d.split('/').next() == Some("vars") {
            let p = r.join(d);
            if p.exists() {
                return p;
            }
            return PathBuf::from(d);
        }
        return r.join("vars").join(d);
    }
    let task_dir = crate::template::search_path_of(|n| ctx.scope.resolve(n).ok().flatten()).last().cloned();
    task_dir.map(PathBuf::from).unwrap_or_else(|| ctx.playbook_dir.clone()).join(d)
}

/// Later files win; with `deep`, mappings are merged key by key (hash_behaviour=merge).
fn merge(into: &mut Map<String, Value>, from: Map<String, Value>, deep: bool) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(Value::Object(a)), Value::Object(b)) if deep => merge(a, b, true),
            (_, v) => {
                into.insert(k, v);
            }
        }
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
