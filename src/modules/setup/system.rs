//! The system collectors: platform, python, selinux, apparmor, chroot, fips,
//! caps, pkg_mgr, service_mgr, systemd, cmdline, date_time, env, loadavg, ssh_pub_keys, user.
//! Each reads its sections of the script's output and adds facts as Ansible names them.

use serde_json::{json, Map, Value};

use super::sections::{Kv, Sections};

pub type Facts = Map<String, Value>;

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

pub fn platform(out: &Sections, f: &mut Facts) {
    let u = out.kv("uname");
    let g = |k: &str| u.get(k).unwrap_or("").to_string();
    let machine = g("m");
    f.insert("system".into(), s(&g("s")));
    f.insert("kernel".into(), s(&g("r")));
    f.insert("kernel_version".into(), s(&g("v")));
    f.insert("machine".into(), s(&machine));
    if let Some(v) = python_version(out) {
        f.insert("python_version".into(), s(&v.text));
    }
    let node = g("n");
    let fqdn = fqdn(&node, u.get("hosts").unwrap_or(""));
    f.insert("fqdn".into(), s(&fqdn));
    f.insert("hostname".into(), s(node.split('.').next().unwrap_or("")));
    f.insert("nodename".into(), s(&node));
    f.insert("domain".into(), s(fqdn.split_once('.').map(|x| x.1).unwrap_or("")));
    let bits = u.content("long_bit").unwrap_or("64").to_string();
    f.insert("userspace_bits".into(), s(&bits));
    let i86 = regex::Regex::new(r"i([3456]86|86pc)").expect("static regex");
    let userspace = match bits.as_str() {
        "64" => Some("x86_64"),
        "32" => Some("i386"),
        _ => None,
    };
    if machine == "x86_64" || i86.is_match(&machine) {
        f.insert("architecture".into(), s(if machine == "x86_64" { "x86_64" } else { "i386" }));
        if let Some(a) = userspace {
            f.insert("userspace_architecture".into(), s(a));
        }
    } else {
        f.insert("architecture".into(), s(&machine));
    }
    if let Some(id) = out.content("machine_id").and_then(|m| m.lines().next()) {
        f.insert("machine_id".into(), s(id));
    }
}

/// What Python's `socket.getfqdn()` gives: of the names the host's address resolves back to,
/// the first with a dot, else the first; the node name when the lookup fails. `hosts` is that
/// reverse lookup's `getent hosts` line.
fn fqdn(node: &str, hosts: &str) -> String {
    let names: Vec<&str> = hosts.split_whitespace().skip(1).collect();
    names.iter().find(|n| n.contains('.')).or(names.first()).map(|n| n.to_string()).unwrap_or_else(|| node.to_string())
}

pub struct PyVersion {
    pub text: String,
    pub major: u64,
    pub minor: u64,
    pub micro: u64,
    pub level: &'static str,
    pub serial: u64,
    pub pypy: bool,
}

/// The host's Python as `python -V` reports it ("Python 3.11.2", "Python 3.13.0rc1").
pub fn python_version(out: &Sections) -> Option<PyVersion> {
    let kv = out.kv("python");
    let line = kv.get("version")?;
    let re = regex::Regex::new(r"Python (\d+)\.(\d+)\.(\d+)(?:(a|b|rc)(\d+))?").expect("static regex");
    let c = re.captures(line)?;
    let n = |i: usize| c.get(i).and_then(|m| m.as_str().parse().ok()).unwrap_or(0u64);
    let level = match c.get(4).map(|m| m.as_str()) {
        Some("a") => "alpha",
        Some("b") => "beta",
        Some("rc") => "candidate",
        _ => "final",
    };
    Some(PyVersion {
        text: format!("{}.{}.{}", n(1), n(2), n(3)),
        major: n(1),
        minor: n(2),
        micro: n(3),
        level,
        serial: n(5),
        pypy: out.get("python").is_some_and(|p| p.contains("PyPy")),
    })
}

pub fn python(out: &Sections, f: &mut Facts) {
    let Some(v) = python_version(out) else { return };
    let exe = out.kv("python").get("executable").unwrap_or("").to_string();
    f.insert(
        "python".into(),
        json!({
            "version": {"major": v.major, "minor": v.minor, "micro": v.micro, "releaselevel": v.level, "serial": v.serial},
            "version_info": [v.major, v.minor, v.micro, v.level, v.serial],
            "executable": exe,
            "has_sslcontext": true,
            "type": if v.pypy { "pypy" } else { "cpython" },
        }),
    );
}

pub fn selinux(out: &Sections, f: &mut Facts) {
    let kv = out.kv("selinux");
    // Ansible asks libselinux (through ctypes); without the library it cannot tell.
    if !kv.flag("lib") {
        f.insert("selinux".into(), json!({"status": "Missing selinux Python library"}));
        f.insert("selinux_python_present".into(), json!(false));
        return;
    }
    f.insert("selinux_python_present".into(), json!(true));
    if !kv.flag("fs") {
        f.insert("selinux".into(), json!({"status": "disabled"}));
        return;
    }
    let mode = |v: Option<&str>| match v.map(str::trim) {
        Some("1") | Some("enforcing") => "enforcing",
        Some("0") | Some("permissive") => "permissive",
        Some("disabled") => "disabled",
        _ => "unknown",
    };
    let policyvers: Value = kv.content("policyvers").and_then(|p| p.parse::<u64>().ok()).map(Value::from).unwrap_or_else(|| s("unknown"));
    f.insert(
        "selinux".into(),
        json!({
            "status": "enabled",
            "policyvers": policyvers,
            "config_mode": mode(kv.get("config_SELINUX")),
            "mode": mode(kv.get("enforce")),
            "type": kv.content("config_SELINUXTYPE").unwrap_or("unknown"),
        }),
    );
}

pub fn apparmor(out: &Sections, f: &mut Facts) {
    let on = out.kv("apparmor").flag("enabled");
    f.insert("apparmor".into(), json!({"status": if on { "enabled" } else { "disabled" }}));
}

pub fn chroot(out: &Sections, f: &mut Facts) {
    let kv = out.kv("chroot");
    let v = if kv.content("debian_chroot").is_some() {
        true
    } else {
        match (kv.content("root"), kv.content("proc_root")) {
            (Some(r), Some(p)) => r != p,
            (Some(r), None) => {
                // No /proc/1/root to compare with: the root directory of a real root file
                // system has a known inode (2, btrfs 256, xfs 128).
                let fstype = kv.get("fstype").unwrap_or("");
                let want = if fstype.contains("btrfs") {
                    "256"
                } else if fstype.contains("xfs") {
                    "128"
                } else {
                    "2"
                };
                r.split(' ').next() != Some(want)
            }
            _ => false,
        }
    };
    f.insert("is_chroot".into(), json!(v));
}

pub fn fips(out: &Sections, f: &mut Facts) {
    f.insert("fips".into(), json!(out.kv("fips").content("enabled") == Some("1")));
}

pub fn caps(out: &Sections, f: &mut Facts) {
    let mut enforced = json!("N/A");
    let mut list = json!("N/A");
    if let Some(text) = out.get("capsh") {
        if text.lines().last() == Some("rc=0") {
            enforced = s("NA");
            list = json!([]);
            for line in text.lines().filter(|l| l.starts_with("Current:")) {
                // Ansible's own reading, kept as is: "Current: cap_a,cap_b=ep" gives ["ep"].
                if line.split(':').nth(1).map(str::trim) == Some("=ep") {
                    enforced = s("False");
                } else {
                    enforced = s("True");
                    list = json!(line.split('=').nth(1).unwrap_or("").split(',').map(str::trim).collect::<Vec<_>>());
                }
            }
        }
    }
    f.insert("system_capabilities_enforced".into(), enforced);
    f.insert("system_capabilities".into(), list);
}

pub fn pkg_mgr(out: &Sections, f: &mut Facts) {
    const MGRS: &[(&str, &str)] = &[
        ("/usr/bin/rpm-ostree", "atomic_container"),
        ("/usr/bin/yum", "dnf"),
        ("/usr/bin/dnf-3", "dnf"),
        ("/usr/bin/dnf5", "dnf5"),
        ("/usr/bin/apt-get", "apt"),
        ("/usr/bin/zypper", "zypper"),
        ("/usr/sbin/urpmi", "urpmi"),
        ("/usr/bin/pacman", "pacman"),
        ("/bin/opkg", "opkg"),
        ("/usr/pkg/bin/pkgin", "pkgin"),
        ("/opt/local/bin/pkgin", "pkgin"),
        ("/opt/tools/bin/pkgin", "pkgin"),
        ("/opt/local/bin/port", "macports"),
        ("/usr/local/bin/brew", "homebrew"),
        ("/opt/homebrew/bin/brew", "homebrew"),
        ("/sbin/apk", "apk"),
        ("/usr/sbin/pkg", "pkgng"),
        ("/usr/sbin/swlist", "swdepot"),
        ("/usr/bin/emerge", "portage"),
        ("/usr/sbin/pkgadd", "svr4pkg"),
        ("/usr/bin/pkg", "pkg5"),
        ("/usr/bin/xbps-install", "xbps"),
        ("/usr/local/sbin/pkg", "pkgng"),
        ("/usr/bin/swupd", "swupd"),
        ("/usr/sbin/sorcery", "sorcery"),
        ("/usr/bin/installp", "installp"),
    ];
    let text = out.get("pkg_mgr").unwrap_or("");
    let present: Vec<&str> = text.lines().collect();
    let family = f.get("os_family").and_then(Value::as_str).unwrap_or("").to_string();
    let mut name = "unknown".to_string();
    for (path, n) in MGRS {
        if family == "Altlinux" && *path == "/usr/bin/pkg" {
            continue;
        }
        if present.contains(path) {
            name = n.to_string();
        }
    }
    if family == "RedHat" {
        name = if present.contains(&"/run/ostree-booted") {
            "atomic_container".into()
        } else if let Some(real) = present.iter().find_map(|l| l.strip_prefix("real ")) {
            let target = real.split(' ').nth(1).unwrap_or("");
            if target == "/usr/bin/dnf5" { "dnf5" } else { "dnf" }.into()
        } else {
            "unknown".into()
        };
    } else if family == "Debian" && name != "apt" {
        name = "apt".into();
    } else if family == "Altlinux" && name == "apt" {
        name = "apt_rpm".into();
    }
    if name == "apt" && present.contains(&"apt_rpm") {
        name = "apt_rpm".into();
    }
    f.insert("pkg_mgr".into(), s(&name));
}

pub fn service_mgr(out: &Sections, f: &mut Facts) {
    let kv = out.kv("service_mgr");
    let mut proc1: Option<String> = match (kv.get("comm"), kv.get("ps")) {
        (Some(c), _) => Some(c.to_string()),
        (None, Some(p)) if !p.trim().is_empty() && p.trim() != "COMMAND" && !p.trim_start().starts_with(|c: char| c.is_ascii_digit()) => {
            Some(p.to_string())
        }
        _ => None,
    };
    if proc1.is_none() {
        proc1 = kv.get("init_link").map(str::to_string);
    }
    let proc1 = proc1.map(|p| p.rsplit('/').next().unwrap_or("").trim().to_string()).filter(|p| p != "init" && !p.ends_with("sh"));
    let system = f.get("system").and_then(Value::as_str).unwrap_or("Linux").to_string();
    let name = if let Some(p) = proc1.filter(|p| !p.is_empty()) {
        match p.as_str() {
            "procd" => "openwrt_init".to_string(),
            "runit-init" => "runit".to_string(),
            "svscan" => "svc".to_string(),
            "openrc-init" => "openrc".to_string(),
            other => other.to_string(),
        }
    } else if f.get("distribution").and_then(Value::as_str) == Some("OpenWrt") {
        "openwrt_init".into()
    } else if system == "Linux" {
        let systemctl = kv.flag("systemctl");
        if systemctl && kv.flag("canary") {
            "systemd".into()
        } else if kv.flag("initctl") && kv.flag("etc_init") {
            "upstart".into()
        } else if kv.flag("openrc") {
            "openrc".into()
        } else if systemctl && kv.get("init_link").is_some_and(|l| l.rsplit('/').next() == Some("systemd")) {
            "systemd".into()
        } else if kv.flag("initd") {
            "sysvinit".into()
        } else if kv.flag("dinit") {
            "dinit".into()
        } else {
            "service".into()
        }
    } else {
        "service".into()
    };
    f.insert("service_mgr".into(), s(&name));
}

pub fn systemd(out: &Sections, f: &mut Facts) {
    let Some(text) = out.get("systemd") else { return };
    let version = text.split(' ').nth(1).and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(v) = version {
        f.insert("systemd".into(), json!({"features": text.split('\n').nth(1).unwrap_or(""), "version": v}));
    }
}

/// Python's `shlex.split(data, posix=False)`: whitespace-separated words, quotes kept and
/// grouping; `None` for an unclosed quote (Ansible then reports no words).
fn shlex_nonposix(data: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in data.chars() {
        match quote {
            Some(q) => {
                cur.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            None => {
                if c == '"' || c == '\'' {
                    quote = Some(c);
                }
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return None;
    }
    if in_word {
        words.push(cur);
    }
    Some(words)
}

pub fn cmdline(out: &Sections, f: &mut Facts) {
    let Some(data) = out.content("cmdline") else { return };
    let words = shlex_nonposix(data).unwrap_or_default();
    let mut flat = Map::new();
    let mut multi = Map::new();
    for w in &words {
        match w.split_once('=') {
            None => {
                flat.insert(w.clone(), json!(true));
                multi.insert(w.clone(), json!(true));
            }
            Some((k, v)) => {
                flat.insert(k.to_string(), s(v));
                match multi.get_mut(k) {
                    Some(Value::Array(a)) => a.push(s(v)),
                    Some(old) => *old = json!([old.clone(), v]),
                    None => {
                        multi.insert(k.to_string(), s(v));
                    }
                }
            }
        }
    }
    f.insert("cmdline".into(), Value::Object(flat));
    f.insert("proc_cmdline".into(), Value::Object(multi));
}

pub fn date_time(out: &Sections, f: &mut Facts) {
    let text = out.get("date_time").unwrap_or("");
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    let kv = Kv::parse(&lines.collect::<Vec<_>>().join("\n"));
    let parts: Vec<&str> = first.split('|').collect();
    let head: Vec<&str> = parts.first().copied().unwrap_or("").split(' ').collect();
    let epoch: i64 = head.first().and_then(|e| e.parse().ok()).unwrap_or(0);
    let nanos = head.get(1).copied().unwrap_or("");
    let micro = if nanos.len() >= 6 && nanos.chars().all(|c| c.is_ascii_digit()) { nanos[..6].to_string() } else { "000000".to_string() };
    let tz_offset = head.get(2).copied().unwrap_or("+0000");
    let tz = head.get(3).copied().unwrap_or("UTC");
    let p = |i: usize| parts.get(i).copied().unwrap_or("").to_string();
    let utc = |fmt: &str| crate::pytext::format_time(fmt, epoch, true);
    // tzname[1]: the zone's daylight-saving name, where it has one (the one of January or July
    // with the larger offset), else its one name.
    let tz_dst = {
        let jan = kv.get("jan").unwrap_or("");
        let jul = kv.get("jul").unwrap_or("");
        let split = |x: &str| x.split_once(' ').map(|(o, n)| (o.parse::<i32>().unwrap_or(0), n.to_string()));
        match (split(jan), split(jul)) {
            (Some((oj, nj)), Some((ol, nl))) if nj != nl => {
                if ol > oj {
                    nl
                } else {
                    nj
                }
            }
            (Some((_, nj)), _) => nj,
            _ => tz.to_string(),
        }
    };
    let (year, month, day, hour, minute, second) = (p(1), p(2), p(6), p(7), p(8), p(9));
    f.insert(
        "date_time".into(),
        json!({
            "year": year, "month": month, "weekday": p(3), "weekday_number": p(4), "weeknumber": p(5),
            "day": day, "hour": hour, "minute": minute, "second": second,
            "epoch": epoch.to_string(), "epoch_int": epoch.to_string(),
            "date": format!("{year}-{month}-{day}"), "time": format!("{hour}:{minute}:{second}"),
            "iso8601_micro": format!("{}.{micro}Z", utc("%Y-%m-%dT%H:%M:%S")),
            "iso8601": utc("%Y-%m-%dT%H:%M:%SZ"),
            "iso8601_basic": format!("{year}{month}{day}T{hour}{minute}{second}{micro}"),
            "iso8601_basic_short": format!("{year}{month}{day}T{hour}{minute}{second}"),
            "tz": tz, "tz_dst": tz_dst, "tz_offset": tz_offset,
        }),
    );
}

pub fn env(out: &Sections, f: &mut Facts) {
    let text = out.get("env").unwrap_or("");
    let mut env = Map::new();
    // `env -0` where there is one (values may hold newlines), else one variable a line.
    let items: Vec<&str> = if text.contains('\0') { text.split('\0').collect() } else { text.lines().collect() };
    for item in items {
        if let Some((k, v)) = item.split_once('=') {
            if !k.is_empty() {
                env.insert(k.to_string(), s(v));
            }
        }
    }
    f.insert("env".into(), Value::Object(env));
}

pub fn loadavg(out: &Sections, f: &mut Facts) {
    let Some(text) = out.content("loadavg") else { return };
    let v: Vec<f64> = text.split_whitespace().take(3).filter_map(|x| x.parse().ok()).collect();
    if v.len() == 3 {
        f.insert("loadavg".into(), json!({"1m": v[0], "5m": v[1], "15m": v[2]}));
    }
}

pub fn ssh_pub_keys(out: &Sections, f: &mut Facts) {
    // Ansible's walk, quirks included: the first folder with keys wins, and it stops at the
    // first algorithm already found.
    'dirs: for dir in ["/etc/ssh", "/etc/openssh", "/etc"] {
        for algo in ["dsa", "rsa", "ecdsa", "ed25519"] {
            let fact = format!("ssh_host_key_{algo}_public");
            if f.contains_key(&fact) {
                break 'dirs;
            }
            if let Some(data) = out.content(&format!("ssh {dir} {algo}")) {
                let mut w = data.split_whitespace();
                if let (Some(t), Some(k)) = (w.next(), w.next()) {
                    f.insert(fact.clone(), s(k));
                    f.insert(format!("{fact}_keytype"), s(t));
                }
            }
        }
    }
}

pub fn user(out: &Sections, f: &mut Facts) {
    let kv = out.kv("user");
    let name = kv.get("name").unwrap_or("").to_string();
    let pw = kv.content("pwnam").or_else(|| kv.content("pwuid")).unwrap_or("");
    let p: Vec<&str> = pw.split(':').collect();
    let num = |i: usize| p.get(i).and_then(|x| x.parse::<u64>().ok()).map(Value::from).unwrap_or(Value::Null);
    let field = |i: usize| s(p.get(i).copied().unwrap_or(""));
    let ids: Vec<u64> = kv.get("ids").unwrap_or("").split(' ').filter_map(|x| x.parse().ok()).collect();
    let id = |i: usize| ids.get(i).copied().map(Value::from).unwrap_or(Value::Null);
    f.insert("user_id".into(), s(&name));
    f.insert("user_uid".into(), num(2));
    f.insert("user_gid".into(), num(3));
    f.insert("user_gecos".into(), field(4));
    f.insert("user_dir".into(), field(5));
    f.insert("user_shell".into(), field(6));
    f.insert("real_user_id".into(), id(0));
    f.insert("effective_user_id".into(), id(1));
    f.insert("real_group_id".into(), id(2));
    // Ansible reports the real group id here too (os.getgid()).
    f.insert("effective_group_id".into(), id(2));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_keeps_quotes_and_repeats() {
        let out = Sections::parse("\n\u{1e}cmdline\nro console=tty0 console=ttyS0 quiet x=\"a b\"\n");
        let mut f = Facts::new();
        cmdline(&out, &mut f);
        assert_eq!(f["cmdline"]["console"], json!("ttyS0"));
        assert_eq!(f["proc_cmdline"]["console"], json!(["tty0", "ttyS0"]));
        assert_eq!(f["cmdline"]["x"], json!("\"a b\""));
        assert_eq!(f["cmdline"]["ro"], json!(true));
    }
}
