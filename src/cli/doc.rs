//! `steward doc MODULE`: a module's description, arguments and example.

use super::{DocArgs, Error};
use crate::modules::{self, Kind};

pub fn run(a: DocArgs) -> Result<(), Error> {
    let Some(name) = a.module.filter(|_| !a.list) else {
        let mut all: Vec<_> = modules::MODULES.iter().collect();
        all.sort_by_key(|m| m.name());
        for m in all {
            let first = m.doc().lines().next().unwrap_or("");
            println!("{:<20} {first}", m.name());
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
