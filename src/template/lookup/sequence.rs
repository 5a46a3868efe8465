//! `sequence`: numbers as strings, from `start=1 end=5 stride=2 format=web%02d`, `count=3`, or
//! the short form `[start-]end[/stride][:format]` (`2-10/2`, `4:host%02d`). Keyword options
//! apply to every term, and a term's own values win over them. The checks and their words are
//! Ansible's: `count` or `end` (not both), a stride that points the right way, one `%` in the
//! format (a Python `%` format, so `%5.2f` and `%x` work).

use std::sync::OnceLock;

use minijinja::Error;
use serde_json::{Map, Value};

use super::{err, int_option, parse_kv, Ctx};
use crate::template::filters::pyformat;

const FIELDS: [&str; 5] = ["start", "end", "stride", "count", "format"];

#[derive(Default)]
struct Spec {
    start: Option<Value>,
    end: Option<Value>,
    stride: Option<Value>,
    count: Option<Value>,
    format: Option<Value>,
}

impl Spec {
    fn set(&mut self, k: &str, v: Value) {
        match k {
            "start" => self.start = Some(v),
            "end" => self.end = Some(v),
            "stride" => self.stride = Some(v),
            "count" => self.count = Some(v),
            _ => self.format = Some(v),
        }
    }
}

fn shortcut() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let num = "(0?x?[0-9a-f]+)";
        regex::Regex::new(&format!("(?i)^({num}-)?{num}(/{num})?(:(.+))?$")).expect("static regex")
    })
}

pub fn run(_: &Ctx, mut terms: Vec<Value>, kw: &Map<String, Value>) -> Result<Vec<Value>, Error> {
    if !kw.is_empty() && terms.is_empty() {
        // Every option may come as a keyword; one empty term is still needed to loop over.
        terms.push(Value::from(""));
    }
    let mut out = Vec::new();
    for term in terms {
        let mut spec = Spec::default();
        for (k, v) in kw {
            if FIELDS.contains(&k.as_str()) {
                spec.set(k, v.clone());
            }
        }
        let term = crate::template::to_text(&term);
        parse_term(&term, &mut spec)?;
        out.extend(generate(&spec)?.into_iter().map(Value::from));
    }
    Ok(out)
}

fn parse_term(term: &str, spec: &mut Spec) -> Result<(), Error> {
    if let Some(c) = shortcut().captures(term) {
        for (k, group) in [("start", 2), ("end", 3), ("stride", 5), ("format", 7)] {
            if let Some(m) = c.get(group) {
                spec.set(k, Value::from(m.as_str()));
            }
        }
        return Ok(());
    }
    let mut kv = parse_kv(term);
    for k in FIELDS {
        if let Some(v) = kv.remove(k) {
            spec.set(k, v);
        }
    }
    if !kv.is_empty() {
        let keys: Vec<String> = kv.keys().map(|k| format!("'{k}'")).collect();
        return Err(err(format!("unrecognized arguments to with_sequence: [{}]", keys.join(", "))));
    }
    Ok(())
}

fn generate(spec: &Spec) -> Result<Vec<String>, Error> {
    let int = |name: &str, v: &Option<Value>| v.as_ref().filter(|v| !v.is_null()).map(|v| int_option("sequence", name, v)).transpose();
    let start = int("start", &spec.start)?.unwrap_or(1);
    let mut end = int("end", &spec.end)?;
    let count = int("count", &spec.count)?;
    let stride = int("stride", &spec.stride)?.unwrap_or(1);
    let format = spec.format.as_ref().map(crate::template::to_text).unwrap_or_else(|| "%d".into());
    match (count, end) {
        (None, None) => return Err(err("must specify count or end in with_sequence")),
        (Some(_), Some(_)) => return Err(err("can't specify both count and end in with_sequence")),
        (Some(0), _) => return Ok(vec![]),
        (Some(c), None) => end = Some(start + c * stride - 1),
        _ => {}
    }
    let end = end.unwrap_or(start);
    if stride > 0 && end < start {
        return Err(err("to count backwards make stride negative"));
    }
    if stride < 0 && end > start {
        return Err(err("to count forward don't make stride negative"));
    }
    if stride == 0 {
        return Ok(vec![]);
    }
    if format.matches('%').count() != 1 {
        return Err(err(format!("bad formatting string: {format}")));
    }
    let mut out = Vec::new();
    let mut i = start;
    // Python's range(start, end + 1, stride) (end - 1 when counting down).
    while (stride > 0 && i <= end) || (stride < 0 && i >= end) {
        let n = [Value::from(i)];
        let s = pyformat::format(&format, pyformat::Args::Positional(&n))
            .map_err(|_| err(format!("problem formatting {i} with '{format}'")))?;
        out.push(s);
        i += stride;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Scope;
    use serde_json::json;

    fn q(terms: Value, kw: Value) -> Result<Vec<Value>, Error> {
        let ctx = Ctx { scope: Scope::new(vec![], None), with_action: None };
        let terms = match terms {
            Value::Array(a) => a,
            v => vec![v],
        };
        run(&ctx, terms, kw.as_object().unwrap())
    }

    #[test]
    fn forms() {
        assert_eq!(q(json!("start=0 end=3"), json!({})).unwrap(), json!(["0", "1", "2", "3"]).as_array().unwrap().clone());
        assert_eq!(q(json!("7-8:host%02d"), json!({})).unwrap(), vec![json!("host07"), json!("host08")]);
        assert_eq!(q(json!("2-6/2"), json!({})).unwrap(), vec![json!("2"), json!("4"), json!("6")]);
        assert_eq!(q(json!("start=3 end=0 stride=-1"), json!({})).unwrap().len(), 4);
        assert_eq!(q(json!([]), json!({"count": 2, "start": 10})).unwrap(), vec![json!("10"), json!("11")]);
        assert_eq!(q(json!(["count=5 start=0", "count=5"]), json!({"start": 20})).unwrap().len(), 10);
        assert_eq!(q(json!("count=5 start=0"), json!({"stride": -1})).unwrap().len(), 7);
        assert_eq!(q(json!("start=1 end=2 format=%5.2f"), json!({})).unwrap(), vec![json!(" 1.00"), json!(" 2.00")]);
    }

    #[test]
    fn errors() {
        let msg = |t: &str| q(json!(t), json!({})).unwrap_err().detail().unwrap().to_string();
        assert_eq!(msg("start=0 junk=3"), "unrecognized arguments to with_sequence: ['junk']");
        assert!(msg("1-4/C").contains("has an invalid value"));
        assert!(msg("start=1").contains("must specify count or end"));
        assert!(msg("start=4 end=1 stride=2").contains("make stride negative"));
        assert_eq!(msg("start=1 end=4 format=d"), "bad formatting string: d");
    }
}
