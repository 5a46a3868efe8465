//! `config`: the value of an Ansible setting as Ansible resolves it, from the task's variables,
//! then the environment, then `ansible.cfg`, then the default: `lookup('config',
//! 'DEFAULT_BECOME_USER')`, or a plugin's option with `plugin_type=`/`plugin_name=`
//! (`q('config', 'remote_user', plugin_type='connection', plugin_name='ssh')`). With
//! `show_origin=True` each value comes with where it was found (`default`, `var: NAME`,
//! `env: NAME`, or the configuration file); `on_missing=` is `error`, `warn` or `skip`.
//!
//! The definitions are the settings playbooks look up, under Ansible's names, types and
//! defaults ([`BASE`], [`PLUGINS`]). A lookup plugin written in Python (`lookup_plugins/X.py`
//! beside a role or the playbook) has its options read from its `DOCUMENTATION`.

use std::path::{Path, PathBuf};

use minijinja::Error;
use serde_json::{Map, Value};

use super::{err, Ctx};
use crate::template::{py_str, to_text};

/// One setting: `NAME | type | default (JSON) | env names | ini section.key | var names`.
const BASE: &str = r#"
ANSIBLE_HOME | path | "~/.ansible" | ANSIBLE_HOME | defaults.home |
ANSIBLE_COW_ACCEPTLIST | list | ["bud-frogs","bunny","cheese","daemon","default","dragon","elephant-in-snake","elephant","eyes","hellokitty","kitty","luke-koala","meow","milk","moofasa","moose","ren","sheep","small","stegosaurus","stimpy","supermilker","three-eyes","turkey","turtle","tux","udder","vader-koala","vader","www"] | ANSIBLE_COW_ACCEPTLIST | defaults.cowsay_enabled_stencils |
ANSIBLE_NOCOWS | boolean | false | ANSIBLE_NOCOWS | defaults.nocows |
ANY_ERRORS_FATAL | boolean | false | ANSIBLE_ANY_ERRORS_FATAL | defaults.any_errors_fatal |
COLLECTIONS_PATHS | pathspec | "{ANSIBLE_HOME}/collections:/usr/share/ansible/collections" | ANSIBLE_COLLECTIONS_PATH | defaults.collections_path |
COLOR_CHANGED | string | "yellow" | ANSIBLE_COLOR_CHANGED | colors.changed |
COLOR_ERROR | string | "red" | ANSIBLE_COLOR_ERROR | colors.error |
COLOR_OK | string | "green" | ANSIBLE_COLOR_OK | colors.ok |
COLOR_SKIP | string | "cyan" | ANSIBLE_COLOR_SKIP | colors.skip |
COLOR_WARN | string | "bright purple" | ANSIBLE_COLOR_WARN | colors.warn |
DEFAULT_ASK_PASS | boolean | false | ANSIBLE_ASK_PASS | defaults.ask_pass |
DEFAULT_BECOME | boolean | false | ANSIBLE_BECOME | privilege_escalation.become |
DEFAULT_BECOME_ASK_PASS | boolean | false | ANSIBLE_BECOME_ASK_PASS | privilege_escalation.become_ask_pass |
DEFAULT_BECOME_METHOD | string | "sudo" | ANSIBLE_BECOME_METHOD | privilege_escalation.become_method |
DEFAULT_BECOME_USER | string | "root" | ANSIBLE_BECOME_USER | privilege_escalation.become_user |
DEFAULT_FORKS | integer | 5 | ANSIBLE_FORKS | defaults.forks |
DEFAULT_GATHERING | string | "implicit" | ANSIBLE_GATHERING | defaults.gathering |
DEFAULT_HASH_BEHAVIOUR | string | "replace" | ANSIBLE_HASH_BEHAVIOUR | defaults.hash_behaviour |
DEFAULT_HOST_LIST | pathlist | ["/etc/ansible/hosts"] | ANSIBLE_INVENTORY | defaults.inventory |
DEFAULT_JINJA2_NATIVE | boolean | true | ANSIBLE_JINJA2_NATIVE | defaults.jinja2_native |
DEFAULT_KEEP_REMOTE_FILES | boolean | false | ANSIBLE_KEEP_REMOTE_FILES | defaults.keep_remote_files |
DEFAULT_LOCAL_TMP | path | "{ANSIBLE_HOME}/tmp" | ANSIBLE_LOCAL_TEMP | defaults.local_tmp |
DEFAULT_LOG_PATH | path | null | ANSIBLE_LOG_PATH | defaults.log_path |
DEFAULT_LOOKUP_PLUGIN_PATH | pathspec | "{ANSIBLE_HOME}/plugins/lookup:/usr/share/ansible/plugins/lookup" | ANSIBLE_LOOKUP_PLUGINS | defaults.lookup_plugins |
DEFAULT_MANAGED_STR | string | "Ansible managed" | | defaults.ansible_managed |
DEFAULT_MODULE_NAME | string | "command" | | defaults.module_name |
DEFAULT_MODULE_PATH | pathspec | "{ANSIBLE_HOME}/plugins/modules:/usr/share/ansible/plugins/modules" | ANSIBLE_LIBRARY | defaults.library |
DEFAULT_NO_LOG | boolean | false | ANSIBLE_NO_LOG | defaults.no_log |
DEFAULT_POLL_INTERVAL | integer | 15 | ANSIBLE_POLL_INTERVAL | defaults.poll_interval |
DEFAULT_PRIVATE_KEY_FILE | path | null | ANSIBLE_PRIVATE_KEY_FILE | defaults.private_key_file |
DEFAULT_PRIVATE_ROLE_VARS | boolean | false | ANSIBLE_PRIVATE_ROLE_VARS | defaults.private_role_vars |
DEFAULT_REMOTE_USER | string | null | ANSIBLE_REMOTE_USER | defaults.remote_user |
DEFAULT_ROLES_PATH | pathspec | "{ANSIBLE_HOME}/roles:/usr/share/ansible/roles:/etc/ansible/roles" | ANSIBLE_ROLES_PATH | defaults.roles_path |
DEFAULT_STDOUT_CALLBACK | string | "default" | ANSIBLE_STDOUT_CALLBACK | defaults.stdout_callback |
DEFAULT_STRATEGY | string | "linear" | ANSIBLE_STRATEGY | defaults.strategy |
DEFAULT_TIMEOUT | integer | 10 | ANSIBLE_TIMEOUT | defaults.timeout |
DEFAULT_TRANSPORT | string | "ssh" | ANSIBLE_TRANSPORT | defaults.transport |
DEFAULT_VAULT_IDENTITY_LIST | list | [] | ANSIBLE_VAULT_IDENTITY_LIST | defaults.vault_identity_list |
DEFAULT_VAULT_PASSWORD_FILE | path | null | ANSIBLE_VAULT_PASSWORD_FILE | defaults.vault_password_file |
DEPRECATION_WARNINGS | boolean | true | ANSIBLE_DEPRECATION_WARNINGS | defaults.deprecation_warnings | ansible_deprecation_warnings
DISPLAY_SKIPPED_HOSTS | boolean | true | ANSIBLE_DISPLAY_SKIPPED_HOSTS | defaults.display_skipped_hosts |
HOST_KEY_CHECKING | boolean | true | ANSIBLE_HOST_KEY_CHECKING | defaults.host_key_checking |
INTERPRETER_PYTHON | string | "auto" | ANSIBLE_PYTHON_INTERPRETER | defaults.interpreter_python | ansible_python_interpreter
RETRY_FILES_ENABLED | boolean | false | ANSIBLE_RETRY_FILES_ENABLED | defaults.retry_files_enabled |
RETRY_FILES_SAVE_PATH | path | null | ANSIBLE_RETRY_FILES_SAVE_PATH | defaults.retry_files_save_path |
_Z_TEST_ENTRY | string | null | ANSIBLE_TEST_ENTRY ANSIBLE_TEST_ENTRY_D | testing.valid testing.deprecated | _z_test_entry
_Z_TEST_ENTRY_3 | path | "{ANSIBLE_HOME}" | ANSIBLE_TEST_ENTRY3 | testing.valid3 |
"#;

/// Options of the plugins steward stands in for: `TYPE NAME` on a line of its own, then
/// settings as in [`BASE`].
const PLUGINS: &str = r#"
connection ssh
remote_user | string | null | ANSIBLE_REMOTE_USER | defaults.remote_user | ansible_user ansible_ssh_user
port | integer | null | ANSIBLE_REMOTE_PORT | defaults.remote_port | ansible_port ansible_ssh_port
host | string | "inventory_hostname" | | | inventory_hostname ansible_host ansible_ssh_host
password | string | null | | | ansible_password ansible_ssh_pass ansible_ssh_password
private_key_file | string | null | ANSIBLE_PRIVATE_KEY_FILE | defaults.private_key_file | ansible_private_key_file ansible_ssh_private_key_file
ssh_args | string | "-C -o ControlMaster=auto -o ControlPersist=60s" | ANSIBLE_SSH_ARGS | ssh_connection.ssh_args | ansible_ssh_args
ssh_common_args | string | "" | ANSIBLE_SSH_COMMON_ARGS | ssh_connection.ssh_common_args | ansible_ssh_common_args
ssh_extra_args | string | "" | ANSIBLE_SSH_EXTRA_ARGS | ssh_connection.ssh_extra_args | ansible_ssh_extra_args
pipelining | boolean | false | ANSIBLE_PIPELINING ANSIBLE_SSH_PIPELINING | defaults.pipelining connection.pipelining ssh_connection.pipelining | ansible_pipelining ansible_ssh_pipelining
timeout | integer | 10 | ANSIBLE_TIMEOUT ANSIBLE_SSH_TIMEOUT | defaults.timeout ssh_connection.timeout | ansible_ssh_timeout
host_key_checking | boolean | true | ANSIBLE_HOST_KEY_CHECKING ANSIBLE_SSH_HOST_KEY_CHECKING | defaults.host_key_checking ssh_connection.host_key_checking | ansible_host_key_checking ansible_ssh_host_key_checking
connection local
connection paramiko_ssh
remote_user | string | null | ANSIBLE_REMOTE_USER ANSIBLE_PARAMIKO_REMOTE_USER | defaults.remote_user paramiko_connection.remote_user | ansible_user ansible_ssh_user ansible_paramiko_user
port | integer | 22 | ANSIBLE_REMOTE_PORT ANSIBLE_REMOTE_PARAMIKO_PORT | defaults.remote_port paramiko_connection.remote_port | ansible_port ansible_ssh_port ansible_paramiko_port
shell sh
remote_tmp | string | "~/.ansible/tmp" | ANSIBLE_REMOTE_TEMP ANSIBLE_REMOTE_TMP | defaults.remote_tmp | ansible_remote_tmp
system_tmpdirs | list | ["/var/tmp", "/tmp"] | ANSIBLE_SYSTEM_TMPDIRS | defaults.system_tmpdirs | ansible_system_tmpdirs
async_dir | string | "~/.ansible_async" | ANSIBLE_ASYNC_DIR | defaults.async_dir | ansible_async_dir
become sudo
become_user | string | "root" | ANSIBLE_BECOME_USER ANSIBLE_SUDO_USER | privilege_escalation.become_user sudo_become_plugin.user | ansible_become_user ansible_sudo_user
become_exe | string | "sudo" | ANSIBLE_BECOME_EXE ANSIBLE_SUDO_EXE | privilege_escalation.become_exe sudo_become_plugin.executable | ansible_become_exe ansible_sudo_exe
become_flags | string | "-H -S -n" | ANSIBLE_BECOME_FLAGS ANSIBLE_SUDO_FLAGS | privilege_escalation.become_flags sudo_become_plugin.flags | ansible_become_flags ansible_sudo_flags
become su
become_user | string | "root" | ANSIBLE_BECOME_USER ANSIBLE_SU_USER | privilege_escalation.become_user su_become_plugin.user | ansible_become_user ansible_su_user
become_exe | string | "su" | ANSIBLE_BECOME_EXE ANSIBLE_SU_EXE | privilege_escalation.become_exe su_become_plugin.executable | ansible_become_exe ansible_su_exe
become_flags | string | "" | ANSIBLE_BECOME_FLAGS ANSIBLE_SU_FLAGS | privilege_escalation.become_flags su_become_plugin.flags | ansible_become_flags ansible_su_flags
"#;

const PLUGIN_TYPES: [&str; 11] =
    ["become", "cache", "callback", "cliconf", "connection", "httpapi", "inventory", "lookup", "netconf", "shell", "vars"];

struct Def {
    name: String,
    ty: String,
    default: Value,
    env: Vec<String>,
    ini: Vec<(String, String)>,
    vars: Vec<String>,
    required: bool,
}

fn parse_defs<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<Def> {
    let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    lines
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('|').map(str::trim).collect();
            if cols.len() < 6 {
                return None;
            }
            Some(Def {
                name: cols[0].to_string(),
                ty: cols[1].to_string(),
                default: serde_json::from_str(cols[2]).unwrap_or(Value::Null),
                env: words(cols[3]),
                ini: cols[4].split_whitespace().filter_map(|e| e.split_once('.')).map(|(s, k)| (s.to_string(), k.to_string())).collect(),
                vars: words(cols[5]),
                required: false,
            })
        })
        .collect()
}

/// The definitions of one plugin's options, if steward knows the plugin.
fn plugin_defs(ctx: &Ctx, ptype: &str, pname: &str) -> Option<Vec<Def>> {
    let short = pname.strip_prefix("ansible.builtin.").unwrap_or(pname);
    let mut lines = PLUGINS.lines();
    let header = format!("{ptype} {short}");
    if lines.by_ref().any(|l| l.trim() == header) {
        return Some(parse_defs(lines.take_while(|l| l.contains('|'))));
    }
    if ptype == "lookup" {
        if let Some(defs) = python_lookup(ctx, short) {
            return Some(defs);
        }
        if super::exists(short) {
            return Some(vec![]);
        }
    }
    None
}

/// The options a Python lookup plugin documents, found as Ansible finds the plugin: the
/// `lookup_plugins/` folders of the roles and the playbook, and `ANSIBLE_LOOKUP_PLUGINS`.
fn python_lookup(ctx: &Ctx, name: &str) -> Option<Vec<Def>> {
    let mut dirs: Vec<PathBuf> = ctx.search_path().iter().map(|e| Path::new(e).join("lookup_plugins")).collect();
    if let Some(r) = ctx.str_var("role_path") {
        dirs.push(Path::new(&r).join("lookup_plugins"));
    }
    if let Some(pb) = ctx.playbook_dir() {
        dirs.push(Path::new(&pb).join("lookup_plugins"));
    }
    if let Ok(env) = std::env::var("ANSIBLE_LOOKUP_PLUGINS") {
        dirs.extend(env.split(':').map(PathBuf::from));
    }
    let file = dirs.iter().map(|d| d.join(format!("{name}.py"))).find(|p| p.is_file())?;
    let src = std::fs::read_to_string(&file).ok()?;
    let doc = documentation(&src)?;
    let node = crate::yaml::parse_str(&doc, &file).ok()?;
    let Value::Object(opts) = node.to_value().get("options")?.clone() else { return Some(vec![]) };
    let names = |v: Option<&Value>, key: &str| -> Vec<Value> {
        match v {
            Some(Value::Array(a)) => a.iter().filter_map(|e| e.get(key).cloned()).collect(),
            _ => vec![],
        }
    };
    Some(
        opts.into_iter()
            .map(|(k, o)| Def {
                ty: o.get("type").map(to_text).unwrap_or_default(),
                default: o.get("default").cloned().unwrap_or(Value::Null),
                env: names(o.get("env"), "name").iter().map(to_text).collect(),
                ini: match o.get("ini") {
                    Some(Value::Array(a)) => a
                        .iter()
                        .filter_map(|e| Some((e.get("section").map_or("defaults".into(), to_text), to_text(e.get("key")?))))
                        .collect(),
                    _ => vec![],
                },
                vars: names(o.get("vars"), "name").iter().map(to_text).collect(),
                required: o.get("required").is_some_and(crate::template::filters_bool),
                name: k,
            })
            .collect(),
    )
}

/// The text of `DOCUMENTATION = """..."""` in a plugin's source.
fn documentation(src: &str) -> Option<String> {
    let at = src.find("DOCUMENTATION")?;
    let rest = src[at..].split_once('=')?.1.trim_start().trim_start_matches('r');
    let quote = if rest.starts_with("\"\"\"") { "\"\"\"" } else { "'''" };
    let body = rest.strip_prefix(quote)?;
    Some(body[..body.find(quote)?].to_string())
}

pub fn run(ctx: &Ctx, terms: Vec<Value>, kw: &Map<String, Value>) -> Result<Vec<Value>, Error> {
    let opt = |k: &str| kw.get(k).filter(|v| !v.is_null()).map(to_text);
    let missing = opt("on_missing").unwrap_or_else(|| "error".into());
    if !matches!(missing.as_str(), "error" | "warn" | "skip") {
        return Err(err(format!("Invalid value '{missing}' for config 'on_missing' for 'config' lookup plugin.")));
    }
    let (ptype, pname) = (opt("plugin_type"), opt("plugin_name"));
    let show_origin = kw.get("show_origin").is_some_and(crate::template::filters_bool);
    if ptype.is_some() != pname.is_some() {
        return Err(err("Both plugin_type and plugin_name are required, cannot use one without the other."));
    }
    if let Some(t) = ptype.as_deref().filter(|t| !PLUGIN_TYPES.contains(t)) {
        return Err(err(format!("Invalid value '{t}' for config 'plugin_type' for 'config' lookup plugin.")));
    }
    let defs = match (&ptype, &pname) {
        (Some(t), Some(n)) => plugin_defs(ctx, t, n).ok_or_else(|| err(format!("Unable to load {t} plugin '{n}'.")))?,
        _ => parse_defs(BASE.lines()),
    };
    let label = |name: &str| match (&ptype, &pname) {
        (Some(t), Some(n)) => format!("'{name}' for '{n}' {t} plugin"),
        _ => format!("'{name}'"),
    };
    let file = crate::config::Config::read();
    let mut out = Vec::new();
    for term in terms {
        let Value::String(name) = &term else {
            return Err(err(format!(
                "Invalid setting identifier, {} is not a <class 'str'>, its a <class '{}'>.",
                crate::template::pyfmt::py_repr(&term),
                crate::template::filters::py_type_name(&term)
            )));
        };
        let Some(def) = defs.iter().find(|d| &d.name == name) else {
            let msg = format!("No config definition exists for {}.", label(name));
            match missing.as_str() {
                "skip" => continue,
                "warn" => {
                    crate::diag::warn(&format!("Skipping {name}: {msg}"));
                    continue;
                }
                _ => return Err(err(msg)),
            }
        };
        let (value, origin) = resolve(ctx, def, &file, &defs, &label(name))?;
        out.push(if show_origin { Value::Array(vec![value, Value::from(origin)]) } else { value });
    }
    Ok(out)
}

/// A setting's value and where it came from: the last of its variables that is set, else the
/// last environment variable, else the last `ansible.cfg` entry, else the default.
fn resolve(ctx: &Ctx, def: &Def, file: &crate::config::Config, defs: &[Def], label: &str) -> Result<(Value, String), Error> {
    let mut found: Option<(Value, String)> = None;
    for v in &def.vars {
        if let Some(x) = ctx.var(v)?.filter(|x| !x.is_null()) {
            found = Some((x, format!("var: {v}")));
        }
    }
    if found.is_none() {
        for e in &def.env {
            if let Ok(x) = std::env::var(e) {
                found = Some((Value::from(x), format!("env: {e}")));
            }
        }
    }
    if found.is_none() {
        for (s, k) in &def.ini {
            if let Some(x) = file.file_value(s, k) {
                let origin = file.file.as_ref().map(|f| f.display().to_string()).unwrap_or_default();
                found = Some((Value::from(unquote(x)), origin));
            }
        }
    }
    let (value, origin) = match found {
        Some(f) => f,
        None if def.required => return Err(err(format!("Required config {label} not provided."))),
        None => (default(&def.default, defs), "default".to_string()),
    };
    let value = typed(&value, &def.ty, &origin).ok_or_else(|| err(format!("Config {label} from '{origin}' has an invalid value.")))?;
    Ok((value, origin))
}

/// A default, with `{ANSIBLE_HOME}` standing for that setting's value.
fn default(v: &Value, defs: &[Def]) -> Value {
    match v {
        Value::String(s) if s.contains("{ANSIBLE_HOME}") => {
            let home = std::env::var("ANSIBLE_HOME").ok().unwrap_or_else(|| {
                let d = defs.iter().find(|d| d.name == "ANSIBLE_HOME").map(|d| to_text(&d.default));
                d.unwrap_or_else(|| "~/.ansible".into())
            });
            Value::from(s.replace("{ANSIBLE_HOME}", &expand(&home)))
        }
        other => other.clone(),
    }
}

fn unquote(s: &str) -> String {
    let b = s.as_bytes();
    if b.len() > 1 && b[0] == b[b.len() - 1] && (b[0] == b'"' || b[0] == b'\'') {
        return s[1..s.len() - 1].to_string();
    }
    s.to_string()
}

fn expand(p: &str) -> String {
    let p = match p.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{}{rest}", std::env::var("HOME").unwrap_or_default()),
        _ => p.to_string(),
    };
    if Path::new(&p).is_absolute() {
        return p;
    }
    std::env::current_dir().map(|d| d.join(&p).display().to_string()).unwrap_or(p)
}

/// Ansible's `ensure_type` for the types these settings use; `None` when the value does not fit.
fn typed(v: &Value, ty: &str, origin: &str) -> Option<Value> {
    if v.is_null() {
        return Some(Value::Null);
    }
    let split = |s: &str, sep: char| s.split(sep).map(|x| x.trim().to_string()).collect::<Vec<_>>();
    Some(match (ty, v) {
        ("boolean" | "bool", v) => Value::Bool(crate::template::filters_bool(v)),
        ("integer" | "int", v) => Value::from(super::int_option("config", "", v).ok()?),
        ("list", Value::String(s)) => Value::from(split(s, ',').iter().map(|x| unquote(x)).collect::<Vec<_>>()),
        ("path", Value::String(s)) => Value::from(resolve_path(s, origin)),
        ("pathspec", Value::String(s)) => Value::from(split(s, ':').iter().map(|x| resolve_path(x, origin)).collect::<Vec<_>>()),
        ("pathlist", Value::String(s)) => Value::from(split(s, ',').iter().map(|x| resolve_path(x, origin)).collect::<Vec<_>>()),
        ("pathspec" | "pathlist", Value::Array(a)) => Value::from(a.iter().map(|x| resolve_path(&to_text(x), origin)).collect::<Vec<_>>()),
        ("string" | "str", Value::Object(_) | Value::Array(_)) => return None,
        ("string" | "str", v) => Value::from(py_str(v)),
        _ => v.clone(),
    })
}

/// A path setting: `~` expanded, a relative one under the configuration file's folder.
fn resolve_path(p: &str, origin: &str) -> String {
    let base = Path::new(origin);
    if !p.starts_with('~') && !Path::new(p).is_absolute() && base.is_absolute() {
        if let Some(dir) = base.parent() {
            return dir.join(p).display().to_string();
        }
    }
    expand(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Scope;
    use serde_json::json;
    use std::sync::Arc;

    fn q(terms: Value, kw: Value, vars: Value) -> Result<Vec<Value>, Error> {
        let scope = Scope::new(vec![Arc::new(vars.as_object().unwrap().clone())], None);
        let ctx = Ctx { scope, with_action: None };
        run(&ctx, terms.as_array().unwrap().clone(), kw.as_object().unwrap())
    }

    #[test]
    fn base_and_plugin_settings() {
        let r = q(json!(["ANSIBLE_COW_ACCEPTLIST"]), json!({}), json!({})).unwrap();
        assert!(r[0].as_array().unwrap().contains(&json!("meow")));
        let vars = json!({"ansible_user": "root", "ansible_ssh_user": "lola", "ansible_ssh_port": 2022});
        let kw = json!({"plugin_type": "connection", "plugin_name": "ssh", "show_origin": true});
        let r = q(json!(["remote_user", "port"]), kw, vars).unwrap();
        assert_eq!(r, vec![json!(["lola", "var: ansible_ssh_user"]), json!([2022, "var: ansible_ssh_port"])]);
        let r = q(json!(["_Z_TEST_ENTRY"]), json!({"show_origin": true}), json!({})).unwrap();
        assert_eq!(r, vec![json!([null, "default"])]);
    }

    #[test]
    fn errors() {
        let msg = |t: Value, kw: Value| q(t, kw, json!({})).unwrap_err().detail().unwrap().to_string();
        assert_eq!(msg(json!(["NOPE"]), json!({})), "No config definition exists for 'NOPE'.");
        assert!(q(json!(["NOPE"]), json!({"on_missing": "skip"}), json!({})).unwrap().is_empty());
        assert!(msg(json!(["NOPE"]), json!({"on_missing": "boo"})).contains("Invalid value 'boo'"));
        assert!(msg(json!([1337]), json!({})).contains("Invalid setting identifier"));
        assert!(msg(json!(["x"]), json!({"plugin_type": "shell"})).contains("Both plugin_type and plugin_name"));
        let kw = json!({"plugin_type": "lookup", "plugin_name": "config"});
        assert_eq!(msg(json!(["plugin_type1"]), kw), "No config definition exists for 'plugin_type1' for 'config' lookup plugin.");
        let kw = json!({"plugin_type": "lookup", "plugin_name": "some.nonexistent.mylookup"});
        assert!(msg(json!(["x"]), kw).contains("Unable to load lookup"));
    }

    #[test]
    fn python_documentation() {
        let src = "X = 1\nDOCUMENTATION = \"\"\"\n    name: bogus\n    options:\n        test_list:\n            required: True\n\"\"\"\n";
        let doc = documentation(src).unwrap();
        let v = crate::yaml::parse_str(&doc, Path::new("bogus.py")).unwrap().to_value();
        assert_eq!(v["options"]["test_list"]["required"], json!(true));
    }
}
