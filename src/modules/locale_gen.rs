//! `locale_gen` (community.general): locales enabled in /etc/locale.gen and built with
//! `locale-gen`, as on Debian and Ubuntu.

use async_trait::async_trait;

use super::common::{parse_probe, probe_script, Attrs, Write};
use super::{fail, Arg, Args, Change, ModError, Module, Outcome, Plan, TaskCtx};

pub struct LocaleGen;

/// `locale -a` prints `en_US.utf8`; the names people write say `en_US.UTF-8`.
fn fix_case(name: &str) -> String {
    const NORM: &[(&str, &str)] = &[
        (".utf8", ".UTF-8"),
        (".eucjp", ".EUC-JP"),
        (".iso885915", ".ISO-8859-15"),
        (".cp1251", ".CP1251"),
        (".koi8r", ".KOI8-R"),
        (".armscii8", ".ARMSCII-8"),
        (".euckr", ".EUC-KR"),
        (".gbk", ".GBK"),
        (".gb18030", ".GB18030"),
        (".euctw", ".EUC-TW"),
    ];
    NORM.iter().fold(name.to_string(), |n, (s, r)| n.replace(s, r))
}

/// /etc/locale.gen with the named locales' lines enabled (or commented out).
fn set_lines(text: &str, names: &[String], enable: bool) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let mut l = line.to_string();
        for n in names {
            let body = l.strip_prefix('#').unwrap_or(&l).trim_start();
            if let Some(rest) = body.strip_prefix(&format!("{n} ")) {
                if !rest.trim().is_empty() {
                    l = if enable { format!("{n} {rest}") } else { format!("# {n} {rest}") };
                }
            }
        }
        out += &l;
    }
    out
}

fn available(text: &str, name: &str) -> bool {
    text.lines().any(|l| {
        let body = l.trim_start().trim_start_matches('#').trim_start();
        let mut parts = body.split_whitespace();
        parts.next() == Some(name) && parts.next().is_some() && parts.next().is_none()
    })
}

#[async_trait]
impl Module for LocaleGen {
    fn name(&self) -> &'static str {
        "locale_gen"
    }
    fn collection(&self) -> &'static str {
        "community.general"
    }
    fn doc(&self) -> &'static str {
        include_str!("locale_gen.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::list("name", "the locales with their encoding (de_CH.UTF-8); a list or one string").required(),
            Arg::str("state", "present or absent").choices(&["present", "absent"]).default("present"),
        ];
        A
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let names = args.str_list("name")?;
        let present = args.str("state")?.as_deref() != Some("absent");
        let r = ctx
            .sh(format!(
                "locale -a; echo '#SUPPORTED'; cat /usr/share/i18n/SUPPORTED 2>/dev/null; echo '#GEN'\n{}",
                probe_script("/etc/locale.gen", None, true)
            ))
            .await?;
        let text = r.stdout_str();
        let (have, rest) = text.split_once("#SUPPORTED\n").unwrap_or((&text, ""));
        let (supported, gen) = rest.split_once("#GEN\n").unwrap_or((rest, ""));
        let p = parse_probe(gen.as_bytes());
        let Some(st) = p.lstat.clone() else {
            return fail("/etc/locale.gen is missing. Is the package \"locales\" installed?");
        };
        let conf = String::from_utf8_lossy(&p.content.unwrap_or_default()).into_owned();
        let have: Vec<String> = have.lines().map(fix_case).collect();
        let missing: Vec<&String> = names.iter().filter(|n| !have.contains(&fix_case(n))).collect();
        let unavailable: Vec<&str> =
            missing.iter().filter(|n| !available(supported, n) && !available(&conf, n)).map(|n| n.as_str()).collect();
        if !unavailable.is_empty() {
            return fail(format!("The following locales you have entered are not available on your system: {}", unavailable.join(", ")));
        }
        let is_present = missing.is_empty();
        let mut plan = Plan::done(Outcome::ok().with("name", names.clone()).with("mechanism", "glibc"));
        if is_present == present {
            return Ok(plan);
        }
        let new = set_lines(&conf, &names, present);
        plan.change(Change::Write(Box::new(Write::new("/etc/locale.gen".into(), new.into_bytes(), Attrs::default(), Some(st)))));
        plan.change(Change::sh("locale-gen", "locale-gen failed"));
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{args, probe_reply, Scripted};
    use super::super::{Change, Module};
    use super::*;

    #[tokio::test]
    async fn a_missing_locale_is_enabled_then_built() {
        let mut reply = b"C\nC.utf8\nen_US.utf8\n#SUPPORTED\nde_CH.UTF-8 UTF-8\n#GEN\n".to_vec();
        reply.extend(probe_reply(Some((0o644, b"# de_CH.UTF-8 UTF-8\nen_US.UTF-8 UTF-8\n"))));
        let h = Scripted::new().on("locale -a", 0, &reply);
        let p = LocaleGen.plan(&h.ctx(false, false), &args(&LocaleGen, "{name: de_CH.UTF-8}")).await.unwrap();
        let [Change::Write(w), Change::Sh { script, .. }] = p.changes.as_slice() else { panic!("write, then locale-gen") };
        let super::super::common::Content::Bytes(b) = &w.content else { panic!() };
        assert_eq!(b, b"de_CH.UTF-8 UTF-8\nen_US.UTF-8 UTF-8\n");
        assert_eq!(script, "locale-gen");
        let p = LocaleGen.plan(&h.ctx(false, false), &args(&LocaleGen, "{name: en_US.UTF-8}")).await.unwrap();
        assert!(!p.outcome.changed && p.changes.is_empty());
    }

    #[test]
    fn enables_and_disables_lines() {
        let conf = "# de_CH.UTF-8 UTF-8\n# de_CH ISO-8859-1\nen_US.UTF-8 UTF-8\n";
        assert_eq!(set_lines(conf, &["de_CH.UTF-8".into()], true), "de_CH.UTF-8 UTF-8\n# de_CH ISO-8859-1\nen_US.UTF-8 UTF-8\n");
        assert_eq!(set_lines(conf, &["en_US.UTF-8".into()], false), "# de_CH.UTF-8 UTF-8\n# de_CH ISO-8859-1\n# en_US.UTF-8 UTF-8\n");
        assert_eq!(fix_case("de_CH.utf8"), "de_CH.UTF-8");
        assert!(available(conf, "de_CH.UTF-8"));
    }
}
