//! `uri`: an HTTP request from the host itself (it may reach what the controller cannot), with
//! curl. A GET or HEAD is a look-up, made in check mode too; other methods are made only in a
//! real run. The body saved to `dest` replaces the file only when it differs.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::common::{probe, Attrs, Write};
use super::{fail, Arg, Args, Change, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct Uri;

/// curl's options `uri` and `get_url` share: headers, credentials, TLS checks, timeout.
pub(super) fn curl_opts(args: &Args, headers: &Map<String, Value>) -> Result<String, ModError> {
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

pub(super) fn headers(args: &Args) -> Result<Map<String, Value>, ModError> {
    Ok(match args.raw("headers") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(v) => return fail(format!("headers must be a mapping, got {v}")),
    })
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

/// A request that is not a look-up (POST, PUT, DELETE...): made by `apply` only.
struct Request;

/// Make the request and read the response; the body's write to `dest`, when it differs, is
/// the plan's one change.
async fn request(ctx: &TaskCtx, args: &Args, url: &str, method: &str) -> Result<Plan, ModError> {
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
        "safe" if !matches!(method, "GET" | "HEAD") => {}
        _ => opts += " -L",
    }
    if method == "HEAD" {
        opts += " -I";
    } else {
        opts += &format!(" -X {}", q(method));
    }
    if body.is_some() {
        opts += " --data-binary @-";
    }
    let script = format!(
        "command -v curl >/dev/null || {{ echo 'uri needs curl on the host' >&2; exit 5; }}\n\
         h=$(mktemp); b=$(mktemp); trap 'rm -f \"$h\" \"$b\"' EXIT\n\
         info=$(curl{opts} -D \"$h\" -o \"$b\" -w '%{{http_code}} %{{url_effective}} %{{num_redirects}}' {u}); rc=$?\n\
         echo \"INFO $info $rc\"; echo '#HEADERS'; cat \"$h\"; echo '#BODY'; cat \"$b\"\n",
        u = q(url)
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
        .with("url", info.get(1).copied().unwrap_or(url).to_string())
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
    if curl_rc != 0 && status <= 0 {
        out.failed = true;
        out.msg = Some(format!("Status code was -1 and not {ok_codes:?}: Request failed: {}", r.stderr_str().trim()));
    } else if !ok_codes.contains(&status) {
        out.failed = true;
        out.msg = Some(format!("Status code was {status} and not {ok_codes:?}: HTTP Error {status}"));
    } else {
        out.msg = Some(format!("OK ({} bytes)", content.len()));
    }
    let mut plan = Plan::done(out);
    if let Some(d) = args.str("dest")? {
        if (200..300).contains(&status) {
            let p = probe(ctx, &d, None, true).await?;
            if p.content.as_deref() != Some(content.as_bytes()) {
                plan.change(Change::Write(Box::new(Write::new(d, content.as_bytes().to_vec(), Attrs::default(), p.lstat))));
            }
        }
    }
    Ok(plan)
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
            Arg::str("method", "GET, POST, PUT, PATCH, DELETE, HEAD, ...").default("GET"),
            Arg::raw("body", "the request's body"),
            Arg::str("body_format", "raw, json or form-urlencoded").default("raw").choices(&[
                "raw",
                "json",
                "form-urlencoded",
                "form-multipart",
            ]),
            Arg::raw("headers", "HTTP headers, as a mapping"),
            Arg::raw("status_code", "the status (or list of them) that counts as success").default("200"),
            Arg::bool("return_content", "return the body in `content`").default("false"),
            Arg::str("dest", "save the body to this file"),
            Arg::str("creates", "skip when this path exists"),
            Arg::str("removes", "skip unless this path exists"),
            Arg::str("follow_redirects", "safe (GET and HEAD only), all, none, urllib2 or yes/no").default("safe"),
            Arg::int("timeout", "seconds for the request").default("30"),
            Arg::bool("validate_certs", "check the server's certificate").default("true"),
            Arg::str("url_username", "user for HTTP authentication").aliases(&["user"]),
            Arg::str("url_password", "password for HTTP authentication").aliases(&["password"]),
            Arg::bool("force_basic_auth", "send basic authentication without waiting for a challenge").default("false"),
            Arg::bool("use_proxy", "accepted; curl follows the host's proxy variables"),
        ];
        A
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let url = args.req_str("url")?;
        let method = args.str("method")?.unwrap_or_else(|| "GET".into()).to_uppercase();
        for (k, want) in [("creates", true), ("removes", false)] {
            if let Some(p) = args.str(k)? {
                let exists = ctx.sh(format!("[ -e {} ]", q(&p))).await?.rc == 0;
                if exists == want {
                    let m = if want { format!("{p} exists, skipping") } else { format!("{p} does not exist, skipping") };
                    return Ok(Plan::done(Outcome::ok().msg(m).with("skipped", true)));
                }
            }
        }
        if method != "GET" && method != "HEAD" {
            let outcome = Outcome { skipped: true, ..Outcome::ok() }.msg("check mode: a non-GET request is not made");
            return Ok(Plan { outcome, changes: vec![Change::own(Request)] });
        }
        request(ctx, args, &url, &method).await
    }
    async fn apply(&self, ctx: &TaskCtx, args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        if plan.own::<Request>().next().is_none() {
            return plan.apply_all(ctx).await;
        }
        let method = args.str("method")?.unwrap_or_else(|| "GET".into()).to_uppercase();
        request(ctx, args, &args.req_str("url")?, &method).await?.apply_all(ctx).await
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
    use super::super::execute;
    use super::super::testing::{args, probe_reply, Scripted, PROBE, WRITE};
    use super::*;

    #[test]
    fn headers_and_forms() {
        let h = header_fields(
            "HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\nHTTP/1.0 200 OK\r\nContent-Type: application/json\r\nX-App-Version: 2\r\n\r\n",
        );
        assert_eq!(h["content_type"], json!("application/json"));
        assert_eq!(h["x_app_version"], json!("2"));
        assert!(!h.contains_key("location"));
        assert_eq!(urlencode("a b&c"), "a+b%26c");
    }

    const RESPONSE: &[u8] =
        b"INFO 200 http://h/x 0 0\n#HEADERS\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n#BODY\n{\"a\": 1}";

    #[tokio::test]
    async fn a_get_is_made_in_check_mode_and_dest_written_only_when_it_differs() {
        let host = Scripted::new().on("info=$(curl", 0, RESPONSE).on(PROBE, 0, &probe_reply(Some((0o644, b"old"))));
        let a = args(&Uri, "{url: 'http://h/x', dest: /tmp/x.json}");
        let out = execute(&Uri, &host.ctx(true, false), &a).await.unwrap();
        assert!(out.changed && !out.failed && out.data["json"] == json!({"a": 1}));
        assert_eq!(host.commands().len(), 2, "the request and the probe of dest");
        let host = host.on(WRITE, 0, b"");
        execute(&Uri, &host.ctx(false, false), &a).await.unwrap();
        assert_eq!(host.stdin_of(WRITE).as_deref(), Some(&b"{\"a\": 1}"[..]));
        let host = Scripted::new().on("info=$(curl", 0, RESPONSE).on(PROBE, 0, &probe_reply(Some((0o644, b"{\"a\": 1}"))));
        let out = execute(&Uri, &host.ctx(false, false), &a).await.unwrap();
        assert!(!out.changed && host.commands().len() == 2);
    }

    #[tokio::test]
    async fn a_post_is_skipped_in_check_mode_and_made_once_otherwise() {
        let host = Scripted::new().on("info=$(curl", 0, RESPONSE);
        let a = args(&Uri, "{url: 'http://h/x', method: POST, body: {k: v}, body_format: json, status_code: [200, 201]}");
        let out = execute(&Uri, &host.ctx(true, false), &a).await.unwrap();
        assert!(out.skipped && host.commands().is_empty());
        let out = execute(&Uri, &host.ctx(false, false), &a).await.unwrap();
        assert!(!out.skipped && !out.failed && out.data["status"] == 200);
        assert_eq!(host.commands().len(), 1);
        assert!(host.commands()[0].contains("-X POST --data-binary @-"));
        assert_eq!(host.stdin_of("info=$(curl").as_deref(), Some(&b"{\"k\":\"v\"}"[..]));
    }
}
