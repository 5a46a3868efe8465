//! No import points up the pipeline: each part of `src/` uses only the parts below it, in the
//! order README's "How it is built" gives (and `src/lib.rs`). A `crate::X` path in a file of a
//! lower layer to a higher one fails here, naming the file and the line.

use std::path::Path;

/// From the top (the command line) to the base (text forms, diagnostics). Parts on one line
/// are one layer and do not use each other.
const LAYERS: &[&[&str]] = &[
    &["cli"],
    &["exec"],
    &["graph"],
    &["playbook"],
    &["modules"],
    &["template"],
    &["ansible_core", "inventory"],
    &["connection"],
    &["report"],
    &["config"],
    &["yaml"],
    &["vault", "crypt"],
    &["random", "diag", "kv", "jsonpath", "pytext"],
];

fn layer_of(part: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&part))
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_part_is_in_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    for line in lib.lines() {
        if let Some(part) = line.strip_prefix("pub mod ").and_then(|l| l.strip_suffix(';')) {
            assert!(layer_of(part).is_some(), "src/{part} is in no layer of tests/layers.rs");
        }
    }
}

#[test]
fn no_import_points_up() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let re = regex::Regex::new(r"crate::([a-z_]+)").unwrap();
    let mut wrong = Vec::new();
    for f in all {
        let rel = f.strip_prefix(&src).unwrap();
        let part = rel.iter().next().unwrap().to_string_lossy().trim_end_matches(".rs").to_string();
        let Some(own) = layer_of(&part) else { continue };
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in text.lines().enumerate() {
            for c in re.captures_iter(line) {
                let used = &c[1];
                if used == part {
                    continue;
                }
                match layer_of(used) {
                    Some(l) if l > own => {}
                    Some(_) => wrong.push(format!("src/{}:{}: {part} uses {used}, which is not below it", rel.display(), n + 1)),
                    None => {}
                }
            }
        }
    }
    assert!(wrong.is_empty(), "imports that point up the pipeline:\n{}", wrong.join("\n"));
}
