//! Reads CLIProxyAPI's `config.yaml` exactly as the Go server does, and edits it
//! without losing a byte the user wrote.
//!
//! The Go server (CLIProxyAPI, gopkg.in/yaml.v3) is the reference for reading:
//! what [`ConfigDocument::parse`] accepts, rejects and returns must match it on
//! every file. Edits splice only the bytes of the value that changes (or insert
//! the missing lines), then re-parse the result and refuse to write unless the
//! server would read back exactly the new value and nothing else changed.
//! Writes go through [`write`], which keeps the file's inode, owner and mode and
//! leaves a recovery copy beside it until the new content is durable.
//!
//! Parsing uses saphyr-parser's events with byte spans, plus the rules where
//! yaml.v3 (a libyaml port) is stricter or looser than saphyr: tabs in
//! indentation, duplicate keys, merges, escapes and a few scanner details.
//! The Go oracle in the test suite checks that both agree on every fixture.
//!
//! This crate is the only code in the workspace that writes `config.yaml`.

mod edit;
mod error;
mod resolve;
pub mod secret;
mod store;
mod tree;
mod view;

pub use error::{ConfigError, ErrorKind, Expected, IoAction, NodeKind, Problem};
pub use store::{RECOVERY_SUFFIX, check_writable, load, recovery_path, update, write};

use std::path::{Path, PathBuf};

/// The layout a file uses, by the rule of CLIProxyAPI v8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Only legacy paths (`port`, `remote-management.secret-key`, ...).
    Legacy,
    /// `config-version` is present, or only v8 paths are used.
    V8,
    /// Both legacy and v8 paths are used for the fields read here.
    Mixed,
}

/// One setting as the server resolves it: the dotted path it came from (when
/// present) and its value.
///
/// A present leaf with YAML null has `value == Some(T::default())`, because the
/// server decodes null into the zero value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf<T> {
    /// Dotted path of the key that supplied the value, e.g. `management.secret-key`.
    pub path: Option<&'static str>,
    /// The decoded value, `None` when the key is absent.
    pub value: Option<T>,
}

impl<T> Leaf<T> {
    /// Returns whether the key is present in the file.
    pub fn is_present(&self) -> bool {
        self.path.is_some()
    }
}

/// The settings the server reads from a config file, for the fields a manager touches.
///
/// Its `Debug` output shows the management key's path and length, never the key.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerView {
    pub layout: Layout,
    pub secret_key: Leaf<String>,
    pub allow_remote: Leaf<bool>,
    pub host: Leaf<String>,
    pub port: Leaf<i64>,
    pub tls_enable: Leaf<bool>,
    pub tls_cert: Leaf<String>,
    pub tls_key: Leaf<String>,
    pub disable_control_panel: Leaf<bool>,
    /// Client API keys for `/v1/*`: `access.api-keys`, or a legacy top-level
    /// `api-keys` sequence (a mapping there is v8 provider groups, not client keys).
    pub client_api_keys: Leaf<Vec<String>>,
    /// `server.trusted-proxies` or legacy `trusted-proxies` (IPs or CIDRs).
    pub trusted_proxies: Leaf<Vec<String>>,
    /// `requests.proxy-url` or legacy `proxy-url`.
    pub proxy_url: Leaf<String>,
}

impl ServerView {
    /// Returns the management key as stored (plaintext or bcrypt hash), empty when unset.
    pub fn secret(&self) -> &str {
        self.secret_key.value.as_deref().unwrap_or("")
    }
}

impl std::fmt::Debug for ServerView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = self.secret_key.value.as_ref().map(|value| {
            format!(
                "<{} bytes, hashed: {}>",
                value.len(),
                secret::looks_like_bcrypt(value)
            )
        });
        f.debug_struct("ServerView")
            .field("layout", &self.layout)
            .field("secret_key", &(self.secret_key.path, secret))
            .field("allow_remote", &self.allow_remote)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls_enable", &self.tls_enable)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .field("disable_control_panel", &self.disable_control_panel)
            .field(
                "client_api_keys",
                &self.client_api_keys.value.as_ref().map(Vec::len),
            )
            .field("trusted_proxies", &self.trusted_proxies)
            .field("proxy_url", &self.proxy_url)
            .finish()
    }
}

/// A parsed config file: its exact bytes plus the node tree with byte spans.
///
/// Its `Debug` output names the file and its size only, because the content
/// may hold a plaintext key.
#[derive(Clone)]
pub struct ConfigDocument {
    /// The text as UTF-8, which spans and edits refer to.
    bytes: Vec<u8>,
    /// The file as read when it is UTF-16 (with a BOM, which yaml.v3 reads
    /// too); edits are encoded back to it.
    utf16: Option<Utf16>,
    origin: PathBuf,
    tree: tree::Tree,
}

impl std::fmt::Debug for ConfigDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigDocument")
            .field("origin", &self.origin)
            .field("bytes", &self.bytes().len())
            .finish_non_exhaustive()
    }
}

impl ConfigDocument {
    /// Parses `bytes` as the server would; `origin` names the file in errors.
    ///
    /// Rejects what the server rejects (tab indentation, duplicate keys, bad
    /// escapes, a `config-version` other than the integer 8, a root that is not a
    /// mapping) with the line and column. An empty file is an empty mapping.
    pub fn parse(bytes: Vec<u8>, origin: &Path) -> Result<Self, ConfigError> {
        let (bytes, utf16) = match Utf16::detect(&bytes) {
            Some(big_endian) => {
                let text = decode_utf16(&bytes, big_endian).ok_or_else(|| {
                    ConfigError::file(
                        ErrorKind::Syntax,
                        origin,
                        "invalid UTF-16 text; save the file as UTF-8".to_string(),
                        None,
                    )
                    .with_problem(Problem::InvalidUtf16)
                })?;
                (
                    text.into_bytes(),
                    Some(Utf16 {
                        big_endian,
                        original: bytes,
                    }),
                )
            }
            None => (bytes, None),
        };
        let bom = if bytes.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let text = match std::str::from_utf8(&bytes[bom..]) {
            Ok(text) => text,
            Err(err) => {
                let (line, column) = tree::line_col(&bytes, bom + err.valid_up_to());
                return Err(ConfigError::at(
                    ErrorKind::Syntax,
                    origin,
                    line,
                    column,
                    "invalid UTF-8 byte; save the file as UTF-8".to_string(),
                )
                .with_problem(Problem::InvalidUtf8));
            }
        };
        let tree::Built { tree, duplicate } =
            parse_lenient(&bytes, text, bom).map_err(|err| tree_error(origin, err))?;
        let skip = tree::multiline_ranges(&tree, &bytes);
        if let Some(err) = tree::check_tabs(&bytes, bom, &skip) {
            return Err(tree_error(origin, err));
        }
        if let Some(err) = duplicate.or_else(|| tree::check_structure(&tree, &bytes)) {
            return Err(tree_error(origin, err));
        }
        let document = ConfigDocument {
            utf16,
            origin: origin.to_path_buf(),
            tree,
            bytes,
        };
        document.check_shape()?;
        Ok(document)
    }

    /// Checks what the server checks after parsing: a mapping root and
    /// `config-version` absent or the integer 8.
    fn check_shape(&self) -> Result<(), ConfigError> {
        let Some(root) = self.tree.root else {
            return Ok(());
        };
        let node = &self.tree.nodes[root];
        if !matches!(node.kind, tree::Kind::Mapping { .. }) {
            return Err(self
                .error_at(
                    ErrorKind::Invalid,
                    root,
                    "config must be a mapping (a list of `key: value` lines)".to_string(),
                )
                .with_problem(Problem::RootNotMapping));
        }
        if let Some(version) = self.lookup(root, "config-version") {
            let ok = matches!(&self.tree.nodes[version].kind, tree::Kind::Scalar { value, .. } if value == "8")
                && resolve::node_tag(&self.tree.nodes[version]) == "!!int";
            if !ok {
                return Err(self.error_at(
                    ErrorKind::Invalid,
                    version,
                    "unsupported config-version (expected 8); write `config-version: 8` or remove the line"
                        .to_string(),
                )
                .with_problem(Problem::UnsupportedConfigVersion));
            }
        }
        Ok(())
    }

    /// Returns the file's bytes exactly as read.
    pub fn bytes(&self) -> &[u8] {
        match &self.utf16 {
            Some(utf16) => &utf16.original,
            None => &self.bytes,
        }
    }

    /// Returns the text as UTF-8 bytes, which node spans refer to.
    pub(crate) fn text_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Encodes edited UTF-8 text like the file was (UTF-16 stays UTF-16).
    pub(crate) fn encode_like_file(&self, text: Vec<u8>) -> Vec<u8> {
        let Some(utf16) = &self.utf16 else {
            return text;
        };
        let text = String::from_utf8_lossy(&text);
        let mut out = Vec::with_capacity(text.len() * 2);
        for unit in text.encode_utf16() {
            let pair = if utf16.big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            };
            out.extend_from_slice(&pair);
        }
        out
    }

    /// Returns the path named in errors.
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    /// Resolves the manager-relevant fields with the v8 presence rule.
    ///
    /// Fails like the server when a present value has the wrong type (for
    /// example `port: "${PORT}"`).
    pub fn view(&self) -> Result<ServerView, ConfigError> {
        view::server_view(self)
    }

    /// Converts the whole document to JSON, aliases and merge keys resolved.
    pub fn to_json(&self) -> serde_json::Value {
        match self.tree.root {
            Some(root) => view::to_json(&self.tree, root, 0),
            None => serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    /// Returns new file bytes with the management key set to `value`.
    ///
    /// The key is written at the path the server reads (`management.secret-key`
    /// in a v8 file, else `remote-management.secret-key`), created with its
    /// parent when missing. The result is re-parsed and checked before it is
    /// returned.
    pub fn with_secret_key(&self, value: &str) -> Result<Vec<u8>, ConfigError> {
        edit::set_leaf(
            self,
            ["management", "secret-key"],
            ["remote-management", "secret-key"],
            &edit::NewValue::Str(value.to_string()),
        )
    }

    /// Returns new file bytes with `allow-remote` set, at the path the server reads.
    pub fn with_allow_remote(&self, value: bool) -> Result<Vec<u8>, ConfigError> {
        edit::set_leaf(
            self,
            ["management", "allow-remote"],
            ["remote-management", "allow-remote"],
            &edit::NewValue::Bool(value),
        )
    }

    /// Returns new file bytes with the client API keys replaced by `keys`
    /// (`access.api-keys` in a v8 file, else the top-level `api-keys` list).
    pub fn with_client_api_keys(&self, keys: &[String]) -> Result<Vec<u8>, ConfigError> {
        edit::set_client_api_keys(self, keys)
    }

    /// Follows one key of a mapping (aliases and `<<` merges resolved), the
    /// way the server's lookup does.
    fn lookup(&self, mapping: tree::NodeId, key: &str) -> Option<tree::NodeId> {
        view::lookup_key(&self.tree, mapping, key)
    }

    fn error_at(&self, kind: ErrorKind, node: tree::NodeId, message: String) -> ConfigError {
        let node = &self.tree.nodes[node];
        ConfigError::at(kind, &self.origin, node.line, node.column, message)
    }
}

/// Private-use character that replaces a byte order mark inside the text while saphyr parses it.
const BOM_STAND_IN: char = '\u{e000}';
const BOM_STAND_IN_STR: &str = "\u{e000}";

/// How many scanner differences one parse may work around.
const MAX_WORKAROUNDS: usize = 256;

/// Parses with saphyr, working around the places where it is stricter than
/// the Go server's libyaml-based scanner. Each workaround rewrites the text
/// given to saphyr without moving any byte (so spans stay exact):
///
/// - a byte order mark after the start is an ordinary character for the
///   server, so a private-use character of the same length replaces it;
/// - a comment right after a closing quote or bracket (`"x"# note`) is a
///   comment for the server; it is blanked out;
/// - continuation lines of a quoted scalar may be indented less than its key
///   for the server; the line breaks are blanked and the value is decoded
///   from the original bytes;
/// - `\'` is an escape in a double-quoted scalar for the server; it is read
///   as `\"` and the value decoded from the original bytes;
/// - a flow collection may continue left of its key for the server; such a
///   line is joined to the previous one (whose comment is blanked).
///
/// NOTE: a `,` inside a tag is rejected here although the server accepts it,
/// and a BOM inside the text is accepted here although yaml.v3 rejects it
/// where it straddles its internal 512-byte read buffer. Both are rare.
fn parse_lenient(bytes: &[u8], text: &str, bom: usize) -> Result<tree::Built, tree::TreeError> {
    let stand_in = text.contains('\u{feff}') && !text.contains(BOM_STAND_IN);
    let mut work = if stand_in {
        Some(text.replace('\u{feff}', BOM_STAND_IN_STR))
    } else {
        None
    };
    let mut refolded: Vec<usize> = Vec::new();
    let mut joined: Vec<usize> = Vec::new();
    let mut first_error: Option<tree::TreeError> = None;
    let mut built = None;
    for _ in 0..MAX_WORKAROUNDS {
        let current = work.as_deref().unwrap_or(text);
        match tree::build(bytes, current, bom) {
            Ok(done) => {
                built = Some(done);
                break;
            }
            Err(err) => {
                let Some(offset) = err.offset else {
                    return Err(err);
                };
                let local = offset - bom;
                let mut patched = work.take().unwrap_or_else(|| text.to_string()).into_bytes();
                if err.message.contains("comments must be separated")
                    && patched.get(local) == Some(&b'#')
                {
                    let mut i = local;
                    while i < patched.len() && !matches!(patched[i], b'\n' | b'\r') {
                        patched[i] = b' ';
                        i += 1;
                    }
                } else if err.message.contains("unknown escape character")
                    && patched.get(local) == Some(&b'"')
                    && !refolded.contains(&offset)
                    && patched[local..quoted_end(&patched, local)]
                        .windows(2)
                        .any(|w| w == b"\\'")
                {
                    // `\'` is an escape for the server, not for saphyr: parse
                    // it as `\"` and decode the value from the original bytes.
                    let end = quoted_end(&patched, local);
                    let mut i = local + 1;
                    while i + 1 < end {
                        if patched[i] == b'\\' {
                            if patched[i + 1] == b'\'' {
                                patched[i + 1] = b'"';
                            }
                            i += 2;
                        } else {
                            i += 1;
                        }
                    }
                    refolded.push(offset);
                } else if err.message.contains("invalid indentation in quoted scalar")
                    && matches!(patched.get(local), Some(b'"') | Some(b'\''))
                    && !refolded.contains(&offset)
                {
                    let end = quoted_end(&patched, local);
                    for b in &mut patched[local..end] {
                        if matches!(*b, b'\n' | b'\r') {
                            *b = b' ';
                        }
                    }
                    refolded.push(offset);
                } else if (err.message == "invalid indentation"
                    || err.message.contains("invalid indentation in flow"))
                    && local > 0
                    && patched[local - 1] == b'\n'
                    && !joined.contains(&offset)
                {
                    // A flow collection continued left of its key: join the
                    // line to the previous one, blanking that line's comment.
                    join_previous_line(&mut patched, local);
                    first_error.get_or_insert_with(|| err.clone());
                    joined.push(offset);
                } else {
                    return Err(first_error.unwrap_or(err));
                }
                // Only ASCII bytes were replaced by ASCII spaces, so the text stays UTF-8.
                work = Some(String::from_utf8(patched).map_err(|_| err)?);
            }
        }
    }
    let Some(mut built) = built else {
        return Err(tree::TreeError {
            line: 1,
            column: 1,
            message: "too many scanner workarounds".into(),
            duplicate: None,
            offset: None,
        });
    };
    // A joined line break must lie inside a flow collection, where line
    // breaks are only separation; anywhere else the original error stands.
    let inside_flow = |pos: usize| {
        built.tree.nodes.iter().any(|node| {
            matches!(
                node.kind,
                tree::Kind::Mapping { flow: true, .. } | tree::Kind::Sequence { flow: true, .. }
            ) && node.start < pos
                && pos < node.end
        })
    };
    if !joined.iter().all(|pos| inside_flow(*pos)) {
        return Err(first_error.unwrap_or_else(|| tree::TreeError {
            line: 1,
            column: 1,
            message: "invalid indentation".into(),
            duplicate: None,
            offset: None,
        }));
    }
    for node in &mut built.tree.nodes {
        let tree::Kind::Scalar { value, style } = &mut node.kind else {
            continue;
        };
        let spans_join = joined
            .iter()
            .any(|pos| node.start < *pos && *pos < node.end);
        if spans_join && *style == tree::Style::Plain {
            *value = tree::fold_plain(&String::from_utf8_lossy(&bytes[node.start..node.end]));
        }
        if (refolded.contains(&node.start) || spans_join)
            && matches!(style, tree::Style::Single | tree::Style::Double)
            && let Some(decoded) = std::str::from_utf8(&bytes[node.start..node.end])
                .ok()
                .and_then(tree::decode_quoted)
        {
            *value = decoded;
        }
        if stand_in {
            *value = value.replace(BOM_STAND_IN, "\u{feff}");
        }
    }
    Ok(built)
}

/// Replaces the line break before `line_start` (and a comment on the line
/// before it) with spaces, keeping every byte offset.
fn join_previous_line(text: &mut [u8], line_start: usize) {
    let mut brk = line_start - 1;
    text[brk] = b' ';
    if brk > 0 && text[brk - 1] == b'\r' {
        brk -= 1;
        text[brk] = b' ';
    }
    let begin = text[..brk]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let mut quote: Option<u8> = None;
    for i in begin..brk {
        match (quote, text[i]) {
            (Some(q), b) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(text[i]),
            (None, b'#')
                if i == begin || matches!(text[i - 1], b' ' | b'\t' | b',' | b'[' | b'{') =>
            {
                for byte in &mut text[i..brk] {
                    *byte = b' ';
                }
                break;
            }
            _ => {}
        }
    }
}

/// End (exclusive) of a quoted scalar starting at `start`.
fn quoted_end(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        if quote == b'"' && bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] == quote {
            if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

/// A UTF-16 file: its byte order and original bytes.
#[derive(Debug, Clone)]
struct Utf16 {
    big_endian: bool,
    original: Vec<u8>,
}

impl Utf16 {
    /// Returns the byte order when `bytes` start with a UTF-16 byte order mark.
    fn detect(bytes: &[u8]) -> Option<bool> {
        match bytes {
            [0xFF, 0xFE, ..] => Some(false),
            [0xFE, 0xFF, ..] => Some(true),
            _ => None,
        }
    }
}

/// Decodes UTF-16 (byte order mark kept as U+FEFF), `None` when invalid.
fn decode_utf16(bytes: &[u8], big_endian: bool) -> Option<String> {
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let units = bytes.chunks_exact(2).map(|pair| {
        if big_endian {
            u16::from_be_bytes([pair[0], pair[1]])
        } else {
            u16::from_le_bytes([pair[0], pair[1]])
        }
    });
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .ok()
}

fn tree_error(origin: &Path, err: tree::TreeError) -> ConfigError {
    let (kind, message, problem) = if let Some((key, first_line)) = err.duplicate {
        (
            ErrorKind::DuplicateKey,
            format!("{}; remove one of the duplicate keys", err.message),
            Problem::DuplicateKey { key, first_line },
        )
    } else if err.message.contains("tab") {
        (
            ErrorKind::Syntax,
            format!("{}; use spaces, not tabs, for indentation", err.message),
            Problem::TabIndentation,
        )
    } else {
        (ErrorKind::Syntax, err.message, Problem::Other)
    };
    ConfigError::at(kind, origin, err.line, err.column, message).with_problem(problem)
}
