//! The settings the engine serves with, read from `config.yaml` through the
//! config crate.
//!
//! Loading hashes a plaintext management key (bcrypt cost 10, `$2a$`, as
//! upstream does) and writes the hash back in place through the config crate,
//! which edits only that value. A failed write-back is logged as a warning and
//! the engine keeps serving with the hash in memory, like upstream.

use std::path::{Path, PathBuf};

use axum::body::Bytes;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::auth::VerifiedKeys;
use crate::client_ip::TrustedProxies;

/// Client keys that put upstream into "safe mode" when left in `api-keys`.
const EXAMPLE_API_KEYS: [&str; 3] = ["your-api-key-1", "your-api-key-2", "your-api-key-3"];

/// Marker that replaces the management key in `GET /v8/management/config`.
pub const REDACTED: &str = "[redacted]";

/// TLS files named by `tls.cert` and `tls.key` (trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// One applied version of the config file.
#[derive(Debug)]
pub struct Settings {
    /// Management key as held in memory: a bcrypt hash, or empty when unset.
    pub secret: String,
    pub allow_remote: bool,
    pub disable_control_panel: bool,
    /// Client API keys as written (`None` when the key is absent).
    pub client_keys: Option<Vec<String>>,
    pub trusted_proxies: TrustedProxies,
    pub proxy_url: Option<String>,
    /// Listen host and port; changes take effect only after a restart.
    pub host: String,
    pub port: u16,
    /// `Some` when `tls.enable` is true; changes need a restart.
    pub tls: Option<Result<TlsFiles, String>>,
    /// Body of `GET /v0/management/config`.
    pub config_json: Bytes,
    /// Body of `GET /v8/management/config`.
    pub config_json_v8: Bytes,
    /// The same document as a tree, for `GET /v8/management/config/<path>`.
    pub config_tree_v8: Value,
    /// SHA-256 of the file content these settings came from.
    pub content_hash: [u8; 32],
    /// Keys verified against `secret`; dropped with these settings.
    pub verified: VerifiedKeys,
}

impl Settings {
    /// Returns the client keys that `/v1/*` accepts: trimmed, blanks dropped, deduplicated.
    pub fn effective_client_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        for key in self.client_keys.iter().flatten() {
            let key = key.trim();
            if !key.is_empty() && !keys.iter().any(|known| known == key) {
                keys.push(key.to_string());
            }
        }
        keys
    }

    /// Returns whether `api-keys` still contains one of the example file's keys.
    pub fn has_example_keys(&self) -> bool {
        self.effective_client_keys()
            .iter()
            .any(|key| EXAMPLE_API_KEYS.contains(&key.as_str()))
    }
}

/// Returns the SHA-256 of `bytes`.
pub fn content_hash(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Formats a bcrypt error with Go's wording, which upstream prints.
fn bcrypt_message(error: &bcrypt::BcryptError) -> String {
    match error {
        bcrypt::BcryptError::Truncation(_) => {
            "bcrypt: password length exceeds 72 bytes".to_string()
        }
        other => format!("bcrypt: {other}"),
    }
}

/// Loads `path`, hashing and writing back a plaintext management key.
///
/// Errors are one line naming the file. Blocking: reads the file and may run
/// a cost-10 bcrypt hash.
pub fn load(path: &Path) -> Result<Settings, String> {
    let document = cpa_config::load(path).map_err(|err| format!("failed to load config: {err}"))?;
    let view = document
        .view()
        .map_err(|err| format!("failed to load config: {err}"))?;
    let mut bytes_for_hash = document.bytes().to_vec();

    let stored = view.secret().to_string();
    let mut secret = stored.clone();
    if !stored.is_empty() && !cpa_config::secret::looks_like_bcrypt(&stored) {
        let hash = cpa_config::secret::hash_password(&stored).map_err(|err| {
            format!(
                "failed to load config {}: failed to hash remote management key: {}",
                path.display(),
                bcrypt_message(&err)
            )
        })?;
        let written = cpa_config::update(path, |current| {
            // Another writer may have changed the key meanwhile; then leave the
            // file as it is and let the watcher load the new content.
            match current.view() {
                Ok(now) if now.secret() == stored => current.with_secret_key(&hash),
                _ => Ok(current.bytes().to_vec()),
            }
        });
        match written {
            Ok(document) => {
                bytes_for_hash = document.bytes().to_vec();
                tracing::info!(
                    path = %path.display(),
                    "replaced the plaintext management key with its bcrypt hash"
                );
            }
            Err(err) => tracing::warn!(
                "failed to write the hashed management key back to the config file; \
                 serving with the hash in memory: {err}"
            ),
        }
        secret = hash;
    }

    let trusted_entries = view.trusted_proxies.value.clone().unwrap_or_default();
    let trusted_proxies = TrustedProxies::parse(&trusted_entries).map_err(|err| {
        format!(
            "failed to load config {}: {} ({})",
            path.display(),
            err,
            view.trusted_proxies.path.unwrap_or("trusted-proxies")
        )
    })?;

    let port = view.port.value.unwrap_or(0);
    let port = u16::try_from(port).map_err(|_| {
        format!(
            "failed to load config {}: port {port} is out of range; use 0 to 65535",
            path.display()
        )
    })?;

    let tls = view.tls_enable.value.unwrap_or(false).then(|| {
        let cert = view
            .tls_cert
            .value
            .as_deref()
            .unwrap_or("")
            .trim()
            .to_string();
        let key = view
            .tls_key
            .value
            .as_deref()
            .unwrap_or("")
            .trim()
            .to_string();
        if cert.is_empty() || key.is_empty() {
            Err(format!(
                "failed to start HTTPS server: tls.cert or tls.key is empty in {}",
                path.display()
            ))
        } else {
            // Relative paths are relative to the working directory, as upstream opens them.
            Ok(TlsFiles {
                cert: PathBuf::from(cert),
                key: PathBuf::from(key),
            })
        }
    });

    let mut json = document.to_json();
    // An alias can copy the key elsewhere in the document; hide every copy.
    scrub(&mut json, &stored);
    scrub(&mut json, &secret);
    let redacted = redacted_config(json.clone());
    Ok(Settings {
        secret,
        allow_remote: view.allow_remote.value.unwrap_or(false),
        disable_control_panel: view.disable_control_panel.value.unwrap_or(false),
        client_keys: view.client_api_keys.value.clone(),
        trusted_proxies,
        proxy_url: view
            .proxy_url
            .value
            .clone()
            .map(|url| url.trim().to_string())
            .filter(|url| !url.is_empty()),
        host: view.host.value.clone().unwrap_or_default(),
        port,
        tls,
        config_json: Bytes::from(crate::v0_config::v0_config(json.clone()).to_json_bytes()),
        config_json_v8: Bytes::from(to_compact_json(&redacted)),
        config_tree_v8: redacted,
        content_hash: content_hash(&bytes_for_hash),
        verified: VerifiedKeys::default(),
    })
}

/// Replaces every string equal to `secret` (when non-empty) with [`REDACTED`].
fn scrub(value: &mut Value, secret: &str) {
    if secret.is_empty() {
        return;
    }
    match value {
        Value::String(text) if text == secret => *text = REDACTED.to_string(),
        Value::Array(items) => items.iter_mut().for_each(|item| scrub(item, secret)),
        Value::Object(map) => map.values_mut().for_each(|item| scrub(item, secret)),
        _ => {}
    }
}

fn to_compact_json(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
}

/// Returns the document with the management key replaced by [`REDACTED`]
/// wherever it is set. Upstream v8 returns the stored hash.
pub fn redacted_config(value: Value) -> Value {
    let Value::Object(mut map) = value else {
        return Value::Object(Default::default());
    };
    for section in ["management", "remote-management"] {
        if let Some(Value::Object(inner)) = map.get_mut(section)
            && let Some(secret) = inner.get_mut("secret-key")
            && !secret.is_null()
            && secret.as_str() != Some("")
        {
            *secret = Value::String(REDACTED.to_string());
        }
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redaction_hides_both_layouts() {
        let value = json!({
            "management": {"secret-key": "$2a$10$abc", "allow-remote": true},
            "remote-management": {"secret-key": "plain"}
        });
        let shown = redacted_config(value);
        assert_eq!(shown["management"]["secret-key"], REDACTED);
        assert_eq!(shown["management"]["allow-remote"], true);
        assert_eq!(shown["remote-management"]["secret-key"], REDACTED);
    }

    #[test]
    fn redaction_keeps_empty_key_visible() {
        let shown = redacted_config(json!({"management": {"secret-key": ""}}));
        assert_eq!(shown["management"]["secret-key"], "");
    }

    #[test]
    fn scrub_hides_aliased_copies() {
        let mut value = json!({"a": "k3y", "b": ["x", "k3y"], "c": {"d": "k3y"}, "e": "k3"});
        scrub(&mut value, "k3y");
        assert_eq!(
            value,
            json!({"a": REDACTED, "b": ["x", REDACTED], "c": {"d": REDACTED}, "e": "k3"})
        );
    }

    #[test]
    fn bcrypt_length_error_uses_go_wording() {
        let err = cpa_config::secret::hash_password(&"x".repeat(73)).unwrap_err();
        assert_eq!(
            bcrypt_message(&err),
            "bcrypt: password length exceeds 72 bytes"
        );
    }
}
