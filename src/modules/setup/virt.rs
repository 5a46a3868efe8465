//! The `virtual` collector: which container or hypervisor the host runs in (or hosts), checked
//! in the order Ansible's `LinuxVirtual` checks, the first finding deciding type and role.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::sections::Sections;
use super::system::Facts;

#[derive(Default)]
struct Found {
    typ: Option<String>,
    role: Option<String>,
    found: bool,
    guest: BTreeSet<String>,
    host: BTreeSet<String>,
}

impl Found {
    /// A guest technology; the first one found also names the type (and role, if given).
    fn guest(&mut self, tech: &str, typ: &str, role: Option<&str>) {
        self.guest.insert(tech.to_string());
        if !self.found {
            self.typ = Some(typ.to_string());
            if let Some(r) = role {
                self.role = Some(r.to_string());
            }
            self.found = true;
        }
    }
}

pub fn virtual_(out: &Sections, f: &mut Facts) {
    let kv = out.kv("virtual");
    let mut v = Found::default();
    let docker_re = regex::Regex::new(r"/docker(/|-[0-9a-f]+\.scope)").expect("static regex");
    for line in out.get("proc1_cgroup").unwrap_or("").lines() {
        if docker_re.is_match(line) {
            v.guest("docker", "docker", Some("guest"));
        }
        if line.contains("/lxc/") || line.contains("/machine.slice/machine-lxc") {
            v.guest("lxc", "lxc", Some("guest"));
        }
        if line.contains("/system.slice/containerd.service") {
            v.guest("containerd", "containerd", Some("guest"));
        }
    }
    for line in out.get("proc1_environ").unwrap_or("").lines() {
        if line.contains("container=lxc") {
            v.guest("lxc", "lxc", Some("guest"));
        }
        if line.contains("container=podman") {
            v.guest("podman", "podman", Some("guest"));
        }
        if line.starts_with("container=") && line.len() > "container=".len() {
            v.guest("container", "container", Some("guest"));
        }
    }
    if kv.flag("vz") && !kv.flag("lve") {
        v.typ = Some("openvz".into());
        if kv.flag("bc") {
            v.host.insert("openvz".into());
            if !v.found {
                v.role = Some("host".into());
            }
        } else {
            v.guest.insert("openvz".into());
            if !v.found {
                v.role = Some("guest".into());
            }
        }
        v.found = true;
    }
    let systemd_container = kv.content("systemd_container").map(str::to_string);
    if let Some(c) = &systemd_container {
        v.guest(c, c, Some("guest"));
    }
    if kv.flag("dockerenv") || kv.flag("dockerinit") {
        v.guest("docker", "docker", Some("guest"));
    }
    if ["docker", "lxc", "podman", "openvz", "containerd"].iter().any(|t| v.guest.contains(*t)) || systemd_container.is_some() {
        v.guest.insert("container".into());
    }
    if kv.flag("xen") {
        if kv.flag("xen_host") {
            v.host.insert("xen".into());
            if !v.found {
                v.typ = Some("xen".into());
                v.role = Some("host".into());
            }
        } else if !v.found {
            v.typ = Some("xen".into());
            v.role = Some("guest".into());
        }
        v.found = true;
    }
    // From here Ansible sets a provisional role of "guest", dropped again if nothing is found.
    let provisional = !v.found;
    if provisional {
        v.role = Some("guest".into());
    }
    let product_name = kv.content("product_name").unwrap_or("");
    let sys_vendor = kv.content("sys_vendor").unwrap_or("");
    let product_family = kv.content("product_family").unwrap_or("");
    let bios_vendor = kv.content("bios_vendor").unwrap_or("");
    if ["KVM", "KVM Server", "Bochs", "AHV", "CloudStack KVM Hypervisor"].contains(&product_name) {
        v.guest("kvm", "kvm", None);
    }
    if sys_vendor == "oVirt" {
        v.guest("oVirt", "oVirt", None);
    }
    if sys_vendor == "Red Hat" {
        if product_family == "RHV" {
            v.guest("RHV", "RHV", None);
        } else if product_name == "RHEV Hypervisor" {
            v.guest("RHEV", "RHEV", None);
        }
    }
    if product_name.starts_with("VMware") {
        v.guest("VMware", "VMware", None);
    }
    if ["OpenStack Compute", "OpenStack Nova"].contains(&product_name) {
        v.guest("openstack", "openstack", None);
    }
    if bios_vendor == "Xen" {
        v.guest("xen", "xen", None);
    }
    if bios_vendor == "innotek GmbH" {
        v.guest("virtualbox", "virtualbox", None);
    }
    if ["Amazon EC2", "DigitalOcean", "Hetzner", "Linode"].contains(&bios_vendor) {
        v.guest("kvm", "kvm", None);
    }
    if ["QEMU", "Amazon EC2", "DigitalOcean", "Google", "Scaleway", "Nutanix"].contains(&sys_vendor) {
        v.guest("kvm", "kvm", None);
    }
    for (vendor, tech) in [
        ("KubeVirt", "KubeVirt"),
        ("Microsoft Corporation", "VirtualPC"),
        ("Parallels Software International Inc.", "parallels"),
        ("OpenStack Foundation", "openstack"),
    ] {
        if sys_vendor == vendor {
            v.guest(tech, tech, None);
        }
    }
    if !v.found && provisional {
        v.role = None;
    }
    if let Some(n) = kv.content("vxid") {
        if n.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            if !v.found {
                v.typ = Some("linux_vserver".into());
            }
            let (set, role) = if n.starts_with('0') { (&mut v.host, "host") } else { (&mut v.guest, "guest") };
            set.insert("linux_vserver".into());
            if !v.found {
                v.role = Some(role.into());
            }
            v.found = true;
        }
    }
    for line in out.get("virtual_cpuinfo").unwrap_or("").lines() {
        let tech = if line.starts_with("model name") && line.contains("QEMU Virtual CPU") {
            "kvm"
        } else if line.starts_with("vendor_id") && line.contains("User Mode Linux")
            || line.starts_with("model name") && line.contains("UML")
        {
            "uml"
        } else if line.starts_with("machine") && line.contains("CHRP IBM pSeries (emulated by qemu)") {
            "kvm"
        } else if line.starts_with("vendor_id") && line.contains("PowerVM Lx86") {
            "powervm_lx86"
        } else if line.starts_with("vendor_id") && line.contains("IBM/S390") {
            "PR/SM"
        } else {
            continue;
        };
        v.guest.insert(tech.to_string());
        if !v.found {
            v.typ = Some(tech.to_string());
        }
        if tech == "PR/SM" {
            if let Some(h) =
                out.get("lscpu").unwrap_or("").lines().find_map(|l| l.split_once(':').filter(|(k, _)| k.trim() == "Hypervisor"))
            {
                v.guest.insert(h.1.trim().to_string());
                if !v.found {
                    v.typ = Some(h.1.trim().to_string());
                }
            } else if !out.has("lscpu") {
                v.guest.insert("ibm_systemz".into());
                if !v.found {
                    v.typ = Some("ibm_systemz".into());
                }
            }
        }
        if !v.found {
            v.role = Some(if v.typ.as_deref() == Some("PR/SM") { "LPAR" } else { "guest" }.into());
            v.found = true;
        }
    }
    let modules: Vec<&str> = kv.get("modules").unwrap_or("").split_whitespace().collect();
    if modules.contains(&"kvm") {
        v.host.insert("kvm".into());
        if !v.found {
            v.typ = Some("kvm".into());
            v.role = Some("host".into());
        }
        if kv.flag("vdsm") {
            v.host.insert("RHEV".into());
            if !v.found {
                v.typ = Some("RHEV".into());
            }
        }
        v.found = true;
    }
    if modules.contains(&"vboxdrv") {
        v.host.insert("virtualbox".into());
        if !v.found {
            v.typ = Some("virtualbox".into());
            v.role = Some("host".into());
            v.found = true;
        }
    }
    if modules.contains(&"virtio") {
        v.host.insert("kvm".into());
        if !v.found {
            v.typ = Some("kvm".into());
            v.role = Some("guest".into());
            v.found = true;
        }
    }
    if let Some(name) = kv.get("dmidecode") {
        if name.starts_with("VMware") {
            v.guest("VMware", "VMware", Some("guest"));
        }
        if name.contains("BHYVE") {
            v.guest("bhyve", "bhyve", Some("guest"));
        }
    }
    if kv.flag("dev_kvm") {
        v.host.insert("kvm".into());
        if !v.found {
            v.typ = Some("kvm".into());
            v.role = Some("host".into());
            v.found = true;
        }
    }
    if !v.found {
        v.typ = Some("NA".into());
        v.role = Some("NA".into());
    }
    if let Some(t) = v.typ {
        f.insert("virtualization_type".into(), json!(t));
    }
    if let Some(r) = v.role {
        f.insert("virtualization_role".into(), json!(r));
    }
    // Ansible returns sets (in no set order); sorted here so runs compare.
    f.insert("virtualization_tech_guest".into(), Value::from(v.guest.into_iter().collect::<Vec<_>>()));
    f.insert("virtualization_tech_host".into(), Value::from(v.host.into_iter().collect::<Vec<_>>()));
}
