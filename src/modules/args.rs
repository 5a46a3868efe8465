//! Module arguments: their declaration ([`Arg`]) and their values at run time ([`Args`]).

use serde_json::{Map, Value};

use super::{fail, ModError, Module};
use crate::diag::{suggest, Diagnostic};
use crate::yaml::{Node, NodeKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Str,
    Bool,
    Int,
    List,
    Dict,
    /// A file mode: octal string (`"0644"`), number, or symbolic (`u=rw,g=r`).
    Mode,
    /// Anything (a message, a `var`, JSON data).
    Raw,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Str => "a string",
            Kind::Bool => "a boolean",
            Kind::Int => "an integer",
            Kind::List => "a list",
            Kind::Dict => "a mapping",
            Kind::Mode => "a file mode",
            Kind::Raw => "a value",
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Arg {
    pub name: &'static str,
    pub kind: Kind,
    pub aliases: &'static [&'static str],
    pub required: bool,
    pub choices: &'static [&'static str],
    /// What the module does when the argument is absent, as `steward doc` shows it (steward's
    /// behaviour, which is Ansible's unless the help says otherwise).
    pub default: Option<&'static str>,
    pub help: &'static str,
}

impl Arg {
    pub const fn new(name: &'static str, kind: Kind, help: &'static str) -> Arg {
        Arg { name, kind, aliases: &[], required: false, choices: &[], default: None, help }
    }
    pub const fn str(name: &'static str, help: &'static str) -> Arg {
        Arg::new(name, Kind::Str, help)
    }
    pub const fn bool(name: &'static str, help: &'static str) -> Arg {
        Arg::new(name, Kind::Bool, help)
    }
    pub const fn int(name: &'static str, help: &'static str) -> Arg {
        Arg::new(name, Kind::Int, help)
    }
    pub const fn list(name: &'static str, help: &'static str) -> Arg {
        Arg::new(name, Kind::List, help)
    }
    pub const fn raw(name: &'static str, help: &'static str) -> Arg {
        Arg::new(name, Kind::Raw, help)
    }
    pub const fn aliases(mut self, a: &'static [&'static str]) -> Arg {
        self.aliases = a;
        self
    }
    pub const fn required(mut self) -> Arg {
        self.required = true;
        self
    }
    pub const fn choices(mut self, c: &'static [&'static str]) -> Arg {
        self.choices = c;
        self
    }
    pub const fn default(mut self, d: &'static str) -> Arg {
        self.default = Some(d);
        self
    }
}

/// The file attribute arguments that copy, template, file and friends share.
pub const FILE_ATTRS: [Arg; 5] = [
    Arg::new("mode", Kind::Mode, "permissions, as an octal string (\"0644\") or symbolic (u=rw,g=r,o=r)"),
    Arg::str("owner", "user that should own the file"),
    Arg::str("group", "group that should own the file"),
    Arg::bool("unsafe_writes", "accepted for compatibility; steward always writes atomically"),
    Arg::str("setype", "accepted for compatibility; SELinux contexts are not managed"),
];

/// Arguments many file-editing modules share, declared once: a module lists the ones it takes
/// in its own `ARGS` (`args::BACKUP,`).
pub const BACKUP: Arg = Arg::bool("backup", "keep a timestamped copy of the old file").default("false");
pub const VALIDATE: Arg = Arg::str("validate", "a command to check the new file before it is put in place; %s is its path");
pub const CREATE: Arg = Arg::bool("create", "create the file if it is missing").default("false");
pub const ENCODING: Arg = Arg::str("encoding", "accepted for compatibility (steward reads and writes UTF-8)");

/// Every argument a module takes: its own, then the file attributes if it takes them.
pub fn all_args(module: &dyn Module) -> impl Iterator<Item = &'static Arg> {
    let attrs: &'static [Arg] = if module.file_attrs() { &FILE_ATTRS } else { &[] };
    module.args().iter().chain(attrs.iter())
}

fn find_arg(module: &dyn Module, name: &str) -> Option<&'static Arg> {
    all_args(module).find(|a| a.name == name || a.aliases.contains(&name))
}

/// Check the literal values of a task's arguments before anything runs.
pub fn validate(module: &dyn Module, args: &Node) -> Result<(), Diagnostic> {
    let Some(map) = args.as_map() else {
        return Ok(());
    };
    for (k, v) in map {
        let key = k.key_string();
        if key == "_raw_params" || key.starts_with("_") || module.any_args() {
            continue;
        }
        let Some(spec) = find_arg(module, &key) else {
            let mut d =
                Diagnostic::new(format!("module `{}` has no argument `{key}`", module.name())).at(k.loc.clone(), "unknown argument");
            let names = all_args(module).flat_map(|a| std::iter::once(a.name).chain(a.aliases.iter().copied()));
            if let Some(s) = suggest(&key, names) {
                d = d.help(format!("did you mean `{s}`?"));
            } else {
                d = d.help(format!("`steward doc {}` lists its arguments", module.name()));
            }
            return Err(d);
        };
        check_literal(module, spec, v)?;
    }
    Ok(())
}

fn check_literal(module: &dyn Module, spec: &Arg, v: &Node) -> Result<(), Diagnostic> {
    let templated = v.as_str().is_some_and(crate::pytext::is_template);
    if templated || v.is_null() {
        return Ok(());
    }
    let ok = match (spec.kind, &v.kind) {
        (Kind::Raw, _) => true,
        (Kind::Str, NodeKind::Seq(_) | NodeKind::Map(_)) => false,
        (Kind::Str, _) => true,
        (Kind::Bool, NodeKind::Bool(_)) => true,
        (Kind::Bool, NodeKind::Str(s)) => parse_bool(s).is_some(),
        (Kind::Bool, NodeKind::Int(i)) => *i == 0 || *i == 1,
        (Kind::Int, NodeKind::Int(_)) => true,
        (Kind::Int, NodeKind::Str(s)) => s.trim().parse::<i64>().is_ok(),
        (Kind::Int, NodeKind::Float(_)) => true,
        (Kind::List, _) => true,
        (Kind::Dict, NodeKind::Map(_) | NodeKind::Str(_)) => true,
        (Kind::Mode, NodeKind::Int(_) | NodeKind::Str(_)) => true,
        _ => false,
    };
    if !ok {
        return Err(Diagnostic::new(format!(
            "argument `{}` of module `{}` must be {}, not {}",
            spec.name,
            module.name(),
            spec.kind.name(),
            v.type_name()
        ))
        .at(v.loc.clone(), format!("expected {}", spec.kind.name())));
    }
    if !spec.choices.is_empty() {
        let text = match &v.kind {
            NodeKind::Str(s) => s.clone(),
            NodeKind::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
            _ => v.key_string(),
        };
        if !spec.choices.contains(&text.as_str()) {
            let mut d = Diagnostic::new(format!(
                "value `{text}` of argument `{}` of module `{}` is not one of: {}",
                spec.name,
                module.name(),
                spec.choices.join(", ")
            ))
            .at(v.loc.clone(), "invalid choice");
            if let Some(s) = suggest(&text, spec.choices.iter().copied()) {
                d = d.help(format!("did you mean `{s}`?"));
            }
            return Err(d);
        }
    }
    Ok(())
}

pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "yes" | "on" | "1" | "true" | "y" | "t" => Some(true),
        "no" | "off" | "0" | "false" | "n" | "f" | "" => Some(false),
        _ => None,
    }
}

/// A module's arguments after templating: aliases resolved, `omit` dropped.
#[derive(Clone, Debug, Default)]
pub struct Args {
    pub module: &'static str,
    pub map: Map<String, Value>,
}

impl Args {
    pub fn prepare(module: &dyn Module, raw: Map<String, Value>) -> Result<Args, ModError> {
        let mut map = Map::new();
        for (k, v) in raw {
            if v.as_str() == Some(crate::template::OMIT) {
                continue;
            }
            if module.any_args() || k.starts_with('_') {
                map.insert(k, v);
                continue;
            }
            match find_arg(module, &k) {
                Some(spec) => {
                    if !spec.choices.is_empty() && !v.is_null() {
                        let text = match &v {
                            Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
                            other => crate::pytext::to_text(other),
                        };
                        if !spec.choices.contains(&text.as_str()) {
                            return fail(format!("value of {} must be one of: {}, got: {text}", spec.name, spec.choices.join(", ")));
                        }
                    }
                    map.insert(spec.name.to_string(), v);
                }
                None => {
                    // Ansible's message, with the parameters the module takes.
                    let mut names: Vec<String> = all_args(module)
                        .map(|a| if a.aliases.is_empty() { a.name.to_string() } else { format!("{} ({})", a.name, a.aliases.join(", ")) })
                        .collect();
                    names.sort();
                    return fail(format!(
                        "Unsupported parameters for ({}) module: {k}. Supported parameters include: {}.",
                        module.name(),
                        names.join(", ")
                    ));
                }
            }
        }
        for spec in all_args(module) {
            if spec.required && map.get(spec.name).is_none_or(Value::is_null) {
                return fail(format!("missing required arguments: {}", spec.name));
            }
        }
        Ok(Args { module: module.name(), map })
    }

    pub fn has(&self, k: &str) -> bool {
        self.map.get(k).is_some_and(|v| !v.is_null())
    }

    pub fn raw(&self, k: &str) -> Option<&Value> {
        self.map.get(k).filter(|v| !v.is_null())
    }

    pub fn str(&self, k: &str) -> Result<Option<String>, ModError> {
        Ok(match self.raw(k) {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Null) => None,
            // As Ansible's string conversion: any other value is its Python `str()`.
            Some(v) => Some(crate::pytext::to_text(v)),
        })
    }

    pub fn req_str(&self, k: &str) -> Result<String, ModError> {
        self.str(k)?.ok_or_else(|| ModError::Fail(format!("missing required arguments: {k}")))
    }

    pub fn bool(&self, k: &str, default: bool) -> Result<bool, ModError> {
        Ok(match self.raw(k) {
            None => default,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => match parse_bool(s) {
                Some(b) => b,
                None => return fail(format!("argument {k} must be a boolean, got '{s}'")),
            },
            Some(Value::Number(n)) => n.as_f64() == Some(1.0),
            Some(v) => return fail(format!("argument {k} must be a boolean, got {}", crate::pytext::py_str(v))),
        })
    }

    pub fn opt_bool(&self, k: &str) -> Result<Option<bool>, ModError> {
        if self.has(k) {
            self.bool(k, false).map(Some)
        } else {
            Ok(None)
        }
    }

    pub fn int(&self, k: &str) -> Result<Option<i64>, ModError> {
        Ok(match self.raw(k) {
            None => None,
            Some(Value::Number(n)) => Some(n.as_i64().unwrap_or_else(|| n.as_f64().unwrap_or(0.0) as i64)),
            Some(Value::String(s)) => match s.trim().parse() {
                Ok(i) => Some(i),
                Err(_) => return fail(format!("argument {k} must be an integer, got '{s}'")),
            },
            Some(v) => return fail(format!("argument {k} must be an integer, got {}", crate::pytext::py_str(v))),
        })
    }

    /// A list, or a comma-separated string as Ansible accepts for list arguments.
    pub fn list(&self, k: &str) -> Result<Vec<Value>, ModError> {
        Ok(match self.raw(k) {
            None => vec![],
            Some(Value::Array(a)) => a.clone(),
            Some(Value::String(s)) => s.split(',').map(|x| Value::from(x.trim())).filter(|x| x.as_str() != Some("")).collect(),
            Some(v) => vec![v.clone()],
        })
    }

    pub fn str_list(&self, k: &str) -> Result<Vec<String>, ModError> {
        Ok(self.list(k)?.iter().map(crate::pytext::to_text).collect())
    }
}
