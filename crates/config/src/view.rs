//! The server's reading of a document: path lookup with the v8 presence
//! rule, yaml.v3 type decoding, and the whole document as JSON.

use crate::resolve::{self, Scalar};
use crate::tree::{Kind, NodeId, Tree};
use crate::{
    ConfigDocument, ConfigError, ErrorKind, Expected, Layout, Leaf, NodeKind, Problem, ServerView,
};

/// Follows aliases to the node they name.
pub(crate) fn deref(tree: &Tree, mut id: NodeId) -> NodeId {
    let mut hops = 0;
    while let Kind::Alias { target } = tree.nodes[id].kind {
        id = target;
        hops += 1;
        if hops > 64 {
            break;
        }
    }
    id
}

fn scalar_text(tree: &Tree, id: NodeId) -> Option<&str> {
    match &tree.nodes[id].kind {
        Kind::Scalar { value, .. } => Some(value),
        _ => None,
    }
}

/// Finds the value of `key` in a mapping: a direct key (the last one, as the
/// server's lookup keeps overwriting), else one provided by a `<<` merge.
pub(crate) fn lookup_key(tree: &Tree, mapping: NodeId, key: &str) -> Option<NodeId> {
    lookup_key_depth(tree, mapping, key, 0)
}

fn lookup_key_depth(tree: &Tree, mapping: NodeId, key: &str, depth: usize) -> Option<NodeId> {
    if depth > 32 {
        return None;
    }
    let mapping = deref(tree, mapping);
    let Kind::Mapping { pairs, .. } = &tree.nodes[mapping].kind else {
        return None;
    };
    let direct = pairs
        .iter()
        .rev()
        .find(|(k, _)| scalar_text(tree, *k) == Some(key))
        .map(|(_, v)| *v);
    if let Some(value) = direct {
        return Some(deref(tree, value));
    }
    for (k, v) in pairs {
        if scalar_text(tree, *k) != Some("<<") {
            continue;
        }
        let source = deref(tree, *v);
        let sources: Vec<NodeId> = match &tree.nodes[source].kind {
            Kind::Sequence { items, .. } => items.clone(),
            _ => vec![source],
        };
        for source in sources {
            if let Some(found) = lookup_key_depth(tree, source, key, depth + 1) {
                return Some(found);
            }
        }
    }
    None
}

/// Follows a dotted path from the root.
pub(crate) fn lookup_path(tree: &Tree, path: &str) -> Option<NodeId> {
    let mut node = tree.root?;
    for key in path.split('.') {
        node = lookup_key(tree, node, key)?;
    }
    Some(deref(tree, node))
}

struct Reader<'a> {
    doc: &'a ConfigDocument,
    used_v8: bool,
    used_legacy: bool,
}

impl Reader<'_> {
    fn pick(
        &mut self,
        v8: &'static str,
        legacy: &'static str,
    ) -> Result<Option<(&'static str, NodeId)>, ConfigError> {
        self.check_sections(v8)?;
        self.check_sections(legacy)?;
        let tree = &self.doc.tree;
        if let Some(node) = lookup_path(tree, v8) {
            self.used_v8 = true;
            return Ok(Some((v8, node)));
        }
        if let Some(node) = lookup_path(tree, legacy) {
            self.used_legacy = true;
            return Ok(Some((legacy, node)));
        }
        Ok(None)
    }

    /// Fails when a section on `path` (e.g. `remote-management` for
    /// `remote-management.secret-key`) is present but neither a mapping nor
    /// null. The server rejects such a file: yaml.v3 cannot decode a list or
    /// a scalar into the section's struct, and CLIProxyAPI v8 requires every
    /// section to be a mapping.
    fn check_sections(&self, path: &str) -> Result<(), ConfigError> {
        let tree = &self.doc.tree;
        let mut end = 0;
        while let Some(dot) = path[end..].find('.') {
            end += dot;
            let section = &path[..end];
            end += 1;
            let Some(node) = lookup_path(tree, section) else {
                return Ok(());
            };
            let n = &tree.nodes[node];
            let null = matches!(n.kind, Kind::Scalar { .. }) && resolve::node_tag(n) == "!!null";
            if !null && !matches!(n.kind, Kind::Mapping { .. }) {
                return Err(self.error(
                    node,
                    section,
                    DecodeError::WrongKind {
                        expected: Expected::Mapping,
                        found: kind_name(tree, node),
                    },
                ));
            }
        }
        Ok(())
    }

    fn error(&self, node: NodeId, path: &str, reason: DecodeError) -> ConfigError {
        let message = format!("`{path}`: {reason}");
        let key = path.to_string();
        let problem = match reason {
            DecodeError::WrongKind { expected, found } => Problem::WrongKind {
                key,
                expected,
                found,
            },
            DecodeError::Invalid { value, expected } => Problem::InvalidValue {
                key,
                value,
                expected,
            },
            DecodeError::Other(_) => Problem::Other,
        };
        self.doc
            .error_at(ErrorKind::Invalid, node, message)
            .with_problem(problem)
    }

    fn string(
        &mut self,
        v8: &'static str,
        legacy: &'static str,
    ) -> Result<Leaf<String>, ConfigError> {
        let Some((path, node)) = self.pick(v8, legacy)? else {
            return Ok(Leaf {
                path: None,
                value: None,
            });
        };
        let value =
            decode_string(&self.doc.tree, node).map_err(|what| self.error(node, path, what))?;
        Ok(Leaf {
            path: Some(path),
            value: Some(value),
        })
    }

    fn boolean(
        &mut self,
        v8: &'static str,
        legacy: &'static str,
    ) -> Result<Leaf<bool>, ConfigError> {
        let Some((path, node)) = self.pick(v8, legacy)? else {
            return Ok(Leaf {
                path: None,
                value: None,
            });
        };
        let value =
            decode_bool(&self.doc.tree, node).map_err(|what| self.error(node, path, what))?;
        Ok(Leaf {
            path: Some(path),
            value: Some(value),
        })
    }

    fn int(&mut self, v8: &'static str, legacy: &'static str) -> Result<Leaf<i64>, ConfigError> {
        let Some((path, node)) = self.pick(v8, legacy)? else {
            return Ok(Leaf {
                path: None,
                value: None,
            });
        };
        let value =
            decode_int(&self.doc.tree, node).map_err(|what| self.error(node, path, what))?;
        Ok(Leaf {
            path: Some(path),
            value: Some(value),
        })
    }

    fn list(
        &mut self,
        v8: &'static str,
        legacy: &'static str,
        legacy_must_be_list: bool,
    ) -> Result<Leaf<Vec<String>>, ConfigError> {
        self.check_sections(v8)?;
        self.check_sections(legacy)?;
        let tree = &self.doc.tree;
        let found = if let Some(node) = lookup_path(tree, v8) {
            Some((v8, node))
        } else {
            lookup_path(tree, legacy).and_then(|node| {
                let is_map = matches!(tree.nodes[node].kind, Kind::Mapping { .. });
                (!(legacy_must_be_list && is_map)).then_some((legacy, node))
            })
        };
        let Some((path, node)) = found else {
            return Ok(Leaf {
                path: None,
                value: None,
            });
        };
        let value = decode_list(tree, node).map_err(|what| self.error(node, path, what))?;
        Ok(Leaf {
            path: Some(path),
            value: Some(value),
        })
    }
}

pub(crate) fn server_view(doc: &ConfigDocument) -> Result<ServerView, ConfigError> {
    let mut reader = Reader {
        doc,
        used_v8: false,
        used_legacy: false,
    };
    // The layout follows the leaves the server's own check looks at: these five.
    let secret_key = reader.string("management.secret-key", "remote-management.secret-key")?;
    let allow_remote =
        reader.boolean("management.allow-remote", "remote-management.allow-remote")?;
    let host = reader.string("server.host", "host")?;
    let port = reader.int("server.port", "port")?;
    let tls_enable = reader.boolean("server.tls.enable", "tls.enable")?;
    let (used_v8, used_legacy) = (reader.used_v8, reader.used_legacy);
    let tls_cert = reader.string("server.tls.cert", "tls.cert")?;
    let tls_key = reader.string("server.tls.key", "tls.key")?;
    let disable_control_panel = reader.boolean(
        "management.disable-control-panel",
        "remote-management.disable-control-panel",
    )?;
    let client_api_keys = reader.list("access.api-keys", "api-keys", true)?;
    let trusted_proxies = reader.list("server.trusted-proxies", "trusted-proxies", false)?;
    let proxy_url = reader.string("requests.proxy-url", "proxy-url")?;
    let has_version = doc
        .tree
        .root
        .and_then(|root| lookup_key(&doc.tree, root, "config-version"))
        .is_some();
    let layout = match (used_v8, used_legacy) {
        (true, true) => Layout::Mixed,
        (true, false) => Layout::V8,
        (false, _) if has_version => Layout::V8,
        _ => Layout::Legacy,
    };
    Ok(ServerView {
        layout,
        secret_key,
        allow_remote,
        host,
        port,
        tls_enable,
        tls_cert,
        tls_key,
        disable_control_panel,
        client_api_keys,
        trusted_proxies,
        proxy_url,
    })
}

fn kind_name(tree: &Tree, node: NodeId) -> NodeKind {
    match tree.nodes[node].kind {
        Kind::Mapping { .. } => NodeKind::Mapping,
        Kind::Sequence { .. } => NodeKind::List,
        _ => NodeKind::Scalar,
    }
}

/// Reason a node does not decode into the type the server reads it as.
#[derive(Debug)]
pub(crate) enum DecodeError {
    WrongKind {
        expected: Expected,
        found: NodeKind,
    },
    /// A scalar that is not a valid value of the type, such as `"abc"` for an integer.
    Invalid {
        value: String,
        expected: Expected,
    },
    /// A scalar that YAML itself cannot resolve (bad `!!binary`, for example).
    Other(String),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::WrongKind { expected, found } => {
                write!(f, "expected {expected}, found {found}")
            }
            DecodeError::Invalid { value, expected } => write!(f, "{value:?} is not {expected}"),
            DecodeError::Other(reason) => f.write_str(reason),
        }
    }
}

/// Decodes into a Go string: any scalar's text, null → "".
pub(crate) fn decode_string(tree: &Tree, node: NodeId) -> Result<String, DecodeError> {
    let n = &tree.nodes[node];
    let Kind::Scalar { value, .. } = &n.kind else {
        return Err(DecodeError::WrongKind {
            expected: Expected::String,
            found: kind_name(tree, node),
        });
    };
    if resolve::node_tag(n) == "!!null" {
        return Ok(String::new());
    }
    if n.tag.as_deref() == Some("!!binary") {
        return match resolve::resolve_node(n).map_err(DecodeError::Other)? {
            Scalar::Str(s) => Ok(s),
            _ => Ok(value.clone()),
        };
    }
    resolve::resolve_node(n).map_err(DecodeError::Other)?;
    Ok(value.clone())
}

/// Decodes into a Go bool: `true`/`false` (the case forms yaml.v3 accepts),
/// the YAML 1.1 words `yes`/`no`/`on`/`off`/`y`/`n`, null → false.
pub(crate) fn decode_bool(tree: &Tree, node: NodeId) -> Result<bool, DecodeError> {
    let n = &tree.nodes[node];
    let Kind::Scalar { value, .. } = &n.kind else {
        return Err(DecodeError::WrongKind {
            expected: Expected::Bool,
            found: kind_name(tree, node),
        });
    };
    if resolve::node_tag(n) == "!!null" {
        return Ok(false);
    }
    let not_bool = || DecodeError::Invalid {
        value: value.clone(),
        expected: Expected::Bool,
    };
    match resolve::resolve_node(n).map_err(DecodeError::Other)? {
        Scalar::Null => Ok(false),
        Scalar::Bool(b) => Ok(b),
        Scalar::Str(s) => match s.as_str() {
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Ok(true),
            "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Ok(false),
            _ => Err(not_bool()),
        },
        _ => Err(not_bool()),
    }
}

/// Decodes into a Go int: integers, floats truncated, null → 0; a string
/// (quoted digits too) is an error, as in the server.
pub(crate) fn decode_int(tree: &Tree, node: NodeId) -> Result<i64, DecodeError> {
    let n = &tree.nodes[node];
    let Kind::Scalar { value, .. } = &n.kind else {
        return Err(DecodeError::WrongKind {
            expected: Expected::Integer,
            found: kind_name(tree, node),
        });
    };
    if resolve::node_tag(n) == "!!null" {
        return Ok(0);
    }
    let not_int = || DecodeError::Invalid {
        value: value.clone(),
        expected: Expected::Integer,
    };
    match resolve::resolve_node(n).map_err(|_| not_int())? {
        Scalar::Null => Ok(0),
        Scalar::Int(i) => i64::try_from(i).map_err(|_| not_int()),
        Scalar::Float(f) if f.is_finite() && f <= i64::MAX as f64 && f >= i64::MIN as f64 => {
            Ok(f as i64)
        }
        _ => Err(not_int()),
    }
}

/// Decodes into a Go `[]string`: null → empty.
pub(crate) fn decode_list(tree: &Tree, node: NodeId) -> Result<Vec<String>, DecodeError> {
    let n = &tree.nodes[node];
    match &n.kind {
        Kind::Sequence { items, .. } => items
            .iter()
            .map(|item| decode_string(tree, deref(tree, *item)))
            .collect(),
        Kind::Scalar { .. } if resolve::node_tag(n) == "!!null" => Ok(Vec::new()),
        _ => Err(DecodeError::WrongKind {
            expected: Expected::List,
            found: kind_name(tree, node),
        }),
    }
}

/// Converts a node to JSON; aliases and merges expanded (depth-limited, so a
/// crafted alias bomb yields nulls instead of exhausting memory).
pub(crate) fn to_json(tree: &Tree, id: NodeId, depth: usize) -> serde_json::Value {
    use serde_json::Value;
    if depth > 64 {
        return Value::Null;
    }
    let id = deref(tree, id);
    let node = &tree.nodes[id];
    match &node.kind {
        Kind::Scalar { value, .. } => match resolve::resolve_node(node) {
            Ok(Scalar::Null) => Value::Null,
            Ok(Scalar::Bool(b)) => Value::Bool(b),
            Ok(Scalar::Int(i)) => {
                if let Ok(v) = i64::try_from(i) {
                    Value::from(v)
                } else if let Ok(v) = u64::try_from(i) {
                    Value::from(v)
                } else {
                    Value::String(value.clone())
                }
            }
            Ok(Scalar::Float(f)) => serde_json::Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(value.clone())),
            Ok(Scalar::Str(s)) => Value::String(s),
            Err(_) => Value::String(value.clone()),
        },
        Kind::Sequence { items, .. } => {
            Value::Array(items.iter().map(|i| to_json(tree, *i, depth + 1)).collect())
        }
        Kind::Mapping { pairs, .. } => {
            let mut map = serde_json::Map::new();
            let mut merged = serde_json::Map::new();
            for (k, v) in pairs {
                let key_node = deref(tree, *k);
                let is_merge = matches!(&tree.nodes[key_node].kind, Kind::Scalar { value, style } if value == "<<" && *style == crate::tree::Style::Plain);
                if is_merge {
                    let source = deref(tree, *v);
                    let sources: Vec<NodeId> = match &tree.nodes[source].kind {
                        Kind::Sequence { items, .. } => items.clone(),
                        _ => vec![source],
                    };
                    for source in sources {
                        if let Value::Object(entries) = to_json(tree, source, depth + 1) {
                            for (key, value) in entries {
                                merged.entry(key).or_insert(value);
                            }
                        }
                    }
                    continue;
                }
                let key = match to_json(tree, key_node, depth + 1) {
                    Value::String(s) => s,
                    Value::Null => "null".to_string(),
                    other => other.to_string(),
                };
                map.insert(key, to_json(tree, *v, depth + 1));
            }
            for (key, value) in merged {
                map.entry(key).or_insert(value);
            }
            Value::Object(map)
        }
        Kind::Alias { .. } => Value::Null,
    }
}
