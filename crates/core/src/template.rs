//! The first-run `config.yaml`.
//!
//! Upstream's `config.example.yaml` ships placeholder client keys, which put
//! recent CLIProxyAPI releases into a restricted "safe mode", and binds every
//! interface. This template binds localhost only, leaves the management key
//! empty (the tray prompts for a password before the first start) and generates a
//! random client API key.

use std::io::{self, Write};
use std::path::Path;

/// Port CLIProxyAPI uses by default.
pub const DEFAULT_PORT: u16 = 8317;

/// Generates a random client API key: `sk-cpa-` followed by 48 hex digits
/// (24 bytes from the OS random source).
pub fn generate_api_key() -> io::Result<String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|err| io::Error::other(err.to_string()))?;
    Ok(format!("sk-cpa-{}", hex::encode(bytes)))
}

/// Renders the template with `api_key` as the only client API key.
pub fn render(api_key: &str) -> String {
    format!(
        r#"# CLIProxyAPI configuration, created by cpa-tray.
# The server reloads this file when it changes. cpa-tray edits only the
# management key and allow-remote, and keeps every other byte as written.

# Interface to listen on. "127.0.0.1" accepts connections from this computer
# only; "" listens on every interface (reachable from the network).
host: "127.0.0.1"

# TCP port of the proxy API, the management API and the WebUI.
port: {port}

remote-management:
  # Allow management requests from other computers. Keep false unless the port
  # is protected by TLS or a reverse proxy.
  allow-remote: false
  # Management key. cpa-tray stores a bcrypt hash of your password here, so
  # the password itself is never written to disk. Empty disables the
  # management API and the WebUI.
  secret-key: ""

# Folder for the OAuth tokens of the upstream providers.
auth-dir: "~/.cli-proxy-api"

# Keys that clients must send to use the proxy API (/v1/...). This one was
# generated at random on first run; show it with `cpa-tray status --show-api-key`.
api-keys:
  - "{api_key}"

# Verbose logging.
debug: false
"#,
        port = DEFAULT_PORT,
        api_key = api_key,
    )
}

/// Creates `path` from the template with a fresh client API key.
///
/// Returns `Ok(false)` without touching anything when the file already exists
/// (it is opened with create-new, so a file appearing meanwhile is not
/// overwritten). A partly written file is removed again on error.
pub fn create_config(path: &Path) -> io::Result<bool> {
    let contents = render(&generate_api_key()?);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    // The file holds the client API key and the management key's hash:
    // readable by its owner only.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
        Err(err) => return Err(err),
    };
    let written = file
        .write_all(contents.as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(err) = written {
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(err);
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_differ() {
        let first = generate_api_key().unwrap();
        let second = generate_api_key().unwrap();
        assert_ne!(first, second);
        assert_eq!(first.len(), "sk-cpa-".len() + 48);
    }

    #[cfg(unix)]
    #[test]
    fn created_config_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        assert!(create_config(&path).unwrap());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    }
}
