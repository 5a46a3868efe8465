//! `stat`: facts about a path, registered as `result.stat`.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::common::{parse_probe, probe_script};
use super::{ExecCheck, Arg, Args, ModError, Module, Outcome, Plan, TaskCtx};

pub struct Stat;

#[async_trait]
impl Module for Stat {
    fn name(&self) -> &'static str {
        "stat"
    }
    fn doc(&self) -> &'static str {
        include_str!("stat.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("path", "the path to look at").aliases(&["dest", "name"]).required(),
            Arg::bool("follow", "follow a link to what it points at").default("false"),
            Arg::bool("get_checksum", "compute the file's checksum").default("true"),
            Arg::str("checksum_algorithm", "md5, sha1, sha224, sha256, sha384 or sha512")
                .aliases(&["checksum", "checksum_algo"])
                .choices(&["md5", "sha1", "sha224", "sha256", "sha384", "sha512"])
                .default("sha1"),
            Arg::bool("get_mime", "report mimetype and charset, as `file` sees them")
                .aliases(&["mime", "mime_type", "mime-type"])
                .default("true"),
            Arg::bool("get_attributes", "report lsattr's attributes").aliases(&["attr", "attributes"]).default("true"),
            Arg::bool("get_md5", "accepted for compatibility"),
        ];
        A
    }
    /// Looking changes nothing: the plan is the whole result.
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        Ok(Plan::done(stat(ctx, args).await?))
    }
}

/// What `stat` reports about the path: `result.stat`.
async fn stat(ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
    let path = super::common::req_path(ctx, args, "path").await?;
    let follow = args.bool("follow", false)?;
    let algo = args.str("checksum_algorithm")?.unwrap_or_else(|| "sha1".into());
    let want_sum = args.bool("get_checksum", true)?;
    let (mime, attrs) = (args.bool("get_mime", true)?, args.bool("get_attributes", true)?);
    let mut script = probe_script(&path, want_sum.then_some(algo.as_str()), false);
    script += &extras_script(follow, mime, attrs);
    let r = ctx.sh_look(script).await?;
    let r = r.ok_or_fail(&format!("cannot inspect {path}"))?;
    let p = parse_probe(&r.stdout);
    let extra = Extras::parse(&r.stdout);
    let mut st = Map::new();
    let Some(s) = p.effective(follow) else {
        st.insert("exists".into(), json!(false));
        return Ok(Outcome::ok().with("stat", Value::Object(st)));
    };
    let m = s.mode;
    let bit = |b: u32| json!(m & b != 0);
    st.insert("exists".into(), json!(true));
    st.insert("path".into(), json!(path));
    st.insert("mode".into(), json!(format!("{:04o}", m & 0o7777)));
    st.insert("isdir".into(), json!(s.is_dir()));
    st.insert("ischr".into(), json!(s.kind.starts_with("character")));
    st.insert("isblk".into(), json!(s.kind.starts_with("block")));
    st.insert("isreg".into(), json!(s.is_file()));
    st.insert("isfifo".into(), json!(s.kind == "fifo"));
    st.insert("islnk".into(), json!(s.is_link()));
    st.insert("issock".into(), json!(s.kind == "socket"));
    st.insert("uid".into(), json!(s.uid));
    st.insert("gid".into(), json!(s.gid));
    st.insert("size".into(), json!(s.size));
    st.insert("inode".into(), json!(s.inode));
    st.insert("dev".into(), json!(s.dev));
    st.insert("nlink".into(), json!(s.nlink));
    st.insert("atime".into(), json!(s.atime));
    st.insert("mtime".into(), json!(s.mtime));
    st.insert("ctime".into(), json!(s.ctime));
    st.insert("wusr".into(), bit(0o200));
    st.insert("rusr".into(), bit(0o400));
    st.insert("xusr".into(), bit(0o100));
    st.insert("wgrp".into(), bit(0o020));
    st.insert("rgrp".into(), bit(0o040));
    st.insert("xgrp".into(), bit(0o010));
    st.insert("woth".into(), bit(0o002));
    st.insert("roth".into(), bit(0o004));
    st.insert("xoth".into(), bit(0o001));
    st.insert("isuid".into(), bit(0o4000));
    st.insert("isgid".into(), bit(0o2000));
    st.insert("pw_name".into(), json!(s.owner));
    st.insert("gr_name".into(), json!(s.group));
    if s.is_link() {
        st.insert("lnk_source".into(), json!(extra.realpath.clone().or(p.link_target.clone())));
        st.insert("lnk_target".into(), json!(p.link_target));
    }
    if let Some((blocks, blksize, rdev)) = extra.blocks {
        st.insert("blocks".into(), json!(blocks));
        st.insert("block_size".into(), json!(blksize));
        st.insert("device_type".into(), json!(rdev));
    }
    if let Some(c) = &p.checksum {
        if s.is_file() {
            st.insert("checksum".into(), json!(c));
        }
    }
    let acc = &p.access;
    st.insert("readable".into(), json!(acc.contains('r')));
    st.insert("writeable".into(), json!(acc.contains('w')));
    st.insert("executable".into(), json!(acc.contains('x')));
    if mime {
        let (m, c) = extra.mime.clone().unwrap_or_else(|| ("unknown".into(), "unknown".into()));
        st.insert("mimetype".into(), json!(m));
        st.insert("charset".into(), json!(c));
    }
    if attrs {
        let (version, flags) = extra.attrs.clone().map_or((None, String::new()), |(v, f)| (Some(v), f));
        st.insert("version".into(), json!(version));
        st.insert("attributes".into(), json!(super::common::format_attributes(&flags)));
        st.insert("attr_flags".into(), json!(flags));
    }
    Ok(Outcome::ok().with("stat", Value::Object(st)))
}

/// A shell fragment, after the probe (which sets `$p`), for what only `stat` reports: where a
/// link leads, blocks and device number, `file`'s mime type and `lsattr`'s flags.
fn extras_script(follow: bool, mime: bool, attrs: bool) -> String {
    let l = if follow { "-L " } else { "" };
    let mut s = String::from("if [ -e \"$p\" ] || [ -L \"$p\" ]; then\n");
    s += " if [ -L \"$p\" ]; then printf 'X-REAL %s\\n' \"$(realpath -m -- \"$p\" 2>/dev/null)\"; fi\n";
    s += &format!(" printf 'X-BLK '; stat {l}-c '%b|%o|%t|%T' -- \"$p\" 2>/dev/null || echo\n");
    if mime {
        s += " printf 'X-MIME '; file -b --mime-type --mime-encoding -- \"$p\" 2>/dev/null || echo\n";
    }
    if attrs {
        s += " printf 'X-ATTR '; lsattr -vd -- \"$p\" 2>/dev/null || echo\n";
    }
    s + "fi\n"
}

/// What [`extras_script`] printed.
#[derive(Default)]
struct Extras {
    realpath: Option<String>,
    blocks: Option<(u64, u64, u64)>,
    mime: Option<(String, String)>,
    attrs: Option<(String, String)>,
}

impl Extras {
    fn parse(out: &[u8]) -> Extras {
        let mut e = Extras::default();
        for line in String::from_utf8_lossy(out).lines() {
            if let Some(r) = line.strip_prefix("X-REAL ") {
                e.realpath = Some(r.to_string()).filter(|r| !r.is_empty());
            } else if let Some(b) = line.strip_prefix("X-BLK ") {
                let f: Vec<&str> = b.trim().split('|').collect();
                if let [blocks, blksize, major, minor] = f[..] {
                    let hex = |s: &str| u64::from_str_radix(s, 16).unwrap_or(0);
                    let (ma, mi) = (hex(major), hex(minor));
                    // Linux's makedev.
                    let rdev = ((ma & 0xffff_f000) << 32) | ((ma & 0xfff) << 8) | ((mi & 0xffff_ff00) << 12) | (mi & 0xff);
                    e.blocks = Some((blocks.parse().unwrap_or(0), blksize.parse().unwrap_or(0), rdev));
                }
            } else if let Some(m) = line.strip_prefix("X-MIME ") {
                if let Some((t, c)) = m.split_once(';') {
                    let c = c.split_once('=').map_or("", |x| x.1);
                    e.mime = Some((t.trim().to_string(), c.trim().to_string()));
                }
            } else if let Some(a) = line.strip_prefix("X-ATTR ") {
                let mut w = a.split_whitespace();
                if let (Some(v), Some(f)) = (w.next(), w.next()) {
                    e.attrs = Some((v.to_string(), f.replace('-', "")));
                }
            }
        }
        e
    }
}
