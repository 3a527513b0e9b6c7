//! State shared by every request: the current settings snapshot, the ban
//! table and the process-wide secrets that never change after start.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use tokio::sync::mpsc;

use crate::auth::{BanTable, KeyTagger};
use crate::settings::{self, Settings};

/// Build identity reported in the startup line and the `X-CPA-*` headers.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Commit reported in `X-CPA-COMMIT`; source builds of upstream report `none` too.
pub const COMMIT: &str = "none";
/// Build date reported in `X-CPA-BUILD-DATE`; source builds of upstream report `unknown` too.
pub const BUILD_DATE: &str = "unknown";

/// Default base URL of the releases API used by `latest-version`.
pub const DEFAULT_RELEASES_API: &str = "https://api.github.com";

pub struct Shared {
    settings: RwLock<Arc<Settings>>,
    pub config_path: PathBuf,
    pub bans: BanTable,
    pub tagger: KeyTagger,
    pub cache_enabled: bool,
    /// `MANAGEMENT_PASSWORD`, trimmed, read once at start.
    pub env_password: Option<String>,
    /// `-password`, read once at start.
    pub local_password: Option<String>,
    /// Whether `api-keys` held an example key at start (upstream's safe mode
    /// only ever applies to a server that started in it).
    pub started_in_safe_mode: bool,
    /// Serialises every change of the config file and of the settings.
    pub write_lock: tokio::sync::Mutex<()>,
    pub releases_api: String,
    /// Pings from `GET /keep-alive` (only with `-password`).
    pub keep_alive: Option<mpsc::UnboundedSender<()>>,
    /// Whether management was ever enabled. Upstream registers its routes at
    /// that moment and never removes them, which decides its trailing-slash
    /// redirects.
    routes_registered: AtomicBool,
}

impl Shared {
    pub fn new(settings: Settings, parts: SharedParts) -> Self {
        let started_in_safe_mode = settings.has_example_keys();
        let enabled = !settings.secret.is_empty() || parts.env_password.is_some();
        Self {
            settings: RwLock::new(Arc::new(settings)),
            config_path: parts.config_path,
            bans: BanTable::default(),
            tagger: parts.tagger,
            cache_enabled: parts.cache_enabled,
            env_password: parts.env_password,
            local_password: parts.local_password,
            started_in_safe_mode,
            write_lock: tokio::sync::Mutex::new(()),
            releases_api: parts.releases_api,
            keep_alive: parts.keep_alive,
            routes_registered: AtomicBool::new(enabled),
        }
    }

    /// Returns whether management was enabled at any time since start.
    pub fn management_routes_registered(&self) -> bool {
        self.routes_registered.load(Ordering::Relaxed)
    }

    /// Returns the settings in force now.
    pub fn current(&self) -> Arc<Settings> {
        self.settings
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Returns whether management routes exist (a key in the file or `MANAGEMENT_PASSWORD`).
    pub fn management_enabled(&self, settings: &Settings) -> bool {
        !settings.secret.is_empty() || self.env_password.is_some()
    }

    /// Replaces the settings; the verified-key cache goes with the old ones.
    pub fn apply(&self, next: Settings) {
        let previous = self.current();
        if previous.host != next.host || previous.port != next.port || previous.tls != next.tls {
            tracing::warn!(
                "host, port or tls changed in the config file; restart the engine to apply them"
            );
        }
        if previous.trusted_proxies != next.trusted_proxies {
            tracing::info!("trusted-proxies changed; applied to new requests");
        }
        if self.env_password.is_none() {
            match (previous.secret.is_empty(), next.secret.is_empty()) {
                (true, false) => {
                    tracing::info!("management routes enabled after secret key update")
                }
                (false, true) => {
                    tracing::info!("management routes disabled after secret key removal")
                }
                _ => {}
            }
        }
        if self.management_enabled(&next) {
            self.routes_registered.store(true, Ordering::Relaxed);
        }
        *self
            .settings
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(next);
    }

    /// Re-reads the config file and applies it; used after management writes.
    ///
    /// The caller must have locked `write_lock`. Returns the load error as text.
    pub async fn reload_now(&self) -> Result<(), String> {
        let path = self.config_path.clone();
        let loaded = tokio::task::spawn_blocking(move || settings::load(&path))
            .await
            .map_err(|err| format!("config reload task failed: {err}"))??;
        self.apply(loaded);
        Ok(())
    }
}

/// Inputs of [`Shared::new`] that do not come from the config file.
pub struct SharedParts {
    pub config_path: PathBuf,
    pub tagger: KeyTagger,
    pub cache_enabled: bool,
    pub env_password: Option<String>,
    pub local_password: Option<String>,
    pub releases_api: String,
    pub keep_alive: Option<mpsc::UnboundedSender<()>>,
}
