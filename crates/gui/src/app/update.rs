//! The Update menu item and Auto Update: check GitHub for the latest
//! CLIProxyAPI release, download it, switch the running server to it, and
//! roll back when it does not start.
//!
//! The steps follow `cpa-tray update`. Interactive updates ask a Yes/No
//! question with both versions and show the progress window, whose Cancel
//! sets [`Shared::cancel_update`]. The download stops at its next chunk.
//! Automatic updates (the `autoUpdate` setting, at tray start) neither ask
//! nor show a window, and they do nothing when no release is installed yet.
//! When their check cannot reach the releases API (connection refused, name
//! resolution, timeout), they write that to the tray's log and show nothing.
//! Every other failure is notified: an error response from the API, a
//! failed or corrupt download, a checksum mismatch, a rollback.
//!
//! Settings read: `version` (the active release), and through
//! `cpa_core::releases::release_source` `releasesApi` (API base URL; the
//! environment variable `CPA_TRAY_RELEASES_API` wins), `downloadMirrors` (a
//! URL prefix or a list of them) and `githubToken` (else `GITHUB_TOKEN`).
//! config.yaml's `proxy-url` is the download proxy.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use cpa_core::messages::{Lang, Msg};
use cpa_core::releases::{
    self, InstallOptions, InstallOutcome, LatestRelease, Platform, ReleaseError, ReleaseSource,
    UpdateStatus, VersionStore,
};
use cpa_core::supervisor::{self, Engine, EngineKind, EngineRecord};
use serde_json::Value;

use super::{DialogResult, Shared, launch, load_view, run_dialog_child, server_address};
use crate::dialog::{Invocation, Request};
use crate::notify::{self, Level};
use crate::text::Text;

/// Origin of an update: the menu item or Auto Update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateMode {
    /// The Update menu item: ask, show progress, report every outcome.
    Interactive,
    /// Auto Update at tray start: no questions, no window.
    Automatic,
}

/// A notification to show at the end of an update.
pub(super) struct Notice {
    level: Level,
    pub(super) text: String,
}

impl Notice {
    fn info(text: String) -> Notice {
        Notice {
            level: Level::Info,
            text,
        }
    }

    fn error(text: String) -> Notice {
        Notice {
            level: Level::Error,
            text,
        }
    }
}

/// Runs one update and shows its outcome as a notification.
pub(super) fn update_flow(shared: &Arc<Shared>, lang: Lang, mode: UpdateMode) {
    shared.cancel_update.store(false, Ordering::SeqCst);
    let notice = match run(shared, lang, mode) {
        Ok(notice) => notice,
        Err(notice) => Some(notice),
    };
    if let Some(notice) = notice {
        notify::notify(notice.level, notice.text);
    }
}

fn run(shared: &Arc<Shared>, lang: Lang, mode: UpdateMode) -> Result<Option<Notice>, Notice> {
    let home = &shared.options.home;
    let settings = shared.settings();
    let failed = |err: &ReleaseError| Notice::error(release_failure(err, lang));
    let platform = Platform::current().map_err(|err| failed(&err))?;
    let store = VersionStore::new(home.versions_dir()).map_err(|err| failed(&err))?;
    let source = releases::release_source(home, &settings);
    let interactive = mode == UpdateMode::Interactive;
    let check = match releases::check(&source, &store, settings.version(), platform) {
        Ok(check) => check,
        // Auto Update runs at every tray start, at login possibly before the
        // network is up. So a check that cannot reach the API is logged only.
        // An error response, and any failure once a download began, is notified.
        Err(err) if !interactive && err.is_offline() => {
            notify::log(&format!(
                "auto update: skipped, the releases API is unreachable: {}",
                err.chain_text(Lang::En)
            ));
            return Ok(None);
        }
        Err(err) => return Err(failed(&err)),
    };
    let latest = check.latest.tag.as_str();

    let up_to_date = match (check.status, &check.active) {
        (UpdateStatus::UpToDate, _) => Some(Msg::ReleaseAlreadyLatest { tag: latest }.text(lang)),
        (UpdateStatus::ActiveIsNewer, Some(active)) => Some(
            Msg::ReleaseActiveIsNewer {
                active: &active.tag,
                latest,
            }
            .text(lang),
        ),
        _ => None,
    };
    if let Some(text) = up_to_date {
        notify::log(&format!("update: {text}"));
        return Ok(interactive.then(|| Notice::info(text)));
    }
    if check.status == UpdateStatus::NotInstalled && !interactive {
        // A first install needs the user's consent, so Auto Update leaves it
        // to the Update item.
        notify::log("auto update: no release is installed, nothing to update");
        return Ok(None);
    }

    let asset = check.asset.as_ref().map_err(failed)?;
    if interactive && !check.latest_installed {
        let megabytes = megabytes(asset.size);
        let text = Text::UpdateQuestion {
            installed: check.active.as_ref().map(|active| active.tag.as_str()),
            latest,
            asset: &asset.name,
            megabytes: &megabytes,
        }
        .text(lang);
        let question = Invocation {
            request: Request::Ask { text },
            lang,
        };
        match run_dialog_child(shared, &question) {
            DialogResult::Accepted => {}
            DialogResult::Cancelled => {
                return Ok(Some(Notice::info(Msg::ReleaseUpdateCancelled.text(lang))));
            }
            DialogResult::Failed(detail) => {
                let text = Text::DialogFailed {
                    detail: &detail,
                    command: "cpa-tray update",
                };
                return Err(Notice::error(text.text(lang)));
            }
        }
    }

    let mut options = InstallOptions::new(platform);
    options.recorded_version = settings.version().map(str::to_string);
    let outcome = download(shared, lang, mode, &source, &check.latest, &store, &options)?;
    activate(shared, lang, &outcome, platform)
}

/// Downloads and installs `release`, with the progress window when interactive.
pub(super) fn download(
    shared: &Arc<Shared>,
    lang: Lang,
    mode: UpdateMode,
    source: &ReleaseSource,
    release: &LatestRelease,
    store: &VersionStore,
    options: &InstallOptions,
) -> Result<InstallOutcome, Notice> {
    let mut window = match mode {
        UpdateMode::Interactive => ProgressWindow::open(shared, lang),
        UpdateMode::Automatic => None,
    };
    let result = releases::install(
        source,
        release,
        store,
        options,
        &mut |progress| {
            if let Some(window) = &mut window {
                window.report(&progress);
            }
        },
        &shared.cancel_update,
    );
    if let Some(window) = window {
        window.finish(result.as_ref().map(|_| ()).map_err(|err| err.to_string()));
    }
    match result {
        Ok(outcome) => Ok(outcome),
        Err(ReleaseError::Cancelled) => Err(Notice::info(Msg::ReleaseUpdateCancelled.text(lang))),
        Err(err) => Err(Notice::error(release_failure(&err, lang))),
    }
}

/// Makes the installed release the active one: restarts a running release on
/// it (rolling back when it does not become ready), then records it.
fn activate(
    shared: &Arc<Shared>,
    lang: Lang,
    outcome: &InstallOutcome,
    platform: Platform,
) -> Result<Option<Notice>, Notice> {
    let home = &shared.options.home;
    let installed = &outcome.installed;
    let _lock = home.lock().map_err(|err| {
        let detail = err.to_string();
        Notice::error(Text::UpdateFailed { detail: &detail }.text(lang))
    })?;
    let running = supervisor::status(home)
        .ok()
        .and_then(|status| status.running);
    if let Some(record) = running
        && releases::runs_release(home, &record)
        && !releases::same_program(&record.exe, &installed.binary)
    {
        let engine = Engine {
            program: installed.binary.clone(),
            leading_args: Vec::new(),
            kind: EngineKind::External,
            version: installed.tag.clone(),
        };
        restart_on(shared, lang, &record, &engine)?;
    }
    releases::record_version(home, &installed.tag, platform).map_err(|err| {
        let detail = err.to_string();
        Notice::error(Msg::SettingsSaveFailed { detail: &detail }.text(lang))
    })?;
    if let Ok(mut settings) = shared.settings.lock() {
        settings.set("version", Value::String(installed.tag.clone()));
    }
    Ok(Some(Notice::info(
        Text::Updated {
            tag: &installed.tag,
        }
        .text(lang),
    )))
}

/// Stops the running release and starts `engine`. When it does not become
/// ready, stops it and starts the previous program again, and returns the
/// rollback as an error so the settings keep the previous version.
fn restart_on(
    shared: &Arc<Shared>,
    lang: Lang,
    previous: &EngineRecord,
    engine: &Engine,
) -> Result<(), Notice> {
    let home = &shared.options.home;
    let failed = |detail: &str| Notice::error(Text::UpdateFailed { detail }.text(lang));
    let view = load_view(home.config_path(), lang).map_err(|detail| failed(&detail))?;
    let address =
        server_address(&view, home.config_path(), lang).map_err(|detail| failed(&detail))?;
    shared.expect_exit_of_owned();
    supervisor::stop(home, supervisor::DEFAULT_STOP_TIMEOUT)
        .map_err(|err| failed(&err.to_string()))?;
    match launch(shared, engine, &address, lang) {
        Ok((true, _)) => return Ok(()),
        Ok((false, _)) => {
            // Not ready in time: stop it before the previous version takes
            // the port back.
            shared.expect_exit_of_owned();
            if let Err(err) = supervisor::stop(home, supervisor::DEFAULT_STOP_TIMEOUT) {
                notify::log(&format!("update: failed to stop {}: {err}", engine.version));
            }
        }
        Err(detail) => notify::log(&format!(
            "update: {} did not start: {detail}",
            engine.version
        )),
    }

    let previous_engine = Engine {
        program: previous.program_to_run(),
        leading_args: Vec::new(),
        kind: EngineKind::External,
        version: previous.version.clone(),
    };
    let log = home.engine_log_path().display().to_string();
    match launch(shared, &previous_engine, &address, lang) {
        Ok(_) => Err(Notice::error(
            Msg::ReleaseRolledBack {
                tag: &engine.version,
                previous: &previous.version,
                log: &log,
            }
            .text(lang),
        )),
        Err(detail) => Err(Notice::error(
            Msg::ReleaseRollbackFailed {
                tag: &engine.version,
                previous: &previous.version,
                detail: &detail,
            }
            .text(lang),
        )),
    }
}

/// Formats a size in bytes as MiB with one decimal, as the questions show it.
pub(super) fn megabytes(bytes: u64) -> String {
    cpa_core::releases::megabytes(bytes)
}

/// Renders a release error with its causes and hint for a notification.
fn release_failure(err: &ReleaseError, lang: Lang) -> String {
    let mut detail = err.chain_text(lang);
    if let Some(hint) = err.hint_in(lang) {
        detail.push_str(&format!(" ({hint})"));
    }
    Text::UpdateFailed { detail: &detail }.text(lang)
}

/// The progress window, a dialog child process fed JSON lines on stdin. A
/// thread reads its stdout and sets the cancel flag on a `cancel` line.
struct ProgressWindow {
    child: Child,
    stdin: Option<ChildStdin>,
    /// Last whole percentage (or MiB count, when the size is unknown) sent,
    /// so the window gets one line per step instead of one per chunk.
    last_step: Option<u64>,
}

impl ProgressWindow {
    /// Opens the window, or returns `None` (and logs why) when it cannot
    /// start. The download then runs without a window.
    fn open(shared: &Arc<Shared>, lang: Lang) -> Option<ProgressWindow> {
        let options = &shared.options;
        let invocation = Invocation {
            request: Request::Progress,
            lang,
        };
        let spawned = super::dialog_command(options, &invocation)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(err) => {
                notify::log(&format!("failed to open the progress window: {err}"));
                return None;
            }
        };
        if let Some(stdout) = child.stdout.take() {
            let shared = shared.clone();
            super::spawn_worker("progress-cancel", move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if line.trim() == "cancel" {
                        notify::log("update: cancelled in the progress window");
                        shared.cancel_update.store(true, Ordering::SeqCst);
                    }
                }
            });
        }
        let stdin = child.stdin.take();
        Some(ProgressWindow {
            child,
            stdin,
            last_step: None,
        })
    }

    fn report(&mut self, progress: &releases::Progress) {
        let step = match progress.total {
            Some(total) if total > 0 => progress.received.saturating_mul(100) / total,
            _ => progress.received / (1024 * 1024),
        };
        if self.last_step == Some(step) {
            return;
        }
        self.last_step = Some(step);
        let line = serde_json::json!({
            "received": progress.received,
            "total": progress.total,
        });
        self.send(&line.to_string());
    }

    /// Reports the end to the window and waits for it to close.
    fn finish(mut self, result: Result<(), String>) {
        let line = match result {
            Ok(()) => serde_json::json!({ "done": true }),
            Err(reason) => serde_json::json!({ "error": reason }),
        };
        self.send(&line.to_string());
        // Closing stdin ends a window that missed the last line.
        self.stdin = None;
        if let Err(err) = self.child.wait() {
            notify::log(&format!("failed to wait for the progress window: {err}"));
        }
    }

    fn send(&mut self, line: &str) {
        // A window that was closed or failed to open stops reading; the
        // download goes on without it.
        if let Some(stdin) = &mut self.stdin
            && writeln!(stdin, "{line}")
                .and_then(|()| stdin.flush())
                .is_err()
        {
            self.stdin = None;
        }
    }
}
