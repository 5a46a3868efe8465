//! Tests of the whole setup module's reading: subsets, filters, and a recorded run of the
//! gather script on a Debian bookworm container checked against what Ansible gave there.

use super::*;

#[test]
fn subsets_as_ansible_resolves_them() {
    let s = |v: &[&str]| select(&v.iter().map(|x| x.to_string()).collect::<Vec<_>>()).unwrap();
    let all = s(&[]);
    assert!(all.contains(&"hardware") && all.contains(&"network") && all.contains(&"local"));
    let min = s(&["!all"]);
    assert_eq!(min.len(), MINIMAL.len());
    assert!(!min.contains(&"hardware"));
    assert!(s(&["!all", "!min"]).is_empty());
    let net = s(&["network"]);
    assert!(net.contains(&"network") && net.contains(&"platform") && !net.contains(&"hardware"));
    assert!(!s(&["all", "!hardware"]).contains(&"hardware"));
    // A fact name stands for its collector.
    assert!(s(&["!all", "devices"]).contains(&"hardware"));
    // Requirements come along even without min.
    assert!(s(&["!all", "!min", "pkg_mgr"]).contains(&"distribution"));
    let bad = select(&["bogus".to_string()]).unwrap_err();
    assert!(bad.starts_with(
        "Bad subset 'bogus' given to Ansible. gather_subset options allowed: all, all_ipv4_addresses, all_ipv6_addresses, apparmor,"
    ));
    assert!(bad.ends_with("virtualization_tech_host, virtualization_type"));
}

#[test]
fn filters_match_with_or_without_the_prefix() {
    let mut f = Facts::new();
    f.insert("local".into(), json!({}));
    f.insert("env".into(), json!({}));
    let out = finish(f, &[], &["*local*".into()]);
    assert_eq!(out.keys().collect::<Vec<_>>(), ["ansible_local"]);
    let mut f = Facts::new();
    f.insert("distribution".into(), json!("Debian"));
    f.insert("env".into(), json!({}));
    let out = finish(f, &[], &["distribution".into()]);
    assert_eq!(out.keys().collect::<Vec<_>>(), ["ansible_distribution"]);
}

/// The gather script's output from a `steward-conf:bookworm-5-1` container (over SSH, as root),
/// and what ansible-core 2.19.14's setup gave on the same container a moment before.
const RECORDED: &str = include_str!("../../../tests/facts/bookworm-docker.out");
const ANSIBLE: &str = include_str!("../../../tests/facts/bookworm-docker.ansible.json");
const ANSIBLE_KEYS: &str = include_str!("../../../tests/facts/ansible-keys.txt");

/// Facts steward does not give, with the reason (none at the moment on this host).
const NOT_GIVEN: &[(&str, &str)] = &[];

/// Facts whose values change by themselves between two runs: only their shape is compared.
const VOLATILE: &[&str] =
    &["ansible_date_time", "ansible_uptime_seconds", "ansible_memfree_mb", "ansible_memory_mb", "ansible_loadavg", "ansible_env"];

/// Lists Ansible builds from a Python set: their order changes from run to run.
const UNORDERED: &[&str] = &["ansible_interfaces", "ansible_virtualization_tech_guest", "ansible_virtualization_tech_host"];

/// Mount fields that change as the disk fills.
const VOLATILE_MOUNT: &[&str] = &["size_available", "block_available", "block_used", "inode_available", "inode_used"];

fn recorded_facts() -> Map<String, Value> {
    let all = select(&[]).unwrap();
    let mut w = Vec::new();
    finish(collect(&Sections::parse(RECORDED), &all, &mut w), &[], &[])
}

/// Same JSON types and, for objects, the same keys, all the way down.
fn same_shape(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut kx: Vec<_> = x.keys().collect();
            let mut ky: Vec<_> = y.keys().collect();
            kx.sort();
            ky.sort();
            kx == ky && x.iter().all(|(k, v)| same_shape(v, &y[k]))
        }
        (Value::Array(_), Value::Array(_)) => true,
        (Value::Number(x), Value::Number(y)) => x.is_f64() == y.is_f64(),
        _ => std::mem::discriminant(a) == std::mem::discriminant(b),
    }
}

#[test]
fn recorded_bookworm_run_gives_what_ansible_gave() {
    let ours = recorded_facts();
    let theirs: Map<String, Value> = serde_json::from_str(ANSIBLE).unwrap();
    let mut diffs = Vec::new();
    for (k, want) in &theirs {
        if NOT_GIVEN.iter().any(|(n, _)| n == k) {
            continue;
        }
        let Some(got) = ours.get(k) else {
            diffs.push(format!("{k}: missing"));
            continue;
        };
        let ok = if VOLATILE.contains(&k.as_str()) {
            if k == "ansible_env" {
                got.is_object()
            } else {
                same_shape(got, want)
            }
        } else if UNORDERED.contains(&k.as_str()) {
            let sorted = |v: &Value| {
                let mut a: Vec<String> = v.as_array().into_iter().flatten().map(|x| x.to_string()).collect();
                a.sort();
                a
            };
            sorted(got) == sorted(want)
        } else if k == "ansible_mounts" {
            let strip = |v: &Value| -> Value {
                let mut v = v.clone();
                for m in v.as_array_mut().into_iter().flatten() {
                    for f in VOLATILE_MOUNT {
                        if let Some(o) = m.as_object_mut() {
                            o.remove(*f);
                        }
                    }
                }
                v
            };
            strip(got) == strip(want) && same_shape(got, want)
        } else {
            got == want
        };
        if !ok {
            diffs.push(format!("{k}:\n  steward {got}\n  ansible {want}"));
        }
    }
    for k in ours.keys() {
        if !theirs.contains_key(k) {
            diffs.push(format!("{k}: only steward gives it"));
        }
    }
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
}

#[test]
fn every_key_ansible_gave_is_given() {
    let ours = recorded_facts();
    let missing: Vec<&str> = ANSIBLE_KEYS
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|k| !ours.contains_key(*k) && !NOT_GIVEN.iter().any(|(n, _)| n == k))
        .collect();
    assert!(missing.is_empty(), "missing: {missing:?}");
}

#[test]
fn recorded_run_key_facts() {
    let f = recorded_facts();
    assert_eq!(f["ansible_distribution"], json!("Debian"));
    assert_eq!(f["ansible_distribution_version"], json!("12.15"));
    assert_eq!(f["ansible_distribution_minor_version"], json!("15"));
    assert_eq!(f["ansible_os_family"], json!("Debian"));
    assert_eq!(f["ansible_default_ipv4"]["address"], json!("172.18.0.2"));
    assert_eq!(f["ansible_eth0"]["ipv4"]["netmask"], json!("255.255.0.0"));
    assert_eq!(f["ansible_virtualization_type"], json!("docker"));
    assert_eq!(f["ansible_python"]["version"]["minor"], json!(11));
    assert_eq!(f["ansible_processor_vcpus"], json!(2));
    assert_eq!(f["ansible_devices"]["vda"]["size"], json!("256.00 GB"));
    assert_eq!(f["ansible_mounts"][0]["options"], json!("rw,relatime,discard,resv_strict,resuid=65534,resgid=65534,bind"));
    assert_eq!(f["ansible_date_time"]["weeknumber"], json!("48"));
    assert_eq!(f["module_setup"], json!(true));
}

#[test]
fn names_take_underscores_for_dashes() {
    let mut f = Facts::new();
    f.insert("br-1a2b".into(), json!({"device": "br-1a2b"}));
    let out = finish(f, &["network".into()], &[]);
    assert_eq!(out["ansible_br_1a2b"]["device"], json!("br-1a2b"));
    assert_eq!(out["gather_subset"], json!(["network"]));
}

#[test]
fn capabilities_of_a_user_without_any() {
    // capsh --print as an unprivileged user: "Current: =" (Ansible gives [""] and "True").
    let out = Sections::parse("\n\u{1e}capsh\nCurrent: =\nBounding set =cap_chown\nrc=0\n");
    let mut f = Facts::new();
    system::caps(&out, &mut f);
    assert_eq!(f["system_capabilities"], json!([""]));
    assert_eq!(f["system_capabilities_enforced"], json!("True"));
    let mut f = Facts::new();
    system::caps(&Sections::parse(""), &mut f);
    assert_eq!(f["system_capabilities"], json!("N/A"));
}
