//! The first-start offer: when the tray starts a server while no release is
//! installed and the `engine` setting is unset, it asks which server to run.
//!
//! One request to the releases API (at most 10 s) finds the latest release
//! for this machine, and a search of `PATH` finds a CLIProxyAPI binary that
//! a package manager installed. A dialog then offers to download the release
//! (tag, OS/architecture and size shown), to use the built-in engine, to use
//! the binary on `PATH` (only when one was found), or to cancel the start.
//! A download is installed with the progress window and recorded as
//! `engine: official` plus `version`. The built-in choice is recorded as
//! `engine: builtin` and the `PATH` choice as the binary's path, so the
//! question comes once. When nothing can be downloaded, the dialog says why
//! and offers the other choices. When there is no binary on `PATH` either,
//! the built-in engine runs for this start only (nothing is recorded, so a
//! later start asks again), and a notification says how to install the
//! official server later.

use std::path::PathBuf;
use std::sync::Arc;

use cpa_core::home::Home;
use cpa_core::messages::{Lang, Msg};
use cpa_core::releases::{
    self, DownloadOffer, EngineSetting, InstallOptions, Platform, VersionStore,
};
use cpa_core::settings::Settings;
use serde_json::Value;

use super::update::{self, UpdateMode};
use super::{Shared, dialog_exit_code, unexpected_exit};
use crate::dialog::{
    EXIT_ACCEPTED, EXIT_CANCELLED, EXIT_SECOND_CHOICE, EXIT_THIRD_CHOICE, Invocation, Request,
};
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

/// A button of the first-start dialog.
enum Answer {
    Download { release: releases::LatestRelease },
    Builtin,
    OnPath(PathBuf),
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

    // Buttons in this order: download (when offered), built-in engine, the
    // binary on PATH (when found).
    let mut text = Text::EngineChoiceQuestion.text(lang);
    let mut answers: Vec<(String, Answer)> = Vec::new();
    match offer.download {
        DownloadOffer::Available { release, asset } => {
            let megabytes = update::megabytes(asset.size);
            let label = Text::EngineChoiceDownload {
                tag: &release.tag,
                platform: &platform.label(),
                megabytes: &megabytes,
            }
            .text(lang);
            answers.push((label, Answer::Download { release }));
        }
        DownloadOffer::Offline(err) | DownloadOffer::Unavailable(err) => {
            let detail = err.text(lang);
            if offer.on_path.is_none() {
                return builtin_once(&detail, lang);
            }
            notify::log(&format!("first start: no download offered: {detail}"));
            text.push('\n');
            text.push_str(&Msg::EngineChoiceNoDownload { detail: &detail }.text(lang));
        }
    }
    answers.push((Text::EngineChoiceBuiltin.text(lang), Answer::Builtin));
    if let Some(path) = offer.on_path {
        let label = Text::EngineChoicePath {
            path: &path.display().to_string(),
        }
        .text(lang);
        answers.push((label, Answer::OnPath(path)));
    }

    let mut labels = answers.iter().map(|(label, _)| label.clone());
    let question = Invocation {
        request: Request::Choose {
            text,
            first: labels.next().unwrap_or_default(),
            second: labels.next().unwrap_or_default(),
            third: labels.next(),
        },
        lang,
    };
    let code = match dialog_exit_code(shared, &question) {
        Ok(code) => code,
        Err(detail) => return dialog_failed(&detail, lang),
    };
    let index = match u8::try_from(code) {
        Ok(EXIT_ACCEPTED) => 0,
        Ok(EXIT_SECOND_CHOICE) => 1,
        Ok(EXIT_THIRD_CHOICE) => 2,
        Ok(EXIT_CANCELLED) => return Decision::Cancelled,
        _ => return dialog_failed(&unexpected_exit(code, lang), lang),
    };
    // A button the question did not have.
    let Some((_, answer)) = answers.into_iter().nth(index) else {
        return dialog_failed(&unexpected_exit(code, lang), lang);
    };
    match answer {
        Answer::Download { release } => download(shared, lang, &source, &release, platform),
        Answer::Builtin => {
            record_engine(shared, &EngineSetting::Builtin, lang);
            Decision::Settings
        }
        Answer::OnPath(path) => {
            record_engine(shared, &EngineSetting::Path(path), lang);
            Decision::Settings
        }
    }
}

/// Notifies that the dialog failed, naming the command that offers the same choice.
fn dialog_failed(detail: &str, lang: Lang) -> Decision {
    let text = Text::DialogFailed {
        detail,
        command: "cpa-tray start",
    };
    notify::notify(Level::Error, text.text(lang));
    Decision::Cancelled
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
        // Cancel in the progress window: say that, not an update's words.
        Err(_)
            if shared
                .cancel_update
                .load(std::sync::atomic::Ordering::SeqCst) =>
        {
            let text = format!(
                "{}\n{}",
                Msg::DownloadCancelled.text(lang),
                Msg::EngineBuiltinNotice.text(lang)
            );
            notify::notify(Level::Info, text);
            return Decision::BuiltinOnce;
        }
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
