//! `template`: render a Jinja template on the controller and put the result on the host.

use async_trait::async_trait;

use super::{fail, Arg, Args, ModError, Module, Outcome, TaskCtx};

pub struct Template;

const ARGS: &[Arg] = &[
    Arg::str("src", "the template, searched in the role's templates/ and the playbook's folder").required(),
    Arg::str("dest", "where to put the result on the host").required(),
    Arg::bool("force", "replace a file whose content differs (default yes)"),
    Arg::bool("backup", "keep a timestamped copy of the old file"),
    Arg::str("validate", "a command to check the new file before it is put in place; %s is its path"),
    Arg::str("newline_sequence", "line ending of the result: \\n (default), \\r\\n or \\r"),
    Arg::bool("trim_blocks", "accepted; steward always trims blocks as Ansible's default does"),
    Arg::bool("lstrip_blocks", "accepted for compatibility"),
    Arg::bool("follow", "follow links at dest"),
    Arg::str("output_encoding", "accepted for compatibility (utf-8)"),
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
        "Render a Jinja template with the host's variables and put it on the host, atomically,\nonly when the result differs.\n\nexample:\n  - template:\n      src: app.conf.j2\n      dest: /etc/app.conf\n      mode: \"0644\"\n    notify: restart app\n"
    }
    fn args(&self) -> &'static [Arg] {
        ARGS
    }
    fn file_attrs(&self) -> bool {
        true
    }
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let src = args.req_str("src")?;
        let dest = super::common::req_path(ctx, args, "dest").await?;
        let Some(path) = ctx.find_local("templates", &src) else {
            return fail(format!(
                "Could not find or access '{src}' (searched the role's templates/, the playbook's templates/ and folder)"
            ));
        };
        let text = std::fs::read_to_string(&path).map_err(|e| ModError::Fail(format!("cannot read {}: {e}", path.display())))?;
        let extra = crate::template::template_vars(&path, &src, Some(&dest), ctx.scope.raw("ansible_managed").is_some());
        let scope = ctx.scope.with_layer(extra);
        let mut rendered = crate::template::render_file(&text, &path.display().to_string(), &scope)
            .map_err(|e| ModError::Fail(format!("{}: {}", crate::diag::relative(&path), e.message)))?;
        match args.str("newline_sequence")?.as_deref() {
            Some("\\r\\n") | Some("\r\n") => rendered = rendered.replace('\n', "\r\n"),
            Some("\\r") | Some("\r") => rendered = rendered.replace('\n', "\r"),
            _ => {}
        }
        let force = args.bool("force", true)?;
        super::copy::put(ctx, args, &dest, super::common::Source::Bytes(rendered.into_bytes()), force, Some(&path)).await
    }
}
