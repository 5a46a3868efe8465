//! `to_yaml` and `to_nice_yaml`, byte for byte as Ansible writes them, and `from_yaml_all`.
//!
//! Ansible dumps with PyYAML's `CSafeDumper`, that is libyaml's emitter: its choice of scalar
//! style (plain, quoted, escaped), its line folding at the width, its indentless sequences in
//! mappings and its flow style for collections of plain scalars are what users diff rendered
//! files against. So this is a small emitter that keeps libyaml's state (column, indention,
//! whitespace, the indent stack) and takes the same decisions at the same points; the
//! representer part (sorted keys, which collections are flow, which strings need quotes because
//! they would read back as another type) follows PyYAML's `SafeRepresenter` and `Resolver`.

use std::sync::OnceLock;

use serde_json::Value;

/// The `yaml.dump` options Ansible passes through.
#[derive(Debug, Clone)]
pub struct Options {
    pub indent: i64,
    pub width: i64,
    /// `default_flow_style`: `None` makes collections of plain scalars flow, the rest block.
    pub flow: Option<bool>,
    /// `default_style`: one of `"`, `'`, `|`, `>` for every scalar.
    pub style: Option<char>,
    pub canonical: bool,
    pub explicit_start: bool,
    pub explicit_end: bool,
    pub sort_keys: bool,
    pub unicode: bool,
    pub line_break: String,
    pub version: Option<(i64, i64)>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            indent: 2,
            width: 80,
            flow: None,
            style: None,
            canonical: false,
            explicit_start: false,
            explicit_end: false,
            sort_keys: true,
            unicode: true,
            line_break: "\n".into(),
            version: None,
        }
    }
}

/// A represented node: what PyYAML's serializer hands to the emitter.
enum Node {
    Scalar(Scalar),
    Seq(Vec<Node>, bool),
    Map(Vec<(Node, Node)>, bool),
}

struct Scalar {
    tag: &'static str,
    value: String,
    style: Option<char>,
    plain_implicit: bool,
    quoted_implicit: bool,
}

/// Dump one document.
pub fn dump(v: &Value, o: &Options) -> String {
    let root = represent(v, o);
    let mut e = Emitter::new(o);
    e.document(&root);
    e.out
}

fn represent(v: &Value, o: &Options) -> Node {
    match v {
        Value::Array(a) => {
            let items: Vec<Node> = a.iter().map(|x| represent(x, o)).collect();
            let best = items.iter().all(is_plain_scalar);
            Node::Seq(items, o.flow.unwrap_or(best))
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            if o.sort_keys {
                keys.sort();
            }
            let pairs: Vec<(Node, Node)> = keys.into_iter().map(|k| (scalar("str", k.clone(), o), represent(&m[k.as_str()], o))).collect();
            let best = pairs.iter().all(|(k, v)| is_plain_scalar(k) && is_plain_scalar(v));
            Node::Map(pairs, o.flow.unwrap_or(best))
        }
        Value::Null => scalar("null", "null".into(), o),
        Value::Bool(b) => scalar("bool", if *b { "true" } else { "false" }.into(), o),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => scalar("int", i.to_string(), o),
            (_, Some(u)) => scalar("int", u.to_string(), o),
            _ => scalar("float", yaml_float(n.as_f64().unwrap_or(0.0)), o),
        },
        Value::String(s) => scalar("str", s.clone(), o),
    }
}

/// PyYAML's `represent_float`: Python's repr, lower case, with `.0` before a bare exponent.
fn yaml_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    let r = super::py_float_repr(f);
    if !r.contains('.') && r.contains('e') {
        return r.replacen('e', ".0e", 1);
    }
    r
}

fn scalar(tag: &'static str, value: String, o: &Options) -> Node {
    let plain_implicit = resolve(&value) == tag;
    Node::Scalar(Scalar { tag, value, style: o.style, plain_implicit, quoted_implicit: tag == "str" })
}

/// A scalar the representer left without a style keeps its parent in flow style.
fn is_plain_scalar(n: &Node) -> bool {
    matches!(n, Node::Scalar(s) if s.style.is_none())
}

/// PyYAML's implicit resolvers: the tag a plain scalar with this text would read back as.
fn resolve(value: &str) -> &'static str {
    struct Resolvers {
        boolean: regex::Regex,
        float: regex::Regex,
        int: regex::Regex,
        null: regex::Regex,
        timestamp: regex::Regex,
    }
    static R: OnceLock<Resolvers> = OnceLock::new();
    let r = R.get_or_init(|| Resolvers {
        boolean: regex::Regex::new(r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$")
            .expect("valid"),
        float: regex::Regex::new(
            r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        )
        .expect("valid"),
        int: regex::Regex::new(
            r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
        )
        .expect("valid"),
        null: regex::Regex::new(r"^(?:~|null|Null|NULL|)$").expect("valid"),
        timestamp: regex::Regex::new(
            r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$",
        )
        .expect("valid"),
    });
    // PyYAML picks the candidate resolvers by the first character.
    match value.chars().next() {
        None | Some('~' | 'n' | 'N') if r.null.is_match(value) => "null",
        Some('y' | 'Y' | 'n' | 'N' | 't' | 'T' | 'f' | 'F' | 'o' | 'O') if r.boolean.is_match(value) => "bool",
        Some('-' | '+' | '0'..='9' | '.') if r.float.is_match(value) => "float",
        Some('-' | '+' | '0'..='9') if r.int.is_match(value) => "int",
        Some('<') if value == "<<" => "merge",
        Some('0'..='9') if r.timestamp.is_match(value) => "timestamp",
        Some('=') if value == "=" => "value",
        _ => "str",
    }
}

/// What libyaml's `yaml_emitter_analyze_scalar` finds out about a scalar's text.
#[derive(Default)]
struct Analysis {
    multiline: bool,
    flow_plain: bool,
    block_plain: bool,
    single_quoted: bool,
    block: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blankz(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => c == ' ' || c == '\t' || is_break(c),
    }
}

/// libyaml's `IS_PRINTABLE`: no characters outside the Basic Multilingual Plane.
fn is_printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}') && c != '\u{feff}'
}

fn analyze(s: &str, unicode: bool) -> Analysis {
    if s.is_empty() {
        return Analysis { multiline: false, flow_plain: false, block_plain: true, single_quoted: true, block: false };
    }
    let chars: Vec<char> = s.chars().collect();
    let (mut flow_ind, mut block_ind) = (false, false);
    if s.starts_with("---") || s.starts_with("...") {
        flow_ind = true;
        block_ind = true;
    }
    let (mut line_breaks, mut special) = (false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) = (false, false, false, false);
    let (mut break_space, mut space_break, mut previous_space, mut previous_break) = (false, false, false, false);
    let mut preceded_by_ws = true;
    let last = chars.len() - 1;
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_ws = is_blankz(chars.get(i + 1).copied());
        if i == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(c) {
                flow_ind = true;
                block_ind = true;
            }
            if c == '?' || c == ':' {
                flow_ind = true;
                block_ind |= followed_by_ws;
            }
            if c == '-' && followed_by_ws {
                flow_ind = true;
                block_ind = true;
            }
        } else {
            if ",?[]{}".contains(c) {
                flow_ind = true;
            }
            if c == ':' {
                flow_ind = true;
                block_ind |= followed_by_ws;
            }
            if c == '#' && preceded_by_ws {
                flow_ind = true;
                block_ind = true;
            }
        }
        if !is_printable(c) || (!c.is_ascii() && !unicode) {
            special = true;
        }
        if is_break(c) {
            line_breaks = true;
        }
        if c == ' ' {
            leading_space |= i == 0;
            trailing_space |= i == last;
            break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            leading_break |= i == 0;
            trailing_break |= i == last;
            space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_ws = is_blankz(Some(c));
    }
    let mut a = Analysis { multiline: line_breaks, flow_plain: true, block_plain: true, single_quoted: true, block: true };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.flow_plain = false;
        a.block_plain = false;
    }
    if trailing_space {
        a.block = false;
    }
    if break_space {
        a.flow_plain = false;
        a.block_plain = false;
        a.single_quoted = false;
    }
    if space_break || special {
        a = Analysis { multiline: line_breaks, ..Analysis::default() };
    }
    if line_breaks {
        a.flow_plain = false;
        a.block_plain = false;
    }
    if flow_ind {
        a.flow_plain = false;
    }
    if block_ind {
        a.block_plain = false;
    }
    a
}

struct Emitter<'a> {
    o: &'a Options,
    out: String,
    best_indent: i64,
    best_width: i64,
    column: i64,
    indent: i64,
    indents: Vec<i64>,
    flow_level: usize,
    whitespace: bool,
    indention: bool,
    open_ended: u8,
    mapping_context: bool,
    simple_key_context: bool,
}

impl<'a> Emitter<'a> {
    fn new(o: &'a Options) -> Emitter<'a> {
        let best_indent = if (2..=9).contains(&o.indent) { o.indent } else { 2 };
        let best_width = if o.width >= 0 && o.width <= best_indent * 2 {
            80
        } else if o.width < 0 {
            i64::MAX
        } else {
            o.width
        };
        Emitter {
            o,
            out: String::new(),
            best_indent,
            best_width,
            column: 0,
            indent: -1,
            indents: Vec::new(),
            flow_level: 0,
            whitespace: true,
            indention: true,
            open_ended: 0,
            mapping_context: false,
            simple_key_context: false,
        }
    }

    fn document(&mut self, root: &Node) {
        let mut implicit = !(self.o.explicit_start || self.o.canonical);
        if let Some((major, minor)) = self.o.version {
            implicit = false;
            self.write_indicator("%YAML", true, false, false);
            self.write_indicator(&format!("{major}.{minor}"), true, false, false);
            self.write_indent();
        }
        if !implicit {
            self.write_indent();
            self.write_indicator("---", true, false, false);
            if self.o.canonical {
                self.write_indent();
            }
        }
        self.node(root, true, false, false);
        self.write_indent();
        if self.o.explicit_end {
            self.write_indent();
            self.write_indicator("...", true, false, false);
            self.open_ended = 0;
            self.write_indent();
        }
        // A block scalar that keeps its trailing newlines leaves the stream open ended.
        if self.open_ended == 2 {
            self.write_indicator("...", true, false, false);
            self.write_indent();
        }
    }

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        let lb = self.o.line_break.clone();
        self.out.push_str(&lb);
        self.column = 0;
    }

    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn write_indicator(&mut self, ind: &str, need_whitespace: bool, is_whitespace: bool, is_indention: bool) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        for c in ind.chars() {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
        self.open_ended = 0;
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { self.best_indent } else { 0 };
        } else if !indentless {
            self.indent += self.best_indent;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn node(&mut self, n: &Node, _root: bool, mapping: bool, simple_key: bool) {
        self.mapping_context = mapping;
        self.simple_key_context = simple_key;
        match n {
            Node::Scalar(s) => self.scalar(s),
            Node::Seq(items, flow) => {
                if self.o.canonical {
                    self.write_tag("!!seq");
                }
                if self.flow_level > 0 || self.o.canonical || *flow || items.is_empty() {
                    self.flow_sequence(items);
                } else {
                    self.block_sequence(items);
                }
            }
            Node::Map(pairs, flow) => {
                if self.o.canonical {
                    self.write_tag("!!map");
                }
                if self.flow_level > 0 || self.o.canonical || *flow || pairs.is_empty() {
                    self.flow_mapping(pairs);
                } else {
                    self.block_mapping(pairs);
                }
            }
        }
    }

    fn block_sequence(&mut self, items: &[Node]) {
        let indentless = self.mapping_context && !self.indention;
        self.increase_indent(false, indentless);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.node(item, false, false, false);
        }
        self.pop_indent();
    }

    fn flow_sequence(&mut self, items: &[Node]) {
        self.write_indicator("[", true, true, false);
        self.increase_indent(true, false);
        self.flow_level += 1;
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.write_indicator(",", false, false, false);
            }
            if self.o.canonical || self.column > self.best_width {
                self.write_indent();
            }
            self.node(item, false, false, false);
        }
        self.flow_level -= 1;
        self.pop_indent();
        if self.o.canonical && !items.is_empty() {
            self.write_indicator(",", false, false, false);
            self.write_indent();
        }
        self.write_indicator("]", false, false, false);
    }

    fn block_mapping(&mut self, pairs: &[(Node, Node)]) {
        self.increase_indent(false, false);
        for (k, v) in pairs {
            self.write_indent();
            if self.simple_key(k) {
                self.node(k, false, true, true);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.node(k, false, true, false);
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.node(v, false, true, false);
        }
        self.pop_indent();
    }

    fn flow_mapping(&mut self, pairs: &[(Node, Node)]) {
        self.write_indicator("{", true, true, false);
        self.increase_indent(true, false);
        self.flow_level += 1;
        for (i, (k, v)) in pairs.iter().enumerate() {
            if i > 0 {
                self.write_indicator(",", false, false, false);
            }
            if self.o.canonical || self.column > self.best_width {
                self.write_indent();
            }
            if !self.o.canonical && self.simple_key(k) {
                self.node(k, false, true, true);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, false);
                self.node(k, false, true, false);
                if self.o.canonical || self.column > self.best_width {
                    self.write_indent();
                }
                self.write_indicator(":", true, false, false);
            }
            self.node(v, false, true, false);
        }
        self.flow_level -= 1;
        self.pop_indent();
        if self.o.canonical && !pairs.is_empty() {
            self.write_indicator(",", false, false, false);
            self.write_indent();
        }
        self.write_indicator("}", false, false, false);
    }

    /// libyaml's `yaml_emitter_check_simple_key`: one line and at most 128 bytes.
    fn simple_key(&self, k: &Node) -> bool {
        match k {
            Node::Scalar(s) => {
                let a = analyze(&s.value, self.o.unicode);
                !a.multiline && s.value.len() <= 128
            }
            Node::Seq(items, _) => items.is_empty(),
            Node::Map(pairs, _) => pairs.is_empty(),
        }
    }

    fn write_tag(&mut self, tag: &str) {
        if !self.whitespace {
            self.put(' ');
        }
        for c in tag.chars() {
            self.put(c);
        }
        self.whitespace = false;
        self.indention = false;
    }

    /// libyaml's `yaml_emitter_select_scalar_style`, then the tag it implies.
    fn scalar(&mut self, s: &Scalar) {
        let a = analyze(&s.value, self.o.unicode);
        let tagged = self.o.canonical || (!s.plain_implicit && !s.quoted_implicit);
        let mut style = s.style.unwrap_or(' ');
        if self.o.canonical {
            style = '"';
        }
        if self.simple_key_context && a.multiline {
            style = '"';
        }
        if style == ' ' {
            let flow = self.flow_level > 0;
            if (flow && !a.flow_plain) || (!flow && !a.block_plain) {
                style = '\'';
            }
            if s.value.is_empty() && (flow || self.simple_key_context) {
                style = '\'';
            }
            if !tagged && !s.plain_implicit {
                style = '\'';
            }
        }
        if style == '\'' && !a.single_quoted {
            style = '"';
        }
        if (style == '|' || style == '>') && (!a.block || self.flow_level > 0 || self.simple_key_context) {
            style = '"';
        }
        if tagged {
            self.write_tag(&format!("!!{}", s.tag));
        } else if !s.quoted_implicit && style != ' ' {
            self.write_tag("!");
        }
        self.increase_indent(true, false);
        let breaks = !self.simple_key_context;
        match style {
            ' ' => self.write_plain(&s.value, breaks),
            '\'' => self.write_single_quoted(&s.value, breaks),
            '|' => self.write_literal(&s.value),
            '>' => self.write_folded(&s.value),
            _ => self.write_double_quoted(&s.value, breaks),
        }
        self.pop_indent();
    }

    fn write_plain(&mut self, s: &str, allow_breaks: bool) {
        if !self.whitespace && (!s.is_empty() || self.flow_level > 0) {
            self.put(' ');
        }
        let chars: Vec<char> = s.chars().collect();
        let (mut spaces, mut breaks) = (false, false);
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks && !spaces && self.column > self.best_width && chars.get(i + 1) != Some(&' ') {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_single_quoted(&mut self, s: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = s.chars().collect();
        let (mut spaces, mut breaks) = (false, false);
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > self.best_width
                    && i != 0
                    && i != chars.len() - 1
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        if breaks {
            self.write_indent();
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double_quoted(&mut self, s: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || (!self.o.unicode && !c.is_ascii()) || c == '\u{feff}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                let esc = match c {
                    '\0' => Some('0'),
                    '\u{7}' => Some('a'),
                    '\u{8}' => Some('b'),
                    '\t' => Some('t'),
                    '\n' => Some('n'),
                    '\u{b}' => Some('v'),
                    '\u{c}' => Some('f'),
                    '\r' => Some('r'),
                    '\u{1b}' => Some('e'),
                    '"' => Some('"'),
                    '\\' => Some('\\'),
                    '\u{85}' => Some('N'),
                    '\u{a0}' => Some('_'),
                    '\u{2028}' => Some('L'),
                    '\u{2029}' => Some('P'),
                    _ => None,
                };
                match esc {
                    Some(e) => self.put(e),
                    None => {
                        let v = c as u32;
                        let text = if v <= 0xff {
                            format!("x{v:02X}")
                        } else if v <= 0xffff {
                            format!("u{v:04X}")
                        } else {
                            format!("U{v:08X}")
                        };
                        for t in text.chars() {
                            self.put(t);
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > self.best_width && i != 0 && i != chars.len() - 1 {
                    self.write_indent();
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn block_hints(&mut self, s: &str) {
        let first = s.chars().next();
        if first.is_some_and(|c| c == ' ' || is_break(c)) {
            let hint = self.best_indent.to_string();
            self.write_indicator(&hint, false, false, false);
        }
        self.open_ended = 0;
        let mut rev = s.chars().rev();
        let chomp = match (rev.next(), rev.next()) {
            (None, _) => Some("-"),
            (Some(c), _) if !is_break(c) => Some("-"),
            (Some(_), None) => Some("+"),
            (Some(_), Some(p)) if is_break(p) => Some("+"),
            _ => None,
        };
        if let Some(h) = chomp {
            self.write_indicator(h, false, false, false);
            if h == "+" {
                self.open_ended = 2;
            }
        }
    }

    fn write_literal(&mut self, s: &str) {
        self.write_indicator("|", true, false, false);
        self.block_hints(s);
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for c in s.chars() {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }

    fn write_folded(&mut self, s: &str) {
        self.write_indicator(">", true, false, false);
        self.block_hints(s);
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let chars: Vec<char> = s.chars().collect();
        let (mut breaks, mut leading_spaces) = (true, true);
        for (i, &c) in chars.iter().enumerate() {
            if is_break(c) {
                if !breaks && !leading_spaces && c == '\n' {
                    let mut k = i;
                    while chars.get(k).is_some_and(|c| is_break(*c)) {
                        k += 1;
                    }
                    if !is_blankz(chars.get(k).copied()) {
                        self.put_break();
                    }
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                    leading_spaces = c == ' ' || c == '\t';
                }
                if !breaks && c == ' ' && chars.get(i + 1) != Some(&' ') && self.column > self.best_width {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                self.indention = false;
                breaks = false;
            }
        }
    }
}

/// `from_yaml_all`: every document of a YAML stream.
pub fn load_all(text: &str) -> Result<Vec<Value>, String> {
    let mut docs: Vec<String> = vec![String::new()];
    let mut explicit = vec![false];
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if bare == "---" || bare.starts_with("--- ") || bare.starts_with("---\t") {
            docs.push(bare[3..].trim_start().to_string() + "\n");
            explicit.push(true);
        } else if bare == "..." {
            docs.push(String::new());
            explicit.push(false);
        } else if let Some(d) = docs.last_mut() {
            d.push_str(line);
        }
    }
    let mut out = Vec::new();
    for (doc, explicit) in docs.iter().zip(explicit) {
        let blank = doc.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
        if blank && !explicit {
            continue;
        }
        let node = crate::yaml::parse_str(doc, std::path::Path::new("<from_yaml_all>")).map_err(|e| e.message)?;
        out.push(node.to_value());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nice() -> Options {
        Options { indent: 4, flow: Some(false), ..Options::default() }
    }

    // Expected strings are ansible-core 2.19.14's output for the same data.
    #[test]
    fn terse_yaml() {
        let o = Options::default();
        assert_eq!(dump(&json!({"b": [1, 2], "a": {"x": "y"}}), &o), "a: {x: y}\nb: [1, 2]\n");
        assert_eq!(dump(&json!([[1, 2], [3, [4]]]), &o), "- [1, 2]\n- - 3\n  - [4]\n");
        assert_eq!(dump(&json!([{"a": 1, "b": 2}, "x"]), &o), "- {a: 1, b: 2}\n- x\n");
        assert_eq!(dump(&json!("thing"), &o), "thing\n");
        assert_eq!(dump(&json!("yes"), &o), "'yes'\n");
        assert_eq!(dump(&json!(""), &o), "''\n");
        assert_eq!(dump(&json!(null), &o), "null\n");
        assert_eq!(dump(&json!({"k": []}), &o), "k: []\n");
        assert_eq!(dump(&json!({}), &o), "{}\n");
    }

    #[test]
    fn scalar_quoting() {
        let o = Options::default();
        let cases = [
            ("a: b", "{k: 'a: b'}\n"),
            ("it's", "{k: it's}\n"),
            (" lead", "{k: ' lead'}\n"),
            ("x #y", "{k: 'x #y'}\n"),
            ("a,b", "{k: 'a,b'}\n"),
            ("x:y", "{k: 'x:y'}\n"),
            ("'", "{k: ''''}\n"),
            ("1e3", "{k: 1e3}\n"),
            ("09", "{k: 09}\n"),
            ("12:30", "{k: '12:30'}\n"),
            ("2001-01-01", "{k: '2001-01-01'}\n"),
            ("Y", "{k: Y}\n"),
            ("<<", "{k: '<<'}\n"),
            ("x\u{7}", "{k: \"x\\a\"}\n"),
            ("a\tb", "{k: \"a\\tb\"}\n"),
            ("x\u{85}y", "{k: \"x\\Ny\"}\n"),
            ("\u{1F600}", "{k: \"\\U0001F600\"}\n"),
            ("café く", "{k: café く}\n"),
        ];
        for (s, want) in cases {
            assert_eq!(dump(&json!({ "k": s }), &o), want, "for {s:?}");
        }
        assert_eq!(dump(&json!({"k": "a,b"}), &nice()), "k: a,b\n");
    }

    #[test]
    fn nice_yaml_layout() {
        let v = json!({"b": [1, 2], "a": {"x": "y", "l": [{"q": 1, "r": [1]}]}});
        assert_eq!(dump(&v, &nice()), "a:\n    l:\n    -   q: 1\n        r:\n        - 1\n    x: y\nb:\n- 1\n- 2\n");
        assert_eq!(dump(&json!([[1, 2], [3, [4]]]), &nice()), "-   - 1\n    - 2\n-   - 3\n    -   - 4\n");
        let v = json!({"a": {"b": [1, {"c": [1, 2]}]}});
        assert_eq!(dump(&v, &Options { indent: 2, ..nice() }), "a:\n  b:\n  - 1\n  - c:\n    - 1\n    - 2\n");
        assert_eq!(dump(&v, &Options { indent: 3, ..nice() }), "a:\n   b:\n   - 1\n   -  c:\n      - 1\n      - 2\n");
    }

    #[test]
    fn multiline_and_folding() {
        let o = Options::default();
        assert_eq!(dump(&json!({"k": "multi\nline\n"}), &o), "{k: 'multi\n\n    line\n\n    '}\n");
        assert_eq!(dump(&json!("multi\nline\n"), &nice()), "'multi\n\n    line\n\n    '\n");
        assert_eq!(dump(&json!({"k": "a \nb"}), &nice()), "k: \"a \\nb\"\n");
        assert_eq!(
            dump(&json!({"k": "word ".repeat(30)}), &o),
            "{k: 'word word word word word word word word word word word word word word word word\n    word word word word word word word word word word word word word word '}\n"
        );
        let w20 = Options { width: 20, ..Options::default() };
        assert_eq!(dump(&json!({"x": "aaaa bbbb  cccc   dddd e"}), &w20), "{x: aaaa bbbb  cccc   dddd\n    e}\n");
        let s8 = "aaaa\tbbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq  rrrr ssss tttt uuuu";
        assert_eq!(
            dump(&json!({ "x": s8 }), &w20),
            "{x: \"aaaa\\tbbbb cccc dddd\n    eeee ffff gggg hhhh\n    iiii jjjj kkkk llll\n    mmmm nnnn oooo pppp\n    qqqq  rrrr ssss tttt\n    uuuu\"}\n"
        );
        assert_eq!(dump(&json!("a\u{2028}b"), &o), "'a\u{2028}  b'\n");
    }

    #[test]
    fn keys_and_styles() {
        let o = Options::default();
        let long = "k".repeat(130);
        assert_eq!(dump(&json!({ long.clone(): 1 }), &o), format!("{{? {long}\n  : 1}}\n"));
        assert_eq!(dump(&json!({ long.clone(): 1 }), &nice()), format!("? {long}\n: 1\n"));
        assert_eq!(dump(&json!({"a\nb": 1}), &nice()), "? 'a\n\n    b'\n: 1\n");
        assert_eq!(dump(&json!({"a\nb": 1}), &o), "{? 'a\n\n    b' : 1}\n");
        let lit = Options { style: Some('|'), ..Options::default() };
        assert_eq!(dump(&json!("thing"), &lit), "|-\n  thing\n");
        assert_eq!(dump(&json!("a\n\n"), &lit), "|+\n  a\n\n...\n");
        assert_eq!(dump(&json!(" lead\nx"), &lit), "|2-\n   lead\n  x\n");
        let folded = Options { style: Some('>'), ..Options::default() };
        assert_eq!(dump(&json!("a b c\nd\n\ne f"), &folded), ">-\n  a b c\n\n  d\n\n\n  e f\n");
        let dq = Options { style: Some('"'), ..Options::default() };
        assert_eq!(dump(&json!({"a": [1, null, true]}), &dq), "\"a\":\n- ! \"1\"\n- ! \"null\"\n- ! \"true\"\n");
        let canon = Options { canonical: true, ..Options::default() };
        assert_eq!(dump(&json!("thing"), &canon), "---\n!!str \"thing\"\n");
        assert_eq!(
            dump(&json!({"a": [1, {"b": 2}]}), &canon),
            "---\n!!map {\n  ? !!str \"a\"\n  : !!seq [\n    !!int \"1\",\n    !!map {\n      ? !!str \"b\"\n      : !!int \"2\",\n    },\n  ],\n}\n"
        );
        let start = Options { explicit_start: true, ..Options::default() };
        assert_eq!(dump(&json!({"a": [1, 2]}), &start), "---\na: [1, 2]\n");
        let end = Options { explicit_end: true, ..Options::default() };
        assert_eq!(dump(&json!({"a": 1}), &end), "{a: 1}\n...\n");
        let ver = Options { version: Some((1, 1)), ..Options::default() };
        assert_eq!(dump(&json!({"a": "x"}), &ver), "%YAML 1.1\n--- {a: x}\n");
    }

    #[test]
    fn floats_like_python() {
        let v = json!({"a": 1.0e-5, "b": 123456789.123, "c": 1e16, "d": 1e15, "e": 0.000123, "f": 1.0});
        assert_eq!(
            dump(&v, &Options::default()),
            "{a: 1.0e-05, b: 123456789.123, c: 1.0e+16, d: 1000000000000000.0, e: 0.000123, f: 1.0}\n"
        );
    }

    #[test]
    fn documents() {
        assert_eq!(
            load_all("---\nbananas: yellow\n---\napples: red").unwrap(),
            vec![json!({"bananas": "yellow"}), json!({"apples": "red"})]
        );
        assert_eq!(load_all("a: 1\n").unwrap(), vec![json!({"a": 1})]);
        assert!(load_all("").unwrap().is_empty());
    }
}
