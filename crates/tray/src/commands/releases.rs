//! `cpa-tray update`, `install` and `versions`: CLIProxyAPI releases.
//!
//! Downloading, verifying and unpacking live in `cpa_core::releases`. This
//! module adds the terminal parts (prompt, progress bar) and the steps after
//! an install. It restarts a running release on the new version and waits
//! until it responds. When it does not respond, the previous version is
//! started again; otherwise the new version is recorded in settings.json.
//!
//! Settings read here besides `version`: `releasesApi` (API base URL; the
//! environment variable `CPA_TRAY_RELEASES_API` wins), `downloadMirrors` (a
//! URL prefix or a list of them, tried before the plain URL) and
//! `githubToken` (else `GITHUB_TOKEN`). The token is only sent to the API and
//! never printed.

use std::io::{self, BufRead, IsTerminal, Write};
use std::time::Duration;

use cpa_core::interrupt::{CancelOnInterrupt, ExitOnInterrupt, INTERRUPTED_EXIT_CODE};
use cpa_core::messages::Msg;
use cpa_core::releases::{
    self, InstallOptions, InstallOutcome, InstalledVersion, Platform, Progress, ReleaseError,
    ReleaseSource, UpdateStatus, Verification, VersionStore,
};
use cpa_core::supervisor::{self, Engine, EngineKind, EngineRecord};

use super::{engine_from_record, keep_env_password, load_config, server_address, view};
use crate::cli::{InstallArgs, UpdateArgs, VersionsCommand};
use crate::context::{CommandResult, Context, Failure, display};

/// `update [--check] [--yes]`.
pub fn update(ctx: &Context, args: &UpdateArgs) -> CommandResult {
    let platform = platform(ctx)?;
    let source = release_source(ctx);
    let store = version_store(ctx)?;
    let check = releases::check(&source, &store, ctx.settings.version(), platform)
        .map_err(|err| release_failure(ctx, &err))?;
    let latest = check.latest.tag.as_str();
    let active = check.active.as_ref().map(|active| active.tag.as_str());
    match (check.status, active) {
        (UpdateStatus::UpToDate, _) => {
            ctx.say(Msg::ReleaseAlreadyLatest { tag: latest });
            return Ok(());
        }
        (UpdateStatus::ActiveIsNewer, Some(active)) => {
            ctx.say(Msg::ReleaseActiveIsNewer { active, latest });
            return Ok(());
        }
        (UpdateStatus::UpdateAvailable, Some(installed)) if args.check => {
            ctx.say(Msg::ReleaseUpdateAvailable { installed, latest });
            return Ok(());
        }
        (_, _) if args.check => {
            ctx.say(Msg::ReleaseNotInstalled { latest });
            return Ok(());
        }
        _ => {}
    }
    let asset = check
        .asset
        .as_ref()
        .map_err(|err| release_failure(ctx, err))?;
    confirm(ctx, args.yes, latest, &asset.name, asset.size)?;
    let options = install_options(ctx, platform, false);
    let outcome = download_and_install(
        ctx,
        &source,
        &check.latest,
        &store,
        &options,
        &asset.name,
        "update",
    )?;
    activate(ctx, &outcome, platform, super::seconds(args.ready_timeout))
}

/// `install [--from FILE] [--yes] [--allow-unverified]`.
///
/// An archive named with `--from` is installed without a prompt: the user
/// already chose that file.
pub fn install(ctx: &Context, args: &InstallArgs) -> CommandResult {
    let platform = platform(ctx)?;
    let store = version_store(ctx)?;
    let options = install_options(ctx, platform, args.allow_unverified);
    let outcome = match &args.from {
        Some(archive) => {
            let active = store
                .resolve_active(ctx.settings.version())
                .ok()
                .flatten()
                .map(|active| active.installed.tag);
            let outcome = install_local(ctx, archive, &store, &options)?;
            // An archive from disk may be older than the active release;
            // installing it switches back, so say so and how to undo it.
            if let Some(active) = active
                && let (Ok(new), Ok(old)) = (
                    releases::Version::parse(&outcome.installed.tag),
                    releases::Version::parse(&active),
                )
                && new < old
            {
                ctx.warn(Msg::ReleaseOlderActivated {
                    tag: &outcome.installed.tag,
                    previous: &active,
                });
            }
            outcome
        }
        None => {
            let source = release_source(ctx);
            let check = releases::check(&source, &store, ctx.settings.version(), platform)
                .map_err(|err| release_failure_for(ctx, &err, "install"))?;
            match (check.status, &check.active) {
                (UpdateStatus::UpToDate, _) => {
                    ctx.say(Msg::ReleaseAlreadyLatest {
                        tag: &check.latest.tag,
                    });
                    return Ok(());
                }
                // Installing the latest release here would be a downgrade.
                (UpdateStatus::ActiveIsNewer, Some(active)) => {
                    ctx.say(Msg::ReleaseActiveIsNewer {
                        active: &active.tag,
                        latest: &check.latest.tag,
                    });
                    return Ok(());
                }
                _ => {}
            }
            let asset = check
                .asset
                .as_ref()
                .map_err(|err| release_failure_for(ctx, err, "install"))?;
            if !check.latest_installed {
                confirm(ctx, args.yes, &check.latest.tag, &asset.name, asset.size)?;
            }
            download_and_install(
                ctx,
                &source,
                &check.latest,
                &store,
                &options,
                &asset.name,
                "install",
            )?
        }
    };
    activate(ctx, &outcome, platform, super::seconds(args.ready_timeout))
}

/// Installs `install --from FILE`: a missing file is reported as such
/// before anything else, and errors get next steps for a local file.
fn install_local(
    ctx: &Context,
    archive: &std::path::Path,
    store: &VersionStore,
    options: &InstallOptions,
) -> Result<InstallOutcome, Failure> {
    let local_failure = |err: ReleaseError| {
        let hint = err.local_file_hint(ctx.lang);
        release_failure_with(ctx, &err, hint)
    };
    let opened = std::fs::File::open(archive).and_then(|file| {
        if file.metadata()?.is_file() {
            Ok(())
        } else {
            Err(io::Error::other("it is not a regular file"))
        }
    });
    if let Err(source) = opened {
        return Err(local_failure(ReleaseError::Io {
            action: "open",
            path: archive.to_path_buf(),
            source,
        }));
    }
    releases::install_from_file(archive, store, options).map_err(local_failure)
}

/// `versions list|use|prune`.
pub fn versions(ctx: &Context, command: &VersionsCommand) -> CommandResult {
    let store = version_store(ctx)?;
    let recorded = ctx.settings.version();
    match command {
        VersionsCommand::List => {
            let listed = store
                .list(recorded)
                .map_err(|err| release_failure(ctx, &err))?;
            let on_path = super::engine_choice::found_on_path();
            if listed.is_empty() {
                ctx.say(Msg::VersionsEmpty {
                    path: &display(store.dir()),
                });
            }
            for entry in &listed {
                ctx.say(Msg::VersionsEntry {
                    tag: &entry.installed.tag,
                    active: entry.active,
                });
            }
            if let Some(path) = on_path {
                ctx.say(Msg::VersionsOnPath {
                    path: &display(&path),
                });
            }
            Ok(())
        }
        VersionsCommand::Use(args) => {
            let platform = platform(ctx)?;
            // `9.9.9` means `v9.9.9` when only that one is installed.
            let prefixed = format!("v{}", args.tag);
            let tag = if !matches!(store.installed(&args.tag), Ok(Some(_)))
                && matches!(store.installed(&prefixed), Ok(Some(_)))
            {
                prefixed.as_str()
            } else {
                args.tag.as_str()
            };
            let installed = store
                .use_version(tag)
                .map_err(|err| release_failure(ctx, &err))?;
            switch_to(
                ctx,
                &installed,
                platform,
                super::seconds(args.ready_timeout),
            )
        }
        VersionsCommand::Prune(args) => {
            let _lock = super::lock_home(ctx)?;
            let report = store
                .prune(args.keep, recorded)
                .map_err(|err| release_failure(ctx, &err))?;
            if report.removed.is_empty() {
                ctx.say(Msg::VersionsPruneNothing { keep: args.keep });
            }
            for tag in &report.removed {
                ctx.say(Msg::VersionsPruned { tag });
            }
            Ok(())
        }
    }
}

pub(super) fn platform(ctx: &Context) -> Result<Platform, Failure> {
    Platform::current().map_err(|err| release_failure(ctx, &err))
}

pub(super) fn version_store(ctx: &Context) -> Result<VersionStore, Failure> {
    VersionStore::new(ctx.home.versions_dir()).map_err(|err| release_failure(ctx, &err))
}

pub(super) fn install_options(
    ctx: &Context,
    platform: Platform,
    allow_unverified: bool,
) -> InstallOptions {
    let mut options = InstallOptions::new(platform);
    options.allow_unverified = allow_unverified;
    options.recorded_version = ctx.settings.version().map(str::to_string);
    options
}

/// Builds the release source from settings, environment and config.yaml's
/// `proxy-url` ([`releases::release_source`]).
pub(super) fn release_source(ctx: &Context) -> ReleaseSource {
    releases::release_source(&ctx.home, &ctx.settings)
}

/// Asks before a download. `--yes` skips the question, a terminal gets a
/// y/N prompt, and other standard input is rejected, so scripts do not wait.
fn confirm(ctx: &Context, yes: bool, tag: &str, asset: &str, size: u64) -> Result<(), Failure> {
    if yes {
        return Ok(());
    }
    if !io::stdin().is_terminal() {
        return Err(ctx.fail(Msg::ReleaseNeedsYes));
    }
    // Nothing is downloaded yet, so Ctrl+C here may end the process at once.
    let _interrupt = ExitOnInterrupt::install(&ctx.text(Msg::ReleaseUpdateCancelled));
    eprint!(
        "{}",
        ctx.text(Msg::ReleaseConfirm {
            tag,
            asset,
            megabytes: &megabytes(size),
        })
    );
    let _ = io::stderr().flush();
    let mut answer = String::new();
    if io::stdin().lock().read_line(&mut answer).is_err() {
        answer.clear();
    }
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(ctx.fail(Msg::ReleaseUpdateCancelled)),
    }
}

/// Downloads and installs `release` with a progress bar and Ctrl+C handling.
/// `command` (`install` or `update`) picks the cancel message and the
/// command that hints repeat.
pub(super) fn download_and_install(
    ctx: &Context,
    source: &ReleaseSource,
    release: &releases::LatestRelease,
    store: &VersionStore,
    options: &InstallOptions,
    asset: &str,
    command: &str,
) -> Result<InstallOutcome, Failure> {
    let mut bar = ProgressBar::new(ctx, asset);
    // Ctrl+C only sets the cancel flag, so the install deletes its temporary
    // download and the previous version stays as it was.
    let interrupt = CancelOnInterrupt::install_with_notice(&ctx.text(Msg::ReleaseCancelling));
    let result = releases::install(
        source,
        release,
        store,
        options,
        &mut |progress| bar.update(progress),
        interrupt.flag(),
    );
    drop(interrupt);
    bar.finish();
    let cancelled = if command == "update" {
        Msg::ReleaseUpdateCancelled
    } else {
        Msg::DownloadCancelled
    };
    match result {
        Ok(outcome) => Ok(outcome),
        Err(ReleaseError::Cancelled) => Err(Failure {
            lines: vec![ctx.text(cancelled)],
            exit_code: INTERRUPTED_EXIT_CODE,
        }),
        Err(err) => Err(release_failure_for(ctx, &err, command)),
    }
}

/// Reports the install, restarts a running release on it, and records it.
fn activate(
    ctx: &Context,
    outcome: &InstallOutcome,
    platform: Platform,
    ready_timeout: Duration,
) -> CommandResult {
    report_install(ctx, outcome);
    switch_to(ctx, &outcome.installed, platform, ready_timeout)
}

/// Prints what was installed and how it was verified.
pub(super) fn report_install(ctx: &Context, outcome: &InstallOutcome) {
    let installed = &outcome.installed;
    match &outcome.verification {
        Verification::AlreadyInstalled => ctx.say(Msg::ReleaseAlreadyInstalled {
            tag: &installed.tag,
        }),
        verification => {
            ctx.say(Msg::ReleaseInstalled {
                tag: &installed.tag,
                dir: &display(&installed.dir),
            });
            match verification {
                Verification::ChecksumsFile { sha256 } => {
                    ctx.say(Msg::ReleaseVerifiedChecksums { sha256 })
                }
                Verification::GithubDigest { sha256 } => {
                    ctx.say(Msg::ReleaseVerifiedDigest { sha256 })
                }
                Verification::Unverified { sha256 } => ctx.warn(Msg::ReleaseUnverified { sha256 }),
                Verification::AlreadyInstalled => {}
            }
        }
    }
}

/// Makes `installed` the active version: restarts a running release on it
/// (rolling back when it does not become ready), then records it.
fn switch_to(
    ctx: &Context,
    installed: &InstalledVersion,
    platform: Platform,
    ready_timeout: Duration,
) -> CommandResult {
    let _lock = super::lock_home(ctx)?;
    let running = supervisor::status(&ctx.home)
        .ok()
        .and_then(|status| status.running);
    if let Some(record) = running {
        if releases::runs_release(&ctx.home, &record) {
            if !releases::same_program(&record.exe, &installed.binary) {
                restart_on(ctx, &record, installed, ready_timeout)?;
            }
        } else {
            ctx.say(Msg::ReleaseNotRestarted {
                engine: &record.engine,
                version: &record.version,
                tag: &installed.tag,
            });
        }
    }
    record_version(ctx, &installed.tag, platform)
}

/// Stops the running release, starts `installed`, and when it does not
/// respond within `ready_timeout`, stops it and starts the previous program
/// again. Returns a failure after a rollback, so settings stay unchanged.
fn restart_on(
    ctx: &Context,
    previous: &EngineRecord,
    installed: &InstalledVersion,
    ready_timeout: Duration,
) -> Result<(), Failure> {
    let doc = load_config(ctx)?;
    let view = view(ctx, &doc)?;
    let address = server_address(ctx, &view)?;
    ctx.say(Msg::ReleaseRestarting {
        tag: &installed.tag,
    });
    super::stop_previous(ctx)?;
    let engine = Engine {
        program: installed.binary.clone(),
        leading_args: Vec::new(),
        kind: EngineKind::External,
        version: installed.tag.clone(),
    };
    let options = supervisor::StartOptions {
        ready_timeout,
        keep_management_password_env: keep_env_password(),
    };
    match supervisor::start(&ctx.home, &engine, &address, &options) {
        Ok(started) if started.ready_after.is_some() => {
            ctx.say(Msg::StartedServer {
                pid: started.record.pid,
                port: address.port,
                engine: engine.kind.as_str(),
                version: &engine.version,
                millis: started.ready_after.map_or(0, |elapsed| elapsed.as_millis()),
            });
            return Ok(());
        }
        Ok(_) => {
            // Not ready in time: the supervisor left it running, so stop it
            // before the previous version takes the port back.
            if let Err(err) = supervisor::stop(&ctx.home, supervisor::DEFAULT_STOP_TIMEOUT) {
                let detail = err.to_string();
                ctx.warn(Msg::StopFailed { detail: &detail });
            }
        }
        Err(err) => {
            let detail = err.to_string();
            ctx.warn(Msg::StartFailed { detail: &detail });
        }
    }

    let previous_engine = engine_from_record(previous);
    let previous_label = previous.version.clone();
    match super::start_server(ctx, &previous_engine, &address, ready_timeout) {
        Ok(_) => Err(ctx.fail(Msg::ReleaseRolledBack {
            tag: &installed.tag,
            previous: &previous_label,
            log: &display(&ctx.home.engine_log_path()),
        })),
        Err(failure) => {
            let detail = failure.lines.join(" ");
            Err(ctx.fail(Msg::ReleaseRollbackFailed {
                tag: &installed.tag,
                previous: &previous_label,
                detail: &detail,
            }))
        }
    }
}

/// Records `tag` (and this machine's architecture, in the original tray's
/// spelling) in settings.json and says where.
pub(super) fn record_version(ctx: &Context, tag: &str, platform: Platform) -> CommandResult {
    let path = releases::record_version(&ctx.home, tag, platform).map_err(|err| {
        let detail = err.to_string();
        ctx.fail(Msg::SettingsSaveFailed { detail: &detail })
    })?;
    ctx.say(Msg::ReleaseRecorded {
        tag,
        path: &display(&path),
    });
    Ok(())
}

/// Turns a release error into `error:`, `Caused by:` and `hint:` lines.
/// Hints that repeat a command name `cpa-tray update`.
pub(super) fn release_failure(ctx: &Context, err: &ReleaseError) -> Failure {
    release_failure_for(ctx, err, "update")
}

/// Like [`release_failure`], after a failed `cpa-tray {command}`.
pub(super) fn release_failure_for(ctx: &Context, err: &ReleaseError, command: &str) -> Failure {
    release_failure_with(ctx, err, err.hint_for(ctx.lang, command))
}

/// Like [`release_failure`], with `hint` as the next step.
pub(super) fn release_failure_with(
    ctx: &Context,
    err: &ReleaseError,
    hint: Option<String>,
) -> Failure {
    let detail = err.text(ctx.lang);
    let mut lines = vec![ctx.text(Msg::ReleaseFailed { detail: &detail })];
    let mut cause = std::error::Error::source(err);
    while let Some(current) = cause {
        // Causes from the OS or the HTTP client keep their own wording.
        let detail = releases::cause_text(current, ctx.lang);
        lines.push(ctx.text(Msg::ReleaseCausedBy { detail: &detail }));
        cause = current.source();
    }
    if let Some(hint) = hint {
        lines.push(ctx.text(Msg::ReleaseHint { hint: &hint }));
    }
    Failure {
        lines,
        exit_code: 1,
    }
}

pub(super) fn megabytes(bytes: u64) -> String {
    releases::megabytes(bytes)
}

/// A one-line text progress bar on stderr, drawn only when stderr is a
/// terminal and redrawn only when the whole percentage changes.
struct ProgressBar<'a> {
    ctx: &'a Context,
    asset: &'a str,
    enabled: bool,
    last: Option<(usize, u64)>,
}

impl<'a> ProgressBar<'a> {
    fn new(ctx: &'a Context, asset: &'a str) -> ProgressBar<'a> {
        ProgressBar {
            ctx,
            asset,
            enabled: io::stderr().is_terminal(),
            last: None,
        }
    }

    fn update(&mut self, progress: Progress) {
        if !self.enabled {
            return;
        }
        let percent = match progress.total {
            Some(total) if total > 0 => progress.received.saturating_mul(100) / total,
            _ => 0,
        };
        let key = (progress.source_index, percent);
        if self.last == Some(key) {
            return;
        }
        self.last = Some(key);
        let total = progress.total.map_or_else(|| "?".to_string(), megabytes);
        let line = self.ctx.text(Msg::ReleaseDownloadProgress {
            asset: self.asset,
            percent,
            received: &megabytes(progress.received),
            total: &total,
        });
        let mut stderr = io::stderr().lock();
        let _ = write!(stderr, "\r{line}");
        let _ = stderr.flush();
    }

    fn finish(&mut self) {
        if self.enabled && self.last.is_some() {
            eprintln!();
        }
    }
}
