//! Module names: `ansible.builtin.copy` is `copy`; the collection modules steward implements
//! are found under their full names too, as Ansible's routing resolves them.

/// The short name of a module, or `None` for a collection module steward does not route.
pub fn short_name(name: &str) -> Option<&str> {
    let Some((ns, short)) = name.rsplit_once('.') else {
        return Some(name);
    };
    let known =
        matches!(ns, "ansible.builtin" | "ansible.legacy" | "ansible.posix" | "community.general" | "community.crypto" | "ansible.utils");
    known.then_some(short)
}
