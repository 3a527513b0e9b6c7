//! The steps that tie releases to a home folder, shared by `cpa-tray update`
//! and the tray's Update item: the release source from settings, the
//! recorded version, and whether the running server runs an installed release.
//!
//! Settings read here: `releasesApi` (API base URL, below the environment
//! variable [`API_BASE_ENV`]), `downloadMirrors` (a URL prefix or a list of
//! them), `githubToken` (else the environment variable [`TOKEN_ENV`]).
//! config.yaml's `proxy-url` is the proxy. The token is only sent to the API.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::github::{API_BASE_ENV, ProxySetting, ReleaseSource};
use super::{Arch, Platform};
use crate::home::Home;
use crate::settings::{Settings, SettingsStore};
use crate::supervisor::{EngineKind, EngineRecord};

/// Environment variable holding a GitHub token, used when the `githubToken`
/// setting is unset.
pub const TOKEN_ENV: &str = "GITHUB_TOKEN";

/// Builds the release source from `settings`, the environment and
/// config.yaml's `proxy-url`. A config that cannot be read means no
/// explicit proxy (the environment's proxy variables still apply).
pub fn release_source(home: &Home, settings: &Settings) -> ReleaseSource {
    let text = |field: &str| {
        settings
            .get(field)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let env_api = std::env::var(API_BASE_ENV).ok();
    let mirrors = match settings.get("downloadMirrors") {
        Some(Value::String(prefix)) => vec![prefix.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    let token = text("githubToken")
        .or_else(|| std::env::var(TOKEN_ENV).ok())
        .map(|token| token.trim().to_string())
        .filter(|token| !token.is_empty());
    let proxy_url = cpa_config::load(home.config_path())
        .ok()
        .and_then(|doc| doc.view().ok())
        .and_then(|view| view.proxy_url.value);
    ReleaseSource {
        api_base: ReleaseSource::resolve_api_base(
            env_api.as_deref(),
            text("releasesApi").as_deref(),
        ),
        token,
        proxy: ProxySetting::from_proxy_url(proxy_url.as_deref()),
        mirrors,
        ..ReleaseSource::default()
    }
}

/// Records `tag` as the `version` setting and this machine's architecture as
/// `arch` (`amd64` or `arm64`, the original tray's spelling). Reloads
/// settings.json first, so changes made since the caller read it are kept.
/// Returns the file written.
pub fn record_version(home: &Home, tag: &str, platform: Platform) -> std::io::Result<PathBuf> {
    let mut store = SettingsStore::new(home.settings_path(), home.settings_fallback_path());
    let mut settings = store.load().settings;
    settings.set("version", Value::String(tag.to_string()));
    let arch = match platform.arch {
        Arch::Amd64 => "amd64",
        Arch::Aarch64 => "arm64",
    };
    settings.set("arch", Value::String(arch.to_string()));
    store.save(&settings)
}

/// Returns whether the recorded server runs a release from `versions/`.
/// A built-in engine or another program (the `engine` setting names a path)
/// is not switched by an update.
pub fn runs_release(home: &Home, record: &EngineRecord) -> bool {
    let versions = home.versions_dir();
    let versions = versions.canonicalize().unwrap_or(versions);
    record.engine == EngineKind::External.as_str() && record.exe.starts_with(&versions)
}

/// Returns whether two paths name the same program file, comparing the
/// canonical paths when both exist.
pub fn same_program(left: &Path, right: &Path) -> bool {
    left == right
        || matches!(
            (left.canonicalize(), right.canonicalize()),
            (Ok(left), Ok(right)) if left == right
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_version_keeps_other_settings() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path()).unwrap();
        std::fs::write(
            home.settings_path(),
            r#"{"autoUpdate":true,"version":"v1.0.0"}"#,
        )
        .unwrap();
        let platform = Platform {
            os: super::super::Os::Linux,
            arch: Arch::Aarch64,
        };

        let written = record_version(&home, "v1.1.0", platform).unwrap();

        assert_eq!(written, home.settings_path());
        let text = std::fs::read_to_string(&written).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["version"], "v1.1.0");
        assert_eq!(value["arch"], "arm64");
        assert_eq!(value["autoUpdate"], true);
    }

    #[test]
    fn release_source_reads_settings_and_proxy() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path()).unwrap();
        std::fs::write(
            home.config_path(),
            "port: 8317\nproxy-url: \"socks5://127.0.0.1:1080\"\n",
        )
        .unwrap();
        let mut settings = Settings::default();
        settings.set(
            "downloadMirrors",
            serde_json::json!(["https://mirror.invalid/", 7]),
        );
        settings.set("githubToken", Value::String("  token-1  ".into()));

        let source = release_source(&home, &settings);

        assert_eq!(source.mirrors, vec!["https://mirror.invalid/".to_string()]);
        assert_eq!(source.token.as_deref(), Some("token-1"));
        assert_eq!(
            source.proxy,
            ProxySetting::from_proxy_url(Some("socks5://127.0.0.1:1080"))
        );
    }

    #[test]
    fn same_program_compares_canonical_paths() {
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("cli-proxy-api");
        std::fs::write(&program, b"stand-in").unwrap();
        let through_dot = dir.path().join(".").join("cli-proxy-api");
        let other = dir.path().join("other");
        std::fs::write(&other, b"stand-in").unwrap();

        assert!(same_program(&program, &program));
        assert!(same_program(&program, &through_dot));
        assert!(!same_program(&program, &other));
        assert!(!same_program(&program, &dir.path().join("missing")));
    }
}
