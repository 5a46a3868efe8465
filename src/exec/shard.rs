//! `--shard K/N`: run the K-th of N stable slices of the inventory, so that N controllers (the
//! jobs of a scheduler people already run) share a fleet. A host's slice comes from a hash of its
//! name alone, so adding a host moves only that host. `--shard auto` reads the slice from the
//! scheduler's environment: Kubernetes Indexed Jobs, GitLab CI `parallel:`, Slurm job arrays.
//!
//! Features whose meaning spans hosts of other shards are refused before the run (`run_once`,
//! `any_errors_fatal`, `max_fail_percentage`, a `serial` percentage); a task that reads
//! `hostvars` gets a warning, as it sees only the inventory variables of hosts in other shards.

use std::sync::Arc;

use sha1::Digest;

use crate::diag::Diagnostic;
use crate::playbook::{each_task, Nest, Play};

/// One slice of N: `index` counts from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// `K/N` (K from 1 to N), or `auto` read from `env`.
    pub fn parse(spec: &str, env: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        if spec == "auto" {
            return Shard::from_env(env);
        }
        let (k, n) = spec.split_once('/').ok_or_else(|| format!("--shard {spec}: expected K/N (such as 2/8) or auto"))?;
        let num = |s: &str| s.trim().parse::<u64>().map_err(|_| format!("--shard {spec}: `{s}` is not a whole number"));
        let (k, n) = (num(k)?, num(n)?);
        if n == 0 || k == 0 || k > n {
            return Err(format!("--shard {spec}: K must be from 1 to N, and N at least 1"));
        }
        Ok(Shard { index: k - 1, count: n })
    }

    /// The slice a scheduler gave this job.
    fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let num = |name: &str| -> Result<Option<u64>, String> {
            env(name).map(|v| v.trim().parse::<u64>().map_err(|_| format!("--shard auto: {name}={v} is not a whole number"))).transpose()
        };
        let check = |index: u64, count: u64, from: &str| {
            if count == 0 || index >= count {
                return Err(format!("--shard auto: {from} gives slice {} of {count}", index + 1));
            }
            Ok(Shard { index, count })
        };
        // Kubernetes Indexed Job: the index counts from 0; the job's completions come from the
        // manifest (the pod sees no such variable unless the manifest sets one).
        if let Some(i) = num("JOB_COMPLETION_INDEX")? {
            let n = num("JOB_COMPLETIONS")?.or(num("STEWARD_SHARDS")?).ok_or(
                "--shard auto: JOB_COMPLETION_INDEX is set, but not the job's completions: set JOB_COMPLETIONS in the pod's env to spec.completions",
            )?;
            return check(i, n, "JOB_COMPLETION_INDEX/JOB_COMPLETIONS");
        }
        // GitLab CI `parallel: N`: CI_NODE_INDEX counts from 1.
        if let (Some(i), Some(n)) = (num("CI_NODE_INDEX")?, num("CI_NODE_TOTAL")?) {
            return check(i.saturating_sub(1), n, "CI_NODE_INDEX/CI_NODE_TOTAL");
        }
        // Slurm job array: the task ids run from SLURM_ARRAY_TASK_MIN in steps of one.
        if let (Some(i), Some(n)) = (num("SLURM_ARRAY_TASK_ID")?, num("SLURM_ARRAY_TASK_COUNT")?) {
            let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            return check(i.saturating_sub(min), n, "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT");
        }
        Err("--shard auto: no shard in the environment (JOB_COMPLETION_INDEX, CI_NODE_INDEX/CI_NODE_TOTAL, SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT); a GitHub Actions matrix passes --shard ${{ matrix.shard }}/N".into())
    }

    /// Whether `host` is in this slice: by a hash of its name only.
    pub fn contains(&self, host: &str) -> bool {
        let h = sha1::Sha1::digest(host.as_bytes());
        let n = u64::from_be_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]]);
        n % self.count == self.index
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index + 1, self.count)
    }
}

/// Refuse what would silently change meaning when each shard sees only its own hosts.
pub fn check(plays: &[Arc<Play>], shard: Shard) -> Result<(), Diagnostic> {
    let refuse = |what: &str, loc: &crate::diag::Loc| {
        Diagnostic::new(format!("--shard {shard}: {what} spans the hosts of every shard, and a shard sees only its own"))
            .at(loc.clone(), "here")
            .help("run this play without --shard (or in a playbook of its own), or drop the keyword")
    };
    let on = |v: &Option<serde_json::Value>| v.as_ref().is_some_and(crate::template::filters_bool);
    for p in plays {
        if p.max_fail_percentage.is_some() {
            return Err(refuse("`max_fail_percentage`", &p.loc));
        }
        if on(&p.kw.any_errors_fatal) {
            return Err(refuse("`any_errors_fatal`", &p.loc));
        }
        if on(&p.kw.run_once) {
            return Err(refuse("`run_once`", &p.loc));
        }
        let serial = p.serial.iter().flat_map(|s| s.as_array().cloned().unwrap_or_else(|| vec![s.clone()]));
        if serial.into_iter().any(|s| s.as_str().is_some_and(|s| s.trim_end().ends_with('%'))) {
            return Err(refuse("a `serial` percentage", &p.loc));
        }
        let mut first = Ok(());
        for sec in [&p.pre_tasks, &p.tasks, &p.post_tasks, &p.handlers] {
            each_task(sec, Nest::default(), &mut |t, _| {
                if first.is_err() {
                    return;
                }
                if on(&t.kw.run_once) {
                    first = Err(refuse("`run_once`", &t.loc));
                } else if on(&t.kw.any_errors_fatal) {
                    first = Err(refuse("`any_errors_fatal`", &t.loc));
                } else if crate::graph::reads_hostvars(t) {
                    crate::diag::warn(&format!(
                        "--shard {shard}: task `{}` ({}:{}) reads hostvars: hosts of other shards have their inventory variables there, but no facts or registered results",
                        t.display_name(),
                        crate::diag::relative(&t.loc.file),
                        t.loc.line
                    ));
                }
            });
        }
        first?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn slices_from_the_flag_and_from_each_scheduler() {
        let none = env(&[]);
        assert_eq!(Shard::parse("2/8", &none), Ok(Shard { index: 1, count: 8 }));
        assert!(Shard::parse("0/8", &none).is_err() && Shard::parse("9/8", &none).is_err() && Shard::parse("2", &none).is_err());
        let k8s = [("JOB_COMPLETION_INDEX", "0"), ("JOB_COMPLETIONS", "4")];
        assert_eq!(Shard::parse("auto", env(&k8s)), Ok(Shard { index: 0, count: 4 }));
        assert!(Shard::parse("auto", env(&[("JOB_COMPLETION_INDEX", "0")])).unwrap_err().contains("JOB_COMPLETIONS"));
        let gitlab = [("CI_NODE_INDEX", "3"), ("CI_NODE_TOTAL", "3")];
        assert_eq!(Shard::parse("auto", env(&gitlab)), Ok(Shard { index: 2, count: 3 }));
        let slurm = [("SLURM_ARRAY_TASK_ID", "11"), ("SLURM_ARRAY_TASK_MIN", "10"), ("SLURM_ARRAY_TASK_COUNT", "5")];
        assert_eq!(Shard::parse("auto", env(&slurm)), Ok(Shard { index: 1, count: 5 }));
        assert!(Shard::parse("auto", &none).unwrap_err().contains("matrix.shard"));
    }

    #[test]
    fn every_host_is_in_one_slice_and_adding_hosts_moves_none_of_the_others() {
        let hosts: Vec<String> = (0..5000).map(|i| format!("web{i}.example.com")).collect();
        let slice = |n: u64, h: &str| (0..n).find(|&i| Shard { index: i, count: n }.contains(h)).unwrap();
        let before: Vec<u64> = hosts.iter().map(|h| slice(8, h)).collect();
        for i in 0..8 {
            let share = before.iter().filter(|&&s| s == i).count();
            assert!((500..=750).contains(&share), "slice {i} has {share} of 5000 hosts");
        }
        // The slice of a host depends on its name only: more hosts move none of these.
        let again: Vec<u64> = hosts.iter().map(|h| slice(8, h)).collect();
        assert_eq!(before, again);
    }
}
