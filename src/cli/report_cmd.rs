//! `steward report merge FILES...`: the shards of one run (each `steward run --shard K/N
//! --output json > FILE`) made one run again: one recap on stdout, one HTML report and one JUnit
//! file if asked, and the exit code the whole run would have had.

use indexmap::IndexMap;

use super::{Error, ReportAction, ReportArgs};
use crate::exec::exit;
use crate::report::event::{HostResult, Stats};
use crate::report::json::{read, Recorded};
use crate::report::{Event, HtmlReport, JUnit, Reporter, RunInfo, Terminal};

/// One play as a shard ran it.
struct Play {
    name: String,
    playbook: String,
    named: bool,
    /// Its task starts and results, in order.
    events: Vec<Recorded>,
}

/// What one shard's file holds.
struct Shard {
    plays: Vec<Play>,
    recap: IndexMap<String, Stats>,
    exit_code: i32,
    check: bool,
}

fn load(path: &std::path::Path) -> Result<Shard, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::command(format!("cannot read {}: {e}", path.display())))?;
    let mut shard = Shard { plays: vec![], recap: IndexMap::new(), exit_code: exit::ERROR, check: false };
    let mut ended = false;
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let e = read(line).map_err(|e| Error::command(format!("{}:{}: {e}", path.display(), i + 1)))?;
        match e {
            Some(Recorded::PlayStart { name, playbook, named }) => shard.plays.push(Play { name, playbook, named, events: vec![] }),
            Some(e @ (Recorded::TaskStart { .. } | Recorded::Result(_))) => match shard.plays.last_mut() {
                Some(p) => p.events.push(e),
                None => return Err(Error::command(format!("{}:{}: a result before any play started", path.display(), i + 1))),
            },
            Some(Recorded::Recap(r)) => shard.recap = r,
            Some(Recorded::End { exit_code, check }) => {
                (shard.exit_code, shard.check, ended) = (exit_code, check, true);
            }
            None => {}
        }
    }
    if !ended {
        return Err(Error::command(format!(
            "{}: no end event: that shard did not finish (or its file is not `steward run --output json`)",
            path.display()
        )));
    }
    Ok(shard)
}

/// The whole run's exit code: a shard whose code its own recap does not explain stopped with
/// an error of its own (a playbook it could not load, an interruption), which decides it; else
/// the merged recap decides as a single run's does, a shard run with `--fail-on-change` asking
/// for changes to count.
fn exit_code(shards: &[Shard], recap: &IndexMap<String, Stats>) -> i32 {
    if let Some(s) = shards.iter().find(|s| s.exit_code != exit::of_recap(&s.recap, s.exit_code == exit::CHANGED)) {
        return s.exit_code;
    }
    exit::of_recap(recap, shards.iter().any(|s| s.exit_code == exit::CHANGED))
}

pub fn run(a: ReportArgs) -> Result<i32, Error> {
    let ReportAction::Merge { files, report, junit } = a.action;
    let shards: Vec<Shard> = files.iter().map(|f| load(f)).collect::<Result<_, _>>()?;
    let mut recap: IndexMap<String, Stats> = IndexMap::new();
    for s in &shards {
        for (h, st) in &s.recap {
            recap.entry(h.clone()).or_default().add(st);
        }
    }
    recap.sort_keys();
    let code = exit_code(&shards, &recap);
    let mut playbooks: Vec<String> = Vec::new();
    for p in shards.iter().flat_map(|s| &s.plays) {
        if !playbooks.contains(&p.playbook) {
            playbooks.push(p.playbook.clone());
        }
    }
    let info = RunInfo { playbooks, check: shards.iter().any(|s| s.check) };
    // The files get every event; the terminal only the recap (each shard printed its own run).
    let mut files_out = Reporter::new();
    if let Some(p) = report {
        files_out = files_out.with(HtmlReport::new(p, info));
    }
    if let Some(p) = junit {
        files_out = files_out.with(JUnit::new(p));
    }
    // Play by play: the i-th play of every shard is the same play of the same playbooks.
    let plays = shards.iter().map(|s| s.plays.len()).max().unwrap_or(0);
    for i in 0..plays {
        let Some(first) = shards.iter().find_map(|s| s.plays.get(i)) else { continue };
        files_out.event(Event::PlayStart { name: &first.name, playbook: &first.playbook, named: first.named });
        for p in shards.iter().filter_map(|s| s.plays.get(i)) {
            for e in &p.events {
                match e {
                    Recorded::TaskStart { name, handler } => files_out.event(Event::TaskStart { name, handler: *handler }),
                    Recorded::Result(r) => files_out.event(Event::Result { result: r.as_ref() as &HostResult, loc: None }),
                    _ => {}
                }
            }
        }
    }
    files_out.recap(&recap);
    files_out.finish(code);
    let terminal = Reporter::new().with(Terminal::new(0, false).without_progress());
    terminal.recap(&recap);
    Ok(code)
}
