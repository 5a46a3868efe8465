//! `authorized_key` (ansible.posix): SSH keys in an account's authorized_keys file, added,
//! removed, or made the only ones (`exclusive`). Keys are matched by their key blob, as
//! Ansible matches them; a key whose options or comment differ is replaced.

use async_trait::async_trait;

use super::common::{probe, Attrs, Write};
use super::{fail, Arg, Args, Change, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct AuthorizedKey;

const KEY_TYPES: &[&str] = &[
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "sk-ssh-ed25519@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "ssh-ed25519",
    "ssh-ed25519-cert-v01@openssh.com",
    "ssh-dss",
    "ssh-rsa",
    "ssh-xmss@openssh.com",
    "ssh-xmss-cert-v01@openssh.com",
    "rsa-sha2-256",
    "rsa-sha2-512",
    "ssh-rsa-cert-v01@openssh.com",
    "rsa-sha2-256-cert-v01@openssh.com",
    "rsa-sha2-512-cert-v01@openssh.com",
    "ssh-dss-cert-v01@openssh.com",
];

/// One line of an authorized_keys file.
#[derive(Clone, Debug, PartialEq)]
enum Line {
    Key {
        options: Vec<(String, Option<String>)>,
        kind: String,
        blob: String,
        comment: String,
    },
    /// A comment or a line that is not a key: kept as it is.
    Other(String),
}

/// Split options on commas outside quotes: `from="a,b",no-pty`.
fn parse_options(s: &str) -> Vec<(String, Option<String>)> {
    let mut parts = Vec::new();
    let (mut cur, mut quote) = (String::new(), None::<char>);
    for c in s.chars() {
        match (c, quote) {
            ('"' | '\'', None) => {
                quote = Some(c);
                cur.push(c);
            }
            (c2, Some(qc)) if c2 == qc => {
                quote = None;
                cur.push(c);
            }
            (',', None) => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (p, None),
        })
        .collect()
}

fn parse_line(raw: &str) -> Option<Line> {
    let raw = raw.replace("\\#", "#");
    let parts: Vec<&str> = raw.split_whitespace().collect();
    if parts.first() == Some(&"#") || raw.trim_start().starts_with('#') {
        return Some(Line::Other(raw.to_string()));
    }
    let ti = parts.iter().position(|p| KEY_TYPES.contains(p))?;
    let blob = parts.get(ti + 1)?.to_string();
    let options = if ti > 0 { parse_options(&parts[..ti].join(" ")) } else { vec![] };
    Some(Line::Key { options, kind: parts[ti].to_string(), blob, comment: parts[ti + 2..].join(" ") })
}

fn render(lines: &[Line]) -> String {
    let mut s = String::new();
    for l in lines {
        match l {
            Line::Other(t) => {
                s += t;
                s.push('\n');
            }
            Line::Key { options, kind, blob, comment } => {
                if !options.is_empty() {
                    let o: Vec<String> =
                        options.iter().map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")).unwrap_or_else(|| k.clone())).collect();
                    s += &o.join(",");
                    s.push(' ');
                }
                s += &format!("{kind} {blob} {comment}\n");
            }
        }
    }
    s
}

fn blob(l: &Line) -> Option<&str> {
    match l {
        Line::Key { blob, .. } => Some(blob),
        Line::Other(_) => None,
    }
}

/// The file's new lines, given the keys a task names.
fn enforce(existing: &[Line], new: &[Line], present: bool, exclusive: bool) -> Vec<Line> {
    let mut lines: Vec<Line> = existing.to_vec();
    for k in new {
        let b = blob(k).unwrap_or_default();
        let pos = lines.iter().position(|l| blob(l) == Some(b));
        match (pos, present) {
            (Some(i), true) if lines[i] != *k => lines[i] = k.clone(),
            (None, true) => lines.push(k.clone()),
            (Some(i), false) => {
                lines.remove(i);
            }
            _ => {}
        }
    }
    if present && exclusive {
        // Only the named keys, in the order named.
        lines = new.to_vec();
    }
    lines
}

#[async_trait]
impl Module for AuthorizedKey {
    fn name(&self) -> &'static str {
        "authorized_key"
    }
    fn collection(&self) -> &'static str {
        "ansible.posix"
    }
    fn doc(&self) -> &'static str {
        include_str!("authorized_key.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("user", "the account whose keys these are").required(),
            Arg::str("key", "the public key(s), one per line, or an http(s):// URL to fetch them from (on the host)").required(),
            Arg::str("path", "the keys file (default: ~USER/.ssh/authorized_keys)"),
            Arg::bool("manage_dir", "create ~/.ssh (0700, owned by the user) if needed").default("true"),
            Arg::str("state", "present or absent").choices(&["present", "absent"]).default("present"),
            Arg::str("key_options", "options put in front of each key (from=\"...\",no-pty)"),
            Arg::bool("exclusive", "remove every other key from the file").default("false"),
            Arg::str("comment", "replace the keys' comments with this"),
            Arg::bool("follow", "accepted for compatibility"),
            Arg::bool("validate_certs", "check the certificate when fetching keys over https").default("true"),
        ];
        A
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let user = args.req_str("user")?;
        let mut key = args.req_str("key")?;
        let present = args.str("state")?.as_deref() != Some("absent");
        if key.starts_with("http") {
            let insecure = if args.bool("validate_certs", true)? { "" } else { "-k " };
            let r = ctx.sh(format!("curl -fsSL {insecure}{0} 2>/dev/null || wget -qO- {0}", q(&key))).await?;
            if r.rc != 0 {
                return fail(format!("Error getting key from: {key}"));
            }
            key = r.stdout_str();
        }
        let mut new = Vec::new();
        for l in key.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let Some(mut k) = parse_line(l) else { return fail(format!("invalid key specified: {l}")) };
            if let Line::Key { options, comment, .. } = &mut k {
                if let Some(o) = args.str("key_options")? {
                    *options = parse_options(&o);
                }
                if let Some(c) = args.str("comment")? {
                    *comment = c;
                }
            }
            new.push(k);
        }
        let pw = ctx.sh(format!("getent passwd {} | cut -d: -f6", q(&user))).await?;
        let home = pw.stdout_str().trim().to_string();
        let path = match args.str("path")? {
            Some(p) => p,
            None if home.is_empty() => return fail(format!("Failed to lookup user {user}")),
            None => format!("{home}/.ssh/authorized_keys"),
        };
        let p = probe(ctx, &path, None, true).await?;
        let before = p.content.clone().unwrap_or_default();
        let before_text = String::from_utf8_lossy(&before).into_owned();
        let existing: Vec<Line> = before_text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| parse_line(l).unwrap_or_else(|| Line::Other(l.to_string())))
            .collect();
        let lines = enforce(&existing, &new, present, args.bool("exclusive", false)?);
        let out = Outcome::ok()
            .with("user", user.clone())
            .with("key", key.clone())
            .with("keyfile", path.clone())
            .with("exclusive", args.bool("exclusive", false)?);
        let mut plan = Plan::done(out);
        if lines == existing {
            return Ok(plan);
        }
        let after = render(&lines);
        plan.outcome.diffs.push(super::common::content_diff(&path, Some(&before), after.as_bytes()));
        if args.bool("manage_dir", true)? && !home.is_empty() {
            let dir = super::common::parent_dir(&path);
            plan.change(Change::sh(
                format!("[ -d {d} ] || mkdir -p -m 0700 {d}; chown {u}: {d} && chmod 0700 {d}", d = q(&dir), u = q(&user)),
                format!("Failed to create directory {dir}"),
            ));
        }
        let st = p.lstat.clone();
        let new_file = st.is_none();
        let attrs = if new_file { Attrs { mode: Some("0600".into()), owner: Some(user.clone()), group: None } } else { Attrs::default() };
        plan.change(Change::Write(Box::new(Write::new(path.clone(), after.into_bytes(), attrs, st))));
        if new_file {
            // The user's primary group, as Ansible's chown to uid:gid.
            plan.change(Change::sh(format!("chown {u}: {} || true", q(&path), u = q(&user)), "chown"));
        }
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{args, probe_reply, Scripted, PROBE, WRITE};
    use super::super::{execute, Change, Module, Plan};
    use super::*;
    use std::sync::Arc;

    const KEY: &str = "ssh-ed25519 AAAAC3Nza alice@laptop";

    fn host(file: Option<&[u8]>) -> Arc<Scripted> {
        Scripted::new().on("getent passwd alice", 0, b"/home/alice\n").on(PROBE, 0, &probe_reply(file.map(|c| (0o600, c))))
    }

    async fn plan(host: &Arc<Scripted>, yaml: &str) -> Plan {
        AuthorizedKey.plan(&host.ctx(false, true), &args(&AuthorizedKey, yaml)).await.unwrap()
    }

    fn written(p: &Plan) -> (&Write, String) {
        let w = p
            .changes
            .iter()
            .find_map(|c| match c {
                Change::Write(w) => Some(w),
                _ => None,
            })
            .expect("a write");
        let super::super::common::Content::Bytes(b) = &w.content else { panic!() };
        (w, String::from_utf8_lossy(b).into_owned())
    }

    #[tokio::test]
    async fn a_new_key_makes_the_folder_and_a_private_file() {
        let h = host(None);
        let p = plan(&h, &format!("{{user: alice, key: '{KEY}'}}")).await;
        assert!(p.outcome.changed);
        assert_eq!(p.outcome.data["keyfile"], "/home/alice/.ssh/authorized_keys");
        let [Change::Sh { script: mkdir, .. }, Change::Write(_), Change::Sh { script: chown, .. }] = p.changes.as_slice() else {
            panic!("folder, write, owner expected")
        };
        assert!(mkdir.starts_with("[ -d /home/alice/.ssh ] || mkdir -p -m 0700 /home/alice/.ssh"), "{mkdir}");
        assert_eq!(chown, "chown alice: /home/alice/.ssh/authorized_keys || true");
        let (w, text) = written(&p);
        assert_eq!(text, format!("{KEY}\n"));
        assert_eq!((w.attrs.mode.as_deref(), w.attrs.owner.as_deref()), (Some("0600"), Some("alice")));
    }

    #[tokio::test]
    async fn a_key_already_there_changes_nothing_and_check_mode_only_looks() {
        let h = host(Some(format!("# mine\n{KEY}\n").as_bytes()));
        let p = plan(&h, &format!("{{user: alice, key: '{KEY}', manage_dir: false}}")).await;
        assert!(!p.outcome.changed && p.changes.is_empty());
        // Other options replace the line; exclusive drops the others.
        let a = args(&AuthorizedKey, &format!("{{user: alice, key: '{KEY}', key_options: no-pty, exclusive: true, manage_dir: false}}"));
        let h = host(Some(format!("ssh-rsa BBBB bob\n{KEY}\n").as_bytes()));
        let out = execute(&AuthorizedKey, &h.ctx(true, true), &a).await.unwrap();
        assert!(out.changed);
        assert_eq!(out.diffs[0].after, format!("no-pty {KEY}\n"));
        assert_eq!(h.commands().len(), 2);
        let h = h.on(WRITE, 0, b"");
        execute(&AuthorizedKey, &h.ctx(false, false), &a).await.unwrap();
        assert_eq!(h.stdin_of(WRITE), Some(format!("no-pty {KEY}\n").into_bytes()));
    }

    #[tokio::test]
    async fn absent_removes_the_key() {
        let h = host(Some(format!("ssh-rsa BBBB bob\n{KEY}\n").as_bytes()));
        let p = plan(&h, &format!("{{user: alice, key: '{KEY}', state: absent}}")).await;
        assert_eq!(written(&p).1, "ssh-rsa BBBB bob\n");
    }

    #[test]
    fn parses_options_and_keeps_order() {
        let l = parse_line(r#"from="10.0.0.1,10.0.0.2",no-pty ssh-ed25519 AAAA c@d"#).unwrap();
        let Line::Key { options, blob, comment, .. } = &l else { panic!() };
        assert_eq!(options[0], ("from".into(), Some("\"10.0.0.1,10.0.0.2\"".into())));
        assert_eq!(options[1], ("no-pty".into(), None));
        assert_eq!((blob.as_str(), comment.as_str()), ("AAAA", "c@d"));
        assert_eq!(render(&[l]), "from=\"10.0.0.1,10.0.0.2\",no-pty ssh-ed25519 AAAA c@d\n");
        let a = parse_line("ssh-rsa A a").unwrap();
        let b = parse_line("ssh-rsa B b").unwrap();
        assert_eq!(enforce(std::slice::from_ref(&a), std::slice::from_ref(&b), true, false), vec![a.clone(), b.clone()]);
        assert_eq!(enforce(&[a.clone(), b.clone()], std::slice::from_ref(&b), true, true), vec![b.clone()]);
        assert_eq!(enforce(&[a.clone(), b.clone()], &[a], false, false), vec![b]);
    }
}
