//! `getent`: entries of a name service database (passwd, group, hosts, ...) as facts
//! (`getent_passwd`: name -> its other fields).

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::{fail, Arg, Args, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct Getent;

/// The facts for getent's output: each record's first field keys the rest; repeated keys
/// collect a list of records.
fn records(out: &str, split: Option<&str>) -> Map<String, Value> {
    let mut m = Map::new();
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for line in out.lines() {
        let fields: Vec<String> = match split {
            Some(s) => line.split(s).map(str::to_string).collect(),
            None => line.split_whitespace().map(str::to_string).collect(),
        };
        let Some((k, rest)) = fields.split_first() else { continue };
        let rest = json!(rest);
        match seen.get(k).copied() {
            None => {
                m.insert(k.clone(), rest);
                seen.insert(k.clone(), 1);
            }
            Some(n) => {
                let cur = m.remove(k).unwrap_or(Value::Null);
                let mut list = if n == 1 { vec![cur] } else { cur.as_array().cloned().unwrap_or_default() };
                list.push(rest);
                m.insert(k.clone(), Value::Array(list));
                seen.insert(k.clone(), n + 1);
            }
        }
    }
    m
}

#[async_trait]
impl Module for Getent {
    fn name(&self) -> &'static str {
        "getent"
    }
    fn doc(&self) -> &'static str {
        include_str!("getent.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::str("database", "passwd, group, shadow, hosts, services, ...").required(),
            Arg::str("key", "the entry to look up (default: every entry)"),
            Arg::str("split", "the field separator (default: `:` for passwd, shadow, group, gshadow; else blanks)"),
            Arg::str("service", "the NSS service to ask (-s)"),
            Arg::bool("fail_key", "fail when the key is missing").default("true"),
        ];
        A
    }
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let db = args.req_str("database")?;
        let key = args.str("key")?;
        let mut cmd = format!("getent {}", q(&db));
        if let Some(k) = &key {
            cmd += &format!(" {}", q(k));
        }
        if let Some(s) = args.str("service")? {
            cmd += &format!(" -s {}", q(&s));
        }
        let split = args.str("split")?.or_else(|| ["passwd", "shadow", "group", "gshadow"].contains(&db.as_str()).then(|| ":".to_string()));
        let r = ctx.sh(cmd).await?;
        let tree = format!("getent_{db}");
        let mut facts = Map::new();
        let mut out = Outcome::ok();
        match r.rc {
            0 => {
                facts.insert(tree, Value::Object(records(&r.stdout_str(), split.as_deref())));
            }
            2 if !args.bool("fail_key", true)? => {
                let mut m = Map::new();
                m.insert(key.unwrap_or_default(), Value::Null);
                facts.insert(tree, Value::Object(m));
                out.msg = Some("One or more supplied key could not be found in the database.".into());
            }
            1 => return fail("Missing arguments, or database unknown."),
            2 => return fail("One or more supplied key could not be found in the database."),
            3 => return fail("Enumeration not supported on this database."),
            _ => return fail(format!("Unexpected failure! {}", r.stderr_str().trim())),
        }
        out.facts = Some(facts);
        // A look-up only: nothing to change.
        Ok(Plan::done(out))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{args, Scripted};
    use super::super::Module;
    use super::*;

    #[tokio::test]
    async fn a_missing_key_fails_unless_fail_key_is_off() {
        let h = Scripted::new().on("getent passwd nobody2", 2, b"");
        let err = Getent.plan(&h.ctx(false, false), &args(&Getent, "{database: passwd, key: nobody2}")).await.err().unwrap();
        assert_eq!(err.to_string(), "One or more supplied key could not be found in the database.");
        let p = Getent.plan(&h.ctx(false, false), &args(&Getent, "{database: passwd, key: nobody2, fail_key: false}")).await.unwrap();
        assert!(!p.outcome.changed && p.changes.is_empty());
        assert_eq!(p.outcome.facts.unwrap()["getent_passwd"], json!({"nobody2": null}));
    }

    #[test]
    fn keys_the_records() {
        let m = records("alice:x:2001:2001::/home/alice:/bin/bash\n", Some(":"));
        assert_eq!(m["alice"][4], json!("/home/alice"));
        let m = records("127.0.0.1 localhost\n127.0.0.1 other\n", None);
        assert_eq!(m["127.0.0.1"], json!([["localhost"], ["other"]]));
    }
}
