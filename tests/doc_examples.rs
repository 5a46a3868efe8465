//! Every example in a module's documentation (`src/modules/NAME.md`, under `## Example`) is a
//! task list that loads and passes the checks a playbook gets before it runs.

use std::sync::Arc;

use steward::modules::{doc_parts, MODULES};

#[test]
fn every_doc_example_is_a_valid_task() {
    let dir = std::env::temp_dir().join(format!("steward-doc-examples-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let env = Arc::new(steward::playbook::LoadEnv { roles_path: vec![], extra_vars: Default::default() });
    let mut checked = 0;
    for m in MODULES {
        for (i, ex) in doc_parts(m.doc()).1.into_iter().enumerate() {
            let tasks: String = ex.lines().map(|l| format!("    {l}\n")).collect();
            let path = dir.join(format!("{}-{i}.yml", m.name()));
            std::fs::write(&path, format!("- hosts: all\n  gather_facts: false\n  tasks:\n{tasks}")).unwrap();
            let pb = steward::playbook::load_playbook(&path, &env)
                .unwrap_or_else(|d| panic!("{}.md, example {}: {}\n{ex}", m.name(), i + 1, d.message));
            if let Err(d) = steward::graph::check(&pb.plays) {
                panic!("{}.md, example {}: {}", m.name(), i + 1, d.message);
            }
            checked += 1;
        }
    }
    assert!(checked >= MODULES.len(), "every module has an example");
    let _ = std::fs::remove_dir_all(&dir);
}
