//! Host patterns as Ansible reads them: `all`, `*`, globs, `~regex`, `a:b` or `a,b` (union),
//! `&g` (intersection), `!g` (exclusion), and subscripts `web[0]`, `web[1:3]`.

use indexmap::IndexSet;

use super::Inventory;
use crate::diag::Diagnostic;

pub fn select(inv: &Inventory, pattern: &str) -> Result<Vec<String>, Diagnostic> {
    let terms = split_terms(pattern);
    let mut union: IndexSet<String> = IndexSet::new();
    let mut ands: Vec<IndexSet<String>> = Vec::new();
    let mut nots: Vec<IndexSet<String>> = Vec::new();
    for t in terms {
        if let Some(rest) = t.strip_prefix('&') {
            ands.push(term(inv, rest)?);
        } else if let Some(rest) = t.strip_prefix('!') {
            nots.push(term(inv, rest)?);
        } else {
            union.extend(term(inv, &t)?);
        }
    }
    let selected: Vec<String> = inv
        .hosts
        .keys()
        .filter(|h| union.contains(*h))
        .filter(|h| ands.iter().all(|s| s.contains(*h)))
        .filter(|h| !nots.iter().any(|s| s.contains(*h)))
        .cloned()
        .collect();
    // A single term keeps its own order (a subscript or a group), else inventory order.
    Ok(selected)
}

fn split_terms(pattern: &str) -> Vec<String> {
    let sep = if pattern.contains(',') { ',' } else { ':' };
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in pattern.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ => {}
        }
        if c == sep && depth == 0 && !cur.starts_with('~') {
            if !cur.trim().is_empty() {
                out.push(cur.trim().to_string());
            }
            cur.clear();
        } else {
            cur.push(c);
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

fn term(inv: &Inventory, t: &str) -> Result<IndexSet<String>, Diagnostic> {
    if let Some(re) = t.strip_prefix('~') {
        let re = regex::Regex::new(re).map_err(|e| Diagnostic::new(format!("bad regular expression in host pattern `{t}`: {e}")))?;
        return Ok(names(inv).filter(|n| re.is_match(n)).flat_map(|n| expand(inv, n)).collect());
    }
    // A subscript: web[0], web[-1], web[1:3].
    if let (Some(open), true) = (t.find('['), t.ends_with(']')) {
        let base = term(inv, &t[..open])?;
        let list: Vec<String> = base.into_iter().collect();
        let sub = &t[open + 1..t.len() - 1];
        let idx = |s: &str, default: i64| -> Result<usize, Diagnostic> {
            let n: i64 = if s.is_empty() {
                default
            } else {
                s.parse().map_err(|_| Diagnostic::new(format!("bad subscript `{s}` in host pattern `{t}`")))?
            };
            let n = if n < 0 { list.len() as i64 + n } else { n };
            Ok(n.clamp(0, list.len() as i64) as usize)
        };
        return Ok(match sub.split_once(':') {
            Some((a, b)) => {
                let (a, b) = (idx(a, 0)?, idx(b, list.len() as i64 - 1)?);
                list.get(a..=b.min(list.len().saturating_sub(1))).map(|s| s.iter().cloned().collect()).unwrap_or_default()
            }
            None => list.get(idx(sub, 0)?).into_iter().cloned().collect(),
        });
    }
    if t == "all" || t == "*" {
        return Ok(inv.group_hosts("all"));
    }
    if inv.groups.contains_key(t) {
        return Ok(inv.group_hosts(t));
    }
    if inv.hosts.contains_key(t) {
        return Ok([t.to_string()].into_iter().collect());
    }
    if t.contains(['*', '?', '[']) {
        let g = glob::Pattern::new(t).map_err(|e| Diagnostic::new(format!("bad host pattern `{t}`: {e}")))?;
        return Ok(names(inv).filter(|n| g.matches(n)).flat_map(|n| expand(inv, n)).collect());
    }
    Ok(IndexSet::new())
}

fn names(inv: &Inventory) -> impl Iterator<Item = &String> {
    inv.groups.keys().chain(inv.real_hosts())
}

fn expand(inv: &Inventory, name: &str) -> IndexSet<String> {
    if inv.groups.contains_key(name) {
        inv.group_hosts(name)
    } else {
        [name.to_string()].into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv() -> Inventory {
        let mut inv = Inventory::new();
        for (h, g) in [("web1", "web"), ("web2", "web"), ("db1", "db"), ("web1", "prod"), ("db1", "prod")] {
            inv.add_host(h, Some(g));
        }
        inv.finish();
        inv
    }

    #[test]
    fn union_intersection_exclusion() {
        let inv = inv();
        assert_eq!(select(&inv, "web:&prod").unwrap(), vec!["web1"]);
        assert_eq!(select(&inv, "all:!db").unwrap(), vec!["web1", "web2"]);
        assert_eq!(select(&inv, "web,db").unwrap(), vec!["web1", "web2", "db1"]);
        assert_eq!(select(&inv, "~web[12]").unwrap(), vec!["web1", "web2"]);
        assert_eq!(select(&inv, "w*").unwrap(), vec!["web1", "web2"]);
        assert_eq!(select(&inv, "web[1]").unwrap(), vec!["web2"]);
        assert_eq!(select(&inv, "localhost").unwrap(), vec!["localhost"]);
        assert!(select(&inv, "all").unwrap().iter().all(|h| h != "localhost"));
    }
}
