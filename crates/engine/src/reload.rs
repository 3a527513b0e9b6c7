//! Hot reload of `config.yaml`.
//!
//! The watcher observes the file's directory, filtered on the file name, and
//! the file itself. So it detects in-place writes, editors that save by
//! renaming a new file over the old one (upstream v7 watches only the file
//! and misses these), and edits made through another path to the same file.
//! As upstream, events are debounced for 150 ms, an empty file is ignored,
//! and content whose SHA-256 equals the applied version is skipped.

use std::ffi::OsString;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::{mpsc, watch};

use crate::settings;
use crate::state::Shared;

/// Quiet time after the last event before the file is read (upstream value).
pub const DEBOUNCE: Duration = Duration::from_millis(150);
/// Scan interval of the polling watcher, where the platform needs one.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Watched config: the watcher, shared with the task that re-arms its file watch.
pub type ConfigWatcher = Arc<std::sync::Mutex<notify::RecommendedWatcher>>;

/// Starts watching the config file and its directory. The returned watcher
/// must be kept alive for as long as events are wanted.
///
/// The directory watch reports a file renamed over the config. The file
/// watch reports writes that do not pass through the directory, such as
/// host-side edits of a file bind-mounted into a container. A rename leaves the file
/// watch on the old file, so it is re-armed after every reload check.
pub fn start(
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<ConfigWatcher, String> {
    let path = shared.config_path.clone();
    let directory = path
        .parent()
        .map(Path::to_path_buf)
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new(".").to_path_buf());
    let file_name: OsString = path
        .file_name()
        .map(OsString::from)
        .ok_or_else(|| format!("config path {} has no file name", path.display()))?;

    let (sender, mut receiver) = mpsc::unbounded_channel::<()>();
    let handler = move |event: notify::Result<notify::Event>| match event {
        Ok(event) => {
            let relevant = event
                .paths
                .iter()
                .any(|changed| changed.file_name() == Some(file_name.as_os_str()));
            if relevant && !event.kind.is_access() {
                let _ = sender.send(());
            }
        }
        Err(err) => tracing::warn!("config watcher error: {err}"),
    };
    // The poll interval matters only where the recommended watcher is the
    // polling one (macOS without notify's fsevent or kqueue features), whose
    // default of 30 s would make reloads look broken.
    let options = notify::Config::default().with_poll_interval(POLL_INTERVAL);
    let mut watcher = notify::RecommendedWatcher::new(handler, options)
        .map_err(|err| format!("failed to start the config watcher: {err}"))?;
    watcher
        .watch(&directory, RecursiveMode::NonRecursive)
        .map_err(|err| format!("failed to watch {}: {err}", directory.display()))?;
    watch_file(&mut watcher, &path);
    let watcher = Arc::new(std::sync::Mutex::new(watcher));
    let rearm = watcher.clone();

    tokio::spawn(async move {
        loop {
            tokio::select! {
                event = receiver.recv() => {
                    if event.is_none() {
                        return;
                    }
                }
                _ = shutdown.changed() => return,
            }
            // Debounce: wait until no event arrived for DEBOUNCE.
            while let Ok(Some(())) = tokio::time::timeout(DEBOUNCE, receiver.recv()).await {}
            reload_if_changed(&shared).await;
            if let Ok(mut watcher) = rearm.lock() {
                watch_file(&mut watcher, &shared.config_path);
            }
        }
    });
    tracing::info!(
        "file watcher started for config changes: {}",
        path.display()
    );
    Ok(watcher)
}

/// Adds (or renews) the watch on the config file itself; a missing file is
/// left to the directory watch.
fn watch_file(watcher: &mut notify::RecommendedWatcher, path: &Path) {
    if let Err(err) = watcher.watch(path, RecursiveMode::NonRecursive) {
        tracing::debug!("cannot watch {} itself: {err}", path.display());
    }
}

/// Reads the file and applies it when its content changed.
pub async fn reload_if_changed(shared: &Shared) {
    let _guard = shared.write_lock.lock().await;
    let path = shared.config_path.clone();
    let bytes = match tokio::fs::read(&path).await {
        Ok(bytes) => bytes,
        Err(err) => {
            tracing::warn!("failed to read config file {}: {err}", path.display());
            return;
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        tracing::debug!("ignoring empty config file {}", path.display());
        return;
    }
    if settings::content_hash(&bytes) == shared.current().content_hash {
        return;
    }
    tracing::info!("config file changed, reloading: {}", path.display());
    match shared.reload_now().await {
        Ok(()) => tracing::info!("configuration reloaded"),
        Err(err) => tracing::error!("failed to reload config: {err}"),
    }
}
