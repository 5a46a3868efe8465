//! `steward doc MODULE`: a module's description, arguments and example.

use super::{DocArgs, Error};
use crate::modules::{self, Kind};

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
    print!("{}", render(m));
    Ok(())
}

pub fn render(m: &dyn modules::Module) -> String {
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
        let kind = match a.kind {
            Kind::Str => "string",
            Kind::Bool => "boolean",
            Kind::Int => "integer",
            Kind::List => "list",
            Kind::Dict => "mapping",
            Kind::Mode => "mode",
            Kind::Raw => "any",
        };
        let mut extra = String::new();
        if a.required {
            extra += " (required)";
        }
        if !a.aliases.is_empty() {
            extra += &format!(" (aliases: {})", a.aliases.join(", "));
        }
        out += &format!("  {:<22} {kind:<8} {}{extra}\n", a.name, a.help);
        if !a.choices.is_empty() {
            out += &format!("  {:<22} {:<8} choices: {}\n", "", "", a.choices.join(", "));
        }
    }
    if m.any_args() {
        out += "  (any other name)       any      a variable to set\n";
    }
    if !examples.is_empty() {
        out += "\nexample:\n";
        for line in examples.iter().flat_map(|e| e.lines()) {
            out += &format!("  {line}\n");
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::first_sentence;

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
}
