//! `steward run PLAYBOOK...`: load and check everything, then run.

use std::path::PathBuf;
use std::sync::Arc;

use super::{Error, RunArgs};
use crate::config::Config;
use crate::diag::Diagnostic;
use crate::exec::{exit, Run, RunOptions};
use crate::inventory::Inventory;
use crate::playbook::{Nest, Playbook, Task, TaskKind};
use crate::report::{Adhoc, HtmlReport, JUnit, JsonLines, Reporter, Terminal};

/// The inventory from `-i`, else from ansible.cfg (`inventory`, `ANSIBLE_INVENTORY`), else this
/// machine alone.
pub fn load_inventory(sources: &[String], cfg: &Config) -> Result<Inventory, Diagnostic> {
    if sources.is_empty() {
        let list = cfg.get_list("defaults", "inventory", &[',']);
        if !list.is_empty() && list.iter().all(|s| std::path::Path::new(s).exists()) {
            return Inventory::load(&list);
        }
        return Ok(Inventory::implicit_localhost());
    }
    Inventory::load(sources)
}

/// What loading playbooks needs: the roles path, and the extra vars (static imports may name
/// their files with them).
fn load_env(cfg: &Config, extra: &[String]) -> Result<Arc<crate::playbook::LoadEnv>, Error> {
    let extra_vars = super::vars::parse_extra_vars(extra)?;
    Ok(Arc::new(crate::playbook::LoadEnv { roles_path: roles_path(cfg), extra_vars }))
}

fn roles_path(cfg: &Config) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = cfg.get_list("defaults", "roles_path", &[':']).into_iter().map(PathBuf::from).collect();
    if let Ok(home) = std::env::var("HOME") {
        out.push(PathBuf::from(home).join(".ansible/roles"));
    }
    out.push("/usr/share/ansible/roles".into());
    out.push("/etc/ansible/roles".into());
    out
}

fn split_list(v: &[String]) -> Vec<String> {
    v.iter().flat_map(|s| s.split(',')).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

/// Read a password from the terminal (not stdin, which may be a pipe) without echoing it; the
/// prompt goes to the terminal too. None when there is no terminal to ask on.
pub fn prompt_password(prompt: &str) -> Option<String> {
    match rpassword::prompt_password(prompt) {
        Ok(p) => Some(p),
        // End of input at the prompt (Ctrl-D): an empty answer, as a line read would give.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Some(String::new()),
        Err(_) => None,
    }
}

/// Vault passwords first: playbooks, inventories and variable files may be encrypted.
fn vault_setup(o: &super::VaultOpts, cfg: &Config) -> Result<(), Error> {
    super::vault_cmd::setup(o, cfg)?;
    Ok(())
}

pub fn run(a: RunArgs) -> Result<i32, Error> {
    let cfg = Config::load();
    vault_setup(&a.inv.vault, &cfg)?;
    if a.playbooks.is_empty() {
        return Err(Error::command("a playbook is required: steward run PLAYBOOK..."));
    }
    crate::modules::python::set_module_path(
        a.module_path.iter().flat_map(|p| p.split(':')).filter(|p| !p.is_empty()).map(PathBuf::from).collect(),
    );
    // The whole of every playbook is checked before anything runs.
    let env = load_env(&cfg, &a.inv.extra_vars)?;
    let mut books: Vec<Playbook> = Vec::new();
    for p in &a.playbooks {
        if !p.exists() {
            return Err(Error::command(format!("the playbook {} could not be found", p.display())));
        }
        books.push(crate::playbook::load_playbook(p, &env).map_err(Error::Playbook)?);
    }
    run_loaded(a, books, false, &cfg)
}

/// Run playbooks already loaded (from files, or built for an ad-hoc command).
/// Answer the plays' `vars_prompt` before anything runs, as ansible-playbook does: a variable
/// given with `-e` is not asked for; without a terminal nothing is asked and the default (or
/// nothing) is used, with a warning.
fn answer_prompts(books: &mut [Playbook], extra: &serde_json::Map<String, serde_json::Value>, listing: bool) -> Result<(), String> {
    use serde_json::Value;
    use std::io::IsTerminal;
    for b in books.iter_mut() {
        for play in b.plays.iter_mut() {
            if play.vars_prompt.is_empty() {
                continue;
            }
            let mut p = (**play).clone();
            for entry in &play.vars_prompt {
                let name = entry.get("name").map(crate::pytext::to_text).unwrap_or_default();
                if extra.contains_key(&name) {
                    continue;
                }
                let flag = |k: &str, d: bool| entry.get(k).map(crate::pytext::ansible_bool).unwrap_or(d);
                let default = entry.get("default").filter(|v| !v.is_null()).map(crate::pytext::to_text);
                let mut answer: Option<String> = None;
                if !listing && std::io::stdin().is_terminal() {
                    let prompt = entry.get("prompt").map(crate::pytext::to_text).unwrap_or_default();
                    let msg = match (&default, prompt.is_empty()) {
                        (Some(d), false) => format!("{prompt} [{d}]: "),
                        (None, false) => format!("{prompt}: "),
                        _ => format!("input for {name}: "),
                    };
                    loop {
                        let first = ask(&msg, flag("private", true));
                        if !flag("confirm", false) || ask(&format!("confirm {msg}"), flag("private", true)) == first {
                            answer = first;
                            break;
                        }
                        eprintln!("***** VALUES ENTERED DO NOT MATCH ****");
                    }
                } else if !listing {
                    crate::diag::warn("Not prompting as we are not in interactive mode");
                }
                let mut value = match answer.filter(|s| !s.is_empty()).or(default) {
                    Some(s) => Value::String(s),
                    None => Value::Null,
                };
                if let (Some(scheme), Value::String(s)) = (entry.get("encrypt").filter(|v| !v.is_null()), &value) {
                    let salt = entry.get("salt").map(crate::pytext::to_text);
                    value = Value::String(crate::crypt::hash_password(s, &crate::pytext::to_text(scheme), salt.as_deref(), None)?);
                }
                if let (true, Value::String(s)) = (flag("unsafe", false), &value) {
                    value = Value::String(crate::pytext::literal_template(s));
                }
                p.vars.insert(name, value);
            }
            *play = Arc::new(p);
        }
    }
    Ok(())
}

fn ask(msg: &str, private: bool) -> Option<String> {
    if private {
        return prompt_password(msg);
    }
    use std::io::Write;
    eprint!("{msg}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).ok()?;
    Some(line.trim_end_matches(['\n', '\r']).to_string())
}

/// Each host holds a connection (a socket, and a file or two while it transfers): the soft limit
/// on open files, 1024 on many systems, would stop a run at about a thousand hosts, so it is
/// raised to the hard limit, as far as the system allows.
fn raise_open_files_limit() {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit only read and write the struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

pub fn run_loaded(a: RunArgs, mut books: Vec<Playbook>, adhoc: bool, cfg: &Config) -> Result<i32, Error> {
    raise_open_files_limit();
    let mut inv = load_inventory(&a.inv.inventory, cfg)?;
    let extra_vars = super::vars::parse_extra_vars(&a.inv.extra_vars)?;
    let shard =
        a.shard.as_deref().map(|s| crate::exec::shard::Shard::parse(s, |k| std::env::var(k).ok())).transpose().map_err(Error::command)?;
    for b in &books {
        check_notify(b).and_then(|_| crate::graph::check(&b.plays)).map_err(Error::Playbook)?;
    }
    if a.syntax_check {
        for p in &a.playbooks {
            println!("\nplaybook: {}", p.display());
        }
        return Ok(exit::OK);
    }
    let listing = a.list_hosts || a.list_tasks || a.list_tags;
    answer_prompts(&mut books, &extra_vars, listing).map_err(|e| Error::command(format!("vars_prompt: {e}")))?;
    for b in &books {
        inv.add_playbook_dir(&b.dir);
    }
    if a.list_hosts || a.list_tasks || a.list_tags {
        list(&a, &books, &inv, shard);
        return Ok(exit::OK);
    }
    if a.step && !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return Err(Error::command("--step asks before each task, and needs a terminal on stdin to ask on"));
    }
    if let Some(s) = shard {
        for b in &books {
            crate::exec::shard::check(&b.plays, s).map_err(Error::Playbook)?;
        }
    }
    let partial = !a.tags.is_empty() || !a.skip_tags.is_empty() || a.start_at_task.is_some();
    for b in &books {
        crate::playbook::local_files::check(&b.plays, &b.dir, partial).map_err(Error::Playbook)?;
    }
    let become_password = if let Some(f) = &a.become_password_file {
        Some(password_from_file(f)?)
    } else if a.ask_become_pass
        || (cfg.get_bool("privilege_escalation", "become_ask_pass") == Some(true) && std::io::IsTerminal::is_terminal(&std::io::stdin()))
    {
        Some(prompt_password("BECOME password: ").ok_or_else(|| Error::command("-K needs a terminal to ask for the password"))?)
    } else {
        None
    };
    let ssh_password = if let Some(f) = &a.connection_password_file {
        Some(password_from_file(f)?)
    } else if a.ask_pass {
        Some(prompt_password("SSH password: ").ok_or_else(|| Error::command("-k needs a terminal to ask for the password"))?)
    } else {
        None
    };
    for (flag, given) in [("--sftp-extra-args", &a.sftp_extra_args), ("--scp-extra-args", &a.scp_extra_args)] {
        if given.is_some() {
            crate::diag::warn(&format!("{flag} is ignored: steward moves files over SFTP inside its own SSH connection, with no sftp or scp program to pass them to"));
        }
    }
    for p in become_password.iter().chain(ssh_password.iter()) {
        crate::vault::note_secret(p);
    }
    let opts = RunOptions {
        check: a.check,
        diff: a.diff,
        report: a.report.is_some(),
        forks: a.forks.or_else(|| cfg.get("defaults", "forks").and_then(|f| f.parse().ok())).unwrap_or(256),
        verbosity: a.verbose,
        tags: split_list(&a.tags),
        skip_tags: split_list(&a.skip_tags),
        limit: a.inv.limit.clone(),
        extra_vars,
        become_: a.become_ || cfg.get_bool("privilege_escalation", "become") == Some(true),
        become_user: a.become_user.clone().or_else(|| cfg.get("privilege_escalation", "become_user")),
        become_method: a.become_method.clone().or_else(|| cfg.get("privilege_escalation", "become_method")),
        become_password,
        remote_user: a.user.clone().or_else(|| cfg.get("defaults", "remote_user")),
        start_at_task: a.start_at_task.clone(),
        connection: a.connection.clone(),
        private_key: a.private_key.clone().or_else(|| cfg.get_path("defaults", "private_key_file")),
        ssh_password,
        key_passphrase: std::env::var("STEWARD_SSH_KEY_PASSPHRASE").ok(),
        timeout: a.timeout.or_else(|| cfg.get("defaults", "timeout").and_then(|t| t.parse().ok())),
        ssh_args: {
            let parts: Vec<String> = [cfg.get("ssh_connection", "ssh_args"), a.ssh_common_args.clone(), a.ssh_extra_args.clone()]
                .into_iter()
                .flatten()
                .collect();
            (!parts.is_empty()).then(|| parts.join(" ").replace('\n', " "))
        },
        gather_default: cfg.get("defaults", "gathering").is_none_or(|g| g != "explicit"),
        fail_on_change: a.fail_on_change,
        force_handlers: a.force_handlers,
        step: a.step,
        shard,
        host_key_checking: std::env::var("ANSIBLE_HOST_KEY_CHECKING")
            .ok()
            .map(|v| crate::pytext::ansible_bool(&serde_json::Value::String(v))),
    };
    let json = match &a.output {
        Some(o) => o == "json",
        None => cfg.get("defaults", "stdout_callback").is_some_and(|c| c.ends_with("json")),
    };
    let reporter = reporter(&a, json, adhoc);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::command(format!("cannot start the runtime: {e}")))?;
    let dir = books.first().map(|b| b.dir.clone()).unwrap_or_default();
    let run = Run::new(inv, opts, reporter, dir)?;
    rt.block_on(async move {
        let mut code = Ok(exit::OK);
        let mut books = books.into_iter();
        if let Some(b) = books.next() {
            let mut all = b.plays.clone();
            for b in books {
                all.extend(b.plays.clone());
            }
            let merged = Playbook { path: b.path, dir: b.dir, plays: all };
            tokio::select! {
                c = run.run_playbook(&merged) => code = Ok(c),
                _ = tokio::signal::ctrl_c() => code = Err(Error::Interrupted),
            }
        }
        code
    })
}

/// The outputs the command line chose: one on stdout (JSON lines, `ansible`'s ad-hoc lines, or
/// ansible-playbook's text with the progress display), and the file reports. The JUnit file is
/// written after the HTML page, as their errors are printed.
fn reporter(a: &RunArgs, json: bool, adhoc: bool) -> Reporter {
    let r = Reporter::new();
    let r = if json {
        r.with(JsonLines::stdout().check_mode(a.check))
    } else if adhoc {
        r.with(Adhoc::new(a.one_line))
    } else {
        let t = Terminal::new(a.verbose, a.diff);
        r.with(if a.step { t.without_progress() } else { t })
    };
    let r = match &a.report {
        Some(p) => {
            let playbooks = a.playbooks.iter().map(|b| b.display().to_string()).collect();
            r.with(HtmlReport::new(p.clone(), crate::report::RunInfo { playbooks, check: a.check }))
        }
        None => r,
    };
    match &a.junit {
        Some(p) => r.with(JUnit::new(p.clone())),
        None => r,
    }
}

/// Every literal `notify` names a handler of its play.
fn check_notify(b: &Playbook) -> Result<(), Diagnostic> {
    let check = |t: &Arc<Task>, handlers: &[Arc<Task>]| -> Result<(), Diagnostic> {
        for n in &t.notify {
            if crate::pytext::is_template(n) || handlers.iter().any(|h| h.handler_matches(n)) {
                continue;
            }
            let names: Vec<String> =
                handlers.iter().filter_map(|h| h.name.clone()).chain(handlers.iter().flat_map(|h| h.listen.clone())).collect();
            let mut d = Diagnostic::new(format!("the handler `{n}` notified by task `{}` was not found", t.display_name()))
                .at(t.loc.clone(), "this task notifies it");
            if let Some(s) = crate::diag::suggest(n, names.iter().map(String::as_str)) {
                d = d.help(format!("did you mean `{s}`?"));
            }
            return Err(d);
        }
        Ok(())
    };
    for p in &b.plays {
        let mut first = Ok(());
        for sec in [&p.pre_tasks, &p.tasks, &p.post_tasks, &p.handlers] {
            crate::playbook::each_task(sec, Nest::default(), &mut |t, _| {
                if first.is_ok() {
                    first = check(t, &p.handlers);
                }
            });
        }
        first?;
    }
    Ok(())
}

fn list(a: &RunArgs, books: &[Playbook], inv: &Inventory, shard: Option<crate::exec::shard::Shard>) {
    let tags = split_list(&a.tags);
    let skip = split_list(&a.skip_tags);
    for (b, path) in books.iter().zip(&a.playbooks) {
        println!("\nplaybook: {}", path.display());
        for (i, p) in b.plays.iter().enumerate() {
            let pattern = match &p.hosts {
                serde_json::Value::Array(x) => x.iter().map(crate::pytext::to_text).collect::<Vec<_>>().join(","),
                v => crate::pytext::to_text(v),
            };
            println!("\n  play #{} ({pattern}): {}\tTAGS: [{}]", i + 1, p.name, p.kw.tags.join(","));
            if a.list_hosts {
                let mut hosts = inv.select(&pattern).unwrap_or_default();
                if let Some(l) = &a.inv.limit {
                    let allowed: std::collections::HashSet<String> = inv.select(l).unwrap_or_default().into_iter().collect();
                    hosts.retain(|h| allowed.contains(h));
                }
                if let Some(s) = shard {
                    hosts.retain(|h| s.contains(h));
                }
                println!("    pattern: ['{pattern}']");
                println!("    hosts ({}):", hosts.len());
                for h in hosts {
                    println!("      {h}");
                }
            }
            let mut all_tags: Vec<String> = Vec::new();
            let mut lines: Vec<String> = Vec::new();
            fn collect(
                ts: &[Arc<Task>],
                inherited: &[String],
                tags: &[String],
                skip: &[String],
                lines: &mut Vec<String>,
                all: &mut Vec<String>,
            ) {
                for t in ts {
                    let mut mine = inherited.to_vec();
                    mine.extend(t.kw.tags.iter().cloned());
                    match &t.kind {
                        TaskKind::Block { block, rescue, always } => {
                            collect(block, &mine, tags, skip, lines, all);
                            collect(rescue, &mine, tags, skip, lines, all);
                            collect(always, &mine, tags, skip, lines, all);
                        }
                        TaskKind::Import { tasks } => collect(tasks, &mine, tags, skip, lines, all),
                        _ => {
                            if crate::exec::tags_selected(&mine, tags, skip) {
                                lines.push(format!("      {}\tTAGS: [{}]", t.display_name(), mine.join(", ")));
                                for x in &mine {
                                    if !all.contains(x) {
                                        all.push(x.clone());
                                    }
                                }
                            }
                        }
                    }
                }
            }
            for sec in [&p.pre_tasks, &p.tasks, &p.post_tasks] {
                collect(sec, &p.kw.tags, &tags, &skip, &mut lines, &mut all_tags);
            }
            if a.list_tasks {
                println!("    tasks:");
                for l in &lines {
                    println!("{l}");
                }
            }
            if a.list_tags {
                all_tags.sort();
                println!("      TASK TAGS: [{}]", all_tags.join(", "));
            }
        }
    }
}

/// `steward graph PLAYBOOK...`: the task graph as DOT.
pub fn graph(a: super::GraphArgs) -> Result<(), Error> {
    let cfg = Config::load();
    vault_setup(&a.inv.vault, &cfg)?;
    let env = load_env(&cfg, &a.inv.extra_vars)?;
    let mut plays = Vec::new();
    for p in &a.playbooks {
        plays.extend(crate::playbook::load_playbook(p, &env).map_err(Error::Playbook)?.plays);
    }
    print!("{}", crate::graph::dot(&plays).map_err(Error::Playbook)?);
    Ok(())
}

/// `steward adhoc PATTERN -m MODULE -a ARGS`: one task on the hosts of a pattern, as `ansible`.
pub fn adhoc(a: super::AdhocArgs) -> Result<i32, Error> {
    let mut task = serde_json::Map::new();
    task.insert(a.module.clone(), serde_json::Value::String(a.args.clone().unwrap_or_default()));
    let play = serde_json::json!([{ "name": format!("Ad-hoc command on {}", a.pattern), "hosts": a.pattern, "gather_facts": false, "tasks": [task] }]);
    let cwd = std::env::current_dir().unwrap_or_default();
    let origin = cwd.join("<ad-hoc>");
    let cfg = Config::load();
    vault_setup(&a.run.inv.vault, &cfg)?;
    let env = load_env(&cfg, &a.run.inv.extra_vars)?;
    let book = crate::yaml::parse_str(&play.to_string(), &origin)
        .and_then(|root| crate::playbook::load_playbook_node(&root, &origin, &cwd, &env))
        .map_err(Error::Playbook)?;
    let mut run = a.run;
    if !run.playbooks.is_empty() {
        return Err(Error::command("steward adhoc takes one host pattern, not playbooks (use steward run)"));
    }
    run.one_line = a.one_line;
    run_loaded(*run, vec![book], true, &cfg)
}

/// A password from `--become-password-file`/`--connection-password-file`, as Ansible reads
/// one: the file's first line, or what the file prints when it is a program.
fn password_from_file(path: &std::path::Path) -> Result<String, Error> {
    use std::os::unix::fs::PermissionsExt as _;
    let cannot = |e: std::io::Error| Error::command(format!("cannot read the password file {}: {e}", path.display()));
    let meta = std::fs::metadata(path).map_err(cannot)?;
    let text = if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
        // A relative name is the file here, not a program on PATH.
        let program = if path.is_relative() { std::path::Path::new(".").join(path) } else { path.to_path_buf() };
        let out = std::process::Command::new(program).output().map_err(cannot)?;
        if !out.status.success() {
            return Err(Error::command(format!(
                "the password program {} failed: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        std::fs::read_to_string(path).map_err(cannot)?
    };
    Ok(text.lines().next().unwrap_or("").to_string())
}
