//! `get_url` and `uri`: HTTP from the host itself (it may reach what the controller cannot),
//! with curl (or wget for plain downloads). A download goes to a temporary file beside its
//! destination and replaces it only when its content differs.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::common::{attr_changes, parse_probe, stat_after, Attrs};
use super::{fail, Arg, Args, ModError, Module, Outcome, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct GetUrl;
pub struct Uri;

/// curl's options shared by both modules: headers, credentials, TLS checks, timeout.
fn curl_opts(args: &Args, headers: &Map<String, Value>) -> Result<String, ModError> {
    let mut o = String::from(" -sS");
    if !args.bool("validate_certs", true)? {
        o += " -k";
    }
    o += &format!(" --max-time {}", args.int("timeout")?.unwrap_or(10));
    for (k, v) in headers {
        o += &format!(" -H {}", q(&format!("{k}: {}", crate::pytext::to_text(v))));
    }
    if let Some(u) = args.str("url_username")? {
        let p = args.str("url_password")?.unwrap_or_default();
        o += &format!(" -u {}", q(&format!("{u}:{p}")));
        if args.bool("force_basic_auth", false)? {
            o += " --basic";
        }
    }
    Ok(o)
}

fn headers(args: &Args) -> Result<Map<String, Value>, ModError> {
    Ok(match args.raw("headers") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(v) => return fail(format!("headers must be a mapping, got {v}")),
    })
}

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
            Arg::bool("force", "download even when the file exists, replacing it if it differs"),
            Arg::raw("headers", "HTTP headers, as a mapping"),
            Arg::str("url_username", "user for HTTP authentication").aliases(&["username"]),
            Arg::str("url_password", "password for HTTP authentication").aliases(&["password"]),
            Arg::bool("force_basic_auth", "send basic authentication without waiting for a challenge"),
            Arg::bool("validate_certs", "check the server's certificate (default yes)"),
            Arg::int("timeout", "seconds for the request (default 10)"),
            Arg::bool("backup", "keep a copy of the file it replaces"),
            Arg::str("tmp_dest", "accepted; the download goes beside its destination"),
            Arg::bool("use_proxy", "accepted; curl follows the host's proxy variables"),
            Arg::bool("decompress", "accepted for compatibility"),
        ];
        A
    }
    fn file_attrs(&self) -> bool {
        true
    }
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let url = args.req_str("url")?;
        let mut dest = args.req_str("dest")?;
        let force = args.bool("force", false)?;
        let checksum = args.str("checksum")?.map(|c| parse_checksum(&c)).transpose()?;
        let attrs = Attrs::from_args(args)?;
        // Into a folder: named after the URL's last part.
        if ctx.sh(format!("[ -d {} ]", q(&dest))).await?.rc == 0 {
            let name = url.split('?').next().unwrap_or(&url).trim_end_matches('/').rsplit('/').next().unwrap_or("index.html").to_string();
            dest = format!("{}/{}", dest.trim_end_matches('/'), if name.is_empty() { "index.html" } else { &name });
        }
        let algo = checksum.as_ref().map(|c| c.0.clone()).unwrap_or_else(|| "sha1".into());
        let p = super::common::probe(ctx, &dest, Some(&algo), false).await?;
        let mut out = Outcome::ok().with("url", url.clone()).with("dest", dest.clone());
        if let Some(st) = &p.lstat {
            let matches = match (&checksum, &p.checksum) {
                (Some((_, want)), Some(have)) => want == have,
                (Some(_), None) => false,
                (None, _) => !force,
            };
            if matches {
                // Nothing to fetch; owner, group and mode may still need setting.
                attr_changes(&dest, Some(st), &attrs, false, true)?.apply(ctx, &dest, &mut out).await?;
                return Ok(out.with("msg", "file already exists").with("checksum_dest", p.checksum.clone().unwrap_or_default()));
            }
        }
        if ctx.check {
            out.changed = true;
            return Ok(out.msg("file would be downloaded"));
        }
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
        out = out.with("status_code", status);
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
            p.lstat.clone()
        };
        attr_changes(&dest, now.as_ref(), &attrs, false, true)?.apply(ctx, &dest, &mut out).await?;
        Ok(out)
    }
}

/// A response's headers as Ansible's `uri` returns them: lower case, `-` as `_`.
fn header_fields(raw: &str) -> Map<String, Value> {
    let mut m = Map::new();
    // After redirects curl writes each response's headers; the last block is the final one.
    let last = raw.split("\r\n\r\n").filter(|b| b.trim_start().starts_with("HTTP/")).last().unwrap_or(raw);
    for line in last.lines().skip(1) {
        if let Some((k, v)) = line.split_once(':') {
            m.insert(k.trim().to_lowercase().replace('-', "_"), json!(v.trim()));
        }
    }
    m
}

#[async_trait]
impl Module for Uri {
    fn name(&self) -> &'static str {
        "uri"
    }
    fn doc(&self) -> &'static str {
        include_str!("uri.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("url", "the address").required(),
            Arg::str("method", "GET (default), POST, PUT, PATCH, DELETE, HEAD, ..."),
            Arg::raw("body", "the request's body"),
            Arg::str("body_format", "raw (default), json or form-urlencoded").choices(&[
                "raw",
                "json",
                "form-urlencoded",
                "form-multipart",
            ]),
            Arg::raw("headers", "HTTP headers, as a mapping"),
            Arg::raw("status_code", "the status (or list of them) that counts as success (default 200)"),
            Arg::bool("return_content", "return the body in `content`"),
            Arg::str("dest", "save the body to this file"),
            Arg::str("creates", "skip when this path exists"),
            Arg::str("removes", "skip unless this path exists"),
            Arg::str("follow_redirects", "safe (default), all, none, urllib2 or yes/no"),
            Arg::int("timeout", "seconds for the request (default 30)"),
            Arg::bool("validate_certs", "check the server's certificate (default yes)"),
            Arg::str("url_username", "user for HTTP authentication").aliases(&["user"]),
            Arg::str("url_password", "password for HTTP authentication").aliases(&["password"]),
            Arg::bool("force_basic_auth", "send basic authentication without waiting for a challenge"),
            Arg::bool("use_proxy", "accepted; curl follows the host's proxy variables"),
        ];
        A
    }
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let url = args.req_str("url")?;
        let method = args.str("method")?.unwrap_or_else(|| "GET".into()).to_uppercase();
        for (k, want) in [("creates", true), ("removes", false)] {
            if let Some(p) = args.str(k)? {
                let exists = ctx.sh(format!("[ -e {} ]", q(&p))).await?.rc == 0;
                if exists == want {
                    let m = if want { format!("{p} exists, skipping") } else { format!("{p} does not exist, skipping") };
                    return Ok(Outcome::ok().msg(m).with("skipped", true));
                }
            }
        }
        if ctx.check && method != "GET" && method != "HEAD" {
            return Ok(Outcome { skipped: true, ..Outcome::ok() }.msg("check mode: a non-GET request is not made"));
        }
        let mut hdrs = headers(args)?;
        let body = match (args.raw("body"), args.str("body_format")?.as_deref().unwrap_or("raw")) {
            (None, _) => None,
            (Some(b), "json") => {
                if !hdrs.keys().any(|k| k.eq_ignore_ascii_case("content-type")) {
                    hdrs.insert("Content-Type".into(), json!("application/json"));
                }
                Some(match b {
                    Value::String(s) => s.clone(),
                    v => serde_json::to_string(v).unwrap_or_default(),
                })
            }
            (Some(b), "form-urlencoded") => {
                if !hdrs.keys().any(|k| k.eq_ignore_ascii_case("content-type")) {
                    hdrs.insert("Content-Type".into(), json!("application/x-www-form-urlencoded"));
                }
                Some(match b {
                    Value::Object(m) => m
                        .iter()
                        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(&crate::pytext::to_text(v))))
                        .collect::<Vec<_>>()
                        .join("&"),
                    v => crate::pytext::to_text(v),
                })
            }
            (Some(b), _) => Some(crate::pytext::to_text(b)),
        };
        let mut opts = curl_opts(args, &hdrs)?.replace(" --max-time 10", &format!(" --max-time {}", args.int("timeout")?.unwrap_or(30)));
        match args.str("follow_redirects")?.as_deref().unwrap_or("safe") {
            "none" | "no" | "false" => {}
            "safe" if !matches!(method.as_str(), "GET" | "HEAD") => {}
            _ => opts += " -L",
        }
        if method == "HEAD" {
            opts += " -I";
        } else {
            opts += &format!(" -X {}", q(&method));
        }
        if body.is_some() {
            opts += " --data-binary @-";
        }
        let script = format!(
            "command -v curl >/dev/null || {{ echo 'uri needs curl on the host' >&2; exit 5; }}\n\
             h=$(mktemp); b=$(mktemp); trap 'rm -f \"$h\" \"$b\"' EXIT\n\
             info=$(curl{opts} -D \"$h\" -o \"$b\" -w '%{{http_code}} %{{url_effective}} %{{num_redirects}}' {u}); rc=$?\n\
             echo \"INFO $info $rc\"; echo '#HEADERS'; cat \"$h\"; echo '#BODY'; cat \"$b\"\n",
            u = q(&url)
        );
        let r = ctx.sh_in(script, body.map(String::into_bytes)).await?;
        if r.rc == 5 {
            return fail(r.stderr_str().trim().to_string());
        }
        let text = r.stdout_str();
        let (info, rest) = text.split_once("#HEADERS\n").unwrap_or((&text, ""));
        let (raw_headers, content) = rest.split_once("#BODY\n").unwrap_or((rest, ""));
        let info: Vec<&str> = info.trim().strip_prefix("INFO ").unwrap_or("").split_whitespace().collect();
        let status: i64 = info.first().and_then(|s| s.parse().ok()).unwrap_or(-1);
        let curl_rc: i64 = info.last().and_then(|s| s.parse().ok()).unwrap_or(-1);
        let mut out = Outcome::ok();
        out.data.extend(header_fields(raw_headers));
        out = out
            .with("status", status)
            .with("url", info.get(1).copied().unwrap_or(url.as_str()).to_string())
            .with("redirected", info.get(2).is_some_and(|n| *n != "0"))
            .with("elapsed", 0)
            .with("changed", false);
        out.data.remove("changed");
        let ok_codes: Vec<i64> = match args.raw("status_code") {
            None => vec![200],
            Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))).collect(),
            Some(v) => crate::pytext::to_text(v).split(',').filter_map(|s| s.trim().parse().ok()).collect(),
        };
        let is_json = out.data.get("content_type").and_then(Value::as_str).is_some_and(|c| c.contains("json"));
        if is_json {
            if let Ok(j) = serde_json::from_str::<Value>(content) {
                out.data.insert("json".into(), j);
            }
        }
        if args.bool("return_content", false)? {
            out.data.insert("content".into(), json!(content));
        }
        if let Some(d) = args.str("dest")? {
            if (200..300).contains(&status) && !ctx.check {
                let p = super::common::probe(ctx, &d, None, true).await?;
                if p.content.as_deref() != Some(content.as_bytes()) {
                    super::common::write_file(
                        ctx,
                        &d,
                        super::common::Source::Bytes(content.as_bytes().to_vec()),
                        &Attrs::default(),
                        p.lstat.as_ref(),
                    )
                    .await?;
                    out.changed = true;
                }
            }
        }
        if curl_rc != 0 && status <= 0 {
            out.failed = true;
            out.msg = Some(format!("Status code was -1 and not {ok_codes:?}: Request failed: {}", r.stderr_str().trim()));
        } else if !ok_codes.contains(&status) {
            out.failed = true;
            out.msg = Some(format!("Status code was {status} and not {ok_codes:?}: HTTP Error {status}"));
        } else {
            out.msg = Some(format!("OK ({} bytes)", content.len()));
        }
        Ok(out)
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_checksums() {
        let h = header_fields(
            "HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\nHTTP/1.0 200 OK\r\nContent-Type: application/json\r\nX-App-Version: 2\r\n\r\n",
        );
        assert_eq!(h["content_type"], json!("application/json"));
        assert_eq!(h["x_app_version"], json!("2"));
        assert!(!h.contains_key("location"));
        assert_eq!(parse_checksum("SHA256:AB").unwrap(), ("sha256".into(), "ab".into()));
        assert!(parse_checksum("crc:1").is_err());
        assert_eq!(urlencode("a b&c"), "a+b%26c");
    }
}
