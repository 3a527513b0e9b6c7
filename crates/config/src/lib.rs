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
//! This crate is the only code in the workspace that writes `config.yaml`.

mod error;
pub mod secret;

pub use error::{ConfigError, ErrorKind};

use std::path::Path;

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

/// What the server reads from a config file, for the fields a manager touches.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// A parsed config file: its exact bytes plus the node tree with byte spans.
#[derive(Debug, Clone)]
pub struct ConfigDocument {
    // Filled in by the implementation: the original bytes, the origin path for
    // error messages, and the span-carrying node tree.
    _private: (),
}

impl ConfigDocument {
    /// Parses `bytes` as the server would; `origin` names the file in errors.
    ///
    /// Rejects what the server rejects (tab indentation, duplicate keys, bad
    /// escapes, a `config-version` other than the integer 8, a root that is not a
    /// mapping) with the line and column. An empty file is an empty mapping.
    pub fn parse(bytes: Vec<u8>, origin: &Path) -> Result<Self, ConfigError> {
        let _ = (bytes, origin);
        unimplemented!("cpa-config: parser")
    }

    /// Returns the file's bytes exactly as read.
    pub fn bytes(&self) -> &[u8] {
        unimplemented!("cpa-config: bytes")
    }

    /// Resolves the manager-relevant fields with the v8 presence rule.
    ///
    /// Fails like the server when a present value has the wrong type (for
    /// example `port: "${PORT}"`).
    pub fn view(&self) -> Result<ServerView, ConfigError> {
        unimplemented!("cpa-config: view")
    }

    /// Converts the whole document to JSON, aliases and merge keys resolved.
    pub fn to_json(&self) -> serde_json::Value {
        unimplemented!("cpa-config: to_json")
    }

    /// Returns new file bytes with the management key set to `value`.
    ///
    /// The key is written at the path the server reads (`management.secret-key`
    /// in a v8 file, else `remote-management.secret-key`), created with its
    /// parent when missing. The result is re-parsed and checked before it is
    /// returned.
    pub fn with_secret_key(&self, value: &str) -> Result<Vec<u8>, ConfigError> {
        let _ = value;
        unimplemented!("cpa-config: with_secret_key")
    }

    /// Returns new file bytes with `allow-remote` set, at the path the server reads.
    pub fn with_allow_remote(&self, value: bool) -> Result<Vec<u8>, ConfigError> {
        let _ = value;
        unimplemented!("cpa-config: with_allow_remote")
    }

    /// Returns new file bytes with the client API keys replaced by `keys`
    /// (`access.api-keys` in a v8 file, else the top-level `api-keys` list).
    pub fn with_client_api_keys(&self, keys: &[String]) -> Result<Vec<u8>, ConfigError> {
        let _ = keys;
        unimplemented!("cpa-config: with_client_api_keys")
    }
}

/// Loads and parses `path`, first repairing an interrupted write.
pub fn load(path: &Path) -> Result<ConfigDocument, ConfigError> {
    let _ = path;
    unimplemented!("cpa-config: load")
}

/// Applies `edit` to the current content of `path` and writes the result.
///
/// The file is re-read right before writing; if it changed while `edit` ran,
/// the edit is applied again to the new content. Returns the document as
/// written.
pub fn update<F>(path: &Path, edit: F) -> Result<ConfigDocument, ConfigError>
where
    F: Fn(&ConfigDocument) -> Result<Vec<u8>, ConfigError>,
{
    let _ = (path, edit);
    unimplemented!("cpa-config: update")
}

/// Replaces the content of `path` in place, crash-safely.
///
/// Keeps the inode, owner, mode and hard links. A recovery copy beside the
/// file holds the old content until the new content is durable, so at every
/// instant one of the two is complete; [`load`] repairs an interrupted write.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), ConfigError> {
    let _ = (path, bytes);
    unimplemented!("cpa-config: write")
}

/// Checks that `path` is a regular file this process can write, without changing it.
pub fn check_writable(path: &Path) -> Result<(), ConfigError> {
    let _ = path;
    unimplemented!("cpa-config: check_writable")
}
