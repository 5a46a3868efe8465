//! The gather script's output: named sections of raw text (see `gather.sh`), and the small
//! readers the collectors share (key=value lines, file-like lookups).

use std::collections::HashMap;

/// One run's output, split at each `\n\x1eNAME\n` marker.
#[derive(Debug, Default)]
pub struct Sections {
    order: Vec<(String, String)>,
    index: HashMap<String, usize>,
}

impl Sections {
    pub fn parse(text: &str) -> Sections {
        let mut s = Sections::default();
        // The script prints "\n\x1e" before every section name, so each piece after the
        // first is "NAME\nTEXT"; text before the first marker is stray output and is dropped.
        for piece in text.split("\n\u{1e}").skip(1) {
            let (name, body) = piece.split_once('\n').unwrap_or((piece, ""));
            if !s.index.contains_key(name) {
                s.index.insert(name.to_string(), s.order.len());
            }
            s.order.push((name.to_string(), body.to_string()));
        }
        s
    }

    /// The text of the first section with this name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.index.get(name).map(|&i| self.order[i].1.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The text of a section, stripped as Ansible's `get_file_content` strips it; `None` when
    /// the section is missing or empty.
    pub fn content(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|s| !s.is_empty())
    }

    /// Sections whose name starts with `prefix` (and a space), in output order: (rest, text).
    pub fn prefixed<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.order.iter().filter_map(move |(n, b)| n.strip_prefix(prefix).and_then(|r| r.strip_prefix(' ')).map(|r| (r, b.as_str())))
    }

    /// A section's `key=value` lines.
    pub fn kv(&self, name: &str) -> Kv {
        Kv::parse(self.get(name).unwrap_or(""))
    }
}

/// `key=value` lines, in order; a key may repeat.
#[derive(Debug, Default, Clone)]
pub struct Kv(pub Vec<(String, String)>);

impl Kv {
    pub fn parse(text: &str) -> Kv {
        Kv(text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Like [`Kv::get`], but stripped and `None` when empty (Ansible's `get_file_content`).
    pub fn content(&self, key: &str) -> Option<&str> {
        self.get(key).map(str::trim).filter(|v| !v.is_empty())
    }

    pub fn flag(&self, key: &str) -> bool {
        self.get(key) == Some("true")
    }

    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_keep_their_text_exactly() {
        let s = Sections::parse("junk\n\u{1e}a\nline1\nline2\n\n\u{1e}b\nno newline\n\u{1e}empty\n");
        assert_eq!(s.get("a"), Some("line1\nline2\n"));
        assert_eq!(s.get("b"), Some("no newline"));
        assert_eq!(s.get("empty"), Some(""));
        assert_eq!(s.content("empty"), None);
        assert!(s.get("junk").is_none());
    }
}
