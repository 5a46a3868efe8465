//! `setup`: gather the facts playbooks use most, in one round trip (one shell script).

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::{fail, Arg, Args, ModError, Module, Outcome, TaskCtx};

pub struct Setup;

const SCRIPT: &str = r#"
echo "hostname=$(uname -n)"
echo "fqdn=$(hostname -f 2>/dev/null || uname -n)"
echo "kernel=$(uname -r)"
echo "kernel_version=$(uname -v)"
echo "machine=$(uname -m)"
echo "system=$(uname -s)"
if [ -r /etc/os-release ]; then sed -n 's/^\([A-Z_]*\)=\(.*\)$/osr_\1=\2/p' /etc/os-release; fi
[ -r /etc/debian_version ] && echo "debian_version=$(cat /etc/debian_version)"
echo "nproc=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc 2>/dev/null || echo 1)"
if [ -r /proc/cpuinfo ]; then
  echo "cpu_sockets=$(grep '^physical id' /proc/cpuinfo | sort -u | wc -l)"
  echo "cpu_cores=$(grep -m1 '^cpu cores' /proc/cpuinfo | sed 's/.*: //')"
  echo "cpu_model=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/.*: //')"
fi
if [ -r /proc/meminfo ]; then sed -n 's/^\(MemTotal\|MemFree\|SwapTotal\|SwapFree\|MemAvailable\|Buffers\|Cached\):[ ]*\([0-9]*\).*/mem_\1=\2/p' /proc/meminfo; fi
[ -r /proc/uptime ] && echo "uptime=$(cut -d' ' -f1 /proc/uptime)"
echo "user_id=$(id -un)"
echo "user_uid=$(id -u)"
echo "user_gid=$(id -g)"
echo "user_dir=$HOME"
echo "user_shell=$(getent passwd "$(id -un)" 2>/dev/null | cut -d: -f7)"
echo "epoch=$(date +%s)"
echo "tz=$(date +%Z)"
echo "tz_offset=$(date +%z)"
if command -v ip >/dev/null 2>&1; then
  r=$(ip -4 route show default 2>/dev/null | head -n1)
  echo "gw=$(echo "$r" | sed -n 's/.* via \([^ ]*\).*/\1/p')"
  echo "gw_if=$(echo "$r" | sed -n 's/.* dev \([^ ]*\).*/\1/p')"
  ip -o -4 addr show 2>/dev/null | while read -r n ifc fam addr rest; do echo "ipv4=$ifc $addr"; done
  ip -o -6 addr show 2>/dev/null | while read -r n ifc fam addr rest; do echo "ipv6=$ifc $addr"; done
  ip -o link show 2>/dev/null | while read -r n ifc rest; do m=$(echo "$rest" | sed -n 's/.*link\/[a-z]* \([0-9a-f:]*\).*/\1/p'); echo "link=${ifc%:} $m"; done
fi
for m in apt-get dnf yum apk zypper pacman; do if command -v $m >/dev/null 2>&1; then echo "pkg_mgr=$m"; break; fi; done
if [ -d /run/systemd/system ]; then echo "service_mgr=systemd"; elif command -v openrc >/dev/null 2>&1; then echo "service_mgr=openrc"; else echo "service_mgr=$(cat /proc/1/comm 2>/dev/null || echo sysvinit)"; fi
if [ -f /.dockerenv ] || grep -q docker /proc/1/cgroup 2>/dev/null; then echo "virt=docker"; elif grep -q container=lxc /proc/1/environ 2>/dev/null; then echo "virt=lxc"; fi
df -kP 2>/dev/null | awk 'NR>1 && $1 !~ /^(tmpfs|devtmpfs|overlay|shm|udev|none)$/ {print "mount="$6" "$1" "$2" "$4}'
[ -r /proc/mounts ] && awk '{print "mopt="$2" "$3" "$4}' /proc/mounts
env | sed 's/^/env_/'
"#;

#[async_trait]
impl Module for Setup {
    fn name(&self) -> &'static str {
        "setup"
    }
    fn doc(&self) -> &'static str {
        "Gather facts about the host (distribution, os_family, hostname, fqdn, default_ipv4, memtotal_mb,\nprocessor_vcpus, mounts, ...) in one round trip. Runs as `Gathering Facts` unless gather_facts: false.\n\nexample:\n  - setup:\n      filter: ansible_distribution*\n"
    }
    fn args(&self) -> &'static [Arg] {
        const A: &[Arg] = &[
            Arg::list("gather_subset", "accepted; steward gathers one fixed set in one round trip"),
            Arg::list("filter", "only facts whose names match these shell-style patterns"),
            Arg::int("gather_timeout", "accepted for compatibility"),
            Arg::str("fact_path", "accepted for compatibility"),
        ];
        A
    }
    async fn run(&self, ctx: &TaskCtx, args: &Args) -> Result<Outcome, ModError> {
        let out = ctx.sh(SCRIPT).await?;
        if out.rc != 0 && out.stdout.is_empty() {
            return fail(format!("fact gathering failed: {}", out.stderr_str().trim()));
        }
        let mut facts = parse(&out.stdout_str());
        let filters = args.str_list("filter")?;
        if !filters.is_empty() {
            let pats: Vec<glob::Pattern> = filters.iter().filter_map(|f| glob::Pattern::new(f).ok()).collect();
            facts.retain(|k, _| pats.iter().any(|p| p.matches(k) || p.matches(k.trim_start_matches("ansible_"))));
        }
        let mut o = Outcome::ok();
        o.data.insert("ansible_facts".into(), Value::Object(facts.clone()));
        o.facts = Some(facts);
        Ok(o)
    }
}

fn os_family(distro: &str, like: &str) -> String {
    let d = distro.to_ascii_lowercase();
    let like = like.to_ascii_lowercase();
    let fam = match d.as_str() {
        "debian" | "ubuntu" | "raspbian" | "linuxmint" | "kali" | "devuan" | "pop" => "Debian",
        "redhat" | "rhel" | "centos" | "fedora" | "rocky" | "almalinux" | "ol" | "amazon" | "oraclelinux" => "RedHat",
        "alpine" => "Alpine",
        "arch" | "archlinux" | "manjaro" => "Archlinux",
        "sles" | "opensuse" | "opensuse-leap" | "opensuse-tumbleweed" | "suse" => "Suse",
        "gentoo" => "Gentoo",
        _ if like.contains("debian") => "Debian",
        _ if like.contains("rhel") || like.contains("fedora") => "RedHat",
        _ if like.contains("suse") => "Suse",
        _ => return distro.to_string(),
    };
    fam.to_string()
}

fn distro_name(id: &str) -> String {
    match id {
        "debian" => "Debian",
        "ubuntu" => "Ubuntu",
        "centos" => "CentOS",
        "rhel" => "RedHat",
        "fedora" => "Fedora",
        "rocky" => "Rocky",
        "almalinux" => "AlmaLinux",
        "alpine" => "Alpine",
        "arch" => "Archlinux",
        "amzn" => "Amazon",
        "ol" => "OracleLinux",
        "sles" => "SLES",
        "opensuse-leap" | "opensuse" => "openSUSE Leap",
        other => return other.to_string(),
    }
    .to_string()
}

fn unquote(s: &str) -> String {
    s.trim().trim_matches('"').trim_matches('\'').to_string()
}

pub fn parse(text: &str) -> Map<String, Value> {
    let mut kv: Map<String, Value> = Map::new();
    let mut env = Map::new();
    let mut ipv4: Vec<(String, String)> = Vec::new();
    let mut ipv6: Vec<(String, String)> = Vec::new();
    let mut links: Vec<(String, String)> = Vec::new();
    let mut mounts: Vec<Value> = Vec::new();
    let mut mopts: Map<String, Value> = Map::new();
    let mut raw: std::collections::HashMap<String, String> = Default::default();
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        match k {
            "ipv4" => {
                if let Some((i, a)) = v.split_once(' ') {
                    ipv4.push((i.to_string(), a.to_string()));
                }
            }
            "ipv6" => {
                if let Some((i, a)) = v.split_once(' ') {
                    ipv6.push((i.to_string(), a.to_string()));
                }
            }
            "link" => {
                if let Some((i, m)) = v.split_once(' ') {
                    links.push((i.split('@').next().unwrap_or(i).to_string(), m.to_string()));
                }
            }
            "mount" => {
                let f: Vec<&str> = v.split(' ').collect();
                if f.len() >= 4 {
                    let total: u64 = f[2].parse().unwrap_or(0);
                    let avail: u64 = f[3].parse().unwrap_or(0);
                    mounts.push(json!({"mount": f[0], "device": f[1], "size_total": total * 1024, "size_available": avail * 1024}));
                }
            }
            "mopt" => {
                let f: Vec<&str> = v.split(' ').collect();
                if f.len() >= 3 {
                    mopts.insert(f[0].to_string(), json!([f[1], f[2]]));
                }
            }
            _ if k.starts_with("env_") => {
                env.insert(k[4..].to_string(), json!(v));
            }
            _ => {
                raw.insert(k.to_string(), v.to_string());
            }
        }
    }
    let g = |k: &str| raw.get(k).cloned().unwrap_or_default();
    let id = unquote(&g("osr_ID"));
    let distro = if id.is_empty() { g("system") } else { distro_name(&id) };
    let mut version = unquote(&g("osr_VERSION_ID"));
    if id == "debian" && !g("debian_version").is_empty() {
        version = g("debian_version");
    }
    let major = version.split('.').next().unwrap_or("").to_string();
    let mut set = |k: &str, v: Value| {
        kv.insert(format!("ansible_{k}"), v);
    };
    set("hostname", json!(g("hostname").split('.').next().unwrap_or("")));
    set("nodename", json!(g("hostname")));
    set("fqdn", json!(g("fqdn")));
    set("domain", json!(g("fqdn").split_once('.').map(|x| x.1).unwrap_or("")));
    set("kernel", json!(g("kernel")));
    set("kernel_version", json!(g("kernel_version")));
    set("architecture", json!(g("machine")));
    set("machine", json!(g("machine")));
    set("system", json!(g("system")));
    set("os_family", json!(os_family(&distro, &unquote(&g("osr_ID_LIKE")))));
    set("distribution", json!(distro));
    set("distribution_version", json!(version));
    set("distribution_major_version", json!(major));
    set("distribution_release", json!(unquote(&g("osr_VERSION_CODENAME"))));
    set("lsb", json!({"id": distro, "codename": unquote(&g("osr_VERSION_CODENAME")), "release": version, "major_release": major}));
    let vcpus: u64 = g("nproc").trim().parse().unwrap_or(1);
    set("processor_vcpus", json!(vcpus));
    set("processor_nproc", json!(vcpus));
    set("processor_count", json!(g("cpu_sockets").trim().parse::<u64>().unwrap_or(1).max(1)));
    set("processor_cores", json!(g("cpu_cores").trim().parse::<u64>().unwrap_or(vcpus)));
    set("processor", json!([g("cpu_model")]));
    let kb = |k: &str| g(k).trim().parse::<u64>().unwrap_or(0);
    set("memtotal_mb", json!(kb("mem_MemTotal") / 1024));
    set("memfree_mb", json!(kb("mem_MemFree") / 1024));
    set("swaptotal_mb", json!(kb("mem_SwapTotal") / 1024));
    set("swapfree_mb", json!(kb("mem_SwapFree") / 1024));
    set(
        "memory_mb",
        json!({"real": {"total": kb("mem_MemTotal") / 1024, "free": kb("mem_MemFree") / 1024},
               "swap": {"total": kb("mem_SwapTotal") / 1024, "free": kb("mem_SwapFree") / 1024},
               "nocache": {"free": kb("mem_MemAvailable") / 1024}}),
    );
    set("uptime_seconds", json!(g("uptime").trim().parse::<f64>().unwrap_or(0.0) as u64));
    set("user_id", json!(g("user_id")));
    set("user_uid", json!(g("user_uid").parse::<u64>().unwrap_or(0)));
    set("user_gid", json!(g("user_gid").parse::<u64>().unwrap_or(0)));
    set("user_dir", json!(g("user_dir")));
    set("user_shell", json!(g("user_shell")));
    set(
        "pkg_mgr",
        json!(match g("pkg_mgr").as_str() {
            "apt-get" => "apt",
            "" => "unknown",
            o => o,
        }),
    );
    set("service_mgr", json!(g("service_mgr")));
    set("virtualization_type", json!(if g("virt").is_empty() { "NA".to_string() } else { g("virt") }));
    set("virtualization_role", json!(if g("virt").is_empty() { "NA" } else { "guest" }));
    let epoch: i64 = g("epoch").trim().parse().unwrap_or(0);
    let ft = |f: &str| crate::template::format_time(f, epoch, false);
    set(
        "date_time",
        json!({"epoch": epoch.to_string(), "date": ft("%Y-%m-%d"), "time": ft("%H:%M:%S"), "year": ft("%Y"), "month": ft("%m"),
               "day": ft("%d"), "hour": ft("%H"), "minute": ft("%M"), "second": ft("%S"), "weekday": ft("%A"),
               "iso8601": crate::template::format_time("%Y-%m-%dT%H:%M:%SZ", epoch, true), "tz": g("tz"), "tz_offset": g("tz_offset")}),
    );
    set("env", Value::Object(env));
    let mut interfaces: Vec<String> = links.iter().map(|(i, _)| i.clone()).collect();
    interfaces.dedup();
    set("interfaces", json!(interfaces));
    let addr_of = |a: &str| a.split('/').next().unwrap_or("").to_string();
    let all4: Vec<String> = ipv4.iter().filter(|(i, _)| i != "lo").map(|(_, a)| addr_of(a)).collect();
    set("all_ipv4_addresses", json!(all4));
    set("all_ipv6_addresses", json!(ipv6.iter().filter(|(i, _)| i != "lo").map(|(_, a)| addr_of(a)).collect::<Vec<_>>()));
    let gw_if = g("gw_if");
    let def = ipv4.iter().find(|(i, _)| *i == gw_if).or_else(|| ipv4.iter().find(|(i, _)| i != "lo"));
    let mut d4 = Map::new();
    if let Some((i, a)) = def {
        let prefix: u8 = a.split('/').nth(1).and_then(|p| p.parse().ok()).unwrap_or(32);
        let ip: std::net::Ipv4Addr = addr_of(a).parse().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
        let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
        d4.insert("address".into(), json!(addr_of(a)));
        d4.insert("interface".into(), json!(i));
        d4.insert("alias".into(), json!(i));
        d4.insert("gateway".into(), json!(g("gw")));
        d4.insert("prefix".into(), json!(prefix.to_string()));
        d4.insert("netmask".into(), json!(std::net::Ipv4Addr::from(mask).to_string()));
        d4.insert("network".into(), json!(std::net::Ipv4Addr::from(u32::from(ip) & mask).to_string()));
        d4.insert("macaddress".into(), json!(links.iter().find(|(l, _)| l == i).map(|(_, m)| m.clone()).unwrap_or_default()));
    }
    set("default_ipv4", Value::Object(d4));
    for (i, m) in &links {
        let a4: Vec<&(String, String)> = ipv4.iter().filter(|(x, _)| x == i).collect();
        let mut e = json!({"device": i, "macaddress": m, "active": true});
        if let Some((_, a)) = a4.first() {
            e["ipv4"] = json!({"address": addr_of(a), "prefix": a.split('/').nth(1).unwrap_or("")});
        }
        set(&i.replace(['-', '.'], "_"), e);
    }
    let mounts: Vec<Value> = mounts
        .into_iter()
        .map(|mut m| {
            let mp = m["mount"].as_str().unwrap_or("").to_string();
            if let Some(Value::Array(o)) = mopts.get(&mp) {
                m["fstype"] = o[0].clone();
                m["options"] = o[1].clone();
            }
            m
        })
        .collect();
    set("mounts", json!(mounts));
    kv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_debian() {
        let f = parse("hostname=web1\nfqdn=web1.example.com\nosr_ID=debian\nosr_VERSION_ID=\"12\"\ndebian_version=12.7\nosr_VERSION_CODENAME=bookworm\nnproc=2\nmem_MemTotal=2048000\nipv4=eth0 10.0.0.5/24\nlink=eth0 aa:bb\ngw_if=eth0\ngw=10.0.0.1\n");
        assert_eq!(f["ansible_os_family"], json!("Debian"));
        assert_eq!(f["ansible_distribution_version"], json!("12.7"));
        assert_eq!(f["ansible_distribution_major_version"], json!("12"));
        assert_eq!(f["ansible_memtotal_mb"], json!(2000));
        assert_eq!(f["ansible_default_ipv4"]["address"], json!("10.0.0.5"));
        assert_eq!(f["ansible_domain"], json!("example.com"));
    }
}
