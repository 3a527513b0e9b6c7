//! The first-start offer: when the tray starts a server while no release is
//! installed and the `engine` setting is unset, it asks which server to run.
//!
//! One request to the releases API (at most 10 s) finds the latest release
//! for this machine. A three-button dialog then offers to download it (tag,
//! OS/architecture and size shown), to use the built-in engine, or to cancel
//! the start. A download is installed with the progress window and recorded
//! as `engine: official` plus `version`; the built-in choice is recorded as
//! `engine: builtin`, so the question comes once. When the API cannot be
//! reached or offers nothing for this machine, the built-in engine runs for
//! this start only (nothing is recorded, so a later start asks again), and a
//! notification says how to install the official server later.

use std::sync::Arc;

use cpa_core::home::Home;
use cpa_core::messages::{Lang, Msg};
use cpa_core::releases::{
    self, DownloadOffer, EngineSetting, InstallOptions, Platform, VersionStore,
};
use cpa_core::settings::Settings;
use serde_json::Value;

use super::update::{self, UpdateMode};
use super::{Shared, dialog_exit_code};
use crate::dialog::{EXIT_ACCEPTED, EXIT_CANCELLED, EXIT_SECOND_CHOICE, Invocation, Request};
use crate::notify::{self, Level};
use crate::text::Text;

/// Environment variable that names the server program and so answers the
/// question (the same variable `cpa-tray start` reads).
const ENGINE_PROGRAM_ENV: &str = "CPA_TRAY_ENGINE_PROGRAM";

/// Outcome of the offer for the start that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Decision {
    /// Choose the engine from the (possibly updated) settings.
    Settings,
    /// Run the built-in engine this time without recording it.
    BuiltinOnce,
    /// The user cancelled the start.
    Cancelled,
}

/// Returns whether a start must ask which server to run.
pub(super) fn needed(home: &Home, settings: &Settings) -> bool {
    if std::env::var_os(ENGINE_PROGRAM_ENV).is_some_and(|value| !value.is_empty()) {
        return false;
    }
    match VersionStore::new(home.versions_dir()) {
        Ok(store) => releases::needs_engine_choice(settings.engine(), &store, settings.version()),
        // A versions folder that cannot be opened is reported by the start.
        Err(_) => false,
    }
}

/// Runs the offer and returns how the start continues.
pub(super) fn offer(shared: &Arc<Shared>, lang: Lang) -> Decision {
    let home = &shared.options.home;
    let settings = shared.settings();
    let platform = match Platform::current() {
        Ok(platform) => platform,
        Err(err) => return builtin_once(&err.to_string(), lang),
    };
    let source = releases::release_source(home, &settings);
    let offer = releases::first_start_offer(&source, platform);
    let (release, asset) = match offer.download {
        DownloadOffer::Available { release, asset } => (release, asset),
        DownloadOffer::Offline(err) | DownloadOffer::Unavailable(err) => {
            return builtin_once(&err.to_string(), lang);
        }
    };

    let megabytes = update::megabytes(asset.size);
    let label = platform.label();
    let question = Invocation {
        request: Request::Choose {
            text: Text::EngineChoiceQuestion.text(lang),
            first: Text::EngineChoiceDownload {
                tag: &release.tag,
                platform: &label,
                megabytes: &megabytes,
            }
            .text(lang),
            second: Text::EngineChoiceBuiltin.text(lang),
        },
        lang,
    };
    let code = match dialog_exit_code(shared, &question) {
        Ok(code) => code,
        Err(detail) => {
            let text = Text::DialogFailed {
                detail: &detail,
                command: "cpa-tray start",
            };
            notify::notify(Level::Error, text.text(lang));
            return Decision::Cancelled;
        }
    };
    match u8::try_from(code) {
        Ok(EXIT_ACCEPTED) => download(shared, lang, &source, &release, platform),
        Ok(EXIT_SECOND_CHOICE) => {
            record_engine(shared, &EngineSetting::Builtin, lang);
            Decision::Settings
        }
        Ok(EXIT_CANCELLED) => Decision::Cancelled,
        _ => {
            let detail = format!("the dialog process exited with status {code}");
            let text = Text::DialogFailed {
                detail: &detail,
                command: "cpa-tray start",
            };
            notify::notify(Level::Error, text.text(lang));
            Decision::Cancelled
        }
    }
}

/// Installs the offered release and records it as the engine. A failed or
/// cancelled download falls back to the built-in engine for this start.
fn download(
    shared: &Arc<Shared>,
    lang: Lang,
    source: &releases::ReleaseSource,
    release: &releases::LatestRelease,
    platform: Platform,
) -> Decision {
    let home = &shared.options.home;
    let store = match VersionStore::new(home.versions_dir()) {
        Ok(store) => store,
        Err(err) => return builtin_once(&err.to_string(), lang),
    };
    shared
        .cancel_update
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let options = InstallOptions::new(platform);
    let outcome = match update::download(
        shared,
        lang,
        UpdateMode::Interactive,
        source,
        release,
        &store,
        &options,
    ) {
        Ok(outcome) => outcome,
        Err(notice) => return builtin_once(&notice.text, lang),
    };
    if let Err(err) = releases::record_version(home, &outcome.installed.tag, platform) {
        let detail = err.to_string();
        let text = Msg::SettingsSaveFailed { detail: &detail }.text(lang);
        notify::notify(Level::Error, text);
    }
    if let Ok(mut settings) = shared.settings.lock() {
        settings.set("version", Value::String(outcome.installed.tag.clone()));
    }
    record_engine(shared, &EngineSetting::Official, lang);
    let dir = outcome.installed.dir.display().to_string();
    let text = Msg::ReleaseInstalled {
        tag: &outcome.installed.tag,
        dir: &dir,
    };
    notify::notify(Level::Info, text.text(lang));
    Decision::Settings
}

/// Shows why no download is offered and how to install one later.
fn builtin_once(detail: &str, lang: Lang) -> Decision {
    notify::log(&format!("first start: no download offered: {detail}"));
    let text = format!(
        "{}\n{}",
        Msg::EngineChoiceNoDownload { detail }.text(lang),
        Msg::EngineBuiltinNotice.text(lang)
    );
    notify::notify(Level::Warning, text);
    Decision::BuiltinOnce
}

/// Saves the `engine` setting, keeping other changes made since the tray read it.
fn record_engine(shared: &Shared, engine: &EngineSetting, lang: Lang) {
    let value = Value::String(engine.to_setting());
    let saved = match shared.store.lock() {
        Ok(mut store) => {
            let mut settings = store.load().settings;
            settings.set("engine", value.clone());
            store.save(&settings).map_err(|err| err.to_string())
        }
        Err(_) => Err("the settings store is unavailable".to_string()),
    };
    match saved {
        Ok(path) => {
            notify::log(&format!("saved engine to {}", path.display()));
            if let Ok(mut settings) = shared.settings.lock() {
                settings.set("engine", value);
            }
        }
        Err(detail) => {
            let text = Msg::SettingsSaveFailed { detail: &detail }.text(lang);
            notify::notify(Level::Error, text);
        }
    }
}
