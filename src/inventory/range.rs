//! Host ranges: `web[01:20].example.com`, `db-[a:f]`, `node[1:10:2]`.

/// Expand every `[start:end(:step)]` in a host name; leading zeros keep their width.
pub fn expand_host_range(pattern: &str) -> Result<Vec<String>, String> {
    let (Some(open), Some(close)) = (pattern.find('['), pattern.find(']')) else {
        return Ok(vec![pattern.to_string()]);
    };
    if close < open {
        return Err(format!("bad host range in `{pattern}`"));
    }
    let (head, body, tail) = (&pattern[..open], &pattern[open + 1..close], &pattern[close + 1..]);
    let parts: Vec<&str> = body.split(':').collect();
    if parts.len() < 2 || parts.len() > 3 {
        // Not a range (an IPv6 literal or a subscript): keep it as written.
        return Ok(vec![pattern.to_string()]);
    }
    let step: usize = match parts.get(2) {
        Some(s) => s.parse().map_err(|_| format!("bad step `{s}` in host range `{pattern}`"))?,
        None => 1,
    };
    if step == 0 {
        return Err(format!("step 0 in host range `{pattern}`"));
    }
    let (beg, end) = (parts[0], parts[1]);
    let mut items = Vec::new();
    let is_alpha = |s: &str| s.len() == 1 && s.chars().all(|c| c.is_ascii_alphabetic());
    if is_alpha(beg) && is_alpha(end) {
        let (b, e) = (beg.as_bytes()[0], end.as_bytes()[0]);
        if b > e {
            return Err(format!("host range `{pattern}` runs backwards"));
        }
        let mut c = b;
        while c <= e {
            items.push((c as char).to_string());
            c = match c.checked_add(step as u8) {
                Some(n) => n,
                None => break,
            };
        }
    } else {
        let beg_s = if beg.is_empty() { "0" } else { beg };
        let b: u64 = beg_s.parse().map_err(|_| format!("bad range start `{beg}` in `{pattern}`"))?;
        let e: u64 = end.parse().map_err(|_| format!("bad range end `{end}` in `{pattern}`"))?;
        if b > e {
            return Err(format!("host range `{pattern}` runs backwards"));
        }
        let width = if beg_s.len() > 1 && beg_s.starts_with('0') { beg_s.len() } else { 0 };
        let mut n = b;
        while n <= e {
            items.push(format!("{n:0width$}"));
            n += step as u64;
        }
    }
    let mut out = Vec::new();
    for item in items {
        for rest in expand_host_range(tail)? {
            out.push(format!("{head}{item}{rest}"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_with_width() {
        assert_eq!(expand_host_range("web[01:03]").unwrap(), vec!["web01", "web02", "web03"]);
    }

    #[test]
    fn alpha_and_step_and_two_ranges() {
        assert_eq!(expand_host_range("db-[a:c]").unwrap(), vec!["db-a", "db-b", "db-c"]);
        assert_eq!(expand_host_range("n[1:5:2]").unwrap(), vec!["n1", "n3", "n5"]);
        assert_eq!(expand_host_range("r[1:2]c[1:2]").unwrap().len(), 4);
    }
}
