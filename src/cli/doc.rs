//! `steward doc MODULE`: a module's description, arguments (with their defaults), return values
//! and example, as `ansible-doc` shows them; `-s` prints a task to paste instead. The module
//! names also feed the shell completions ([`ModuleName`]).

use clap::builder::{PossibleValue, StringValueParser, TypedValueParser};

use super::{DocArgs, Error};
use crate::modules::{self, Arg, FreeForm, Kind, Module};

pub fn run(a: DocArgs) -> Result<(), Error> {
    let Some(name) = a.module.filter(|_| !a.list) else {
        let mut all: Vec<_> = modules::MODULES.iter().collect();
        all.sort_by_key(|m| m.name());
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        for m in all {
            // A reader that stops early (`| head`) ends the list quietly.
            if writeln!(out, "{:<20} {}", m.name(), first_sentence(m.doc())).is_err() {
                break;
            }
        }
        return Ok(());
    };
    // Installed modules too (library/ here, collections, the controller's ansible-core).
    let here = std::env::current_dir().unwrap_or_default();
    let search = modules::python::Search { playbook_dir: &here, role_dirs: vec![] };
    let Some(m) = modules::find(&name).or_else(|| modules::python::resolve(&name, &search)) else {
        let hint = crate::diag::suggest(&name, modules::names()).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
        return Err(Error::command(format!("no module `{name}`{hint}")));
    };
    print!("{}", if a.snippet { snippet(m) } else { render(m) });
    Ok(())
}

/// What a module that takes any argument name does with the others (set_fact's variables,
/// add_host's host variables, a Python module's options): its description says.
const ANY_OTHER: &str = "taken too: see the description";

/// Where help text starts in `steward doc`'s tables: after the name column and the type column.
const NAME_WIDTH: usize = 22;
const KIND_WIDTH: usize = 8;

pub fn render(m: &dyn Module) -> String {
    let (desc, examples) = modules::doc_parts(m.doc());
    let mut out = format!("{}\n\n{desc}\n\n", m.name());
    if m.collection() != "ansible.builtin" {
        out += &format!("collection: {}\n\n", m.collection());
    }
    out += "arguments:\n";
    if modules::args::all_args(m).next().is_none() {
        out += "  (none)\n";
    }
    for a in modules::args::all_args(m) {
        let mut extra = String::new();
        if a.required {
            extra += " (required)";
        }
        if !a.aliases.is_empty() {
            extra += &format!(" (aliases: {})", a.aliases.join(", "));
        }
        out += &format!("  {:<NAME_WIDTH$} {:<KIND_WIDTH$} {}{extra}\n", a.name, kind_name(a.kind), a.help);
        let more = a.default.map(|d| format!("default: {}", shown_default(d))).into_iter();
        let more = more.chain((!a.choices.is_empty()).then(|| format!("choices: {}", a.choices.join(", "))));
        for line in more {
            out += &format!("  {:<NAME_WIDTH$} {:<KIND_WIDTH$} {line}\n", "", "");
        }
    }
    if m.any_args() {
        out += &format!("  {:<NAME_WIDTH$} {:<KIND_WIDTH$} {ANY_OTHER}\n", "(any other name)", "any");
    }
    if let Some(returns) = modules::doc_returns(m.doc()) {
        out += &format!("\nreturns:\n{}", returns_table(returns));
    }
    if !examples.is_empty() {
        out += "\nexample:\n";
        for line in examples.iter().flat_map(|e| e.lines()) {
            out += &format!("  {line}\n");
        }
    }
    out
}

/// A module's `## Returns` as a table of keys and meanings (or its one sentence).
fn returns_table(returns: &str) -> String {
    let mut out = String::new();
    for line in returns.lines().filter(|l| !l.trim().is_empty()) {
        out += &match modules::return_item(line) {
            // Keys too long for their column get a line of their own.
            Some((keys, meaning)) => match keys.join(", ") {
                k if k.len() > NAME_WIDTH => format!("  {k}\n  {:<NAME_WIDTH$} {meaning}\n", ""),
                k => format!("  {k:<NAME_WIDTH$} {meaning}\n"),
            },
            None => format!("  {}\n", line.trim()),
        };
    }
    out
}

/// A default as `steward doc` shows it: the empty string quoted, so that it is seen.
fn shown_default(d: &str) -> &str {
    if d.is_empty() {
        "\"\""
    } else {
        d
    }
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Str => "string",
        Kind::Bool => "boolean",
        Kind::Int => "integer",
        Kind::List => "list",
        Kind::Dict => "mapping",
        Kind::Mode => "mode",
        Kind::Raw => "any",
    }
}

/// The column of a snippet's comments, and the width its lines are wrapped to.
const COMMENT_AT: usize = 29;
const SNIPPET_WIDTH: usize = 100;
/// Where a snippet's arguments start, under the module's name.
const ARG_INDENT: &str = "      ";

/// `ansible-doc -s`: a task to paste into a playbook, every argument a key with its help as a
/// comment, sorted by name as ansible-doc sorts them. The keys have no values, so the task is
/// YAML that parses (each argument null) and a user fills in the ones wanted.
pub fn snippet(m: &dyn Module) -> String {
    let name = first_sentence(m.doc());
    let mut out = format!("- name: {}\n  {}:\n", yaml_plain(name.trim_end_matches('.')), m.name());
    let mut all: Vec<&Arg> = modules::args::all_args(m).collect();
    all.sort_by_key(|a| a.name);
    for a in all {
        out += &comment_block(&format!("{ARG_INDENT}{}:", a.name), COMMENT_AT, &arg_comment(a));
    }
    let bare = match m.free_form() {
        FreeForm::No => None,
        FreeForm::Raw | FreeForm::Whole => Some("the text".to_string()),
        FreeForm::Named(arg) => Some(format!("the {arg}")),
    };
    if let Some(what) = bare {
        out += &comment_block("", ARG_INDENT.len(), &format!("or, instead of these, {what} alone: `{}: TEXT`", m.name()));
    }
    if m.any_args() {
        out += &comment_block("", ARG_INDENT.len(), &format!("any other name: {ANY_OTHER}"));
    }
    out
}

/// An argument's comment in a snippet: ansible-doc's `(required)` mark, the help, then what
/// steward's help adds (the default and the choices).
fn arg_comment(a: &Arg) -> String {
    let mut text = if a.required { format!("(required) {}", a.help) } else { a.help.to_string() };
    if let Some(d) = a.default {
        text += &format!(" (default: {})", shown_default(d));
    }
    if !a.choices.is_empty() {
        text += &format!(" (choices: {})", a.choices.join(", "));
    }
    text
}

/// `head` then `# text` from column `at`, the text wrapped at spaces to [`SNIPPET_WIDTH`]; the
/// lines after the first are comments alone, lined up under it.
fn comment_block(head: &str, at: usize, text: &str) -> String {
    let room = SNIPPET_WIDTH - at - 2;
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("one line at least");
        if !line.is_empty() && line.len() + 1 + word.len() > room {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let head = if i == 0 { head } else { "" };
        // A name longer than the column still gets a space before its comment.
        out += &format!("{head:<width$}# {line}\n", width = at.max(head.len() + 1));
    }
    out
}

/// `text` as a YAML scalar: plain when it reads back as the same string, else double-quoted
/// (a JSON string is a YAML double-quoted scalar).
fn yaml_plain(text: &str) -> String {
    let starts_special = text.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@`".contains(c));
    if text.is_empty() || starts_special || text.contains(": ") || text.contains(" #") || text.ends_with(':') {
        serde_json::Value::from(text).to_string()
    } else {
        text.to_string()
    }
}

/// The first sentence of a module's description, whole, however its lines are wrapped.
pub fn first_sentence(doc: &str) -> String {
    let (desc, _) = modules::doc_parts(doc);
    let para: Vec<&str> = desc.lines().map(str::trim).take_while(|l| !l.is_empty()).collect();
    let text = para.join(" ");
    // A sentence ends at a full stop followed by a space (not inside `a.b` or `e.g.`).
    let mut end = text.len();
    let b = text.as_bytes();
    for (i, c) in text.char_indices() {
        if c == '.' && b.get(i + 1) == Some(&b' ') && !text[..i].ends_with("e.g") && !text[..i].ends_with("i.e") {
            end = i + 1;
            break;
        }
    }
    text[..end].to_string()
}

/// `steward doc`'s MODULE: any name (a Python module in library/ or a collection is found only
/// when the command runs), but the native modules are its possible values, so the shell
/// completions clap_complete writes offer them: short names, aliases and fully qualified names.
#[derive(Clone)]
pub struct ModuleName;

impl TypedValueParser for ModuleName {
    type Value = String;

    fn parse_ref(&self, cmd: &clap::Command, arg: Option<&clap::Arg>, value: &std::ffi::OsStr) -> Result<String, clap::Error> {
        StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(completion_names().iter().map(|(name, help)| PossibleValue::new(name.as_str()).help(help.as_str()))))
    }
}

/// Fish's completions of `steward doc MODULE`, one `complete` line a name, for the script
/// clap_complete writes (its `__fish_steward_using_subcommand`).
pub fn fish_module_names() -> String {
    let quote = |s: &str| s.replace('\\', "\\\\").replace('\'', "\\'");
    completion_names()
        .iter()
        .map(|(name, help)| {
            format!("complete -c steward -n \"__fish_steward_using_subcommand doc\" -f -a '{}' -d '{}'\n", quote(name), quote(help))
        })
        .collect()
}

/// Every name a native module answers to, with its first sentence; made once, as clap wants
/// `'static` text.
fn completion_names() -> &'static [(String, String)] {
    static NAMES: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let mut all = Vec::new();
        for m in modules::MODULES {
            let help = first_sentence(m.doc());
            let mut names: Vec<String> = std::iter::once(m.name()).chain(m.aliases().iter().copied()).map(str::to_string).collect();
            names.push(format!("ansible.builtin.{}", m.name()));
            if m.collection() != "ansible.builtin" {
                names.push(format!("{}.{}", m.collection(), m.name()));
            }
            all.extend(names.into_iter().map(|n| (n, help.clone())));
        }
        all
    })
}

#[cfg(test)]
mod tests {
    use super::{first_sentence, snippet, yaml_plain};

    #[test]
    fn whole_first_sentences() {
        let doc = "Wait, on the host, until a port opens or closes, a file appears or disappears or holds a\npattern, or a number of seconds passes. Ports are tested with bash.\n\n## Example\n";
        assert_eq!(
            first_sentence(doc),
            "Wait, on the host, until a port opens or closes, a file appears or disappears or holds a pattern, or a number of seconds passes."
        );
        assert_eq!(first_sentence("Run a command (e.g. ls). More.\n"), "Run a command (e.g. ls).");
        for m in crate::modules::MODULES {
            let s = first_sentence(m.doc());
            assert!(!s.is_empty() && !s.ends_with(' '), "{}: {s:?}", m.name());
        }
    }

    #[test]
    fn snippet_names_read_back_as_written() {
        assert_eq!(yaml_plain("Copy a file"), "Copy a file");
        assert_eq!(yaml_plain("Run `ls`: list"), "\"Run `ls`: list\"");
        assert_eq!(yaml_plain("`raw` runs"), "\"`raw` runs\"");
    }

    #[test]
    fn snippet_lines_fit_and_comment_every_argument() {
        for m in crate::modules::MODULES {
            let s = snippet(*m);
            // The name is the first sentence, long or not, as ansible-doc's; comments wrap.
            for line in s.lines().skip(1) {
                let long_word = line.split_whitespace().any(|w| w.len() > super::SNIPPET_WIDTH - super::COMMENT_AT - 2);
                assert!(line.len() <= super::SNIPPET_WIDTH || long_word, "{}: {line:?}", m.name());
            }
            for a in crate::modules::args::all_args(*m) {
                let head = format!("{}{}:", super::ARG_INDENT, a.name);
                assert!(s.lines().any(|l| l.starts_with(&head) && l.contains("# ")), "{}: no line for {}", m.name(), a.name);
            }
        }
    }
}
