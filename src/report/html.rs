//! `--report FILE.html`: a self-contained HTML page about a run that a support team can hand on:
//! the recap, what changed where (with diffs), failures with their messages and stderr, and
//! timings per host. One file, inline CSS, no script; `no_log` results are hidden and known
//! secrets masked, as everywhere else. A `--check` run says "would change" throughout: nothing
//! was changed.

use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use indexmap::IndexMap;

use super::event::{Event, HostResult, Stats};
use super::Sink;

struct Rec {
    play: String,
    task: String,
    host: String,
    status: &'static str,
    duration: f64,
    msg: String,
    stderr: String,
    diffs: Vec<String>,
    hidden: bool,
}

/// What the page says about the run as a whole.
#[derive(Clone, Debug, Default)]
pub struct RunInfo {
    /// The playbooks given on the command line.
    pub playbooks: Vec<String>,
    /// `--check`: the changes are predictions.
    pub check: bool,
}

pub struct HtmlReport {
    path: std::path::PathBuf,
    info: RunInfo,
    started: Instant,
    started_at: i64,
    /// The play running now.
    play: Mutex<String>,
    recs: Mutex<Vec<Rec>>,
    stats: Mutex<IndexMap<String, Stats>>,
}

/// "1 host", "2 hosts".
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A play as the page names it: by its name, or, unnamed, by the hosts it ran on.
fn play_label(name: &str, named: bool) -> String {
    if named {
        format!("play {name}")
    } else {
        format!("unnamed play on {name}")
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A unified diff with its lines classed for colour.
fn diff_html(d: &str) -> String {
    d.lines()
        .map(|l| {
            let class = if l.starts_with("+++") || l.starts_with("---") {
                "h"
            } else if l.starts_with('+') {
                "a"
            } else if l.starts_with('-') {
                "d"
            } else if l.starts_with("@@") {
                "u"
            } else {
                "c"
            };
            format!("<span class=\"{class}\">{}</span>\n", esc(l))
        })
        .collect()
}

const CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}\
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}\
.meta{color:#555}.pill{display:inline-block;padding:.1em .6em;border-radius:1em;font-weight:600}\
.ok{background:#e3f5e1;color:#1b6b1b}.changed{background:#fff3cd;color:#7a5a00}.failed,.unreachable{background:#fde2e1;color:#9b1c1c}\
.skipped{background:#e6eef8;color:#1d4f91}table{border-collapse:collapse;width:100%;margin:.5em 0}\
th,td{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}th{background:#f5f5f5}\
td.n{text-align:right;font-variant-numeric:tabular-nums}pre{background:#f8f8f8;border:1px solid #e5e5e5;padding:.6em;overflow:auto;white-space:pre-wrap}\
pre .a{color:#116611}pre .d{color:#aa1111}pre .u{color:#6a4ea1}pre .h{color:#555;font-weight:600}\
details{margin:.3em 0}summary{cursor:pointer}.bar{background:#5b8def;height:.7em;display:inline-block;border-radius:2px}";

impl Sink for HtmlReport {
    fn event(&self, e: &Event<'_>) {
        match *e {
            Event::PlayStart { name, named, .. } => {
                if let Ok(mut p) = self.play.lock() {
                    *p = play_label(name, named);
                }
            }
            Event::Result { result, .. } => {
                let play = self.play.lock().map(|p| p.clone()).unwrap_or_default();
                self.result(&play, result);
            }
            Event::Recap(stats) => self.recap(stats),
            _ => {}
        }
    }

    fn finish(&self, exit_code: i32) {
        if let Err(e) = self.write(exit_code) {
            eprintln!("[ERROR]: cannot write the HTML report: {e}");
        }
    }
}

impl HtmlReport {
    pub fn new(path: std::path::PathBuf, info: RunInfo) -> HtmlReport {
        let started_at = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        HtmlReport {
            path,
            info,
            started: Instant::now(),
            started_at,
            play: Mutex::new(String::new()),
            recs: Mutex::new(Vec::new()),
            stats: Mutex::new(IndexMap::new()),
        }
    }

    fn result(&self, play: &str, r: &HostResult) {
        let word = r.word();
        let text = |k: &str| r.result.get(k).map(crate::pytext::to_text).unwrap_or_default();
        let mut diffs: Vec<String> = r.diffs.iter().map(super::terminal::unified_diff).collect();
        for item in &r.items {
            diffs.extend(item.diffs.iter().map(super::terminal::unified_diff));
        }
        let rec = Rec {
            play: play.to_string(),
            task: r.task.clone(),
            host: r.host.clone(),
            status: word,
            duration: r.duration,
            msg: if r.no_log { String::new() } else { r.msg() },
            stderr: if r.no_log { String::new() } else { text("stderr") },
            diffs: if r.no_log { vec![] } else { diffs },
            hidden: r.no_log,
        };
        if let Ok(mut v) = self.recs.lock() {
            v.push(rec);
        }
    }

    fn recap(&self, stats: &IndexMap<String, Stats>) {
        if let Ok(mut s) = self.stats.lock() {
            *s = stats.clone();
        }
    }

    fn write(&self, exit_code: i32) -> std::io::Result<()> {
        let recs = self.recs.lock().map(|mut r| std::mem::take(&mut *r)).unwrap_or_default();
        let stats = self.stats.lock().map(|s| s.clone()).unwrap_or_default();
        let took = self.started.elapsed().as_secs_f64();
        let when = crate::pytext::format_time("%Y-%m-%d %H:%M:%S %Z", self.started_at, false);
        let meaning = match exit_code {
            0 => "success",
            2 => "a task failed",
            4 => "a host was unreachable, or the playbook could not be checked",
            10 => "something changed, or would change (--fail-on-change)",
            99 => "interrupted",
            _ => "error",
        };
        let class = if exit_code == 0 {
            "ok"
        } else if exit_code == 10 {
            "changed"
        } else {
            "failed"
        };
        let check = self.info.check;
        // The header counts what the recap table counts.
        let changes: usize = stats.values().map(|s| s.changed as usize).sum();
        let failures: usize = stats.values().map(|s| (s.failed + s.unreachable) as usize).sum();
        let changed: Vec<&Rec> = recs.iter().filter(|r| r.status == "changed").collect();
        let failed: Vec<&Rec> = recs.iter().filter(|r| r.status == "failed" || r.status == "unreachable").collect();
        let handled: Vec<&Rec> = recs.iter().filter(|r| r.status == "rescued" || r.status == "ignored").collect();
        let changed_word = if check { "would change" } else { "changed" };
        let books = self.info.playbooks.join(", ");
        let mut h = String::new();
        h +=
            &format!("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>steward run report: {}</title>", esc(&books));
        h += &format!("<style>{CSS}</style></head><body>\n");
        h += &format!("<h1>steward run report: <span id=\"playbook\">{}</span></h1>\n", esc(&books));
        if check {
            h += "<p id=\"mode\"><span class=\"pill changed\">check mode</span> Nothing was changed: what is shown as changes is what a real run would change.</p>\n";
        }
        h += &format!(
            "<p class=\"meta\">Started {} · took {took:.1} s · {} · {} · {} · exit code <span class=\"pill {class}\" id=\"exit\">{exit_code}</span> ({meaning})</p>\n",
            esc(&when),
            count(stats.len(), "host", "hosts"),
            if check { count(changes, "change predicted", "changes predicted") } else { count(changes, "change", "changes") },
            count(failures, "failure", "failures"),
        );
        // Recap.
        h += "<h2 id=\"recap\">Recap</h2>\n<table><tr><th>host</th><th>ok</th><th>changed</th><th>unreachable</th><th>failed</th><th>skipped</th><th>rescued</th><th>ignored</th><th>time</th></tr>\n";
        let mut per_host: IndexMap<&str, f64> = IndexMap::new();
        for r in &recs {
            *per_host.entry(r.host.as_str()).or_default() += r.duration;
        }
        for (host, s) in &stats {
            let cls = s.verdict();
            h += &format!(
                "<tr><td><span class=\"pill {cls}\">{}</span></td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{:.2} s</td></tr>\n",
                esc(host),
                s.ok,
                s.changed,
                s.unreachable,
                s.failed,
                s.skipped,
                s.rescued,
                s.ignored,
                per_host.get(host.as_str()).copied().unwrap_or(0.0)
            );
        }
        h += "</table>\n";
        // Failures first: they are what the reader needs.
        h += &format!("<h2 id=\"failures\">Failures ({})</h2>\n", failed.len());
        if failed.is_empty() {
            h += "<p>None.</p>\n";
        }
        for r in &failed {
            h += &format!(
                "<h3><span class=\"pill {}\">{}</span> {} — {} <span class=\"meta\">({})</span></h3>\n",
                r.status,
                r.status,
                esc(&r.host),
                esc(&r.task),
                esc(&r.play)
            );
            if r.hidden {
                h += "<p><em>Hidden (no_log).</em></p>\n";
                continue;
            }
            h += &format!("<pre>{}</pre>\n", esc(&r.msg));
            if !r.stderr.trim().is_empty() {
                h += &format!("<p>stderr:</p><pre>{}</pre>\n", esc(&r.stderr));
            }
        }
        // Failures the playbook handled: a rescue ran, or the task said to ignore them.
        h += &format!("<h2 id=\"handled\">Rescued and ignored failures ({})</h2>\n", handled.len());
        if handled.is_empty() {
            h += "<p>None.</p>\n";
        }
        for r in &handled {
            h += &format!("<h3><span class=\"pill skipped\">{}</span> {} — {}</h3>\n", r.status, esc(&r.host), esc(&r.task));
            if r.hidden {
                h += "<p><em>Hidden (no_log).</em></p>\n";
            } else {
                h += &format!("<pre>{}</pre>\n", esc(&r.msg));
            }
        }
        // What changed where.
        let title = if check { "Would change" } else { "Changes" };
        h += &format!("<h2 id=\"changes\">{title} ({})</h2>\n", changed.len());
        if changed.is_empty() {
            h += if check { "<p>Nothing would change.</p>\n" } else { "<p>Nothing changed.</p>\n" };
        }
        let mut by_host: IndexMap<&str, Vec<&Rec>> = IndexMap::new();
        for r in &changed {
            by_host.entry(r.host.as_str()).or_default().push(r);
        }
        for (host, list) in &by_host {
            h += &format!(
                "<h3>{} <span class=\"pill changed\">{} {changed_word}</span></h3>\n<ul>\n",
                esc(host),
                count(list.len(), "task", "tasks")
            );
            for r in list {
                h += &format!("<li>{} <span class=\"meta\">({}, {:.2} s)</span>", esc(&r.task), esc(&r.play), r.duration);
                if r.hidden {
                    h += " <em>details hidden (no_log)</em>";
                }
                for d in &r.diffs {
                    h += &format!("<details open><summary>diff</summary><pre>{}</pre></details>", diff_html(d));
                }
                h += "</li>\n";
            }
            h += "</ul>\n";
        }
        // Timings.
        h += "<h2 id=\"timings\">Timings</h2>\n<table><tr><th>host</th><th>time in tasks</th><th></th></tr>\n";
        let max = per_host.values().copied().fold(0.0f64, f64::max).max(0.001);
        for (host, t) in &per_host {
            h += &format!(
                "<tr><td>{}</td><td class=n>{t:.2} s</td><td><span class=bar style=\"width:{:.0}px\"></span></td></tr>\n",
                esc(host),
                300.0 * t / max
            );
        }
        h += "</table>\n<h3>Slowest tasks</h3>\n<table><tr><th>host</th><th>task</th><th>status</th><th>time</th></tr>\n";
        let mut slow: Vec<&Rec> = recs.iter().collect();
        slow.sort_by(|a, b| b.duration.partial_cmp(&a.duration).unwrap_or(std::cmp::Ordering::Equal));
        for r in slow.iter().take(10) {
            let word = if r.status == "changed" { changed_word } else { r.status };
            h += &format!(
                "<tr><td>{}</td><td>{}</td><td><span class=\"pill {}\">{word}</span></td><td class=n>{:.2} s</td></tr>\n",
                esc(&r.host),
                esc(&r.task),
                r.status,
                r.duration
            );
        }
        h += "</table>\n<p class=\"meta\">Made by steward ";
        h += env!("CARGO_PKG_VERSION");
        h += ".</p>\n</body></html>\n";
        let h = crate::vault::mask(&h).into_owned();
        // Written to a temporary name and renamed, as every file steward writes.
        let tmp = self.path.with_extension("html.tmp");
        std::fs::write(&tmp, h)?;
        std::fs::rename(&tmp, &self.path)
    }
}
