//! The `hardware` collector: processors, memory, DMI, block devices, uptime, LVM and mounts,
//! read from /proc and /sys as Ansible's `LinuxHardware` reads them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{json, Map, Value};

use super::sections::{Kv, Sections};
use super::system::Facts;

pub fn hardware(out: &Sections, f: &mut Facts, warnings: &mut Vec<String>) {
    let hw = out.kv("hw");
    cpu(out, &hw, f);
    memory(out, f);
    dmi(out, f);
    sysinfo(out, f);
    devices(out, f);
    if let Some(up) = out.content("uptime").and_then(|u| u.split(' ').next()).and_then(|u| u.parse::<f64>().ok()) {
        f.insert("uptime_seconds".into(), json!(up as u64));
    }
    lvm(out, &hw, f);
    mounts(out, f, warnings);
}

fn cpu(out: &Sections, hw: &Kv, f: &mut Facts) {
    let Some(text) = out.get("cpuinfo") else { return };
    let arch = f.get("architecture").and_then(Value::as_str).unwrap_or("").to_string();
    let xen = hw.flag("xen") || hw.content("hypervisor") == Some("xen");
    let mut xen_paravirt = false;
    let mut processor: Vec<Value> = Vec::new();
    let (mut i, mut vendor_n, mut model_n, mut proc_n) = (0u64, 0u64, 0u64, 0u64);
    let mut physid = "0".to_string();
    let mut coreid = "0".to_string();
    // Insertion-ordered, as Python dicts are: Ansible reads the first socket's and core's values.
    let mut sockets: Vec<(String, u64)> = Vec::new();
    let mut cores: Vec<(String, u64)> = Vec::new();
    let set = |v: &mut Vec<(String, u64)>, k: &str, n: u64| match v.iter_mut().find(|(x, _)| x == k) {
        Some(e) => e.1 = n,
        None => v.push((k.to_string(), n)),
    };
    let (mut zp, mut zmt) = (0u64, 0u64);
    for line in text.lines() {
        let (key, val) = match line.split_once(':') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (line.trim(), ""),
        };
        if xen && key == "flags" && !val.contains("vme") {
            xen_paravirt = true;
        }
        if key == "flags" {
            f.insert("flags".into(), json!(val.split_whitespace().collect::<Vec<_>>()));
        }
        match key {
            "model name" | "Processor" | "vendor_id" | "cpu" | "Vendor" | "processor" => {
                processor.push(json!(val));
                match key {
                    "vendor_id" => vendor_n += 1,
                    "model name" => model_n += 1,
                    "processor" => proc_n += 1,
                    _ => {}
                }
                i += 1;
            }
            "physical id" => {
                physid = val.to_string();
                if !sockets.iter().any(|(k, _)| *k == physid) {
                    sockets.push((physid.clone(), 1));
                }
            }
            "core id" => {
                coreid = val.to_string();
                // Ansible tests `sockets` here, not `cores` (so every core id is kept).
                if !sockets.iter().any(|(k, _)| *k == coreid) {
                    set(&mut cores, &coreid, 1);
                }
            }
            "cpu cores" => set(&mut sockets, &physid, val.parse().unwrap_or(0)),
            "siblings" => set(&mut cores, &coreid, val.parse().unwrap_or(0)),
            "# processors" => zp = val.parse().unwrap_or(0),
            "max thread id" => zmt = val.parse::<u64>().unwrap_or(0) + 1,
            "ncpus active" => i = val.parse().unwrap_or(0),
            _ => {}
        }
    }
    f.insert("processor".into(), Value::Array(processor));
    if vendor_n > 0 && vendor_n == model_n {
        i = vendor_n;
    }
    if arch.starts_with("armv") || arch.starts_with("aarch") || arch.starts_with("ppc") {
        i = proc_n;
    }
    let mut put = |k: &str, v: u64| {
        f.insert(k.to_string(), json!(v));
    };
    if arch == "s390x" {
        let cores = if zmt > 0 { (zp as f64 / zmt as f64).round() as u64 } else { 0 };
        put("processor_count", 1);
        put("processor_cores", cores);
        put("processor_threads_per_core", zmt);
        put("processor_vcpus", zp);
        put("processor_nproc", zp);
    } else if xen_paravirt {
        for k in ["processor_count", "processor_cores", "processor_vcpus", "processor_nproc"] {
            put(k, i);
        }
        put("processor_threads_per_core", 1);
    } else {
        let count = if sockets.is_empty() { i } else { sockets.len() as u64 };
        let ncores = sockets.first().map(|s| s.1).filter(|&n| n > 0).unwrap_or(1);
        // Python's round() rounds half to even.
        let tpc = match cores.first() {
            Some(&(_, n)) => round_half_even(n as f64 / ncores as f64),
            None => round_half_even(1.0 / ncores as f64),
        };
        put("processor_count", count);
        put("processor_cores", ncores);
        put("processor_threads_per_core", tpc);
        put("processor_vcpus", tpc * count * ncores);
        put("processor_nproc", proc_n);
    }
    if let Some(n) = hw.content("nproc").and_then(|n| n.parse::<u64>().ok()) {
        f.insert("processor_nproc".into(), json!(n));
    }
}

fn round_half_even(x: f64) -> u64 {
    let r = x.round();
    if (x - x.trunc() - 0.5).abs() < f64::EPSILON && r as u64 % 2 == 1 {
        (r - 1.0) as u64
    } else {
        r as u64
    }
}

fn memory(out: &Sections, f: &mut Facts) {
    let Some(text) = out.get("meminfo") else { return };
    let mut m: HashMap<String, u64> = HashMap::new();
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else { continue };
        let Ok(kb) = v.trim().split(' ').next().unwrap_or("").parse::<u64>() else { continue };
        if matches!(k, "MemTotal" | "SwapTotal" | "MemFree" | "SwapFree") {
            f.insert(format!("{}_mb", k.to_lowercase()), json!(kb / 1024));
        }
        if matches!(k, "MemTotal" | "SwapTotal" | "MemFree" | "SwapFree" | "Buffers" | "Cached" | "SwapCached") {
            m.insert(k.to_lowercase(), kb / 1024);
        }
    }
    let g = |k: &str| m.get(k).copied();
    let sub = |a: Option<u64>, b: Option<u64>| Some(a?.wrapping_sub(b?) as i64);
    let nocache_free = match (g("cached"), g("memfree"), g("buffers")) {
        (Some(c), Some(fr), Some(b)) => Some(c + fr + b),
        _ => None,
    };
    f.insert(
        "memory_mb".into(),
        json!({
            "real": {"total": g("memtotal"), "used": sub(g("memtotal"), g("memfree")), "free": g("memfree")},
            "nocache": {"free": nocache_free, "used": sub(g("memtotal"), nocache_free)},
            "swap": {"total": g("swaptotal"), "free": g("swapfree"), "used": sub(g("swaptotal"), g("swapfree")), "cached": g("swapcached")},
        }),
    );
}

const FORM_FACTOR: &[&str] = &[
    "Unknown",
    "Other",
    "Unknown",
    "Desktop",
    "Low Profile Desktop",
    "Pizza Box",
    "Mini Tower",
    "Tower",
    "Portable",
    "Laptop",
    "Notebook",
    "Hand Held",
    "Docking Station",
    "All In One",
    "Sub Notebook",
    "Space-saving",
    "Lunch Box",
    "Main Server Chassis",
    "Expansion Chassis",
    "Sub Chassis",
    "Bus Expansion Chassis",
    "Peripheral Chassis",
    "RAID Chassis",
    "Rack Mount Chassis",
    "Sealed-case PC",
    "Multi-system",
    "CompactPCI",
    "AdvancedTCA",
    "Blade",
    "Blade Enclosure",
    "Tablet",
    "Convertible",
    "Detachable",
    "IoT Gateway",
    "Embedded PC",
    "Mini PC",
    "Stick PC",
];

/// (fact, /sys/devices/virtual/dmi/id file, dmidecode keyword)
const DMI: &[(&str, &str, &str)] = &[
    ("bios_date", "bios_date", "bios-release-date"),
    ("bios_vendor", "bios_vendor", "bios-vendor"),
    ("bios_version", "bios_version", "bios-version"),
    ("board_asset_tag", "board_asset_tag", "baseboard-asset-tag"),
    ("board_name", "board_name", "baseboard-product-name"),
    ("board_serial", "board_serial", "baseboard-serial-number"),
    ("board_vendor", "board_vendor", "baseboard-manufacturer"),
    ("board_version", "board_version", "baseboard-version"),
    ("chassis_asset_tag", "chassis_asset_tag", "chassis-asset-tag"),
    ("chassis_serial", "chassis_serial", "chassis-serial-number"),
    ("chassis_vendor", "chassis_vendor", "chassis-manufacturer"),
    ("chassis_version", "chassis_version", "chassis-version"),
    ("form_factor", "chassis_type", "chassis-type"),
    ("product_name", "product_name", "system-product-name"),
    ("product_serial", "product_serial", "system-serial-number"),
    ("product_uuid", "product_uuid", "system-uuid"),
    ("product_version", "product_version", "system-version"),
    ("system_vendor", "sys_vendor", "system-manufacturer"),
];

fn dmi(out: &Sections, f: &mut Facts) {
    if out.has("dmi") {
        let kv = out.kv("dmi");
        for (fact, file, _) in DMI {
            let v = match kv.content(file) {
                Some(d) if *fact == "form_factor" => match d.parse::<usize>().ok().and_then(|n| FORM_FACTOR.get(n)) {
                    Some(ff) => ff.to_string(),
                    None => format!("unknown ({d})"),
                },
                Some(d) => d.to_string(),
                None => "NA".to_string(),
            };
            f.insert(fact.to_string(), json!(v));
        }
    } else {
        let kv = out.kv("dmidecode");
        for (fact, _, kw) in DMI {
            f.insert(fact.to_string(), json!(kv.get(kw).unwrap_or("NA")));
        }
    }
}

/// /proc/sysinfo on IBM Z.
fn sysinfo(out: &Sections, f: &mut Facts) {
    let Some(text) = out.get("sysinfo") else { return };
    let mut put = |k: &str, v: &str| {
        f.insert(k.to_string(), json!(v));
    };
    for k in ["system_vendor", "product_version", "product_serial", "product_name", "product_uuid"] {
        put(k, "NA");
    }
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("Manufacturer:") {
            put("system_vendor", v.trim());
        } else if let Some(v) = line.strip_prefix("Type:") {
            put("product_name", v.trim());
        } else if let Some(v) = line.strip_prefix("Sequence Code:") {
            put("product_serial", v.trim().trim_start_matches('0'));
        }
    }
}

/// Ansible's `bytes_to_human`: "256.00 GB", "0.00 Bytes".
pub fn bytes_to_human(size: f64) -> String {
    const UNITS: &[(&str, u32)] = &[("Y", 80), ("Z", 70), ("E", 60), ("P", 50), ("T", 40), ("G", 30), ("M", 20), ("K", 10)];
    for (u, shift) in UNITS {
        let limit = 2f64.powi(*shift as i32);
        if size >= limit {
            return format!("{:.2} {u}B", size / limit);
        }
    }
    format!("{size:.2} Bytes")
}

fn devices(out: &Sections, f: &mut Facts) {
    if !out.has("slaves") {
        return;
    }
    // device_links: link target (a device name) -> sorted link names, per kind.
    let mut links: Vec<(&str, BTreeMap<String, Vec<String>>)> = Vec::new();
    for (kind, dir) in [("ids", "by-id"), ("uuids", "by-uuid"), ("labels", "by-label")] {
        let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for line in out.get(&format!("links {dir}")).unwrap_or("").lines() {
            if let Some((name, target)) = line.split_once(' ') {
                if !target.is_empty() {
                    m.entry(target.rsplit('/').next().unwrap_or("").to_string()).or_default().insert(name.to_string());
                }
            }
        }
        links.push((kind, m.into_iter().map(|(k, v)| (k, v.into_iter().collect())).collect()));
    }
    let mut masters: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in out.get("slaves").unwrap_or("").lines() {
        let e: Vec<&str> = line.split('/').collect();
        if e.len() > 5 {
            masters.entry(e[5].to_string()).or_default().insert(e[3].to_string());
        }
    }
    links.push(("masters", masters.into_iter().map(|(k, v)| (k, v.into_iter().collect())).collect()));
    let links_json = |name: &str| -> Value {
        let mut m = Map::new();
        for (kind, l) in &links {
            m.insert(kind.to_string(), json!(l.get(name).cloned().unwrap_or_default()));
        }
        Value::Object(m)
    };
    let wwn: HashMap<String, String> = out
        .get("links by-id")
        .unwrap_or("")
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter_map(|(n, t)| n.strip_prefix("wwn-").map(|w| (t.rsplit('/').next().unwrap_or("").to_string(), w.to_string())))
        .collect();
    let by_uuid: Vec<(String, String)> = out
        .get("links by-uuid")
        .unwrap_or("")
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, t)| (n.to_string(), t.rsplit('/').next().unwrap_or("").to_string()))
        .collect();
    let lspci = out.get("lspci");
    let pci_re = regex::Regex::new(r".+/([a-f0-9]{4}:[a-f0-9]{2}:[0|1][a-f0-9]\.[0-7])/").expect("static regex");
    let mut devices = Map::new();
    if out.has("blockdevs") {
        for (block, text) in out.prefixed("block") {
            let kv = Kv::parse(text);
            let sysdir = match kv.get("link") {
                Some(l) => format!("/sys/block/{l}"),
                None => format!("/sys/block/{block}"),
            };
            let entries: Vec<&str> = kv.get("entries").unwrap_or("").split_whitespace().collect();
            let virtual_ = if kv.get("link").is_none() && entries.iter().any(|e| e.contains("device")) { 0 } else { 1 };
            let diskname = sysdir.rsplit('/').next().unwrap_or(block).to_string();
            let opt = |k: &str| kv.content(k).map(|v| json!(v)).unwrap_or(Value::Null);
            let mut d = Map::new();
            d.insert("virtual".into(), json!(virtual_));
            d.insert("links".into(), links_json(block));
            for k in ["vendor", "model", "sas_address", "sas_device_handle"] {
                d.insert(k.into(), opt(k));
            }
            if let Some(sg) = kv.get("sg_inq") {
                if let Some(serial) = sg.split(':').nth(1).and_then(|x| x.split_whitespace().next()) {
                    d.insert("serial".into(), json!(serial));
                }
            } else if let Some(serial) = kv.content("serial") {
                d.insert("serial".into(), json!(serial));
            }
            d.insert("removable".into(), opt("removable"));
            d.insert(
                "support_discard".into(),
                if kv.content("discard_max_hw_bytes") == Some("0") { json!("0") } else { opt("discard_granularity") },
            );
            if let Some(w) = wwn.get(&diskname) {
                d.insert("wwn".into(), json!(w));
            }
            let part_re = regex::Regex::new(&format!("({}[p]?\\d+)", regex::escape(&diskname))).ok();
            let mut parts = Map::new();
            for pname in kv.all("part") {
                // Ansible matches any entry of the device's folder that contains NAME[p]N.
                let Some(re) = &part_re else { continue };
                let Some(m) = re.captures(pname).and_then(|c| c.get(1)) else { continue };
                let pn = m.as_str();
                let pk = |k: &str| kv.content(&format!("{pn}.{k}")).map(str::to_string);
                let sectorsize = pk("logical_block_size").or_else(|| pk("hw_sector_size")).unwrap_or_else(|| "512".into());
                let ss: u64 = sectorsize.parse().unwrap_or(512).max(1);
                let sectors = pk("size").and_then(|s| s.parse::<u64>().ok()).unwrap_or(0) * 512 / ss;
                let uuid = by_uuid.iter().find(|(_, t)| t == pn).map(|(u, _)| json!(u)).unwrap_or(Value::Null);
                let holders: Vec<Value> = kv.all(&format!("{pn}.holder")).filter_map(holder).collect();
                parts.insert(
                    pn.to_string(),
                    json!({
                        "links": links_json(pn),
                        "start": pk("start").map(Value::from).unwrap_or(json!(0)),
                        "sectorsize": sectorsize,
                        "sectors": sectors,
                        "size": bytes_to_human(sectors as f64 * ss as f64),
                        "uuid": uuid,
                        "holders": holders,
                    }),
                );
            }
            d.insert("partitions".into(), Value::Object(parts));
            d.insert("rotational".into(), opt("rotational"));
            let sched = kv.content("scheduler").and_then(|s| {
                let a = s.find('[')?;
                let b = s[a..].find(']')? + a;
                Some(s[a + 1..b].to_string())
            });
            d.insert("scheduler_mode".into(), json!(sched.unwrap_or_default()));
            let sectorsize = kv.content("logical_block_size").or_else(|| kv.content("hw_sector_size")).unwrap_or("512").to_string();
            let ss: u64 = sectorsize.parse().unwrap_or(512).max(1);
            let sectors = kv.content("size").and_then(|s| s.parse::<u64>().ok()).unwrap_or(0) * 512 / ss;
            d.insert("sectorsize".into(), json!(sectorsize));
            d.insert("sectors".into(), json!(sectors));
            d.insert("size".into(), json!(bytes_to_human(sectors as f64 * ss as f64)));
            let mut host = String::new();
            if let (Some(c), Some(pci)) = (pci_re.captures(&sysdir), lspci) {
                let id = &c[1];
                if let Some(line) = pci.lines().find(|l| l.starts_with(&format!("{id} "))) {
                    host = line[id.len() + 1..].to_string();
                }
            }
            d.insert("host".into(), json!(host));
            d.insert("holders".into(), json!(kv.all("holder").filter_map(holder).collect::<Vec<_>>()));
            devices.insert(diskname, Value::Object(d));
        }
    }
    f.insert("devices".into(), Value::Object(devices));
    let mut dl = Map::new();
    for (kind, l) in &links {
        dl.insert(kind.to_string(), json!(l));
    }
    f.insert("device_links".into(), Value::Object(dl));
}

/// A "dm-N NAME" holder line: the device-mapper name where there is one (dm-* only).
fn holder(line: &str) -> Option<Value> {
    let (dev, name) = line.split_once(' ').unwrap_or((line, ""));
    if !dev.starts_with("dm-") {
        return None;
    }
    Some(json!(if name.trim().is_empty() { dev } else { name.trim() }))
}

fn lvm(out: &Sections, hw: &Kv, f: &mut Facts) {
    let Some(text) = out.get("lvm") else {
        f.insert("lvm".into(), json!("N/A"));
        return;
    };
    if hw.get("uid") != Some("0") {
        f.insert("lvm".into(), json!("N/A"));
        return;
    }
    let (mut vgs, mut lvs, mut pvs) = (Map::new(), Map::new(), Map::new());
    for line in text.lines() {
        let Some((kind, rest)) = line.split_once(' ') else { continue };
        let it: Vec<&str> = rest.trim().split(',').collect();
        let at = |i: usize| it.get(i).copied().unwrap_or("");
        let last = |back: usize| it.len().checked_sub(back).and_then(|i| it.get(i)).copied().unwrap_or("");
        match kind {
            "vg" => {
                vgs.insert(at(0).into(), json!({"size_g": last(2), "free_g": last(1), "num_lvs": at(2), "num_pvs": at(1)}));
            }
            "lv" => {
                lvs.insert(at(0).into(), json!({"size_g": at(3), "vg": at(1)}));
            }
            // "pv DEVICE rest-of-line": the device was renamed to /dev/mapper/... by the script.
            "pv" => {
                let (dev, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                let it: Vec<&str> = std::iter::once(dev).chain(tail.split(',')).collect();
                let at = |i: usize| it.get(i).copied().unwrap_or("");
                pvs.insert(dev.into(), json!({"size_g": at(4), "free_g": at(5), "vg": at(1)}));
            }
            _ => {}
        }
    }
    f.insert("lvm".into(), json!({"lvs": lvs, "vgs": vgs, "pvs": pvs}));
}

/// `\NNN` octal escapes in /proc/mounts fields.
fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..=i + 3].iter().all(|c| (b'0'..=b'7').contains(c)) {
            let v = (b[i + 1] - b'0') as u32 * 64 + (b[i + 2] - b'0') as u32 * 8 + (b[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn mounts(out: &Sections, f: &mut Facts, warnings: &mut Vec<String>) {
    let Some(mtab) = out.get("mtab") else {
        f.insert("mounts".into(), json!([]));
        return;
    };
    let bind_re = regex::Regex::new(r"^.*\]").expect("static regex");
    let bind_opt_re = regex::Regex::new(r#"^.*bind.*""#).expect("static regex");
    let binds: BTreeSet<&str> = out
        .get("findmnt")
        .unwrap_or("")
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.len() >= 2 && bind_re.is_match(w[1])).then(|| w[0])
        })
        .collect();
    let mut uuids: HashMap<&str, &str> = HashMap::new();
    for line in out.get("lsblk").unwrap_or("").lines() {
        let line = line.trim();
        if let Some((dev, uuid)) = line.rsplit_once(char::is_whitespace) {
            uuids.entry(dev.trim()).or_insert(uuid.trim());
        }
    }
    let udev: HashMap<&str, &str> =
        out.get("udevadm").unwrap_or("").lines().filter_map(|l| l.split_once(' ')).filter(|(_, u)| !u.is_empty()).collect();
    let statfs = out.get("statfs").unwrap_or("");
    let timed_out = statfs.lines().last().is_some_and(|l| l == "rc=124");
    let mut sizes: HashMap<String, Vec<u64>> = HashMap::new();
    for line in statfs.lines() {
        let w: Vec<&str> = line.splitn(7, ' ').collect();
        if w.len() == 7 {
            if let Ok(n) = w[..6].iter().map(|x| x.parse::<u64>()).collect::<Result<Vec<u64>, _>>() {
                sizes.insert(w[6].to_string(), n);
            }
        }
    }
    let mut mounts = Vec::new();
    for line in mtab.lines() {
        let fields: Vec<String> = line.split_whitespace().map(unescape_octal).collect();
        if fields.len() < 4 {
            continue;
        }
        let (device, mount, fstype, options) = (&fields[0], &fields[1], &fields[2], &fields[3]);
        if (!device.starts_with(['/', '\\']) && !device.contains(":/")) || fstype == "none" {
            continue;
        }
        let num = |i: usize| fields.get(i).and_then(|x| x.parse::<i64>().ok()).unwrap_or(0);
        let mut options = options.clone();
        if binds.contains(mount.as_str()) && !bind_opt_re.is_match(&options) {
            options.push_str(",bind");
        }
        let mut m = Map::new();
        m.insert("mount".into(), json!(mount));
        m.insert("device".into(), json!(device));
        m.insert("fstype".into(), json!(fstype));
        m.insert("options".into(), json!(options));
        m.insert("dump".into(), json!(num(4)));
        m.insert("passno".into(), json!(num(5)));
        if timed_out && !sizes.contains_key(mount.as_str()) {
            warnings.push(format!("Timeout exceeded when getting mount info for {mount}"));
            m.insert("note".into(), json!("Could not get extra information due to timeout"));
            mounts.push(Value::Object(m));
            continue;
        }
        // statvfs: f_frsize f_bsize f_blocks f_bavail f_files f_ffree
        if let Some(s) = sizes.get(mount.as_str()) {
            let (frsize, bsize, blocks, bavail, files, ffree) = (s[0], s[1], s[2], s[3], s[4], s[5]);
            m.insert("size_total".into(), json!(frsize * blocks));
            m.insert("size_available".into(), json!(frsize * bavail));
            m.insert("block_size".into(), json!(bsize));
            m.insert("block_total".into(), json!(blocks));
            m.insert("block_available".into(), json!(bavail));
            m.insert("block_used".into(), json!(blocks.saturating_sub(bavail)));
            m.insert("inode_total".into(), json!(files));
            m.insert("inode_available".into(), json!(ffree));
            m.insert("inode_used".into(), json!(files.saturating_sub(ffree)));
        }
        let uuid = uuids.get(device.as_str()).or_else(|| udev.get(device.as_str())).copied().filter(|u| !u.is_empty()).unwrap_or("N/A");
        m.insert("uuid".into(), json!(uuid));
        mounts.push(Value::Object(m));
    }
    f.insert("mounts".into(), Value::Array(mounts));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_as_ansible_prints_them() {
        assert_eq!(bytes_to_human(0.0), "0.00 Bytes");
        assert_eq!(bytes_to_human(536870912.0 * 512.0), "256.00 GB");
        assert_eq!(bytes_to_human(1536.0), "1.50 KB");
    }

    #[test]
    fn lvm_as_the_hardware_facts_target_checks_it() {
        // vgs/lvs/pvs --noheadings --nosuffix --units g --separator , (as gather.sh runs them).
        let text = "\n\u{1e}hw\nuid=0\n\u{1e}lvm\nvg   first,1,2,0,wz--n-,0.01,0.00\nvg   second,1,1,0,wz--n-,0.01,0.00\n\
                    lv   one,first,-wi-a-----,0.00,,,,,,,,\nlv   two,first,-wi-a-----,0.00,,,,,,,,\nlv   uno,second,-wi-a-----,0.00,,,,,,,,\n\
                    pv /dev/loop0 first,lvm2,a--,0.01,0.00\npv /dev/loop1 second,lvm2,a--,0.01,0.00\n";
        let out = Sections::parse(text);
        let mut f = Facts::new();
        lvm(&out, &out.kv("hw"), &mut f);
        let l = &f["lvm"];
        assert_eq!(l["pvs"]["/dev/loop0"]["vg"], "first");
        assert_eq!(l["pvs"]["/dev/loop1"]["vg"], "second");
        assert_eq!(l["lvs"]["one"]["vg"], "first");
        assert_eq!(l["lvs"]["uno"]["vg"], "second");
        assert_eq!(l["vgs"]["first"]["num_lvs"], "2");
        assert_eq!(l["vgs"]["second"]["num_lvs"], "1");
        assert_eq!(l["vgs"]["first"]["size_g"], "0.01");
    }

    #[test]
    fn octal_escapes_in_mount_points() {
        assert_eq!(unescape_octal("/mnt/a\\040b"), "/mnt/a b");
    }
}
