//! Templates: minijinja set up as Ansible's Jinja behaves.
//!
//! Strict undefined, Python's way of printing values (`True`, `['a', 'b']`), Ansible's filters,
//! tests and lookups, and native values: a string that is exactly one `{{ expression }}` yields
//! the expression's value (a list stays a list). Everything else renders to a string. The
//! executor hands in a [`Scope`]; this module never touches a host.

mod encrypted;
mod file_vars;
mod filters;
mod lookup;
mod now;
mod pyfmt;
pub mod python_plugins;
mod scope;
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use minijinja::{Environment, UndefinedBehavior, Value as JValue};
use serde_json::Value;

pub use file_vars::{controller_hostname, template_vars};
pub use filters::ansible_bool as filters_bool;
pub(crate) use filters::pyregex::{sub as py_sub, Anchor as PyAnchor, PyRegex, Template as PyTemplate};
pub use filters::{format_time, hex_digest, py_json, py_json_spaced, py_replacement, py_type_name, shell_quote};
pub use lookup::{exists as lookup_exists, file_candidates, names as lookup_names, search_dirs, search_path_of, with_loop};
pub use pyfmt::{py_repr, py_str};
pub use scope::{HostVarsSource, Scope};

/// The placeholder that `omit` renders to; module arguments equal to it are dropped.
pub const OMIT: &str = "__omit_place_holder__steward";

/// Why a template failed, in words that name the variable when it is an undefined one.
#[derive(Debug, Clone)]
pub struct TemplateError {
    pub message: String,
    /// The line of the template text the error is on, where the engine knows it.
    pub line: Option<usize>,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn build_env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .expect("default delimiters are valid");
    env.set_syntax(syntax);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_formatter(pyfmt::formatter);
    env.set_unknown_method_callback(py_methods);
    minijinja::value::set_string_rem(filters::percent);
    minijinja_contrib::add_to_environment(&mut env);
    filters::register(&mut env);
    tests::register(&mut env);
    lookup::register(&mut env);
    env.add_function("now", now::now);
    env
}

/// Python's methods on values: list.index and list.count here, the rest from minijinja's
/// Python compatibility (str, dict).
fn py_methods(state: &mut minijinja::State, value: &JValue, method: &str, args: &[JValue]) -> Result<JValue, minijinja::Error> {
    if value.kind() == minijinja::value::ValueKind::Seq && matches!(method, "index" | "count") {
        let needle = args.first().cloned().unwrap_or_default();
        let items: Vec<JValue> = value.try_iter()?.collect();
        if method == "count" {
            return Ok(JValue::from(items.iter().filter(|x| **x == needle).count()));
        }
        return items.iter().position(|x| *x == needle).map(JValue::from).ok_or_else(|| {
            minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!("{} is not in list", py_repr(&to_json(&needle).unwrap_or_default())),
            )
        });
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
}

/// The environment every template renders with. It grows when a template names a Python
/// filter or test plugin (see [`python_plugins`]): the new environment replaces the old one,
/// which is kept, since templates compiled from it may still be rendering.
pub fn env() -> &'static Environment<'static> {
    *env_slot().read().unwrap_or_else(|e| e.into_inner())
}

fn env_slot() -> &'static std::sync::RwLock<&'static Environment<'static>> {
    static ENV: OnceLock<std::sync::RwLock<&'static Environment<'static>>> = OnceLock::new();
    ENV.get_or_init(|| std::sync::RwLock::new(Box::leak(Box::new(build_env()))))
}

/// Add the Python plugin an unknown-filter or unknown-test error names; otherwise the error
/// in Ansible's words.
fn plug(e: minijinja::Error) -> Result<(), minijinja::Error> {
    use python_plugins::Found;
    let Some((kind, name)) = python_plugins::unknown_name(&e) else { return Err(e) };
    let found = python_plugins::has(kind, &name);
    if found == Found::No {
        let hint = match kind {
            "filter" => crate::diag::suggest(&name, filters::known_names()).map(|s| format!(" Did you mean '{s}'?")).unwrap_or_default(),
            _ => String::new(),
        };
        return Err(minijinja::Error::new(e.kind(), format!("No {kind} named '{name}'.{hint}")));
    }
    let mut slot = env_slot().write().unwrap_or_else(|e| e.into_inner());
    let mut grown = (*slot).clone();
    match (kind, found) {
        (_, Found::Broken(why)) => {
            let msg = format!("{kind} plugin '{name}' failed to load: {why}");
            let fail = move || -> Result<JValue, minijinja::Error> {
                Err(minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, msg.clone()))
            };
            let f = fail.clone();
            match kind {
                "filter" => grown.add_filter(name, move |_: minijinja::value::Rest<JValue>| f()),
                _ => grown.add_test(name, move |_: minijinja::value::Rest<JValue>| fail().map(|_| false)),
            }
        }
        ("filter", _) => grown.add_filter(name.clone(), python_plugins::filter(name)),
        _ => grown.add_test(name.clone(), python_plugins::test(name)),
    }
    *slot = Box::leak(Box::new(grown));
    Ok(())
}

/// Run a render, again after adding each Python plugin it turns out to need.
pub(crate) fn with_plugins<T>(mut f: impl FnMut() -> Result<T, minijinja::Error>) -> Result<T, minijinja::Error> {
    let mut added = 0;
    loop {
        match f() {
            Err(e) if added < 16 && python_plugins::unknown_name(&e).is_some() => {
                plug(e)?;
                added += 1;
            }
            other => return other,
        }
    }
}

/// Whether a value holds any template text that needs rendering.
pub fn has_template(v: &Value) -> bool {
    match v {
        Value::String(s) => is_template(s),
        Value::Array(a) => a.iter().any(has_template),
        Value::Object(m) => m.iter().any(|(k, v)| is_template(k) || has_template(v)),
        _ => false,
    }
}

/// Whether a string is exactly one `{{ ... }}` (its value is the expression's, of any type).
pub fn is_single_expression(s: &str) -> bool {
    single_expression(s.trim()).is_some()
}

/// The expression inside a string that is exactly one `{{ ... }}`.
pub(crate) fn single_expression(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("{{")?.strip_suffix("}}")?;
    if inner.contains("{{") || inner.contains("}}") || inner.contains("{%") {
        return None;
    }
    Some(inner.trim_start_matches('-').trim_end_matches('-'))
}

/// Render every string inside a value; keys too.
pub fn render_value(v: &Value, scope: &Arc<Scope>) -> Result<Value, TemplateError> {
    let out = render_value_raw(v, scope).map_err(|e| explain(e, v, scope));
    if let Some(e) = scope.take_error() {
        return Err(explain(e, v, scope));
    }
    // A `!vault` value that could not be decrypted fails where it is used.
    match out {
        Ok(v) if crate::vault::holds_encrypted(&v) => Err(explain(encrypted::used(), &Value::Null, scope)),
        other => other,
    }
}

pub(crate) fn render_value_raw(v: &Value, scope: &Arc<Scope>) -> Result<Value, minijinja::Error> {
    Ok(match v {
        Value::String(s) => render_str_raw(s, scope)?,
        Value::Array(a) => Value::Array(a.iter().map(|x| render_value_raw(x, scope)).collect::<Result<_, _>>()?),
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, x) in m {
                let k = if is_template(k) { to_text(&render_str_raw(k, scope)?) } else { k.clone() };
                out.insert(k, render_value_raw(x, scope)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

fn render_str_raw(s: &str, scope: &Arc<Scope>) -> Result<Value, minijinja::Error> {
    if !is_template(s) {
        return Ok(Value::String(s.to_string()));
    }
    with_plugins(|| render_template_str(s, scope))
}

/// Templates and expressions compiled once per text and environment: a play renders the same
/// strings for every host and loop item. Their texts are kept for the run (the compiled form
/// borrows them), up to [`COMPILED_MAX`] of them; past that, each is compiled where it is used.
const COMPILED_MAX: usize = 4096;

type Compiled<T> = std::sync::Mutex<HashMap<usize, HashMap<Box<str>, T>>>;

fn compiled<T: Clone>(
    cache: &'static OnceLock<Compiled<T>>,
    text: &str,
    compile: impl FnOnce(&'static Environment<'static>, &'static str) -> Result<T, minijinja::Error>,
) -> Result<Option<T>, minijinja::Error> {
    static KEPT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let env = env();
    let id = env as *const Environment<'static> as usize;
    let cache = cache.get_or_init(Default::default);
    if let Some(t) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&id).and_then(|m| m.get(text)) {
        return Ok(Some(t.clone()));
    }
    // Counted before compiling: a text that does not compile is kept too (and counted).
    if KEPT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) >= COMPILED_MAX {
        return Ok(None);
    }
    let kept: &'static str = Box::leak(text.into());
    let t = compile(env, kept)?;
    cache.lock().unwrap_or_else(|e| e.into_inner()).entry(id).or_default().insert(kept.into(), t.clone());
    Ok(Some(t))
}

type CompiledExpression = Arc<minijinja::Expression<'static, 'static>>;

/// `expr` evaluated in `ctx`, compiled once ([`compiled`]).
fn eval_expression(expr: &str, ctx: JValue) -> Result<JValue, minijinja::Error> {
    static EXPRESSIONS: OnceLock<Compiled<CompiledExpression>> = OnceLock::new();
    match compiled(&EXPRESSIONS, expr, |env, text| env.compile_expression(text).map(Arc::new))? {
        Some(e) => e.eval(ctx),
        None => env().compile_expression(expr)?.eval(ctx),
    }
}

/// `text` rendered to its native value in `ctx`, compiled once ([`compiled`]).
fn render_native(text: &str, ctx: JValue) -> Result<JValue, minijinja::Error> {
    static TEMPLATES: OnceLock<Compiled<minijinja::Template<'static, 'static>>> = OnceLock::new();
    match compiled(&TEMPLATES, text, |env, text| env.template_from_str(text))? {
        Some(t) => t.render_native(ctx),
        None => env().template_from_str(text)?.render_native(ctx),
    }
}

fn render_template_str(s: &str, scope: &Arc<Scope>) -> Result<Value, minijinja::Error> {
    let protected = protect_backrefs(s);
    let s = protected.as_ref();
    let ctx = JValue::from_dyn_object(scope.clone());
    // As Ansible: one expression (plus trailing newlines) gives its native value; the
    // newlines come back only when that value is a string.
    let body = s.trim_end_matches('\n');
    let newlines = &s[body.len()..];
    if let Some(expr) = single_expression(body) {
        let v = eval_expression(expr, ctx)?;
        if v.is_undefined() {
            return Err(minijinja::Error::new(minijinja::ErrorKind::UndefinedError, "undefined value"));
        }
        return match to_json(&v)? {
            Value::String(text) => Ok(Value::String(text + newlines)),
            other => Ok(other),
        };
    }
    // Any other template is native too: one value written (`{% if x %}{{ [1] }}{% endif %}`)
    // is that value, nothing written is none, more is text.
    to_json(&render_native(s, ctx)?)
}

/// Python leaves `\1` in a string literal alone where Jinja's lexer would read an octal
/// escape; playbooks rely on it (`regex_replace('(a)', '\1')`), so a backslash before a digit
/// inside template blocks is kept as written.
fn protect_backrefs(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('\\') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut depth = 0usize;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        match (c, next) {
            ('{', Some('{' | '%')) => depth += 1,
            ('}' | '%', Some('}')) if depth > 0 => depth -= 1,
            ('\\', Some(d)) if depth > 0 && d.is_ascii_digit() => {
                out.push_str("\\\\");
                continue;
            }
            ('\\', Some('\\')) if depth > 0 => {
                out.push_str("\\\\");
                chars.next();
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    std::borrow::Cow::Owned(out)
}

thread_local! {
    /// Why a filter produced an undefined element (`map(attribute=...)` over an item without
    /// it), for the error when such a list becomes data. Rendering is synchronous, so a note
    /// belongs to the render that made it.
    static UNDEFINED_NOTE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Note why an element of a filter's result is undefined.
pub(crate) fn note_undefined(why: String) {
    UNDEFINED_NOTE.with(|n| *n.borrow_mut() = Some(why));
}

fn seq_has_undefined(v: &JValue, depth: u8) -> bool {
    use minijinja::value::ValueKind;
    match v.kind() {
        ValueKind::Undefined => true,
        ValueKind::Seq if depth < 16 => v.try_iter().map(|mut it| it.any(|x| seq_has_undefined(&x, depth + 1))).unwrap_or(false),
        _ => false,
    }
}

/// minijinja's value as plain data.
pub fn to_json(v: &JValue) -> Result<Value, minijinja::Error> {
    if v.is_undefined() {
        return Err(minijinja::Error::new(minijinja::ErrorKind::UndefinedError, "undefined value"));
    }
    if encrypted::holds_marker(v) {
        return Err(encrypted::used());
    }
    // A list with an undefined element is an error as in Ansible, when a filter said why.
    if let Some(why) = UNDEFINED_NOTE.with(|n| n.borrow_mut().take()) {
        if seq_has_undefined(v, 0) {
            return Err(minijinja::Error::new(minijinja::ErrorKind::UndefinedError, why));
        }
    }
    serde_json::to_value(v).map_err(|e| minijinja::Error::new(minijinja::ErrorKind::BadSerialization, e.to_string()))
}

pub fn to_jinja(v: &Value) -> JValue {
    JValue::from(minijinja::value::Serde(v))
}

pub use crate::pytext::{is_template, literal_template, to_text};

/// Render a template file's text (the `template` module, `lookup('template')`).
pub fn render_file(text: &str, name: &str, scope: &Arc<Scope>) -> Result<String, TemplateError> {
    let out = with_plugins(|| env().template_from_named_str(name, text)?.render(JValue::from_dyn_object(scope.clone())))
        .map_err(|e| explain(e, &Value::Null, scope));
    if let Some(e) = scope.take_error() {
        return Err(explain(e, &Value::Null, scope));
    }
    out
}

/// Jinja's syntax settings a template may change (the template module's arguments, or a
/// `#jinja2:` first line).
#[derive(Clone, Debug, PartialEq)]
pub struct Syntax {
    pub block: (String, String),
    pub variable: (String, String),
    pub comment: (String, String),
    pub line_statement_prefix: Option<String>,
    pub line_comment_prefix: Option<String>,
    pub trim_blocks: bool,
    pub lstrip_blocks: bool,
}

impl Default for Syntax {
    fn default() -> Syntax {
        Syntax {
            block: ("{%".into(), "%}".into()),
            variable: ("{{".into(), "}}".into()),
            comment: ("{#".into(), "#}".into()),
            line_statement_prefix: None,
            line_comment_prefix: None,
            trim_blocks: true,
            lstrip_blocks: false,
        }
    }
}

/// A value in a `#jinja2:` line, which Ansible reads as a Python literal.
#[derive(Debug, PartialEq)]
enum Literal {
    Text(String),
    Bool(bool),
    None,
}

impl Literal {
    fn parse(v: &str) -> Option<Literal> {
        let v = v.trim();
        match v {
            "True" => return Some(Literal::Bool(true)),
            "False" => return Some(Literal::Bool(false)),
            "None" => return Some(Literal::None),
            _ => {}
        }
        let quote = v.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let body = v.strip_prefix(quote)?.strip_suffix(quote)?;
        let mut out = String::new();
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next()? {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    other => out.push(other),
                },
                c if c == quote => return None,
                c => out.push(c),
            }
        }
        Some(Literal::Text(out))
    }
}

impl Syntax {
    /// Apply a template's `#jinja2: key: value, ...` first line (which is then dropped), as
    /// Ansible does; values are Python literals.
    pub fn from_header<'a>(&self, text: &'a str) -> Result<(Syntax, &'a str), TemplateError> {
        let Some(rest) = text.strip_prefix("#jinja2:") else {
            return Ok((self.clone(), text));
        };
        let bad = |m: String| TemplateError { message: m, line: None };
        let Some(eol) = rest.find('\n') else {
            return Err(bad("Missing newline after '#jinja2:' override.".into()));
        };
        let mut out = self.clone();
        for pair in rest[..eol].split(',') {
            if pair.trim().is_empty() {
                return Err(bad("Empty '#jinja2:' override pair not allowed.".into()));
            }
            let Some((k, v)) = pair.split_once(':') else {
                return Err(bad(format!(
                    "Missing key-value separator `:` in '#jinja2:' override pair {}.",
                    py_repr(&Value::String(pair.into()))
                )));
            };
            let key = k.trim();
            let Some(value) = Literal::parse(v) else {
                return Err(bad(format!("Invalid '#jinja2:' override value {} for {key:?}.", v.trim())));
            };
            let wrong = || bad(format!("Invalid '#jinja2:' override value {} for {key:?}.", v.trim()));
            let text = |slot: &mut String| match &value {
                Literal::Text(t) => {
                    *slot = t.clone();
                    Ok(())
                }
                _ => Err(wrong()),
            };
            let prefix = |slot: &mut Option<String>| match &value {
                Literal::Text(t) => {
                    *slot = Some(t.clone());
                    Ok(())
                }
                Literal::None => {
                    *slot = None;
                    Ok(())
                }
                Literal::Bool(_) => Err(wrong()),
            };
            let flag = |slot: &mut bool| match value {
                Literal::Bool(b) => {
                    *slot = b;
                    Ok(())
                }
                _ => Err(wrong()),
            };
            match key {
                "block_start_string" => text(&mut out.block.0)?,
                "block_end_string" => text(&mut out.block.1)?,
                "variable_start_string" => text(&mut out.variable.0)?,
                "variable_end_string" => text(&mut out.variable.1)?,
                "comment_start_string" => text(&mut out.comment.0)?,
                "comment_end_string" => text(&mut out.comment.1)?,
                "line_statement_prefix" => prefix(&mut out.line_statement_prefix)?,
                "line_comment_prefix" => prefix(&mut out.line_comment_prefix)?,
                "trim_blocks" => flag(&mut out.trim_blocks)?,
                "lstrip_blocks" => flag(&mut out.lstrip_blocks)?,
                "newline_sequence" | "keep_trailing_newline" => {}
                key => return Err(bad(format!("Invalid '#jinja2:' override key {}.", py_repr(&Value::String(key.into()))))),
            }
        }
        Ok((out, &rest[eol + 1..]))
    }
}

/// Render a template file with the given syntax settings (the `template` module's); templates
/// it includes or imports are looked for in the `search` folders, in order.
pub fn render_file_with(
    text: &str,
    name: &str,
    scope: &Arc<Scope>,
    syntax: &Syntax,
    search: &[std::path::PathBuf],
) -> Result<String, TemplateError> {
    let (syntax, text) = syntax.from_header(text)?;
    // As Ansible: the result ends with as many newlines as the template does (trim_blocks may
    // have eaten the last one).
    let trailing = |s: &str| s.len() - s.trim_end_matches('\n').len();
    let fix = |mut out: String| {
        let missing = trailing(text).saturating_sub(trailing(&out));
        out.extend(std::iter::repeat_n('\n', missing));
        out
    };
    if syntax == Syntax::default() && search.is_empty() {
        return render_file(text, name, scope).map(fix);
    }
    let mut e = env().clone();
    let dirs = search.to_vec();
    e.set_loader(move |n: &str| {
        for d in &dirs {
            let p = d.join(n);
            if p.is_file() {
                return std::fs::read_to_string(&p)
                    .map(Some)
                    .map_err(|err| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, format!("{}: {err}", p.display())));
            }
        }
        Ok(None)
    });
    let cfg = minijinja::syntax::SyntaxConfig::builder()
        .block_delimiters(syntax.block.0.clone(), syntax.block.1.clone())
        .variable_delimiters(syntax.variable.0.clone(), syntax.variable.1.clone())
        .comment_delimiters(syntax.comment.0.clone(), syntax.comment.1.clone())
        .line_statement_prefix(syntax.line_statement_prefix.clone().unwrap_or_default())
        .line_comment_prefix(syntax.line_comment_prefix.clone().unwrap_or_default())
        .trim_blocks(syntax.trim_blocks)
        .lstrip_blocks(syntax.lstrip_blocks)
        .keep_trailing_newline(true)
        .build()
        .map_err(|e| TemplateError { message: e.to_string(), line: None })?;
    e.set_syntax(cfg);
    let t = e.template_from_named_str(name, text).map_err(|e| explain(e, &Value::Null, scope))?;
    let out = t.render(JValue::from_dyn_object(scope.clone())).map_err(|e| explain(e, &Value::Null, scope));
    if let Some(e) = scope.take_error() {
        return Err(explain(e, &Value::Null, scope));
    }
    out.map(fix)
}

/// The delimiters and block whitespace a template lookup asks for.
pub struct LookupSyntax {
    pub variable: (String, String),
    pub comment: (String, String),
    pub trim_blocks: bool,
}

/// Render a template file for the `template` lookup: `{% include %}` finds files in
/// `include_dirs`; a template that is one expression gives its value, one that renders to
/// nothing gives None, text with no template in it is itself.
pub fn render_lookup_template(
    text: &str,
    name: &str,
    scope: &Arc<Scope>,
    syntax: &LookupSyntax,
    include_dirs: Vec<std::path::PathBuf>,
) -> Result<Value, TemplateError> {
    let default = syntax.variable.0 == "{{" && syntax.variable.1 == "}}" && syntax.comment.0 == "{#" && syntax.comment.1 == "#}";
    let has_template = text.contains(syntax.variable.0.as_str()) || text.contains("{%") || text.contains(syntax.comment.0.as_str());
    if !has_template {
        return Ok(Value::String(text.to_string()));
    }
    let mut e = env().clone();
    let config = minijinja::syntax::SyntaxConfig::builder()
        .variable_delimiters(syntax.variable.0.clone(), syntax.variable.1.clone())
        .comment_delimiters(syntax.comment.0.clone(), syntax.comment.1.clone())
        .trim_blocks(syntax.trim_blocks)
        .keep_trailing_newline(false)
        .build()
        .map_err(|e| TemplateError { message: format!("invalid template delimiters: {e}"), line: None })?;
    e.set_syntax(config);
    e.set_loader(move |name| {
        for d in &include_dirs {
            let p = d.join(name);
            if p.is_file() {
                return std::fs::read_to_string(&p).map(Some).map_err(|err| {
                    minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, format!("cannot read {}: {err}", p.display()))
                });
            }
        }
        Ok(None)
    });
    let ctx = JValue::from_dyn_object(scope.clone());
    let run = || -> Result<Value, minijinja::Error> {
        let body = text.trim_end_matches('\n');
        if let Some(expr) = single_expression(body).filter(|_| default && syntax.trim_blocks) {
            let v = e.compile_expression(expr)?.eval(ctx.clone())?;
            if v.is_undefined() {
                return Err(minijinja::Error::new(minijinja::ErrorKind::UndefinedError, "undefined value"));
            }
            return Ok(match to_json(&v)? {
                Value::String(s) => Value::String(s + &text[body.len()..]),
                other => other,
            });
        }
        // As Jinja does, every template (an included one too) loses one trailing newline;
        // as Ansible does, the top one gets back those its text ends with. One value written
        // (a macro's dict) is that value.
        let out = e.template_from_named_str(name, text)?.render_native(ctx.clone())?;
        let mut out = match to_json(&out)? {
            Value::String(s) if !s.is_empty() => s,
            Value::String(_) => return Ok(Value::Null),
            native => return Ok(native),
        };
        let (want, have) = (trailing_newlines(text), trailing_newlines(&out));
        if want > have {
            out.push_str(&"\n".repeat(want - have));
        }
        Ok(Value::String(out))
    };
    let out = run().map_err(|err| explain(err, &Value::Null, scope));
    if let Some(err) = scope.take_error() {
        return Err(explain(err, &Value::Null, scope));
    }
    out
}

fn trailing_newlines(s: &str) -> usize {
    s.len() - s.trim_end_matches('\n').len()
}

/// Evaluate a condition (`when`, `failed_when`, `changed_when`, `until`, `assert`).
pub fn eval_condition(cond: &Value, scope: &Arc<Scope>) -> Result<bool, TemplateError> {
    match cond {
        Value::Bool(b) => Ok(*b),
        Value::Null => Ok(false),
        Value::Number(n) => Ok(n.as_f64().unwrap_or(0.0) != 0.0),
        Value::Array(items) => {
            for c in items {
                if !eval_condition(c, scope)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Value::String(s) => {
            let src = single_expression(s).unwrap_or(s.as_str());
            let run = || -> Result<bool, minijinja::Error> {
                let v = eval_expression(src, JValue::from_dyn_object(scope.clone()))?;
                if v.is_undefined() {
                    return Err(minijinja::Error::new(minijinja::ErrorKind::UndefinedError, "undefined value"));
                }
                Ok(truthy(&v))
            };
            let out = with_plugins(run).map_err(|e| explain(e, cond, scope));
            if let Some(e) = scope.take_error() {
                return Err(explain(e, cond, scope));
            }
            out
        }
        Value::Object(_) => Err(TemplateError { message: "a condition must be an expression, not a mapping".into(), line: None }),
    }
}

/// Ansible's truth: strings such as "yes", "true", "1" from the command line count as booleans.
pub fn truthy(v: &JValue) -> bool {
    if let Some(s) = v.as_str() {
        return !matches!(s.trim().to_ascii_lowercase().as_str(), "" | "false" | "no" | "off" | "0" | "n" | "f");
    }
    v.is_true()
}

/// Turn a minijinja error into words an Ansible user recognises, naming the undefined variable.
fn explain(e: minijinja::Error, source: &Value, scope: &Arc<Scope>) -> TemplateError {
    use minijinja::ErrorKind::*;
    let line = e.line();
    let message = match e.kind() {
        UndefinedError => match find_undefined(source, scope) {
            Some(why) => why,
            None => match e.detail() {
                Some(d) if d.contains(" has no attribute ") => d.to_string(),
                Some(d) if d != "undefined value" => format!("undefined variable: {d}"),
                _ => "a variable in this template is undefined".to_string(),
            },
        },
        SyntaxError => {
            let line = e.line().map(|l| format!(" (line {l})")).unwrap_or_default();
            format!("template syntax error{line}: {}", e.detail().unwrap_or("invalid syntax"))
        }
        _ => {
            let mut msg = e.detail().map(str::to_string).unwrap_or_else(|| e.kind().to_string());
            if let Some(src) = std::error::Error::source(&e) {
                msg = format!("{msg}: {src}");
            }
            match zero_division(&msg) {
                // Ansible's own words for a failing lookup stand as they are.
                _ if msg.starts_with("The lookup plugin ") => msg,
                Some(python) => format!("Error rendering template: {python}"),
                None => format!("template error: {msg}"),
            }
        }
    };
    TemplateError { message, line }
}

/// Python's message for minijinja's `unable to calculate 1 / 0`.
fn zero_division(msg: &str) -> Option<&'static str> {
    let expr = msg.strip_prefix("unable to calculate ")?;
    let (lhs, op, rhs) = ["//", "/", "%"].iter().find_map(|op| expr.split_once(&format!(" {op} ")).map(|(l, r)| (l, *op, r)))?;
    if rhs.trim().parse::<f64>().ok()? != 0.0 {
        return None;
    }
    let float = lhs.contains('.') || rhs.contains('.');
    Some(match (op, float) {
        ("/", false) => "division by zero",
        ("/", true) => "float division by zero",
        ("//", false) => "integer division or modulo by zero",
        ("//", true) => "float floor division by zero",
        (_, false) => "integer modulo by zero",
        (_, true) => "float modulo",
    })
}

/// Why a template's value is undefined in this scope, in Ansible's words: `'name' is
/// undefined` for a variable, `object of type 'dict' has no attribute 'x'` for a key.
fn find_undefined(source: &Value, scope: &Arc<Scope>) -> Option<String> {
    find_undefined_in(source, scope, 0)
}

fn find_undefined_in(source: &Value, scope: &Arc<Scope>, depth: usize) -> Option<String> {
    if depth > 8 {
        return None;
    }
    let mut texts = Vec::new();
    collect_strings(source, &mut texts);
    for text in texts {
        let names = match single_expression(&text) {
            Some(expr) => env().compile_expression(expr).ok()?.undeclared_variables(true),
            None => env().template_from_str(&text).ok()?.undeclared_variables(true),
        };
        let mut names: Vec<String> = names.into_iter().collect();
        names.sort();
        for path in names {
            let mut parts = path.split('.');
            let first = parts.next()?;
            if matches!(first, "lookup" | "query" | "q" | "range" | "dict" | "omit" | "namespace" | "now") {
                continue;
            }
            if !scope.contains(first) {
                return Some(format!("'{first}' is undefined"));
            }
            // A variable that is defined but whose own value uses an undefined one
            // (`a: "{{ b }}"` without `b`): name that one.
            let resolved = scope.resolve(first);
            if resolved.is_err() {
                if let Some(why) = scope.raw(first).and_then(|raw| find_undefined_in(raw, scope, depth + 1)) {
                    return Some(why);
                }
            }
            // Walk attributes to name the missing key of `result.stdoutx`.
            let mut cur = resolved.ok().flatten();
            for p in parts {
                match cur {
                    Some(Value::Object(ref m)) => {
                        if !m.contains_key(p) {
                            return Some(format!("object of type 'dict' has no attribute '{p}'"));
                        }
                        cur = m.get(p).cloned();
                    }
                    _ => break,
                }
            }
        }
    }
    None
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if is_template(s) || out.is_empty() => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

#[cfg(test)]
mod unit {
    use super::*;
    use serde_json::json;

    fn scope(v: Value) -> Arc<Scope> {
        Scope::new(vec![Arc::new(v.as_object().unwrap().clone())], None)
    }

    #[test]
    fn native_and_string_rendering() {
        let s = scope(json!({"l": [1, 2], "n": "x", "t": true, "lazy": "{{ n }}-y"}));
        assert_eq!(render_value(&json!("{{ l }}"), &s).unwrap(), json!([1, 2]));
        assert_eq!(render_value(&json!("a {{ l }}"), &s).unwrap(), json!("a [1, 2]"));
        assert_eq!(render_value(&json!("{{ t }}!"), &s).unwrap(), json!("True!"));
        assert_eq!(render_value(&json!("{{ lazy }}"), &s).unwrap(), json!("x-y"));
    }

    /// A text compiled once renders each scope's values, and one that does not compile fails
    /// the same way every time.
    #[test]
    fn compiled_once_rendered_each_time() {
        for n in ["a", "b", "a"] {
            let s = scope(json!({"n": n}));
            assert_eq!(render_value(&json!("{{ n }}/x"), &s).unwrap(), json!(format!("{n}/x")));
            assert_eq!(
                render_value(&json!("{% if n == 'a' %}A{% else %}{{ n }}{% endif %}"), &s).unwrap(),
                json!(if n == "a" { "A" } else { "b" })
            );
            assert_eq!(eval_condition(&json!("n == 'a'"), &s).unwrap(), n == "a");
            let e = render_value(&json!("{{ n + }}"), &s).unwrap_err();
            assert!(e.message.contains("unexpected"), "{}", e.message);
        }
    }

    #[test]
    fn trailing_newlines_and_backrefs() {
        let s = scope(json!({"n": "x", "l": [1, 2]}));
        assert_eq!(render_value(&json!("{{ n }}\n"), &s).unwrap(), json!("x\n"));
        assert_eq!(render_value(&json!("{{ l | length }}\n"), &s).unwrap(), json!(2));
        let t = json!(r"{{ 'ab' | regex_replace('(a)(b)', '\2\1') }}");
        assert_eq!(render_value(&t, &s).unwrap(), json!("ba"));
    }

    #[test]
    fn undefined_is_named() {
        let s = scope(json!({"r": {"stdout": "x"}}));
        let e = render_value(&json!("{{ nope }}"), &s).unwrap_err();
        assert_eq!(e.message, "'nope' is undefined");
        let e = render_value(&json!("{{ r.stdoutx }}"), &s).unwrap_err();
        assert_eq!(e.message, "object of type 'dict' has no attribute 'stdoutx'");
        assert_eq!(render_value(&json!("{{ nope | default('d') }}"), &s).unwrap(), json!("d"));
        assert!(!eval_condition(&json!("nope is defined"), &s).unwrap());
    }

    #[test]
    fn templates_are_native_as_in_ansible() {
        let s = scope(json!({"x": true}));
        assert_eq!(render_value(&json!("{% if x %}{{ [1, 2] }}{% endif %}"), &s).unwrap(), json!([1, 2]));
        assert_eq!(render_value(&json!("{% if not x %}text{% endif %}"), &s).unwrap(), json!(null));
        assert_eq!(render_value(&json!("{{ 1 }}{{ 2 }}"), &s).unwrap(), json!("12"));
        let m = json!("{% macro m() %}{{ {'foo': 'bar'} }}{% endmacro %}{{ m().foo }}");
        assert_eq!(render_value(&m, &s).unwrap(), json!("bar"));
        let m = json!("{% macro m() %}a{{ 5 }}{% endmacro %}{{ m() }}");
        assert_eq!(render_value(&m, &s).unwrap(), json!("a5"));
    }

    #[test]
    fn undefined_chains_until_used() {
        let s = scope(json!({"d": {"bar": {}}, "l": [{"foo": {}}]}));
        assert!(eval_condition(&json!("d.bar.baz.abc is not defined"), &s).unwrap());
        assert!(eval_condition(&json!("nope.abc is not defined"), &s).unwrap());
        assert!(eval_condition(&json!("l[1]['foo'] | default('D') == 'D'"), &s).unwrap());
        let e = render_value(&json!("{{ d.bar.baz.abc }}"), &s).unwrap_err();
        assert_eq!(e.message, "object of type 'dict' has no attribute 'baz'");
        assert!(eval_condition(&json!("not nope.abc"), &s).is_err());
    }

    #[test]
    fn jinja2_header_values_are_python_literals() {
        let (syntax, rest) = Syntax::default().from_header("#jinja2: line_statement_prefix:\":\", trim_blocks: False\nbody").unwrap();
        assert_eq!(syntax.line_statement_prefix.as_deref(), Some(":"));
        assert!(!syntax.trim_blocks);
        assert_eq!(rest, "body");
        let e = Syntax::default().from_header("#jinja2: lstrip_blocks=True\n").unwrap_err();
        assert!(e.message.starts_with("Missing key-value separator"), "{}", e.message);
        assert!(Syntax::default().from_header("#jinja2: trim_blocks: 'yes'\n").is_err());
        assert!(Syntax::default().from_header("#jinja2: nope: True\n").is_err());
    }

    #[test]
    fn percent_formats_strings_as_python() {
        let s = scope(json!({"d": "/tmp/x", "m": {"a": 1}}));
        assert_eq!(render_value(&json!("{{ 'in %s/f' % (d) }}"), &s).unwrap(), json!("in /tmp/x/f"));
        assert_eq!(render_value(&json!("{{ '%s-%03d' % (d, 7) }}"), &s).unwrap(), json!("/tmp/x-007"));
        assert_eq!(render_value(&json!("{{ '%(a)s!' % m }}"), &s).unwrap(), json!("1!"));
        assert_eq!(render_value(&json!("{{ 7 % 3 }}"), &s).unwrap(), json!(1));
        assert!(render_value(&json!("{{ 'x' % d }}"), &s).is_err());
    }

    #[test]
    fn conditions() {
        let s = scope(json!({"x": 3, "s": "yes"}));
        assert!(eval_condition(&json!("x > 2"), &s).unwrap());
        assert!(eval_condition(&json!(["x > 2", "x < 4"]), &s).unwrap());
        assert!(eval_condition(&json!("s | bool"), &s).unwrap());
    }
}
