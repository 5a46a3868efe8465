//! Running one task on one host: conditions, loops, arguments, the module, retries,
//! changed_when/failed_when, and the registered result.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::vars::{task_scope, Inherited, PlayScope};
use super::{HostState, Run};
use crate::connection::{local::Local, Become, Connection, Spec};
use crate::modules::{Args, ModError, Module, Outcome, Reconnect, TaskCtx};
use crate::playbook::{Kw, Loop, Task};
use crate::report::event::{HostResult, ItemResult, Status};
use crate::template::{self, Scope};

/// The keywords in force for a task: its own, then its blocks', role's and play's (innermost first).
pub struct Chain<'a> {
    pub kws: Vec<&'a Kw>,
}

impl<'a> Chain<'a> {
    /// The innermost value of a keyword.
    pub fn get(&self, f: impl Fn(&'a Kw) -> &'a Option<Value>) -> Option<&'a Value> {
        self.kws.iter().rev().find_map(|k| f(k).as_ref())
    }

    pub fn when(&self) -> Vec<Value> {
        self.kws.iter().flat_map(|k| k.when.iter().cloned()).collect()
    }

    pub fn tags(&self) -> Vec<String> {
        let mut t: Vec<String> = self.kws.iter().flat_map(|k| k.tags.iter().cloned()).collect();
        t.dedup();
        t
    }

    pub fn environment(&self) -> Vec<Value> {
        self.kws.iter().filter_map(|k| k.environment.clone()).collect()
    }
}

fn rendered_bool(v: Option<&Value>, scope: &Arc<Scope>) -> Result<Option<bool>, String> {
    match v {
        None => Ok(None),
        Some(v) => {
            let r = template::render_value(v, scope).map_err(|e| e.message)?;
            Ok(Some(template::filters_bool(&r)))
        }
    }
}

fn var_string(scope: &Arc<Scope>, names: &[&str]) -> Option<String> {
    for n in names {
        if let Ok(Some(v)) = scope.resolve(n) {
            if !v.is_null() {
                return Some(crate::pytext::to_text(&v));
            }
        }
    }
    None
}

/// Everything a task needs besides its own definition.
pub struct Env<'a> {
    pub run: &'a Arc<Run>,
    pub host: &'a Arc<HostState>,
    pub ps: &'a PlayScope,
    pub inh: &'a Inherited,
    pub chain: &'a Chain<'a>,
    /// The probes of the tasks after this one ([`prefetch`]).
    pub ahead: Option<crate::modules::Ahead>,
}

pub fn skipped_result(host: &str, cond: &Value) -> HostResult {
    let mut m = Map::new();
    m.insert("changed".into(), json!(false));
    m.insert("false_condition".into(), cond.clone());
    m.insert("skip_reason".into(), json!("Conditional result was False"));
    m.insert("skipped".into(), json!(true));
    HostResult::new(host, Status::Skipped, m)
}

/// What Ansible 2.19 puts in every failed result where a Python traceback would go.
const NO_TRACEBACK: &str = "(traceback unavailable)";

pub fn failed_result(host: &str, msg: String) -> HostResult {
    let mut m = Map::new();
    m.insert("changed".into(), json!(false));
    m.insert("exception".into(), json!(NO_TRACEBACK));
    m.insert("failed".into(), json!(true));
    m.insert("msg".into(), json!(msg));
    HostResult::new(host, Status::Failed, m)
}

/// Evaluate `when` conditions; returns the first false one.
pub fn first_false(conds: &[Value], scope: &Arc<Scope>) -> Result<Option<Value>, String> {
    for c in conds {
        match template::eval_condition(c, scope) {
            Ok(true) => {}
            Ok(false) => return Ok(Some(c.clone())),
            Err(e) => return Err(format!("The conditional check '{}' failed. The error was: {}", crate::pytext::to_text(c), e.message)),
        }
    }
    Ok(None)
}

/// The items of a loop, rendered; `action` is the task's (first_found looks in the folder
/// it implies).
pub fn loop_items(lp: &Loop, scope: &Arc<Scope>, action: &str) -> Result<Vec<Value>, String> {
    match lp {
        Loop::Items { value, flatten } => {
            let v = template::render_value(value, scope).map_err(|e| e.message)?;
            match v {
                Value::Array(a) if *flatten => Ok(a.into_iter().flat_map(|x| if let Value::Array(inner) = x { inner } else { vec![x] }).collect()),
                Value::Array(a) => Ok(a),
                Value::String(s) if *flatten => Ok(vec![Value::String(s)]),
                Value::Null if *flatten => Ok(vec![]),
                other => Err(format!("Invalid data passed to 'loop', it requires a list, got this instead: {}. Hint: If you passed a list/dict of just one element, try adding wantlist=True to your lookup invocation or use q/query instead of lookup.", crate::pytext::py_str(&other))),
            }
        }
        Loop::Lookup { name, terms } => template::with_loop(name, terms, scope, action),
    }
}

/// How to reach the host (or the delegated host) for this task: the cached connection, or a
/// new one (SSH unless the host says otherwise), opened once per host; and how to open it again.
async fn connection(env: &Env<'_>, scope: &Arc<Scope>, delegate: Option<&str>) -> Result<(Arc<dyn Connection>, Reconnect), ModError> {
    // A delegated task connects as the delegate host's inventory says.
    let (state, vars) = match delegate {
        Some(d) => {
            let view = super::vars::HostVarsView(env.run.clone());
            let vars = crate::template::HostVarsSource::host_scope(&view, d);
            (env.run.host(d), vars)
        }
        None => (Some(env.host.clone()), Some(scope.clone())),
    };
    let name = delegate.unwrap_or(&env.host.name).to_string();
    let get = |names: &[&str]| vars.as_ref().and_then(|s| var_string(s, names));
    let conn_type = match delegate {
        Some(d) => get(&["ansible_connection"]).or_else(|| (d == "localhost" || d == "127.0.0.1").then(|| "local".to_string())),
        None => get(&["ansible_connection"])
            .or_else(|| env.chain.get(|k| &k.connection).map(crate::pytext::to_text))
            .or_else(|| env.run.opts.connection.clone()),
    }
    .unwrap_or_else(|| "ssh".into());
    let spec = spec(env, &name, &conn_type, &get)?;
    let reconnect = Reconnect { spec: spec.clone(), slot: state.as_ref().map(|s| s.conn.clone()) };
    let Some(st) = state else {
        return Ok((spec.open().await?, reconnect));
    };
    // One connection per host for the whole run; concurrent tasks wait for the first to open it.
    let _opening = st.connecting.lock().await;
    if let Some(c) = st.conn.get() {
        return Ok((c, reconnect));
    }
    if env.run.opts.verbosity >= 3 {
        env.run.reporter.trace(&name, &format!("ESTABLISH {}", spec.describe()));
    }
    let started = std::time::Instant::now();
    let conn = spec.open().await;
    if env.run.opts.verbosity >= 3 {
        let how = match &conn {
            Ok(c) => format!("{} connection open in {:.3}s", c.transport(), started.elapsed().as_secs_f64()),
            Err(e) => format!("connection failed after {:.3}s: {e}", started.elapsed().as_secs_f64()),
        };
        env.run.reporter.trace(&name, &how);
    }
    let conn = conn?;
    st.conn.set(Some(conn.clone()));
    Ok((conn, reconnect))
}

/// Whether the task's data must not be shown (`no_log`).
fn hidden(env: &Env<'_>, scope: &Arc<Scope>) -> bool {
    rendered_bool(env.chain.get(|k| &k.no_log), scope).ok().flatten().unwrap_or(false)
}

/// The connection a host's variables ask for.
fn spec(env: &Env<'_>, name: &str, conn_type: &str, get: &(dyn Fn(&[&str]) -> Option<String> + Sync)) -> Result<Spec, ModError> {
    Ok(match conn_type.rsplit('.').next().unwrap_or(conn_type) {
        "local" => Spec::Local,
        "ssh" | "paramiko" | "smart" => {
            let o = &env.run.opts;
            let user = get(&["ansible_user", "ansible_ssh_user"])
                .or_else(|| env.chain.get(|k| &k.remote_user).map(crate::pytext::to_text))
                .or_else(|| o.remote_user.clone());
            let args = [get(&["ansible_ssh_common_args"]), get(&["ansible_ssh_extra_args"]), o.ssh_args.clone()];
            let settings = crate::connection::ssh::Settings {
                host: get(&["ansible_host", "ansible_ssh_host"]),
                port: get(&["ansible_port", "ansible_ssh_port"]).and_then(|p| p.parse().ok()),
                user,
                password: get(&["ansible_password", "ansible_ssh_pass", "ansible_ssh_password"])
                    .or_else(|| o.ssh_password.clone())
                    .inspect(|p| crate::vault::note_secret(p)),
                private_key_file: get(&["ansible_ssh_private_key_file", "ansible_private_key_file"]).or_else(|| o.private_key.clone()),
                ssh_args: args.into_iter().flatten().collect::<Vec<_>>().join(" "),
                timeout: get(&["ansible_ssh_timeout", "ansible_timeout"]).and_then(|t| t.parse().ok()).or(o.timeout),
                host_key_checking: get(&["ansible_host_key_checking", "ansible_ssh_host_key_checking"])
                    .map(|v| template::filters_bool(&Value::String(v)))
                    .or(o.host_key_checking),
                ssh_config: None,
                key_passphrase: o.key_passphrase.clone(),
            };
            Spec::Ssh { name: name.to_string(), settings }
        }
        "docker" => Spec::Docker {
            container: get(&["ansible_docker_host", "ansible_host"]).unwrap_or_else(|| name.to_string()),
            user: get(&["ansible_docker_user", "ansible_user"]),
            exe: get(&["ansible_docker_exe"]),
        },
        "chroot" => Spec::Chroot {
            root: get(&["ansible_chroot_host", "ansible_host"]).unwrap_or_else(|| name.to_string()),
            exe: get(&["ansible_chroot_exe"]),
        },
        other => {
            return Err(ModError::Unreachable(format!(
                "connection type `{other}` is not supported by steward (use ssh, local, docker or chroot)"
            )))
        }
    })
}

/// A become option from the variables Ansible's become plugin reads for it: the generic
/// `ansible_become_*` names, then the method's own (`ansible_sudo_*`, `ansible_su_*`); where
/// several are set the last one wins, as in Ansible's configuration manager.
fn become_var(scope: &Arc<Scope>, names: &[String]) -> Option<String> {
    names.iter().rev().find_map(|n| var_string(scope, &[n.as_str()]))
}

fn become_for(env: &Env<'_>, scope: &Arc<Scope>) -> Result<Option<Become>, String> {
    let on = match var_string(scope, &["ansible_become"]) {
        Some(v) => template::filters_bool(&Value::String(v)),
        None => rendered_bool(env.chain.get(|k| &k.become_), scope)?.unwrap_or(env.run.opts.become_),
    };
    if !on {
        return Ok(None);
    }
    let render = |v: Option<&Value>| -> Result<Option<String>, String> {
        match v {
            Some(v) => Ok(Some(crate::pytext::to_text(&template::render_value(v, scope).map_err(|e| e.message)?))),
            None => Ok(None),
        }
    };
    let method = match var_string(scope, &["ansible_become_method"]) {
        Some(m) => m,
        None => render(env.chain.get(|k| &k.become_method))?.or(env.run.opts.become_method.clone()).unwrap_or_else(|| "sudo".into()),
    };
    let short = method.rsplit('.').next().unwrap_or(&method).to_string();
    let names = |generic: &[&str], own: &[&str]| -> Vec<String> {
        generic.iter().map(|g| format!("ansible_become_{g}")).chain(own.iter().map(|o| format!("ansible_{short}_{o}"))).collect()
    };
    let user = match become_var(scope, &names(&["user"], &["user"])) {
        Some(u) => u,
        None => render(env.chain.get(|k| &k.become_user))?.or(env.run.opts.become_user.clone()).unwrap_or_else(|| "root".into()),
    };
    // An empty password is no password: Ansible's plugins answer a prompt only with one.
    let password =
        become_var(scope, &names(&["password", "pass"], &["pass"])).or(env.run.opts.become_password.clone()).filter(|p| !p.is_empty());
    let flags = become_var(scope, &names(&["flags"], &["flags"])).or(render(env.chain.get(|k| &k.become_flags))?);
    let exe = become_var(scope, &names(&["exe"], &["exe"])).or(render(env.chain.get(|k| &k.become_exe))?);
    let chdir = if short == "sudo" { var_string(scope, &["ansible_sudo_chdir"]).filter(|d| !d.is_empty()) } else { None };
    let prompts = match (short.as_str(), scope.resolve("ansible_su_prompt_l10n")) {
        ("su", Ok(Some(Value::Array(a)))) => a.iter().map(crate::pytext::to_text).collect(),
        ("su", Ok(Some(Value::String(s)))) => s.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect(),
        _ => vec![],
    };
    if let Some(p) = &password {
        crate::vault::note_secret(p);
    }
    Ok(Some(Become { method, user, password, flags, exe, chdir, prompts, timeout: None }))
}

/// How long a become prompt or marker may take to appear before the host counts as
/// unreachable. Over SSH, Ansible waits two seconds past the connection's timeout
/// (`ansible_ssh_timeout`, `ansible_timeout`, `--timeout`; 10); on the local connection,
/// `ansible_local_become_success_timeout` (10).
fn escalation_timeout(env: &Env<'_>, scope: &Arc<Scope>, transport: &str) -> Option<std::time::Duration> {
    let secs = |names: &[&str]| var_string(scope, names).and_then(|t| t.trim().parse::<u64>().ok());
    let s = match transport {
        "ssh" => 2 + secs(&["ansible_ssh_timeout", "ansible_timeout"]).or(env.run.opts.timeout).unwrap_or(10),
        "local" => secs(&["ansible_local_become_success_timeout"]).filter(|t| *t >= 1).unwrap_or(10),
        _ => return None,
    };
    Some(std::time::Duration::from_secs(s))
}

fn environment(env: &Env<'_>, scope: &Arc<Scope>) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for e in env.chain.environment() {
        let r = template::render_value(&e, scope).map_err(|e| e.message)?;
        let maps = match r {
            Value::Array(a) => a,
            v => vec![v],
        };
        for m in maps {
            if let Value::Object(m) = m {
                for (k, v) in m {
                    out.retain(|(x, _)| *x != k);
                    out.push((k, crate::pytext::to_text(&v)));
                }
            }
        }
    }
    Ok(out)
}

/// A module's result as Ansible registers it.
pub fn outcome_map(o: &Outcome) -> Map<String, Value> {
    let mut m = o.data.clone();
    m.insert("changed".into(), json!(o.changed));
    if o.failed {
        m.insert("failed".into(), json!(true));
        m.entry("exception").or_insert(json!(NO_TRACEBACK));
    } else {
        m.entry("failed").or_insert(json!(false));
    }
    if let Some(msg) = &o.msg {
        if !msg.is_empty() || m.contains_key("rc") {
            m.insert("msg".into(), json!(msg));
        }
    }
    if o.skipped {
        m.insert("skipped".into(), json!(true));
    }
    if !o.warnings.is_empty() {
        m.insert("warnings".into(), json!(o.warnings));
    }
    // Ansible registers the diff a module returns (modules return one under --diff).
    if let (Some(d), false) = (&o.diff_result, m.contains_key("diff")) {
        m.insert("diff".into(), d.clone());
    }
    if !o.diffs.is_empty() && !m.contains_key("diff") {
        let one = |d: &crate::modules::FileDiff| json!({"before_header": d.before_header, "after_header": d.after_header, "before": d.before, "after": d.after});
        let v = match o.diffs.as_slice() {
            [d] => one(d),
            ds => Value::Array(ds.iter().map(one).collect()),
        };
        m.insert("diff".into(), v);
    }
    m
}

fn status_of(m: &Map<String, Value>) -> Status {
    if m.get("unreachable") == Some(&Value::Bool(true)) {
        Status::Unreachable
    } else if match m.get("failed_when_result") {
        // As Ansible's TaskResult.is_failed: failed_when's verdict wins over `failed` (which
        // running out of retries sets afterwards).
        Some(Value::Bool(b)) => *b,
        _ => m.get("failed") == Some(&Value::Bool(true)),
    } {
        Status::Failed
    } else if m.get("skipped") == Some(&Value::Bool(true)) {
        Status::Skipped
    } else if m.get("changed") == Some(&Value::Bool(true)) {
        Status::Changed
    } else {
        Status::Ok
    }
}

struct Attempt {
    map: Map<String, Value>,
    outcome: Option<Outcome>,
    /// The place of the value a failure is about (an argument that could not be rendered).
    origin: Option<crate::diag::Loc>,
}

/// The innermost value under `node` that does not render: where a run-time template error
/// points its caret.
fn failing_node<'n>(node: &'n crate::yaml::Node, scope: &Arc<Scope>) -> &'n crate::yaml::Node {
    use crate::yaml::NodeKind;
    let fails = |n: &crate::yaml::Node| template::render_value(&n.to_value(), scope).is_err();
    let inner = match &node.kind {
        NodeKind::Map(m) => m.iter().map(|(_, v)| v).find(|v| fails(v)),
        NodeKind::Seq(s) => s.iter().find(|v| fails(v)),
        _ => None,
    };
    inner.map_or(node, |n| failing_node(n, scope))
}

/// Run the module once for one item (or the task without a loop), with retries.
async fn attempt(env: &Env<'_>, task: &Task, module: &'static dyn Module, args_node: &crate::yaml::Node, scope: &Arc<Scope>) -> Attempt {
    let fail = |msg: String| Attempt { map: failed_result("", msg).result, outcome: None, origin: None };
    let raw_args = args_node.to_value();
    let rendered = match template::render_value(&raw_args, scope) {
        Ok(Value::Object(mut m)) => match m.remove("_variable_params") {
            // Arguments from a template: the task's own arguments win over them.
            Some(Value::Object(mut base)) => {
                base.extend(m);
                base
            }
            Some(other) => {
                return fail(format!("Task args must resolve to a 'dict' not '{}'.", template::py_type_name(&other)));
            }
            None => m,
        },
        Ok(_) => Map::new(),
        Err(e) => {
            // As Ansible: name the argument whose value could not be rendered, and point at it.
            let arg = args_node.as_map().and_then(|m| {
                m.iter().find(|(k, v)| k.key_string() != "_variable_params" && template::render_value(&v.to_value(), scope).is_err())
            });
            let msg = match arg {
                Some((k, _)) => format!("Error while resolving value for '{}': {}", k.key_string(), e.message),
                None => e.message,
            };
            let mut a = fail(format!(
                "{} (in the arguments of task `{}`, {}:{})",
                msg,
                task.display_name(),
                crate::diag::relative(&task.loc.file),
                task.loc.line
            ));
            a.origin = arg.map(|(_, v)| failing_node(v, scope).loc.clone()).filter(|l| l.is_known());
            return a;
        }
    };
    let rendered = match module_defaults(env, module, scope) {
        Ok(d) if d.is_empty() => rendered,
        Ok(mut d) => {
            d.extend(rendered);
            d
        }
        Err(e) => return fail(e),
    };
    let args = match Args::prepare(module, rendered) {
        Ok(a) => a,
        Err(e) => return fail(e.to_string()),
    };
    let delegate = match env.chain.get(|k| &k.delegate_to) {
        Some(d) => match template::render_value(d, scope) {
            Ok(v) => Some(crate::pytext::to_text(&v)),
            Err(e) => return fail(e.message),
        },
        None => None,
    };
    let check = match rendered_bool(env.chain.get(|k| &k.check_mode), scope) {
        Ok(v) => v.unwrap_or(env.run.opts.check),
        Err(e) => return fail(e),
    };
    let diff = match rendered_bool(env.chain.get(|k| &k.diff), scope) {
        // A task's own `diff: false` is kept even for the report (it often hides secrets).
        Ok(v) => v.unwrap_or(env.run.opts.diff || env.run.opts.report),
        Err(e) => return fail(e),
    };
    if check && !module.supports_check_mode() {
        let mut map = Map::new();
        map.insert("changed".into(), json!(false));
        map.insert("msg".into(), json!(format!("remote module ({}) does not support check mode", module.name())));
        map.insert("skipped".into(), json!(true));
        return Attempt { map, outcome: None, origin: None };
    }
    let become_ = match become_for(env, scope) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let envv = match environment(env, scope) {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    let (conn, reconnect): (Arc<dyn Connection>, Option<Reconnect>) = if module.controller_only() {
        (Arc::new(Local), None)
    } else {
        match connection(env, scope, delegate.as_deref()).await {
            // -vv: what goes through the connection, unless the task hides its data.
            Ok((c, r)) if env.run.opts.verbosity >= 2 && !hidden(env, scope) => {
                let traced: Arc<dyn Connection> = Arc::new(crate::connection::traced::Traced {
                    inner: c,
                    host: delegate.clone().unwrap_or_else(|| env.host.name.clone()),
                    reporter: env.run.reporter.clone(),
                });
                (traced, Some(r))
            }
            Ok((c, r)) => (c, Some(r)),
            Err(ModError::Unreachable(m)) => {
                let mut map = Map::new();
                map.insert("changed".into(), json!(false));
                map.insert("msg".into(), json!(m));
                map.insert("unreachable".into(), json!(true));
                return Attempt { map, outcome: None, origin: None };
            }
            Err(e) => return fail(e.to_string()),
        }
    };
    let mut become_ = become_;
    if let Some(b) = become_.as_mut() {
        b.timeout = escalation_timeout(env, scope, conn.transport());
    }
    let ctx = TaskCtx {
        conn,
        host: env.host.name.clone(),
        check,
        diff,
        become_,
        env: envv,
        scope: scope.clone(),
        role_path: env.inh.role.as_ref().map(|r| r.path.clone()),
        playbook_dir: env.run.playbook_dir.clone(),
        verbosity: env.run.opts.verbosity,
        task_name: task.display_name(),
        no_log: hidden(env, scope),
        reconnect,
        ahead: env.ahead.clone(),
    };
    // As Ansible: one run plus `retries` (3 when only `until` is given); with retries and no
    // `until`, the task is retried until it does not fail.
    let retries = match &task.retries {
        Some(r) => match template::render_value(r, scope) {
            Ok(v) => match v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())) {
                Some(n) => Some(n),
                None => {
                    return fail(format!(
                        "the field 'retries' has an invalid value ({}), and could not be converted to int",
                        crate::pytext::to_text(&v)
                    ))
                }
            },
            Err(e) => return fail(e.message),
        },
        None => None,
    };
    let delay = match &task.delay {
        Some(d) => template::render_value(d, scope)
            .ok()
            .and_then(|v| v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
            .unwrap_or(5.0),
        None => 5.0,
    };
    let max_attempts = 1 + match (retries, task.until.is_some()) {
        (Some(r), _) => r.max(0),
        (None, true) => 3,
        (None, false) => 0,
    };
    let (async_secs, poll) = match async_settings(task, scope) {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    // `timeout:` bounds the task's run, as Ansible's alarm does (0: no limit).
    let timeout = match env.chain.get(|k| &k.timeout).map(|v| template::render_value(v, scope)) {
        None => 0,
        Some(Err(e)) => return fail(e.message),
        Some(Ok(v)) => match v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())) {
            Some(t) if (0..=100_000_000).contains(&t) => t as u64,
            Some(t) => return fail(format!("Task failed: Timeout {t} is invalid, it must be between 0 and 100000000.")),
            None if v.is_null() => 0,
            None => return fail(format!("Task failed: Timeout requires 'int' argument, not '{}'.", template::py_type_name(&v))),
        },
    };
    if async_secs > 0 {
        if !module.supports_async() {
            return fail(format!("This action ({}) does not support async.", module.name()));
        }
        if check {
            return fail("check mode and async cannot be used on same task.".into());
        }
        if poll == 0 {
            // Fire and forget: the job goes on in the background; async_status reports on it.
            let jid = crate::modules::async_status::start(async_secs, async move {
                match crate::modules::execute(module, &ctx, &args).await {
                    Ok(o) => outcome_map(&o),
                    Err(e) => failed_result("", e.to_string()).result,
                }
            });
            let mut map = Map::new();
            map.insert("ansible_job_id".into(), json!(jid));
            map.insert("results_file".into(), json!(crate::modules::async_status::results_file(&jid)));
            map.insert("started".into(), json!(1));
            map.insert("finished".into(), json!(0));
            map.insert("changed".into(), json!(true));
            return Attempt { map, outcome: None, origin: None };
        }
    }
    let mut n = 0;
    loop {
        n += 1;
        let run = async {
            if async_secs == 0 {
                return Some(crate::modules::execute(module, &ctx, &args).await);
            }
            tokio::time::timeout(Duration::from_secs(async_secs), crate::modules::execute(module, &ctx, &args)).await.ok()
        };
        let run = async {
            if timeout == 0 {
                return Ok(run.await);
            }
            tokio::time::timeout(Duration::from_secs(timeout), run).await
        };
        let Ok(run) = run.await else {
            let mut map = failed_result("", format!("Task failed: Timed out after {timeout} second(s).")).result;
            map.insert(
                "timedout".into(),
                json!({"frame": "Configure `DISPLAY_TRACEBACK` to see a traceback on timeout errors.", "period": timeout}),
            );
            return Attempt { map, outcome: None, origin: None };
        };
        let Some(ran) = run else {
            let mut map = failed_result("", format!("async task did not complete within the requested time - {async_secs}s")).result;
            map.insert("ansible_job_id".into(), json!(crate::modules::async_status::new_jid()));
            return Attempt { map, outcome: None, origin: None };
        };
        let (mut map, outcome) = match ran {
            Ok(o) => {
                let mut m = outcome_map(&o);
                if async_secs > 0 {
                    let jid = crate::modules::async_status::new_jid();
                    m.insert("results_file".into(), json!(crate::modules::async_status::results_file(&jid)));
                    m.insert("ansible_job_id".into(), json!(jid));
                    m.insert("started".into(), json!(1));
                    m.insert("finished".into(), json!(1));
                }
                (m, Some(o))
            }
            Err(ModError::Unreachable(m)) => {
                let mut map = Map::new();
                map.insert("changed".into(), json!(false));
                map.insert("msg".into(), json!(m));
                map.insert("unreachable".into(), json!(true));
                (map, None)
            }
            Err(ModError::Fail(m)) => (failed_result("", m).result, None),
        };
        if max_attempts > 1 {
            // Visible to changed_when and failed_when already.
            map.insert("attempts".into(), json!(n));
        }
        match inventory_effects(env, &map) {
            Ok(Some(changed)) => {
                map.insert("changed".into(), json!(changed));
            }
            Ok(None) => {}
            Err(e) => {
                map.insert("failed".into(), json!(true));
                map.insert("msg".into(), json!(e));
            }
        }
        if let Err(e) = apply_conditions(task, &mut map, scope) {
            map.insert("failed".into(), json!(true));
            map.insert("msg".into(), json!(e));
        }
        if max_attempts > 1 {
            if status_of(&map) == Status::Unreachable {
                return Attempt { origin: outcome.as_ref().and_then(|o| o.origin.clone()), map, outcome };
            }
            let s = bind_result(task, scope, &map);
            let done = match &task.until {
                Some(until) => matches!(template::eval_condition(until, &s), Ok(true)),
                None => map.get("failed") != Some(&Value::Bool(true)),
            };
            if done {
                return Attempt { origin: outcome.as_ref().and_then(|o| o.origin.clone()), map, outcome };
            }
            if n >= max_attempts {
                // Ansible's count when the attempts run out: the retries, not the runs.
                map.insert("attempts".into(), json!(max_attempts - 1));
                map.insert("failed".into(), json!(true));
                return Attempt { origin: outcome.as_ref().and_then(|o| o.origin.clone()), map, outcome };
            }
            env.run.reporter.retry(&env.host.name, &task.display_name(), max_attempts - n);
            tokio::time::sleep(Duration::from_secs_f64(delay.max(0.0))).await;
            continue;
        }
        return Attempt { origin: outcome.as_ref().and_then(|o| o.origin.clone()), map, outcome };
    }
}

/// `module_defaults` from the play, blocks, role and task (inner ones win) for this module,
/// named as written, with `ansible.builtin.`/`ansible.legacy.`, or under its collection name.
/// `group/NAME` entries apply to the modules of an action group; steward's builtin modules
/// belong to none, as ansible-core's belong to none.
fn module_defaults(env: &Env<'_>, module: &dyn Module, scope: &Arc<Scope>) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for kw in &env.chain.kws {
        let Some(md) = &kw.module_defaults else { continue };
        let md = template::render_value(md, scope).map_err(|e| e.message)?;
        let maps = match md {
            Value::Array(a) => a,
            Value::Null => vec![],
            v => vec![v],
        };
        for m in maps {
            let Value::Object(m) = m else {
                return Err("module_defaults must be a mapping of module names to arguments".into());
            };
            for (name, args) in m {
                if crate::modules::find(&name).is_some_and(|f| f.name() == module.name()) {
                    if let Value::Object(a) = args {
                        out.extend(a);
                    }
                }
            }
        }
    }
    Ok(out)
}

/// add_host and group_by change the running inventory; `changed` says whether they did.
fn inventory_effects(env: &Env<'_>, map: &Map<String, Value>) -> Result<Option<bool>, String> {
    if let Some(h) = map.get("add_host") {
        let name = h.get("host_name").map(crate::pytext::to_text).unwrap_or_default();
        let groups: Vec<String> =
            h.get("groups").and_then(Value::as_array).map(|a| a.iter().map(crate::pytext::to_text).collect()).unwrap_or_default();
        let vars = h.get("host_vars").and_then(Value::as_object).cloned().unwrap_or_default();
        let changed = env
            .run
            .change_inventory(std::slice::from_ref(&name), |inv| inv.add_dynamic_host(&name, &groups, &vars))
            .map_err(|d| d.message)?;
        return Ok(Some(changed));
    }
    if let Some(g) = map.get("add_group") {
        let group = crate::pytext::to_text(g);
        let parents: Vec<String> =
            map.get("parent_groups").and_then(Value::as_array).map(|a| a.iter().map(crate::pytext::to_text).collect()).unwrap_or_default();
        let host = env.host.name.clone();
        let changed = env
            .run
            .change_inventory(std::slice::from_ref(&host), |inv| inv.add_dynamic_group(&host, &group, &parents))
            .map_err(|d| d.message)?;
        return Ok(Some(changed));
    }
    Ok(None)
}

/// A task's `async:` and `poll:` in seconds (poll defaults to 15, as Ansible's).
fn async_settings(task: &Task, scope: &Arc<Scope>) -> Result<(u64, u64), String> {
    let num = |v: &Option<Value>, what: &str, default: u64| -> Result<u64, String> {
        let Some(v) = v else { return Ok(default) };
        let r = template::render_value(v, scope).map_err(|e| e.message)?;
        r.as_u64().or_else(|| r.as_str().and_then(|s| s.trim().parse().ok())).ok_or_else(|| {
            format!("the field '{what}' has an invalid value ({}), and could not be converted to int", crate::pytext::to_text(&r))
        })
    };
    Ok((num(&task.async_, "async", 0)?, num(&task.poll, "poll", 15)?))
}

/// The scope with the task's own result visible under its `register` name.
fn bind_result(task: &Task, scope: &Arc<Scope>, map: &Map<String, Value>) -> Arc<Scope> {
    match &task.register {
        Some(r) => scope.with_layer([(r.clone(), Value::Object(map.clone()))].into_iter().collect()),
        None => scope.clone(),
    }
}

/// `changed_when` and `failed_when`, evaluated with the result bound to the register name.
fn apply_conditions(task: &Task, map: &mut Map<String, Value>, scope: &Arc<Scope>) -> Result<(), String> {
    if task.changed_when.is_none() && task.failed_when.is_none() {
        return Ok(());
    }
    if map.get("unreachable") == Some(&Value::Bool(true)) {
        return Ok(());
    }
    let s = bind_result(task, scope, map);
    // A condition that cannot be evaluated fails the task; its `*_result` says why, as in Ansible.
    let failed = |key: &str, c: &Value, e: template::TemplateError, map: &mut Map<String, Value>| {
        let msg = format!("The conditional check '{}' failed. The error was: {}", crate::pytext::to_text(c), e.message);
        map.insert(key.into(), json!(msg));
        msg
    };
    if let Some(c) = &task.changed_when {
        let v = match template::eval_condition(c, &s) {
            Ok(v) => v,
            Err(e) => return Err(failed("changed_when_result", c, e, map)),
        };
        map.insert("changed".into(), json!(v));
    }
    if let Some(c) = &task.failed_when {
        let s = bind_result(task, scope, map);
        let v = match template::eval_condition(c, &s) {
            Ok(v) => v,
            Err(e) => return Err(failed("failed_when_result", c, e, map)),
        };
        map.insert("failed_when_result".into(), json!(v));
        map.insert("failed".into(), json!(v));
        // A failure that failed_when overrules keeps its exception under another name.
        if !v {
            if let Some(e) = map.remove("exception") {
                map.insert("failed_when_suppressed_exception".into(), e);
            }
        }
    }
    Ok(())
}

/// The probes a module task will first ask for on this host (one per loop item), worked out
/// with the variables as they are now, for an earlier task's batch to answer
/// ([`crate::connection::probes`]). Only a hint: a task whose arguments come out otherwise
/// when it runs asks for its own. Nothing that calls a lookup is rendered ahead of its time,
/// and what the rendering warns of is left for the task to say.
pub fn prefetch(
    env: &Env<'_>,
    task: &Task,
    module: &'static dyn Module,
    args_node: &crate::yaml::Node,
) -> Vec<(String, crate::modules::ProbeKey)> {
    crate::diag::muted(|| prefetch_keys(env, task, module, args_node))
}

fn prefetch_keys(
    env: &Env<'_>,
    task: &Task,
    module: &'static dyn Module,
    args_node: &crate::yaml::Node,
) -> Vec<(String, crate::modules::ProbeKey)> {
    let raw = args_node.to_value();
    let calls_out = |v: &Value| {
        let t = v.to_string();
        t.contains("lookup(") || t.contains("query(") || t.contains("q(")
    };
    if module.controller_only() || env.chain.get(|k| &k.delegate_to).is_some() || calls_out(&raw) {
        return Vec::new();
    }
    let scope = task_scope(env.run, env.host, env.ps, env.inh, Some(task));
    let (Ok(become_), Ok(envv)) = (become_for(env, &scope), environment(env, &scope)) else { return Vec::new() };
    let context = crate::modules::probe_context(&become_, &envv);
    let diff = rendered_bool(env.chain.get(|k| &k.diff), &scope).ok().flatten().unwrap_or(env.run.opts.diff || env.run.opts.report);
    let scopes = match &task.loop_ {
        None => vec![scope],
        Some(lp @ Loop::Items { value, .. }) if !calls_out(value) => {
            let (Ok(items), Ok(names)) = (loop_items(lp, &scope, task.module_name()), LoopNames::of(task, &scope)) else {
                return Vec::new();
            };
            items.iter().enumerate().map(|(i, item)| scope.with_layer(loop_vars(task, &names, item, i, &items))).collect()
        }
        Some(_) => return Vec::new(),
    };
    let mut keys = Vec::new();
    for s in scopes {
        let Ok(Value::Object(rendered)) = template::render_value(&raw, &s) else { continue };
        if rendered.contains_key("_variable_params") {
            continue;
        }
        let rendered = match module_defaults(env, module, &s) {
            Ok(d) if d.is_empty() => rendered,
            Ok(mut d) => {
                d.extend(rendered);
                d
            }
            Err(_) => continue,
        };
        if let Some(k) = Args::prepare(module, rendered).ok().and_then(|a| module.first_probe(&a, diff)) {
            keys.push((context.clone(), k));
        }
    }
    keys
}

/// The names `loop_control` gives the item and its index, rendered: Ansible templates
/// `loop_var: "{{ name }}"` with the task's variables before the loop starts.
pub struct LoopNames {
    pub item: String,
    pub index: Option<String>,
}

impl LoopNames {
    pub fn of(task: &Task, scope: &Arc<Scope>) -> Result<LoopNames, String> {
        let name = |s: &str| -> Result<String, String> {
            if !template::is_template(s) {
                return Ok(s.to_string());
            }
            template::render_value(&Value::String(s.to_string()), scope).map(|v| crate::pytext::to_text(&v)).map_err(|e| e.message)
        };
        let lc = &task.loop_control;
        Ok(LoopNames { item: name(&lc.loop_var)?, index: lc.index_var.as_deref().map(name).transpose()? })
    }
}

fn loop_vars(task: &Task, names: &LoopNames, item: &Value, idx: usize, items: &[Value]) -> Map<String, Value> {
    let lc = &task.loop_control;
    let mut m = Map::new();
    m.insert(names.item.clone(), item.clone());
    m.insert("ansible_loop_var".into(), json!(names.item));
    if let Some(iv) = &names.index {
        m.insert(iv.clone(), json!(idx));
        m.insert("ansible_index_var".into(), json!(iv));
    }
    if lc.extended {
        let n = items.len();
        let mut l = json!({"index": idx + 1, "index0": idx, "revindex": n - idx, "revindex0": n - idx - 1, "first": idx == 0,
                           "last": idx + 1 == n, "length": n, "allitems": items});
        // As Ansible: no previtem on the first item, no nextitem on the last.
        if idx > 0 {
            l["previtem"] = items[idx - 1].clone();
        }
        if let Some(next) = items.get(idx + 1) {
            l["nextitem"] = next.clone();
        }
        m.insert("ansible_loop".into(), l);
    }
    m
}

/// Run a module task on one host and build its result (not yet registered or printed).
pub async fn run_module_task(env: &Env<'_>, task: &Task, module: &'static dyn Module, args: &crate::yaml::Node) -> HostResult {
    let host = env.host.name.clone();
    let scope = task_scope(env.run, env.host, env.ps, env.inh, Some(task));
    let whens = env.chain.when();
    let no_log = rendered_bool(env.chain.get(|k| &k.no_log), &scope).ok().flatten().unwrap_or(false);
    let verbose_always = matches!(module.name(), "debug" | "assert");
    let finish = |mut r: HostResult| {
        r.no_log = no_log;
        r.until = task.until.as_ref().map(|u| match u {
            Value::Array(conds) => conds.iter().map(crate::pytext::to_text).collect::<Vec<_>>().join(" and "),
            u => crate::pytext::to_text(u),
        });
        r.module = module.name().to_string();
        r.verbose_always = verbose_always;
        r
    };
    let Some(lp) = &task.loop_ else {
        match first_false(&whens, &scope) {
            Ok(Some(c)) => return finish(skipped_result(&host, &c)),
            Err(e) => return finish(failed_result(&host, e)),
            Ok(None) => {}
        }
        let a = attempt(env, task, module, args, &scope).await;
        let mut r = HostResult::new(&host, status_of(&a.map), a.map);
        r.origin = a.origin;
        if let Some(o) = a.outcome {
            apply_effects(env, task, &o, &scope);
            r.diffs = o.diffs;
        }
        r.delegated_to = delegated(env, &scope);
        return finish(r);
    };
    let items = match loop_items(lp, &scope, task.module_name()) {
        Ok(i) => i,
        // As Ansible: a loop that cannot be rendered is an error only if the task's `when`
        // (evaluated without an item) does not skip it.
        Err(e) => match first_false(&whens, &scope) {
            Ok(Some(c)) => return finish(skipped_result(&host, &c)),
            _ => return finish(failed_result(&host, e)),
        },
    };
    let names = match LoopNames::of(task, &scope) {
        Ok(n) => n,
        Err(e) => return finish(failed_result(&host, e)),
    };
    let mut results = Vec::new();
    let mut item_results = Vec::new();
    // As in Ansible, an item sees the facts the items before it set, and the task's register
    // name holds the previous item's result.
    let mut scope = scope;
    let mut previous: Option<Map<String, Value>> = None;
    for (i, item) in items.iter().enumerate() {
        let vars = loop_vars(task, &names, item, i, &items);
        let s = match (&task.register, previous.take()) {
            (Some(r), Some(p)) => scope.with_layer([(r.clone(), Value::Object(p))].into_iter().collect()).with_layer(vars.clone()),
            _ => scope.with_layer(vars.clone()),
        };
        let mut diffs = Vec::new();
        let mut map = match first_false(&whens, &s) {
            Ok(Some(c)) => skipped_result(&host, &c).result,
            Err(e) => failed_result(&host, e).result,
            Ok(None) => {
                let a = attempt(env, task, module, args, &s).await;
                if let Some(o) = a.outcome {
                    diffs = o.diffs.clone();
                    apply_effects(env, task, &o, &s);
                    if o.facts.is_some() || o.include_vars.is_some() {
                        scope = task_scope(env.run, env.host, env.ps, env.inh, Some(task));
                    }
                }
                a.map
            }
        };
        // As Ansible: the label is rendered after the item ran, with the register name holding
        // this item's result; an undefined one there fails the item.
        let label = match &task.loop_control.label {
            Some(l) => {
                let ls = match &task.register {
                    Some(r) => s.with_layer([(r.clone(), Value::Object(map.clone()))].into_iter().collect()),
                    None => s.clone(),
                };
                match template::render_value(l, &ls) {
                    Ok(v) => crate::pytext::py_str(&v),
                    Err(e) => {
                        map.insert("failed".into(), json!(true));
                        map.insert("msg".into(), json!(format!("Failed to template loop_control.label: {}", e.message)));
                        crate::pytext::py_str(item)
                    }
                }
            }
            None => crate::pytext::py_str(item),
        };
        item_results.push(ItemResult { label, status: status_of(&map), result: map.clone(), diffs });
        for (k, v) in vars {
            map.insert(k, v);
        }
        map.insert("item".into(), item.clone());
        previous = Some(map.clone());
        results.push(Value::Object(map));
        if let Some(p) = task.loop_control.pause {
            tokio::time::sleep(Duration::from_secs_f64(p)).await;
        }
    }
    let any = |s: Status| item_results.iter().any(|r| r.status == s);
    let all_skipped = !item_results.is_empty() && item_results.iter().all(|r| r.status == Status::Skipped);
    let failed = any(Status::Failed);
    let changed = any(Status::Changed);
    let mut m = Map::new();
    m.insert("changed".into(), json!(changed));
    if failed {
        m.insert("failed".into(), json!(true));
        m.insert("msg".into(), json!("One or more items failed"));
    } else if all_skipped {
        m.insert("skipped".into(), json!(true));
        m.insert("msg".into(), json!("All items skipped"));
    } else {
        m.insert("msg".into(), json!("All items completed"));
    }
    if items.is_empty() {
        m.insert("skipped".into(), json!(true));
        m.insert("skipped_reason".into(), json!("No items in the list"));
    }
    m.insert("results".into(), Value::Array(results));
    let status = if any(Status::Unreachable) {
        Status::Unreachable
    } else if failed {
        Status::Failed
    } else if all_skipped || items.is_empty() {
        Status::Skipped
    } else if changed {
        Status::Changed
    } else {
        Status::Ok
    };
    let mut r = HostResult::new(&host, status, m);
    r.items = item_results;
    r.is_loop = true;
    r.delegated_to = delegated(env, &scope);
    finish(r)
}

fn delegated(env: &Env<'_>, scope: &Arc<Scope>) -> Option<String> {
    env.chain.get(|k| &k.delegate_to).and_then(|d| template::render_value(d, scope).ok()).map(|v| crate::pytext::to_text(&v))
}

/// set_fact, include_vars and gathered facts change the host's variables at once, so later
/// items and tasks see them.
fn apply_effects(env: &Env<'_>, task: &Task, o: &Outcome, scope: &Arc<Scope>) {
    // With delegate_facts, facts go to the host the task was delegated to.
    let delegated = match env.chain.get(|k| &k.delegate_facts) {
        Some(v) if template::filters_bool(v) => delegated(env, scope).and_then(|d| env.run.host(&d)),
        _ => None,
    };
    let host = delegated.unwrap_or_else(|| env.host.clone());
    if let Some(f) = &o.facts {
        // set_fact sets host variables; other modules return facts (ansible_facts).
        if matches!(&task.kind, crate::playbook::TaskKind::Module { module, .. } if module.name() == "set_fact") {
            HostState::update(&host.set_facts, f.clone());
        } else {
            host.set_facts(f.clone());
        }
    }
    if let Some(v) = &o.include_vars {
        HostState::update(&host.include_vars, v.clone());
    }
}

/// Store a result under the task's `register` name.
pub fn register(host: &HostState, task: &Task, r: &HostResult) {
    if let Some(name) = &task.register {
        let mut m = r.result.clone();
        if r.no_log {
            // The value stays usable by later tasks; only its display is hidden.
        }
        m.remove("_ansible_no_log");
        HostState::update(&host.set_facts, [(name.clone(), Value::Object(m))].into_iter().collect());
    }
}
