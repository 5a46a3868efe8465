//! What file-handling modules share: asking a host about a path in one round trip, writing a
//! file atomically (temporary name in the target folder, then rename), and owner, group and
//! mode handled as Ansible handles them.

use serde_json::{json, Map, Value};

use super::{fail, Args, Change, ExecCheck, FileDiff, ModError, Outcome, Plan, TaskCtx};
pub use crate::connection::stat::{parse_probe, probe_script, stat_after, Probe, Stat};
use crate::pytext::shell_quote as q;

pub async fn probe(ctx: &TaskCtx, path: &str, checksum: Option<&str>, content: bool) -> Result<Probe, ModError> {
    let key = super::ProbeKey { path: path.to_string(), sum: checksum.map(str::to_string), content, real: false };
    if let Some(p) = ctx.probe(key).await? {
        return Ok(p);
    }
    let out = ctx.sh_look(probe_script(path, checksum, content)).await?;
    let out = out.ok_or_fail(&format!("cannot inspect {path}"))?;
    Ok(parse_probe(&out.stdout))
}

/// A path argument that needs nothing from the host to be what a module probes (no `~`,
/// no `$` to expand there).
pub fn literal_path(args: &Args, k: &str) -> Option<String> {
    args.str(k).ok().flatten().filter(|p| !p.is_empty() && !p.starts_with('~') && !p.contains('$'))
}

/// `~` or `~USER` at the start of a path, expanded on the host as Python's
/// `os.path.expanduser` does there (Ansible expands `path` arguments on the host, for the
/// user the module runs as): `~` is `$HOME`, `~USER` that user's home from the user database;
/// an unknown user leaves the path as it is.
pub async fn expand_home(ctx: &TaskCtx, path: &str) -> Result<String, ModError> {
    let Some(rest) = path.strip_prefix('~') else {
        return Ok(path.to_string());
    };
    let (user, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let home = if user.is_empty() {
        ctx.sh_look("printf '%s' \"$HOME\"").await?.stdout_str()
    } else {
        let u = q(user);
        let r = ctx.sh(format!("(getent passwd {u} 2>/dev/null || awk -F: -v u={u} '$1 == u' /etc/passwd) | head -n 1")).await?;
        match r.stdout_str().trim_end().split(':').nth(5) {
            Some(h) => h.to_string(),
            None => return Ok(path.to_string()),
        }
    };
    // As Python: a home of `/` gives `/rest`, never `//rest`.
    let home = home.trim_end_matches('/');
    Ok(if home.is_empty() && tail.is_empty() { "/".to_string() } else { format!("{home}{tail}") })
}

/// `$NAME` and `${NAME}` in a path replaced by the host's environment variables (those set;
/// others stay as written), as Python's `os.path.expandvars` does there. One round trip, and
/// only for a path with a `$` in it.
pub async fn expand_vars(ctx: &TaskCtx, path: &str) -> Result<String, ModError> {
    // Python's pattern: `$` then word characters, or `${...}`.
    let mut refs = Vec::new();
    let mut i = 0;
    while let Some(off) = path[i..].find('$') {
        let start = i + off;
        let rest = &path[start + 1..];
        let (name, len) = if let Some(braced) = rest.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 3),
                None => ("", 1),
            }
        } else {
            let n = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
            (&rest[..n], n + 1)
        };
        if !name.is_empty() {
            refs.push((start, start + len, name.to_string()));
        }
        i = start + len.max(1);
    }
    let shell_name = |n: &str| {
        n.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let names: Vec<&str> = refs.iter().map(|r| r.2.as_str()).filter(|n| shell_name(n)).collect();
    if names.is_empty() {
        return Ok(path.to_string());
    }
    let script: String = names.iter().map(|n| format!("if [ -n \"${{{n}+x}}\" ]; then printf '%s=%s\\0' {n} \"${n}\"; fi\n")).collect();
    let out = ctx.sh(script).await?;
    let text = out.stdout_str();
    let set: std::collections::HashMap<&str, &str> = text.split('\0').filter_map(|kv| kv.split_once('=')).collect();
    let mut result = String::new();
    let mut last = 0;
    for (start, end, name) in &refs {
        if let Some(v) = set.get(name.as_str()) {
            result += &path[last..*start];
            result += v;
            last = *end;
        }
    }
    result += &path[last..];
    Ok(result)
}

/// A path argument as Ansible's `type='path'` takes it: variables, then `~`, expanded on the
/// host.
pub async fn expand_path(ctx: &TaskCtx, path: &str) -> Result<String, ModError> {
    expand_home(ctx, &expand_vars(ctx, path).await?).await
}

/// A required path argument, `~` expanded on the host.
pub async fn req_path(ctx: &TaskCtx, args: &Args, k: &str) -> Result<String, ModError> {
    expand_home(ctx, &args.req_str(k)?).await
}

/// As [`stat_after`], of what a link at the path leads to.
pub fn stat_after_followed(path: &str) -> String {
    format!("printf 'STAT '; stat -L -c '{}' -- {} 2>/dev/null || echo\n", crate::connection::stat::STAT_FMT, q(path))
}

/// Download a URL on the host (curl, else wget) to a new temporary file there; returns its
/// path. `suffix` is kept on the name (apt-get wants `.deb`).
pub async fn download(ctx: &TaskCtx, url: &str, suffix: &str, validate_certs: bool) -> Result<String, ModError> {
    let k = if validate_certs { "" } else { "-k " };
    let nc = if validate_certs { "" } else { "--no-check-certificate " };
    let r = ctx
        .sh(format!(
            "t=$(mktemp --suffix={} /tmp/.steward-download.XXXXXXXX) && {{ curl -fsSL {k}-o \"$t\" {u} || wget -q {nc}-O \"$t\" {u}; }} && echo \"$t\"",
            q(suffix),
            u = q(url)
        ))
        .await?;
    let r = r.ok_or_fail(&format!("Failure downloading {url}"))?;
    Ok(r.stdout_str().trim().to_string())
}

/// Owner, group and mode that a task asks for.
#[derive(Clone, Debug, Default)]
pub struct Attrs {
    pub mode: Option<String>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

impl Attrs {
    pub fn from_args(a: &Args) -> Result<Attrs, ModError> {
        let mode = match a.raw("mode") {
            None => None,
            Some(Value::Number(n)) => {
                // A YAML number such as 0644 was read as octal already (420): print it back.
                let v = n.as_u64().unwrap_or(0);
                Some(format!("{v:o}"))
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => return fail(format!("mode must be a string or a number, got {v}")),
        };
        Ok(Attrs { mode, owner: a.str("owner")?, group: a.str("group")? })
    }

    pub fn is_empty(&self) -> bool {
        self.mode.is_none() && self.owner.is_none() && self.group.is_none()
    }
}

/// The mode a mode argument asks for, given the current one (symbolic modes are relative).
pub fn resolve_mode(spec: &str, current: u32, is_dir: bool) -> Result<u32, ModError> {
    let s = spec.trim();
    if s == "preserve" {
        return Ok(current);
    }
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
        return u32::from_str_radix(s, 8).map_err(|_| ModError::Fail(format!("bad mode `{spec}`: not an octal number")));
    }
    let mut mode = current & 0o7777;
    for clause in s.split(',') {
        let who_end = clause.find(['+', '-', '=']).ok_or_else(|| ModError::Fail(format!("bad symbolic mode `{spec}`")))?;
        let (who, rest) = clause.split_at(who_end);
        let mut mask = 0u32;
        for c in if who.is_empty() { "a".chars() } else { who.chars() } {
            mask |= match c {
                'u' => 0o4700,
                'g' => 0o2070,
                'o' => 0o1007,
                'a' => 0o7777,
                _ => return fail(format!("bad symbolic mode `{spec}`: unknown `{c}`")),
            };
        }
        let op = rest.chars().next().unwrap_or('=');
        let mut bits = 0u32;
        for c in rest[1..].chars() {
            bits |= match c {
                'r' => 0o444,
                'w' => 0o222,
                'x' => 0o111,
                'X' => {
                    if is_dir || current & 0o111 != 0 {
                        0o111
                    } else {
                        0
                    }
                }
                's' => 0o6000,
                't' => 0o1000,
                _ => return fail(format!("bad symbolic mode `{spec}`: unknown `{c}`")),
            };
        }
        let bits = bits & mask;
        mode = match op {
            '+' => mode | bits,
            '-' => mode & !bits,
            _ => (mode & !mask) | bits,
        };
    }
    Ok(mode)
}

/// What it takes to bring a path's owner, group and mode to what is asked: the shell
/// commands, and the before/after values for the diff.
#[derive(Default)]
pub struct AttrChanges {
    pub cmds: Vec<String>,
    pub before: Map<String, Value>,
    pub after: Map<String, Value>,
    /// A mode asked for a link itself (follow=false), which Linux cannot give a link: it
    /// shows in the diff, and counts as a change only in check mode, as in Ansible (which
    /// tries, ignores the error a dangling link gives, and finds the link's mode unchanged).
    pub link_mode: bool,
}

impl AttrChanges {
    /// Put the changes into a plan: one command, the diff, the result changed. A mode asked
    /// for a link itself counts as a change in the prediction only ([`AttrChanges::link_mode`]):
    /// the real run finds nothing to do.
    pub fn plan_into(self, path: &str, plan: &mut Plan) {
        if self.cmds.is_empty() && !self.link_mode {
            return;
        }
        plan.outcome.diffs.push(state_diff(path, self.before, self.after));
        if self.cmds.is_empty() {
            plan.outcome.changed = true;
            plan.changes.push(Change::own(LinkModeOnly));
            return;
        }
        plan.change(Change::sh(self.cmds.join(" && "), format!("cannot set attributes of {path}")));
    }
}

/// The step a mode asked for a link leaves: nothing to run, and the real run is unchanged.
pub struct LinkModeOnly;

pub fn attr_changes(path: &str, st: Option<&Stat>, attrs: &Attrs, is_dir: bool, follow: bool) -> Result<AttrChanges, ModError> {
    let mut ch = AttrChanges::default();
    let h = if follow { "" } else { "-h " };
    if let Some(m) = &attrs.mode {
        let cur = st.map(|s| s.mode).unwrap_or(0);
        let want = resolve_mode(m, cur, is_dir)?;
        if st.is_some_and(|s| s.is_link()) && !follow {
            if want != cur & 0o7777 {
                ch.link_mode = true;
                ch.before.insert("mode".into(), json!(format!("{:04o}", cur & 0o7777)));
                ch.after.insert("mode".into(), json!(format!("{want:04o}")));
            }
        } else if st.is_none() || want != cur & 0o7777 {
            ch.cmds.push(format!("chmod {want:04o} -- {}", q(path)));
            ch.before.insert("mode".into(), json!(format!("{:04o}", cur & 0o7777)));
            ch.after.insert("mode".into(), json!(format!("{want:04o}")));
        }
    }
    if let Some(o) = &attrs.owner {
        if !st.is_some_and(|s| &s.owner == o || s.uid.to_string() == *o) {
            ch.cmds.push(format!("chown {h}{} -- {}", q(o), q(path)));
            ch.before.insert("owner".into(), json!(st.map(|s| s.owner.clone()).unwrap_or_default()));
            ch.after.insert("owner".into(), json!(o));
        }
    }
    if let Some(g) = &attrs.group {
        if !st.is_some_and(|s| &s.group == g || s.gid.to_string() == *g) {
            ch.cmds.push(format!("chgrp {h}{} -- {}", q(g), q(path)));
            ch.before.insert("group".into(), json!(st.map(|s| s.group.clone()).unwrap_or_default()));
            ch.after.insert("group".into(), json!(g));
        }
    }
    Ok(ch)
}

/// Run a task's `validate` command (`%s` is the new file) on the content before it goes in place.
pub async fn validate(ctx: &TaskCtx, content: &[u8], cmd: &str) -> Result<(), ModError> {
    if !cmd.contains("%s") {
        return fail(format!("validate must contain %s: {cmd}"));
    }
    let script = format!("t=$(mktemp) || exit 1\ncat > \"$t\"\n{}\nrc=$?\nrm -f \"$t\"\nexit $rc\n", cmd.replace("%s", "\"$t\""));
    let out = ctx.sh_in(script, Some(content.to_vec())).await?;
    if out.rc != 0 {
        return fail(format!("failed to validate: rc:{} error:{}", out.rc, out.stderr_str().trim()));
    }
    Ok(())
}

/// Keep a timestamped copy (`FILE.PID.YYYY-MM-DD@HH:MM:SS~`, as Ansible names it).
pub async fn backup(ctx: &TaskCtx, dest: &str) -> Result<String, ModError> {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let name = format!("{dest}.{}.{}~", std::process::id(), crate::pytext::format_time("%Y-%m-%d@%H:%M:%S", secs, false));
    let out = ctx.sh(format!("cp -p -- {} {}", q(dest), q(&name))).await?;
    out.ok_or_fail(&format!("backup of {dest} failed"))?;
    Ok(name)
}

/// A file's new content, as the editing modules (lineinfile, blockinfile, replace) commit it.
pub struct Edit<'a> {
    pub path: &'a str,
    pub original: Option<&'a [u8]>,
    pub new: Vec<u8>,
    /// When set, the new content is this controller file's (streamed), and `new` is only used
    /// for the diff.
    pub from_file: Option<&'a std::path::Path>,
    pub changed: bool,
    pub st: Option<&'a Stat>,
    /// Create the file's missing parent folders (lineinfile's and blockinfile's `create`).
    pub make_parents: bool,
}

impl Edit<'_> {
    /// Decide the edit: when the content changed, the diff and a [`Write`] (backup named in
    /// the result under `backup_key`, validate, missing parents made); otherwise only owner,
    /// group and mode brought to what is asked.
    pub fn plan_into(self, args: &Args, plan: &mut Plan, backup_key: &'static str) -> Result<(), ModError> {
        let attrs = Attrs::from_args(args)?;
        if !self.changed {
            if self.st.is_some() {
                attr_changes(self.path, self.st, &attrs, false, true)?.plan_into(self.path, plan);
            }
            return Ok(());
        }
        plan.outcome.diffs.push(content_diff(self.path, self.original, &self.new));
        let content = match self.from_file {
            Some(p) => Content::File(p.to_path_buf()),
            None => Content::Bytes(self.new),
        };
        let backup = (args.bool("backup", false)? && self.st.is_some()).then_some(backup_key);
        plan.change(Change::Write(Box::new(Write {
            path: self.path.to_string(),
            content,
            attrs,
            existed: self.st.cloned(),
            backup,
            validate: args.str("validate")?,
            make_parents: self.make_parents && self.original.is_none(),
        })));
        Ok(())
    }
}

/// A planned write of a file's whole content.
pub struct Write {
    pub path: String,
    pub content: Content,
    pub attrs: Attrs,
    /// What is there now (its mode and owner are kept unless the task sets them).
    pub existed: Option<Stat>,
    /// Keep a timestamped copy first; the result names it under this key.
    pub backup: Option<&'static str>,
    /// A command that must accept the new content (`%s` is its path) before it goes in place.
    pub validate: Option<String>,
    /// Create the missing parent folders.
    pub make_parents: bool,
}

/// A planned file's new content, owned by the plan.
pub enum Content {
    Bytes(Vec<u8>),
    /// A file on the controller, streamed.
    File(std::path::PathBuf),
}

impl Write {
    /// A whole file's new content, with no backup, no validation and its folder already there.
    pub fn new(path: String, content: Vec<u8>, attrs: Attrs, existed: Option<Stat>) -> Write {
        Write { path, content: Content::Bytes(content), attrs, existed, backup: None, validate: None, make_parents: false }
    }

    /// Backup, validate, make parents, write atomically; returns the file's state after.
    pub async fn apply(self, ctx: &TaskCtx, out: &mut Outcome) -> Result<Option<Stat>, ModError> {
        if let Some(key) = self.backup {
            out.data.insert(key.into(), json!(backup(ctx, &self.path).await?));
        }
        if let Some(v) = &self.validate {
            let content = match &self.content {
                Content::File(f) => std::fs::read(f).map_err(|e| ModError::Fail(format!("cannot read {}: {e}", f.display())))?,
                Content::Bytes(b) => b.clone(),
            };
            validate(ctx, &content, v).await?;
        }
        let file;
        let src = match self.content {
            Content::File(p) => {
                file = p;
                Source::File(&file)
            }
            Content::Bytes(b) => Source::Bytes(b),
        };
        write_file_with(ctx, &self.path, src, &self.attrs, self.existed.as_ref(), self.make_parents).await
    }
}

/// Where a file's new content comes from.
pub enum Source<'a> {
    Bytes(Vec<u8>),
    /// A file on the controller, streamed (never held whole in memory).
    File(&'a std::path::Path),
}

/// Sixteen random hex digits, for names and markers nothing else will use.
pub fn random_name() -> String {
    let mut b = [0u8; 8];
    crate::random::fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The end of a write: the temporary file "$t" gets the old file's mode and owner (or the
/// default for a new file), then the task's, and is renamed over `dest`.
/// `created_default` says "$t" was made by the shell's redirection (the umask's mode already),
/// not by mktemp (0600).
fn finalize_script(dest: &str, attrs: &Attrs, existed: Option<&Stat>, created_default: bool) -> Result<String, ModError> {
    let mut script = String::new();
    match existed {
        Some(st) if st.is_file() => {
            // As Python's copystat in Ansible's atomic_move: mode, owner and extended
            // attributes (ACLs among them) carry over; plain chmod/chown where cp cannot.
            script += &format!(
                "cp --attributes-only --preserve=mode,ownership,xattr -- {} \"$t\" 2>/dev/null || {{ chmod {:04o} \"$t\"; chown {}:{} \"$t\" 2>/dev/null || true; }}\n",
                q(dest),
                st.mode & 0o7777,
                st.uid,
                st.gid
            );
        }
        _ if created_default => {}
        _ => script += "chmod $(printf '%o' $((0666 & ~0$(umask)))) \"$t\"\n",
    }
    if let Some(m) = &attrs.mode {
        let base = existed.map(|s| s.mode).unwrap_or(0o644);
        script += &format!("chmod {:04o} \"$t\"\n", resolve_mode(m, base, false)?);
    }
    if let Some(o) = &attrs.owner {
        script += &format!("chown {} \"$t\"\n", q(o));
    }
    if let Some(g) = &attrs.group {
        script += &format!("chgrp {} \"$t\"\n", q(g));
    }
    script += &format!("mv -f \"$t\" {}\ntrap - EXIT\n", q(dest));
    Ok(script)
}

/// Write new content to `dest` atomically: a temporary file in the target folder, attributes
/// set, renamed into place. An existing file's mode and owner are kept unless the task sets
/// them. Files from the controller go over SFTP (to the target folder, or under become to a
/// temporary upload that the escalated command moves), falling back to streaming them
/// through the command's stdin.
pub async fn write_file(
    ctx: &TaskCtx,
    dest: &str,
    src: Source<'_>,
    attrs: &Attrs,
    existed: Option<&Stat>,
) -> Result<Option<Stat>, ModError> {
    write_file_with(ctx, dest, src, attrs, existed, false).await
}

/// [`write_file`], creating the missing parent folders first (`make_parents`) in the same
/// round trip.
async fn write_file_with(
    ctx: &TaskCtx,
    dest: &str,
    src: Source<'_>,
    attrs: &Attrs,
    existed: Option<&Stat>,
    make_parents: bool,
) -> Result<Option<Stat>, ModError> {
    let dir = parent_dir(dest);
    let mkdir = if make_parents {
        "[ -d \"$d\" ] || e=$(mkdir -p -- \"$d\" 2>&1) || { printf 'STEWARD-MKDIR %s\\n' \"$e\"; exit 1; }\n"
    } else {
        ""
    };
    if let Source::Bytes(b) = &src {
        let format = printf_format(b);
        if format.len() <= INLINE_MAX {
            return write_inline(ctx, dest, &dir, mkdir, &format, attrs, existed).await;
        }
    }
    // The new file's state comes back with the write: no second round trip.
    let finalize = finalize_script(dest, attrs, existed, false)? + &crate::connection::stat::stat_after(dest);
    let fresh_tmp = format!("set -e\nd={}\n{mkdir}t=$(mktemp \"$d/.steward.XXXXXXXX\")\ntrap 'rm -f \"$t\"' EXIT\n", q(&dir));
    let mut uploaded = None;
    let (script, stdin, stdin_file) = match src {
        Source::Bytes(b) => (format!("{fresh_tmp}cat > \"$t\"\n{finalize}"), Some(b), None),
        Source::File(path) => {
            let upload = match ctx.become_ {
                None => format!("{}/.steward.{}", dir.trim_end_matches('/'), random_name()),
                Some(_) => format!("/tmp/.steward-upload.{}", random_name()),
            };
            match ctx.conn.put_file(path, &upload).await {
                Ok(()) if ctx.become_.is_none() => (format!("set -e\nt={}\ntrap 'rm -f \"$t\"' EXIT\n{finalize}", q(&upload)), None, None),
                Ok(()) => {
                    let u = q(&upload);
                    uploaded = Some(upload.clone());
                    // A user become may not remove what the login user uploaded to /tmp (sticky):
                    // the login user removes it afterwards.
                    (format!("{fresh_tmp}trap 'rm -f \"$t\" {u} 2>/dev/null' EXIT\ncat {u} > \"$t\"\nrm -f {u} 2>/dev/null || true\n{finalize}"), None, None)
                }
                Err(_) => (format!("{fresh_tmp}cat > \"$t\"\n{finalize}"), None, Some(path.to_path_buf())),
            }
        }
    };
    let req = crate::connection::ExecRequest {
        cmd: script,
        stdin,
        stdin_file,
        env: ctx.env.clone(),
        become_: ctx.become_.clone(),
        ..Default::default()
    };
    let out = ctx.conn.exec(req).await;
    if let (Some(u), Some(b)) = (&uploaded, &ctx.become_) {
        if !matches!(b.user.as_str(), "" | "root") {
            let rm = crate::connection::ExecRequest { cmd: format!("rm -f {}", q(u)), ..Default::default() };
            let _ = ctx.conn.exec(rm).await;
        }
    }
    written(out?, dest, &dir)
}

/// The largest content (as printf's format) a write carries in its script instead of on a
/// channel of its own: such a write is one command in the connection's shell. Under become
/// the script is one argument of sudo's command, which Linux caps at 128 KiB.
const INLINE_MAX: usize = 64 * 1024;

/// A small write, whole in one script run by the connection's long-lived shell: the content
/// is printf's format (a builtin, so no process), the temporary file is created by the shell
/// (noclobber: it must be new) with the mode the umask gives, or owner-only while its mode is
/// still to be set, then renamed into place.
async fn write_inline(
    ctx: &TaskCtx,
    dest: &str,
    dir: &str,
    mkdir: &str,
    format: &str,
    attrs: &Attrs,
    existed: Option<&Stat>,
) -> Result<Option<Stat>, ModError> {
    let new_file = !existed.is_some_and(|st| st.is_file());
    let mut attrs = attrs.clone();
    let exact = match &attrs.mode {
        Some(m) if new_file => Some(resolve_mode(m, 0o644, false)?),
        _ => None,
    };
    let umask = match exact {
        None if attrs.mode.is_none() && new_file => String::new(),
        // A new file whose mode has no execute or special bits is made with it (the shell
        // creates files 0666 less the umask): no chmod.
        Some(m) if m & 0o7111 == 0 => {
            attrs.mode = None;
            format!("umask {:04o}\n", 0o777 & !m)
        }
        // Otherwise owner-only until the mode is set.
        _ => "umask 077\n".to_string(),
    };
    let tmp = format!("{}/.steward.{}", dir.trim_end_matches('/'), random_name());
    let script = format!(
        "set -e\nd={}\n{mkdir}t={}\ntrap 'rm -f \"$t\"' EXIT\n{umask}set -C\nprintf {} > \"$t\"\nset +C\n{}{}",
        q(dir),
        q(&tmp),
        format,
        finalize_script(dest, &attrs, existed, true)?,
        crate::connection::stat::stat_after(dest)
    );
    written(ctx.sh_change(script).await?, dest, dir)
}

/// What a write's script printed: the new file's state, or why it failed.
fn written(out: crate::connection::ExecOutput, dest: &str, dir: &str) -> Result<Option<Stat>, ModError> {
    if let Some(e) = String::from_utf8_lossy(&out.stdout).strip_prefix("STEWARD-MKDIR ") {
        return fail(format!("Error creating {dir} ({})", e.trim()));
    }
    let out = out.ok_or_fail(&format!("cannot write {dest}"))?;
    Ok(parse_probe(&out.stdout).lstat)
}

/// `bytes` as a single-quoted printf format that prints exactly them (any byte, NUL among
/// them): `%` and `\` doubled, the quote and anything not printable as a three-digit octal
/// escape, which POSIX printf reads in its format.
pub fn printf_format(bytes: &[u8]) -> String {
    let mut f = String::with_capacity(bytes.len() + 2);
    f.push('\'');
    for &b in bytes {
        match b {
            b'%' => f.push_str("%%"),
            b'\\' => f.push_str("\\\\"),
            b'\n' | b'\t' | 0x20..=0x7e if b != b'\'' => f.push(b as char),
            _ => f.push_str(&format!("\\{b:03o}")),
        }
    }
    f.push('\'');
    f
}

/// `sha1` of a file on the controller, read in pieces.
pub fn sha1_file(path: &std::path::Path) -> std::io::Result<String> {
    digest_file::<sha1::Sha1>(path)
}

/// `md5` of a file on the controller, read in pieces (Ansible's legacy `md5sum`).
pub fn md5_file(path: &std::path::Path) -> std::io::Result<String> {
    digest_file::<md5::Md5>(path)
}

fn digest_file<D: sha1::Digest>(path: &std::path::Path) -> std::io::Result<String>
where
    sha1::digest::Output<D>: std::fmt::LowerHex,
{
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = D::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("{:x}", h.finalize()))
}

pub fn parent_dir(path: &str) -> String {
    match path.trim_end_matches('/').rfind('/') {
        Some(0) => "/".into(),
        Some(i) => path[..i].to_string(),
        None => ".".into(),
    }
}

/// The diff of a file's content, with Ansible's headers.
pub fn content_diff(path: &str, before: Option<&[u8]>, after: &[u8]) -> FileDiff {
    FileDiff {
        before_header: path.to_string(),
        after_header: path.to_string(),
        before: before.map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default(),
        after: String::from_utf8_lossy(after).into_owned(),
    }
}

/// The diff of a path's state (`file` module), as JSON documents like Ansible's.
pub fn state_diff(path: &str, before: Map<String, Value>, after: Map<String, Value>) -> FileDiff {
    let mut b = before;
    let mut a = after;
    b.insert("path".into(), json!(path));
    a.insert("path".into(), json!(path));
    FileDiff {
        before_header: path.to_string(),
        after_header: path.to_string(),
        before: crate::pytext::py_json(&Value::Object(b), Some(4), true) + "\n",
        after: crate::pytext::py_json(&Value::Object(a), Some(4), true) + "\n",
    }
}

/// The result fields Ansible's file-handling modules return about a path.
pub fn path_result(path: &str, st: Option<&Stat>, key: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(key.into(), json!(path));
    if let Some(s) = st {
        m.insert("mode".into(), json!(format!("{:04o}", s.mode & 0o7777)));
        m.insert("owner".into(), json!(s.owner));
        m.insert("group".into(), json!(s.group));
        m.insert("uid".into(), json!(s.uid));
        m.insert("gid".into(), json!(s.gid));
        m.insert("size".into(), json!(s.size));
        m.insert("state".into(), json!(s.state_name()));
    }
    m
}

/// lsattr's flag letters and Ansible's names for them.
pub const FILE_ATTRIBUTES: &[(char, &str)] = &[
    ('A', "noatime"),
    ('a', "append"),
    ('c', "compressed"),
    ('C', "nocow"),
    ('d', "nodump"),
    ('D', "dirsync"),
    ('e', "extents"),
    ('E', "encrypted"),
    ('h', "blocksize"),
    ('i', "immutable"),
    ('I', "indexed"),
    ('j', "journalled"),
    ('N', "inline"),
    ('s', "zero"),
    ('S', "synchronous"),
    ('t', "notail"),
    ('T', "blockroot"),
    ('u', "undelete"),
    ('X', "compressedraw"),
    ('Z', "compresseddirty"),
];

/// Ansible's `format_attributes`: the names of lsattr's flags.
pub fn format_attributes(flags: &str) -> Vec<&'static str> {
    flags.chars().filter_map(|c| FILE_ATTRIBUTES.iter().find(|(f, _)| *f == c).map(|(_, n)| *n)).collect()
}

/// `sha1` of bytes, as Ansible's checksum.
pub fn sha1_hex(data: &[u8]) -> String {
    crate::template::hex_digest("sha1", data).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbolic_modes() {
        assert_eq!(resolve_mode("u=rw,g=r,o=r", 0o777, false).unwrap(), 0o644);
        assert_eq!(resolve_mode("g+w", 0o644, false).unwrap(), 0o664);
        assert_eq!(resolve_mode("a-x", 0o755, false).unwrap(), 0o644);
        assert_eq!(resolve_mode("0755", 0, false).unwrap(), 0o755);
        assert_eq!(resolve_mode("u+X", 0o600, true).unwrap(), 0o700);
    }

    #[tokio::test]
    async fn variables_in_paths_are_the_hosts() {
        let host = super::super::testing::Scripted::new().on("${HOME+x}", 0, b"HOME=/root\0U=u\0");
        let ctx = host.ctx(false, false);
        assert_eq!(expand_vars(&ctx, "$HOME/x/${U}/$NOPE/$").await.unwrap(), "/root/x/u/$NOPE/$");
        assert_eq!(expand_path(&ctx, "/plain").await.unwrap(), "/plain");
        assert_eq!(host.commands().len(), 1, "a path without variables asks nothing");
    }
}
