//! `stat`: facts about a path, registered as `result.stat`.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::common::probe;
use super::{Arg, Args, ModError, Module, Outcome, TaskCtx};

pub struct Stat;

#[async_trait]
impl Module for Stat {
    fn name(&self) -> &'static str {
        "stat"
    }
    fn doc(&self) -> &'static str {
        "Report on a path: exists, isdir, isreg, islnk, mode, owner, size, checksum, ...\nNever changes the host.\n\nexample:\n  - stat:\n      path: /etc/app.conf\n    register: conf\n  - debug: msg=\"present\"\n    when: conf.stat.exists\n"
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("path", "the path to look at").aliases(&["dest", "name"]).required(),
            Arg::bool("follow", "follow a link to what it points at"),
            Arg::bool("get_checksum", "compute the file's checksum (default yes)"),
            Arg::str("checksum_algorithm", "md5, sha1 (default), sha224, sha256, sha384 or sha512")
                .aliases(&["checksum", "checksum_algo"])
                .choices(&["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]),
            Arg::bool("get_mime", "accepted; mime types are not reported"),
            Arg::bool("get_attributes", "accepted; file attributes are not reported"),
            Arg::bool("get_md5", "accepted for compatibility"),
        ];
        A
    }
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let path = args.req_str("path")?;
        let follow = args.bool("follow", false)?;
        let algo = args.str("checksum_algorithm")?.unwrap_or_else(|| "sha1".into());
        let want_sum = args.bool("get_checksum", true)?;
        let p = probe(ctx, &path, want_sum.then_some(algo.as_str()), false).await?;
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
            st.insert("lnk_source".into(), json!(p.link_target));
            st.insert("lnk_target".into(), json!(p.link_target));
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
        Ok(Outcome::ok().with("stat", Value::Object(st)))
    }
}
