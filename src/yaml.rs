//! YAML with source positions.
//!
//! Every value read from a user's file is a [`Node`]: the value and the file, line and column
//! it came from, so that any later error (unknown keyword, bad argument, undefined variable) can
//! point at the line. Parsing is serde-saphyr with PyYAML's YAML 1.1 habits that Ansible users
//! rely on: `yes`/`no` booleans, `0644` as an octal number, merge keys.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;

use crate::diag::Diagnostic;

pub use crate::diag::Loc;

#[derive(Clone, Debug)]
pub enum NodeKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Clone, Debug)]
pub struct Node {
    pub kind: NodeKind,
    pub loc: Loc,
}

impl Node {
    pub fn new(kind: NodeKind, loc: Loc) -> Node {
        Node { kind, loc }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.kind, NodeKind::Null)
    }

    /// The name of this value's YAML type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "boolean",
            NodeKind::Int(_) => "integer",
            NodeKind::Float(_) => "float",
            NodeKind::Str(_) => "string",
            NodeKind::Seq(_) => "list",
            NodeKind::Map(_) => "mapping",
        }
    }

    /// The key of a mapping entry as text (YAML allows other scalars as keys).
    pub fn key_string(&self) -> String {
        match &self.kind {
            NodeKind::Str(s) => s.clone(),
            NodeKind::Null => String::new(),
            _ => match self.to_value() {
                Value::String(s) => s,
                v => v.to_string(),
            },
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
    }

    /// The plain data, positions dropped.
    pub fn to_value(&self) -> Value {
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Int(i) => Value::from(*i),
            NodeKind::Float(f) => serde_json::Number::from_f64(*f).map(Value::Number).unwrap_or(Value::Null),
            NodeKind::Str(s) => Value::String(s.clone()),
            NodeKind::Seq(s) => Value::Array(s.iter().map(Node::to_value).collect()),
            NodeKind::Map(m) => {
                let mut out = serde_json::Map::new();
                for (k, v) in m {
                    out.insert(k.key_string(), v.to_value());
                }
                Value::Object(out)
            }
        }
    }

    /// Rebuild a node from plain data, every part placed at `loc`.
    pub fn from_value(v: &Value, loc: &Loc) -> Node {
        let kind = match v {
            Value::Null => NodeKind::Null,
            Value::Bool(b) => NodeKind::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => NodeKind::Int(i),
                None => NodeKind::Float(n.as_f64().unwrap_or(0.0)),
            },
            Value::String(s) => NodeKind::Str(s.clone()),
            Value::Array(a) => NodeKind::Seq(a.iter().map(|x| Node::from_value(x, loc)).collect()),
            Value::Object(m) => {
                NodeKind::Map(m.iter().map(|(k, x)| (Node::new(NodeKind::Str(k.clone()), loc.clone()), Node::from_value(x, loc))).collect())
            }
        };
        Node::new(kind, loc.clone())
    }
}

/// What serde-saphyr hands us before the file name is attached.
enum Raw {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<Raw>, Spanned<Raw>)>),
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Raw, E> {
        Ok(i64::try_from(v).map(Raw::Int).unwrap_or(Raw::Float(v as f64)))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Raw, E> {
        Ok(i64::try_from(v).map(Raw::Int).unwrap_or(Raw::Float(v as f64)))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Raw, E> {
        Ok(i64::try_from(v).map(Raw::Int).unwrap_or(Raw::Float(v as f64)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Raw, E> {
        Ok(Raw::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_unit<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_none<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        Raw::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Raw, A::Error> {
        let mut v = Vec::new();
        while let Some(x) = a.next_element::<Spanned<Raw>>()? {
            v.push(x);
        }
        Ok(Raw::Seq(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Raw, A::Error> {
        let mut v = Vec::new();
        while let Some(k) = a.next_key::<Spanned<Raw>>()? {
            let val = a.next_value::<Spanned<Raw>>()?;
            v.push((k, val));
        }
        Ok(Raw::Map(v))
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, _a: A) -> Result<Raw, A::Error> {
        Err(de::Error::custom("tagged values are not supported here"))
    }
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Raw, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

/// PyYAML (and so Ansible) reads only these spellings as booleans; serde-saphyr also takes
/// `y`, `n` and mixed case, which would turn `loop: [x, y]` into `[x, True]`.
fn pyyaml_bool(text: &str) -> bool {
    matches!(
        text,
        "yes"
            | "Yes"
            | "YES"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

fn source_text<'a>(src: &'a str, r: &serde_saphyr::Location) -> Option<&'a str> {
    let span = r.span();
    let start = span.byte_offset()? as usize;
    let len = span.byte_len()? as usize;
    src.get(start..start + len)
}

/// Whether a scalar carries the `!unsafe` tag (the span of a quoted scalar starts after it).
/// Whether the value at `r` carries the YAML tag `tag` (`!unsafe`, `!vault`), which the parser
/// drops: the source text says.
fn tagged(src: &str, r: &serde_saphyr::Location, tag: &str) -> bool {
    if source_text(src, r).is_some_and(|t| t.trim_start().starts_with(tag)) {
        return true;
    }
    let Some(start) = r.span().byte_offset() else {
        return false;
    };
    src.get(..start as usize).is_some_and(|before| {
        let mut b = before.trim_end_matches([' ', '\t']);
        // A block scalar (`!vault |`): its text starts on the line after the indicator.
        if let Some(line) = b.strip_suffix('\n') {
            let header = line.trim_end_matches([' ', '\t']);
            let indicator = header.trim_end_matches(|c: char| c == '-' || c == '+' || c.is_ascii_digit());
            match indicator.strip_suffix(['|', '>']) {
                Some(rest) => b = rest.trim_end_matches([' ', '\t']),
                None => return false,
            }
        }
        b.strip_suffix(tag).is_some_and(|x| x.is_empty() || x.ends_with([' ', '\t', '\n', ':', '-', '[', ',', '{']))
    })
}

fn convert(raw: Spanned<Raw>, file: &Arc<PathBuf>, src: &str) -> Result<Node, Diagnostic> {
    let r = &raw.referenced;
    let loc = Loc { file: file.clone(), line: r.line() as u32, col: r.column() as u32, len: r.span().len().max(1) as u32 };
    let kind = match raw.value {
        Raw::Null => NodeKind::Null,
        Raw::Bool(b) => match source_text(src, r) {
            Some(t) if !pyyaml_bool(t.trim()) && !t.trim().starts_with(['!', '*', '&']) => NodeKind::Str(t.trim().to_string()),
            _ => NodeKind::Bool(b),
        },
        Raw::Int(i) => NodeKind::Int(i),
        Raw::Float(f) => NodeKind::Float(f),
        // An inline `!vault` value. Without a password it stays encrypted: as in Ansible, that
        // is an error only where the value is used.
        Raw::Str(s) if crate::vault::is_vaulted(&s) && tagged(src, r, "!vault") => match crate::vault::decrypt(&s) {
            Ok(plain) => NodeKind::Str(String::from_utf8_lossy(&plain).into_owned()),
            Err(_) if !crate::vault::has_secrets() => {
                let key = Node { kind: NodeKind::Str(crate::vault::ENCRYPTED_KEY.into()), loc: loc.clone() };
                crate::vault::note_encrypted();
                NodeKind::Map(vec![(key, Node { kind: NodeKind::Str(s), loc: loc.clone() })])
            }
            Err(e) => return Err(Diagnostic::new(format!("cannot decrypt this vault value: {e}")).at(loc, "vault-encrypted value")),
        },
        // `!unsafe`: never templated. Its text becomes an expression whose value is that text.
        Raw::Str(s) if tagged(src, r, "!unsafe") => NodeKind::Str(crate::pytext::literal_template(&s)),
        Raw::Str(s) => NodeKind::Str(s),
        Raw::Seq(s) => NodeKind::Seq(s.into_iter().map(|x| convert(x, file, src)).collect::<Result<_, _>>()?),
        Raw::Map(m) => {
            // Duplicate keys: the last one wins, as in Ansible.
            let mut out: Vec<(Node, Node)> = Vec::with_capacity(m.len());
            for (k, v) in m {
                let (k, v) = (convert(k, file, src)?, convert(v, file, src)?);
                let name = k.key_string();
                if let Some(pos) = out.iter().position(|(ek, _)| ek.key_string() == name) {
                    crate::diag::warn(&format!("{}: duplicate key `{}`, the last one is used", k.loc, name));
                    out.remove(pos);
                }
                out.push((k, v));
            }
            NodeKind::Map(out)
        }
    };
    Ok(Node { kind, loc })
}

fn options() -> serde_saphyr::options::Options {
    let mut o = serde_saphyr::options::Options::default();
    o.legacy_octal_numbers = true;
    o.with_snippet = false;
    o.duplicate_keys = serde_saphyr::options::DuplicateKeyPolicy::LastWins;
    o
}

/// Parse YAML text that came from `file`. An empty document is `Null`.
pub fn parse_str(text: &str, file: &Path) -> Result<Node, Diagnostic> {
    crate::diag::remember_source(file, text);
    let fileref = Arc::new(file.to_path_buf());
    if text.trim().is_empty() || text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---") {
        return Ok(Node::new(NodeKind::Null, Loc::new(file, 1, 1)));
    }
    match serde_saphyr::from_str_with_options::<Spanned<Raw>>(text, options()) {
        Ok(raw) => convert(raw, &fileref, text),
        Err(e) => {
            let (line, col) = e.location().map(|l| (l.line() as u32, l.column() as u32)).unwrap_or((0, 0));
            let msg = e.to_string();
            let msg = msg.lines().next().unwrap_or("").to_string();
            let msg = strip_position_suffix(&msg);
            Err(Diagnostic::new(format!("YAML syntax error: {msg}"))
                .at(Loc { file: fileref, line: line.max(1), col: col.max(1), len: 1 }, "here"))
        }
    }
}

fn strip_position_suffix(msg: &str) -> String {
    // serde-saphyr appends " at line X column Y"; we print the position ourselves.
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// Read and parse a YAML file.
pub fn load_file(path: &Path) -> Result<Node, Diagnostic> {
    let text = std::fs::read_to_string(path).map_err(|e| Diagnostic::new(format!("cannot read {}: {e}", path.display())))?;
    if crate::vault::is_vaulted(&text) {
        // A whole file encrypted with Ansible Vault.
        let plain = crate::vault::decrypt(&text).map_err(|e| Diagnostic::new(format!("cannot decrypt {}: {e}", path.display())))?;
        return parse_str(&String::from_utf8_lossy(&plain), path);
    }
    parse_str(&text, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml11_habits() {
        let n = parse_str("a: yes\nb: 0644\nc: '0644'\nd: ~\ne: on\nf: [x, y, n, N]\n", Path::new("t.yml")).unwrap();
        let v = n.to_value();
        assert_eq!(v["a"], Value::Bool(true));
        assert_eq!(v["b"], Value::from(420));
        assert_eq!(v["c"], Value::from("0644"));
        assert_eq!(v["d"], Value::Null);
        assert_eq!(v["e"], Value::Bool(true));
        assert_eq!(v["f"], serde_json::json!(["x", "y", "n", "N"]));
        assert_eq!(n.get("b").unwrap().loc.line, 2);
        assert_eq!(n.get("b").unwrap().loc.col, 4);
    }

    #[test]
    fn tags_the_parser_drops_are_read_from_the_text() {
        let text = "a: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  3132\nb: |\n  $ANSIBLE_VAULT;1.1;AES256\n  3132\nc: !unsafe '{{ x }}'\n";
        let v = parse_str(text, Path::new("t.yml")).unwrap().to_value();
        // No password here: the tagged one stays encrypted, the untagged one is text.
        assert!(crate::vault::ciphertext_of(&v["a"]).is_some(), "{v}");
        assert_eq!(v["b"], Value::from("$ANSIBLE_VAULT;1.1;AES256\n3132\n"));
        assert_eq!(v["c"], Value::from(crate::pytext::literal_template("{{ x }}")));
    }

    #[test]
    fn syntax_error_has_position() {
        let e = parse_str("a: [1, 2\nb: 3\n", Path::new("t.yml")).unwrap_err();
        assert!(e.message.contains("YAML syntax error"), "{}", e.message);
    }
}
