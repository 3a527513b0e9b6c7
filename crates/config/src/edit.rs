//! Byte-splice edits of single settings.
//!
//! An edit changes only the bytes of one value, or inserts the lines of a
//! missing key, so comments, quoting, indentation, line endings and the BOM
//! of everything else survive. Every result is parsed again and accepted only
//! when the server would read exactly the new value and every other setting
//! is unchanged (the whole document compared as JSON).

use crate::resolve::{self, Scalar};
use crate::tree::{Kind, NodeId, Style, Tree, line_end_after_break, line_start};
use crate::view::{self, deref, lookup_key};
use crate::{ConfigDocument, ConfigError, ErrorKind, Layout};

/// The value written at a leaf.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NewValue {
    Str(String),
    Bool(bool),
    List(Vec<String>),
}

impl NewValue {
    fn to_json(&self) -> serde_json::Value {
        match self {
            NewValue::Str(s) => serde_json::Value::String(s.clone()),
            NewValue::Bool(b) => serde_json::Value::Bool(*b),
            NewValue::List(items) => serde_json::Value::Array(
                items
                    .iter()
                    .map(|s| serde_json::Value::String(s.clone()))
                    .collect(),
            ),
        }
    }
}

/// Roots that only the v8 layout has (CLIProxyAPI's `IsV8ConfigLayout`).
const V8_ROOTS: &[&str] = &[
    "config-version",
    "server",
    "management",
    "access",
    "credentials",
    "requests",
    "oauth",
    "upstream",
    "multimedia",
    "observability",
    "models",
];

/// One replacement of `start..end` by `text`.
#[derive(Debug, Clone)]
struct Splice {
    start: usize,
    end: usize,
    text: Vec<u8>,
}

fn apply(bytes: &[u8], mut splices: Vec<Splice>) -> Vec<u8> {
    splices.sort_by_key(|s| (s.start, s.end));
    let mut out = Vec::with_capacity(bytes.len() + 128);
    let mut pos = 0;
    for splice in splices {
        out.extend_from_slice(&bytes[pos..splice.start]);
        out.extend_from_slice(&splice.text);
        pos = splice.end;
    }
    out.extend_from_slice(&bytes[pos..]);
    out
}

/// Quoting style for a written scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    Plain,
    Single,
    Double,
}

/// Whether `c` must be escaped in a double-quoted scalar (libyaml also breaks
/// lines at NEL, LS and PS, and rejects most control characters raw).
fn needs_escape(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}')
}

fn double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => {
                let code = c as u32;
                if code <= 0xff {
                    out.push_str(&format!("\\x{code:02X}"));
                } else {
                    out.push_str(&format!("\\u{code:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn single_quoted(value: &str) -> Option<String> {
    if value.chars().any(|c| c != '\t' && needs_escape(c)) {
        return None;
    }
    // Leading or trailing tabs and spaces are kept in single quotes on one line.
    Some(format!("'{}'", value.replace('\'', "''")))
}

/// Returns whether `value` can be written without quotes and read back as the
/// same string. Deliberately narrow (letters, digits and `$./_+=-`, as in bcrypt
/// hashes and simple tokens): anything with a YAML indicator gets quotes.
fn plain_ok(value: &str, _in_flow: bool) -> bool {
    let Some(first) = value.chars().next() else {
        return false;
    };
    if first == '-' || first == '.' || first == '+' {
        return false;
    }
    value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "$./_+=-".contains(c))
        && matches!(resolve::resolve_plain(value), Scalar::Str(_))
}

fn render_str(value: &str, quote: Quote, in_flow: bool) -> String {
    match quote {
        Quote::Plain if plain_ok(value, in_flow) => value.to_string(),
        Quote::Plain | Quote::Single => {
            single_quoted(value).unwrap_or_else(|| double_quoted(value))
        }
        Quote::Double => double_quoted(value),
    }
}

/// Renders the one-line token for a value.
fn render_inline(value: &NewValue, quote: Quote, in_flow: bool) -> String {
    match value {
        NewValue::Str(s) => render_str(s, quote, in_flow),
        NewValue::Bool(b) => b.to_string(),
        NewValue::List(items) => {
            let parts: Vec<String> = items.iter().map(|s| render_str(s, quote, true)).collect();
            format!("[{}]", parts.join(", "))
        }
    }
}

/// Facts about the file's layout that inserted text must follow.
struct Layouts<'a> {
    bytes: &'a [u8],
    /// The first line ending in the file ("\n" when there is none).
    eol: &'static str,
    /// Indentation step between a key and its children (default 2).
    unit: usize,
}

impl<'a> Layouts<'a> {
    fn new(doc: &'a ConfigDocument) -> Self {
        let bytes = doc.text_bytes();
        let eol = match bytes.iter().position(|b| *b == b'\n') {
            Some(i) if i > 0 && bytes[i - 1] == b'\r' => "\r\n",
            _ => "\n",
        };
        Layouts {
            bytes,
            eol,
            unit: indent_unit(&doc.tree, bytes),
        }
    }

    /// Returns the line ending of the line containing `pos`, or the file's default.
    fn eol_at(&self, pos: usize) -> &'static str {
        let end = line_end_after_break(self.bytes, pos);
        if end > 0 && self.bytes[end - 1] == b'\n' {
            if end > 1 && self.bytes[end - 2] == b'\r' {
                "\r\n"
            } else {
                "\n"
            }
        } else {
            self.eol
        }
    }

    /// Column (in bytes from the line start, a BOM not counted) of `pos`.
    fn column(&self, pos: usize) -> usize {
        column(self.bytes, pos)
    }

    /// Returns where lines go after the line containing `pos`, and the line
    /// break to put first when that line is the last one and has none.
    fn after_line(&self, pos: usize) -> (usize, &'static str) {
        if pos > 0 && self.bytes.get(pos - 1) == Some(&b'\n') && pos <= self.bytes.len() {
            // `pos` already sits at a line start (a block scalar's end).
            return (pos, "");
        }
        let end = line_end_after_break(self.bytes, pos);
        if end > 0 && self.bytes[end - 1] == b'\n' {
            (end, "")
        } else {
            (end, self.eol)
        }
    }
}

/// Column in bytes from the line start; the BOM before the first line is not
/// part of any indentation.
fn column(bytes: &[u8], pos: usize) -> usize {
    let start = line_start(bytes, pos);
    let start = if start == 0 && bytes.starts_with(b"\xEF\xBB\xBF") {
        3.min(pos)
    } else {
        start
    };
    pos - start
}

/// Detects the indentation step: the smallest positive step between a block
/// mapping key and its block mapping children, 2 when the file has none.
fn indent_unit(tree: &Tree, bytes: &[u8]) -> usize {
    let mut best: Option<usize> = None;
    for node in &tree.nodes {
        let Kind::Mapping { pairs, flow: false } = &node.kind else {
            continue;
        };
        for (k, v) in pairs {
            let child = &tree.nodes[*v];
            if let Kind::Mapping {
                flow: false,
                pairs: inner,
            } = &child.kind
                && let Some((first, _)) = inner.first()
            {
                let key_col =
                    tree.nodes[*k].prop_start - line_start(bytes, tree.nodes[*k].prop_start);
                let child_pos = tree.nodes[*first].prop_start;
                let child_col = child_pos - line_start(bytes, child_pos);
                if child_col > key_col {
                    let step = child_col - key_col;
                    best = Some(best.map_or(step, |b| b.min(step)));
                }
            }
        }
    }
    best.unwrap_or(2)
}

/// Position just after the `:` that follows key `key`, if there is one.
fn colon_after(bytes: &[u8], key_end: usize) -> Option<usize> {
    let mut i = key_end;
    while i < bytes.len() && matches!(bytes[i], b' ' | b'\t') {
        i += 1;
    }
    (bytes.get(i) == Some(&b':')).then_some(i + 1)
}

fn is_null_scalar(tree: &Tree, id: NodeId) -> bool {
    matches!(tree.nodes[id].kind, Kind::Scalar { .. })
        && resolve::node_tag(&tree.nodes[id]) == "!!null"
}

fn scalar_text(tree: &Tree, id: NodeId) -> Option<&str> {
    match &tree.nodes[id].kind {
        Kind::Scalar { value, .. } => Some(value),
        _ => None,
    }
}

/// Finds the direct entry `key` of a mapping (not through a merge) as (key node, value node).
fn direct_entry(tree: &Tree, mapping: NodeId, key: &str) -> Option<(NodeId, NodeId)> {
    let Kind::Mapping { pairs, .. } = &tree.nodes[mapping].kind else {
        return None;
    };
    pairs
        .iter()
        .rev()
        .find(|(k, _)| scalar_text(tree, *k) == Some(key))
        .copied()
}

struct Editor<'a> {
    doc: &'a ConfigDocument,
    tree: &'a Tree,
    layouts: Layouts<'a>,
    /// Write every string double-quoted (the fallback that carries any value).
    force_double: bool,
}

impl<'a> Editor<'a> {
    fn new(doc: &'a ConfigDocument, force_double: bool) -> Self {
        Editor {
            doc,
            tree: &doc.tree,
            layouts: Layouts::new(doc),
            force_double,
        }
    }

    fn render_str(&self, value: &str, quote: Quote, in_flow: bool) -> String {
        render_str(
            value,
            if self.force_double {
                Quote::Double
            } else {
                quote
            },
            in_flow,
        )
    }

    fn render_inline(&self, value: &NewValue, quote: Quote, in_flow: bool) -> String {
        render_inline(
            value,
            if self.force_double {
                Quote::Double
            } else {
                quote
            },
            in_flow,
        )
    }

    fn reject(&self, reason: String) -> ConfigError {
        ConfigError::file(
            ErrorKind::Verification,
            self.doc.origin(),
            format!("Failed to edit the file: {reason}. Nothing was written"),
            None,
        )
    }

    fn in_flow(&self, mapping: NodeId) -> bool {
        matches!(
            self.tree.nodes[mapping].kind,
            Kind::Mapping { flow: true, .. }
        )
    }

    /// Lines for `key: value` in a block mapping whose keys sit at `indent`.
    fn block_entry(&self, indent: usize, key: &str, value: &NewValue, eol: &str) -> String {
        let pad = " ".repeat(indent);
        match value {
            NewValue::List(items) if !items.is_empty() => {
                let child = " ".repeat(indent + self.layouts.unit);
                let mut out = format!("{pad}{key}:{eol}");
                for item in items {
                    out.push_str(&format!(
                        "{child}- {}{eol}",
                        self.render_str(item, Quote::Single, false)
                    ));
                }
                out
            }
            _ => format!(
                "{pad}{key}: {}{eol}",
                self.render_inline(value, Quote::Single, false)
            ),
        }
    }

    /// Lines for a nested path, e.g. `remote-management:` + `  secret-key: 'x'`.
    fn block_nested(&self, indent: usize, path: &[&str], value: &NewValue, eol: &str) -> String {
        match path {
            [key] => self.block_entry(indent, key, value, eol),
            [key, rest @ ..] => {
                let pad = " ".repeat(indent);
                format!(
                    "{pad}{key}:{eol}{}",
                    self.block_nested(indent + self.layouts.unit, rest, value, eol)
                )
            }
            [] => String::new(),
        }
    }

    /// Flow text for a nested path: `key: {key2: value}`.
    fn flow_nested(&self, path: &[&str], value: &NewValue) -> String {
        match path {
            [key] => format!("{key}: {}", self.render_inline(value, Quote::Single, true)),
            [key, rest @ ..] => format!("{key}: {{{}}}", self.flow_nested(rest, value)),
            [] => String::new(),
        }
    }

    /// Inserts `path: value` into a mapping that lacks `path[0]`.
    fn insert_into(
        &self,
        mapping: NodeId,
        path: &[&str],
        value: &NewValue,
    ) -> Result<Vec<Splice>, ConfigError> {
        let bytes = self.layouts.bytes;
        let node = &self.tree.nodes[mapping];
        let Kind::Mapping { pairs, flow } = &node.kind else {
            return Err(self.reject("the parent is not a mapping".into()));
        };
        if *flow {
            let text = self.flow_nested(path, value);
            return Ok(vec![match pairs.last() {
                Some((_, last)) => {
                    let at = self.value_end(*last);
                    Splice {
                        start: at,
                        end: at,
                        text: format!(", {text}").into_bytes(),
                    }
                }
                None => Splice {
                    start: node.start + 1,
                    end: node.start + 1,
                    text: text.into_bytes(),
                },
            }]);
        }
        let Some((first_key, _)) = pairs.first() else {
            return Err(self.reject("the parent mapping is empty".into()));
        };
        let indent = self.layouts.column(self.tree.nodes[*first_key].prop_start);
        let (_, last) = pairs.last().copied().unwrap_or((*first_key, *first_key));
        let end = self.value_end(last);
        let (at, lead) = self.layouts.after_line(end);
        let eol = self
            .layouts
            .eol_at(end.saturating_sub(1).max(line_start(bytes, end)));
        let text = format!("{lead}{}", self.block_nested(indent, path, value, eol));
        Ok(vec![Splice {
            start: at,
            end: at,
            text: text.into_bytes(),
        }])
    }

    /// End of a value node, for placing text after it: for an empty scalar
    /// (null by absence) the end of its key's colon.
    fn value_end(&self, value: NodeId) -> usize {
        let node = &self.tree.nodes[value];
        node.end.max(node.start)
    }

    /// Makes the null value of `key` (in mapping `parent`) a mapping holding `path: value`.
    fn fill_null(
        &self,
        parent: NodeId,
        key: NodeId,
        null: NodeId,
        path: &[&str],
        value: &NewValue,
    ) -> Vec<Splice> {
        let bytes = self.layouts.bytes;
        let key_node = &self.tree.nodes[key];
        let null_node = &self.tree.nodes[null];
        let colon = colon_after(bytes, key_node.end);
        let token =
            (null_node.prop_start < null_node.end).then_some((null_node.prop_start, null_node.end));
        if self.in_flow(parent) {
            let text = format!("{{{}}}", self.flow_nested(path, value));
            return match (token, colon) {
                (Some((start, end)), _) => vec![Splice {
                    start,
                    end,
                    text: text.into_bytes(),
                }],
                (None, Some(c)) => vec![Splice {
                    start: c,
                    end: c,
                    text: format!(" {text}").into_bytes(),
                }],
                (None, None) => vec![Splice {
                    start: key_node.end,
                    end: key_node.end,
                    text: format!(": {text}").into_bytes(),
                }],
            };
        }
        let mut splices = Vec::new();
        let mut line_anchor = key_node.end;
        if let Some((start, end)) = token {
            // Drop the null token and the blanks before it on the key's line.
            let mut s = start;
            while s > 0 && matches!(bytes[s - 1], b' ' | b'\t') && Some(s) != colon {
                s -= 1;
            }
            splices.push(Splice {
                start: s,
                end,
                text: Vec::new(),
            });
            line_anchor = end;
        }
        let indent = self.layouts.column(key_node.prop_start) + self.layouts.unit;
        let (at, lead) = self.layouts.after_line(line_anchor);
        let eol = self.layouts.eol_at(line_anchor);
        let text = format!("{lead}{}", self.block_nested(indent, path, value, eol));
        splices.push(Splice {
            start: at,
            end: at,
            text: text.into_bytes(),
        });
        splices
    }

    /// Replaces an alias used as the parent mapping (`remote-management: *rm`)
    /// by an explicit mapping that merges the anchor and overrides one key,
    /// so the shared anchor itself is never edited.
    fn explicit_alias_parent(
        &self,
        parent: NodeId,
        key: NodeId,
        alias: NodeId,
        path: &[&str],
        value: &NewValue,
    ) -> Vec<Splice> {
        let bytes = self.layouts.bytes;
        let alias_node = &self.tree.nodes[alias];
        let alias_text =
            String::from_utf8_lossy(&bytes[alias_node.start..alias_node.end]).into_owned();
        if self.in_flow(parent) {
            let text = format!("{{<<: {alias_text}, {}}}", self.flow_nested(path, value));
            return vec![Splice {
                start: alias_node.start,
                end: alias_node.end,
                text: text.into_bytes(),
            }];
        }
        let key_node = &self.tree.nodes[key];
        let colon = colon_after(bytes, key_node.end).unwrap_or(key_node.end);
        let indent = self.layouts.column(key_node.prop_start) + self.layouts.unit;
        let pad = " ".repeat(indent);
        let eol = self.layouts.eol_at(alias_node.end);
        let (at, lead) = self.layouts.after_line(alias_node.end);
        let mut text = format!("{lead}{pad}<<: {alias_text}{eol}");
        text.push_str(&self.block_nested(indent, path, value, eol));
        vec![
            Splice {
                start: colon,
                end: alias_node.end,
                text: Vec::new(),
            },
            Splice {
                start: at,
                end: at,
                text: text.into_bytes(),
            },
        ]
    }

    /// Replaces the value node `id` (a scalar, alias or flow list) by `value`.
    fn replace_value(
        &self,
        parent: NodeId,
        key: NodeId,
        id: NodeId,
        value: &NewValue,
    ) -> Result<Vec<Splice>, ConfigError> {
        let bytes = self.layouts.bytes;
        let in_flow = self.in_flow(parent);
        let node = &self.tree.nodes[id];
        let key_node = &self.tree.nodes[key];
        let keep_tag = node.tag.is_none()
            || (node.tag.as_deref() == Some("!!str") && matches!(value, NewValue::Str(_)));
        match (&node.kind, value) {
            (Kind::Sequence { flow: false, items }, NewValue::List(new_items)) => {
                // Rewrite the block list's lines with the first item's indentation.
                let first = items
                    .first()
                    .map(|i| self.tree.nodes[*i].prop_start)
                    .unwrap_or(node.start);
                let dash = (line_start(bytes, node.start)..first)
                    .rev()
                    .find(|i| bytes[*i] == b'-')
                    .unwrap_or(node.start);
                let begin = dash - column(bytes, dash);
                let prefix = String::from_utf8_lossy(&bytes[begin..dash]).into_owned();
                let eol = self.layouts.eol_at(dash);
                let (end, lead) = self.layouts.after_line(node.end.max(dash));
                if new_items.is_empty() {
                    let colon = colon_after(bytes, key_node.end).unwrap_or(key_node.end);
                    return Ok(vec![
                        Splice {
                            start: colon,
                            end: colon,
                            text: b" []".to_vec(),
                        },
                        Splice {
                            start: begin,
                            end,
                            text: lead.as_bytes().to_vec(),
                        },
                    ]);
                }
                let mut text = String::new();
                for item in new_items {
                    text.push_str(&format!(
                        "{prefix}- {}{eol}",
                        self.render_str(item, Quote::Single, false)
                    ));
                }
                if !lead.is_empty() {
                    // The list ended the file without a final line break: keep it so.
                    text.truncate(text.len() - eol.len());
                }
                Ok(vec![Splice {
                    start: begin,
                    end,
                    text: text.into_bytes(),
                }])
            }
            (Kind::Sequence { flow: true, .. }, NewValue::List(_)) | (Kind::Alias { .. }, _) => {
                Ok(vec![Splice {
                    start: node.start,
                    end: node.end,
                    text: self
                        .render_inline(value, Quote::Single, in_flow)
                        .into_bytes(),
                }])
            }
            (Kind::Scalar { .. }, NewValue::List(items)) if is_null_scalar(self.tree, id) => {
                if in_flow || items.is_empty() {
                    let text = self.render_inline(value, Quote::Single, in_flow);
                    return Ok(self.replace_token_or_after_colon(key, id, text));
                }
                let mut splices = Vec::new();
                if node.prop_start < node.end {
                    splices.push(Splice {
                        start: node.prop_start,
                        end: node.end,
                        text: Vec::new(),
                    });
                }
                let indent = self.layouts.column(key_node.prop_start) + self.layouts.unit;
                let anchor = node.end.max(key_node.end);
                let (at, lead) = self.layouts.after_line(anchor);
                let eol = self.layouts.eol_at(anchor);
                let pad = " ".repeat(indent);
                let mut text = lead.to_string();
                for item in items {
                    text.push_str(&format!(
                        "{pad}- {}{eol}",
                        self.render_str(item, Quote::Single, false)
                    ));
                }
                splices.push(Splice {
                    start: at,
                    end: at,
                    text: text.into_bytes(),
                });
                Ok(splices)
            }
            (Kind::Scalar { style, .. }, _) => {
                let quote = if is_null_scalar(self.tree, id) {
                    Quote::Single
                } else {
                    match style {
                        Style::Plain => Quote::Plain,
                        Style::Single => Quote::Single,
                        Style::Double => Quote::Double,
                        Style::Literal | Style::Folded => Quote::Single,
                    }
                };
                let text = self.render_inline(value, quote, in_flow);
                if matches!(style, Style::Literal | Style::Folded) {
                    // One quoted line replaces the indicator; the content lines go.
                    let mut indicator_end = node.start + 1;
                    while indicator_end < bytes.len()
                        && matches!(bytes[indicator_end], b'0'..=b'9' | b'+' | b'-')
                    {
                        indicator_end += 1;
                    }
                    let header_end = line_end_after_break(bytes, node.start);
                    let start = if keep_tag {
                        node.start
                    } else {
                        node.prop_start
                    };
                    return Ok(vec![
                        Splice {
                            start,
                            end: indicator_end,
                            text: text.into_bytes(),
                        },
                        Splice {
                            start: header_end,
                            end: node.end.max(header_end),
                            text: Vec::new(),
                        },
                    ]);
                }
                if node.start == node.end {
                    return Ok(self.replace_token_or_after_colon(key, id, text));
                }
                let start = if keep_tag {
                    node.start
                } else {
                    node.prop_start
                };
                Ok(vec![Splice {
                    start,
                    end: node.end,
                    text: text.into_bytes(),
                }])
            }
            _ => Err(self.reject(format!(
                "the value at line {} is a mapping or list; remove it by hand first",
                node.line
            ))),
        }
    }

    /// Writes `text` as the value of `key` whose value token is empty.
    fn replace_token_or_after_colon(&self, key: NodeId, id: NodeId, text: String) -> Vec<Splice> {
        let bytes = self.layouts.bytes;
        let node = &self.tree.nodes[id];
        if node.start < node.end {
            return vec![Splice {
                start: node.start,
                end: node.end,
                text: text.into_bytes(),
            }];
        }
        let key_node = &self.tree.nodes[key];
        match colon_after(bytes, key_node.end) {
            Some(c) => vec![Splice {
                start: c,
                end: c,
                text: format!(" {text}").into_bytes(),
            }],
            None => vec![Splice {
                start: key_node.end,
                end: key_node.end,
                text: format!(": {text}").into_bytes(),
            }],
        }
    }

    /// Computes the splices that put `value` at `path` (two keys deep at most
    /// for parents, e.g. `["remote-management", "secret-key"]`).
    fn set(&self, path: &[&str], value: &NewValue) -> Result<Vec<Splice>, ConfigError> {
        let bytes = self.layouts.bytes;
        let Some(root) = self.tree.root else {
            // Empty document: append the whole block.
            let lead = if bytes.is_empty() || bytes.ends_with(b"\n") {
                ""
            } else {
                self.layouts.eol
            };
            let text = format!(
                "{lead}{}",
                self.block_nested(0, path, value, self.layouts.eol)
            );
            return Ok(vec![Splice {
                start: bytes.len(),
                end: bytes.len(),
                text: text.into_bytes(),
            }]);
        };
        let mut mapping = root;
        for (depth, key) in path.iter().enumerate() {
            let rest = &path[depth..];
            let last = depth + 1 == path.len();
            let Some((key_id, value_id)) = direct_entry(self.tree, mapping, key) else {
                if lookup_key(self.tree, mapping, key).is_some() && !last {
                    return Err(self.reject(format!(
                        "`{}` comes from a `<<` merge; write it out as its own block first",
                        path[..=depth].join(".")
                    )));
                }
                if mapping == root && !self.in_flow(root) {
                    return Ok(vec![self.append_to_root(rest, value)]);
                }
                return self.insert_into(mapping, rest, value);
            };
            if last {
                return self.replace_value(mapping, key_id, value_id, value);
            }
            let target = deref(self.tree, value_id);
            match &self.tree.nodes[value_id].kind {
                Kind::Alias { .. }
                    if matches!(self.tree.nodes[target].kind, Kind::Mapping { .. }) =>
                {
                    return Ok(self.explicit_alias_parent(
                        mapping,
                        key_id,
                        value_id,
                        &path[depth + 1..],
                        value,
                    ));
                }
                Kind::Mapping { pairs, flow } => {
                    if pairs.is_empty() && !flow {
                        return Err(self.reject("the parent mapping is empty".into()));
                    }
                    mapping = value_id;
                }
                Kind::Scalar { .. } if is_null_scalar(self.tree, value_id) => {
                    return Ok(self.fill_null(
                        mapping,
                        key_id,
                        value_id,
                        &path[depth + 1..],
                        value,
                    ));
                }
                _ => {
                    return Err(self.reject(format!(
                        "`{}` (line {}) is not a mapping; the server cannot load this file",
                        path[..=depth].join("."),
                        self.tree.nodes[key_id].line
                    )));
                }
            }
        }
        Err(self.reject("empty path".into()))
    }

    /// Appends `path: value` at the end of the root block mapping (at the end of
    /// the file unless a later document follows).
    fn append_to_root(&self, path: &[&str], value: &NewValue) -> Splice {
        let bytes = self.layouts.bytes;
        let root = self.tree.root.unwrap_or(0);
        let indent = match &self.tree.nodes[root].kind {
            Kind::Mapping { pairs, .. } => pairs
                .first()
                .map(|(k, _)| self.layouts.column(self.tree.nodes[*k].prop_start))
                .unwrap_or(0),
            _ => 0,
        };
        let root_end = self.tree.nodes[root].end;
        let tail = &bytes[root_end.min(bytes.len())..];
        let later_document = tail
            .split(|b| *b == b'\n')
            .any(|line| line.starts_with(b"---") || line.starts_with(b"..."));
        let (at, lead) = if later_document {
            self.layouts.after_line(root_end)
        } else if bytes.is_empty() || bytes.ends_with(b"\n") {
            (bytes.len(), "")
        } else {
            (bytes.len(), self.layouts.eol)
        };
        let eol = self.layouts.eol;
        let text = format!("{lead}{}", self.block_nested(indent, path, value, eol));
        Splice {
            start: at,
            end: at,
            text: text.into_bytes(),
        }
    }
}

/// Returns whether the server treats the file as v8 layout (`IsV8ConfigLayout` in CLIProxyAPI v8).
fn is_v8_file(doc: &ConfigDocument, layout: Layout) -> bool {
    if layout != Layout::Legacy {
        return true;
    }
    let tree = &doc.tree;
    let Some(root) = tree.root else {
        return false;
    };
    if V8_ROOTS
        .iter()
        .any(|key| direct_entry(tree, root, key).is_some())
    {
        return true;
    }
    if let Some(api) = lookup_key(tree, root, "api-keys") {
        return matches!(tree.nodes[api].kind, Kind::Mapping { .. });
    }
    view::lookup_path(tree, "routing.retry").is_some()
        || view::lookup_path(tree, "routing.cooldown").is_some()
}

/// Sets one leaf, choosing the path the server reads.
pub(crate) fn set_leaf(
    doc: &ConfigDocument,
    v8: [&str; 2],
    legacy: [&str; 2],
    value: &NewValue,
) -> Result<Vec<u8>, ConfigError> {
    let before = doc.view()?;
    let tree = &doc.tree;
    let v8_path = v8.join(".");
    let legacy_path = legacy.join(".");
    let path: [&str; 2] = if view::lookup_path(tree, &v8_path).is_some() {
        v8
    } else if view::lookup_path(tree, &legacy_path).is_some() {
        legacy
    } else if let Some(root) = tree.root
        && direct_entry(tree, root, v8[0]).is_some()
    {
        v8
    } else if let Some(root) = tree.root
        && direct_entry(tree, root, legacy[0]).is_some()
    {
        legacy
    } else if is_v8_file(doc, before.layout) {
        v8
    } else {
        legacy
    };
    edit_and_verify(doc, &path, value).map(|text| doc.encode_like_file(text))
}

/// Sets the client API keys: `access.api-keys` when present or in a v8 file,
/// else the legacy top-level `api-keys` list.
pub(crate) fn set_client_api_keys(
    doc: &ConfigDocument,
    keys: &[String],
) -> Result<Vec<u8>, ConfigError> {
    let before = doc.view()?;
    let tree = &doc.tree;
    let legacy_list = view::lookup_path(tree, "api-keys").is_some_and(|n| {
        matches!(tree.nodes[n].kind, Kind::Sequence { .. }) || is_null_scalar(tree, n)
    });
    let path: Vec<&str> = if view::lookup_path(tree, "access.api-keys").is_some() {
        vec!["access", "api-keys"]
    } else if legacy_list {
        vec!["api-keys"]
    } else if is_v8_file(doc, before.layout) || view::lookup_path(tree, "api-keys").is_some() {
        vec!["access", "api-keys"]
    } else {
        vec!["api-keys"]
    };
    edit_and_verify(doc, &path, &NewValue::List(keys.to_vec()))
        .map(|text| doc.encode_like_file(text))
}

/// Computes the edit, then re-parses it and checks that exactly `path` changed.
fn edit_and_verify(
    doc: &ConfigDocument,
    path: &[&str],
    value: &NewValue,
) -> Result<Vec<u8>, ConfigError> {
    let first = apply(doc.text_bytes(), Editor::new(doc, false).set(path, value)?);
    match verify(doc, &first, path, value) {
        Ok(()) => Ok(first),
        Err(first_err) => {
            // A plain or single-quoted form that did not read back: the
            // double-quoted form carries any string.
            if matches!(value, NewValue::Str(_) | NewValue::List(_)) {
                let second = apply(doc.text_bytes(), Editor::new(doc, true).set(path, value)?);
                if second != first && verify(doc, &second, path, value).is_ok() {
                    return Ok(second);
                }
            }
            Err(first_err)
        }
    }
}

fn verify(
    doc: &ConfigDocument,
    bytes: &[u8],
    path: &[&str],
    value: &NewValue,
) -> Result<(), ConfigError> {
    let origin = doc.origin();
    let refuse = |reason: String| {
        ConfigError::file(
            ErrorKind::Verification,
            origin,
            format!("Failed to verify the edited file: {reason}. Nothing was written"),
            None,
        )
    };
    let after = ConfigDocument::parse(bytes.to_vec(), origin)
        .map_err(|err| refuse(format!("the edited file would not parse ({})", err.message)))?;
    let view = after.view().map_err(|err| {
        refuse(format!(
            "the server could not read the edited file ({})",
            err.message
        ))
    })?;
    let dotted = path.join(".");
    let read_back_ok = match value {
        NewValue::Str(s) => {
            view.secret_key.path == Some(leak_path(&dotted))
                && view.secret_key.value.as_deref() == Some(s)
        }
        NewValue::Bool(b) => {
            view.allow_remote.path == Some(leak_path(&dotted))
                && view.allow_remote.value == Some(*b)
        }
        NewValue::List(items) => {
            view.client_api_keys.path == Some(leak_path(&dotted))
                && view.client_api_keys.value.as_ref() == Some(items)
        }
    };
    if !read_back_ok {
        return Err(refuse(format!(
            "the server would not read the new value at `{dotted}`"
        )));
    }
    let mut expected = doc.to_json();
    patch(&mut expected, path, value.to_json());
    if after.to_json() != expected {
        return Err(refuse(format!(
            "changing `{dotted}` would also change other settings (a shared anchor or merge)"
        )));
    }
    Ok(())
}

/// Maps a dotted path to the `'static` name `ServerView` uses.
fn leak_path(dotted: &str) -> &'static str {
    const PATHS: &[&str] = &[
        "management.secret-key",
        "remote-management.secret-key",
        "management.allow-remote",
        "remote-management.allow-remote",
        "access.api-keys",
        "api-keys",
    ];
    PATHS.iter().find(|p| **p == dotted).copied().unwrap_or("")
}

fn patch(json: &mut serde_json::Value, path: &[&str], value: serde_json::Value) {
    let Some((first, rest)) = path.split_first() else {
        *json = value;
        return;
    };
    if !json.is_object() {
        *json = serde_json::Value::Object(serde_json::Map::new());
    }
    if let serde_json::Value::Object(map) = json {
        let entry = map
            .entry(first.to_string())
            .or_insert(serde_json::Value::Null);
        patch(entry, rest, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn double_quoted_escapes_quotes_backslashes_and_controls() {
        assert_eq!(double_quoted("a\"b\\c\nd\u{7}"), "\"a\\\"b\\\\c\\nd\\x07\"");
    }

    #[test]
    fn single_quoted_doubles_quotes_and_refuses_newlines() {
        assert_eq!(single_quoted("it's").as_deref(), Some("'it''s'"));
        assert_eq!(single_quoted("a\nb"), None);
    }

    #[test]
    fn plain_only_for_safe_strings() {
        assert!(plain_ok("$2a$10$abc/def.ghi", false));
        for value in [
            "", "123", "true", "null", "~", "a: b", "a #b", "-x", "#x", " x", "x:", "1e3", "0x1F",
        ] {
            assert!(!plain_ok(value, false), "{value:?}");
        }
        assert!(!plain_ok("a,b", true));
        assert!(!plain_ok("p@ss:w0rd!#", false));
    }
}
