//! Modules steward has no native one for, run as Ansible runs them: Python modules from a
//! `library/` folder, an installed collection or the controller's ansible-core, sent with the
//! `module_utils` they import ([`payload`]) over the host's own connection to the host's Python;
//! and the other formats of Ansible's module docs (`WANT_JSON`, key=value, binary). A native
//! module always wins for its names; this is the fallback the playbook check consults before it
//! calls a name unknown.

use crate::ansible_core as install;
mod payload;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use async_trait::async_trait;
use base64::Engine;
use serde_json::{json, Map, Value};

use super::{Arg, Args, Change, FileDiff, ModError, Module, Outcome, Plan, TaskCtx};

/// How a module file takes its arguments (Ansible's module formats).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    /// Imports `ansible.module_utils`: sent as a zip with what it imports.
    Ansiballz,
    /// Carries `<<INCLUDE_ANSIBLE_MODULE_JSON_ARGS>>`, replaced with the arguments.
    JsonArgs,
    /// Says `WANT_JSON`: an arguments file in JSON.
    WantJson,
    /// Anything else in text: an arguments file of `key=value` words.
    Old,
    /// A program: an arguments file in JSON.
    Binary,
}

/// A module found as a file, run through the host's interpreter.
pub struct PyModule {
    name: &'static str,
    path: PathBuf,
    fqn: String,
    style: Style,
    source: Vec<u8>,
    playbook_dir: PathBuf,
    /// The zip's digest and base64 text, built on first use.
    payload: OnceLock<Result<(String, String), String>>,
    doc: &'static str,
}

/// Where module files are looked for besides the collections: the `library/` folders of the
/// task's roles (nearest first) and the playbook's.
pub struct Search<'a> {
    pub playbook_dir: &'a Path,
    pub role_dirs: Vec<&'a Path>,
}

/// Resolved names, by name and the innermost folder searched: each module file is read once.
type Resolved = HashMap<(String, PathBuf), Option<&'static PyModule>>;

static RESOLVED: OnceLock<Mutex<Resolved>> = OnceLock::new();

/// A module for `name` that steward has no native one for, found as Ansible finds it.
pub fn resolve(name: &str, search: &Search<'_>) -> Option<&'static dyn Module> {
    let key = (name.to_string(), search.role_dirs.first().map(|p| p.to_path_buf()).unwrap_or_else(|| search.playbook_dir.to_path_buf()));
    let cache = RESOLVED.get_or_init(Default::default);
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(&key).copied()) {
        return hit.map(|m| m as &dyn Module);
    }
    let found = locate(name, search).and_then(|(path, fqn)| {
        let source = std::fs::read(&path).ok()?;
        let style = style_of(&path, &source);
        let doc = Box::leak(doc_of(name, &path, &source).into_boxed_str());
        let m = PyModule {
            name: Box::leak(name.to_string().into_boxed_str()),
            path,
            fqn,
            style,
            source,
            playbook_dir: search.playbook_dir.to_path_buf(),
            payload: OnceLock::new(),
            doc,
        };
        Some(&*Box::leak(Box::new(m)))
    });
    if let Ok(mut c) = cache.lock() {
        c.insert(key, found);
    }
    found.map(|m| m as &dyn Module)
}

/// The modules of the controller's ansible-core, by name (for did-you-mean).
pub fn core_module_names() -> Vec<String> {
    let Some(i) = install::install() else { return vec![] };
    let Ok(rd) = std::fs::read_dir(i.ansible.join("modules")) else { return vec![] };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".py")).filter(|n| !n.starts_with('_')).map(str::to_string))
        .collect()
}

/// The action plugin (Python code that runs on the controller) a name would run, where
/// there is one: steward runs no Python action plugins, and says so.
pub fn action_plugin(name: &str, search: &Search<'_>) -> Option<PathBuf> {
    let parts: Vec<&str> = name.split('.').collect();
    match parts.as_slice() {
        ["ansible", "builtin" | "legacy", short] | [short] => {
            let mut dirs: Vec<PathBuf> = search.role_dirs.iter().map(|r| r.join("action_plugins")).collect();
            dirs.push(search.playbook_dir.join("action_plugins"));
            // ansible-core's own: `normal` is the plain one every module has.
            dirs.extend(install::install().map(|i| i.ansible.join("plugins").join("action")).filter(|_| *short != "normal"));
            dirs.into_iter().map(|d| d.join(format!("{short}.py"))).find(|p| p.is_file())
        }
        [ns, coll, rest @ ..] if !rest.is_empty() => install::collection_roots(search.playbook_dir).into_iter().find_map(|root| {
            let base = root.join("ansible_collections").join(ns).join(coll).join("plugins").join("action");
            let file = rest.iter().fold(base, |p, s| p.join(s)).with_extension("py");
            file.is_file().then_some(file)
        }),
        _ => None,
    }
}

static MODULE_PATH: OnceLock<Vec<PathBuf>> = OnceLock::new();

/// `-M/--module-path`: module folders given on the command line.
pub fn set_module_path(dirs: Vec<PathBuf>) {
    let _ = MODULE_PATH.set(dirs);
}

/// Where a short module name is looked for: the roles' and the playbook's `library/`, then
/// `-M`, else `library` in ansible.cfg / `ANSIBLE_LIBRARY`.
fn library_dirs(search: &Search<'_>) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = search.role_dirs.iter().map(|r| r.join("library")).collect();
    dirs.push(search.playbook_dir.join("library"));
    match MODULE_PATH.get().filter(|m| !m.is_empty()) {
        Some(m) => dirs.extend(m.iter().cloned()),
        None => {
            let cfg = crate::config::Config::read();
            dirs.extend(cfg.get_list("defaults", "library", &[':']).into_iter().map(PathBuf::from));
        }
    }
    dirs
}

/// A module file in `dir` named `name` (`name.py`, `name`, or `name.sh`-style).
fn in_dir(dir: &Path, name: &str) -> Option<PathBuf> {
    let py = dir.join(format!("{name}.py"));
    if py.is_file() {
        return Some(py);
    }
    let bare = dir.join(name);
    if bare.is_file() {
        return Some(bare);
    }
    let mut others: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_stem().and_then(|s| s.to_str()) == Some(name)
                && !matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("ps1" | "psm1" | "cs" | "yml" | "yaml" | "md" | "txt" | "json" | "pyc")
                )
        })
        .collect();
    others.sort();
    others.into_iter().next()
}

/// The file and the dotted name it runs under.
fn locate(name: &str, search: &Search<'_>) -> Option<(PathBuf, String)> {
    let parts: Vec<&str> = name.split('.').collect();
    match parts.as_slice() {
        ["ansible", "builtin" | "legacy", short] | [short] => {
            let legacy = parts.len() == 1 || parts[1] == "legacy";
            if legacy {
                for d in library_dirs(search) {
                    if let Some(p) = in_dir(&d, short) {
                        return Some((p, format!("ansible.legacy.{short}")));
                    }
                }
            }
            let core = install::install()?.ansible.join("modules").join(format!("{short}.py"));
            core.is_file().then(|| (core, format!("ansible.modules.{short}")))
        }
        [ns, coll, rest @ ..] if !rest.is_empty() => {
            for root in install::collection_roots(search.playbook_dir) {
                let base = root.join("ansible_collections").join(ns).join(coll).join("plugins").join("modules");
                let file = rest.iter().fold(base, |p, s| p.join(s)).with_extension("py");
                if file.is_file() {
                    return Some((file, format!("ansible_collections.{ns}.{coll}.plugins.modules.{}", rest.join("."))));
                }
            }
            None
        }
        _ => None,
    }
}

/// Ansible's test for a binary module: a control character in its first kilobyte.
fn is_binary(data: &[u8]) -> bool {
    data.iter().take(1024).any(|&b| (b < 0x20 && ![7, 8, 9, 10, 12, 13, 27].contains(&b)) || b == 0x7f)
}

fn style_of(path: &Path, source: &[u8]) -> Style {
    if is_binary(source) {
        return Style::Binary;
    }
    let text = String::from_utf8_lossy(source);
    let python =
        path.extension().is_some_and(|e| e == "py") || text.lines().next().is_some_and(|l| l.starts_with("#!") && l.contains("python"));
    let new_style = text.contains("<<INCLUDE_ANSIBLE_MODULE_COMMON>>")
        || text.lines().any(|l| {
            let t = l.trim_start();
            t.starts_with("from ansible.module_utils")
                || t.starts_with("import ansible.module_utils")
                || (t.starts_with("from ansible_collections.") && t.contains(".plugins.module_utils"))
                || (t.starts_with("from ..") && t.contains("module_utils"))
        });
    if python && new_style {
        Style::Ansiballz
    } else if text.contains("<<INCLUDE_ANSIBLE_MODULE_JSON_ARGS>>") {
        Style::JsonArgs
    } else if text.contains("WANT_JSON") {
        Style::WantJson
    } else {
        Style::Old
    }
}

/// The module's `short_description` and its file, for `steward doc`.
fn doc_of(name: &str, path: &Path, source: &[u8]) -> String {
    let text = String::from_utf8_lossy(source);
    let short = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("short_description:"))
        .map(|s| s.trim().trim_matches(['"', '\'']).to_string())
        .unwrap_or_else(|| format!("the module {name}"));
    let mut doc =
        format!("{short}.\n\nRun from {} (not a native steward module; the host needs Python for Python modules).", path.display());
    if let (Some(start), true) = (text.find("DOCUMENTATION"), text.contains("options:")) {
        let body = &text[start..];
        if let Some(end) = body.find("\n'''").or_else(|| body.find("\n\"\"\"")) {
            doc.push_str("\n\n");
            doc.push_str(body[..end].lines().skip(1).collect::<Vec<_>>().join("\n").trim_end());
        }
    }
    doc.push_str(&format!("\n\n## Example\n\n```yaml\n- {name}:\n```\n"));
    doc
}

/// Arguments Ansible adds for every module (`_ansible_*`).
fn internals(ctx: &TaskCtx, name: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("_ansible_check_mode".into(), json!(ctx.check));
    m.insert("_ansible_no_log".into(), json!(ctx.no_log));
    m.insert("_ansible_debug".into(), json!(false));
    m.insert("_ansible_diff".into(), json!(ctx.diff));
    m.insert("_ansible_verbosity".into(), json!(ctx.verbosity));
    m.insert("_ansible_version".into(), json!("2.19.0"));
    m.insert("_ansible_module_name".into(), json!(name));
    let facility = ctx.scope.resolve("ansible_syslog_facility").ok().flatten().map(|v| crate::pytext::to_text(&v));
    m.insert("_ansible_syslog_facility".into(), json!(facility.unwrap_or_else(|| "LOG_USER".into())));
    m.insert("_ansible_selinux_special_fs".into(), json!(["fuse", "nfs", "vboxsf", "ramfs", "9p", "vfat"]));
    m.insert("_ansible_socket".into(), Value::Null);
    m.insert("_ansible_shell_executable".into(), json!("/bin/sh"));
    m.insert("_ansible_keep_remote_files".into(), json!(false));
    m.insert("_ansible_tmpdir".into(), Value::Null);
    m.insert("_ansible_remote_tmp".into(), json!("~/.ansible/tmp"));
    m.insert("_ansible_ignore_unknown_opts".into(), json!(false));
    m.insert("_ansible_target_log_info".into(), Value::Null);
    m.insert("_ansible_tracebacks_for".into(), json!([]));
    m
}

/// What the wrapper prints when it was sent no zip and the host has none kept.
const MISSING_PAYLOAD: &str = "steward: payload missing";

/// The zips each host and account has been sent this run (host, become user, digest).
type Sent = std::collections::HashSet<(String, Option<String>, String)>;
static SENT: OnceLock<Mutex<Sent>> = OnceLock::new();

/// Pythons tried on a host without `ansible_python_interpreter`, as Ansible's discovery
/// finds them on Linux.
const PYTHONS: &str = "/usr/bin/python3 python3.14 python3.13 python3.12 python3.11 python3.10 python3.9 python3.8 /usr/libexec/platform-python python3 /usr/bin/python";

impl PyModule {
    fn var(ctx: &TaskCtx, name: &str) -> Option<String> {
        ctx.scope.resolve(name).ok().flatten().filter(|v| !v.is_null()).map(|v| crate::pytext::to_text(&v))
    }

    /// The shell words that start the host's Python on a script read from stdin.
    fn configured_python(ctx: &TaskCtx) -> Option<String> {
        // ansible.cfg's setting, read once per run rather than per task.
        static CONFIGURED: OnceLock<Option<String>> = OnceLock::new();
        Self::var(ctx, "ansible_python_interpreter")
            .or_else(|| CONFIGURED.get_or_init(|| crate::config::Config::read().get("defaults", "interpreter_python")).clone())
            .filter(|p| !p.starts_with("auto"))
    }

    fn python_cmd(ctx: &TaskCtx) -> String {
        match Self::configured_python(ctx) {
            Some(p) => format!("{p} -"),
            None => format!(
                "for p in {PYTHONS}; do command -v \"$p\" >/dev/null 2>&1 && exec \"$p\" -; done; \
                 echo 'steward: no Python interpreter found on this host' >&2; exit 127"
            ),
        }
    }

    fn payload(&self) -> Result<(&str, &str), ModError> {
        let built = self.payload.get_or_init(|| {
            let Some(inst) = install::install() else {
                return Err(format!(
                    "the module {} imports ansible.module_utils, which come from an ansible-core installed on the controller; none was found (install ansible-core, or set STEWARD_PYTHON to a Python that has it)",
                    self.name
                ));
            };
            let mut module_utils: Vec<PathBuf> = vec![self.playbook_dir.join("module_utils")];
            if let Some(role) = self.path.parent().and_then(|l| l.parent()) {
                module_utils.insert(0, role.join("module_utils"));
            }
            module_utils.push(inst.ansible.join("module_utils"));
            let sources = payload::Sources { module_utils, collection_roots: install::collection_roots(&self.playbook_dir) };
            let p = payload::build(&self.fqn, &self.source, &sources)?;
            let digest = crate::template::hex_digest("sha256", &p.zip).unwrap_or_default();
            Ok((digest[..32].to_string(), base64::engine::general_purpose::STANDARD.encode(p.zip)))
        });
        built.as_ref().map(|(d, z)| (d.as_str(), z.as_str())).map_err(|e| ModError::Fail(e.clone()))
    }

    /// The script the host's Python reads from stdin: the zip (sent once per host and account,
    /// then kept under `~/.ansible/tmp/steward-payloads/` by its digest, readable by that
    /// account only), and the module run from it with its arguments. Without the zip and with
    /// no copy kept, it answers MISSING_PAYLOAD and the zip is sent.
    fn wrapper(&self, digest: &str, zip_b64: Option<&str>, params: &str, rlimit: Option<i64>) -> String {
        let lit = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let short = self.fqn.rsplit('.').next().unwrap_or(self.name);
        format!(
            r#"import sys
def _steward_run(digest, zip_data, fqn, name, params, rlimit):
    import base64, os
    try:
        os.getcwd()
    except OSError:
        try:
            os.chdir(os.path.expanduser('~'))
        except OSError:
            os.chdir('/')
    if rlimit:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = min(hard, rlimit)
        if want != soft:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            except ValueError:
                pass
    sys.path = [p for p in sys.path if p not in ('', '.')]
    cache = os.path.join(os.path.expanduser('~'), '.ansible', 'tmp', 'steward-payloads')
    modlib = os.path.join(cache, 'ansible_%s_%s.zip' % (name, digest))
    if zip_data is None:
        if not os.path.isfile(modlib):
            print({missing})
            sys.exit(0)
    else:
        os.makedirs(cache, mode=0o700, exist_ok=True)
        tmp = '%s.%d.tmp' % (modlib, os.getpid())
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'wb') as f:
            f.write(base64.b64decode(zip_data))
        os.rename(tmp, modlib)
    sys.path.insert(0, modlib)
    try:
        from ansible.module_utils._internal._ansiballz import _loader
    except ImportError:
        import runpy
        from ansible.module_utils import basic
        basic._ANSIBLE_ARGS = params.encode()
        runpy.run_module(fqn, init_globals=dict(_module_fqn=fqn, _modlib_path=modlib), run_name='__main__', alter_sys=True)
    else:
        _loader.run_module(json_params=params.encode(), profile='legacy', module_fqn=fqn, modlib_path=modlib, extensions={{}})
_steward_run({digest}, {zip}, {fqn}, {name}, {params}, {rlimit})
"#,
            missing = lit(MISSING_PAYLOAD),
            digest = lit(digest),
            zip = zip_b64.map(lit).unwrap_or_else(|| "None".into()),
            fqn = lit(&self.fqn),
            name = lit(short),
            params = lit(params),
            rlimit = rlimit.unwrap_or(0),
        )
    }

    /// The interpreter for a script module: its `#!` line, with `ansible_<name>_interpreter`
    /// (and the host's Python for Python) taking its place as Ansible does.
    fn interpreter(&self, ctx: &TaskCtx) -> Option<String> {
        let text = String::from_utf8_lossy(&self.source);
        let line = text.lines().next()?.strip_prefix("#!")?.trim().to_string();
        let mut words = line.split_whitespace();
        let exe = words.next()?;
        let (exe, rest): (&str, Vec<&str>) = if exe.ends_with("/env") {
            let e = words.next()?;
            (e, words.collect())
        } else {
            (exe, words.collect())
        };
        let base = exe.rsplit('/').next().unwrap_or(exe);
        let key = if base.starts_with("python") { "python".to_string() } else { base.to_string() };
        let chosen = Self::var(ctx, &format!("ansible_{key}_interpreter")).unwrap_or_else(|| {
            if key == "python" {
                "/usr/bin/python3".into()
            } else {
                exe.to_string()
            }
        });
        Some(std::iter::once(chosen.as_str()).chain(rest).collect::<Vec<_>>().join(" "))
    }

    /// A script or program module: written to a private folder on the host with its
    /// arguments file, run, and removed, in one round trip.
    fn file_cmd(&self, ctx: &TaskCtx, args_text: Option<&str>) -> String {
        let q = crate::pytext::shell_quote;
        let short = self.path.file_name().and_then(|s| s.to_str()).unwrap_or(self.name);
        let run = match (self.style, self.interpreter(ctx)) {
            (Style::Binary, _) | (_, None) => format!("\"$d\"/{}", q(short)),
            (_, Some(i)) => format!("{i} \"$d\"/{}", q(short)),
        };
        let (write_args, argv) = match args_text {
            Some(a) => (format!("printf %s {} > \"$d/args\" &&", q(a)), " \"$d/args\"".to_string()),
            None => (String::new(), String::new()),
        };
        format!(
            "d=$(mktemp -d \"${{TMPDIR:-/tmp}}/ansible-tmp-XXXXXXXX\") || exit 1; \
             {write_args} cat > \"$d\"/{name} && chmod 0700 \"$d\"/{name} && {run}{argv}; rc=$?; rm -rf \"$d\"; exit $rc",
            name = q(short),
        )
    }
}

/// `key=value` words of an old-style module's arguments file, as Ansible writes them.
fn old_style_args(m: &Map<String, Value>) -> String {
    m.iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
                Value::Null => "None".to_string(),
                other => other.to_string(),
            };
            format!("{k}={} ", crate::pytext::shell_quote(&text))
        })
        .collect()
}

/// The JSON object in a module's output, leaving out lines before and after it, as Ansible
/// filters them.
fn json_of(stdout: &str) -> Option<Map<String, Value>> {
    let start = stdout.lines().position(|l| l.trim_start().starts_with('{'))?;
    let lines: Vec<&str> = stdout.lines().collect();
    let end = lines.iter().rposition(|l| l.trim_end().ends_with('}'))?;
    if end < start {
        return None;
    }
    serde_json::from_str::<Value>(&lines[start..=end].join("\n")).ok()?.as_object().cloned()
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default() + "\n",
    }
}

/// A module's `diff` (one or a list) as the diffs steward shows.
fn diffs_of(v: &Value) -> Vec<FileDiff> {
    let one = |d: &Value| -> Option<FileDiff> {
        let o = d.as_object()?;
        if let Some(p) = o.get("prepared") {
            return Some(FileDiff { after: text_of(p), ..Default::default() });
        }
        if !o.contains_key("before") && !o.contains_key("after") {
            return None;
        }
        let get = |k: &str| o.get(k).map(text_of).unwrap_or_default();
        Some(FileDiff {
            before_header: get("before_header"),
            after_header: get("after_header"),
            before: get("before"),
            after: get("after"),
        })
    };
    match v {
        Value::Array(a) => a.iter().filter_map(one).collect(),
        other => one(other).into_iter().collect(),
    }
}

/// What a module printed, as the task's outcome.
fn outcome_of(mut data: Map<String, Value>) -> Outcome {
    let truthy = |v: Option<Value>| v.is_some_and(|v| crate::pytext::ansible_bool(&v));
    let mut o = Outcome::ok();
    o.changed = truthy(data.remove("changed"));
    o.failed = truthy(data.get("failed").cloned());
    data.remove("failed");
    o.skipped = truthy(data.remove("skipped"));
    if let Some(m) = data.remove("msg") {
        o.msg = Some(crate::pytext::to_text(&m));
    }
    if o.failed && o.msg.is_none() {
        // A module that raised: the loader reports the error's summary.
        let summary = data.get("exception").and_then(|e| e.pointer("/event/msg")).and_then(Value::as_str).map(str::to_string);
        o.msg = Some(summary.map(|m| format!("Module failed: {m}")).unwrap_or_else(|| "Module failed.".into()));
    }
    // The result keeps the module's own `diff` as it returned it, in or out of diff mode (a
    // Python module decides whether it returns one, and Ansible registers it either way); the
    // executor keeps the displayed diffs for diff mode.
    if let Some(d) = data.get("diff") {
        o.diffs = diffs_of(d);
    }
    // A warning is text, or (ansible-core 2.19) a summary whose event carries the text.
    let text = |w: &Value| {
        w.pointer("/event/msg").or_else(|| w.get("msg")).map(crate::pytext::to_text).unwrap_or_else(|| crate::pytext::to_text(w))
    };
    if let Some(Value::Array(w)) = data.remove("warnings") {
        o.warnings.extend(w.iter().map(text));
    }
    if let Some(Value::Array(ds)) = data.remove("deprecations") {
        o.warnings.extend(ds.iter().map(|d| format!("[DEPRECATION WARNING]: {}", text(d))));
    }
    if let Some(Value::Object(f)) = data.get("ansible_facts") {
        o.facts = Some(f.clone());
    }
    data.remove("_ansible_no_log");
    o.data = data;
    o
}

#[async_trait]
impl Module for PyModule {
    fn name(&self) -> &'static str {
        self.name
    }
    fn doc(&self) -> &'static str {
        self.doc
    }
    fn args(&self) -> &'static [Arg] {
        &[]
    }
    fn any_args(&self) -> bool {
        true
    }
    /// The module decides: AnsibleModule skips itself in check mode unless it supports it.
    fn supports_check_mode(&self) -> bool {
        true
    }
    /// The remote program decides what check mode means (AnsibleModule skips itself unless it
    /// supports it), so in check mode the plan is the module's own run with
    /// `_ansible_check_mode`; otherwise the run is the one step left for `apply`. The one place
    /// a module reads `ctx.check`.
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        if ctx.check {
            return Ok(Plan::done(self.run_remote(ctx, args).await?));
        }
        // Nothing is known before the module runs: the outcome is left as it is, and `apply`
        // replaces it with the module's result.
        let mut plan = Plan::done(Outcome::ok());
        plan.changes.push(Change::own(RunRemote));
        Ok(plan)
    }
    async fn apply(&self, ctx: &TaskCtx, args: &Args, _plan: Plan) -> Result<Outcome, ModError> {
        self.run_remote(ctx, args).await
    }
}

/// The module's run on the host, left by `plan` for `apply`.
struct RunRemote;

impl PyModule {
    /// Send the module with its arguments (and Ansible's `_ansible_*` ones) and read its result.
    async fn run_remote(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let mut params = args.map.clone();
        params.retain(|k, _| !k.starts_with("_ansible_"));
        params.extend(internals(ctx, self.name));
        let (cmd, stdin) = match self.style {
            Style::Ansiballz => return self.run_ansiballz(ctx, &params).await,
            Style::JsonArgs => {
                let text = serde_json::to_string(&params).unwrap_or_default();
                let src = String::from_utf8_lossy(&self.source).replace("<<INCLUDE_ANSIBLE_MODULE_JSON_ARGS>>", &text);
                (self.file_cmd(ctx, None), src.into_bytes())
            }
            Style::WantJson | Style::Binary => {
                let text = serde_json::to_string(&params).unwrap_or_default();
                (self.file_cmd(ctx, Some(&text)), self.source.clone())
            }
            Style::Old => (self.file_cmd(ctx, Some(&old_style_args(&params))), self.source.clone()),
        };
        let out = ctx.sh_in(cmd, Some(stdin)).await?;
        Ok(self.result_of(ctx, &out))
    }

    /// Run a Python module from its zip: only the digest when this host and account have the
    /// zip already, the zip too the first time (or when the copy there is gone).
    async fn run_ansiballz(&self, ctx: &TaskCtx, params: &Map<String, Value>) -> Result<Outcome, ModError> {
        let (digest, zip) = self.payload()?;
        let text = serde_json::to_string(&json!({ "ANSIBLE_MODULE_ARGS": params })).unwrap_or_default();
        let rlimit = Self::var(ctx, "ansible_python_module_rlimit_nofile").and_then(|s| s.parse().ok());
        let key = (ctx.host.clone(), ctx.become_.as_ref().map(|b| b.user.clone()), digest.to_string());
        let sent = SENT.get_or_init(Default::default);
        let known = sent.lock().map(|s| s.contains(&key)).unwrap_or(false);
        if known {
            let out = ctx.sh_in(Self::python_cmd(ctx), Some(self.wrapper(digest, None, &text, rlimit).into_bytes())).await?;
            if !out.stdout_str().contains(MISSING_PAYLOAD) {
                return Ok(self.result_of(ctx, &out));
            }
        }
        let out = ctx.sh_in(Self::python_cmd(ctx), Some(self.wrapper(digest, Some(zip), &text, rlimit).into_bytes())).await?;
        if out.rc == 0 || json_of(&out.stdout_str()).is_some() {
            if let Ok(mut s) = sent.lock() {
                s.insert(key);
            }
        }
        Ok(self.result_of(ctx, &out))
    }

    fn result_of(&self, ctx: &TaskCtx, out: &crate::connection::ExecOutput) -> Outcome {
        let stdout = out.stdout_str();
        let stderr = out.stderr_str();
        match json_of(&stdout) {
            Some(data) => outcome_of(data),
            None => {
                let missing = out.rc == 127 && (stderr.contains("not found") || stderr.contains("No such file"));
                let msg = if stderr.contains("steward: no Python interpreter found") {
                    format!(
                        "the module {} needs Python on {}, and none was found there; steward's native modules need no Python (see `steward doc`)",
                        self.name, ctx.host
                    )
                } else if missing {
                    let which = Self::configured_python(ctx).map(|p| format!(" '{p}'")).unwrap_or_default();
                    format!("The module interpreter{which} was not found. Consider overriding the configured interpreter path for this host. See stdout/stderr for the returned output.")
                } else {
                    "Module result deserialization failed: No start of json char found. See stdout/stderr for the returned output."
                        .to_string()
                };
                Outcome::failed(msg).with("module_stdout", stdout.to_string()).with("module_stderr", stderr.to_string()).with("rc", out.rc)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_the_formats_apart() {
        let p = Path::new("/x/m.py");
        assert_eq!(style_of(p, b"#!/usr/bin/python\nfrom ansible.module_utils.basic import AnsibleModule\n"), Style::Ansiballz);
        assert_eq!(style_of(p, b"#!/usr/bin/python\n# WANT_JSON\nimport json\n"), Style::WantJson);
        assert_eq!(style_of(Path::new("/x/m.sh"), b"#!/bin/sh\necho '{}'\n"), Style::Old);
        assert_eq!(style_of(Path::new("/x/m"), b"\x7fELF\x02\x01\x01\0\0"), Style::Binary);
        assert_eq!(style_of(Path::new("/x/m.rb"), b"#!/usr/bin/ruby\nARGS = <<INCLUDE_ANSIBLE_MODULE_JSON_ARGS>>\n"), Style::JsonArgs);
    }

    #[test]
    fn finds_the_json_among_other_output() {
        let got = json_of("warning: junk\n{\"changed\": true,\n \"x\": 1}\ntrailing\n").unwrap();
        assert_eq!(got.get("x"), Some(&json!(1)));
        assert!(json_of("no json here").is_none());
    }

    #[test]
    fn a_result_means_what_it_means_in_ansible() {
        let o = outcome_of(
            json!({"changed": true, "msg": "done", "warnings": ["w"], "ansible_facts": {"a": 1}, "diff": {"before": "x\n", "after": "y\n"}, "rc": 0})
                .as_object()
                .unwrap()
                .clone(),
        );
        assert!(o.changed && !o.failed);
        assert_eq!(o.msg.as_deref(), Some("done"));
        assert_eq!(o.warnings, vec!["w".to_string()]);
        assert_eq!(o.facts.unwrap().get("a"), Some(&json!(1)));
        assert_eq!(o.diffs.len(), 1);
        assert_eq!(o.data.get("rc"), Some(&json!(0)));
        let crash = outcome_of(json!({"failed": true, "exception": {"event": {"msg": "boom"}}}).as_object().unwrap().clone());
        assert!(crash.failed);
        assert_eq!(crash.msg.as_deref(), Some("Module failed: boom"));
    }

    #[test]
    fn old_style_arguments_are_quoted_words() {
        let m = json!({"name": "a b", "force": true, "n": 3}).as_object().unwrap().clone();
        assert_eq!(old_style_args(&m), "name='a b' force=True n=3 ");
    }

    /// A WANT_JSON module (no controller Python needed to send it).
    fn want_json() -> PyModule {
        PyModule {
            name: "mymod",
            path: PathBuf::from("/x/library/mymod"),
            fqn: "ansible.legacy.mymod".into(),
            style: Style::WantJson,
            source: b"#!/bin/sh\n# WANT_JSON\necho '{}'\n".to_vec(),
            playbook_dir: PathBuf::from("/x"),
            payload: OnceLock::new(),
            doc: "",
        }
    }

    #[tokio::test]
    async fn check_mode_asks_the_module_and_a_real_run_waits_for_apply() {
        use super::super::testing::Scripted;
        let m = want_json();
        let a = Args::prepare(&m, json!({"name": "x"}).as_object().unwrap().clone()).unwrap();
        let host = Scripted::new().on("ansible-tmp-", 0, b"{\"changed\": true, \"msg\": \"would change\"}\n");
        // Check mode: the module runs, told so, and its answer is the result.
        let p = m.plan(&host.ctx(true, false), &a).await.unwrap();
        assert!(p.changes.is_empty() && p.outcome.changed);
        assert_eq!(p.outcome.msg.as_deref(), Some("would change"));
        let cmd = &host.commands()[0];
        assert!(cmd.contains("\"_ansible_check_mode\":true") && cmd.contains("\"name\":\"x\""), "{cmd}");
        // Otherwise the plan sends nothing; apply runs the module, not in check mode.
        let p = m.plan(&host.ctx(false, true), &a).await.unwrap();
        assert_eq!((p.changes.len(), host.commands().len()), (1, 1));
        let out = m.apply(&host.ctx(false, true), &a, p).await.unwrap();
        assert!(out.changed);
        let cmd = &host.commands()[1];
        assert!(cmd.contains("\"_ansible_check_mode\":false") && cmd.contains("\"_ansible_diff\":true"), "{cmd}");
    }
}
