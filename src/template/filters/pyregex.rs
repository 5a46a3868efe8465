//! Python's `re` semantics on top of fancy-regex, for `regex_*` filters and the `match`,
//! `search` and `regex` tests.
//!
//! Playbooks are written against Python's regex dialect: lookbehind, backreferences, `$` that
//! also matches before a final newline, `{` as a plain character when it does not start a
//! repetition, `\Z` as the very end. fancy-regex gives the lookaround and backreferences; the
//! small translation here covers where its syntax reads the same text differently. Matches are
//! iterated the way Python's `finditer` and `sub` do (an empty match may follow a non-empty one),
//! and replacement templates (`\1`, `\g<name>`, `\n`) are parsed with Python's rules and errors.

use minijinja::Error;

use super::err;

/// A compiled pattern and what is needed to iterate it as Python does.
pub struct PyRegex {
    re: fancy_regex::Regex,
    /// The same pattern refusing empty matches; built on demand (see [`PyRegex::find_all`]).
    not_empty: std::sync::OnceLock<Option<fancy_regex::Regex>>,
    translated: String,
    ignorecase: bool,
    multiline: bool,
}

/// One match: the span of every group (`None` for a group that did not take part).
pub type Spans = Vec<Option<(usize, usize)>>;

/// How a pattern is anchored: Python's `search`, `match` or `fullmatch`.
#[derive(Clone, Copy, PartialEq)]
pub enum Anchor {
    Search,
    Match,
    Full,
}

impl PyRegex {
    pub fn new(pattern: &str, ignorecase: bool, multiline: bool) -> Result<PyRegex, Error> {
        PyRegex::anchored(pattern, ignorecase, multiline, Anchor::Search)
    }

    pub fn anchored(pattern: &str, ignorecase: bool, multiline: bool, anchor: Anchor) -> Result<PyRegex, Error> {
        let multiline = multiline || leading_flags(pattern).contains('m');
        let body = translate(pattern, multiline);
        let translated = match anchor {
            Anchor::Search => body,
            Anchor::Match => format!(r"\A(?:{body})"),
            Anchor::Full => format!(r"\A(?:{body})\z"),
        };
        let re = build(&translated, ignorecase, multiline, false)
            .map_err(|e| err(format!("invalid regular expression {pattern:?}: {}", describe(&e))))?;
        Ok(PyRegex { re, not_empty: std::sync::OnceLock::new(), translated, ignorecase, multiline })
    }

    /// A pattern for `re.search`, or why it does not compile, in Python's words where they
    /// differ (`nothing to repeat at position 0`).
    pub fn search(pattern: &str) -> Result<PyRegex, String> {
        let translated = translate(pattern, leading_flags(pattern).contains('m'));
        match build(&translated, false, false, false) {
            Ok(_) => PyRegex::new(pattern, false, false).map_err(|e| e.to_string()),
            Err(e) => Err(describe(&e)),
        }
    }

    pub fn groups(&self) -> usize {
        self.re.captures_len() - 1
    }

    /// The name of group `i`, if it has one.
    pub fn group_name(&self, i: usize) -> Option<String> {
        self.re.capture_names().nth(i).flatten().map(str::to_string)
    }

    pub fn group_index(&self, name: &str) -> Option<usize> {
        self.re.capture_names().position(|n| n == Some(name))
    }

    pub fn is_match(&self, text: &str) -> Result<bool, Error> {
        self.re.is_match(text).map_err(|e| err(format!("regular expression failed: {e}")))
    }

    pub fn first(&self, text: &str) -> Result<Option<Spans>, Error> {
        Ok(self.find_all(text, 1)?.into_iter().next())
    }

    /// Up to `limit` matches (0: all), each as its groups' spans, in Python's order: after an
    /// empty match the next one may start at the same place only if it is not empty.
    pub fn find_all(&self, text: &str, limit: usize) -> Result<Vec<Spans>, Error> {
        let fail = |e: fancy_regex::Error| err(format!("regular expression failed: {e}"));
        let mut out = Vec::new();
        let mut pos = 0;
        let mut must_advance = false;
        while pos <= text.len() && (limit == 0 || out.len() < limit) {
            let caps = if must_advance {
                let ne = self.not_empty.get_or_init(|| build(&self.translated, self.ignorecase, self.multiline, true).ok());
                let here = match ne {
                    Some(ne) => ne.captures_from_pos(text, pos).map_err(fail)?.filter(|c| c.get(0).is_some_and(|m| m.start() == pos)),
                    None => None,
                };
                match here {
                    Some(c) => Some(c),
                    None => match text[pos..].chars().next() {
                        Some(ch) => self.re.captures_from_pos(text, pos + ch.len_utf8()).map_err(fail)?,
                        None => None,
                    },
                }
            } else {
                self.re.captures_from_pos(text, pos).map_err(fail)?
            };
            let Some(caps) = caps else { break };
            let spans: Spans = (0..caps.len()).map(|i| caps.get(i).map(|m| (m.start(), m.end()))).collect();
            let (start, end) = spans[0].unwrap_or((pos, pos));
            must_advance = start == end;
            pos = end;
            out.push(spans);
        }
        Ok(out)
    }
}

fn describe(e: &fancy_regex::Error) -> String {
    match e {
        fancy_regex::Error::ParseError(pos, fancy_regex::ParseError::TargetNotRepeatable) => format!("nothing to repeat at position {pos}"),
        other => other.to_string(),
    }
}

fn build(pattern: &str, ignorecase: bool, multiline: bool, not_empty: bool) -> Result<fancy_regex::Regex, fancy_regex::Error> {
    fancy_regex::RegexBuilder::new(pattern).case_insensitive(ignorecase).multi_line(multiline).find_not_empty(not_empty).build()
}

/// The letters of a `(?imsx)` group at the very start, where Python takes global flags.
fn leading_flags(p: &str) -> String {
    p.strip_prefix("(?")
        .and_then(|r| r.split_once(')'))
        .map(|(flags, _)| flags)
        .filter(|f| !f.is_empty() && f.chars().all(|c| "aiLmsux".contains(c)))
        .unwrap_or("")
        .to_string()
}

/// Python's regex syntax written the way fancy-regex reads it.
fn translate(p: &str, multiline: bool) -> String {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    let mut class_start = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            let Some(&n) = chars.get(i + 1) else {
                out.push('\\');
                break;
            };
            i += 2;
            match n {
                // Python's \Z is the very end; fancy-regex's also allows trailing newlines.
                'Z' if !in_class => out.push_str(r"\z"),
                // Word-boundary assertions in fancy-regex, plain characters in Python.
                '<' | '>' => out.push(n),
                '0' => {
                    let v = octal_after_zero(&chars, &mut i);
                    out.push_str(&format!(r"\x{{{v:x}}}"));
                }
                _ => {
                    out.push('\\');
                    out.push(n);
                }
            }
            continue;
        }
        if in_class {
            match c {
                ']' if i > class_start => {
                    in_class = false;
                    out.push(']');
                }
                // Nested classes and set operators in fancy-regex; plain characters in Python.
                '[' | '&' | '~' => {
                    out.push('\\');
                    out.push(c);
                }
                ']' => out.push_str(r"\]"),
                _ => out.push(c),
            }
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                out.push('[');
                i += 1;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                class_start = i;
                continue;
            }
            '$' if !multiline => out.push_str(r"(?:(?=\n\z)|\z)"),
            '{' => match repetition(&chars[i..]) {
                Some((len, text)) => {
                    out.push_str(&text);
                    i += len;
                    continue;
                }
                None => out.push_str(r"\{"),
            },
            '}' => out.push_str(r"\}"),
            '(' if chars.get(i + 1) == Some(&'?') && leading_flags(&chars[i..].iter().collect::<String>()).contains(['a', 'L', 'u']) => {
                // ASCII/locale/unicode flags have no fancy-regex spelling; Unicode is the default.
                let close = chars[i..].iter().position(|c| *c == ')').unwrap_or(0);
                let kept: String = chars[i + 2..i + close].iter().filter(|c| !"aLu".contains(**c)).collect();
                if !kept.is_empty() {
                    out.push_str(&format!("(?{kept})"));
                }
                i += close + 1;
                continue;
            }
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// A `{m,n}` repetition as Python reads it (`{,n}` is `{0,n}`), or `None` for a plain `{`.
fn repetition(chars: &[char]) -> Option<(usize, String)> {
    let mut i = 1;
    let mut lo = String::new();
    while chars.get(i).is_some_and(char::is_ascii_digit) {
        lo.push(chars[i]);
        i += 1;
    }
    let mut hi = None;
    if chars.get(i) == Some(&',') {
        i += 1;
        let mut h = String::new();
        while chars.get(i).is_some_and(char::is_ascii_digit) {
            h.push(chars[i]);
            i += 1;
        }
        hi = Some(h);
    }
    if chars.get(i) != Some(&'}') || (lo.is_empty() && hi.is_none()) {
        return None;
    }
    let lo = if lo.is_empty() { "0".to_string() } else { lo };
    let text = match hi {
        None => format!("{{{lo}}}"),
        Some(h) => format!("{{{lo},{h}}}"),
    };
    Some((i + 1, text))
}

/// A piece of a replacement template.
enum Piece {
    Text(String),
    Group(usize),
}

/// Python's `re` replacement template: `\1`, `\g<1>`, `\g<name>`, `\n` and friends.
pub struct Template(Vec<Piece>);

impl Template {
    pub fn parse(t: &str, re: &PyRegex) -> Result<Template, Error> {
        let chars: Vec<char> = t.chars().collect();
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut i = 0;
        let at = |pos: usize, msg: String| err(format!("{msg} at position {pos}"));
        while i < chars.len() {
            let c = chars[i];
            if c != '\\' {
                text.push(c);
                i += 1;
                continue;
            }
            let start = i;
            let Some(&n) = chars.get(i + 1) else {
                return Err(at(start, "bad escape (end of pattern)".into()));
            };
            i += 2;
            let mut group = None;
            match n {
                'g' => {
                    if chars.get(i) != Some(&'<') {
                        return Err(at(i, "missing <".into()));
                    }
                    let close = chars[i + 1..].iter().position(|c| *c == '>');
                    let Some(close) = close else {
                        return Err(at(i + 1, "missing >, unterminated name".into()));
                    };
                    let name: String = chars[i + 1..i + 1 + close].iter().collect();
                    if name.is_empty() {
                        return Err(at(i + 1, "missing group name".into()));
                    }
                    let index = if name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
                        && name.chars().all(|c| c.is_alphanumeric() || c == '_')
                    {
                        re.group_index(&name).ok_or_else(|| err(format!("unknown group name '{name}'")))?
                    } else {
                        name.parse::<usize>().map_err(|_| at(i + 1, format!("bad character in group name '{name}'")))?
                    };
                    i += close + 2;
                    group = Some((index, start + 1));
                }
                '0' => {
                    let v = octal_after_zero(&chars, &mut i);
                    text.push(char::from_u32(v & 0xff).unwrap_or('\0'));
                }
                d if d.is_ascii_digit() => {
                    let mut digits = d.to_string();
                    let mut octal = false;
                    if let Some(&d2) = chars.get(i).filter(|c| c.is_ascii_digit()) {
                        digits.push(d2);
                        i += 1;
                        let is_oct = |c: char| ('0'..='7').contains(&c);
                        if is_oct(d) && is_oct(d2) && chars.get(i).is_some_and(|c| is_oct(*c)) {
                            digits.push(chars[i]);
                            i += 1;
                            octal = true;
                            let v = u32::from_str_radix(&digits, 8).unwrap_or(0);
                            if v > 0o377 {
                                return Err(at(start, format!("octal escape value \\{digits} outside of range 0-0o377")));
                            }
                            text.push(char::from_u32(v).unwrap_or('\0'));
                        }
                    }
                    if !octal {
                        group = Some((digits.parse().unwrap_or(0), start + 1));
                    }
                }
                'a' => text.push('\u{7}'),
                'b' => text.push('\u{8}'),
                'f' => text.push('\u{c}'),
                'n' => text.push('\n'),
                'r' => text.push('\r'),
                't' => text.push('\t'),
                'v' => text.push('\u{b}'),
                '\\' => text.push('\\'),
                other if other.is_ascii_alphabetic() => return Err(at(start, format!("bad escape \\{other}"))),
                other => {
                    text.push('\\');
                    text.push(other);
                }
            }
            if let Some((index, pos)) = group {
                if index > re.groups() {
                    return Err(at(pos, format!("invalid group reference {index}")));
                }
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Group(index));
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Template(pieces))
    }

    pub fn expand(&self, text: &str, spans: &[Option<(usize, usize)>], out: &mut String) {
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Group(g) => {
                    if let Some(Some((s, e))) = spans.get(*g) {
                        out.push_str(&text[*s..*e]);
                    }
                }
            }
        }
    }
}

/// Python's `re.sub`: the new text and how many replacements were made.
pub fn sub(re: &PyRegex, template: &str, text: &str, count: usize) -> Result<(String, usize), Error> {
    let t = Template::parse(template, re)?;
    let matches = re.find_all(text, count)?;
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for spans in &matches {
        let (s, e) = spans[0].unwrap_or((last, last));
        out.push_str(&text[last..s]);
        t.expand(text, spans, &mut out);
        last = e;
    }
    out.push_str(&text[last..]);
    Ok((out, matches.len()))
}

/// Python's `re.escape`: only the characters that mean something in a pattern.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "()[]{}?*+-|^$\\.&~# \t\n\r\u{b}\u{c}".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Python's `\0` escape: up to two more octal digits from `chars[*i..]`, consumed.
fn octal_after_zero(chars: &[char], i: &mut usize) -> u32 {
    let mut v = 0u32;
    for _ in 0..2 {
        match chars.get(*i).and_then(|d| d.to_digit(8)) {
            Some(d) => {
                v = v * 8 + d;
                *i += 1;
            }
            None => break,
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub_all(p: &str, r: &str, t: &str) -> String {
        sub(&PyRegex::new(p, false, false).unwrap(), r, t, 0).unwrap().0
    }

    // Expected values are Python 3.11's `re.sub` results, as ansible-core's regex_replace gives.
    #[test]
    fn python_semantics() {
        assert_eq!(sub_all("(?<=a)b", "X", "abc"), "aXc");
        assert_eq!(sub_all(r"(a)(b)\1", "Z", "abab"), "Zb");
        assert_eq!(sub_all("b", r"\g<0>\g<0>", "abc"), "abbc");
        assert_eq!(sub_all("(x)?b", r"[\1]", "abc"), "a[]c");
        assert_eq!(sub_all("{y}", "z", "x{y}"), "xz");
        assert_eq!(sub_all("$", "!", "x\nyz\n"), "x\nyz!\n!");
        assert_eq!(sub(&PyRegex::new("$", false, true).unwrap(), "!", "x\nyz\n", 0).unwrap().0, "x!\nyz!\n!");
        assert_eq!(sub_all(r"\Z", "y", "x"), "xy");
        assert_eq!(sub_all("", "-", "abc"), "-a-b-c-");
        assert_eq!(sub_all("x*", "-", "abxd"), "-a-b--d-");
        assert_eq!(sub_all("a*?", "-", "aaa"), "-------");
        assert_eq!(sub_all("[[]", "x", "a[b"), "axb");
        assert_eq!(sub_all("[&&]", "x", "a&&b"), "axxb");
        assert_eq!(sub_all(r"\<", "x", "a<b"), "axb");
        assert_eq!(sub_all("a", r"\n", "a"), "\n");
        assert_eq!(sub_all("(?P<x>a)", r"\g<x>\g<x>", "ab"), "aab");
    }

    #[test]
    fn template_errors() {
        let re = PyRegex::new("a", false, false).unwrap();
        assert_eq!(sub(&re, r"\q", "a", 0).unwrap_err().detail(), Some(r"bad escape \q at position 0"));
        assert_eq!(sub(&re, "\\", "a", 0).unwrap_err().detail(), Some("bad escape (end of pattern) at position 0"));
        assert_eq!(sub(&re, r"\2", "a", 0).unwrap_err().detail(), Some("invalid group reference 2 at position 1"));
    }

    #[test]
    fn findall_order() {
        let re = PyRegex::new("a*?", false, false).unwrap();
        let m: Vec<(usize, usize)> = re.find_all("aaa", 0).unwrap().iter().map(|s| s[0].unwrap()).collect();
        assert_eq!(m, vec![(0, 0), (0, 1), (1, 1), (1, 2), (2, 2), (2, 3), (3, 3)]);
    }

    #[test]
    fn escaping() {
        assert_eq!(escape("^f.*o(.*)$"), r"\^f\.\*o\(\.\*\)\$");
        assert_eq!(escape("a b/c-d_e"), r"a\ b/c\-d_e");
    }
}
