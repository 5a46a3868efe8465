//! `user`: local accounts with useradd, usermod, userdel and chage, as Ansible's `user` module
//! drives them. One round trip reads the account (passwd, shadow, group membership); the
//! changes go in one more.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::{fail, Arg, Args, ModError, Module, Outcome, TaskCtx};
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
    crate::template::format_time("%Y-%m-%d", days * 86400, true)
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
        a.expire = num(get(7), -1);
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

struct Plan {
    cmds: Vec<String>,
    before: Map<String, Value>,
    after: Map<String, Value>,
}

impl Plan {
    fn field(&mut self, k: &str, before: impl Into<Value>, after: impl Into<Value>) {
        self.before.insert(k.into(), before.into());
        self.after.insert(k.into(), after.into());
    }
}

fn is_locked(hash: &str) -> bool {
    hash.starts_with('!')
}

fn create_cmd(args: &Args, name: &str, groups: &[Group], want_groups: &Option<Vec<String>>) -> Result<String, ModError> {
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
    if let Some(h) = args.str("home")? {
        c.push(format!("-d {}", q(&h)));
    }
    if let Some(s) = args.str("shell")? {
        c.push(format!("-s {}", q(&s)));
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
    if let Some(h) = args.str("home")?.filter(|_| create_home) {
        cmd = format!("mkdir -p -- {} && {cmd}", q(&super::common::parent_dir(&h)));
    }
    Ok(cmd)
}

fn modify(args: &Args, name: &str, a: &Account, groups: &[Group], want_groups: &Option<Vec<String>>) -> Result<Plan, ModError> {
    let mut p = Plan { cmds: vec![], before: Map::new(), after: Map::new() };
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
    if let Some(h) = args.str("home")?.filter(|h| *h != a.home) {
        p.field("home", a.home.clone(), h.clone());
        c.push(format!("-d {}", q(&h)));
        if args.bool("move_home", false)? {
            c.push("-m".into());
        }
    }
    if let Some(s) = args.str("shell")?.filter(|s| *s != a.shell) {
        p.field("shell", a.shell.clone(), s.clone());
        c.push(format!("-s {}", q(&s)));
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
fn expiry(args: &Args, name: &str, a: &Account, p: &mut Plan) -> Result<(), ModError> {
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
/// prints the public key and its fingerprint, and whether it generates.
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
            Arg::str("state", "present (default) or absent").choices(&["present", "absent"]),
            Arg::int("uid", "the user id"),
            Arg::bool("non_unique", "allow a uid that another account has"),
            Arg::str("group", "the primary group (name or gid); it must exist"),
            Arg::list("groups", "supplementary groups (list or comma-separated); with append unset, exactly these"),
            Arg::bool("append", "add to the listed groups rather than set them exactly"),
            Arg::str("comment", "the GECOS field (full name)"),
            Arg::str("home", "the home folder"),
            Arg::bool("create_home", "create the home folder (default yes)").aliases(&["createhome"]),
            Arg::bool("move_home", "with a new home, move the old one's content there"),
            Arg::str("skeleton", "the folder a new home is copied from"),
            Arg::str("umask", "the umask a new home is made with"),
            Arg::str("shell", "the login shell"),
            Arg::bool("system", "a system account (uid from the system range), on creation"),
            Arg::str("password", "the password as a crypt hash (for example `'pw' | password_hash('sha512')`)"),
            Arg::str("update_password", "always (default) or on_create").choices(&["always", "on_create"]),
            Arg::bool("password_lock", "lock (true) or unlock (false) the password"),
            Arg::int("password_expire_max", "days a password stays valid (chage -M)"),
            Arg::int("password_expire_min", "days before a password may change again (chage -m)"),
            Arg::int("password_expire_warn", "days of warning before a password expires (chage -W)"),
            Arg::raw("expires", "when the account expires, in epoch seconds; -1 for never"),
            Arg::bool("remove", "with state=absent, remove the home folder and mail spool too"),
            Arg::bool("force", "with state=absent, remove even when logged in; with generate_ssh_key, replace the key"),
            Arg::bool("generate_ssh_key", "generate an SSH key pair for the account if it has none"),
            Arg::str("ssh_key_type", "the key type (default rsa)"),
            Arg::int("ssh_key_bits", "the key size"),
            Arg::str("ssh_key_file", "the key file, relative to the home folder (default .ssh/id_TYPE)"),
            Arg::str("ssh_key_comment", "the key's comment (default \"ansible-generated on HOSTNAME\")"),
            Arg::str("ssh_key_passphrase", "the key's passphrase"),
            Arg::bool("local", "accepted; accounts are always local (/etc/passwd)"),
        ];
        A
    }
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let name = args.req_str("name")?;
        let present = args.str("state")?.as_deref() != Some("absent");
        let probe = ctx.sh(probe_script(&name)).await?;
        let (acct, groups) = parse_probe(&probe.stdout_str());
        let mut out = Outcome::ok().with("name", name.clone()).with("state", if present { "present" } else { "absent" });
        if let Some(p) = args.str("password")? {
            if !p.starts_with('$') && !p.starts_with('!') && !p.starts_with('*') && p.len() < 13 {
                out.warnings.push("The input password appears not to have been hashed. The 'password' argument must be encrypted for this module to work properly.".into());
            }
        }
        if !present {
            if acct.is_none() {
                return Ok(out);
            }
            out.changed = true;
            let remove = args.bool("remove", false)?;
            if ctx.diff {
                out.diffs.push(super::common::state_diff(
                    &name,
                    Map::from_iter([("state".into(), json!("present"))]),
                    Map::from_iter([("state".into(), json!("absent"))]),
                ));
            }
            if !ctx.check {
                let cmd = format!(
                    "userdel {}{}{}",
                    if args.bool("force", false)? { "-f " } else { "" },
                    if remove { "-r " } else { "" },
                    q(&name)
                );
                ctx.run_all(&[cmd], &format!("cannot remove account {name}")).await?;
            }
            return Ok(out.with("remove", remove).with("force", args.bool("force", false)?));
        }
        if acct.is_none() && ctx.check {
            // As Ansible: a new account in check mode is a change, and nothing more is checked.
            out.changed = true;
            if ctx.diff {
                out.diffs.push(super::common::state_diff(
                    &name,
                    Map::from_iter([("state".into(), json!("absent"))]),
                    Map::from_iter([("state".into(), json!("present"))]),
                ));
            }
            return Ok(out);
        }
        let want_groups = wanted_groups(args, &groups)?;
        let (mut plan, created) = match &acct {
            None => {
                let cmd = create_cmd(args, &name, &groups, &want_groups)?;
                let mut p = Plan { cmds: vec![cmd], before: Map::new(), after: Map::new() };
                p.field("state", "absent", "present");
                (p, true)
            }
            Some(a) => (modify(args, &name, a, &groups, &want_groups)?, false),
        };
        if let Some(a) = &acct {
            expiry(args, &name, a, &mut plan)?;
            if !a.home_exists && args.bool("create_home", true)? {
                let home = args.str("home")?.unwrap_or_else(|| a.home.clone());
                plan.cmds.push(format!(
                    "mkdir -p -- {h} && cp -rT /etc/skel {h} 2>/dev/null; chown -R {u}: {h}",
                    h = q(&home),
                    u = q(&name)
                ));
                plan.field("home_exists", false, true);
            }
        }
        if created {
            out = out.with("system", args.bool("system", false)?).with("create_home", args.bool("create_home", true)?);
        } else {
            out = out.with("append", args.bool("append", false)?).with("move_home", args.bool("move_home", false)?);
        }
        if args.has("password") {
            out = out.with("password", "NOT_LOGGING_PASSWORD");
        }
        if !plan.cmds.is_empty() {
            out.changed = true;
            if ctx.diff {
                out.diffs.push(super::common::state_diff(&name, plan.before.clone(), plan.after.clone()));
            }
            if !ctx.check {
                let mut cmds = plan.cmds.clone();
                if created {
                    // chage after the account exists.
                    let blank = Account { min: -1, max: -1, warn: -1, ..Default::default() };
                    let mut p2 = Plan { cmds: vec![], before: Map::new(), after: Map::new() };
                    expiry(args, &name, &blank, &mut p2)?;
                    cmds.extend(p2.cmds);
                }
                ctx.run_all(&cmds, &format!("cannot change account {name}")).await?;
            }
        }
        // The account as it is now.
        let now = if ctx.check || plan.cmds.is_empty() { acct } else { parse_probe(&ctx.sh(probe_script(&name)).await?.stdout_str()).0 };
        let Some(now) = now else { return Ok(out) };
        out = out
            .with("uid", now.uid)
            .with("group", now.gid)
            .with("comment", now.comment.clone())
            .with("home", now.home.clone())
            .with("shell", now.shell.clone());
        if let Some(g) = args.raw("groups") {
            out = out.with(
                "groups",
                crate::pytext::to_text(&match g {
                    Value::Array(a) => json!(a.iter().map(crate::pytext::to_text).collect::<Vec<_>>().join(",")),
                    v => v.clone(),
                }),
            );
        }
        if args.bool("generate_ssh_key", false)? {
            let (script, file) = ssh_key_script(args, &name, &now.home, ctx.check)?;
            let r = ctx.sh(script).await?;
            if r.rc != 0 {
                return fail(format!("ssh-keygen failed for {name}: {}", r.stderr_str().trim()));
            }
            let text = r.stdout_str();
            if text.lines().any(|l| l == "GENERATED") {
                out.changed = true;
            } else {
                out.warnings.push(format!("Found existing ssh key private file \"{file}\", no force, so skipping ssh-keygen generation"));
            }
            let pick = |p: &str| text.lines().find_map(|l| l.strip_prefix(p)).unwrap_or("").to_string();
            out = out.with("ssh_key_file", file).with("ssh_public_key", pick("PUB:")).with("ssh_fingerprint", pick("FP:"));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
