//! `user`: local accounts with useradd, usermod, userdel and chage, as Ansible's `user` module
//! drives them. One round trip reads the account (passwd, shadow, group membership) and
//! decides; the changes go in one more, and the result reports the account as it is after them.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::{fail, Arg, Args, Change, ExecCheck, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct User;

/// An account as the host has it.
#[derive(Debug, Default)]
struct Account {
    uid: i64,
    gid: i64,
    comment: String,
    home: String,
    shell: String,
    password: String,
    /// Days since the epoch; -1 when not set.
    expire: i64,
    max: i64,
    min: i64,
    warn: i64,
    home_exists: bool,
}

/// The host's groups: name, gid and members.
pub(super) struct Group {
    pub name: String,
    pub gid: i64,
    pub members: Vec<String>,
}

fn num(s: &str, unset: i64) -> i64 {
    s.trim().parse().unwrap_or(unset)
}

pub(super) fn parse_groups(lines: &str) -> Vec<Group> {
    lines
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 4).then(|| Group {
                name: f[0].to_string(),
                gid: num(f[2], -1),
                members: f[3].split(',').filter(|m| !m.is_empty()).map(str::to_string).collect(),
            })
        })
        .collect()
}

fn find_group<'a>(groups: &'a [Group], g: &str) -> Option<&'a Group> {
    groups.iter().find(|x| x.name == g || (g.parse::<i64>().ok() == Some(x.gid)))
}

/// `YYYY-MM-DD` of a day count since the epoch.
fn date_of_days(days: i64) -> String {
    crate::pytext::format_time("%Y-%m-%d", days * 86400, true)
}

fn probe_script(name: &str) -> String {
    let n = q(name);
    format!(
        "p=$(getent passwd {n}); echo \"P:$p\"\necho \"S:$(getent shadow {n})\"\ngetent group | sed 's/^/G:/'\n\
         if [ -n \"$p\" ]; then h=$(echo \"$p\" | cut -d: -f6); [ -d \"$h\" ] && echo H:1; fi\ntrue\n"
    )
}

fn parse_probe(out: &str) -> (Option<Account>, Vec<Group>) {
    let mut acct = None;
    let mut groups = String::new();
    let mut shadow = "";
    let mut home_exists = false;
    for line in out.lines() {
        if let Some(p) = line.strip_prefix("P:") {
            let f: Vec<&str> = p.split(':').collect();
            if f.len() >= 7 {
                acct = Some(Account {
                    uid: num(f[2], -1),
                    gid: num(f[3], -1),
                    comment: f[4].to_string(),
                    home: f[5].to_string(),
                    shell: f[6].to_string(),
                    ..Default::default()
                });
            }
        } else if let Some(s) = line.strip_prefix("S:") {
            shadow = s;
        } else if let Some(g) = line.strip_prefix("G:") {
            groups += g;
            groups.push('\n');
        } else if line == "H:1" {
            home_exists = true;
        }
    }
    if let Some(a) = acct.as_mut() {
        let f: Vec<&str> = shadow.split(':').collect();
        let get = |i: usize| f.get(i).copied().unwrap_or("");
        a.password = get(1).to_string();
        a.min = num(get(3), -1);
        a.max = num(get(4), -1);
        a.warn = num(get(5), -1);
        // No shadow entry at all counts as expiring at day 0, as Ansible reads it (so
        // `expires: -1` makes the entry).
        a.expire = if shadow.is_empty() { 0 } else { num(get(7), -1) };
        a.home_exists = home_exists;
    }
    (acct, parse_groups(&groups))
}

/// The groups a task names in `groups`, checked to exist; `None` when it does not set them.
fn wanted_groups(args: &Args, groups: &[Group]) -> Result<Option<Vec<String>>, ModError> {
    if !args.has("groups") {
        return Ok(None);
    }
    let mut out: Vec<String> = Vec::new();
    for g in args.str_list("groups")? {
        let Some(found) = find_group(groups, &g) else {
            return fail(format!("Group {g} does not exist"));
        };
        if !out.contains(&found.name) {
            out.push(found.name.clone());
        }
    }
    Ok(Some(out))
}

/// The day count an `expires` (epoch seconds) stands for; `None` for "never" (negative).
fn expire_days(args: &Args) -> Result<Option<Option<i64>>, ModError> {
    let Some(v) = args.raw("expires") else { return Ok(None) };
    let secs = match v {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::String(s) => s.trim().parse::<f64>().map_err(|_| ModError::Fail(format!("Invalid value for 'expires' {s}")))?,
        other => return fail(format!("Invalid value for 'expires' {other}")),
    };
    Ok(Some((secs >= 0.0).then(|| (secs.floor() as i64).div_euclid(86400))))
}

/// What an existing account needs: the commands, and each changed field before and after
/// (the diff). It becomes one [`Change::Sh`] of the module's [`Plan`].
#[derive(Default)]
struct Changes {
    cmds: Vec<String>,
    before: Map<String, Value>,
    after: Map<String, Value>,
}

impl Changes {
    fn field(&mut self, k: &str, before: impl Into<Value>, after: impl Into<Value>) {
        self.before.insert(k.into(), before.into());
        self.after.insert(k.into(), after.into());
    }
}

fn is_locked(hash: &str) -> bool {
    hash.starts_with('!')
}

/// The paths a task names (home, shell), `~` expanded on the host as Ansible's `path`
/// arguments are.
struct Paths {
    home: Option<String>,
    shell: Option<String>,
}

impl Paths {
    async fn of(ctx: &TaskCtx, args: &Args) -> Result<Paths, ModError> {
        let mut p = Paths { home: None, shell: None };
        for (k, slot) in [("home", &mut p.home), ("shell", &mut p.shell)] {
            if let Some(v) = args.str(k)? {
                *slot = Some(super::common::expand_home(ctx, &v).await?);
            }
        }
        Ok(p)
    }
}

/// Ansible's `check_password_encrypted`: whether a password does not look like a crypt hash.
fn looks_unhashed(pw: &str) -> bool {
    if pw.is_empty() || ["*", "!", "*************"].contains(&pw) {
        return false;
    }
    if pw.contains([':', '*', '!']) || !pw.contains('$') {
        return true;
    }
    let fields: Vec<&str> = pw.split('$').collect();
    if fields.len() < 3 {
        return true;
    }
    let last = fields[fields.len() - 1];
    let want_len = match fields[1] {
        "1" => Some(22),
        "5" | "y" => Some(43),
        "6" => Some(86),
        _ => None,
    };
    last.chars().any(|c| !(c.is_ascii_alphanumeric() || "./=".contains(c))) || want_len.is_some_and(|n| last.chars().count() != n)
}

/// The commands that create the account: useradd, then chage for password ageing.
fn create_cmds(
    args: &Args,
    name: &str,
    paths: &Paths,
    groups: &[Group],
    want_groups: &Option<Vec<String>>,
) -> Result<Vec<String>, ModError> {
    let mut cmds = vec![create_cmd(args, name, paths, groups, want_groups)?];
    let blank = Account { min: -1, max: -1, warn: -1, ..Default::default() };
    let mut ch = Changes::default();
    expiry(args, name, &blank, &mut ch)?;
    cmds.extend(ch.cmds);
    Ok(cmds)
}

fn create_cmd(args: &Args, name: &str, paths: &Paths, groups: &[Group], want_groups: &Option<Vec<String>>) -> Result<String, ModError> {
    let mut c = vec!["useradd".to_string()];
    if let Some(uid) = args.int("uid")? {
        c.push(format!("-u {uid}"));
        if args.bool("non_unique", false)? {
            c.push("-o".into());
        }
    }
    if let Some(g) = args.str("group")? {
        if find_group(groups, &g).is_none() {
            return fail(format!("Group {g} does not exist"));
        }
        c.push(format!("-g {}", q(&g)));
    } else if find_group(groups, name).is_some() {
        // A group of the user's name exists: useradd would fail making it (USERGROUPS_ENAB).
        c.push("-N".into());
    }
    if let Some(gs) = want_groups.as_ref().filter(|g| !g.is_empty()) {
        c.push(format!("-G {}", q(&gs.join(","))));
    }
    if let Some(v) = args.str("comment")? {
        c.push(format!("-c {}", q(&v)));
    }
    let create_home = args.bool("create_home", true)?;
    if let Some(h) = &paths.home {
        c.push(format!("-d {}", q(h)));
    }
    if let Some(s) = &paths.shell {
        c.push(format!("-s {}", q(s)));
    }
    if let Some(e) = expire_days(args)? {
        c.push(format!("-e {}", q(&e.map(date_of_days).unwrap_or_default())));
    }
    if let Some(p) = args.str("password")? {
        let lock = args.opt_bool("password_lock")? == Some(true);
        c.push(format!("-p {}", q(&if lock { format!("!{p}") } else { p })));
    }
    if create_home {
        c.push("-m".into());
        if let Some(k) = args.str("skeleton")? {
            c.push(format!("-k {}", q(&k)));
        }
        if let Some(u) = args.str("umask")? {
            c.push(format!("-K UMASK={}", q(&u)));
        }
    } else {
        c.push("-M".into());
    }
    if args.bool("system", false)? {
        c.push("-r".into());
    }
    c.push(q(name));
    let mut cmd = c.join(" ");
    // useradd cannot make a home whose parent is missing.
    if let Some(h) = paths.home.as_ref().filter(|_| create_home) {
        cmd = format!("mkdir -p -- {} && {cmd}", q(&super::common::parent_dir(h)));
    }
    Ok(cmd)
}

fn modify(
    args: &Args,
    name: &str,
    paths: &Paths,
    a: &Account,
    groups: &[Group],
    want_groups: &Option<Vec<String>>,
) -> Result<Changes, ModError> {
    let mut p = Changes::default();
    let mut c: Vec<String> = Vec::new();
    if let Some(uid) = args.int("uid")? {
        if uid != a.uid {
            c.push(format!("-u {uid}"));
            if args.bool("non_unique", false)? {
                c.push("-o".into());
            }
            p.field("uid", a.uid, uid);
        }
    }
    if let Some(g) = args.str("group")? {
        let Some(found) = find_group(groups, &g) else { return fail(format!("Group {g} does not exist")) };
        if found.gid != a.gid {
            c.push(format!("-g {}", found.gid));
            p.field("group", a.gid, found.gid);
        }
    }
    if let Some(want) = want_groups {
        let current: Vec<&str> = groups.iter().filter(|g| g.members.iter().any(|m| m == name)).map(|g| g.name.as_str()).collect();
        let append = args.bool("append", false)?;
        let need = if want.is_empty() {
            !current.is_empty() && !append
        } else if append {
            want.iter().any(|g| !current.contains(&g.as_str()))
        } else {
            want.len() != current.len() || want.iter().any(|g| !current.contains(&g.as_str()))
        };
        if need {
            if append {
                c.push("-a".into());
            }
            c.push(format!("-G {}", q(&want.join(","))));
            let mut after: Vec<String> = if append { current.iter().map(|s| s.to_string()).collect() } else { vec![] };
            after.extend(want.iter().filter(|g| !after.contains(g)).cloned().collect::<Vec<_>>());
            p.field("groups", current.join(","), after.join(","));
        }
    }
    if let Some(v) = args.str("comment")?.filter(|v| *v != a.comment) {
        p.field("comment", a.comment.clone(), v.clone());
        c.push(format!("-c {}", q(&v)));
    }
    if let Some(h) = paths.home.as_ref().filter(|h| **h != a.home) {
        p.field("home", a.home.clone(), h.clone());
        c.push(format!("-d {}", q(h)));
        if args.bool("move_home", false)? {
            c.push("-m".into());
        }
    }
    if let Some(s) = paths.shell.as_ref().filter(|s| **s != a.shell) {
        p.field("shell", a.shell.clone(), s.clone());
        c.push(format!("-s {}", q(s)));
    }
    if let Some(e) = expire_days(args)? {
        match e {
            None if a.expire >= 0 => {
                c.push("-e ''".into());
                p.field("expires", date_of_days(a.expire), "never");
            }
            Some(d) if a.expire < 0 || d != a.expire => {
                c.push(format!("-e {}", date_of_days(d)));
                p.field("expires", if a.expire < 0 { "never".into() } else { date_of_days(a.expire) }, date_of_days(d));
            }
            _ => {}
        }
    }
    let lock = args.opt_bool("password_lock")?;
    let mut lock_flag = None;
    if lock == Some(true) && !is_locked(&a.password) {
        lock_flag = Some("-L");
        p.field("password_lock", false, true);
    } else if lock == Some(false) && is_locked(&a.password) {
        lock_flag = Some("-U");
        p.field("password_lock", true, false);
    }
    let always = args.str("update_password")?.as_deref() != Some("on_create");
    match args.str("password")? {
        Some(pw) if always && a.password.trim_start_matches('!') != pw.trim_start_matches('!') => {
            // -p cannot go with -L or -U: the lock is part of the hash instead.
            let hash = if lock == Some(true) { format!("!{pw}") } else { pw };
            c.push(format!("-p {}", q(&hash)));
            p.field("password", "(hidden)", "(changed, hidden)");
        }
        _ => c.extend(lock_flag.map(str::to_string)),
    }
    if !c.is_empty() {
        p.cmds.push(format!("usermod {} {}", c.join(" "), q(name)));
    }
    Ok(p)
}

/// chage for password_expire_min/max/warn, when they differ.
fn expiry(args: &Args, name: &str, a: &Account, p: &mut Changes) -> Result<(), ModError> {
    let mut c = Vec::new();
    for (arg, flag, cur) in
        [("password_expire_min", "-m", a.min), ("password_expire_max", "-M", a.max), ("password_expire_warn", "-W", a.warn)]
    {
        if let Some(v) = args.int(arg)? {
            if v != cur {
                c.push(format!("{flag} {v}"));
                p.field(arg, cur, v);
            }
        }
    }
    if !c.is_empty() {
        p.cmds.push(format!("chage {} {}", c.join(" "), q(name)));
    }
    Ok(())
}

/// Generate the account's SSH key unless its file exists (or `force`); returns the script that
/// prints the public key and its fingerprint (and GENERATED when it generates), and the key's
/// file. With `check`, the script only tells whether it would generate.
fn ssh_key_script(args: &Args, name: &str, home: &str, check: bool) -> Result<(String, String), ModError> {
    let kind = args.str("ssh_key_type")?.unwrap_or_else(|| "rsa".into());
    let file = args.str("ssh_key_file")?.unwrap_or_else(|| format!(".ssh/id_{kind}"));
    let file = if file.starts_with('/') { file } else { format!("{}/{file}", home.trim_end_matches('/')) };
    let bits = args.int("ssh_key_bits")?.filter(|b| *b > 0).map(|b| format!(" -b {b}")).unwrap_or_default();
    let comment = args.str("ssh_key_comment")?.unwrap_or_else(|| "ansible-generated on $(hostname)".into());
    let comment = if comment.contains("$(hostname)") { format!("\"{}\"", comment.replace('"', "\\\"")) } else { q(&comment) };
    let pass = args.str("ssh_key_passphrase")?.unwrap_or_default();
    let force = args.bool("force", false)?;
    let (f, d) = (q(&file), q(&super::common::parent_dir(&file)));
    let gen = if check {
        "echo GENERATED".to_string()
    } else {
        format!(
            "[ -d {d} ] || {{ mkdir -m 0700 {d} && chown {n}: {d}; }} || exit 1\nrm -f {f} {f}.pub\n\
             ssh-keygen -q -t {kind}{bits} -C {comment} -N {p} -f {f} </dev/null >/dev/null || exit 1\n\
             chown {n}: {f} {f}.pub && echo GENERATED",
            n = q(name),
            kind = q(&kind),
            p = q(&pass),
        )
    };
    let exists_test = if force { "false".to_string() } else { format!("[ -e {f} ] || [ -e {f}.pub ]") };
    let script = format!(
        "if {exists_test}; then :; else\n{gen}\nfi\n[ -f {f}.pub ] && {{ echo \"PUB:$(cat {f}.pub)\"; echo \"FP:$(ssh-keygen -l -f {f}.pub)\"; }}\ntrue\n"
    );
    Ok((script, file))
}

#[async_trait]
impl Module for User {
    fn name(&self) -> &'static str {
        "user"
    }
    fn doc(&self) -> &'static str {
        include_str!("user.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("name", "the account's name").aliases(&["user"]).required(),
            Arg::str("state", "present or absent").choices(&["present", "absent"]).default("present"),
            Arg::int("uid", "the user id"),
            Arg::bool("non_unique", "allow a uid that another account has").default("false"),
            Arg::str("group", "the primary group (name or gid); it must exist"),
            Arg::list("groups", "supplementary groups (list or comma-separated); with append unset, exactly these"),
            Arg::bool("append", "add to the listed groups rather than set them exactly").default("false"),
            Arg::str("comment", "the GECOS field (full name)"),
            Arg::str("home", "the home folder"),
            Arg::bool("create_home", "create the home folder").aliases(&["createhome"]).default("true"),
            Arg::bool("move_home", "with a new home, move the old one's content there").default("false"),
            Arg::str("skeleton", "the folder a new home is copied from"),
            Arg::str("umask", "the umask a new home is made with"),
            Arg::str("shell", "the login shell"),
            Arg::bool("system", "a system account (uid from the system range), on creation").default("false"),
            Arg::str("password", "the password as a crypt hash (for example `'pw' | password_hash('sha512')`)"),
            Arg::str("update_password", "always or on_create").choices(&["always", "on_create"]).default("always"),
            Arg::bool("password_lock", "lock (true) or unlock (false) the password"),
            Arg::int("password_expire_max", "days a password stays valid (chage -M)"),
            Arg::int("password_expire_min", "days before a password may change again (chage -m)"),
            Arg::int("password_expire_warn", "days of warning before a password expires (chage -W)"),
            Arg::raw("expires", "when the account expires, in epoch seconds; -1 for never"),
            Arg::bool("remove", "with state=absent, remove the home folder and mail spool too").default("false"),
            Arg::bool("force", "with state=absent, remove even when logged in; with generate_ssh_key, replace the key").default("false"),
            Arg::bool("generate_ssh_key", "generate an SSH key pair for the account if it has none").default("false"),
            Arg::str("ssh_key_type", "the key type").default("rsa"),
            Arg::int("ssh_key_bits", "the key size (default: ssh-keygen's for the type)"),
            Arg::str("ssh_key_file", "the key file, relative to the home folder").default(".ssh/id_TYPE"),
            Arg::str("ssh_key_comment", "the key's comment").default("ansible-generated on HOSTNAME"),
            Arg::str("ssh_key_passphrase", "the key's passphrase"),
            Arg::bool("local", "accepted; accounts are always local (/etc/passwd)"),
        ];
        A
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let name = args.req_str("name")?;
        let present = args.str("state")?.as_deref() != Some("absent");
        let paths = Paths::of(ctx, args).await?;
        let probe = ctx.sh(probe_script(&name)).await?;
        let (acct, groups) = parse_probe(&probe.stdout_str());
        let mut plan = Plan::done(Outcome::ok().with("name", name.clone()).with("state", if present { "present" } else { "absent" }));
        if args.str("password")?.is_some_and(|p| looks_unhashed(&p)) {
            plan.outcome.warnings.push("The input password appears not to have been hashed. The 'password' argument must be encrypted for this module to work properly.".into());
        }
        let state_diff = |before: &str, after: &str| {
            super::common::state_diff(
                &name,
                Map::from_iter([("state".into(), json!(before))]),
                Map::from_iter([("state".into(), json!(after))]),
            )
        };
        if !present {
            if acct.is_none() {
                return Ok(plan);
            }
            let (remove, force) = (args.bool("remove", false)?, args.bool("force", false)?);
            plan.outcome.diffs.push(state_diff("present", "absent"));
            plan.outcome = plan.outcome.with("remove", remove).with("force", force);
            let cmd = format!("userdel {}{}{}", if force { "-f " } else { "" }, if remove { "-r " } else { "" }, q(&name));
            plan.change(Change::sh(cmd, format!("cannot remove account {name}")));
            return Ok(plan);
        }
        let Some(a) = acct else {
            // As Ansible: a new account is a change, and check mode looks no further (a
            // missing group fails the real run only).
            plan.outcome.diffs.push(state_diff("absent", "present"));
            let step = match wanted_groups(args, &groups).and_then(|w| create_cmds(args, &name, &paths, &groups, &w)) {
                Ok(cmds) => Change::sh(script(&cmds), format!("cannot change account {name}")),
                Err(ModError::Fail(m)) => Change::own(Step::Invalid(m)),
                Err(e) => return Err(e),
            };
            plan.change(step);
            plan.changes.push(Change::own(Step::Created));
            return Ok(plan);
        };
        let want_groups = wanted_groups(args, &groups)?;
        let mut ch = modify(args, &name, &paths, &a, &groups, &want_groups)?;
        expiry(args, &name, &a, &mut ch)?;
        if !a.home_exists && args.bool("create_home", true)? {
            let home = paths.home.clone().unwrap_or_else(|| a.home.clone());
            ch.cmds.push(format!("mkdir -p -- {h} && cp -rT /etc/skel {h} 2>/dev/null; chown -R {u}: {h}", h = q(&home), u = q(&name)));
            ch.field("home_exists", false, true);
        }
        plan.outcome =
            std::mem::take(&mut plan.outcome).with("append", args.bool("append", false)?).with("move_home", args.bool("move_home", false)?);
        report_account(&mut plan.outcome, args, &a)?;
        if !ch.cmds.is_empty() {
            plan.outcome.diffs.push(super::common::state_diff(&name, ch.before, ch.after));
            plan.change(Change::sh(script(&ch.cmds), format!("cannot change account {name}")));
        }
        if args.bool("generate_ssh_key", false)? {
            // Whether a key would be generated (where the home will be).
            let home = paths.home.clone().unwrap_or_else(|| a.home.clone());
            let (check, file) = ssh_key_script(args, &name, &home, true)?;
            let text = ctx.sh(check).await?.ok_or_fail(&format!("ssh-keygen failed for {name}"))?.stdout_str();
            if report_key(&mut plan.outcome, &text, file) {
                plan.change(Change::own(Step::SshKey));
            }
        }
        Ok(plan)
    }
    async fn apply(&self, ctx: &TaskCtx, args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        let name = args.req_str("name")?;
        let mut out = plan.outcome;
        let mut ran = false;
        for c in plan.changes {
            match c {
                Change::Sh { script, failure } => {
                    ctx.sh(script).await?.ok_or_fail(&failure)?;
                    ran = true;
                }
                Change::Own(step) => match step.downcast::<Step>().map(|b| *b) {
                    Ok(Step::Invalid(m)) => return fail(m),
                    Ok(Step::Created) => {
                        out = out.with("system", args.bool("system", false)?).with("create_home", args.bool("create_home", true)?);
                    }
                    Ok(Step::SshKey) => {}
                    Err(_) => return fail("internal error: a step user did not plan"),
                },
                Change::Write(_) => return fail("internal error: a step user did not plan"),
            }
        }
        if args.str("state")?.as_deref() == Some("absent") {
            return Ok(out);
        }
        if !ran {
            // Only the key is to come: the account is as the plan read it.
            return ssh_key(ctx, args, &name, out, None).await;
        }
        // The account as it is now.
        let Some(now) = parse_probe(&ctx.sh(probe_script(&name)).await?.stdout_str()).0 else {
            return Ok(out);
        };
        report_account(&mut out, args, &now)?;
        ssh_key(ctx, args, &name, out, Some(&now.home)).await
    }
}

/// The module's own steps.
enum Step {
    /// The creation cannot work (a group it names is missing): check mode reports the new
    /// account, as Ansible does without looking further; the real run fails with this.
    Invalid(String),
    /// The account is new: the result gets the creation's fields.
    Created,
    /// An SSH key is to be generated (the script, run after the account's changes, decides on
    /// the host again).
    SshKey,
}

/// Commands run one after the other, stopping at the first that fails.
fn script(cmds: &[String]) -> String {
    format!("set -e\n{}\n", cmds.join("\n"))
}

/// The account's fields in the result, as Ansible reports them.
fn report_account(out: &mut Outcome, args: &Args, a: &Account) -> Result<(), ModError> {
    let d = &mut out.data;
    d.insert("uid".into(), json!(a.uid));
    d.insert("group".into(), json!(a.gid));
    d.insert("comment".into(), json!(a.comment));
    d.insert("home".into(), json!(a.home));
    d.insert("shell".into(), json!(a.shell));
    if let Some(g) = args.raw("groups") {
        let g = match g {
            Value::Array(a) => json!(a.iter().map(crate::pytext::to_text).collect::<Vec<_>>().join(",")),
            v => v.clone(),
        };
        d.insert("groups".into(), json!(crate::pytext::to_text(&g)));
    }
    if args.has("password") {
        d.insert("password".into(), json!("NOT_LOGGING_PASSWORD"));
    }
    Ok(())
}

/// The key script's answer in the result (file, public key, fingerprint, or the warning that
/// a key is there); whether it generated (or, checking, would generate) one.
fn report_key(out: &mut Outcome, text: &str, file: String) -> bool {
    const FOUND: &str = "Found existing ssh key private file";
    out.warnings.retain(|w| !w.starts_with(FOUND));
    let generated = text.lines().any(|l| l == "GENERATED");
    if generated {
        out.changed = true;
    } else {
        out.warnings.push(format!("{FOUND} \"{file}\", no force, so skipping ssh-keygen generation"));
    }
    let pick = |p: &str| text.lines().find_map(|l| l.strip_prefix(p)).unwrap_or("").to_string();
    out.data.insert("ssh_key_file".into(), json!(file));
    out.data.insert("ssh_public_key".into(), json!(pick("PUB:")));
    out.data.insert("ssh_fingerprint".into(), json!(pick("FP:")));
    generated
}

/// Generate the account's SSH key when asked (and it has none), in the home it has now.
async fn ssh_key(ctx: &TaskCtx, args: &Args, name: &str, mut out: Outcome, home: Option<&str>) -> Result<Outcome, ModError> {
    if !args.bool("generate_ssh_key", false)? {
        return Ok(out);
    }
    let home = match home {
        Some(h) => h.to_string(),
        None => out.data.get("home").and_then(Value::as_str).unwrap_or_default().to_string(),
    };
    let (script, file) = ssh_key_script(args, name, &home, false)?;
    let text = ctx.sh(script).await?.ok_or_fail(&format!("ssh-keygen failed for {name}"))?.stdout_str();
    report_key(&mut out, &text, file);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{args, Scripted};
    use super::super::{execute, Change};
    use super::*;
    use std::sync::Arc;

    #[test]
    fn reads_an_account() {
        let out = "P:alice:x:2001:2001:Alice:/home/alice:/bin/bash\nS:alice:$6$s$h:19000:0:90:7::21915:\nG:sudo:x:27:alice,bob\nG:alice:x:2001:\nH:1\n";
        let (a, g) = parse_probe(out);
        let a = a.unwrap();
        assert_eq!((a.uid, a.max, a.expire, a.home_exists), (2001, 90, 21915, true));
        assert_eq!(a.password, "$6$s$h");
        assert_eq!(g[0].members, vec!["alice", "bob"]);
        assert_eq!(date_of_days(21915), "2030-01-01");
    }

    /// The account look-up's marker.
    const LOOKUP: &str = "getent shadow";
    const ALICE: &str = "P:alice:x:2001:2001:Alice:/home/alice:/bin/bash\nS:alice:$6$old:19000:0:99999:7:::\nG:sudo:x:27:alice\nG:docker:x:999:\nG:alice:x:2001:\nH:1\n";
    const NOBODY: &str = "P:\nS:\nG:sudo:x:27:\nG:docker:x:999:\n";

    fn host(lookup: &str) -> Arc<Scripted> {
        Scripted::new().on(LOOKUP, 0, lookup.as_bytes())
    }

    async fn plan(host: &Arc<Scripted>, yaml: &str) -> Plan {
        User.plan(&host.ctx(false, true), &args(&User, yaml)).await.unwrap()
    }

    fn the_script(p: &Plan) -> &str {
        match p.changes.first() {
            Some(Change::Sh { script, .. }) => script,
            _ => panic!("a command expected first"),
        }
    }

    #[tokio::test]
    async fn a_missing_user_is_created_with_useradd() {
        let h = host(NOBODY);
        let p = plan(&h, "{name: alice, uid: 2001, groups: [sudo], comment: Alice, shell: /bin/zsh}").await;
        assert!(p.outcome.changed);
        assert!(p.outcome.diffs[0].before.contains("\"absent\"") && p.outcome.diffs[0].after.contains("\"present\""));
        assert_eq!(the_script(&p), "set -e\nuseradd -u 2001 -G sudo -c Alice -s /bin/zsh -m alice\n");
        assert!(p.own::<Step>().any(|s| matches!(s, Step::Created)));
        // The real run creates it, then reports the account as the host has it now.
        let h = Scripted::new().once(LOOKUP, 0, NOBODY.as_bytes()).on(LOOKUP, 0, ALICE.as_bytes()).on("useradd", 0, b"");
        let out =
            execute(&User, &h.ctx(false, false), &args(&User, "{name: alice, shell: /bin/bash, password_expire_max: 30}")).await.unwrap();
        assert!(out.changed);
        assert_eq!((out.data["uid"].clone(), out.data["create_home"].clone()), (json!(2001), json!(true)));
        let cmds = h.commands();
        assert_eq!(cmds.len(), 3);
        assert_eq!(cmds[1], "set -e\nuseradd -s /bin/bash -m alice\nchage -M 30 alice\n");
    }

    #[tokio::test]
    async fn a_missing_group_fails_only_the_real_run() {
        let h = host(NOBODY);
        let a = args(&User, "{name: alice, groups: [nosuch]}");
        let out = execute(&User, &h.ctx(true, false), &a).await.unwrap();
        assert!(out.changed);
        let err = execute(&User, &h.ctx(false, false), &a).await.unwrap_err();
        assert_eq!(err.to_string(), "Group nosuch does not exist");
    }

    #[tokio::test]
    async fn an_existing_user_as_asked_changes_nothing() {
        let h = host(ALICE);
        let p = plan(&h, "{name: alice, uid: 2001, shell: /bin/bash, comment: Alice, groups: sudo, home: /home/alice}").await;
        assert!(!p.outcome.changed && p.changes.is_empty() && p.outcome.diffs.is_empty());
        assert_eq!(p.outcome.data["shell"], "/bin/bash");
        assert_eq!(p.outcome.data["groups"], "sudo");
        assert_eq!(h.commands().len(), 1);
    }

    #[tokio::test]
    async fn shell_and_groups_go_through_usermod() {
        let h = host(ALICE);
        let p = plan(&h, "{name: alice, shell: /bin/zsh, groups: [docker], append: true}").await;
        assert_eq!(the_script(&p), "set -e\nusermod -a -G docker -s /bin/zsh alice\n");
        let d = &p.outcome.diffs[0];
        assert!(d.before.contains("\"groups\": \"sudo\"") && d.after.contains("\"groups\": \"sudo,docker\""), "{d:?}");
        assert!(d.after.contains("\"shell\": \"/bin/zsh\""));
        // Without append the groups are set exactly.
        let p = plan(&h, "{name: alice, groups: [docker]}").await;
        assert_eq!(the_script(&p), "set -e\nusermod -G docker alice\n");
        // Appending a group the user is in already changes nothing.
        let p = plan(&h, "{name: alice, groups: [sudo], append: true}").await;
        assert!(!p.outcome.changed);
    }

    #[tokio::test]
    async fn absent_removes_with_userdel() {
        let h = host(ALICE);
        let p = plan(&h, "{name: alice, state: absent, remove: true}").await;
        assert!(p.outcome.changed);
        assert_eq!(the_script(&p), "userdel -r alice");
        assert_eq!(p.outcome.data["remove"], true);
        let p = plan(&host(NOBODY), "{name: alice, state: absent, remove: true}").await;
        assert!(!p.outcome.changed && p.changes.is_empty());
    }

    #[tokio::test]
    async fn a_new_password_hash_unless_on_create() {
        let h = host(ALICE);
        let p = plan(&h, "{name: alice, password: '$6$new'}").await;
        assert_eq!(the_script(&p), "set -e\nusermod -p '$6$new' alice\n");
        assert!(p.outcome.diffs[0].after.contains("(changed, hidden)"));
        assert_eq!(p.outcome.data["password"], "NOT_LOGGING_PASSWORD");
        // Not a full sha512 hash: Ansible's warning.
        assert_eq!(p.outcome.warnings.len(), 1);
        let p = plan(&h, "{name: alice, password: '$6$new', update_password: on_create}").await;
        assert!(!p.outcome.changed && p.changes.is_empty());
        let p = plan(&h, "{name: alice, password: '$6$old'}").await;
        assert!(!p.outcome.changed);
        // Locking with a new hash puts the lock in the hash.
        let p = plan(&h, "{name: alice, password: '$6$new', password_lock: true}").await;
        assert_eq!(the_script(&p), "set -e\nusermod -p '!$6$new' alice\n");
    }

    #[tokio::test]
    async fn check_mode_sends_only_the_look_up() {
        for (lookup, yaml) in
            [(NOBODY, "{name: alice, uid: 2001}"), (ALICE, "{name: alice, shell: /bin/zsh}"), (ALICE, "{name: alice, state: absent}")]
        {
            let h = host(lookup);
            let out = execute(&User, &h.ctx(true, false), &args(&User, yaml)).await.unwrap();
            assert!(out.changed && out.diffs.is_empty(), "{yaml}");
            assert_eq!(h.commands().len(), 1, "{yaml}");
            assert!(h.commands()[0].contains(LOOKUP));
        }
    }

    #[tokio::test]
    async fn never_expiring_makes_a_missing_shadow_entry() {
        let p = plan(&host("P:bob:x:575:575::/home/dummy:/bin/bash\nS:\n"), "{name: bob, expires: -1, create_home: false}").await;
        assert_eq!(the_script(&p), "set -e\nusermod -e '' bob\n");
        let p = plan(
            &host("P:bob:x:575:575::/home/dummy:/bin/bash\nS:bob:!:19000:0:99999:7:::\n"),
            "{name: bob, expires: -1, create_home: false}",
        )
        .await;
        assert!(!p.outcome.changed);
    }

    #[test]
    fn unhashed_passwords_as_ansible_sees_them() {
        assert!(looks_unhashed("plaintext"));
        assert!(!looks_unhashed("*"));
        assert!(!looks_unhashed("$y$jCT$ZiF3ZV39/maUl9Lzt2Hk80$Ih6bI4OXU52OnWWqt3T1BAmVn8eH.4qlcP.8/NOjGN5"));
        assert!(looks_unhashed(
            "$6$rounds=656000$tgK3gYTyRLUmhyv2$lAFrYUQwn7E6VsjPOwQwoSx30lmpiU9r/E0Al7tzKrR9mkodcMEZGe9OXD0H/clOn6qdsUnaL4zefy5fG+++++"
        ));
    }
}
