//! Scalar resolution and decoding as gopkg.in/yaml.v3 does it.
//!
//! A plain scalar's type comes from its text: the YAML 1.2 core schema plus
//! the yaml.v3 extras (`0b`/`0o`/legacy `0777` ints, `_` separators,
//! timestamps). A quoted or block scalar is a string unless tagged otherwise.

use crate::tree::{Kind, Node, Style};

/// A resolved scalar value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
}

/// Returns the short tag yaml.v3 gives a node (`!!str`, `!!int`, ...).
pub(crate) fn node_tag(node: &Node) -> String {
    if let Some(tag) = &node.tag
        && tag != "!"
    {
        return tag.clone();
    }
    match &node.kind {
        Kind::Scalar { value, style } => {
            if *style == Style::Plain {
                match resolve_plain(value) {
                    Scalar::Null => "!!null",
                    Scalar::Bool(_) => "!!bool",
                    Scalar::Int(_) => "!!int",
                    Scalar::Float(_) => "!!float",
                    Scalar::Str(_) if value == "<<" => "!!merge",
                    Scalar::Str(_) if is_timestamp(value) => "!!timestamp",
                    Scalar::Str(_) => "!!str",
                }
                .to_string()
            } else {
                "!!str".to_string()
            }
        }
        Kind::Mapping { .. } => "!!map".into(),
        Kind::Sequence { .. } => "!!seq".into(),
        Kind::Alias { .. } => String::new(),
    }
}

/// Resolves a scalar node to its typed value, like yaml.v3's decoder.
///
/// Returns `Err` with a reason when an explicit tag does not fit the text
/// (`!!int abc`).
pub(crate) fn resolve_node(node: &Node) -> Result<Scalar, String> {
    let Kind::Scalar { value, style } = &node.kind else {
        return Ok(Scalar::Null);
    };
    let tag = node.tag.as_deref().filter(|t| *t != "!");
    match tag {
        None => {
            if *style == Style::Plain {
                Ok(resolve_plain(value))
            } else {
                Ok(Scalar::Str(value.clone()))
            }
        }
        Some("!!str") => Ok(Scalar::Str(value.clone())),
        Some("!!binary") => decode_base64(value)
            .map(Scalar::Str)
            .ok_or_else(|| "!!binary value contains invalid base64 data".to_string()),
        Some(tag @ ("!!int" | "!!float" | "!!bool" | "!!null" | "!!timestamp" | "!!merge")) => {
            let resolved = resolve_plain(value);
            let fits = match (tag, &resolved) {
                ("!!int", Scalar::Int(_))
                | ("!!bool", Scalar::Bool(_))
                | ("!!null", Scalar::Null)
                | ("!!float", Scalar::Float(_)) => true,
                ("!!float", Scalar::Int(i)) => {
                    return Ok(Scalar::Float(*i as f64));
                }
                ("!!timestamp", Scalar::Str(s)) => is_timestamp(s),
                ("!!merge", Scalar::Str(s)) => s == "<<",
                _ => false,
            };
            if fits {
                Ok(resolved)
            } else {
                Err(format!("cannot decode `{value}` as a {tag}"))
            }
        }
        // Unknown tags are not resolved: the text is the value.
        Some(_) => Ok(Scalar::Str(value.clone())),
    }
}

/// Resolves the text of an untagged plain scalar.
pub(crate) fn resolve_plain(text: &str) -> Scalar {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Scalar::Null,
        "true" | "True" | "TRUE" => return Scalar::Bool(true),
        "false" | "False" | "FALSE" => return Scalar::Bool(false),
        ".nan" | ".NaN" | ".NAN" => return Scalar::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Scalar::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Scalar::Float(f64::NEG_INFINITY),
        _ => {}
    }
    let first = text.as_bytes()[0];
    match first {
        b'.' => {
            if let Some(f) = go_parse_float(text) {
                return Scalar::Float(f);
            }
        }
        b'+' | b'-' | b'0'..=b'9' => {
            if is_timestamp(text) {
                return Scalar::Str(text.to_string());
            }
            let plain: String = text.chars().filter(|c| *c != '_').collect();
            if let Some(i) = go_parse_int(&plain) {
                return Scalar::Int(i);
            }
            if is_yaml_float(&plain)
                && let Some(f) = go_parse_float(&plain)
            {
                return Scalar::Float(f);
            }
            let (negative, digits) = match plain.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, plain.as_str()),
            };
            for (prefix, radix) in [("0b", 2), ("0o", 8)] {
                if let Some(rest) = digits.strip_prefix(prefix)
                    && !(negative && plain.starts_with("+"))
                    && let Some(value) = parse_radix(rest, radix)
                {
                    let value = if negative { -value } else { value };
                    if (i64::MIN as i128..=u64::MAX as i128).contains(&value) {
                        return Scalar::Int(value);
                    }
                }
            }
        }
        _ => {}
    }
    Scalar::Str(text.to_string())
}

fn parse_radix(digits: &str, radix: u32) -> Option<i128> {
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    i128::from_str_radix(digits, radix).ok()
}

/// Go's `strconv.ParseInt(s, 0, 64)`, falling back to `ParseUint`.
fn go_parse_int(s: &str) -> Option<i128> {
    let (negative, rest) = match s.as_bytes().first()? {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if rest.is_empty() {
        return None;
    }
    let lower = rest.to_ascii_lowercase();
    let (digits, radix) = if let Some(d) = lower.strip_prefix("0x") {
        (d.to_string(), 16)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (d.to_string(), 8)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (d.to_string(), 2)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (lower[1..].to_string(), 8)
    } else {
        (lower.clone(), 10)
    };
    let value = parse_radix(&digits, radix)?;
    let value = if negative { -value } else { value };
    if negative {
        (value >= i64::MIN as i128).then_some(value)
    } else if s.starts_with('+') {
        (value <= i64::MAX as i128).then_some(value)
    } else {
        (value <= u64::MAX as i128).then_some(value)
    }
}

/// yaml.v3's float pattern: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && matches!(b[i], b'+' | b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && matches!(b[i], b'e' | b'E') {
        i += 1;
        if i < b.len() && matches!(b[i], b'+' | b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseFloat` for the decimal forms yaml.v3 lets through.
fn go_parse_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    if lower.contains("inf") || lower.contains("nan") || lower.contains('x') || lower.contains('_')
    {
        return None;
    }
    s.parse::<f64>().ok()
}

/// yaml.v3's timestamp forms (only tried for plain scalars).
fn is_timestamp(s: &str) -> bool {
    // Formats: 2006-1-2T15:4:5.999999999Z07:00, 2006-1-2t15:4:5.999999999Z07:00,
    // 2006-1-2 15:4:5.999999999, 2006-1-2. Only a date prefix of digits is
    // checked exactly; the time part must parse as Go would.
    let b = s.as_bytes();
    let mut i = 0;
    let num = |i: &mut usize, min: usize, max: usize| -> bool {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() && *i - start < max {
            *i += 1;
        }
        *i - start >= min
    };
    if !num(&mut i, 4, 4) || b.get(i) != Some(&b'-') {
        return false;
    }
    i += 1;
    if !num(&mut i, 1, 2) || b.get(i) != Some(&b'-') {
        return false;
    }
    i += 1;
    if !num(&mut i, 1, 2) {
        return false;
    }
    if i == b.len() {
        return valid_date(s);
    }
    if !matches!(b[i], b'T' | b't' | b' ') {
        return false;
    }
    i += 1;
    if !num(&mut i, 1, 2) || b.get(i) != Some(&b':') {
        return false;
    }
    i += 1;
    if !num(&mut i, 1, 2) || b.get(i) != Some(&b':') {
        return false;
    }
    i += 1;
    if !num(&mut i, 1, 2) {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !num(&mut i, 1, 9) {
            return false;
        }
    }
    let rest = &s[i..];
    let zone_ok = rest.is_empty()
        || rest == "Z"
        || (rest.len() == 6
            && matches!(rest.as_bytes()[0], b'+' | b'-')
            && rest.as_bytes()[3] == b':');
    zone_ok && valid_date(s)
}

fn valid_date(s: &str) -> bool {
    let mut parts = s.splitn(3, '-');
    let _year = parts.next();
    let month: u32 = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    let day: u32 = parts
        .next()
        .map(|d| {
            d.chars()
                .take_while(|c| c.is_ascii_digit())
                .collect::<String>()
        })
        .and_then(|d| d.parse().ok())
        .unwrap_or(0);
    (1..=12).contains(&month) && (1..=31).contains(&day)
}

fn decode_base64(text: &str) -> Option<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let clean: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !clean.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::new();
    for chunk in clean.chunks(4) {
        let mut acc = 0u32;
        let mut pad = 0;
        for &c in chunk {
            acc <<= 6;
            if c == b'=' {
                pad += 1;
            } else {
                acc |= ALPHABET.iter().position(|a| *a == c)? as u32;
            }
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - pad]);
    }
    String::from_utf8(out).ok()
}
