//! The engine choice of a first start: which server program `start` runs
//! when neither `--engine`, the `engine` setting nor an installed release
//! decides it.
//!
//! On a terminal the user picks: download the latest CLIProxyAPI release
//! (tag, platform and size shown), the built-in engine, a CLIProxyAPI binary
//! found on `PATH`, or cancel (also an empty line or end of input). The
//! answer is stored as the `engine` setting once the start has written the
//! password ([`Selection::commit`]), so the question is asked once. Without a terminal (or with
//! `--password-stdin`) nothing waits for input: the built-in engine runs,
//! with a notice naming `cpa-tray install`, and nothing is recorded, so a
//! later start on a terminal still asks. The same notice follows when the
//! releases API cannot be reached or offers nothing for this machine.
//!
//! `--engine builtin|official` answers the question too and is recorded the
//! same way, also later, to switch. `--engine official` downloads the latest
//! release when none is installed, with the checks of `cpa-tray install`.

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;

use cpa_core::interrupt::ExitOnInterrupt;
use cpa_core::messages::{Lang, Msg};
use cpa_core::releases::{self, DownloadOffer, EngineSetting, InstalledVersion, Platform};
use cpa_core::settings::SettingsStore;
use cpa_core::supervisor::{Engine, EngineKind};
use serde_json::Value;

use super::releases as release_cmd;
use super::{builtin_engine, external_engine};
use crate::context::{Context, Failure, display};

/// Number of unrecognized answers before the prompt gives up.
const ATTEMPTS: usize = 3;

/// Whether a first start may ask on the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interaction {
    /// Ask when standard input and standard error are terminals.
    Terminal,
    /// Never ask (the tray, `--password-stdin`, scripts).
    Never,
}

impl Interaction {
    /// Returns the interaction of `cpa-tray start`: a terminal prompt unless
    /// the password comes from standard input.
    pub fn for_start(password_stdin: bool) -> Interaction {
        if password_stdin {
            Interaction::Never
        } else {
            Interaction::Terminal
        }
    }

    /// Returns whether a question can be asked now: standard input and
    /// standard error are terminals and this interaction allows it.
    pub fn can_prompt(self) -> bool {
        self == Interaction::Terminal && io::stdin().is_terminal() && io::stderr().is_terminal()
    }
}

/// An engine chosen for a start, and the `engine` setting the choice
/// stores once the start has passed its checks and written the password.
///
/// Storing waits, so a password prompt cancelled after the first-start
/// question leaves settings.json as it was; the question is then asked
/// again. A release the answer downloaded stays installed.
#[derive(Debug)]
pub struct Selection {
    pub engine: Engine,
    pending: Option<EngineSetting>,
}

impl Selection {
    /// Returns a selection that stores nothing.
    pub fn settled(engine: Engine) -> Selection {
        Selection {
            engine,
            pending: None,
        }
    }

    /// Returns a selection that stores `setting` when committed.
    pub fn to_record(engine: Engine, setting: EngineSetting) -> Selection {
        Selection {
            engine,
            pending: Some(setting),
        }
    }

    /// Stores the pending `engine` setting, if any, and returns the engine.
    pub fn commit(self, ctx: &Context) -> Result<Engine, Failure> {
        if let Some(setting) = &self.pending {
            record_engine(ctx, setting)?;
        }
        Ok(self.engine)
    }
}

/// Chooses the engine of a first start, asking when `interaction` allows it.
pub fn choose(ctx: &Context, interaction: Interaction) -> Result<Selection, Failure> {
    if !interaction.can_prompt() {
        ctx.warn(Msg::EngineBuiltinNotice);
        return builtin_engine(ctx).map(Selection::settled);
    }
    let platform = match Platform::current() {
        Ok(platform) => platform,
        Err(err) => {
            // No release and no PATH search fits an unknown platform.
            let detail = err.to_string();
            ctx.warn(Msg::EngineChoiceNoDownload { detail: &detail });
            ctx.warn(Msg::EngineBuiltinNotice);
            return builtin_engine(ctx).map(Selection::settled);
        }
    };
    let offer = releases::first_start_offer(&release_cmd::release_source(ctx), platform);
    let on_path = offer.on_path.clone();
    let download = match &offer.download {
        DownloadOffer::Available { release, asset } => Some((release, asset)),
        _ => None,
    };
    if let Some(err) = offer.download.error() {
        let detail = err.chain_text(ctx.lang);
        ctx.warn(Msg::EngineChoiceNoDownload { detail: &detail });
    }
    if download.is_none() && on_path.is_none() {
        ctx.warn(Msg::EngineBuiltinNotice);
        return builtin_engine(ctx).map(Selection::settled);
    }

    let platform_label = platform.label();
    let megabytes = download
        .map(|(_, asset)| release_cmd::megabytes(asset.size))
        .unwrap_or_default();
    let on_path_text = on_path.as_deref().map(display);
    let prompt = ctx.text(Msg::EngineChoicePrompt {
        tag: download.map(|(release, _)| release.tag.as_str()),
        platform: &platform_label,
        megabytes: &megabytes,
        on_path: on_path_text.as_deref(),
    });
    let mut keys = Vec::new();
    if download.is_some() {
        keys.push("d");
    }
    keys.push("b");
    if on_path.is_some() {
        keys.push("p");
    }
    keys.push("c");

    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            let separator = match ctx.lang {
                Lang::En => ", ",
                Lang::ZhCn => "、",
            };
            ctx.warn(Msg::EngineChoiceInvalid {
                keys: &keys.join(separator),
            });
        }
        let Some(answer) = ask(&prompt, &ctx.text(Msg::EngineChoiceCancelled)) else {
            return Err(ctx.fail(Msg::EngineChoiceCancelled));
        };
        match answer.as_str() {
            "d" | "download" => {
                if let Some((release, asset)) = download {
                    let installed = install_release(ctx, release, &asset.name, platform)?;
                    return Ok(Selection::to_record(
                        release_engine(installed),
                        EngineSetting::Official,
                    ));
                }
            }
            "b" | "builtin" | "built-in" => {
                ctx.warn(Msg::EngineBuiltinNotice);
                return Ok(Selection::to_record(
                    builtin_engine(ctx)?,
                    EngineSetting::Builtin,
                ));
            }
            "p" | "path" => {
                if let Some(path) = &on_path {
                    let engine = external_engine(ctx, path)?;
                    return Ok(Selection::to_record(
                        engine,
                        EngineSetting::Path(path.clone()),
                    ));
                }
            }
            "c" | "cancel" | "" => return Err(ctx.fail(Msg::EngineChoiceCancelled)),
            _ => {}
        }
    }
    Err(ctx.fail(Msg::EngineChoiceCancelled))
}

/// Prints `prompt` on stderr and reads one lowercased answer from the
/// terminal; `None` at end of input or on a read error. Ctrl+C during the
/// read prints `cancelled` and exits with status 130, as a password prompt
/// does; nothing has been written yet.
fn ask(prompt: &str, cancelled: &str) -> Option<String> {
    let _interrupt = ExitOnInterrupt::install(cancelled);
    eprint!("{prompt}");
    let _ = io::stderr().flush();
    let mut answer = String::new();
    match io::stdin().lock().read_line(&mut answer) {
        Ok(0) => {
            // Ctrl+D echoes no line break, so end the prompt's line here.
            eprintln!();
            None
        }
        Err(_) => None,
        Ok(_) => Some(answer.trim().to_ascii_lowercase()),
    }
}

/// Returns the engine for `--engine official`: the installed release, or
/// the latest one, downloaded and verified as `cpa-tray install` does. No
/// prompt follows, because the flag is the consent.
pub fn official_or_install(ctx: &Context) -> Result<Engine, Failure> {
    if let Some(engine) = super::installed_release(ctx) {
        return Ok(engine);
    }
    ctx.say(Msg::EngineOfficialInstalling);
    let platform = release_cmd::platform(ctx)?;
    let source = release_cmd::release_source(ctx);
    let store = release_cmd::version_store(ctx)?;
    let check = releases::check(&source, &store, ctx.settings.version(), platform)
        .map_err(|err| release_cmd::release_failure_for(ctx, &err, "install"))?;
    let asset = check
        .asset
        .as_ref()
        .map_err(|err| release_cmd::release_failure_for(ctx, err, "install"))?;
    let installed = install_release(ctx, &check.latest, &asset.name, platform)?;
    Ok(release_engine(installed))
}

/// Downloads, verifies and installs `release`, then records its tag as the
/// `version` setting. Nothing runs yet, so nothing is restarted.
fn install_release(
    ctx: &Context,
    release: &releases::LatestRelease,
    asset: &str,
    platform: Platform,
) -> Result<InstalledVersion, Failure> {
    let source = release_cmd::release_source(ctx);
    let store = release_cmd::version_store(ctx)?;
    let options = release_cmd::install_options(ctx, platform, false);
    let outcome = release_cmd::download_and_install(
        ctx, &source, release, &store, &options, asset, "install",
    )?;
    release_cmd::report_install(ctx, &outcome);
    release_cmd::record_version(ctx, &outcome.installed.tag, platform)?;
    Ok(outcome.installed)
}

fn release_engine(installed: InstalledVersion) -> Engine {
    Engine {
        program: installed.binary,
        leading_args: Vec::new(),
        kind: EngineKind::External,
        version: installed.tag,
    }
}

/// Stores `choice` as the `engine` setting, keeping every other field as
/// settings.json has it now.
pub fn record_engine(ctx: &Context, choice: &EngineSetting) -> Result<(), Failure> {
    let mut store = SettingsStore::new(ctx.home.settings_path(), ctx.home.settings_fallback_path());
    let mut settings = store.load().settings;
    let value = choice.to_setting();
    settings.set("engine", Value::String(value.clone()));
    let path = store.save(&settings).map_err(|err| {
        let detail = err.to_string();
        ctx.fail(Msg::SettingsSaveFailed { detail: &detail })
    })?;
    ctx.say(Msg::EngineChoiceRecorded {
        value: &value,
        path: &display(&path),
    });
    Ok(())
}

/// Returns the CLIProxyAPI binary a `PATH` search finds, for `versions list`.
pub fn found_on_path() -> Option<PathBuf> {
    let platform = Platform::current().ok()?;
    releases::find_on_path(platform.os)
}
