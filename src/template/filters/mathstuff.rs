//! Ansible's `mathstuff` filters: `unique` and the set operations, `itertools`' `product`,
//! `permutations`, `combinations`, `zip` and `zip_longest`, logarithms and roots, and the byte
//! size conversions `human_readable` and `human_to_bytes`, with the messages Ansible gives.
//!
//! Python sets have no order one can rely on (strings hash differently in every run), so the
//! set operations here keep their inputs' order; where Ansible's result is ordered (lists of
//! dictionaries, which go through its fallback) it is the same.

use serde_json::{Map, Value};

use super::{py_eq, py_iter, py_number};

fn dedupe(items: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for x in items {
        if !out.iter().any(|y| py_eq(y, &x)) {
            out.push(x);
        }
    }
    out
}

fn hashable(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

/// `unique`: Jinja's (case-insensitive unless asked, optionally by attribute), falling back to
/// plain equality for unhashable items unless an option the fallback lacks was given.
pub fn unique(v: &Value, case_sensitive: Option<bool>, attribute: Option<&str>) -> Result<Value, String> {
    let items = py_iter(v)?;
    let key = |x: &Value| -> Value {
        let k = match attribute {
            Some(a) => a.split('.').try_fold(x, |cur, p| cur.get(p)).cloned().unwrap_or(Value::Null),
            None => x.clone(),
        };
        match k {
            Value::String(s) if !case_sensitive.unwrap_or(false) => Value::String(s.to_lowercase()),
            other => other,
        }
    };
    if items.iter().all(|x| hashable(&key(x))) {
        let mut seen: Vec<Value> = Vec::new();
        let mut out = Vec::new();
        for x in items {
            let k = key(&x);
            if !seen.iter().any(|s| py_eq(s, &k)) {
                seen.push(k);
                out.push(x);
            }
        }
        return Ok(Value::Array(out));
    }
    if case_sensitive == Some(false) || attribute.is_some() {
        return Err(
            "Jinja2's unique filter failed and we cannot fall back to Ansible's version as it does not support the parameters supplied."
                .into(),
        );
    }
    Ok(Value::Array(dedupe(items)))
}

pub fn setop(a: &Value, b: &Value, op: &str) -> Result<Value, String> {
    let (a, b) = (py_iter(a)?, py_iter(b)?);
    let has = |l: &[Value], x: &Value| l.iter().any(|y| py_eq(x, y));
    let out: Vec<Value> = match op {
        "union" => a.iter().chain(b.iter()).cloned().collect(),
        "intersect" => a.iter().filter(|x| has(&b, x)).cloned().collect(),
        "difference" => a.iter().filter(|x| !has(&b, x)).cloned().collect(),
        _ => a.iter().filter(|x| !has(&b, x)).chain(b.iter().filter(|x| !has(&a, x))).cloned().collect(),
    };
    Ok(Value::Array(dedupe(out)))
}

/// `itertools.combinations`, in its order.
pub fn combinations(pool: &[Value], r: usize) -> Vec<Value> {
    let n = pool.len();
    let mut out = Vec::new();
    if r > n {
        return out;
    }
    let mut idx: Vec<usize> = (0..r).collect();
    loop {
        out.push(Value::Array(idx.iter().map(|&i| pool[i].clone()).collect()));
        let Some(i) = (0..r).rev().find(|&i| idx[i] != i + n - r) else { return out };
        idx[i] += 1;
        for j in i + 1..r {
            idx[j] = idx[j - 1] + 1;
        }
    }
}

/// `itertools.permutations`, in its order (lexicographic by position).
pub fn permutations(pool: &[Value], r: Option<usize>) -> Vec<Value> {
    let n = pool.len();
    let r = r.unwrap_or(n);
    let mut out = Vec::new();
    if r > n {
        return out;
    }
    fn go(pool: &[Value], r: usize, used: &mut Vec<bool>, cur: &mut Vec<Value>, out: &mut Vec<Value>) {
        if cur.len() == r {
            out.push(Value::Array(cur.clone()));
            return;
        }
        for i in 0..pool.len() {
            if !used[i] {
                used[i] = true;
                cur.push(pool[i].clone());
                go(pool, r, used, cur, out);
                cur.pop();
                used[i] = false;
            }
        }
    }
    go(pool, r, &mut vec![false; n], &mut Vec::new(), &mut out);
    out
}

/// `itertools.product(*lists, repeat=n)`.
pub fn product(lists: &[Vec<Value>], repeat: usize) -> Vec<Value> {
    let mut pools: Vec<&Vec<Value>> = Vec::new();
    for _ in 0..repeat {
        pools.extend(lists.iter());
    }
    let mut acc: Vec<Vec<Value>> = vec![vec![]];
    for pool in pools {
        acc = acc.into_iter().flat_map(|p| pool.iter().map(move |x| [p.clone(), vec![x.clone()]].concat())).collect();
    }
    acc.into_iter().map(Value::Array).collect()
}

pub fn zip<T: Clone>(lists: &[Vec<T>], longest: bool, fill: &T) -> Vec<Vec<T>> {
    let n = if longest { lists.iter().map(Vec::len).max() } else { lists.iter().map(Vec::len).min() }.unwrap_or(0);
    (0..n).map(|i| lists.iter().map(|l| l.get(i).cloned().unwrap_or_else(|| fill.clone())).collect()).collect()
}

pub fn log(x: &Value, base: Option<&Value>) -> Result<f64, String> {
    let bad = || "log() can only be used on numbers".to_string();
    let x = py_number(x).ok_or_else(bad)?;
    let base = match base {
        Some(b) => py_number(b).ok_or_else(bad)?,
        None => std::f64::consts::E,
    };
    if x <= 0.0 || base <= 0.0 || base == 1.0 {
        return Err(if base == 1.0 { "float division by zero".into() } else { "math domain error".into() });
    }
    Ok(if base == 10.0 { x.log10() } else { x.ln() / base.ln() })
}

pub fn pow(x: &Value, y: &Value) -> Result<f64, String> {
    let bad = || "pow() can only be used on numbers".to_string();
    Ok(py_number(x).ok_or_else(bad)?.powf(py_number(y).ok_or_else(bad)?))
}

pub fn root(x: &Value, base: Option<&Value>) -> Result<f64, String> {
    let bad = || "root() can only be used on numbers".to_string();
    let x = py_number(x).ok_or_else(bad)?;
    let base = match base {
        Some(b) => py_number(b).ok_or_else(bad)?,
        None => 2.0,
    };
    if base == 2.0 {
        if x < 0.0 {
            return Err(bad());
        }
        return Ok(x.sqrt());
    }
    let r = x.powf(1.0 / base);
    if r.is_nan() {
        return Err(bad());
    }
    Ok(r)
}

const SIZES: [(char, u128); 9] = [
    ('Y', 1 << 80),
    ('Z', 1 << 70),
    ('E', 1 << 60),
    ('P', 1 << 50),
    ('T', 1 << 40),
    ('G', 1 << 30),
    ('M', 1 << 20),
    ('K', 1 << 10),
    ('B', 1),
];

/// `bytes_to_human`: the largest unit the size reaches (or the one asked for), two decimals.
pub fn human_readable(size: &Value, isbits: bool, unit: Option<&str>) -> Result<String, String> {
    let Some(n) = py_number(size) else {
        let t = super::py_type_name(size);
        return Err(format!("human_readable() failed on bad input: '>=' not supported between instances of '{t}' and 'int'"));
    };
    let base = if isbits { "bits" } else { "Bytes" };
    let mut chosen = SIZES[SIZES.len() - 1];
    for s in SIZES {
        chosen = s;
        let hit = match unit {
            None => n >= s.1 as f64,
            Some(u) => u.to_uppercase() == s.0.to_string(),
        };
        if hit {
            break;
        }
    }
    let suffix = if chosen.1 != 1 { format!("{}{}", chosen.0, &base[..1]) } else { base.to_string() };
    Ok(format!("{:.2} {suffix}", n / chosen.1 as f64))
}

/// Python's `round`: halves go to the even neighbour.
fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 {
        2.0 * (x / 2.0).round()
    } else {
        r
    }
}

/// `human_to_bytes`: `'10 KB'`, `'1.5M'`, or a bare number with `default_unit`.
pub fn human_to_bytes(size: &Value, default_unit: Option<&str>, isbits: bool) -> Result<Value, String> {
    let text = super::super::to_text(size);
    let wrap = |m: String| format!("human_to_bytes() can't interpret the input: {m}");
    let re = regex::Regex::new(r"^([0-9]*\.?[0-9]+)(?:\s*([A-Za-z]+))?\s*$").expect("valid");
    let Some(c) = re.captures(&text) else {
        return Err(wrap(format!("human_to_bytes() can't interpret following string: {text}")));
    };
    let num: f64 = c[1].parse().map_err(|_| wrap(format!("human_to_bytes() can't interpret following number: {}", &c[1])))?;
    let unit = c.get(2).map(|m| m.as_str().to_string()).or(default_unit.map(str::to_string));
    let Some(unit) = unit else {
        return Ok(Value::from(round_half_even(num) as i64));
    };
    let range_key = unit.chars().next().map(|c| c.to_ascii_uppercase()).unwrap_or(' ');
    let Some(&(_, limit)) = SIZES.iter().find(|s| s.0 == range_key) else {
        return Err(wrap(format!(
            "human_to_bytes() failed to convert {text} (unit = {unit}). The suffix must be one of Y, Z, E, P, T, G, M, K, B"
        )));
    };
    let (class, class_name) = if isbits { ('b', "bit") } else { ('B', "byte") };
    if unit.chars().count() > 1 {
        let expect =
            if range_key == 'B' { format!("expect {class} or {class_name}") } else { format!("expect {range_key}{class} or {range_key}") };
        let names = ["byte", "kilo", "mega", "giga", "tera", "peta", "exa", "zeta", "yotta"];
        let prefix = names[SIZES.len() - 1 - SIZES.iter().position(|s| s.0 == range_key).unwrap_or(8)];
        let long = if range_key == 'B' { class_name.to_string() } else { format!("{prefix}{class_name}") };
        let short = if range_key == 'B' { class.to_string() } else { format!("{range_key}{class}") };
        if unit.to_lowercase() != long && unit != short {
            return Err(wrap(format!("human_to_bytes() failed to convert {text}. Value is not a valid string ({expect})")));
        }
    }
    let bytes = round_half_even(num * limit as f64);
    Ok(if bytes.abs() < 9.0e18 { Value::from(bytes as i64) } else { Value::from(bytes) })
}

/// `rekey_on_member`: a dictionary of the items, keyed by one of their members.
pub fn rekey_on_member(data: &Value, key: &Value, duplicates: &str) -> Result<Value, String> {
    if duplicates != "error" && duplicates != "overwrite" {
        return Err(format!("duplicates parameter to rekey_on_member has unknown value {}", super::py_repr(&Value::from(duplicates))));
    }
    let items: Vec<&Value> = match data {
        Value::Object(m) => m.values().collect(),
        Value::Array(a) => a.iter().collect(),
        _ => return Err("Type is not a valid list, set, or dict".into()),
    };
    let key_text = super::super::to_text(key);
    let mut out = Map::new();
    for item in items {
        let Value::Object(m) = item else {
            return Err("List item is not a valid dict".into());
        };
        let Some(elem) = m.get(&key_text) else {
            return Err(format!("Key {} was not found.", super::py_repr(key)));
        };
        let k = super::super::to_text(elem);
        if out.contains_key(&k) && duplicates == "error" {
            return Err(format!("Key {} is not unique, cannot convert to dict.", super::py_repr(elem)));
        }
        out.insert(k, item.clone());
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Expected values: ansible-core 2.19.14 through `ansible localhost -m debug`.
    #[test]
    fn itertools_order() {
        let l = [json!(1), json!(2), json!(3)];
        assert_eq!(combinations(&l, 2), vec![json!([1, 2]), json!([1, 3]), json!([2, 3])]);
        assert_eq!(
            permutations(&l, Some(2)),
            vec![json!([1, 2]), json!([1, 3]), json!([2, 1]), json!([2, 3]), json!([3, 1]), json!([3, 2])]
        );
        assert_eq!(permutations(&l, None).len(), 6);
        let p = product(&[vec![json!(1), json!(2)], vec![json!("a"), json!("b")]], 1);
        assert_eq!(p, vec![json!([1, "a"]), json!([1, "b"]), json!([2, "a"]), json!([2, "b"])]);
        assert_eq!(product(&[vec![json!(1), json!(2)], vec![json!("a"), json!("b")]], 2).len(), 16);
    }

    #[test]
    fn unique_and_sets() {
        assert_eq!(unique(&json!(["a", "b", "A", "B"]), None, None).unwrap(), json!(["a", "b"]));
        assert_eq!(unique(&json!(["a", "b", "A", "B"]), Some(true), None).unwrap(), json!(["a", "b", "A", "B"]));
        let d = json!([{"foo": "bar", "moo": "cow"}, {"foo": "bar", "moo": "mar"}]);
        assert_eq!(unique(&d, None, Some("foo")).unwrap(), json!([{"foo": "bar", "moo": "cow"}]));
        assert!(unique(&json!([{"a": 1}]), Some(false), None).unwrap_err().contains("cannot fall back"));
        assert_eq!(unique(&json!(true), None, None).unwrap_err(), "'bool' object is not iterable");
        assert_eq!(unique(&json!("foo"), None, None).unwrap(), json!(["f", "o"]));
        assert_eq!(setop(&json!([1, 2, 3]), &json!([{}]), "union").unwrap(), json!([1, 2, 3, {}]));
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(human_readable(&json!(1), false, None).unwrap(), "1.00 Bytes");
        assert_eq!(human_readable(&json!(1), true, None).unwrap(), "1.00 bits");
        assert_eq!(human_readable(&json!(10240), false, None).unwrap(), "10.00 KB");
        assert_eq!(human_readable(&json!(102400000), false, None).unwrap(), "97.66 MB");
        assert_eq!(human_readable(&json!(102400000), false, Some("G")).unwrap(), "0.10 GB");
        assert_eq!(human_readable(&json!(102400000), true, Some("G")).unwrap(), "0.10 Gb");
        assert_eq!(human_readable(&json!(1048576), false, Some("K")).unwrap(), "1024.00 KB");
        assert!(human_readable(&json!("monkeys"), false, None).unwrap_err().contains("failed on bad input"));
        assert_eq!(human_to_bytes(&json!("0.1"), None, false).unwrap(), json!(0));
        assert_eq!(human_to_bytes(&json!("0.9"), None, false).unwrap(), json!(1));
        assert_eq!(human_to_bytes(&json!("10.00 KB"), None, false).unwrap(), json!(10240));
        assert_eq!(human_to_bytes(&json!("1.1 GB"), None, false).unwrap(), json!(1181116006));
        assert_eq!(human_to_bytes(&json!("10.00 Kb"), None, true).unwrap(), json!(10240));
        assert_eq!(human_to_bytes(&json!("10"), Some("M"), false).unwrap(), json!(10485760));
        assert!(human_to_bytes(&json!("10 KiB"), None, false).unwrap_err().ends_with("Value is not a valid string (expect KB or K)"));
        assert!(human_to_bytes(&json!("10.00 foo"), None, false)
            .unwrap_err()
            .contains("The suffix must be one of Y, Z, E, P, T, G, M, K, B"));
    }

    #[test]
    fn rekeying() {
        let l = json!([{"proto": "eigrp", "state": "enabled"}, {"proto": "ospf", "state": "enabled"}]);
        assert_eq!(
            rekey_on_member(&l, &json!("proto"), "error").unwrap(),
            json!({"eigrp": {"proto": "eigrp", "state": "enabled"}, "ospf": {"proto": "ospf", "state": "enabled"}})
        );
        let dup = json!([{"proto": "eigrp"}, {"proto": "eigrp"}]);
        assert_eq!(rekey_on_member(&dup, &json!("proto"), "error").unwrap_err(), "Key 'eigrp' is not unique, cannot convert to dict.");
        assert_eq!(
            rekey_on_member(&json!([]), &json!("a"), "boo").unwrap_err(),
            "duplicates parameter to rekey_on_member has unknown value 'boo'"
        );
        assert_eq!(rekey_on_member(&json!([{"a": 1}]), &json!("foo"), "error").unwrap_err(), "Key 'foo' was not found.");
    }
}
