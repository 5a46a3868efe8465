//! `known_hosts`: one host's key in an OpenSSH known_hosts file, added, replaced or removed.
//! Lines are matched as `ssh-keygen -F` matches them (host patterns with `*`, `?` and `!`,
//! hashed `|1|salt|hash` names), but here on the controller, so the host needs no ssh-keygen.
//! As Ansible's module does, the result always carries the file's diff.

use async_trait::async_trait;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::json;

use super::common::{expand_home, probe, Attrs, Write};
use super::{fail, Arg, Args, Change, FileDiff, ModError, Module, Outcome, Plan, TaskCtx};

pub struct KnownHosts;

const ARGS: &[Arg] = &[
    Arg::str("name", "the host to add or remove (one name; [host]:port for another port)").aliases(&["host"]).required(),
    Arg::str("key", "the known_hosts line for the host (`host keytype key`, optionally after @cert-authority or @revoked)"),
    Arg::str("path", "the known_hosts file").default("~/.ssh/known_hosts"),
    Arg::bool("hash_host", "write the host name hashed").default("false"),
    Arg::str("state", "present or absent").choices(&["present", "absent"]).default("present"),
];

#[async_trait]
impl Module for KnownHosts {
    fn name(&self) -> &'static str {
        "known_hosts"
    }
    fn doc(&self) -> &'static str {
        include_str!("known_hosts.md")
    }
    fn args(&self) -> &'static [Arg] {
        ARGS
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let name = args.req_str("name")?;
        let host = name.to_lowercase();
        let key_arg = args.str("key")?.filter(|k| !k.is_empty());
        let hash_host = args.bool("hash_host", false)?;
        let present = args.str("state")?.as_deref() != Some("absent");
        let path = expand_home(ctx, &args.str("path")?.unwrap_or_else(|| "~/.ssh/known_hosts".into())).await?;
        let mut out = Outcome::ok()
            .with("name", name.clone())
            .with("key", json!(key_arg))
            .with("path", path.clone())
            .with("hash_host", hash_host)
            .with("state", if present { "present" } else { "absent" });
        if key_arg.is_none() && present {
            return Ok(Plan::done(Outcome::failed("No key specified when adding a host")));
        }
        let mut key = key_arg.clone();
        if let (Some(k), true) = (&key, hash_host) {
            key = Some(hash_key(&host, k));
        }
        if let Some(k) = key.as_mut() {
            if !k.ends_with('\n') {
                k.push('\n');
            }
        }
        if let Some(k) = &key {
            if regex::Regex::new(r"\S+(\s+)?,(\s+)?").is_ok_and(|re| re.is_match(&host)) {
                return Ok(Plan::done(Outcome::failed(
                    "Comma separated list of names is not supported. Please pass a single name to lookup in the known_hosts file.",
                )));
            }
            if !k.lines().any(|l| line_matches(l, &host)) {
                return Ok(Plan::done(Outcome::failed("Host parameter does not match hashed host field in supplied key")));
            }
        }
        let p = probe(ctx, &path, None, true).await?;
        if p.exists && p.content.is_none() {
            return fail(format!("Failed to read {path:?}."));
        }
        let text = p.content.as_deref().map(|c| String::from_utf8_lossy(c).into_owned());
        let lines: Vec<&str> = text.as_deref().map(split_keep).unwrap_or_default();
        let (found, replace_or_add, found_line) = search(&lines, &host, key.as_deref());

        // The diff, as Ansible computes it (before any change).
        let mut after_lines = lines.clone();
        if (replace_or_add || !present) && found_line.is_some_and(|n| n < after_lines.len()) {
            after_lines.remove(found_line.unwrap_or(0));
        }
        if present && (replace_or_add || found_line.is_none()) {
            after_lines.push(key.as_deref().unwrap_or(""));
        }
        let diff = FileDiff {
            before_header: if text.is_some() { path.clone() } else { "/dev/null".into() },
            after_header: path.clone(),
            before: text.clone().unwrap_or_default(),
            after: after_lines.concat(),
        };
        out.data.insert(
            "diff".into(),
            json!({"before_header": diff.before_header, "after_header": diff.after_header, "before": diff.before, "after": diff.after}),
        );
        if !present && found_line.is_none() && key.is_some() {
            return Ok(Plan::done(out));
        }
        let new_content = if found && key.is_none() && !present {
            // Every line for the host goes (not @cert-authority or @revoked ones, as
            // `ssh-keygen -R` keeps them).
            Some(lines.iter().filter(|l| marker(l).is_some() || !line_matches(l, &host)).copied().collect::<String>())
        } else if replace_or_add || found != present {
            Some(after_lines.concat())
        } else {
            None
        };
        out.changed = replace_or_add || present != found;
        let mut plan = Plan::done(out);
        let Some(new_content) = new_content else {
            return Ok(plan);
        };
        if plan.outcome.changed {
            plan.outcome.diffs.push(diff);
        }
        plan.change(Change::Write(Box::new(Write::new(path.clone(), new_content.into_bytes(), Attrs::default(), p.lstat.clone().filter(|s| s.is_file())))));
        Ok(plan)
    }
}

/// Lines with their endings kept, as Python's `readlines()`.
fn split_keep(s: &str) -> Vec<&str> {
    s.split_inclusive('\n').collect()
}

/// The marker (`@cert-authority`, `@revoked`) a line starts with.
fn marker(line: &str) -> Option<&str> {
    line.split_whitespace().next().filter(|w| w.starts_with('@'))
}

/// The host field of a known_hosts line (after a marker), if it is not a comment.
fn host_field(line: &str) -> Option<&str> {
    let t = line.trim_start();
    if t.is_empty() || t.starts_with('#') {
        return None;
    }
    let mut w = t.split_whitespace();
    let first = w.next()?;
    if first.starts_with('@') {
        w.next()
    } else {
        Some(first)
    }
}

/// Whether a known_hosts line names `host`, as `ssh-keygen -F` decides.
fn line_matches(line: &str, host: &str) -> bool {
    let Some(field) = host_field(line) else {
        return false;
    };
    if let Some(h) = field.strip_prefix("|1|") {
        let Some((salt, hash)) = h.split_once('|') else {
            return false;
        };
        let b64 = base64::engine::general_purpose::STANDARD;
        let (Ok(salt), Ok(hash)) = (b64.decode(salt), b64.decode(hash)) else {
            return false;
        };
        let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(&salt) else {
            return false;
        };
        mac.update(host.as_bytes());
        return mac.verify_slice(&hash).is_ok();
    }
    let mut hit = false;
    for pat in field.split(',') {
        match pat.strip_prefix('!') {
            Some(neg) if wildcard(&neg.to_lowercase(), host) => return false,
            Some(_) => {}
            None => hit |= wildcard(&pat.to_lowercase(), host),
        }
    }
    hit
}

/// OpenSSH's `match_pattern`: `*` any run of characters, `?` any one.
fn wildcard(pat: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pat.chars().collect(), s.chars().collect());
    let (mut pi, mut si, mut star, mut mark) = (0, 0, None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A key line's fields, as Ansible's `normalize_known_hosts_key` keeps them.
#[derive(Clone, Copy, PartialEq, Debug)]
struct Norm<'a> {
    options: Option<&'a str>,
    host: &'a str,
    kind: &'a str,
    key: &'a str,
}

fn normalize(line: &str) -> Option<Norm<'_>> {
    let w: Vec<&str> = line.split_whitespace().collect();
    if w.first()?.starts_with('@') {
        Some(Norm { options: Some(w[0]), host: w.get(1)?, kind: w.get(2)?, key: w.get(3)? })
    } else {
        Some(Norm { options: None, host: w[0], kind: w.get(1)?, key: w.get(2)? })
    }
}

/// Ansible's `search_for_host_key`: whether the host is in the file, whether its key must be
/// replaced or added, and the index of the line a key of the same type was found on.
fn search(lines: &[&str], host: &str, key: Option<&str>) -> (bool, bool, Option<usize>) {
    let matching: Vec<usize> = (0..lines.len()).filter(|i| line_matches(lines[*i], host)).collect();
    if matching.is_empty() {
        return (false, false, None);
    }
    let Some(key) = key else {
        return (true, false, None);
    };
    let Some(new) = normalize(key) else {
        return (true, true, None);
    };
    for i in matching {
        let Some(found) = normalize(lines[i]) else {
            continue;
        };
        let special = found.options.is_some_and(|o| o.starts_with("@cert-authority") || o.starts_with("@revoke"));
        if special {
            if new == found {
                return (true, false, Some(i));
            }
            continue;
        }
        let mut cand = new;
        if cand.host.starts_with("|1|") && found.host.starts_with("|1|") {
            cand.host = found.host;
        }
        if cand == found {
            return (true, false, Some(i));
        }
        if cand.kind == found.kind {
            return (true, true, Some(i));
        }
    }
    (true, true, None)
}

/// The key line with its host name hashed (`|1|salt|hmac`), as `ssh-keygen -H` writes it.
fn hash_key(host: &str, key: &str) -> String {
    let mut salt = [0u8; 20];
    crate::random::fill(&mut salt);
    let b64 = base64::engine::general_purpose::STANDARD;
    let hashed = match Hmac::<sha1::Sha1>::new_from_slice(&salt) {
        Ok(mut mac) => {
            mac.update(host.as_bytes());
            b64.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    };
    let mut parts: Vec<String> = key.split_whitespace().map(String::from).collect();
    let i = usize::from(parts.first().is_some_and(|p| p.starts_with('@')));
    if i < parts.len() {
        parts[i] = format!("|1|{}|{hashed}", b64.encode(salt));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::super::testing::{args, probe_reply, Scripted, PROBE};
    use super::super::Change;
    use super::*;

    #[tokio::test]
    async fn a_new_key_of_the_same_type_replaces_the_old_line() {
        let h = Scripted::new().on(PROBE, 0, &probe_reply(Some((0o644, b"a.example ssh-rsa OLD\nb.example ssh-rsa B\n"))));
        let a = args(&KnownHosts, "{name: a.example, key: 'a.example ssh-rsa NEW', path: /etc/ssh/known}");
        let p = KnownHosts.plan(&h.ctx(false, false), &a).await.unwrap();
        assert!(p.outcome.changed);
        let [Change::Write(w)] = p.changes.as_slice() else { panic!("one write expected") };
        let super::super::common::Content::Bytes(b) = &w.content else { panic!() };
        assert_eq!(b, b"b.example ssh-rsa B\na.example ssh-rsa NEW\n");
        // The diff is always in the result, as Ansible's.
        assert_eq!(p.outcome.data["diff"]["before"], "a.example ssh-rsa OLD\nb.example ssh-rsa B\n");
        let a = args(&KnownHosts, "{name: b.example, key: 'b.example ssh-rsa B', path: /etc/ssh/known}");
        let p = KnownHosts.plan(&h.ctx(false, false), &a).await.unwrap();
        assert!(!p.outcome.changed && p.changes.is_empty());
    }

    #[test]
    fn patterns_and_hashes() {
        assert!(line_matches("example.com,1.2.3.4 ssh-rsa AAA", "example.com"));
        assert!(line_matches("@cert-authority *.example.com ssh-ed25519 AAA", "host.example.com"));
        assert!(line_matches("@cert-authority *.example.com ssh-ed25519 AAA", "*.example.com"));
        assert!(!line_matches("*.example.com,!bad.example.com ssh-rsa AAA", "bad.example.com"));
        assert!(!line_matches("# example.net ssh-ed25519 AAA", "example.net"));
        let hashed = hash_key("example.org", "example.org ssh-rsa AAAA");
        assert!(hashed.starts_with("|1|") && hashed.ends_with(" ssh-rsa AAAA"));
        assert!(line_matches(&hashed, "example.org"));
        assert!(!line_matches(&hashed, "example.com"));
    }

    #[test]
    fn same_type_is_replaced() {
        let lines = vec!["example.org ssh-rsa OLD\n", "example.org ssh-ed25519 E\n"];
        assert_eq!(search(&lines, "example.org", Some("example.org ssh-rsa NEW\n")), (true, true, Some(0)));
        assert_eq!(search(&lines, "example.org", Some("example.org ssh-ed25519 E\n")), (true, false, Some(1)));
        assert_eq!(search(&lines, "other", Some("other ssh-rsa X\n")), (false, false, None));
    }
}
