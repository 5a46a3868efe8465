//! `service_facts`: the host's services as the fact `services` (name -> name, state, source,
//! and what the source tells besides), gathered as Ansible's module gathers them on Linux:
//! `service --status-all` (SysV init scripts), upstart's `initctl list`, Red Hat's `chkconfig`,
//! OpenRC's `rc-status`/`rc-update`, then systemd's units and unit files where systemd runs.
//! Commands run under the best English locale the host has, so their output parses. steward
//! manages Linux hosts only, so AIX's `lssrc` and the BSDs' `rcctl`/`service` are not asked.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::{fail, Arg, Args, ModError, Module, Outcome, Plan, TaskCtx};
use crate::pytext::shell_quote as q;

pub struct ServiceFacts;

/// The tools Ansible's module looks for, and the other things it checks, in one round trip.
/// `get_bin_path` also searches the sbin folders; systemctl is looked for in /usr/bin and
/// /usr/local/bin too.
const DETECT: &str = r#"PATH="$PATH:/sbin:/usr/sbin:/usr/local/sbin"
for t in service chkconfig initctl rc-status rc-update; do printf 'tool %s %s\n' "$t" "$(command -v "$t" 2>/dev/null)"; done
printf 'tool systemctl %s\n' "$(PATH="$PATH:/usr/bin:/usr/local/bin" command -v systemctl 2>/dev/null)"
for c in /run/systemd/system/ /dev/.run/systemd/ /dev/.systemd/; do [ -e "$c" ] && echo canary; done
printf 'init %s\n' "$(head -n 1 /proc/1/comm 2>/dev/null)"
[ -e /etc/init.d ] && echo initd
if command -v locale >/dev/null 2>&1; then locale -a 2>/dev/null | sed 's/^/locale /'; fi
"#;

/// What [`DETECT`] found.
#[derive(Debug, Default)]
struct Host {
    tools: Map<String, Value>,
    systemd: bool,
    init_d: bool,
    locale: String,
}

impl Host {
    fn tool(&self, name: &str) -> Option<String> {
        self.tools.get(name).and_then(Value::as_str).filter(|p| !p.is_empty()).map(str::to_string)
    }
}

fn parse_detect(out: &str) -> Host {
    let mut h = Host { locale: "C".into(), ..Default::default() };
    let mut canary = false;
    let mut init = String::new();
    let mut locales = Vec::new();
    for line in out.lines() {
        let (k, v) = line.split_once(' ').unwrap_or((line, ""));
        match k {
            "tool" => {
                let (name, path) = v.split_once(' ').unwrap_or((v, ""));
                h.tools.insert(name.to_string(), json!(path.trim()));
            }
            "canary" => canary = true,
            "init" => init = v.trim().to_string(),
            "initd" => h.init_d = true,
            "locale" => locales.push(v.trim().to_string()),
            _ => {}
        }
    }
    h.systemd = h.tool("systemctl").is_some() && (canary || init == "systemd");
    // Ansible's get_best_parsable_locale: the first of these the host has, else C.
    if let Some(l) = ["C.utf8", "C.UTF-8", "en_US.utf8", "en_US.UTF-8", "C", "POSIX"].iter().find(|p| locales.iter().any(|l| l == *p)) {
        h.locale = l.to_string();
    }
    h
}

/// One command's result.
struct Ran {
    rc: i32,
    out: String,
    err: String,
}

/// Run commands on the host in one round trip, each on its own, under `locale`.
async fn run_each(ctx: &TaskCtx, locale: &str, cmds: &[String]) -> Result<Vec<Ran>, ModError> {
    if cmds.is_empty() {
        return Ok(vec![]);
    }
    let mark = format!("--steward-{}", super::common::random_name());
    let l = q(locale);
    let mut script = format!("LANG={l}; LC_ALL={l}; export LANG LC_ALL\ne=$(mktemp)\ntrap 'rm -f \"$e\"' EXIT\n");
    for (i, c) in cmds.iter().enumerate() {
        script += &format!(
            "printf '%s\\n' '{mark} out {i}'\n( {c} ) 2>\"$e\" </dev/null\nr=$?\nprintf '\\n%s\\n' '{mark} err {i}'\ncat \"$e\"\nprintf '\\n%s %s\\n' '{mark} rc {i}' \"$r\"\n"
        );
    }
    let r = ctx.sh(script).await?;
    let text = r.stdout_str();
    let mut out = Vec::new();
    for i in 0..cmds.len() {
        let between = |a: &str, b: &str| -> String {
            let Some(s) = text.find(a).map(|p| p + a.len()) else { return String::new() };
            let e = text[s..].find(b).map(|p| s + p).unwrap_or(text.len());
            text[s..e].to_string()
        };
        let o = between(&format!("{mark} out {i}\n"), &format!("\n{mark} err {i}\n"));
        let e = between(&format!("{mark} err {i}\n"), &format!("\n{mark} rc {i} "));
        let rc = between(&format!("{mark} rc {i} "), "\n").trim().parse().unwrap_or(-1);
        out.push(Ran { rc, out: o, err: e });
    }
    Ok(out)
}

fn service(name: &str, fields: &[(&str, Value)]) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(name));
    for (k, v) in fields {
        m.insert(k.to_string(), v.clone());
    }
    Value::Object(m)
}

/// `service --status-all`: `[ + ]  name` runs, `[ - ]  name` does not.
fn parse_sysv(out: &str, services: &mut Map<String, Value>) {
    let re = regex::Regex::new(r"(?m)^\s*\[ (?P<state>\+|\-) \]\s+(?P<name>.+)$").expect("valid regex");
    for c in re.captures_iter(out) {
        let name = &c["name"];
        let state = if &c["state"] == "+" { "running" } else { "stopped" };
        services.insert(name.to_string(), service(name, &[("state", json!(state)), ("source", json!("sysv"))]));
    }
}

/// `initctl list`: `name goal/state[, process PID]`.
fn parse_upstart(out: &str, services: &mut Map<String, Value>) {
    let re = regex::Regex::new(r"^\s?(?P<name>.*)\s(?P<goal>\w+)/(?P<state>\w+)(,\sprocess\s(?P<pid>[0-9]+))?\s*$").expect("valid regex");
    for line in out.replace('\r', "").split('\n') {
        let Some(c) = re.captures(line) else { continue };
        let name = &c["name"];
        services.insert(
            name.to_string(),
            service(name, &[("state", json!(&c["state"])), ("goal", json!(&c["goal"])), ("source", json!("upstart"))]),
        );
    }
}

fn chkconfig_full() -> regex::Regex {
    regex::Regex::new(
        r"^(?P<service>.*?)\s+[0-9]:(?P<rl0>on|off)\s+[0-9]:(?P<rl1>on|off)\s+[0-9]:(?P<rl2>on|off)\s+[0-9]:(?P<rl3>on|off)\s+[0-9]:(?P<rl4>on|off)\s+[0-9]:(?P<rl5>on|off)\s+[0-9]:(?P<rl6>on|off)",
    )
    .expect("valid regex")
}

/// Red Hat's chkconfig: the services and whether runlevel 3 starts them; then each one's
/// `service NAME status` tells whether it runs.
async fn list_rh(
    ctx: &TaskCtx,
    h: &Host,
    chkconfig: &str,
    services: &mut Map<String, Value>,
    warnings: &mut Vec<String>,
) -> Result<(), ModError> {
    let full = chkconfig_full();
    let mut ran = run_each(ctx, &h.locale, &[chkconfig.to_string()]).await?.remove(0);
    if !ran.out.split('\n').any(|l| full.is_match(l)) {
        let simple = regex::Regex::new(r"^(?P<service>.*?)\s+(?P<rl0>on|off)").expect("valid regex");
        if ran.out.split('\n').any(|l| simple.is_match(l)) {
            // SLES 11 wants these flags to list every service.
            ran = run_each(ctx, &h.locale, &[format!("{chkconfig} -l --allservices")]).await?.remove(0);
        } else if ran.err.contains("--list") {
            // RHEL 5 wants --list.
            ran = run_each(ctx, &h.locale, &[format!("{chkconfig} --list")]).await?.remove(0);
        }
    }
    let listed: Vec<(String, bool)> =
        ran.out.split('\n').filter_map(|l| full.captures(l)).map(|c| (c["service"].to_string(), &c["rl3"] == "on")).collect();
    let service_path = h.tool("service").unwrap_or_else(|| "service".into());
    let cmds: Vec<String> = listed.iter().map(|(n, _)| format!("{service_path} {n} status")).collect();
    let results = run_each(ctx, &h.locale, &cmds).await?;
    for ((name, enabled), r) in listed.iter().zip(results) {
        let state = if r.rc == 0 {
            json!("running")
        } else {
            let err = r.err.to_lowercase();
            if ["root", "permission", "not in sudoers"].iter().any(|x| err.contains(x)) {
                warnings.push(format!("Insufficient permissions to query sysV service \"{name}\" and their states"));
                // As Ansible: the state is left as the status command's exit code.
                json!(r.rc)
            } else {
                json!("stopped")
            }
        };
        let status = if *enabled { "enabled" } else { "disabled" };
        services.insert(name.clone(), service(name, &[("state", state), ("status", json!(status)), ("source", json!("sysv"))]));
    }
    Ok(())
}

/// OpenRC: `rc-status` for what runs, `rc-update show` for the runlevels each is in.
fn parse_openrc(status: &str, update: &str, services: &mut Map<String, Value>, warnings: &mut Vec<String>) {
    let mut runlevels: Map<String, Value> = Map::new();
    for line in update.split('\n') {
        let parts: Vec<&str> = line.split('|').collect();
        if parts.len() < 2 {
            continue;
        }
        let levels = parts[1].trim();
        let v = if levels.is_empty() { Value::Null } else { json!(levels.split_whitespace().collect::<Vec<_>>()) };
        runlevels.insert(parts[0].trim().to_string(), v);
    }
    for line in status.split('\n') {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 2 || fields[0] == "*" {
            continue;
        }
        let name = fields[0];
        let Some(levels) = runlevels.get(name) else {
            warnings.push(format!("Service {name} not found in the service list"));
            continue;
        };
        services.insert(
            name.to_string(),
            service(name, &[("runlevels", levels.clone()), ("state", json!(fields[1])), ("source", json!("openrc"))]),
        );
    }
}

const BAD_STATES: &[&str] = &["not-found", "masked", "failed"];

/// `systemctl list-units`: each service unit, its status (or a bad state shown anywhere
/// before the description) and whether it runs.
fn parse_units(out: &str, services: &mut Map<String, Value>) {
    for line in out.split('\n').filter(|l| l.contains(".service")) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 4 {
            continue;
        }
        let head = &fields[..fields.len() - 1];
        let status = BAD_STATES.iter().find(|b| head.contains(b)).copied().unwrap_or(fields[2]);
        let state = if fields[3] == "running" { "running" } else { "stopped" };
        services.insert(
            fields[0].to_string(),
            service(fields[0], &[("state", json!(state)), ("status", json!(status)), ("source", json!("systemd"))]),
        );
    }
}

/// `systemctl list-unit-files`: each service's enablement; those list-units did not show are
/// asked for their ActiveState (in one round trip).
async fn list_unit_files(
    ctx: &TaskCtx,
    h: &Host,
    systemctl: &str,
    services: &mut Map<String, Value>,
    warnings: &mut Vec<String>,
) -> Result<(), ModError> {
    let r = run_each(ctx, &h.locale, &[format!("{systemctl} list-unit-files --no-pager --type service --all")]).await?.remove(0);
    if r.rc != 0 {
        warnings.push(format!("Could not get unit files data from systemd: {}", r.err));
        return Ok(());
    }
    let mut unknown = Vec::new();
    for line in r.out.split('\n').filter(|l| l.contains(".service")) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [name, status, ..] = fields.as_slice() else {
            return fail(format!("Malformed output discovered from systemd list-unit-files: {line}"));
        };
        match services.get_mut(*name) {
            None => {
                unknown.push((name.to_string(), status.to_string()));
                // Kept in the order systemd lists them; the state is filled in below.
                services.insert(name.to_string(), Value::Null);
            }
            Some(Value::Object(s)) => {
                if !s.get("status").and_then(Value::as_str).is_some_and(|st| BAD_STATES.contains(&st)) {
                    s.insert("status".into(), json!(status));
                }
            }
            Some(_) => {}
        }
    }
    let cmds: Vec<String> = unknown.iter().map(|(n, _)| format!("{systemctl} show {} --property=ActiveState", q(n))).collect();
    let states = run_each(ctx, &h.locale, &cmds).await?;
    for ((name, status), s) in unknown.iter().zip(states) {
        let state =
            if s.rc == 0 && !s.out.is_empty() { s.out.replace("ActiveState=", "").trim_end().to_string() } else { "unknown".into() };
        services.insert(name.clone(), service(name, &[("state", json!(state)), ("status", json!(status)), ("source", json!("systemd"))]));
    }
    Ok(())
}

#[async_trait]
impl Module for ServiceFacts {
    fn name(&self) -> &'static str {
        "service_facts"
    }
    fn doc(&self) -> &'static str {
        include_str!("service_facts.md")
    }
    fn args(&self) -> &'static [Arg] {
        &[]
    }
    async fn plan(&self, ctx: &TaskCtx, _args: &Args) -> Result<Plan, ModError> {
        Ok(Plan::done(gather(ctx).await?))
    }
}

/// The whole task is a look-up: nothing on the host changes.
async fn gather(ctx: &TaskCtx) -> Result<Outcome, ModError> {
    let d = ctx.sh(DETECT).await?;
    let h = parse_detect(&d.stdout_str());
    let mut services = Map::new();
    let mut warnings = Vec::new();
    let (service_path, chkconfig, initctl) = (h.tool("service"), h.tool("chkconfig"), h.tool("initctl"));
    let (rc_status, rc_update) = (h.tool("rc-status"), h.tool("rc-update"));
    if let (Some(s), None, None) = (&service_path, &chkconfig, &rc_status) {
        let r = run_each(ctx, &h.locale, &[format!("{s} --status-all")]).await?.remove(0);
        // `service` on RHEL 9 says 4 when there is no /etc/init.d: nothing to list.
        if r.rc != 4 || h.init_d {
            if r.rc != 0 {
                warnings.push(format!("Unable to query 'service' tool ({}): {}", r.rc, r.err));
            }
            parse_sysv(&r.out, &mut services);
        }
    }
    match (&initctl, &chkconfig, &rc_status, &rc_update) {
        (Some(i), None, _, _) => {
            let r = run_each(ctx, &h.locale, &[format!("{i} list")]).await?.remove(0);
            if r.rc != 0 {
                warnings.push(format!("Unable to query upstart for service data: {}", r.err));
            } else {
                parse_upstart(&r.out, &mut services);
            }
        }
        (_, Some(c), _, _) => list_rh(ctx, &h, c, &mut services, &mut warnings).await?,
        (_, None, Some(s), Some(u)) => {
            let cmds = [format!("{s} -a -s -m 2>&1 | grep '^ ' | tr -d '[]'"), format!("{u} show -v 2>&1 | grep '|'")];
            let r = run_each(ctx, &h.locale, &cmds).await?;
            parse_openrc(&r[0].out, &r[1].out, &mut services, &mut warnings);
        }
        _ => {}
    }
    if h.systemd {
        if let Some(sc) = h.tool("systemctl") {
            let r = run_each(ctx, &h.locale, &[format!("{sc} list-units --no-pager --type service --all --plain")]).await?.remove(0);
            if r.rc != 0 {
                warnings.push(format!("Could not list units from systemd: {}", r.err));
            } else {
                parse_units(&r.out, &mut services);
            }
            list_unit_files(ctx, &h, &sc, &mut services, &mut warnings).await?;
        }
    }
    let mut out = Outcome::ok();
    out.warnings = warnings;
    if services.is_empty() {
        out.skipped = true;
        out.msg = Some("Failed to find any services. This can be due to privileges or some other configuration issue.".into());
        return Ok(out);
    }
    let facts: Map<String, Value> = [("services".to_string(), Value::Object(services))].into_iter().collect();
    out.data.insert("ansible_facts".into(), Value::Object(facts.clone()));
    out.facts = Some(facts);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_tools_systemd_and_locale() {
        let h = parse_detect("tool service /usr/sbin/service\ntool chkconfig \ntool systemctl /usr/bin/systemctl\ninit sh\ninitd\nlocale C\nlocale C.utf8\nlocale POSIX\n");
        assert_eq!(h.tool("service").as_deref(), Some("/usr/sbin/service"));
        assert_eq!(h.tool("chkconfig"), None);
        assert!(!h.systemd, "systemctl installed but not running");
        assert_eq!(h.locale, "C.utf8");
        assert!(parse_detect("tool systemctl /bin/systemctl\ncanary\n").systemd);
        assert!(parse_detect("tool systemctl /bin/systemctl\ninit systemd\n").systemd);
        assert_eq!(parse_detect("").locale, "C");
    }

    #[test]
    fn sysv_and_upstart() {
        let mut s = Map::new();
        parse_sysv(" [ + ]  cron\n [ - ]  procps\n [ ? ]  hwclock.sh\n", &mut s);
        assert_eq!(s["cron"], json!({"name": "cron", "state": "running", "source": "sysv"}));
        assert_eq!(s["procps"]["state"], "stopped");
        assert!(!s.contains_key("hwclock.sh"));
        let mut s = Map::new();
        parse_upstart("tty1 start/running, process 123\nrc stop/waiting\n", &mut s);
        assert_eq!(s["tty1"], json!({"name": "tty1", "state": "running", "goal": "start", "source": "upstart"}));
        assert_eq!(s["rc"]["state"], "waiting");
    }

    #[test]
    fn openrc_and_systemd_units() {
        let mut s = Map::new();
        let mut w = Vec::new();
        parse_openrc(" sshd  started\n * x\n crond stopped\n", " sshd | default\n crond |\n", &mut s, &mut w);
        assert_eq!(s["sshd"], json!({"name": "sshd", "runlevels": ["default"], "state": "started", "source": "openrc"}));
        assert_eq!(s["crond"]["runlevels"], Value::Null);
        assert!(w.is_empty());
        let mut s = Map::new();
        parse_units(
            "cron.service loaded active running Regular background program processing daemon\nfoo.service not-found inactive dead foo.service\n",
            &mut s,
        );
        assert_eq!(s["cron.service"], json!({"name": "cron.service", "state": "running", "status": "active", "source": "systemd"}));
        assert_eq!(s["foo.service"]["status"], "not-found");
        assert_eq!(s["foo.service"]["state"], "stopped");
    }

    #[test]
    fn chkconfig_lines() {
        let c = chkconfig_full().captures("sshd           0:off   1:off   2:on    3:on    4:on    5:on    6:off").unwrap();
        assert_eq!(&c["service"], "sshd");
        assert_eq!(&c["rl3"], "on");
    }
}
