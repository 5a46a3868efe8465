//! Module names: `ansible.builtin.copy` is `copy`; the collection modules steward implements
//! are found under their full names too, as Ansible's routing resolves them. A collection
//! module steward does not implement resolves to nothing, so the playbook check names it.

/// ansible.posix modules steward implements.
const POSIX: &[&str] = &["authorized_key", "mount", "synchronize", "sysctl"];
/// community.general modules steward implements.
const GENERAL: &[&str] = &["archive", "locale_gen", "timezone", "ufw"];

/// The short name of a module, or `None` for a collection module steward does not route.
pub fn short_name(name: &str) -> Option<&str> {
    let Some((ns, short)) = name.rsplit_once('.') else {
        return Some(name);
    };
    match ns {
        // ansible-core's own routing also sends builtin names of moved modules to their
        // collections (ansible.builtin.sysctl is ansible.posix.sysctl).
        "ansible.builtin" | "ansible.legacy" => Some(short),
        "ansible.posix" if POSIX.contains(&short) => Some(short),
        "community.general" if GENERAL.contains(&short) => Some(short),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_known_collection_modules_only() {
        assert_eq!(short_name("ansible.builtin.copy"), Some("copy"));
        assert_eq!(short_name("ansible.posix.authorized_key"), Some("authorized_key"));
        assert_eq!(short_name("community.general.ufw"), Some("ufw"));
        assert_eq!(short_name("copy"), Some("copy"));
        assert_eq!(short_name("community.general.copy"), None);
        assert_eq!(short_name("community.mysql.mysql_user"), None);
    }
}
