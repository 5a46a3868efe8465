//! The `distribution` and `lsb` collectors: which Linux this is, read from os-release and the
//! release files Ansible walks in its order, each with Ansible's own reading of it (Debian's
//! minor version from /etc/debian_version, Ubuntu's codename, ...).

use serde_json::{json, Value};

use super::sections::{Kv, Sections};
use super::system::Facts;

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

/// `/etc/os-release` as shell assignments: KEY=value, KEY="value", KEY='value'.
pub fn os_release(text: &str) -> Kv {
    Kv(text
        .lines()
        .filter_map(|l| l.trim().split_once('='))
        .filter(|(k, _)| !k.starts_with('#'))
        .map(|(k, v)| {
            let v = v.trim();
            let v = if v.len() >= 2 && (v.starts_with('"') && v.ends_with('"') || v.starts_with('\'') && v.ends_with('\'')) {
                v[1..v.len() - 1].replace("\\\"", "\"").replace("\\$", "$").replace("\\`", "`").replace("\\\\", "\\")
            } else {
                v.to_string()
            };
            (k.to_string(), v)
        })
        .collect())
}

const OS_FAMILY: &[(&str, &[&str])] = &[
    (
        "RedHat",
        &[
            "RedHat",
            "RHEL",
            "Fedora",
            "CentOS",
            "Scientific",
            "SLC",
            "Ascendos",
            "CloudLinux",
            "PSBM",
            "OracleLinux",
            "OVS",
            "OEL",
            "Amazon",
            "Amzn",
            "Virtuozzo",
            "XenServer",
            "Alibaba",
            "EulerOS",
            "openEuler",
            "AlmaLinux",
            "Rocky",
            "TencentOS",
            "EuroLinux",
            "Kylin Linux Advanced Server",
            "MIRACLE",
        ],
    ),
    (
        "Debian",
        &[
            "Debian",
            "Ubuntu",
            "Raspbian",
            "Neon",
            "KDE neon",
            "Linux Mint",
            "SteamOS",
            "Devuan",
            "Kali",
            "Cumulus Linux",
            "Pop!_OS",
            "Parrot",
            "Pardus GNU/Linux",
            "Uos",
            "Deepin",
            "OSMC",
            "Linux Mint Debian Edition",
        ],
    ),
    (
        "Suse",
        &[
            "SuSE",
            "SLES",
            "SLED",
            "openSUSE",
            "openSUSE Tumbleweed",
            "SLES_SAP",
            "SUSE_LINUX",
            "openSUSE Leap",
            "ALP-Dolomite",
            "SL-Micro",
            "openSUSE MicroOS",
        ],
    ),
    ("Archlinux", &["Archlinux", "Antergos", "Manjaro"]),
    ("Mandrake", &["Mandrake", "Mandriva"]),
    ("Slackware", &["Slackware"]),
    ("Altlinux", &["Altlinux"]),
    ("SMGL", &["SMGL"]),
    ("Gentoo", &["Gentoo", "Funtoo"]),
    ("Alpine", &["Alpine"]),
    ("ClearLinux", &["Clear Linux OS", "Clear Linux Mix"]),
];

pub fn os_family(distro: &str) -> String {
    OS_FAMILY.iter().find(|(_, names)| names.contains(&distro)).map(|(fam, _)| fam.to_string()).unwrap_or_else(|| distro.to_string())
}

/// The release files Ansible looks at, in its order; `true` where an empty file counts.
const DIST_FILES: &[(&str, &str, bool)] = &[
    ("/etc/altlinux-release", "Altlinux", false),
    ("/etc/oracle-release", "OracleLinux", false),
    ("/etc/slackware-version", "Slackware", false),
    ("/etc/centos-release", "CentOS", false),
    ("/etc/redhat-release", "RedHat", false),
    ("/etc/vmware-release", "VMwareESX", true),
    ("/etc/openwrt_release", "OpenWrt", false),
    ("/etc/os-release", "Amazon", false),
    ("/etc/system-release", "Amazon", false),
    ("/etc/alpine-release", "Alpine", false),
    ("/etc/arch-release", "Archlinux", true),
    ("/etc/os-release", "Archlinux", false),
    ("/etc/os-release", "SUSE", false),
    ("/etc/SuSE-release", "SUSE", false),
    ("/etc/gentoo-release", "Gentoo", false),
    ("/etc/os-release", "Debian", false),
    ("/etc/lsb-release", "Debian", false),
    ("/etc/lsb-release", "Mandriva", false),
    ("/etc/sourcemage-release", "SMGL", false),
    ("/etc/coreos/update.conf", "Coreos", false),
    ("/etc/os-release", "Flatcar", false),
    ("/etc/os-release", "NA", false),
];

fn dist_file<'a>(out: &'a Sections, path: &str) -> Option<&'a str> {
    match path {
        "/etc/os-release" => out.get("os_release"),
        "/etc/lsb-release" => out.get("lsb_release_file"),
        p => out.get(&format!("distfile {p}")),
    }
}

fn re_find(re: &str, text: &str) -> Option<String> {
    regex::Regex::new(re).ok()?.captures(text)?.get(1).map(|m| m.as_str().to_string())
}

pub fn distribution(out: &Sections, f: &mut Facts) {
    let osr = os_release(out.get("os_release").unwrap_or(""));
    let id = osr.get("ID").unwrap_or("").to_lowercase();
    // What the `distro` package guesses (Ansible's starting point).
    let mut name = {
        let mut c = id.chars();
        match c.next() {
            Some(first) => first.to_uppercase().collect::<String>() + c.as_str(),
            None => "OtherLinux".to_string(),
        }
    };
    if name == "Amzn" {
        name = "Amazon".into();
    } else if name == "Rhel" {
        name = "Redhat".into();
    }
    let debian_version = out.content("debian_version").unwrap_or("").to_string();
    let mut version = osr.get("VERSION_ID").unwrap_or("").to_string();
    if id == "debian" || id == "centos" {
        // distro's "best" version: the candidate with the most dots.
        let from_version = re_find(r"(\d+(?:\.\d+)*)", osr.get("VERSION").unwrap_or("")).unwrap_or_default();
        let mut best = String::new();
        let dv = if id == "debian" { debian_version.clone() } else { String::new() };
        for v in [version.clone(), dv, from_version] {
            if !v.is_empty() && (best.is_empty() || v.matches('.').count() > best.matches('.').count()) {
                best = v;
            }
        }
        version = if id == "centos" { best.split('.').take(2).collect::<Vec<_>>().join(".") } else { best };
    }
    let codename = osr
        .get("VERSION_CODENAME")
        .or_else(|| osr.get("UBUNTU_CODENAME"))
        .map(str::to_string)
        .or_else(|| re_find(r"\(([^)]+)\)", osr.get("VERSION").unwrap_or("")))
        .filter(|c| !c.is_empty());
    let mut d = Facts::new();
    d.insert("distribution".into(), s(&name));
    d.insert("distribution_version".into(), s(if version.is_empty() { "NA" } else { &version }));
    d.insert("distribution_release".into(), s(codename.as_deref().unwrap_or("NA")));
    let major = version.split('.').next().filter(|m| !m.is_empty()).unwrap_or("NA").to_string();
    d.insert("distribution_major_version".into(), s(&major));

    for &(path, dname, allow_empty) in DIST_FILES {
        let Some(data) = dist_file(out, path) else { continue };
        if data.is_empty() && !allow_empty {
            continue;
        }
        if allow_empty {
            d.insert("distribution".into(), s(dname));
            d.insert("distribution_file_path".into(), s(path));
            d.insert("distribution_file_variety".into(), s(dname));
            break;
        }
        let data = data.trim_matches(|c| c == '\'' || c == '"' || c == '\\');
        if let Some(parsed) = parse_dist_file(dname, data, path, &d, &osr, &debian_version) {
            d.insert("distribution".into(), s(dname));
            d.insert("distribution_file_path".into(), s(path));
            d.insert("distribution_file_variety".into(), s(dname));
            d.insert("distribution_file_parsed".into(), json!(true));
            d.extend(parsed);
            break;
        }
    }
    let fam = os_family(d["distribution"].as_str().unwrap_or(""));
    f.extend(d);
    f.insert("os_family".into(), s(&fam));
}

/// One release file read as Ansible's `parse_distribution_file_NAME` reads it; `None` when
/// the file is not that distribution's.
fn parse_dist_file(name: &str, data: &str, path: &str, so_far: &Facts, osr: &Kv, debian_version: &str) -> Option<Facts> {
    let mut d = Facts::new();
    let mut set = |k: &str, v: &str| {
        d.insert(k.to_string(), s(v));
    };
    let search = match name {
        "OracleLinux" => Some("Oracle Linux"),
        "RedHat" => Some("Red Hat"),
        "Altlinux" => Some("ALT"),
        "SMGL" => Some("Source Mage GNU/Linux"),
        _ => None,
    };
    if let Some(needle) = search {
        if data.contains(needle) {
            set("distribution", name);
            set("distribution_file_search_string", needle);
        } else {
            set("distribution", data.split_whitespace().next().unwrap_or(""));
        }
        return Some(d);
    }
    match name {
        "Archlinux" => {
            if !data.contains("Arch Linux") {
                return None;
            }
            set("distribution", name);
        }
        "Slackware" => {
            if !data.contains("Slackware") {
                return None;
            }
            set("distribution", name);
            if let Some(v) = re_find(r"(\w+[.]\w+\+?)", data) {
                set("distribution_version", &v);
            }
        }
        "Amazon" => {
            if !data.contains("Amazon") {
                return None;
            }
            set("distribution", "Amazon");
            if path == "/etc/os-release" {
                if let Some(v) = re_find(r#"VERSION_ID="(.*)""#, data) {
                    set("distribution_version", &v);
                    let parts: Vec<&str> = v.split('.').collect();
                    set("distribution_major_version", parts[0]);
                    set("distribution_minor_version", parts.get(1).copied().unwrap_or("NA"));
                }
            } else {
                let v = data.split_whitespace().find(|w| w.chars().all(|c| c.is_ascii_digit())).unwrap_or("NA");
                set("distribution_version", v);
            }
        }
        "OpenWrt" => {
            if !data.contains("OpenWrt") {
                return None;
            }
            set("distribution", name);
            if let Some(v) = re_find(r#"DISTRIB_RELEASE="(.*)""#, data) {
                set("distribution_version", &v);
            }
            if let Some(v) = re_find(r#"DISTRIB_CODENAME="(.*)""#, data) {
                set("distribution_release", &v);
            }
        }
        "Alpine" => {
            set("distribution", "Alpine");
            set("distribution_version", data);
        }
        "SUSE" => {
            if !data.to_lowercase().contains("suse") {
                return None;
            }
            if path == "/etc/os-release" {
                if let Some(n) = osr.get("NAME") {
                    set("distribution", n);
                }
                if let Some(v) = re_find(r#"(?m)^VERSION_ID="?([0-9]+\.?[0-9]*)"?"#, data) {
                    set("distribution_major_version", v.split('.').next().unwrap_or(""));
                    set("distribution_version", &v);
                }
                if let Some(r) = re_find(r#"(?m)^VERSION_ID="?[0-9]+\.?([0-9]*)"?"#, data) {
                    let lower = data.to_lowercase();
                    if lower.contains("open") {
                        set("distribution_release", &r);
                    } else if lower.contains("enterprise") {
                        set("distribution_release", if r.is_empty() { "0" } else { &r });
                    }
                }
            }
        }
        "Debian" => return parse_debian(data, path, so_far, debian_version),
        "Mandriva" => {
            if !data.contains("Mandriva") {
                return None;
            }
            set("distribution", "Mandriva");
            if let Some(v) = re_find(r#"DISTRIB_RELEASE="(.*)""#, data) {
                set("distribution_version", &v);
            }
            if let Some(v) = re_find(r#"DISTRIB_CODENAME="(.*)""#, data) {
                set("distribution_release", &v);
            }
        }
        "Coreos" | "Flatcar" => {
            let id = osr.get("ID").unwrap_or("").to_lowercase();
            if id != name.to_lowercase() || data.is_empty() {
                return None;
            }
            if name == "Coreos" {
                if let Some(g) = re_find("(?m)^GROUP=(.*)", data) {
                    set("distribution_release", g.trim_matches('"'));
                }
            } else if let Some(v) = re_find("VERSION=(.*)", data) {
                let v = v.trim_matches('"').to_string();
                set("distribution_major_version", v.split('.').next().unwrap_or(""));
                set("distribution_version", &v);
            }
        }
        "NA" => {
            for line in data.lines() {
                if let Some(n) = line.strip_prefix("NAME=") {
                    set("distribution", n.trim_matches('"'));
                }
                if let Some(v) = line.strip_prefix("VERSION=") {
                    if so_far.get("distribution_version").and_then(Value::as_str) == Some("NA") {
                        set("distribution_version", v.trim_matches('"'));
                    }
                }
            }
        }
        // Ansible has no parser for the rest (Gentoo, ...): the file does not count.
        _ => return None,
    }
    Some(d)
}

fn parse_debian(data: &str, path: &str, so_far: &Facts, debian_version: &str) -> Option<Facts> {
    let mut d = Facts::new();
    let mut set = |k: &str, v: &str| {
        d.insert(k.to_string(), s(v));
    };
    let version_major = |set: &mut dyn FnMut(&str, &str), split: bool| {
        if let Some(v) = re_find(r#"VERSION_ID="(.*)""#, data) {
            set("distribution_version", &v);
            set("distribution_major_version", if split { v.split('.').next().unwrap_or("") } else { &v });
        }
    };
    if data.contains("Debian") || data.contains("Raspbian") {
        set("distribution", "Debian");
        if let Some(r) = re_find(r"PRETTY_NAME=[^(]+ \(?([^)]+?)\)", data) {
            set("distribution_release", &r);
        }
        let _ = so_far;
        let minor = debian_version.lines().find_map(|l| re_find(r"\d+\.(\d+)", l.trim()));
        if let Some(m) = minor {
            set("distribution_minor_version", &m);
        }
    } else if data.contains("Ubuntu") {
        set("distribution", "Ubuntu");
    } else if data.contains("SteamOS") {
        set("distribution", "SteamOS");
    } else if (path == "/etc/lsb-release" || path == "/etc/os-release") && (data.contains("Kali") || data.contains("Parrot")) {
        set("distribution", if data.contains("Kali") { "Kali" } else { "Parrot" });
        if let Some(r) = re_find("DISTRIB_RELEASE=(.*)", data) {
            set("distribution_release", &r);
        }
    } else if data.contains("Devuan") {
        set("distribution", "Devuan");
        if let Some(r) = re_find(r#"PRETTY_NAME="?[^("]+ \(?([^) "]+)\)?"#, data) {
            set("distribution_release", &r);
        }
        version_major(&mut set, false);
    } else if data.contains("Cumulus") {
        set("distribution", "Cumulus Linux");
        if let Some(v) = re_find("VERSION_ID=(.*)", data) {
            set("distribution_major_version", v.split('.').next().unwrap_or(""));
            set("distribution_version", &v);
        }
        if let Some(r) = re_find(r#"VERSION="(.*)""#, data) {
            set("distribution_release", &r);
        }
    } else if data.contains("Mint") {
        set("distribution", "Linux Mint");
        version_major(&mut set, true);
    } else if data.contains("UOS") || data.contains("Uos") || data.contains("uos") {
        set("distribution", "Uos");
        if let Some(r) = re_find(r#"VERSION_CODENAME="?([^"]+)"?"#, data) {
            set("distribution_release", &r);
        }
        version_major(&mut set, true);
    } else if data.contains("Deepin") || data.contains("deepin") {
        set("distribution", "Deepin");
        if let Some(r) = re_find(r#"VERSION_CODENAME="?([^"]+)"?"#, data) {
            set("distribution_release", &r);
        }
        version_major(&mut set, true);
    } else if data.contains("LMDE") {
        set("distribution", "Linux Mint Debian Edition");
    } else {
        return None;
    }
    Some(d)
}

pub fn lsb(out: &Sections, f: &mut Facts) {
    let mut l: Vec<(&str, String)> = Vec::new();
    let put = |l: &mut Vec<(&str, String)>, k: &'static str, v: &str| {
        l.retain(|(x, _)| *x != k);
        l.push((k, v.to_string()));
    };
    if let Some(text) = out.get("lsb_release") {
        for line in text.lines() {
            let Some((_, v)) = line.split_once(':') else { continue };
            let v = v.trim();
            if line.contains("LSB Version:") || line.contains("Release:") {
                put(&mut l, "release", v);
            } else if line.contains("Distributor ID:") {
                put(&mut l, "id", v);
            } else if line.contains("Description:") {
                put(&mut l, "description", v);
            } else if line.contains("Codename:") {
                put(&mut l, "codename", v);
            }
        }
    }
    if l.is_empty() {
        for line in out.get("lsb_release_file").unwrap_or("").lines() {
            let Some((_, v)) = line.split_once('=') else { continue };
            let v = v.trim();
            for (key, fact) in [
                ("DISTRIB_ID", "id"),
                ("DISTRIB_RELEASE", "release"),
                ("DISTRIB_DESCRIPTION", "description"),
                ("DISTRIB_CODENAME", "codename"),
            ] {
                if line.contains(key) {
                    put(&mut l, fact, v);
                    break;
                }
            }
        }
    }
    if let Some(r) = l.iter().find(|(k, _)| *k == "release").map(|(_, v)| v.split('.').next().unwrap_or("").to_string()) {
        l.push(("major_release", r));
    }
    let strip = |v: &str| v.trim_matches(|c| c == '\'' || c == '"' || c == '\\').to_string();
    f.insert("lsb".into(), Value::Object(l.into_iter().map(|(k, v)| (k.to_string(), s(&strip(&v)))).collect()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ubuntu_from_os_release() {
        let osr = "PRETTY_NAME=\"Ubuntu 22.04.3 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nVERSION=\"22.04.3 LTS (Jammy Jellyfish)\"\nVERSION_CODENAME=jammy\nID=ubuntu\nID_LIKE=debian\nUBUNTU_CODENAME=jammy\n";
        let out = Sections::parse(&format!("\n\u{1e}os_release\n{osr}\n\u{1e}debian_version\nbookworm/sid\n"));
        let mut f = Facts::new();
        distribution(&out, &mut f);
        assert_eq!(f["distribution"], json!("Ubuntu"));
        assert_eq!(f["distribution_version"], json!("22.04"));
        assert_eq!(f["distribution_major_version"], json!("22"));
        assert_eq!(f["distribution_release"], json!("jammy"));
        assert_eq!(f["os_family"], json!("Debian"));
        assert!(!f.contains_key("distribution_minor_version"));
    }
}
