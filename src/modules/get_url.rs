//! `get_url`: a download from the host itself (it may reach what the controller cannot), with
//! curl or wget. The file goes to a temporary name beside its destination and replaces it only
//! when its content differs.

use async_trait::async_trait;

use super::common::{attr_changes, parse_probe, probe, stat_after, Attrs};
use super::uri::{curl_opts, headers};
use super::{fail, Arg, Args, Change, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct GetUrl;

/// `sha256:abc...` as (algorithm, hex digest).
fn parse_checksum(s: &str) -> Result<(String, String), ModError> {
    let (algo, sum) = s
        .split_once(':')
        .ok_or_else(|| ModError::Fail(format!("The checksum parameter has to be in format <algorithm>:<checksum>, got {s}")))?;
    let algo = algo.to_lowercase();
    if !["md5", "sha1", "sha224", "sha256", "sha384", "sha512"].contains(&algo.as_str()) {
        return fail(format!("Unsupported hash algorithm: {algo}"));
    }
    Ok((algo, sum.trim().to_lowercase()))
}

/// The download, to this destination (a folder given as `dest` resolved to the file in it).
struct Download {
    dest: String,
    existed: Option<super::common::Stat>,
}

#[async_trait]
impl Module for GetUrl {
    fn name(&self) -> &'static str {
        "get_url"
    }
    fn doc(&self) -> &'static str {
        include_str!("get_url.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("url", "what to download").required(),
            Arg::str("dest", "the file, or a folder to put it in (named after the URL)").required(),
            Arg::str("checksum", "ALGORITHM:DIGEST the file must have (sha256:...)"),
            Arg::bool("force", "download even when the file exists, replacing it if it differs").default("false"),
            Arg::raw("headers", "HTTP headers, as a mapping"),
            Arg::str("url_username", "user for HTTP authentication").aliases(&["username"]),
            Arg::str("url_password", "password for HTTP authentication").aliases(&["password"]),
            Arg::bool("force_basic_auth", "send basic authentication without waiting for a challenge").default("false"),
            Arg::bool("validate_certs", "check the server's certificate").default("true"),
            Arg::int("timeout", "seconds for the request").default("10"),
            Arg::bool("backup", "keep a copy of the file it replaces").default("false"),
            Arg::str("tmp_dest", "accepted; the download goes beside its destination"),
            Arg::bool("use_proxy", "accepted; curl follows the host's proxy variables"),
            Arg::bool("decompress", "accepted for compatibility"),
        ];
        A
    }
    fn file_attrs(&self) -> bool {
        true
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let url = args.req_str("url")?;
        let mut dest = args.req_str("dest")?;
        let force = args.bool("force", false)?;
        let checksum = args.str("checksum")?.map(|c| parse_checksum(&c)).transpose()?;
        let attrs = Attrs::from_args(args)?;
        let algo = checksum.as_ref().map(|c| c.0.clone()).unwrap_or_else(|| "sha1".into());
        let mut p = probe(ctx, &dest, Some(&algo), false).await?;
        // Into a folder: named after the URL's last part.
        if p.effective(true).is_some_and(|s| s.is_dir()) {
            let name = url.split('?').next().unwrap_or(&url).trim_end_matches('/').rsplit('/').next().unwrap_or("index.html").to_string();
            dest = format!("{}/{}", dest.trim_end_matches('/'), if name.is_empty() { "index.html" } else { &name });
            p = probe(ctx, &dest, Some(&algo), false).await?;
        }
        let out = Outcome::ok().with("url", url.clone()).with("dest", dest.clone());
        if let Some(st) = &p.lstat {
            let matches = match (&checksum, &p.checksum) {
                (Some((_, want)), Some(have)) => want == have,
                (Some(_), None) => false,
                (None, _) => !force,
            };
            if matches {
                // Nothing to fetch; owner, group and mode may still need setting.
                let mut plan =
                    Plan::done(out.with("msg", "file already exists").with("checksum_dest", p.checksum.clone().unwrap_or_default()));
                attr_changes(&dest, Some(st), &attrs, false, true)?.plan_into(&dest, &mut plan);
                return Ok(plan);
            }
        }
        let mut plan = Plan::done(out.msg("file would be downloaded"));
        plan.change(Change::own(Download { dest, existed: p.lstat }));
        Ok(plan)
    }
    async fn apply(&self, ctx: &TaskCtx, args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        let Some(Download { dest, existed }) = plan.own::<Download>().next() else {
            return plan.apply_all(ctx).await;
        };
        let (dest, url) = (dest.clone(), args.req_str("url")?);
        let checksum = args.str("checksum")?.map(|c| parse_checksum(&c)).transpose()?;
        let algo = checksum.as_ref().map(|c| c.0.clone()).unwrap_or_else(|| "sha1".into());
        let dir = q(&super::common::parent_dir(&dest));
        let d = q(&dest);
        let curl = curl_opts(args, &headers(args)?)?;
        let sum_cmd = format!("{algo}sum");
        let script = format!(
            "set -e\nt=$(mktemp {dir}/.steward.XXXXXXXX)\ntrap 'rm -f \"$t\"' EXIT\n\
             if command -v curl >/dev/null; then code=$(curl{curl} -L -o \"$t\" -w '%{{http_code}}' {u}) || {{ echo \"STATUS $code\"; exit 4; }}\n\
             elif command -v wget >/dev/null; then wget -q -O \"$t\" {u} || exit 4; code=200\nelse echo 'neither curl nor wget is installed on the host' >&2; exit 5; fi\n\
             echo \"STATUS $code\"; case \"$code\" in 2*|000) ;; *) exit 4;; esac\n\
             new=$({sum_cmd} \"$t\" | cut -d' ' -f1); echo \"SUM $new\"; echo \"SIZE $(stat -c %s \"$t\")\"\n\
             if [ -f {d} ] && [ \"$({sum_cmd} {d} | cut -d' ' -f1)\" = \"$new\" ]; then echo SAME; exit 0; fi\n\
             {want}\
             {backup}\
             if [ -e {d} ]; then chmod --reference={d} \"$t\"; chown --reference={d} \"$t\" 2>/dev/null || true; else chmod 0644 \"$t\"; fi\n\
             mv -f \"$t\" {d}\ntrap - EXIT\necho WRITTEN\n{after}",
            u = q(&url),
            want = match &checksum {
                Some((_, w)) => format!("[ \"$new\" = {} ] || {{ echo \"BADSUM $new\"; exit 6; }}\n", q(w)),
                None => String::new(),
            },
            backup = if args.bool("backup", false)? { format!("[ -f {d} ] && cp -p {d} {d}.$(date +%Y-%m-%d@%H:%M:%S)~\n") } else { String::new() },
            after = stat_after(&dest),
        );
        let r = ctx.sh(script).await?;
        let text = r.stdout_str();
        let field = |k: &str| text.lines().find_map(|l| l.strip_prefix(k)).map(|s| s.trim().to_string());
        let status: i64 = field("STATUS ").and_then(|s| s.parse().ok()).unwrap_or(-1);
        let mut out = Outcome::ok().with("url", url.clone()).with("dest", dest.clone()).with("status_code", status);
        match r.rc {
            0 => {}
            4 => {
                return Ok(Outcome::failed(format!("Request failed: HTTP Error {status}: {}", r.stderr_str().trim()))
                    .with("status_code", status)
                    .with("url", url)
                    .with("dest", dest))
            }
            6 => {
                return fail(format!(
                    "The checksum for {dest} did not match {}; it was {}.",
                    checksum.map(|c| c.1).unwrap_or_default(),
                    field("BADSUM ").unwrap_or_default()
                ))
            }
            _ => return fail(format!("download of {url} failed: {}", r.stderr_str().trim())),
        }
        out = out.with("checksum_src", field("SUM ").unwrap_or_default());
        let size: i64 = field("SIZE ").and_then(|s| s.parse().ok()).unwrap_or(0);
        out = out.with("size", size);
        out.msg = Some(format!("OK ({size} bytes)"));
        let now = if text.contains("WRITTEN") {
            out.changed = true;
            let stat_part = text.split_once("WRITTEN\n").map(|x| x.1).unwrap_or("");
            parse_probe(stat_part.as_bytes()).lstat
        } else {
            existed.clone()
        };
        // Then owner, group and mode, as asked.
        let mut rest = Plan::done(out);
        attr_changes(&dest, now.as_ref(), &Attrs::from_args(args)?, false, true)?.plan_into(&dest, &mut rest);
        rest.apply_all(ctx).await
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{args, probe_reply, Scripted, PROBE};
    use super::super::{execute, Change, Module};
    use super::*;

    #[test]
    fn checksums() {
        assert_eq!(parse_checksum("SHA256:AB").unwrap(), ("sha256".into(), "ab".into()));
        assert!(parse_checksum("crc:1").is_err());
        assert!(parse_checksum("abc").is_err());
    }

    /// A probe's answer for a file with this content's sha1 (as the probe prints it).
    fn file_with_sum(sum: &str) -> Vec<u8> {
        let mut r = probe_reply(Some((0o644, b"")));
        let at = r.windows(8).position(|w| w == b"CONTENT\n").unwrap();
        r.truncate(at);
        r.extend_from_slice(format!("SUM {sum}\n").as_bytes());
        r
    }

    #[tokio::test]
    async fn a_file_already_there_is_not_fetched_again() {
        let host = Scripted::new().on(PROBE, 0, &file_with_sum("abc"));
        let p = GetUrl.plan(&host.ctx(false, false), &args(&GetUrl, "{url: 'http://h/f.tgz', dest: /srv/f.tgz}")).await.unwrap();
        assert!(!p.outcome.changed && p.changes.is_empty());
        assert_eq!(p.outcome.data["msg"], "file already exists");
        // Only the mode differs: a chmod, no download.
        let p =
            GetUrl.plan(&host.ctx(false, false), &args(&GetUrl, "{url: 'http://h/f.tgz', dest: /srv/f.tgz, mode: '0600'}")).await.unwrap();
        let [Change::Sh { script, .. }] = p.changes.as_slice() else { panic!("one chmod expected") };
        assert_eq!(script, "chmod 0600 -- /srv/f.tgz");
        // A checksum that differs, or force, fetches.
        let a = args(&GetUrl, "{url: 'http://h/f.tgz', dest: /srv/f.tgz, checksum: 'sha1:def'}");
        let p = GetUrl.plan(&host.ctx(false, false), &a).await.unwrap();
        assert!(p.outcome.changed && p.own::<Download>().next().is_some_and(|d| d.dest == "/srv/f.tgz"));
        let p =
            GetUrl.plan(&host.ctx(false, false), &args(&GetUrl, "{url: 'http://h/f.tgz', dest: /srv/f.tgz, force: true}")).await.unwrap();
        assert!(p.outcome.changed);
    }

    #[tokio::test]
    async fn into_a_folder_check_mode_asks_only_and_a_real_run_downloads() {
        let dir = b"PDIR\nSTAT directory|755|0|0|root|root|4096|1700000000|1700000000|1700000000|42|2|2049\nACCESS rwx\n";
        let host = Scripted::new().once(PROBE, 0, dir).on(PROBE, 0, &probe_reply(None));
        let a = args(&GetUrl, "{url: 'http://h/pkg/f.tgz?x=1', dest: /srv}");
        let out = execute(&GetUrl, &host.ctx(true, false), &a).await.unwrap();
        assert!(out.changed && out.msg.as_deref() == Some("file would be downloaded"));
        assert_eq!(out.data["dest"], "/srv/f.tgz");
        assert_eq!(host.commands().len(), 2, "two probes, nothing else");
        let host = Scripted::new().once(PROBE, 0, dir).on("code=$(curl", 0, b"STATUS 200\nSUM 123\nSIZE 9\nWRITTEN\n").on(
            PROBE,
            0,
            &probe_reply(None),
        );
        let out = execute(&GetUrl, &host.ctx(false, false), &a).await.unwrap();
        assert!(out.changed && out.msg.as_deref() == Some("OK (9 bytes)"));
        assert_eq!((out.data["checksum_src"].as_str(), out.data["status_code"].as_i64()), (Some("123"), Some(200)));
        assert!(host.commands()[2].contains("mv -f \"$t\" /srv/f.tgz"));
    }
}
