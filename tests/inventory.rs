//! `steward inventory` against ansible-inventory itself, byte for byte, on a generated
//! inventory of the shape large fleets have: many groups with variables, parent groups,
//! hosts in several groups, `ansible_group_priority`, and `group_vars/` and `host_vars/`
//! folders. ansible-inventory comes from the venv scripts/test makes (STEWARD_PYTHON's folder).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn ansible_inventory() -> PathBuf {
    let venv = std::env::var("STEWARD_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/steward/ansible-venv/bin/python"));
    let bin = venv.with_file_name("ansible-inventory");
    assert!(bin.exists(), "ansible-inventory is needed to compare with ({} is missing; scripts/test makes the venv)", bin.display());
    bin
}

fn generate(dir: &Path, hosts: usize, groups: usize) {
    let mut ini = String::new();
    for h in 0..3 {
        writeln!(ini, "loose{h} x={h}").unwrap();
    }
    for g in 0..groups {
        writeln!(ini, "[g{g}]").unwrap();
        for h in g * hosts / groups..(g + 1) * hosts / groups {
            writeln!(ini, "host{h} ansible_host=10.0.{}.{} idx={h}", h / 256, h % 256).unwrap();
        }
        // Some hosts are in two groups.
        if g % 3 == 0 {
            writeln!(ini, "host{}", (g * 7) % hosts).unwrap();
        }
        writeln!(ini, "[g{g}:vars]\ngv{g}=v{g}\nshared=from_g{g}").unwrap();
    }
    ini += "[web:children]\n";
    for g in (0..groups).step_by(2) {
        writeln!(ini, "g{g}").unwrap();
    }
    ini += "[prod:children]\nweb\ng1\n[web:vars]\nshared=from_web\nansible_group_priority=5\n";
    std::fs::write(dir.join("inv.ini"), ini).unwrap();
    for sub in ["group_vars", "host_vars"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::write(dir.join("group_vars/all.yml"), "everyone: 1\nshared: from_all\n").unwrap();
    std::fs::write(dir.join("group_vars/web.yml"), "webby: true\n").unwrap();
    std::fs::write(dir.join("host_vars/host3.yml"), "special: yes\nshared: from_host\n").unwrap();
}

fn output(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run");
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn inventory_output_is_ansible_inventorys() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    generate(dir, 600, 30);
    let ansible = ansible_inventory();
    for args in
        [&["--list"][..], &["--graph"], &["--graph", "web"], &["--graph", "--vars"], &["--graph", "prod", "--vars"], &["--host", "host3"]]
    {
        let want = output(Command::new(&ansible).args(["-i", "inv.ini"]).args(args).current_dir(dir));
        let got = output(Command::new(env!("CARGO_BIN_EXE_steward")).args(["inventory", "-i", "inv.ini"]).args(args).current_dir(dir));
        if got != want {
            let line = got.lines().zip(want.lines()).position(|(a, b)| a != b).unwrap_or(0);
            panic!(
                "steward inventory {} differs from ansible-inventory from line {}:\n steward: {:?}\n ansible: {:?}",
                args.join(" "),
                line + 1,
                got.lines().nth(line),
                want.lines().nth(line)
            );
        }
    }
}
