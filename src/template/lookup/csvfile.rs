//! `csvfile`: the field of the row whose key column holds the search key,
//! `lookup('csvfile', 'Smith', file='people.csv', delimiter=',', col=1)`. Options come as
//! keywords or, the older way, as `k=v` words after the key (`'Smith file=people.csv col=1'`);
//! `delimiter=TAB` is a tab. The file is read as Python's `csv` module reads Excel's dialect:
//! quoted fields may hold the delimiter, newlines and doubled quotes.

use minijinja::Error;
use serde_json::{Map, Value};

use super::{err, int_option, parse_kv, Ctx};
use crate::template::to_text;

const OPTIONS: [&str; 6] = ["col", "keycol", "default", "delimiter", "file", "encoding"];

pub fn run(ctx: &Ctx, terms: Vec<Value>, kw: &Map<String, Value>) -> Result<Vec<Value>, Error> {
    if terms.is_empty() {
        return Err(err("Search key is required but was not found"));
    }
    let mut out = Vec::new();
    for term in terms {
        let mut opts: Map<String, Value> = kw.clone();
        let mut kv = parse_kv(&to_text(&term));
        let Some(key) = kv.remove("_raw_params") else {
            return Err(err("Search key is required but was not found"));
        };
        for (k, v) in kv {
            if !OPTIONS.contains(&k.as_str()) {
                return Err(err(format!("'{k}' is not a valid option")));
            }
            opts.insert(k, v);
        }
        let text = |k: &str, d: &str| opts.get(k).filter(|v| !v.is_null()).map(to_text).unwrap_or_else(|| d.to_string());
        let int = |k: &str, d: i64| opts.get(k).filter(|v| !v.is_null()).map(|v| int_option("csvfile", k, v)).unwrap_or(Ok(d));
        let col = int("col", 1)?;
        let keycol = int("keycol", 0)?;
        let mut delimiter = text("delimiter", "TAB");
        if delimiter == "TAB" {
            delimiter = "\t".into();
        }
        let mut d = delimiter.chars();
        let (Some(delim), None) = (d.next(), d.next()) else {
            return Err(err("\"delimiter\" must be a 1-character string"));
        };
        let file = text("file", "ansible.csv");
        let Some(path) = ctx.find("files", &file) else {
            crate::diag::warn(&format!("Unable to find '{file}' in expected paths (use -vvvvv to see paths)"));
            return Err(err(format!("[Errno 2] No such file or directory: '{file}'")));
        };
        let bytes = std::fs::read(&path).map_err(|e| err(format!("{e}: '{}'", path.display())))?;
        let text = decode(&bytes, &text("encoding", "utf-8"))?;
        let found = find_row(&text, delim, &to_text(&key), keycol, col)?;
        match found.map(Value::from).or_else(|| opts.get("default").filter(|v| !v.is_null()).cloned()) {
            Some(Value::Array(a)) => out.extend(a),
            Some(v) => out.push(v),
            None => {}
        }
    }
    Ok(out)
}

fn decode(bytes: &[u8], encoding: &str) -> Result<String, Error> {
    match encoding.to_ascii_lowercase().replace('_', "-").as_str() {
        "utf-8" | "utf8" | "utf-8-sig" => {
            let s = std::str::from_utf8(bytes).map_err(|e| err(format!("'utf-8' codec can't decode the file: {e}")))?;
            Ok(s.strip_prefix('\u{feff}').unwrap_or(s).to_string())
        }
        "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" => Ok(bytes.iter().map(|b| *b as char).collect()),
        "ascii" | "us-ascii" => match bytes.iter().position(|b| !b.is_ascii()) {
            Some(i) => Err(err(format!("'ascii' codec can't decode byte {:#04x} in position {i}", bytes[i]))),
            None => Ok(String::from_utf8_lossy(bytes).into_owned()),
        },
        other => Err(err(format!("steward cannot read files in the {other:?} encoding (use utf-8, latin-1 or ascii)"))),
    }
}

fn find_row(text: &str, delim: char, key: &str, keycol: i64, col: i64) -> Result<Option<String>, Error> {
    for row in rows(text, delim) {
        if row.is_empty() {
            continue;
        }
        if index(&row, keycol)? == key {
            return Ok(Some(index(&row, col)?.to_string()));
        }
    }
    Ok(None)
}

/// Python's `row[i]`, negative indexes from the end.
fn index(row: &[String], i: i64) -> Result<&str, Error> {
    let n = row.len() as i64;
    let at = if i < 0 { n + i } else { i };
    if at < 0 || at >= n {
        return Err(err("list index out of range"));
    }
    Ok(&row[at as usize])
}

/// The rows of a CSV text, as `csv.reader(f, dialect=csv.excel, delimiter=d)` gives them: a
/// quote opens a quoted field only at the start of a field, `""` inside one is a quote, and
/// what follows a closing quote up to the delimiter is kept.
fn rows(text: &str, delim: char) -> Vec<Vec<String>> {
    #[derive(PartialEq)]
    enum St {
        StartField,
        InField,
        Quoted,
        QuoteInQuoted,
    }
    let text = text.replace("\r\n", "\n");
    let mut out = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut st = St::StartField;
    let mut started = false;
    for c in text.chars() {
        match st {
            St::Quoted => match c {
                '"' => st = St::QuoteInQuoted,
                _ => field.push(c),
            },
            St::QuoteInQuoted if c == '"' => {
                field.push('"');
                st = St::Quoted;
            }
            _ if c == '\n' || c == '\r' => {
                if started || !field.is_empty() || !row.is_empty() {
                    row.push(std::mem::take(&mut field));
                }
                out.push(std::mem::take(&mut row));
                st = St::StartField;
                started = false;
            }
            _ if c == delim => {
                row.push(std::mem::take(&mut field));
                st = St::StartField;
                started = true;
            }
            St::StartField if c == '"' => {
                st = St::Quoted;
                started = true;
            }
            _ => {
                field.push(c);
                st = St::InField;
                started = true;
            }
        }
    }
    if st == St::Quoted || started || !field.is_empty() || !row.is_empty() {
        row.push(field);
        out.push(row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_dialect() {
        let r = rows("a,b\n\"x, y\",\"\"\"q\"\" r\",\"m\"@n\n\nlast", ',');
        assert_eq!(r[0], vec!["a", "b"]);
        assert_eq!(r[1], vec!["x, y", "\"q\" r", "m@n"]);
        assert!(r[2].is_empty());
        assert_eq!(r[3], vec!["last"]);
        assert_eq!(rows("a,b\r\nc,d\r\n", ','), vec![vec!["a", "b"], vec!["c", "d"]]);
        assert_eq!(rows("a,\n", ','), vec![vec!["a", ""]]);
    }

    #[test]
    fn rows_found_by_key() {
        let t = "Smith,Jane,1\n\"German von Lastname\",Demo,2\n";
        assert_eq!(find_row(t, ',', "German von Lastname", 0, 1).unwrap().as_deref(), Some("Demo"));
        assert_eq!(find_row(t, ',', "Jane", 1, 0).unwrap().as_deref(), Some("Smith"));
        assert_eq!(find_row(t, ',', "nobody", 0, 1).unwrap(), None);
        assert!(find_row(t, ',', "Smith", 0, 9).is_err());
    }
}
