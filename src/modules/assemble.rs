//! `assemble`: one file made of a folder's fragments, in name order, on the host (`remote_src`,
//! the default) or from the controller. The fragments are read in one round trip, joined here
//! as Ansible joins them (a newline after a fragment that lacks one, the delimiter between
//! fragments), and the result is written as `copy` writes a file: only when it differs.

use async_trait::async_trait;
use serde_json::json;

use super::common::Source;
use super::{ExecCheck, args, fail, Arg, Args, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct Assemble;

const ARGS: &[Arg] = &[
    Arg::str("src", "the folder of fragments (on the host, or on the controller with remote_src=no)").required(),
    Arg::str("dest", "the file to write").required(),
    Arg::str("delimiter", "text put between fragments (escapes such as \\n are decoded)"),
    args::BACKUP,
    Arg::bool("remote_src", "the fragments are on the host").default("true"),
    Arg::str("regexp", "only fragments whose name this regular expression matches"),
    Arg::bool("ignore_hidden", "leave out fragments whose name starts with a dot").default("false"),
    args::VALIDATE,
    Arg::bool("decrypt", "decrypt vaulted fragments on the controller (with remote_src=no)").default("true"),
    Arg::bool("follow", "accepted for compatibility"),
];

#[async_trait]
impl Module for Assemble {
    fn name(&self) -> &'static str {
        "assemble"
    }
    fn doc(&self) -> &'static str {
        include_str!("assemble.md")
    }
    fn args(&self) -> &'static [Arg] {
        ARGS
    }
    fn file_attrs(&self) -> bool {
        true
    }
    fn supports_async(&self) -> bool {
        false
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let src = args.req_str("src")?;
        let dest = super::common::req_path(ctx, args, "dest").await?;
        let regexp = match args.str("regexp")? {
            Some(r) => Some(regex::Regex::new(&r).map_err(|e| ModError::Fail(format!("Invalid Regexp ({e}) in \"{r}\"")))?),
            None => None,
        };
        if let Some(v) = args.str("validate")? {
            if !v.contains("%s") {
                return fail(format!("validate must contain %s: {v}"));
            }
        }
        let ignore_hidden = args.bool("ignore_hidden", false)?;
        let remote = args.bool("remote_src", true)?;
        let mut fragments =
            if remote { remote_fragments(ctx, &src).await? } else { local_fragments(ctx, &src, args.bool("decrypt", true)?)? };
        fragments.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        fragments.dedup_by(|a, b| a.0 == b.0);
        fragments.retain(|(name, _)| regexp.as_ref().is_none_or(|re| re.is_match(name)) && !(ignore_hidden && name.starts_with('.')));
        let delimiter = args.str("delimiter")?.map(|d| escape_decode(&d));
        let content = join(&fragments, delimiter.as_deref());
        let mut plan = super::copy::put_plan(ctx, args, &dest, Source::Bytes(content), true, None, false).await?;
        plan.outcome.data.insert("src".into(), json!(src));
        if remote {
            plan.outcome.msg = Some("OK".into());
        }
        Ok(plan)
    }
    async fn apply(&self, ctx: &TaskCtx, _args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        super::copy::apply_put(ctx, plan).await
    }
}

/// The fragments on the host: every regular file in the folder (links followed), by name.
async fn remote_fragments(ctx: &TaskCtx, src: &str) -> Result<Vec<(String, Vec<u8>)>, ModError> {
    let script = format!(
        "s={}\n[ -e \"$s\" ] || {{ echo MISSING; exit 0; }}\n[ -d \"$s\" ] || {{ echo NOTDIR; exit 0; }}\ncd -- \"$s\" || exit 1\necho OK\nfor f in * .*; do [ -f \"$f\" ] || continue; printf '%s\\0' \"$f\"; wc -c < \"$f\"; cat -- \"$f\" || exit 1; done\n",
        q(src)
    );
    let r = ctx.sh(script).await?;
    let r = r.ok_or_fail(&format!("cannot read fragments in {src}"))?;
    let out = &r.stdout;
    let first = out.iter().position(|b| *b == b'\n').unwrap_or(out.len());
    match &out[..first] {
        b"MISSING" => return fail(format!("Source ({src}) does not exist")),
        b"NOTDIR" => return fail(format!("Source ({src}) is not a directory")),
        _ => {}
    }
    let mut rest = out.get(first + 1..).unwrap_or_default();
    let mut frags = Vec::new();
    while !rest.is_empty() {
        let Some(z) = rest.iter().position(|b| *b == 0) else { break };
        let name = String::from_utf8_lossy(&rest[..z]).into_owned();
        rest = &rest[z + 1..];
        let nl = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
        let size: usize = String::from_utf8_lossy(&rest[..nl]).trim().parse().unwrap_or(0);
        rest = rest.get(nl + 1..).unwrap_or_default();
        let n = size.min(rest.len());
        frags.push((name, rest[..n].to_vec()));
        rest = &rest[n..];
    }
    Ok(frags)
}

/// The fragments on the controller (the role's `files/` searched), vaulted ones decrypted.
fn local_fragments(ctx: &TaskCtx, src: &str, decrypt: bool) -> Result<Vec<(String, Vec<u8>)>, ModError> {
    let Some(dir) = ctx.find_local("files", src) else {
        return fail(ctx.not_found("files", src));
    };
    if !dir.is_dir() {
        return fail(format!("Source ({}) is not a directory", dir.display()));
    }
    let rd = std::fs::read_dir(&dir).map_err(|e| ModError::Fail(format!("cannot read {}: {e}", dir.display())))?;
    let mut frags = Vec::new();
    for e in rd.flatten() {
        let p = e.path();
        if !p.is_file() {
            continue;
        }
        let mut data = std::fs::read(&p).map_err(|e| ModError::Fail(format!("cannot read {}: {e}", p.display())))?;
        if decrypt {
            if let Ok(text) = std::str::from_utf8(&data) {
                if crate::vault::is_vaulted(text) {
                    data = crate::vault::decrypt(text).map_err(|e| ModError::Fail(format!("{}: {e}", p.display())))?;
                }
            }
        }
        frags.push((e.file_name().to_string_lossy().into_owned(), data));
    }
    Ok(frags)
}

/// The fragments joined: a newline after one that does not end with one, and the delimiter
/// (followed by a newline if it lacks one) between fragments.
fn join(frags: &[(String, Vec<u8>)], delimiter: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut add_newline = false;
    for (i, (_, data)) in frags.iter().enumerate() {
        if add_newline {
            out.push(b'\n');
        }
        if let (true, Some(d)) = (i > 0, delimiter.filter(|d| !d.is_empty())) {
            out.extend_from_slice(d);
            if d.last() != Some(&b'\n') {
                out.push(b'\n');
            }
        }
        out.extend_from_slice(data);
        add_newline = !data.ends_with(b"\n");
    }
    out
}

/// Python's `codecs.escape_decode`: backslash escapes (`\n`, `\t`, `\\`, `\xHH`, octal).
fn escape_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = b[i + 1];
        i += 2;
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'\\' | b'\'' | b'"' => out.push(c),
            b'\n' => {}
            b'x' if hex_byte(b.get(i..i + 2)).is_some() => {
                out.extend(hex_byte(b.get(i..i + 2)));
                i += 2;
            }
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                let mut n = 1;
                while n < 3 && i < b.len() && (b'0'..=b'7').contains(&b[i]) {
                    v = v * 8 + u32::from(b[i] - b'0');
                    i += 1;
                    n += 1;
                }
                out.push((v & 0xff) as u8);
            }
            _ => {
                out.push(b'\\');
                out.push(c);
            }
        }
    }
    out
}

fn hex_byte(b: Option<&[u8]>) -> Option<u8> {
    u8::from_str_radix(std::str::from_utf8(b?).ok()?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_as_ansible() {
        let f = vec![("a".to_string(), b"one".to_vec()), ("b".to_string(), b"two\n".to_vec()), ("c".to_string(), b"3".to_vec())];
        assert_eq!(join(&f, None), b"one\ntwo\n3");
        assert_eq!(join(&f, Some(b"--")), b"one\n--\ntwo\n--\n3");
        assert_eq!(escape_decode("a\\nb\\x41\\101"), b"a\nbAA");
    }
}
