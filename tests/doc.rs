//! `steward doc` as an Ansible user reads it (what ansible-doc shows): every argument's default,
//! the keys a module returns, `-s` task snippets, the shell completions of module names, and
//! modules that are not steward's own. What is expected comes from the module registry and
//! from real runs on localhost, not from the text `steward doc` prints.

mod support;

use std::path::Path;

use serde_json::Value;
use steward::modules::{self, args::all_args, Module, MODULES};

/// `steward doc ARGS...`, which must succeed.
fn doc(args: &[&str]) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let mut all = vec!["doc"];
    all.extend_from_slice(args);
    let (code, out, err) = support::steward(&all, tmp.path());
    assert_eq!(code, 0, "steward doc {args:?}: {err}");
    out
}

/// The lines of `steward doc`'s `arguments:` section that belong to `arg`: its own line and
/// the indented ones under it.
fn argument_lines<'a>(text: &'a str, arg: &str) -> Vec<&'a str> {
    let section = text.split("\narguments:\n").nth(1).unwrap_or("");
    let section = section.split("\n\n").next().unwrap_or("");
    let mut lines = section.lines().skip_while(|l| l.split_whitespace().next() != Some(arg));
    let mut mine: Vec<&str> = lines.next().into_iter().collect();
    mine.extend(lines.take_while(|l| l.starts_with(&" ".repeat(10))));
    mine
}

#[test]
fn every_default_is_shown_under_its_argument() {
    for m in MODULES.iter().filter(|m| all_args(**m).any(|a| a.default.is_some())) {
        let out = doc(&[m.name()]);
        for a in all_args(*m) {
            let lines = argument_lines(&out, a.name);
            assert!(!lines.is_empty(), "{}: no line for {}:\n{out}", m.name(), a.name);
            let shown = lines.iter().find_map(|l| l.trim().strip_prefix("default: "));
            // An empty default is shown quoted, so that it is seen.
            let want = a.default.map(|d| if d.is_empty() { "\"\"" } else { d });
            assert_eq!(shown, want, "{}: the default of {}:\n{}", m.name(), a.name, lines.join("\n"));
        }
    }
}

/// A playbook on localhost that runs `tasks` (YAML, indented for the play).
fn run_local(dir: &Path, tasks: &str) {
    let pb = format!("- hosts: localhost\n  gather_facts: false\n  tasks:\n{tasks}");
    std::fs::write(dir.join("pb.yml"), pb).unwrap();
    let (code, out, err) = support::steward(&["run", "pb.yml", "-i", "localhost,", "-c", "local"], dir);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn copy_replaces_a_changed_file_as_its_force_default_says() {
    let force = all_args(modules::find("copy").unwrap()).find(|a| a.name == "force").and_then(|a| a.default);
    assert!(doc(&["copy"]).lines().any(|l| l.trim() == format!("default: {}", force.unwrap())));
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("f.txt");
    std::fs::write(&dest, "old\n").unwrap();
    run_local(tmp.path(), &format!("    - copy:\n        content: \"new\\n\"\n        dest: {}\n", dest.display()));
    let replaced = std::fs::read_to_string(&dest).unwrap() == "new\n";
    assert_eq!(Some(if replaced { "true" } else { "false" }), force, "copy without force did what its doc's default does not say");
}

/// The keys of a result Ansible's every result may have, which no module's `## Returns` lists.
const COMMON: &[&str] = &["changed", "failed", "msg", "diff", "warnings", "skipped", "exception"];

/// Every key a module's `## Returns` names (`VAR`-style placeholders included).
fn documented(m: &dyn Module) -> Vec<String> {
    let returns = modules::doc_returns(m.doc()).unwrap_or("");
    returns.lines().filter_map(modules::return_item).flat_map(|(keys, _)| keys).map(str::to_string).collect()
}

#[test]
fn what_modules_return_on_localhost_is_documented() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().display();
    std::fs::write(tmp.path().join("in.txt"), "a\nb\n").unwrap();
    let cases: &[(&str, String)] = &[
        ("command", "command: echo hi".into()),
        ("shell", "shell: echo hi >&2".into()),
        ("stat", format!("stat: path={d}/in.txt")),
        ("copy", format!("copy: content=x dest={d}/copied.txt backup=true")),
        ("file", format!("file: path={d}/sub state=directory")),
        ("lineinfile", format!("lineinfile: path={d}/in.txt line=c")),
        ("replace", format!("replace: path={d}/in.txt regexp=^a replace=z")),
        ("find", format!("find: paths={d} patterns=*.txt")),
        ("slurp", format!("slurp: src={d}/in.txt")),
        ("tempfile", format!("tempfile: path={d}")),
        ("ping", "ping:".into()),
        ("assert", "assert: {that: [true]}".into()),
        ("wait_for", "wait_for: timeout=0".into()),
    ];
    let mut tasks = String::new();
    for (i, (_, task)) in cases.iter().enumerate() {
        tasks += &format!("    - {task}\n      register: r{i}\n");
        tasks += &format!("    - copy: {{content: \"{{{{ r{i} | to_json }}}}\", dest: {d}/r{i}.json}}\n");
    }
    run_local(tmp.path(), &tasks);
    for (i, (name, _)) in cases.iter().enumerate() {
        let m = modules::find(name).unwrap();
        let text = std::fs::read_to_string(tmp.path().join(format!("r{i}.json"))).unwrap();
        let result: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
        let listed = documented(m);
        for key in result.keys().filter(|k| !COMMON.contains(&k.as_str())) {
            assert!(listed.contains(key), "{name} returned `{key}`, which its `## Returns` does not list: {listed:?}");
        }
    }
}

#[test]
fn returns_are_shown_after_the_arguments() {
    let out = doc(&["command"]);
    let returns = out.split("\nreturns:\n").nth(1).expect("a returns: section");
    let keys: Vec<&str> = returns.lines().take_while(|l| l.starts_with("  ")).filter_map(|l| l.split_whitespace().next()).collect();
    for key in ["rc", "stdout", "stderr"] {
        assert!(keys.contains(&key), "command's returns lack {key}: {keys:?}");
    }
    assert_eq!(keys, documented(modules::find("command").unwrap()), "every documented key is shown, in order");
}

#[test]
fn snippets_are_tasks_that_name_the_module_and_its_required_arguments() {
    let mut play = String::from("- hosts: localhost\n  gather_facts: false\n  tasks:\n");
    for m in MODULES.iter().filter(|m| all_args(**m).any(|a| a.required)) {
        let text = doc(&["-s", m.name()]);
        let task: Value = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: not YAML ({e}):\n{text}", m.name()));
        let task = &task[0];
        assert!(task["name"].as_str().is_some_and(|n| !n.is_empty()), "{}: no name:\n{text}", m.name());
        let given = task[m.name()].as_object().unwrap_or_else(|| panic!("{}: no arguments under its name:\n{text}", m.name()));
        for a in all_args(*m) {
            assert!(given.contains_key(a.name), "{}: {} missing:\n{text}", m.name(), a.name);
            let line = text.lines().find(|l| l.trim_start().starts_with(&format!("{}:", a.name))).unwrap();
            assert_eq!(line.contains("# (required)"), a.required, "{}: {line}", m.name());
        }
        play += &text.lines().map(|l| format!("    {l}\n")).collect::<String>();
    }
    // Pasted into a playbook, every snippet passes steward's own check of argument names.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("pb.yml"), play).unwrap();
    let (code, out, err) = support::steward(&["run", "--syntax-check", "pb.yml", "-i", "localhost,"], tmp.path());
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn completions_offer_the_module_names() {
    for shell in ["bash", "zsh", "fish"] {
        let tmp = tempfile::tempdir().unwrap();
        let (code, out, err) = support::steward(&["completions", shell], tmp.path());
        assert_eq!(code, 0, "{err}");
        let words: std::collections::HashSet<&str> = out.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')).collect();
        for m in MODULES {
            for name in [m.name().to_string(), format!("ansible.builtin.{}", m.name())] {
                assert!(words.contains(name.as_str()), "{shell} completions lack {name}");
            }
        }
    }
}

#[test]
fn a_module_steward_does_not_have_is_still_documented_from_library() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("library")).unwrap();
    let module = "#!/usr/bin/python\nDOCUMENTATION = '''\nmodule: site_probe\nshort_description: Probe the site\noptions:\n  url:\n    description: where\n'''\n";
    std::fs::write(tmp.path().join("library/site_probe.py"), module).unwrap();
    for args in [&["doc", "site_probe"][..], &["doc", "-s", "site_probe"]] {
        let (code, out, err) = support::steward(args, tmp.path());
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(out.contains("site_probe") && out.contains("Probe the site"), "{args:?}:\n{out}");
    }
    // A name found nowhere is the command's error, not a refusal by the argument parser (2).
    let (code, _, err) = support::steward(&["doc", "site_prob"], tmp.path());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no module `site_prob`"), "{err}");
}
