//! `setup`: gather facts as ansible-core's `setup` module names and shapes them, with no
//! Python on the host: one POSIX shell script (`gather.sh`), one round trip, then the
//! collectors here read its output into facts.
//!
//! `gather_subset` picks collectors as Ansible does (names like `network`, fact names like
//! `devices` that stand for their collector, `!name` to leave one out, `min` always in unless
//! `!min`); only the chosen collectors' shell functions run. `filter` keeps facts whose names
//! match its globs, `fact_path` is where `ansible_local` comes from, and `gather_timeout`
//! bounds the slow part (statfs of the mounts, which hangs on a dead network mount).
//!
//! Where steward cannot ask what Ansible asks, it reads the same thing another way, and says
//! so here: `ansible_python` comes from `python -V` of the interpreter Ansible would use (the
//! inventory's `ansible_python_interpreter`, else its discovery list), with `type` cpython
//! unless it says PyPy and `has_sslcontext` true; it is left out on a host with no Python.
//! SELinux state comes from /sys/fs/selinux and /etc/selinux/config rather than libselinux.
//! `loadavg` has /proc/loadavg's two decimals (Python's getloadavg is exact). `facter` and
//! `ohai` are accepted subsets that gather nothing. `env` is the environment the connection
//! gives (Ansible's SSH adds SSH_TTY and TERM with its pty, and LANG through SendEnv).
//! `interfaces` lists /sys/class/net in directory order, and `virtualization_tech_*` sorted:
//! Ansible passes both through a Python set, so its order changes from run to run.

mod distribution;
mod hardware;
mod local;
mod network;
mod sections;
mod system;
mod virt;

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::{fail, Arg, Args, ModError, Module, Outcome, Plan, TaskCtx};
use sections::Sections;
use system::Facts;

pub struct Setup;

const SCRIPT: &str = include_str!("gather.sh");

/// One of Ansible's fact collectors: its `gather_subset` name, the fact names that also
/// select it, and the collectors it needs first.
struct Collector {
    name: &'static str,
    fact_ids: &'static [&'static str],
    requires: &'static [&'static str],
}

const fn c(name: &'static str, fact_ids: &'static [&'static str], requires: &'static [&'static str]) -> Collector {
    Collector { name, fact_ids, requires }
}

/// Ansible's Linux collectors, in its order (base, restrictive, general, virtual, hardware,
/// network, extra). `facter` and `ohai` gather nothing here (they need those tools' Ruby).
const COLLECTORS: &[Collector] = &[
    c("platform", &["system", "kernel", "kernel_version", "machine", "python_version", "architecture", "machine_id"], &[]),
    c("distribution", &["distribution_version", "distribution_release", "distribution_major_version", "os_family"], &[]),
    c("lsb", &[], &[]),
    c("selinux", &[], &[]),
    c("apparmor", &[], &[]),
    c("chroot", &["is_chroot"], &[]),
    c("fips", &[], &[]),
    c("python", &[], &[]),
    c("caps", &["system_capabilities", "system_capabilities_enforced"], &[]),
    c("pkg_mgr", &[], &["distribution"]),
    c("service_mgr", &[], &["platform", "distribution"]),
    c("cmdline", &[], &[]),
    c("date_time", &[], &[]),
    c("env", &[], &[]),
    c("loadavg", &[], &[]),
    c(
        "ssh_pub_keys",
        &[
            "ssh_host_pub_keys",
            "ssh_host_key_dsa_public",
            "ssh_host_key_rsa_public",
            "ssh_host_key_ecdsa_public",
            "ssh_host_key_ed25519_public",
        ],
        &[],
    ),
    c(
        "user",
        &[
            "user_id",
            "user_uid",
            "user_gid",
            "user_gecos",
            "user_dir",
            "user_shell",
            "real_user_id",
            "effective_user_id",
            "effective_group_ids",
        ],
        &[],
    ),
    c("systemd", &[], &[]),
    c("virtual", &["virtualization_type", "virtualization_role", "virtualization_tech_guest", "virtualization_tech_host"], &[]),
    c("hardware", &["processor", "processor_cores", "processor_count", "mounts", "devices"], &["platform"]),
    c("dns", &[], &[]),
    c("fibre_channel_wwn", &[], &[]),
    c(
        "network",
        &["interfaces", "default_ipv4", "default_ipv6", "all_ipv4_addresses", "all_ipv6_addresses"],
        &["distribution", "platform"],
    ),
    c("iscsi", &[], &[]),
    c("nvme", &[], &[]),
    c("local", &[], &[]),
    c("facter", &[], &[]),
    c("ohai", &[], &[]),
];

/// What `setup` always gathers (the `min` subset), as ansible-core's setup module lists it.
const MINIMAL: &[&str] = &[
    "apparmor",
    "caps",
    "cmdline",
    "date_time",
    "distribution",
    "dns",
    "env",
    "fips",
    "local",
    "lsb",
    "pkg_mgr",
    "platform",
    "python",
    "selinux",
    "service_mgr",
    "ssh_pub_keys",
    "user",
];

/// The collectors a `gather_subset` selects, in [`COLLECTORS`] order; Ansible's message for
/// an unknown subset otherwise.
fn select(gather_subset: &[String]) -> Result<Vec<&'static str>, String> {
    use std::collections::BTreeSet;
    let valid: BTreeSet<&str> = COLLECTORS.iter().flat_map(|c| std::iter::once(c.name).chain(c.fact_ids.iter().copied())).collect();
    let aliases =
        |name: &str| -> Vec<&'static str> { COLLECTORS.iter().find(|c| c.name == name).map(|c| c.fact_ids.to_vec()).unwrap_or_default() };
    let subset: Vec<String> = if gather_subset.is_empty() { vec!["all".into()] } else { gather_subset.to_vec() };
    let mut add: BTreeSet<&str> = BTreeSet::new();
    let mut exclude: BTreeSet<&str> = BTreeSet::new();
    let mut explicit: BTreeSet<&str> = BTreeSet::new();
    for s in std::iter::once("min").chain(subset.iter().map(String::as_str)) {
        match s {
            "min" => add.extend(MINIMAL),
            "all" => add.extend(valid.iter().copied()),
            _ => match s.strip_prefix('!') {
                Some("min") => exclude.extend(MINIMAL),
                Some("all") => exclude.extend(valid.iter().filter(|v| !MINIMAL.contains(v))),
                Some(x) => {
                    exclude.extend(aliases(x));
                    if let Some(v) = valid.get(x) {
                        exclude.insert(v);
                    }
                }
                None => {
                    let Some(&v) = valid.get(s) else {
                        let list = valid.iter().copied().collect::<Vec<_>>().join(", ");
                        return Err(format!("Bad subset '{s}' given to Ansible. gather_subset options allowed: all, {list}"));
                    };
                    explicit.insert(v);
                    add.insert(v);
                }
            },
        }
    }
    if add.is_empty() {
        add.extend(valid.iter().copied());
    }
    add.retain(|a| !exclude.contains(a) || explicit.contains(a));
    let mut chosen: BTreeSet<&'static str> =
        COLLECTORS.iter().filter(|c| add.contains(c.name) || c.fact_ids.iter().any(|f| add.contains(f))).map(|c| c.name).collect();
    // Requirements pull in their collectors too (pkg_mgr needs distribution, ...).
    loop {
        let more: Vec<&'static str> = COLLECTORS
            .iter()
            .filter(|c| chosen.contains(c.name))
            .flat_map(|c| c.requires.iter().copied())
            .filter(|r| !chosen.contains(r))
            .collect();
        if more.is_empty() {
            break;
        }
        chosen.extend(more);
    }
    Ok(COLLECTORS.iter().map(|c| c.name).filter(|n| chosen.contains(n)).collect())
}

/// The shell script for these collectors: settings, the functions, then the calls.
fn script(collectors: &[&str], fact_path: &str, timeout: i64, python: Option<&str>) -> String {
    let q = crate::pytext::shell_quote;
    let mut s = format!("FACT_PATH={}\nGATHER_TIMEOUT={}\nSTEWARD_PY={}\n", q(fact_path), timeout.max(1), q(python.unwrap_or("")));
    // fact_path is a `path` argument: Ansible expands `~` on the host.
    s.push_str("case $FACT_PATH in \"~\"|\"~/\"*) FACT_PATH=$HOME${FACT_PATH#\\~} ;; esac\n");
    s.push_str(SCRIPT);
    for c in collectors {
        if !matches!(*c, "facter" | "ohai") {
            s.push_str(&format!("c_{c}\n"));
        }
    }
    s
}

/// The facts from one run of the script, unprefixed (`distribution`, `eth0`, ...).
fn collect(out: &Sections, collectors: &[&str], warnings: &mut Vec<String>) -> Facts {
    let mut f = Facts::new();
    for c in collectors {
        match *c {
            "platform" => system::platform(out, &mut f),
            "distribution" => distribution::distribution(out, &mut f),
            "lsb" => distribution::lsb(out, &mut f),
            "selinux" => system::selinux(out, &mut f),
            "apparmor" => system::apparmor(out, &mut f),
            "chroot" => system::chroot(out, &mut f),
            "fips" => system::fips(out, &mut f),
            "python" => system::python(out, &mut f),
            "caps" => system::caps(out, &mut f),
            "pkg_mgr" => system::pkg_mgr(out, &mut f),
            "service_mgr" => system::service_mgr(out, &mut f),
            "cmdline" => system::cmdline(out, &mut f),
            "date_time" => system::date_time(out, &mut f),
            "env" => system::env(out, &mut f),
            "loadavg" => system::loadavg(out, &mut f),
            "ssh_pub_keys" => system::ssh_pub_keys(out, &mut f),
            "user" => system::user(out, &mut f),
            "systemd" => system::systemd(out, &mut f),
            "virtual" => virt::virtual_(out, &mut f),
            "hardware" => hardware::hardware(out, &mut f, warnings),
            "dns" => network::dns(out, &mut f),
            "fibre_channel_wwn" => network::fibre_channel_wwn(out, &mut f),
            "network" => network::network(out, &mut f),
            "iscsi" => network::iscsi(out, &mut f),
            "nvme" => network::nvme(out, &mut f),
            "local" => {
                let l = local::local(out, warnings);
                f.insert("local".into(), l);
            }
            _ => {}
        }
    }
    f
}

/// Ansible's `filter`: a fact is kept if its name matches a glob, or `ansible_` + the glob
/// (for globs that do not already start with `ansible_`, `facter` or `ohai`).
fn keep(name: &str, filters: &[glob::Pattern]) -> bool {
    filters.is_empty()
        || filters.iter().any(|p| {
            let s = p.as_str();
            s.is_empty()
                || p.matches(name)
                || (!(s.starts_with("ansible_") || s.starts_with("facter") || s.starts_with("ohai"))
                    && glob::Pattern::new(&format!("ansible_{s}")).is_ok_and(|g| g.matches(name)))
        })
}

/// The whole answer: prefixed facts plus `gather_subset` and `module_setup`, filtered and
/// sorted by name (as Ansible's output shows them).
fn finish(facts: Facts, gather_subset: &[String], filters: &[String]) -> Map<String, Value> {
    let pats: Vec<glob::Pattern> = filters.iter().filter(|f| f.as_str() != "*").filter_map(|f| glob::Pattern::new(f).ok()).collect();
    // Ansible's namespace turns '-' into '_' in the name (ansible_br_1a2b for br-1a2b).
    let mut all: Vec<(String, Value)> = facts.into_iter().map(|(k, v)| (format!("ansible_{}", k.replace('-', "_")), v)).collect();
    let subset = if gather_subset.is_empty() { vec!["all".to_string()] } else { gather_subset.to_vec() };
    all.push(("gather_subset".into(), json!(subset)));
    all.push(("module_setup".into(), json!(true)));
    all.retain(|(k, _)| keep(k, &pats));
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all.into_iter().collect()
}

/// The interpreter Ansible would report in `ansible_python`: the inventory's
/// `ansible_python_interpreter`, else found by discovery on the host.
fn python_interpreter(ctx: &TaskCtx) -> Option<String> {
    let v = ctx.scope.resolve("ansible_python_interpreter").ok().flatten()?;
    let s = v.as_str()?.trim().to_string();
    (!s.is_empty() && !s.starts_with("auto")).then_some(s)
}

#[async_trait]
impl Module for Setup {
    fn name(&self) -> &'static str {
        "setup"
    }
    fn doc(&self) -> &'static str {
        include_str!("setup.md")
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::list("gather_subset", "which facts: all, min, network, hardware, virtual, ... or !NAME to leave one out").default("all"),
            Arg::list("filter", "only facts whose names match these shell-style patterns").default("*"),
            Arg::int("gather_timeout", "seconds allowed for the slow parts (mount sizes)").default("10"),
            Arg::str("fact_path", "folder of *.fact files for ansible_local").default("/etc/ansible/facts.d"),
        ];
        A
    }
    /// Gathering reads the host and changes nothing: the plan is the whole result.
    async fn plan(&self, ctx: &TaskCtx, args: &Args) -> Result<Plan, ModError> {
        let subset = args.str_list("gather_subset")?;
        let collectors = match select(&subset) {
            Ok(c) => c,
            Err(m) => return fail(m),
        };
        let fact_path = args.str("fact_path")?.unwrap_or_else(|| "/etc/ansible/facts.d".into());
        let timeout = args.int("gather_timeout")?.unwrap_or(10);
        let python = python_interpreter(ctx);
        let out = ctx.sh(script(&collectors, &fact_path, timeout, python.as_deref())).await?;
        let text = out.stdout_str();
        if out.rc != 0 && text.trim().is_empty() {
            return fail(format!("fact gathering failed: {}", out.stderr_str().trim()));
        }
        let mut warnings = Vec::new();
        let facts = collect(&Sections::parse(&text), &collectors, &mut warnings);
        let facts = finish(facts, &subset, &args.str_list("filter")?);
        let mut o = Outcome::ok();
        o.data.insert("ansible_facts".into(), Value::Object(facts.clone()));
        o.facts = Some(facts);
        o.warnings = warnings;
        Ok(Plan::done(o))
    }
}

#[cfg(test)]
mod tests;
