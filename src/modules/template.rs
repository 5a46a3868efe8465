//! `template`: render a Jinja template on the controller and put the result on the host.

use async_trait::async_trait;

use super::{args, fail, Arg, Args, ExecCheck, ModError, Module, Outcome, Plan, TaskCtx};

pub struct Template;

const ARGS: &[Arg] = &[
    Arg::str("src", "the template, searched in the role's templates/ and the playbook's folder").required(),
    Arg::str("dest", "where to put the result on the host").required(),
    Arg::bool("force", "replace a file whose content differs; false: only create it").default("true"),
    args::BACKUP,
    args::VALIDATE,
    Arg::str("newline_sequence", "line ending of the result: \\n, \\r\\n or \\r").default("\\n"),
    Arg::bool("trim_blocks", "remove the first newline after a block tag").default("true"),
    Arg::bool("lstrip_blocks", "strip spaces and tabs before a block tag on its line").default("false"),
    Arg::str("block_start_string", "what starts a block").default("{%"),
    Arg::str("block_end_string", "what ends a block").default("%}"),
    Arg::str("variable_start_string", "what starts a print statement").default("{{"),
    Arg::str("variable_end_string", "what ends a print statement").default("}}"),
    Arg::str("comment_start_string", "what starts a comment").default("{#"),
    Arg::str("comment_end_string", "what ends a comment").default("#}"),
    Arg::bool("follow", "accepted for compatibility"),
    Arg::str("output_encoding", "the encoding of the result (others than utf-8 by the host's iconv)").default("utf-8"),
];

#[async_trait]
impl Module for Template {
    fn supports_async(&self) -> bool {
        false
    }
    fn name(&self) -> &'static str {
        "template"
    }
    fn doc(&self) -> &'static str {
        include_str!("template.md")
    }
    fn args(&self) -> &'static [Arg] {
        ARGS
    }
    fn first_probe(&self, args: &Args, diff: bool) -> Option<super::ProbeKey> {
        let dest = super::common::literal_path(args, "dest")?;
        Some(super::ProbeKey { path: dest, sum: Some("sha1".into()), content: diff, real: false })
    }
    fn file_attrs(&self) -> bool {
        true
    }
    /// Render on the controller (and re-encode on the host, which changes nothing there), then
    /// decide as `copy` does.
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let src = args.req_str("src")?;
        let dest = super::common::req_path(ctx, args, "dest").await?;
        let Some(path) = ctx.find_local("templates", &src) else {
            return fail(ctx.not_found("templates", &src));
        };
        let text = std::fs::read_to_string(&path).map_err(|e| ModError::Fail(format!("cannot read {}: {e}", path.display())))?;
        let extra = crate::template::template_vars(&path, &src, Some(&dest), ctx.scope.raw("ansible_managed").is_some());
        let scope = ctx.scope.with_layer(extra);
        let mut syntax = crate::template::Syntax::default();
        let pair = |a: &str, b: &str, d: &(String, String)| -> Result<(String, String), ModError> {
            Ok((args.str(a)?.unwrap_or_else(|| d.0.clone()), args.str(b)?.unwrap_or_else(|| d.1.clone())))
        };
        syntax.block = pair("block_start_string", "block_end_string", &syntax.block)?;
        syntax.variable = pair("variable_start_string", "variable_end_string", &syntax.variable)?;
        syntax.comment = pair("comment_start_string", "comment_end_string", &syntax.comment)?;
        syntax.trim_blocks = args.bool("trim_blocks", true)?;
        syntax.lstrip_blocks = args.bool("lstrip_blocks", false)?;
        // Ansible's search path for included templates: each search path's templates/ and
        // itself, then the playbook's folder and the template's own.
        let mut roots: Vec<std::path::PathBuf> =
            crate::template::search_path_of(|n| ctx.scope.resolve(n).ok().flatten()).into_iter().map(Into::into).collect();
        roots.push(ctx.playbook_dir.clone());
        roots.extend(path.parent().map(|p| p.to_path_buf()));
        let search: Vec<std::path::PathBuf> = roots.iter().flat_map(|r| [r.join("templates"), r.clone()]).collect();
        let mut rendered = match crate::template::render_file_with(&text, &path.display().to_string(), &scope, &syntax, &search) {
            Ok(r) => r,
            Err(e) => {
                // The failure points at its line of the template file.
                let mut o = Outcome::failed(format!("{}: {}", crate::diag::relative(&path), e.message));
                o.origin = e.line.map(|l| crate::diag::Loc::new(&path, l as u32, 1));
                return Ok(Plan::done(o));
            }
        };
        match args.str("newline_sequence")?.as_deref() {
            Some("\\r\\n") | Some("\r\n") => rendered = rendered.replace('\n', "\r\n"),
            Some("\\r") | Some("\r") => rendered = rendered.replace('\n', "\r"),
            _ => {}
        }
        let force = args.bool("force", true)?;
        let mut bytes = rendered.into_bytes();
        if let Some(enc) = args.str("output_encoding")?.filter(|e| !e.is_empty() && !is_utf8(e)) {
            // The host's iconv knows the encodings Python does, by much the same names.
            let r = ctx.sh_in(format!("iconv -f UTF-8 -t {}", crate::pytext::shell_quote(&enc)), Some(bytes)).await?;
            bytes = r.ok_or_fail(&format!("cannot encode the result in {enc}"))?.stdout;
        }
        super::copy::put_plan(ctx, args, &dest, super::common::Source::Bytes(bytes), force, Some(&path), false).await
    }
    async fn apply(&self, ctx: &TaskCtx, _args: &Args, plan: Plan) -> Result<Outcome, ModError> {
        super::copy::apply_put(ctx, plan).await
    }
}

fn is_utf8(enc: &str) -> bool {
    matches!(enc.to_ascii_lowercase().replace(['-', '_'], "").as_str(), "utf8" | "u8" | "utf")
}
