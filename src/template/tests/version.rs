//! The `version` test: Python's `LooseVersion` (the default), `StrictVersion`, Ansible's
//! `SemanticVersion` and PEP 440 (`packaging.version`), with Ansible's errors.
//!
//! Each scheme orders differently (`1.0a` is after `1.0` loosely, a pre-release before it under
//! PEP 440), and LooseVersion even fails where Python cannot compare a number with a word; a
//! playbook's `when: ansible_version.full is version('2.10', '>=')` depends on all of it.

use std::cmp::Ordering;

/// `version_compare(value, version, operator, strict, version_type)`.
pub fn compare(value: &str, version: &str, op: &str, strict: Option<bool>, version_type: Option<&str>) -> Result<bool, String> {
    if strict.is_some() && version_type.is_some() {
        return Err("Cannot specify both 'strict' and 'version_type'".into());
    }
    if value.is_empty() {
        return Err("Input version value cannot be empty".into());
    }
    if version.is_empty() {
        return Err("Version parameter to compare against cannot be empty".into());
    }
    let scheme = if strict == Some(true) {
        "strict"
    } else {
        match version_type {
            None => "loose",
            Some(t @ ("loose" | "strict" | "semver" | "semantic" | "pep440")) => t,
            Some(t) => return Err(format!("Invalid version type ({t}). Must be one of 'loose', 'strict', 'semver', 'semantic', 'pep440'")),
        }
    };
    let op = match op {
        "==" | "=" | "eq" => "eq",
        "<" | "lt" => "lt",
        "<=" | "le" => "le",
        ">" | "gt" => "gt",
        ">=" | "ge" => "ge",
        "!=" | "<>" | "ne" => "ne",
        other => {
            return Err(format!(
                "Invalid operator type ({other}). Must be one of '==', '=', 'eq', '<', 'lt', '<=', 'le', '>', 'gt', '>=', 'ge', '!=', '<>', 'ne'"
            ))
        }
    };
    let ord = match scheme {
        "strict" => strict_version(value)?.cmp(&strict_version(version)?),
        "semver" | "semantic" => semver(value)?.cmp(&semver(version)?),
        "pep440" => pep440(value)?.cmp(&pep440(version)?),
        _ => loose_cmp(&loose(value), &loose(version)).map_err(|e| format!("Version comparison failed: {e}"))?,
    };
    Ok(match op {
        "eq" => ord == Ordering::Equal,
        "ne" => ord != Ordering::Equal,
        "lt" => ord == Ordering::Less,
        "le" => ord != Ordering::Greater,
        "gt" => ord == Ordering::Greater,
        _ => ord != Ordering::Less,
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Num(u64),
    Str(String),
}

/// LooseVersion: runs of digits, runs of lower-case letters, and whatever lies between dots.
fn loose(s: &str) -> Vec<Part> {
    let mut out = Vec::new();
    let mut between = String::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let flush = |between: &mut String, out: &mut Vec<Part>| {
        if !between.is_empty() {
            let b = std::mem::take(between);
            out.push(b.parse().map(Part::Num).unwrap_or(Part::Str(b)));
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let run = |pred: fn(&char) -> bool| chars[i..].iter().take_while(|c| pred(c)).count();
        let n = if c.is_ascii_digit() {
            run(char::is_ascii_digit)
        } else if c.is_ascii_lowercase() {
            run(char::is_ascii_lowercase)
        } else {
            0
        };
        if n > 0 {
            flush(&mut between, &mut out);
            let t: String = chars[i..i + n].iter().collect();
            out.push(t.parse().map(Part::Num).unwrap_or(Part::Str(t)));
            i += n;
        } else if c == '.' {
            flush(&mut between, &mut out);
            i += 1;
        } else {
            between.push(c);
            i += 1;
        }
    }
    flush(&mut between, &mut out);
    out
}

/// Python's list comparison, which cannot order a number against a string.
fn loose_cmp(a: &[Part], b: &[Part]) -> Result<Ordering, String> {
    for (x, y) in a.iter().zip(b) {
        if x == y {
            continue;
        }
        return match (x, y) {
            (Part::Num(p), Part::Num(q)) => Ok(p.cmp(q)),
            (Part::Str(p), Part::Str(q)) => Ok(p.cmp(q)),
            (Part::Num(_), Part::Str(_)) => Err("'<' not supported between instances of 'int' and 'str'".into()),
            (Part::Str(_), Part::Num(_)) => Err("'<' not supported between instances of 'str' and 'int'".into()),
        };
    }
    Ok(a.len().cmp(&b.len()))
}

type Strict = ((u64, u64, u64), (u8, String, u64));

fn strict_version(s: &str) -> Result<Strict, String> {
    let re = regex::Regex::new(r"^([0-9]+)\.([0-9]+)(\.([0-9]+))?(([ab])([0-9]+))?$").expect("valid");
    let c = re.captures(s).ok_or_else(|| format!("Version comparison failed: invalid version number '{s}'"))?;
    let n = |i: usize| c.get(i).and_then(|m| m.as_str().parse().ok()).unwrap_or(0);
    // No pre-release sorts after any pre-release.
    let pre = match c.get(6) {
        Some(l) => (0, l.as_str().to_string(), n(7)),
        None => (1, String::new(), 0),
    };
    Ok(((n(1), n(2), n(4)), pre))
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ident {
    Num(u64),
    Alpha(String),
}

/// Semantic version's sort key: the core, whether it is a release, the pre-release ids.
type SemVer = ((u64, u64, u64), u8, Vec<Ident>);

fn semver(s: &str) -> Result<SemVer, String> {
    let re = regex::Regex::new(
        r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:-((?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$",
    )
    .expect("valid");
    let c = re.captures(s).ok_or_else(|| format!("Version comparison failed: invalid semantic version '{s}'"))?;
    let n = |i: usize| c.get(i).and_then(|m| m.as_str().parse().ok()).unwrap_or(0);
    let pre: Vec<Ident> = c
        .get(4)
        .map(|m| {
            m.as_str()
                .split('.')
                .map(|p| if p.chars().all(|c| c.is_ascii_digit()) { Ident::Num(p.parse().unwrap_or(0)) } else { Ident::Alpha(p.into()) })
                .collect()
        })
        .unwrap_or_default();
    // A release sorts after its pre-releases; numeric identifiers before alphanumeric ones.
    let stable = if pre.is_empty() { 1 } else { 0 };
    Ok(((n(1), n(2), n(3)), stable, pre))
}

/// packaging's sort key: (epoch, release without trailing zeros, pre, post, dev, local).
type Pep440 = (u64, Vec<u64>, (u8, String, u64), (u8, u64), (u8, u64), (u8, Vec<(u8, u64, String)>));

fn pep440(s: &str) -> Result<Pep440, String> {
    let re = regex::Regex::new(
        r"(?i)^\s*v?(?:(?:([0-9]+)!)?([0-9]+(?:\.[0-9]+)*)([-_.]?(alpha|a|beta|b|preview|pre|c|rc)[-_.]?([0-9]+)?)?((?:-([0-9]+))|(?:[-_.]?(post|rev|r)[-_.]?([0-9]+)?))?([-_.]?(dev)[-_.]?([0-9]+)?)?)(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$",
    )
    .expect("valid");
    let c = re.captures(s).ok_or_else(|| format!("Version comparison failed: Invalid version: '{s}'"))?;
    let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u64>().ok());
    let epoch = num(1).unwrap_or(0);
    let mut release: Vec<u64> = c[2].split('.').map(|x| x.parse().unwrap_or(0)).collect();
    while release.len() > 1 && release.last() == Some(&0) {
        release.pop();
    }
    let (has_pre, has_post, has_dev) = (c.get(3).is_some(), c.get(6).is_some(), c.get(10).is_some());
    let pre = if has_pre {
        let l = c[4].to_lowercase();
        let l = match l.as_str() {
            "alpha" => "a",
            "beta" => "b",
            "c" | "pre" | "preview" => "rc",
            other => other,
        }
        .to_string();
        (1, l, num(5).unwrap_or(0))
    } else if !has_post && has_dev {
        (0, String::new(), 0)
    } else {
        (2, String::new(), 0)
    };
    let post = if has_post { (1, num(7).or(num(9)).unwrap_or(0)) } else { (0, 0) };
    let dev = if has_dev { (0, num(12).unwrap_or(0)) } else { (1, 0) };
    let local = match c.get(13) {
        Some(m) => (
            1,
            m.as_str()
                .split(['-', '_', '.'])
                .map(|p| match p.parse::<u64>() {
                    Ok(n) => (1, n, String::new()),
                    Err(_) => (0, 0, p.to_lowercase()),
                })
                .collect(),
        ),
        None => (0, Vec::new()),
    };
    Ok((epoch, release, pre, post, dev, local))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values: ansible-core 2.19.14's `version` test.
    #[test]
    fn schemes() {
        let t = |a: &str, b: &str, op: &str, vt: Option<&str>| compare(a, b, op, None, vt);
        assert!(t("1.0a", "1.0", ">", None).unwrap());
        assert!(t("1.0.0", "1.0", ">", None).unwrap());
        assert!(t("1.2", "1.10", "<", None).unwrap());
        assert!(t("1.2a", "1.2b", "<", None).unwrap());
        // Python compares the lists with `<` even for `==` once they differ.
        assert!(t("v1.2", "1.2", "==", None).is_err());
        assert_eq!(
            t("v1.2", "1.2", "<", None).unwrap_err(),
            "Version comparison failed: '<' not supported between instances of 'str' and 'int'"
        );
        assert!(compare("1.0", "1.0.0", "==", Some(true), None).unwrap());
        assert!(compare("2.0b1", "2.0", "<", Some(true), None).unwrap());
        assert_eq!(compare("1.0", "nope", "==", Some(true), None).unwrap_err(), "Version comparison failed: invalid version number 'nope'");
        assert!(t("1.2.3", "2.0.0", "lt", Some("semver")).unwrap());
        assert!(t("1.2.3-beta.1", "1.2.3", "<", Some("semver")).unwrap());
        assert!(t("1.2.3+build", "1.2.3", "==", Some("semver")).unwrap());
        assert_eq!(t("1.2", "1.2.0", "==", Some("semver")).unwrap_err(), "Version comparison failed: invalid semantic version '1.2'");
        assert!(t("2.14.0rc1", "2.14.0", "lt", Some("pep440")).unwrap());
        assert!(t("1.0.post1", "1.0", ">", Some("pep440")).unwrap());
        assert!(t("1.0.dev1", "1.0a1", "<", Some("pep440")).unwrap());
        assert!(t("1!1.0", "2.0", ">", Some("pep440")).unwrap());
    }

    #[test]
    fn errors() {
        assert!(compare("1.0", "1.0", "equals", None, None).unwrap_err().starts_with("Invalid operator type (equals)"));
        assert_eq!(compare("1.0", "1.0", "==", Some(false), Some("loose")).unwrap_err(), "Cannot specify both 'strict' and 'version_type'");
        assert!(compare("1.0", "1.0", "==", None, Some("boom")).unwrap_err().starts_with("Invalid version type (boom)"));
        assert_eq!(compare("", "1.0", ">", None, None).unwrap_err(), "Input version value cannot be empty");
        assert_eq!(compare("1.0", "", ">", None, None).unwrap_err(), "Version parameter to compare against cannot be empty");
    }
}
