//! The task graph: `strategy: graph` runs independent tasks side by side, `after:` and data
//! edges order them, cycles and unknown references are refused before anything runs, and
//! `steward graph` prints DOT.

use std::path::Path;
use std::process::Command;

fn dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/graph")
}

fn steward(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_steward")).args(args).current_dir(dir()).env("NO_COLOR", "1").output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn finish_times(file: &Path) -> Vec<f64> {
    std::fs::read_to_string(file).unwrap().lines().map(|l| l.parse().unwrap()).collect()
}

#[test]
fn independent_tasks_run_side_by_side_and_the_fifth_sees_all_four() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let t0 = std::time::Instant::now();
    let (code, stdout, err) = steward(&["run", "-i", "localhost,", "parallel.yml", "-e", &format!("out={}", out.display())]);
    let took = t0.elapsed().as_secs_f64();
    assert_eq!(code, 0, "{stdout}\n{err}");
    let times = finish_times(&out);
    assert_eq!(times.len(), 4, "the fifth task saw all four results");
    // Four one-second tasks finished within moments of each other: they ran at once.
    let spread = times.iter().cloned().fold(f64::MIN, f64::max) - times.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread < 0.5, "finish times spread over {spread:.2}s: the tasks ran one after another");
    assert!(took < 3.5, "took {took:.1}s");
}

#[test]
fn under_linear_the_same_play_keeps_the_written_order() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (code, stdout, err) = steward(&["run", "-i", "localhost,", "linear.yml", "-e", &format!("out={}", out.display())]);
    assert_eq!(code, 0, "{stdout}\n{err}");
    let times = finish_times(&out);
    for w in times.windows(2) {
        assert!(w[1] - w[0] > 0.9, "linear tasks overlapped: {times:?}");
    }
}

fn error_snapshot(name: &str, file: &str) {
    let (code, stdout, stderr) = steward(&["run", file]);
    assert_eq!(code, 4, "{stdout}{stderr}");
    assert!(stdout.is_empty(), "nothing may run: {stdout}");
    insta::assert_snapshot!(name, stderr);
}

#[test]
fn a_cycle_is_refused_with_every_step() {
    error_snapshot("cycle", "cycle.yml");
}

#[test]
fn an_unknown_after_is_refused_with_a_suggestion() {
    error_snapshot("unknown_after", "unknown_after.yml");
}

#[test]
fn after_a_later_task_under_linear_is_a_cycle() {
    error_snapshot("linear_backwards", "linear_backwards.yml");
}

#[test]
fn graph_prints_dot() {
    let (code, stdout, stderr) = steward(&["graph", "dot.yml"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("digraph steward {"));
    insta::assert_snapshot!("dot", stdout);
}
