//! The network collectors: `network` (interfaces from /sys/class/net and `ip addr`, the
//! default routes, locally reachable addresses), `dns`, `fibre_channel_wwn`, `iscsi`, `nvme`.

use serde_json::{json, Map, Value};

use super::sections::{Kv, Sections};
use super::system::Facts;

fn interface_type(t: &str) -> &'static str {
    match t {
        "1" => "ether",
        "32" => "infiniband",
        "512" => "ppp",
        "772" => "loopback",
        "65534" => "tunnel",
        _ => "unknown",
    }
}

/// `ip -4 route get 8.8.8.8` (or -6): interface, address and gateway of the default route.
fn default_route(text: &str, target: &str) -> Map<String, Value> {
    let mut m = Map::new();
    let words: Vec<&str> = text.lines().next().unwrap_or("").split_whitespace().collect();
    if words.first() != Some(&target) {
        return m;
    }
    for i in 0..words.len().saturating_sub(1) {
        match words[i] {
            "dev" => {
                m.insert("interface".into(), json!(words[i + 1]));
            }
            "src" => {
                m.insert("address".into(), json!(words[i + 1]));
            }
            "via" if words[i + 1] != target => {
                m.insert("gateway".into(), json!(words[i + 1]));
            }
            _ => {}
        }
    }
    m
}

/// `ip addr show` output, split per device ("N: NAME[@LINK]: <...>" heads each block).
fn per_device(text: &str) -> Vec<(String, Vec<&str>)> {
    let mut out: Vec<(String, Vec<&str>)> = Vec::new();
    for line in text.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            let name = line.split(": ").nth(1).unwrap_or("").split('@').next().unwrap_or("").to_string();
            out.push((name, Vec::new()));
        } else if let Some(last) = out.last_mut() {
            last.1.push(line);
        }
    }
    out
}

fn ipv4_entry(address: &str, broadcast: &str, prefix: &str) -> Value {
    let ip: std::net::Ipv4Addr = address.parse().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
    let len: u32 = prefix.parse().unwrap_or(32).min(32);
    let mask: u32 = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    json!({
        "address": address,
        "broadcast": broadcast,
        "netmask": std::net::Ipv4Addr::from(mask).to_string(),
        "network": std::net::Ipv4Addr::from(u32::from(ip) & mask).to_string(),
        "prefix": prefix,
    })
}

struct Net {
    interfaces: Vec<(String, Map<String, Value>)>,
    default4: Map<String, Value>,
    default6: Map<String, Value>,
    all4: Vec<Value>,
    all6: Vec<Value>,
}

impl Net {
    fn iface(&mut self, name: &str) -> &mut Map<String, Value> {
        if let Some(i) = self.interfaces.iter().position(|(n, _)| n == name) {
            return &mut self.interfaces[i].1;
        }
        self.interfaces.push((name.to_string(), Map::new()));
        &mut self.interfaces.last_mut().expect("just pushed").1
    }

    /// Ansible's `parse_ip_output` for one device's lines, quirks kept: an address whose label
    /// differs from the device makes (and empties) an interface of that label's name.
    fn parse_ip(&mut self, device: &str, lines: &[&str], secondary: bool) {
        for line in lines {
            let words: Vec<&str> = line.split_whitespace().collect();
            let Some(&first) = words.first() else { continue };
            let dev = self.iface(device).clone();
            let macaddress = dev.get("macaddress").cloned().unwrap_or(json!("unknown"));
            let mtu = dev.get("mtu").cloned().unwrap_or(Value::Null);
            let typ = dev.get("type").cloned().unwrap_or(json!("unknown"));
            if first == "inet" && words.len() > 1 {
                let (address, prefix) = match words[1].split_once('/') {
                    Some((a, p)) => (a.to_string(), p.to_string()),
                    None => (words[1].to_string(), "32".to_string()),
                };
                let broadcast = if words[1].contains('/') && words.len() > 3 && words[2] == "brd" { words[3] } else { "" };
                let entry = ipv4_entry(&address, broadcast, &prefix);
                let label = words.last().copied().unwrap_or(device).to_string();
                if label != device {
                    *self.iface(&label) = Map::new();
                }
                let target = self.iface(&label);
                if !secondary && !target.contains_key("ipv4") {
                    target.insert("ipv4".into(), entry.clone());
                } else {
                    push(target, "ipv4_secondaries", entry.clone());
                }
                if secondary {
                    let d = self.iface(device);
                    if !d.contains_key("ipv4_secondaries") {
                        d.insert("ipv4_secondaries".into(), json!([]));
                    }
                    if device != label {
                        push(d, "ipv4_secondaries", entry.clone());
                    }
                }
                if self.default4.get("address").and_then(Value::as_str) == Some(address.as_str()) {
                    for k in ["broadcast", "netmask", "network", "prefix"] {
                        self.default4.insert(k.into(), entry[k].clone());
                    }
                    self.default4.insert("macaddress".into(), macaddress);
                    self.default4.insert("mtu".into(), mtu);
                    self.default4.insert("type".into(), typ);
                    self.default4.insert("alias".into(), json!(label));
                }
                if !address.starts_with("127.") {
                    self.all4.push(json!(address));
                }
            } else if first == "inet6" && words.len() > 3 {
                let (address, prefix, scope) = if words[2] == "peer" && words.len() > 5 {
                    (words[1].to_string(), words[3].split_once('/').map(|x| x.1).unwrap_or("").to_string(), words[5].to_string())
                } else {
                    let (a, p) = words[1].split_once('/').unwrap_or((words[1], ""));
                    (a.to_string(), p.to_string(), words[3].to_string())
                };
                push(self.iface(device), "ipv6", json!({"address": address, "prefix": prefix, "scope": scope}));
                if self.default6.get("address").and_then(Value::as_str) == Some(address.as_str()) {
                    self.default6.insert("prefix".into(), json!(prefix));
                    self.default6.insert("scope".into(), json!(scope));
                    self.default6.insert("macaddress".into(), macaddress);
                    self.default6.insert("mtu".into(), mtu);
                    self.default6.insert("type".into(), typ);
                }
                if address != "::1" {
                    self.all6.push(json!(address));
                }
            }
        }
    }
}

fn push(m: &mut Map<String, Value>, key: &str, v: Value) {
    match m.get_mut(key) {
        Some(Value::Array(a)) => a.push(v),
        _ => {
            m.insert(key.into(), json!([v]));
        }
    }
}

/// The facts of one /sys/class/net entry, before addresses.
fn sys_iface(device: &str, kv: &Kv) -> Map<String, Value> {
    let mut d = Map::new();
    d.insert("device".into(), json!(device));
    if let Some(mac) = kv.content("address").filter(|m| *m != "00:00:00:00:00:00") {
        d.insert("macaddress".into(), json!(mac));
    }
    if let Some(mtu) = kv.content("mtu").and_then(|m| m.parse::<i64>().ok()) {
        d.insert("mtu".into(), json!(mtu));
    }
    if let Some(state) = kv.get("operstate") {
        d.insert("active".into(), json!(state.trim() != "down"));
    }
    if let Some(m) = kv.content("module") {
        d.insert("module".into(), json!(m));
    }
    if let Some(t) = kv.get("type") {
        d.insert("type".into(), json!(interface_type(t.trim())));
    }
    if kv.flag("bridge") {
        d.insert("type".into(), json!("bridge"));
        d.insert("interfaces".into(), json!(kv.get("brif").unwrap_or("").split_whitespace().collect::<Vec<_>>()));
        if let Some(id) = kv.get("bridge_id") {
            d.insert("id".into(), json!(id.trim()));
        }
        if let Some(stp) = kv.get("stp_state") {
            d.insert("stp".into(), json!(stp.trim() == "1"));
        }
    }
    if kv.flag("bonding") {
        let first = |k: &str| kv.get(k).unwrap_or("").split_whitespace().next().unwrap_or("").to_string();
        d.insert("type".into(), json!("bonding"));
        d.insert("slaves".into(), json!(kv.get("bond_slaves").unwrap_or("").split_whitespace().collect::<Vec<_>>()));
        d.insert("mode".into(), json!(first("bond_mode")));
        d.insert("miimon".into(), json!(first("bond_miimon")));
        d.insert("lacp_rate".into(), json!(first("bond_lacp_rate")));
        if let Some(p) = kv.content("bond_primary") {
            d.insert("primary".into(), json!(p));
            if let Some(a) = kv.get("bond_all_slaves_active") {
                d.insert("all_slaves_active".into(), json!(a.trim() == "1"));
            }
        }
    }
    if let Some(p) = kv.get("perm_hwaddr") {
        d.insert("perm_macaddress".into(), json!(p.trim()));
    }
    if let Some(p) = kv.content("pciid") {
        d.insert("pciid".into(), json!(p));
    }
    if let Some(sp) = kv.content("speed").and_then(|s| s.parse::<i64>().ok()) {
        d.insert("speed".into(), json!(sp));
    }
    if let Some(flags) = kv.content("flags").and_then(|x| i64::from_str_radix(x.trim_start_matches("0x"), 16).ok()) {
        d.insert("promisc".into(), json!(flags & 0x0100 > 0));
    }
    d
}

fn ethtool(out: &Sections, device: &str, d: &mut Map<String, Value>) {
    if let Some(text) = out.get(&format!("ethtool_k {device}")).filter(|t| !t.trim().is_empty()) {
        let mut features = Map::new();
        for line in text.trim().lines() {
            if line.is_empty() || line.ends_with(':') {
                continue;
            }
            let Some((k, v)) = line.split_once(": ") else { continue };
            if !v.is_empty() {
                features.insert(k.trim().replace('-', "_"), json!(v.trim()));
            }
        }
        d.insert("features".into(), Value::Object(features));
    }
    if let Some(text) = out.get(&format!("ethtool_t {device}")).filter(|t| !t.starts_with("rc=")) {
        let find = |re: &str| -> Vec<Value> {
            regex::Regex::new(re).expect("static regex").captures_iter(text).map(|c| json!(c[1].to_lowercase())).collect()
        };
        d.insert("timestamping".into(), json!(find(r"SOF_TIMESTAMPING_(\w+)")));
        d.insert("hw_timestamp_filters".into(), json!(find(r"HWTSTAMP_FILTER_(\w+)")));
        if let Some(c) = regex::Regex::new(r"PTP Hardware Clock: (\d+)").expect("static regex").captures(text) {
            d.insert("phc_index".into(), json!(c[1].parse::<i64>().unwrap_or(0)));
        }
    }
}

pub fn network(out: &Sections, f: &mut Facts) {
    if !out.has("net_ifaces") {
        return;
    }
    let mut net = Net {
        interfaces: Vec::new(),
        default4: default_route(out.get("route4").unwrap_or(""), "8.8.8.8"),
        default6: default_route(out.get("route6").unwrap_or(""), "2404:6800:400a:800::1012"),
        all4: Vec::new(),
        all6: Vec::new(),
    };
    let primary = per_device(out.get("ip_primary").unwrap_or(""));
    let secondary = per_device(out.get("ip_secondary").unwrap_or(""));
    for (device, text) in out.prefixed("netdev") {
        let kv = Kv::parse(text);
        *net.iface(device) = sys_iface(device, &kv);
        for (d, lines) in primary.iter().filter(|(d, _)| d == device) {
            net.parse_ip(d, lines, false);
        }
        for (d, lines) in secondary.iter().filter(|(d, _)| d == device) {
            net.parse_ip(d, lines, true);
        }
        ethtool(out, device, net.iface(device));
    }
    let names: Vec<String> = net.interfaces.iter().map(|(n, _)| n.replace(':', "_")).collect();
    f.insert("interfaces".into(), json!(names));
    for (name, facts) in std::mem::take(&mut net.interfaces) {
        f.insert(name.replace(':', "_"), Value::Object(facts));
    }
    f.insert("default_ipv4".into(), Value::Object(net.default4));
    f.insert("default_ipv6".into(), Value::Object(net.default6));
    f.insert("all_ipv4_addresses".into(), Value::Array(net.all4));
    f.insert("all_ipv6_addresses".into(), Value::Array(net.all6));
    let mut local = json!({"ipv4": [], "ipv6": []});
    for sec in ["local4", "local6"] {
        for line in out.get(sec).unwrap_or("").lines() {
            let w: Vec<&str> = line.split_whitespace().collect();
            if w.first() != Some(&"local") || w.len() < 2 {
                continue;
            }
            let fam = if w[1].contains(':') { "ipv6" } else { "ipv4" };
            if let Some(a) = local[fam].as_array_mut() {
                if !a.contains(&json!(w[1])) {
                    a.push(json!(w[1]));
                }
            }
        }
    }
    f.insert("locally_reachable_ips".into(), local);
}

pub fn dns(out: &Sections, f: &mut Facts) {
    let mut d = Map::new();
    for line in out.get("resolv_conf").unwrap_or("").lines() {
        if line.starts_with('#') || line.starts_with(';') || line.trim().is_empty() {
            continue;
        }
        let t: Vec<&str> = line.split_whitespace().collect();
        match t[0] {
            "nameserver" => {
                for ns in &t[1..] {
                    push(&mut d, "nameservers", json!(ns));
                }
            }
            "domain" if t.len() > 1 => {
                d.insert("domain".into(), json!(t[1]));
            }
            "search" | "sortlist" => {
                d.insert(t[0].into(), json!(t[1..]));
            }
            "options" => {
                let mut o = Map::new();
                for opt in &t[1..] {
                    match opt.split_once(':') {
                        Some((k, v)) if !v.is_empty() => o.insert(k.into(), json!(v)),
                        Some((k, _)) => o.insert(k.into(), json!(true)),
                        None => o.insert(opt.to_string(), json!(true)),
                    };
                }
                d.insert("options".into(), Value::Object(o));
            }
            _ => {}
        }
    }
    f.insert("dns".into(), Value::Object(d));
}

pub fn fibre_channel_wwn(out: &Sections, f: &mut Facts) {
    let wwn: Vec<Value> = out.get("fc_wwn").unwrap_or("").lines().map(|l| json!(l.trim_end().get(2..).unwrap_or(""))).collect();
    f.insert("fibre_channel_wwn".into(), Value::Array(wwn));
}

pub fn iscsi(out: &Sections, f: &mut Facts) {
    let iqn = out
        .content("iscsi")
        .unwrap_or("")
        .lines()
        .filter(|l| !(l.starts_with('#') || l.starts_with(';') || l.trim().is_empty()))
        .find_map(|l| l.strip_prefix("InitiatorName="))
        .unwrap_or("");
    f.insert("iscsi_iqn".into(), json!(iqn));
}

pub fn nvme(out: &Sections, f: &mut Facts) {
    let nqn = out
        .content("nvme")
        .unwrap_or("")
        .lines()
        .filter(|l| !(l.starts_with('#') || l.starts_with(';') || l.trim().is_empty()))
        .find(|l| l.starts_with("nqn."))
        .unwrap_or("");
    f.insert("hostnqn".into(), json!(nqn));
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP_PRIMARY: &str = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
    inet 127.0.0.1/8 scope host lo
       valid_lft forever preferred_lft forever
545: eth0@if546: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default
    link/ether 02:42:ac:12:00:05 brd ff:ff:ff:ff:ff:ff link-netnsid 0
    inet 172.18.0.5/16 brd 172.18.255.255 scope global eth0
       valid_lft forever preferred_lft forever
    inet 100.42.42.1/32 scope global eth0
       valid_lft forever preferred_lft forever
    inet6 fe80::42:acff:fe12:5/64 scope link
       valid_lft forever preferred_lft forever
";

    #[test]
    fn second_primary_address_is_a_secondary_without_broadcast() {
        let text = format!(
            "\n\u{1e}net_ifaces\nlo\neth0\n\u{1e}netdev lo\nmtu=65536\ntype=772\nflags=0x9\naddress=00:00:00:00:00:00\n\u{1e}netdev eth0\naddress=02:42:ac:12:00:05\nmtu=1500\noperstate=up\ntype=1\nflags=0x1003\nspeed=10000\n\u{1e}ip_primary\n{IP_PRIMARY}\u{1e}ip_secondary\n\n\u{1e}route4\n8.8.8.8 via 172.18.0.1 dev eth0 src 172.18.0.5 uid 0\n"
        );
        let out = Sections::parse(&text);
        let mut f = Facts::new();
        network(&out, &mut f);
        assert_eq!(f["interfaces"], json!(["lo", "eth0"]));
        assert_eq!(f["eth0"]["ipv4"]["address"], json!("172.18.0.5"));
        assert_eq!(f["eth0"]["ipv4_secondaries"][0]["broadcast"], json!(""));
        assert_eq!(f["eth0"]["ipv6"][0]["scope"], json!("link"));
        assert_eq!(f["default_ipv4"]["gateway"], json!("172.18.0.1"));
        assert_eq!(f["default_ipv4"]["netmask"], json!("255.255.0.0"));
        assert_eq!(f["default_ipv4"]["type"], json!("ether"));
        assert_eq!(f["all_ipv4_addresses"], json!(["172.18.0.5", "100.42.42.1"]));
        assert_eq!(f["lo"]["type"], json!("loopback"));
        assert!(f["lo"].get("macaddress").is_none());
    }
}
