//! The node tree of one YAML document, with exact byte spans.
//!
//! Events come from saphyr-parser. The Go server (gopkg.in/yaml.v3, a libyaml
//! port) rejects some input that saphyr accepts, so those rules are checked
//! here on top: tabs where libyaml expects indentation, duplicate mapping
//! keys, bad merges and a few scanner details. Spans are byte offsets into the
//! whole file (BOM included), because edits splice bytes.

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// Index of a node in [`Tree::nodes`].
pub(crate) type NodeId = usize;

/// Quoting style of a scalar as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    Single,
    Double,
    Literal,
    Folded,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Scalar {
        value: String,
        style: Style,
    },
    Mapping {
        /// Key and value node of every entry, in file order.
        pairs: Vec<(NodeId, NodeId)>,
        flow: bool,
    },
    Sequence {
        items: Vec<NodeId>,
        flow: bool,
    },
    Alias {
        target: NodeId,
    },
}

/// One node of the tree.
///
/// `start..end` covers the token itself, quotes included and anchor and tag
/// excluded. `prop_start` is where the node's anchor or tag begins, or `start`
/// when it has none.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub kind: Kind,
    pub prop_start: usize,
    pub start: usize,
    pub end: usize,
    /// 1-based line and column of `prop_start`, for messages.
    pub line: usize,
    pub column: usize,
    /// Explicit tag in short form where it is a core tag (`!!str`), else as written.
    pub tag: Option<String>,
}

/// A syntax problem found while building the tree.
#[derive(Debug, Clone)]
pub(crate) struct TreeError {
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// For a duplicate mapping key: the key and the line of its first use.
    pub duplicate: Option<(String, usize)>,
    /// Byte offset in the file, for errors from the scanner.
    pub offset: Option<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct Tree {
    pub nodes: Vec<Node>,
    /// The root node of the first document; `None` for an empty document.
    pub root: Option<NodeId>,
}

/// Converts saphyr's character indices to byte offsets, walking from the last
/// position asked for (events arrive almost in order, so this stays linear).
struct Offsets<'a> {
    text: &'a str,
    base: usize,
    char_pos: usize,
    byte_pos: usize,
}

impl<'a> Offsets<'a> {
    fn new(text: &'a str, base: usize) -> Self {
        Offsets {
            text,
            base,
            char_pos: 0,
            byte_pos: 0,
        }
    }

    fn byte(&mut self, char_index: usize) -> usize {
        let bytes = self.text.as_bytes();
        while self.char_pos < char_index && self.byte_pos < bytes.len() {
            self.byte_pos += 1;
            while self.byte_pos < bytes.len() && (bytes[self.byte_pos] & 0xC0) == 0x80 {
                self.byte_pos += 1;
            }
            self.char_pos += 1;
        }
        while self.char_pos > char_index && self.byte_pos > 0 {
            self.byte_pos -= 1;
            while self.byte_pos > 0 && (bytes[self.byte_pos] & 0xC0) == 0x80 {
                self.byte_pos -= 1;
            }
            self.char_pos -= 1;
        }
        self.base + self.byte_pos
    }
}

/// Returns 1-based (line, column) of a byte offset; the column counts characters.
pub(crate) fn line_col(bytes: &[u8], offset: usize) -> (usize, usize) {
    let offset = offset.min(bytes.len());
    let mut line = 1;
    let mut line_start = 0;
    let mut i = 0;
    while i < offset {
        match bytes[i] {
            b'\n' => {
                line += 1;
                line_start = i + 1;
            }
            b'\r' if bytes.get(i + 1) != Some(&b'\n') => {
                line += 1;
                line_start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let column = bytes[line_start..offset]
        .iter()
        .filter(|b| (**b & 0xC0) != 0x80)
        .count()
        + 1;
    (line, column)
}

/// Line starts of a file, for turning byte offsets into line and column in
/// O(log n) (node positions are needed for every node).
struct LineIndex<'a> {
    file: &'a [u8],
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(file: &'a [u8]) -> Self {
        let mut starts = vec![0];
        for (i, b) in file.iter().enumerate() {
            if *b == b'\n' || (*b == b'\r' && file.get(i + 1) != Some(&b'\n')) {
                starts.push(i + 1);
            }
        }
        LineIndex { file, starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.file.len());
        let line = self.starts.partition_point(|start| *start <= offset);
        let start = self.starts[line.saturating_sub(1)];
        let column = self.file[start..offset]
            .iter()
            .filter(|b| (**b & 0xC0) != 0x80)
            .count()
            + 1;
        (line.max(1), column)
    }
}

enum Frame {
    Mapping {
        id: NodeId,
        pending_key: Option<NodeId>,
        /// Keys seen so far, by yaml.v3's identity (node kind and text).
        seen: std::collections::HashMap<(u8, String), NodeId>,
    },
    Sequence {
        id: NodeId,
    },
}

/// A tree plus the first duplicate key found, which yaml.v3 reports only
/// after the whole document parsed (so a later syntax error wins).
pub(crate) struct Built {
    pub tree: Tree,
    pub duplicate: Option<TreeError>,
}

/// Parses the first document of `text` (which starts at byte `base` of the
/// file, after a BOM) into a tree.
pub(crate) fn build(file: &[u8], text: &str, base: usize) -> Result<Built, TreeError> {
    let mut duplicate: Option<TreeError> = None;
    let lines = LineIndex::new(file);
    let mut parser = Parser::new_from_str(text);
    let mut offsets = Offsets::new(text, base);
    let mut nodes: Vec<Node> = Vec::new();
    let mut anchors: std::collections::HashMap<usize, NodeId> = Default::default();
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<NodeId> = None;
    let mut in_document = false;

    loop {
        let (event, span) = match parser.next_event() {
            Some(Ok(pair)) => pair,
            // yaml.Unmarshal reads only the first document, so an error after
            // its root (such as keys left of an indented root mapping) is
            // never reached by the server.
            Some(Err(_)) if root.is_some() && stack.is_empty() => break,
            Some(Err(err)) => {
                let offset = offsets.byte(err.marker().index());
                let (line, column) = lines.line_col(offset);
                return Err(TreeError {
                    line,
                    column,
                    message: err.info().to_string(),
                    duplicate: None,
                    offset: Some(offset),
                });
            }
            None => break,
        };
        let start = offsets.byte(span.start.index());
        let is_map_start = matches!(event, Event::MappingStart(..));
        let new_node: Option<(Node, Option<usize>)> = match event {
            Event::StreamStart | Event::Nothing => None,
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                if root.is_some() {
                    // Only the first document counts, like yaml.Unmarshal.
                    break;
                }
                in_document = true;
                None
            }
            Event::DocumentEnd => {
                in_document = false;
                if root.is_some() {
                    break;
                }
                None
            }
            Event::Scalar(value, style, anchor, tag) => {
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted => Style::Single,
                    ScalarStyle::DoubleQuoted => Style::Double,
                    ScalarStyle::Literal => Style::Literal,
                    ScalarStyle::Folded => Style::Folded,
                };
                let tag = tag.map(|t| short_tag(&t.handle, &t.suffix));
                let (prop_start, token_start, token_end) =
                    scalar_extent(file, start, style, value.is_empty(), &span, &mut offsets);
                let (line, column) = lines.line_col(prop_start);
                Some((
                    Node {
                        kind: Kind::Scalar {
                            value: value.into_owned(),
                            style,
                        },
                        prop_start,
                        start: token_start,
                        end: token_end,
                        line,
                        column,
                        tag,
                    },
                    (anchor > 0).then_some(anchor),
                ))
            }
            Event::Alias(anchor) => {
                let Some(&target) = anchors.get(&anchor) else {
                    let (line, column) = lines.line_col(start);
                    return Err(TreeError {
                        line,
                        column,
                        message: "unknown anchor referenced".into(),
                        duplicate: None,
                        offset: None,
                    });
                };
                let end = token_end_of_word(file, start + 1);
                let (line, column) = lines.line_col(start);
                Some((
                    Node {
                        kind: Kind::Alias { target },
                        prop_start: start,
                        start,
                        end,
                        line,
                        column,
                        tag: None,
                    },
                    None,
                ))
            }
            Event::MappingStart(anchor, tag) | Event::SequenceStart(anchor, tag) => {
                let is_map = is_map_start;
                let tag = tag.map(|t| short_tag(&t.handle, &t.suffix));
                let token_start = skip_properties(file, start);
                let flow = matches!(file.get(token_start), Some(b'{') | Some(b'['));
                let (line, column) = lines.line_col(start);
                let kind = if is_map {
                    Kind::Mapping {
                        pairs: Vec::new(),
                        flow,
                    }
                } else {
                    Kind::Sequence {
                        items: Vec::new(),
                        flow,
                    }
                };
                Some((
                    Node {
                        kind,
                        prop_start: start,
                        start: token_start,
                        end: token_start,
                        line,
                        column,
                        tag,
                    },
                    (anchor > 0).then_some(anchor),
                ))
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let frame = stack.pop();
                let id = match frame {
                    Some(Frame::Mapping { id, .. }) | Some(Frame::Sequence { id }) => id,
                    None => continue,
                };
                let end = match &nodes[id].kind {
                    Kind::Mapping { flow: true, .. } | Kind::Sequence { flow: true, .. } => {
                        start + 1
                    }
                    Kind::Mapping { pairs, .. } => pairs
                        .last()
                        .map(|(_, v)| nodes[*v].end)
                        .unwrap_or(nodes[id].start),
                    Kind::Sequence { items, .. } => items
                        .last()
                        .map(|v| nodes[*v].end)
                        .unwrap_or(nodes[id].start),
                    _ => nodes[id].start,
                };
                nodes[id].end = end.max(nodes[id].start);
                attach(&mut nodes, &mut stack, &mut root, id, &mut duplicate);
                continue;
            }
        };
        let Some((node, anchor)) = new_node else {
            continue;
        };
        if !in_document && root.is_none() && stack.is_empty() {
            in_document = true;
        }
        let id = nodes.len();
        let is_collection = matches!(node.kind, Kind::Mapping { .. } | Kind::Sequence { .. });
        let is_map = matches!(node.kind, Kind::Mapping { .. });
        nodes.push(node);
        if let Some(anchor) = anchor {
            anchors.insert(anchor, id);
        }
        if is_collection {
            stack.push(if is_map {
                Frame::Mapping {
                    id,
                    pending_key: None,
                    seen: Default::default(),
                }
            } else {
                Frame::Sequence { id }
            });
        } else {
            attach(&mut nodes, &mut stack, &mut root, id, &mut duplicate);
        }
    }
    Ok(Built {
        tree: Tree { nodes, root },
        duplicate,
    })
}

/// Adds a finished node to its parent, checking for duplicate keys.
fn attach(
    nodes: &mut [Node],
    stack: &mut [Frame],
    root: &mut Option<NodeId>,
    id: NodeId,
    duplicate: &mut Option<TreeError>,
) {
    match stack.last_mut() {
        None => {
            if root.is_none() {
                *root = Some(id);
            }
        }
        Some(Frame::Sequence { id: seq }) => {
            if let Kind::Sequence { items, .. } = &mut nodes[*seq].kind {
                items.push(id);
            }
        }
        Some(Frame::Mapping {
            id: map,
            pending_key,
            seen,
        }) => match pending_key.take() {
            None => *pending_key = Some(id),
            Some(key) => {
                let map = *map;
                let first = key_text(nodes, key).and_then(|text| match seen.entry(text) {
                    std::collections::hash_map::Entry::Occupied(entry) => Some(*entry.get()),
                    std::collections::hash_map::Entry::Vacant(entry) => {
                        entry.insert(key);
                        None
                    }
                });
                if let Some(first) = first {
                    let key_node = &nodes[key];
                    let key_value = match &key_node.kind {
                        Kind::Scalar { value, .. } => value.clone(),
                        _ => String::from("?"),
                    };
                    if duplicate.is_none() {
                        *duplicate = Some(TreeError {
                            line: key_node.line,
                            column: key_node.column,
                            message: format!(
                                "mapping key {key_value:?} already defined at line {}",
                                nodes[first].line
                            ),
                            duplicate: Some((key_value.clone(), nodes[first].line)),
                            offset: None,
                        });
                    }
                }
                if let Kind::Mapping { pairs, .. } = &mut nodes[map].kind {
                    pairs.push((key, id));
                }
            }
        },
    }
}

/// (kind, value) of a key for duplicate detection; collections never compare
/// equal here because their yaml.v3 `Value` is empty but unlikely as keys.
fn key_text(nodes: &[Node], key: NodeId) -> Option<(u8, String)> {
    match &nodes[key].kind {
        Kind::Scalar { value, .. } => Some((0, value.clone())),
        Kind::Alias { target } => Some((1, format!("alias:{target}"))),
        _ => None,
    }
}

/// Turns saphyr's expanded tag into yaml.v3's short form (`!!str`).
fn short_tag(handle: &str, suffix: &str) -> String {
    if handle == "tag:yaml.org,2002:" || handle == "!!" {
        format!("!!{suffix}")
    } else {
        format!("{handle}{suffix}")
    }
}

/// Skips `&anchor` and `!tag` properties (and the blanks, line breaks and
/// comments between them and the token).
pub(crate) fn skip_properties(file: &[u8], mut pos: usize) -> usize {
    loop {
        match file.get(pos) {
            Some(b'&') | Some(b'!') => pos = token_end_of_word(file, pos + 1),
            Some(b' ') | Some(b'\t') | Some(b'\r') | Some(b'\n') => pos += 1,
            Some(b'#') if pos > 0 && matches!(file[pos - 1], b' ' | b'\t' | b'\n' | b'\r') => {
                while pos < file.len() && file[pos] != b'\n' {
                    pos += 1;
                }
            }
            _ => return pos,
        }
    }
}

/// End of an anchor, alias or tag name: up to a blank, a line break or a flow
/// indicator.
fn token_end_of_word(file: &[u8], mut pos: usize) -> usize {
    while pos < file.len()
        && !matches!(
            file[pos],
            b' ' | b'\t' | b'\r' | b'\n' | b',' | b'[' | b']' | b'{' | b'}'
        )
    {
        pos += 1;
    }
    pos
}

/// Finds (properties start, token start, token end) of a scalar.
fn scalar_extent(
    file: &[u8],
    start: usize,
    style: Style,
    empty: bool,
    span: &Span,
    offsets: &mut Offsets,
) -> (usize, usize, usize) {
    match style {
        Style::Double | Style::Single | Style::Plain => {
            let prop_start = start;
            let token_start = match file.get(start) {
                Some(b'&') | Some(b'!') => skip_properties(file, start),
                _ => start,
            };
            let end = match style {
                Style::Double => {
                    let mut i = token_start + 1;
                    while i < file.len() {
                        match file[i] {
                            b'\\' => i += 2,
                            b'"' => break,
                            _ => i += 1,
                        }
                    }
                    (i + 1).min(file.len())
                }
                Style::Single => {
                    let mut i = token_start + 1;
                    while i < file.len() {
                        if file[i] == b'\'' {
                            if file.get(i + 1) == Some(&b'\'') {
                                i += 2;
                                continue;
                            }
                            break;
                        }
                        i += 1;
                    }
                    (i + 1).min(file.len())
                }
                _ => {
                    let end = offsets.byte(span.end.index());
                    if empty || end <= token_start {
                        // An empty plain scalar (a null written as nothing).
                        token_start
                    } else {
                        end
                    }
                }
            };
            (prop_start, token_start, end)
        }
        Style::Literal | Style::Folded => {
            // saphyr's span starts at the content; the indicator sits on the
            // last non-blank line before the content line.
            let content_line_start = line_start(file, start.min(file.len()));
            let mut pos = content_line_start;
            let mut indicator = None;
            while pos > 0 {
                let prev_start = line_start(file, pos - 1);
                let line = &file[prev_start..pos];
                if line
                    .iter()
                    .any(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                {
                    indicator = find_block_indicator(file, prev_start, pos);
                    break;
                }
                pos = prev_start;
            }
            let token_start = indicator.unwrap_or(start);
            let span_end = offsets.byte(span.end.index()).max(token_start);
            // End after the last non-blank content line (its line break included).
            let header_end = line_end_after_break(file, token_start);
            let mut end = header_end;
            let mut cursor = header_end;
            while cursor < span_end.min(file.len()) {
                let next = line_end_after_break(file, cursor);
                let line = &file[cursor..next.min(span_end)];
                if line
                    .iter()
                    .any(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                {
                    end = next;
                }
                if next <= cursor {
                    break;
                }
                cursor = next;
            }
            let prop_start = prop_start_before(file, token_start);
            (prop_start, token_start, end)
        }
    }
}

/// Walks back over `&anchor`/`!tag` properties written on the indicator line.
fn prop_start_before(file: &[u8], token_start: usize) -> usize {
    let mut start = token_start;
    let line_begin = line_start(file, token_start);
    let mut pos = token_start;
    loop {
        while pos > line_begin && file[pos - 1] == b' ' {
            pos -= 1;
        }
        let mut word = pos;
        while word > line_begin && !matches!(file[word - 1], b' ' | b'\t') {
            word -= 1;
        }
        if word < pos && matches!(file[word], b'&' | b'!') {
            start = word;
            pos = word;
        } else {
            return start;
        }
    }
}

pub(crate) fn line_start(file: &[u8], pos: usize) -> usize {
    let mut i = pos.min(file.len());
    while i > 0 && file[i - 1] != b'\n' {
        i -= 1;
    }
    i
}

/// Offset just past the line break of the line containing `pos` (or EOF).
pub(crate) fn line_end_after_break(file: &[u8], pos: usize) -> usize {
    let mut i = pos;
    while i < file.len() && file[i] != b'\n' {
        i += 1;
    }
    (i + 1).min(file.len())
}

/// Finds `|` or `>` (with its indicators) on a block scalar's header line.
fn find_block_indicator(file: &[u8], line_begin: usize, line_end: usize) -> Option<usize> {
    let line = &file[line_begin..line_end];
    // Strip a trailing comment: ` #` outside quotes.
    let mut cut = line.len();
    let mut quote: Option<u8> = None;
    for (i, &b) in line.iter().enumerate() {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => {
                if b == b'"' || b == b'\'' {
                    if i == 0 || matches!(line[i - 1], b' ' | b'\t' | b'{' | b'[' | b',') {
                        quote = Some(b);
                    }
                } else if b == b'#' && i > 0 && matches!(line[i - 1], b' ' | b'\t') {
                    cut = i;
                    break;
                }
            }
        }
    }
    let mut end = cut;
    while end > 0 && matches!(line[end - 1], b' ' | b'\t' | b'\r' | b'\n') {
        end -= 1;
    }
    let mut i = end;
    while i > 0 && matches!(line[i - 1], b'0'..=b'9' | b'+' | b'-') {
        i -= 1;
    }
    if i > 0 && matches!(line[i - 1], b'|' | b'>') {
        Some(line_begin + i - 1)
    } else {
        None
    }
}

/// Reports tabs where libyaml expects indentation: at the start of a line in
/// block context (before a key, an entry, a comment or nothing), and right
/// after a block sequence entry `-` or complex key `?`. saphyr accepts some
/// of these (YAML 1.2 allows a tab before a comment); the Go server does not
/// ("found character that cannot start any token").
///
/// `skip` lists byte ranges inside flow collections and multi-line scalars,
/// where tabs are content or separation.
pub(crate) fn check_tabs(file: &[u8], base: usize, skip: &[(usize, usize)]) -> Option<TreeError> {
    let mut pos = base;
    let mut skip_index = 0;
    while pos < file.len() {
        let begin = pos;
        let next = line_end_after_break(file, pos);
        while skip_index < skip.len() && skip[skip_index].1 <= begin {
            skip_index += 1;
        }
        let inside =
            skip_index < skip.len() && skip[skip_index].0 < begin && begin < skip[skip_index].1;
        if !inside {
            let mut i = begin;
            loop {
                while i < next && file[i] == b' ' {
                    i += 1;
                }
                if i < next && file[i] == b'\t' {
                    let (line, column) = line_col(file, i);
                    return Some(TreeError {
                        line,
                        column,
                        message: "found a tab character that cannot start any token".into(),
                        duplicate: None,
                        offset: None,
                    });
                }
                if i + 1 < file.len()
                    && matches!(file[i], b'-' | b'?')
                    && matches!(file[i + 1], b' ' | b'\t' | b'\r' | b'\n')
                    && !(file[i] == b'-' && begin == i && file[i..].starts_with(b"---"))
                {
                    i += 1;
                    continue;
                }
                break;
            }
        }
        if next <= pos {
            break;
        }
        pos = next;
    }
    None
}

/// Byte ranges where a line start is not a block-context line start: inside
/// flow collections and multi-line scalars. Sorted and merged.
pub(crate) fn multiline_ranges(tree: &Tree, file: &[u8]) -> Vec<(usize, usize)> {
    let mut ranges: Vec<(usize, usize)> = tree
        .nodes
        .iter()
        .filter(|node| match node.kind {
            Kind::Mapping { flow, .. } | Kind::Sequence { flow, .. } => flow,
            Kind::Scalar { .. } => true,
            Kind::Alias { .. } => false,
        })
        .filter(|node| file[node.start..node.end.min(file.len())].contains(&b'\n'))
        .map(|node| (node.start, node.end))
        .collect();
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// Decodes the raw text of a single- or double-quoted scalar (quotes
/// included) the way libyaml does: escapes, and line folding (one line break
/// becomes a space, n breaks become n-1 newlines, blanks around breaks go).
pub(crate) fn decode_quoted(raw: &str) -> Option<String> {
    let double = raw.starts_with('"');
    let inner = raw.get(1..raw.len().checked_sub(1)?)?;
    let chars: Vec<char> = inner.chars().collect();
    let mut out = String::with_capacity(inner.len());
    let mut blanks = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => {
                blanks.push(c);
                i += 1;
            }
            '\r' | '\n' => {
                // Fold: count the line breaks, dropping blanks around them.
                blanks.clear();
                let mut breaks = 0;
                while i < chars.len() && matches!(chars[i], ' ' | '\t' | '\r' | '\n') {
                    if chars[i] == '\n' || (chars[i] == '\r' && chars.get(i + 1) != Some(&'\n')) {
                        breaks += 1;
                    }
                    i += 1;
                }
                if breaks <= 1 {
                    out.push(' ');
                } else {
                    out.extend(std::iter::repeat_n('\n', breaks - 1));
                }
            }
            '\'' if !double => {
                out.push_str(&blanks);
                blanks.clear();
                out.push('\'');
                i += 2;
            }
            '\\' if double => {
                out.push_str(&blanks);
                blanks.clear();
                let next = *chars.get(i + 1)?;
                i += 2;
                let simple = match next {
                    '0' => Some('\0'),
                    'a' => Some('\u{7}'),
                    'b' => Some('\u{8}'),
                    't' | '\t' => Some('\t'),
                    'n' => Some('\n'),
                    'v' => Some('\u{b}'),
                    'f' => Some('\u{c}'),
                    'r' => Some('\r'),
                    'e' => Some('\u{1b}'),
                    ' ' => Some(' '),
                    '"' => Some('"'),
                    '/' => Some('/'),
                    '\'' => Some('\''),
                    '\\' => Some('\\'),
                    'N' => Some('\u{85}'),
                    '_' => Some('\u{a0}'),
                    'L' => Some('\u{2028}'),
                    'P' => Some('\u{2029}'),
                    _ => None,
                };
                if let Some(ch) = simple {
                    out.push(ch);
                    continue;
                }
                let digits = match next {
                    'x' => 2,
                    'u' => 4,
                    'U' => 8,
                    '\r' | '\n' => {
                        // An escaped line break joins the lines without a space.
                        if next == '\r' && chars.get(i) == Some(&'\n') {
                            i += 1;
                        }
                        while i < chars.len() && matches!(chars[i], ' ' | '\t') {
                            i += 1;
                        }
                        continue;
                    }
                    _ => return None,
                };
                let hex: String = chars.get(i..i + digits)?.iter().collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                i += digits;
            }
            c => {
                out.push_str(&blanks);
                blanks.clear();
                out.push(c);
                i += 1;
            }
        }
    }
    out.push_str(&blanks);
    Some(out)
}

/// Checks what yaml.v3 refuses after parsing: a block mapping entry without
/// a key (`: value`), and a `<<` merge whose value is not a mapping or a
/// list of mappings.
pub(crate) fn check_structure(tree: &Tree, file: &[u8]) -> Option<TreeError> {
    let error = |node: &Node, message: &str| TreeError {
        line: node.line,
        column: node.column,
        message: message.to_string(),
        duplicate: None,
        offset: None,
    };
    // Nodes inside a flow collection (parents come before their children).
    let mut in_flow = vec![false; tree.nodes.len()];
    for (id, node) in tree.nodes.iter().enumerate() {
        let children: Vec<NodeId> = match &node.kind {
            Kind::Mapping { pairs, flow } if *flow || in_flow[id] => {
                pairs.iter().flat_map(|(k, v)| [*k, *v]).collect()
            }
            Kind::Sequence { items, flow } if *flow || in_flow[id] => items.clone(),
            _ => Vec::new(),
        };
        for child in children {
            in_flow[child] = true;
        }
    }
    for (id, node) in tree.nodes.iter().enumerate() {
        if !names_ok(file, node) {
            return Some(error(
                node,
                "did not find expected alphabetic or numeric character in an anchor or alias name",
            ));
        }
        if let Some(offset) = block_scalar_tab(file, node) {
            let mut at = error(
                node,
                "found a tab character where an indentation space is expected",
            );
            at.offset = Some(offset);
            return Some(at);
        }
        if node.tag.is_some() && !tag_ends_well(file, node.prop_start, node.start) {
            return Some(error(
                node,
                "did not find expected whitespace or line break after the tag",
            ));
        }
        // libyaml cannot start a token with a reserved indicator, nor a block
        // scalar inside a flow collection.
        if let Kind::Scalar {
            style: Style::Plain,
            value,
        } = &node.kind
            && !value.is_empty()
            && matches!(file.get(node.start), Some(b'|' | b'>' | b'@' | b'`' | b'%'))
        {
            return Some(error(node, "found character that cannot start any token"));
        }
        // In a flow collection libyaml reads `:` and `?` as indicators, even
        // inside what saphyr takes for a plain scalar.
        if in_flow[id]
            && let Kind::Scalar {
                style: Style::Plain,
                value,
            } = &node.kind
            && (value.starts_with([':', '?']) || value.contains('?'))
        {
            return Some(error(node, "did not find expected node content"));
        }
        // `\/` is not an escape for the server's yaml.v3.
        if let Kind::Scalar {
            style: Style::Double,
            ..
        } = &node.kind
        {
            let raw = &file[node.start..node.end.min(file.len())];
            let mut i = 0;
            while i + 1 < raw.len() {
                if raw[i] == b'\\' {
                    if raw[i + 1] == b'/' {
                        return Some(error(node, "found unknown escape character"));
                    }
                    i += 2;
                } else {
                    i += 1;
                }
            }
        }
    }
    for node in &tree.nodes {
        let Kind::Mapping { pairs, flow } = &node.kind else {
            continue;
        };
        for (k, v) in pairs {
            let key = &tree.nodes[*k];
            // An implicit key is one line, with its `:`; only a `?` key may span lines.
            let before = file[..key.prop_start]
                .iter()
                .rev()
                .find(|b| !matches!(b, b' ' | b'\t'));
            if before != Some(&b'?') {
                let mut after = key.end;
                while after < file.len() && matches!(file[after], b' ' | b'\t') {
                    after += 1;
                }
                let colon_on_next_line = matches!(file.get(after), Some(b'\r' | b'\n'))
                    && file[after..].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b':');
                if colon_on_next_line
                    || file[key.prop_start..key.end.max(key.prop_start)].contains(&b'\n')
                {
                    return Some(error(
                        key,
                        "a mapping key must fit on one line with its `:`",
                    ));
                }
            }
            let Kind::Scalar { value, style } = &key.kind else {
                continue;
            };
            // In a flow collection libyaml keeps a `:` that is not followed by
            // a blank in the plain key (`{a:}` has the key `a:`).
            if (*flow || in_flow[*k])
                && *style == Style::Plain
                && file.get(key.end) == Some(&b':')
                && !matches!(
                    file.get(key.end + 1),
                    None | Some(b' ' | b'\t' | b'\r' | b'\n')
                )
            {
                return Some(error(key, "write a space after the `:` of this key"));
            }
            if value.is_empty()
                && *style == Style::Plain
                && key.tag.is_none()
                && key.start == key.end
            {
                let message = if *flow || in_flow[*k] {
                    "did not find expected node content"
                } else {
                    "did not find expected key"
                };
                return Some(error(key, message));
            }
            if value == "<<" && *style == Style::Plain && key.tag.is_none() {
                let target = deref_node(tree, *v);
                let ok = match &tree.nodes[target].kind {
                    Kind::Mapping { .. } => true,
                    Kind::Sequence { items, .. } => items.iter().all(|i| {
                        matches!(tree.nodes[deref_node(tree, *i)].kind, Kind::Mapping { .. })
                    }),
                    _ => false,
                };
                if !ok {
                    return Some(error(
                        key,
                        "map merge requires map or sequence of maps as the value",
                    ));
                }
            }
        }
    }
    None
}

/// Anchor and alias names: libyaml allows letters, digits, `-` and `_`.
fn names_ok(file: &[u8], node: &Node) -> bool {
    let name_ok = |pos: usize| {
        let end = token_end_of_word(file, pos + 1);
        end > pos + 1
            && file[pos + 1..end]
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
    };
    if let Kind::Alias { .. } = node.kind {
        return name_ok(node.start);
    }
    let mut pos = node.prop_start;
    while pos < node.start.min(file.len()) {
        match file[pos] {
            b'&' => {
                if !name_ok(pos) {
                    return false;
                }
                pos = token_end_of_word(file, pos + 1);
            }
            b'!' => pos = token_end_of_word(file, pos + 1),
            _ => pos += 1,
        }
    }
    true
}

/// Finds a tab in the indentation of a block scalar's content, which libyaml
/// rejects before the content indentation is known or left of it.
fn block_scalar_tab(file: &[u8], node: &Node) -> Option<usize> {
    let Kind::Scalar {
        style: Style::Literal | Style::Folded,
        ..
    } = node.kind
    else {
        return None;
    };
    let mut indent = 0;
    let mut pos = line_end_after_break(file, node.start);
    while pos < node.end.min(file.len()) {
        let mut i = pos;
        while i < file.len() && file[i] == b' ' && (indent == 0 || i - pos < indent) {
            i += 1;
        }
        if (indent == 0 || i - pos < indent) && file.get(i) == Some(&b'\t') {
            return Some(i);
        }
        let blank = matches!(file.get(i), None | Some(b'\r' | b'\n'));
        if indent == 0 && !blank {
            indent = (i - pos).max(1);
        }
        let next = line_end_after_break(file, pos);
        if next <= pos {
            break;
        }
        pos = next;
    }
    None
}

/// libyaml requires a blank, a line break or (in flow context) `,` after a
/// tag; `!!str}` or `!t[` is an error there.
fn tag_ends_well(file: &[u8], prop_start: usize, token_start: usize) -> bool {
    let mut pos = prop_start;
    while pos < token_start.min(file.len()) {
        match file[pos] {
            b'!' => {
                let end = token_end_of_word(file, pos + 1);
                let uri_chars = file[pos + 1..end].iter().all(|b| {
                    b.is_ascii_alphanumeric()
                        || b"-_;/?:@&=+$,.!~*'()[]%<>".contains(b)
                        || *b >= 0x80
                });
                if !uri_chars {
                    return false;
                }
                return match file.get(end) {
                    None | Some(b' ' | b'\t' | b'\r' | b'\n') => true,
                    // libyaml reads a `,` right after a tag as part of the tag.
                    Some(_) => false,
                };
            }
            b'&' => pos = token_end_of_word(file, pos + 1),
            _ => pos += 1,
        }
    }
    true
}

fn deref_node(tree: &Tree, mut id: NodeId) -> NodeId {
    for _ in 0..64 {
        match tree.nodes[id].kind {
            Kind::Alias { target } => id = target,
            _ => break,
        }
    }
    id
}

/// Folds the raw text of a multi-line plain scalar like libyaml: lines are
/// trimmed, one line break becomes a space and n breaks become n-1 newlines.
pub(crate) fn fold_plain(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut breaks = 0;
    for (index, line) in raw.split('\n').enumerate() {
        let line = line.trim_matches([' ', '\t', '\r']);
        if index > 0 && line.is_empty() {
            breaks += 1;
            continue;
        }
        if index > 0 {
            if breaks == 0 {
                out.push(' ');
            } else {
                out.extend(std::iter::repeat_n('\n', breaks));
            }
        }
        breaks = 0;
        out.push_str(line);
    }
    out
}
