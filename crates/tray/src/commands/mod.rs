//! The commands, and the steps several of them share.

pub mod engine_choice;
pub mod logs;
pub mod open;
pub mod password;
pub mod releases;
pub mod remote;
pub mod start;
pub mod status;
pub mod stop;

use std::path::Path;
use std::time::Duration;

use cpa_config::{ConfigDocument, ServerView};
use cpa_core::messages::Msg;
use cpa_core::releases::{EngineSetting, VersionStore};
use cpa_core::supervisor::{self, Engine, EngineKind, EngineRecord, ServerAddress, StopOutcome};
use cpa_core::template;

use crate::context::{CommandResult, Context, Failure, display};
use engine_choice::{Interaction, Selection};

/// Environment variable naming the server program; overrides the `engine`
/// setting (tests point it at a stand-in server).
pub const ENGINE_PROGRAM_ENV: &str = "CPA_TRAY_ENGINE_PROGRAM";

/// Environment variable that, set to `1`, passes `MANAGEMENT_PASSWORD` on to
/// the server instead of removing it.
pub const KEEP_ENV_PASSWORD_ENV: &str = "CPA_TRAY_KEEP_MANAGEMENT_PASSWORD";

/// Returns the context to use for a command that changes the running server
/// or its config, and the record of our running server.
///
/// Such a command acts on the config file the running server was started
/// with, so a password set without `--config` reaches that server. An explicit
/// `--config` naming another file is refused: writing it would not change
/// what the running server uses.
pub fn follow_running(ctx: &Context) -> Result<(Context, Option<EngineRecord>), Failure> {
    if let Err(err) = ctx.home.create_lock_dirs() {
        let detail = err.to_string();
        return Err(ctx.fail(Msg::HomeUnusable { detail: &detail }));
    }
    find_running(ctx)
}

/// Does what [`follow_running`] does but creates no folder, for the steps of
/// `start` before the password prompt, which a cancel must leave unchanged.
/// Without a `run` folder there is no record to follow. A home that cannot
/// be created is reported once `start` creates it.
pub fn follow_running_without_creating(
    ctx: &Context,
) -> Result<(Context, Option<EngineRecord>), Failure> {
    if !ctx.home.run_dir().is_dir() {
        return Ok((ctx.clone(), None));
    }
    find_running(ctx)
}

fn find_running(ctx: &Context) -> Result<(Context, Option<EngineRecord>), Failure> {
    let status = supervisor::status(&ctx.home).map_err(|err| {
        let detail = err.to_string();
        ctx.fail(Msg::RecordUnreadable { detail: &detail })
    })?;
    let Some(record) = status.running else {
        return Ok((ctx.clone(), None));
    };
    let given = ctx.home.config_path();
    if cpa_core::supervisor::record::canonical_or_same(given)
        == cpa_core::supervisor::record::canonical_or_same(&record.config)
    {
        return Ok((ctx.clone(), Some(record)));
    }
    if ctx.config_explicit {
        return Err(ctx.fail(Msg::ConfigDiffersFromRunning {
            pid: record.pid,
            running: &display(&record.config),
            given: &display(given),
        }));
    }
    let mut followed = ctx.clone();
    followed.home = ctx.home.with_config(&record.config);
    Ok((followed, Some(record)))
}

/// Fails when the config file does not exist. Only `start` creates one.
pub fn require_config(ctx: &Context) -> Result<(), Failure> {
    let path = ctx.home.config_path();
    if path.exists() {
        return Ok(());
    }
    Err(ctx.fail(Msg::ConfigMissing {
        path: &display(path),
        explicit: ctx.config_explicit,
    }))
}

/// Creates the home folder and, when missing, the config file from the
/// template; then loads the config.
///
/// A missing file named with `--config` is an error rather than a new file,
/// so a mistyped path does not silently start a second configuration.
pub fn prepare_config(ctx: &Context) -> Result<ConfigDocument, Failure> {
    if let Err(err) = ctx.home.create_lock_dirs() {
        let detail = err.to_string();
        return Err(ctx.fail(Msg::HomeUnusable { detail: &detail }));
    }
    if ctx.config_explicit {
        require_config(ctx)?;
    }
    let path = ctx.home.config_path();
    match template::create_config(path) {
        Ok(true) => ctx.say(Msg::ConfigCreated {
            path: &display(path),
        }),
        Ok(false) => {}
        Err(err) => {
            let detail = err.to_string();
            return Err(ctx.fail(Msg::ConfigCreateFailed {
                path: &display(path),
                detail: &detail,
            }));
        }
    }
    load_config(ctx)
}

/// Loads the config file, which must exist.
pub fn load_config(ctx: &Context) -> Result<ConfigDocument, Failure> {
    cpa_config::load(ctx.home.config_path()).map_err(|err| {
        // A file this user may not read needs a permission, not an edit.
        if let Some(source) = &err.source
            && source.kind() == std::io::ErrorKind::PermissionDenied
        {
            let detail = source.to_string();
            return ctx.fail(Msg::ConfigUnreadable {
                path: &ctx.config_display(),
                detail: &detail,
            });
        }
        let detail = cpa_core::messages::config_error_text(&err, ctx.lang);
        ctx.fail(Msg::ConfigUnusable { detail: &detail })
    })
}

pub fn view(ctx: &Context, doc: &ConfigDocument) -> Result<ServerView, Failure> {
    doc.view().map_err(|err| {
        let detail = cpa_core::messages::config_error_text(&err, ctx.lang);
        ctx.fail(Msg::ConfigUnusable { detail: &detail })
    })
}

/// Reads where the server will listen. A missing or zero port is an error,
/// because the server would then listen on a random port that no probe finds.
pub fn server_address(ctx: &Context, view: &ServerView) -> Result<ServerAddress, Failure> {
    let path = ctx.config_display();
    let port = match view.port.value {
        None | Some(0) => return Err(ctx.fail(Msg::PortNotSet { path: &path })),
        Some(port) => {
            u16::try_from(port).map_err(|_| ctx.fail(Msg::PortInvalid { path: &path, port }))?
        }
    };
    Ok(ServerAddress {
        host: view.host.value.clone().unwrap_or_default(),
        port,
        tls: view.tls_enable.value.unwrap_or(false),
    })
}

/// Returns whether `MANAGEMENT_PASSWORD` is passed on to the server.
pub fn keep_env_password() -> bool {
    std::env::var(KEEP_ENV_PASSWORD_ENV).is_ok_and(|value| value == "1")
}

/// Returns whether the server will see a non-empty `MANAGEMENT_PASSWORD`.
pub fn env_password_active() -> bool {
    keep_env_password()
        && std::env::var(supervisor::MANAGEMENT_PASSWORD_ENV)
            .is_ok_and(|value| !value.trim().is_empty())
}

/// Checks that the config file can be written, before any prompt.
pub fn ensure_writable(ctx: &Context) -> Result<(), Failure> {
    cpa_config::check_writable(ctx.home.config_path()).map_err(|err| {
        // The OS error gives the cause, and the message adds its own hint.
        let detail = match &err.source {
            Some(source) => source.to_string(),
            None => err.message.clone(),
        };
        ctx.fail(Msg::ConfigNotWritable {
            path: &ctx.config_display(),
            detail: &detail,
        })
    })
}

/// Hashes `password` (bcrypt, cost 10, `$2a$`) and writes the hash as the
/// management key. The plaintext never reaches the file.
pub fn store_password(ctx: &Context, password: &str) -> Result<(), Failure> {
    let hash = cpa_config::secret::hash_password(password).map_err(|err| {
        let detail = err.to_string();
        ctx.fail(Msg::PasswordWriteFailed { detail: &detail })
    })?;
    cpa_config::update(ctx.home.config_path(), |doc| doc.with_secret_key(&hash)).map_err(
        |err| {
            let detail = cpa_core::messages::config_error_text(&err, ctx.lang);
            ctx.fail(Msg::PasswordWriteFailed { detail: &detail })
        },
    )?;
    ctx.say(Msg::PasswordSaved {
        path: &ctx.config_display(),
    });
    Ok(())
}

/// Chooses the server program without asking: the tray, and anything else
/// that must not wait for terminal input. See [`select_engine_for_start`].
pub fn select_engine(ctx: &Context, flag: Option<&str>) -> Result<Engine, Failure> {
    choose_engine(ctx, flag, Interaction::Never)?.commit(ctx)
}

/// Chooses the server program of `cpa-tray start`, asking on a terminal at
/// a first start unless the password comes from standard input. The caller
/// commits the selection once the password is written.
pub fn select_engine_for_start(
    ctx: &Context,
    flag: Option<&str>,
    password_stdin: bool,
) -> Result<Selection, Failure> {
    choose_engine(ctx, flag, Interaction::for_start(password_stdin))
}

/// Chooses the server program: `--engine`, then `CPA_TRAY_ENGINE_PROGRAM`,
/// then the `engine` setting, then the active installed CLIProxyAPI release
/// (an install of the original tray records only `version`), then the
/// first-start choice ([`engine_choice::choose`]).
///
/// An engine value is `builtin`, `official` (the installed release: the
/// recorded version, else the newest; `cliproxyapi` is the earlier
/// spelling) or the path of a compatible binary. A keyword given with
/// `--engine` is stored as the `engine` setting when it differs from it, so
/// `restart --engine official` switches for good; a path is not stored,
/// because it is often a one-off (a test build, a debug binary). Only
/// `--engine official` downloads a release when none is installed; the
/// `cliproxyapi` spelling and the setting never download.
fn choose_engine(
    ctx: &Context,
    flag: Option<&str>,
    interaction: Interaction,
) -> Result<Selection, Failure> {
    if let Some(value) = flag {
        let engine = match value.trim() {
            EngineSetting::OFFICIAL => engine_choice::official_or_install(ctx)?,
            other => engine_for_value(ctx, other, "--engine")?,
        };
        let chosen = EngineSetting::parse(value);
        let current = ctx.settings.engine().map(EngineSetting::parse);
        if !matches!(chosen, EngineSetting::Path(_)) && current.as_ref() != Some(&chosen) {
            return Ok(Selection::to_record(engine, chosen));
        }
        return Ok(Selection::settled(engine));
    }
    let env = std::env::var(ENGINE_PROGRAM_ENV)
        .ok()
        .filter(|value| !value.is_empty());
    if let Some(value) = env.as_deref() {
        return engine_for_value(ctx, value, ENGINE_PROGRAM_ENV).map(Selection::settled);
    }
    if let Some(value) = ctx.settings.engine() {
        return engine_for_value(ctx, value, "the `engine` setting in settings.json")
            .map(Selection::settled);
    }
    match installed_release(ctx) {
        Some(engine) => Ok(Selection::settled(engine)),
        None => engine_choice::choose(ctx, interaction),
    }
}

/// Resolves an engine value that must not download anything; `origin`
/// names where the value came from, for the error.
fn engine_for_value(ctx: &Context, value: &str, origin: &str) -> Result<Engine, Failure> {
    match EngineSetting::parse(value) {
        EngineSetting::Builtin => builtin_engine(ctx),
        EngineSetting::Official => installed_release(ctx).ok_or_else(|| {
            ctx.fail(Msg::NoReleaseInstalled {
                path: &display(&ctx.home.versions_dir()),
            })
        }),
        EngineSetting::Path(path) => external_engine_from(ctx, &path, origin),
    }
}

/// Returns the installed CLIProxyAPI release under `versions/`: the one the
/// `version` setting records, else the newest.
fn installed_release(ctx: &Context) -> Option<Engine> {
    let store = VersionStore::new(ctx.home.versions_dir()).ok()?;
    let active = store.resolve_active(ctx.settings.version()).ok()??;
    Some(Engine {
        program: active.installed.binary,
        leading_args: Vec::new(),
        kind: EngineKind::External,
        version: active.installed.tag,
    })
}

fn builtin_engine(ctx: &Context) -> Result<Engine, Failure> {
    let program = std::env::current_exe().map_err(|err| {
        let detail = err.to_string();
        ctx.fail(Msg::StartFailed { detail: &detail })
    })?;
    Ok(Engine {
        program,
        leading_args: vec![crate::ENGINE_SUBCOMMAND.into()],
        kind: EngineKind::Builtin,
        version: env!("CARGO_PKG_VERSION").to_string(),
    })
}

fn external_engine(ctx: &Context, path: &Path) -> Result<Engine, Failure> {
    external_engine_from(ctx, path, "the `engine` setting or CPA_TRAY_ENGINE_PROGRAM")
}

fn external_engine_from(ctx: &Context, path: &Path, origin: &str) -> Result<Engine, Failure> {
    // A bare word that names no file is a mistyped engine name more likely
    // than a program in the current folder.
    let bare_word = path.components().count() == 1 && !path.exists();
    if bare_word {
        return Err(ctx.fail(Msg::EngineUnknown {
            value: &path.to_string_lossy(),
        }));
    }
    let program = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    if program.is_dir() {
        return Err(ctx.fail(Msg::EngineIsFolder {
            path: &display(&program),
            origin,
        }));
    }
    if !program.is_file() {
        return Err(ctx.fail(Msg::EngineNotFound {
            path: &display(&program),
            origin,
        }));
    }
    Ok(Engine {
        version: version_from_path(ctx, &program),
        program,
        leading_args: Vec::new(),
        kind: EngineKind::External,
    })
}

/// Returns the release tag of a binary installed as `<home>/versions/<tag>/...`,
/// else `unknown`.
fn version_from_path(ctx: &Context, program: &Path) -> String {
    let versions = ctx.home.versions_dir();
    program
        .strip_prefix(&versions)
        .ok()
        .and_then(|rest| rest.components().next())
        .map(|tag| tag.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_else(|| supervisor::UNKNOWN_VERSION.to_string())
}

/// Returns the engine a recorded server ran, so a restart keeps engine and version.
///
/// The program is the one started, as named: a wrapper script or a symlink
/// whose target changed runs again as the user set it up. Only a record
/// written before the tray stored that path falls back to the executable.
pub fn engine_from_record(record: &EngineRecord) -> Engine {
    let builtin = record.engine == EngineKind::Builtin.as_str();
    Engine {
        program: record.program_to_run(),
        leading_args: if builtin {
            vec![crate::ENGINE_SUBCOMMAND.into()]
        } else {
            Vec::new()
        },
        kind: if builtin {
            EngineKind::Builtin
        } else {
            EngineKind::External
        },
        // A version the server printed is read again from the new run: the
        // binary at the same path may have been replaced meanwhile.
        version: if record.version_printed {
            supervisor::UNKNOWN_VERSION.to_string()
        } else {
            record.version.clone()
        },
    }
}

/// Fails, before anything is stopped, when a restart could not run the
/// program again: it is gone, not a file or not executable, or an older
/// record names only an interpreter. The running server then stays up.
pub fn check_relaunchable(ctx: &Context, engine: &Engine, record: &EngineRecord) -> CommandResult {
    if record.program.is_none()
        && engine.kind == EngineKind::External
        && !looks_like_the_server(ctx, &record.exe)
    {
        return Err(ctx.fail(Msg::RelaunchProgramUnrecorded {
            exe: &display(&record.exe),
            pid: record.pid,
        }));
    }
    if is_runnable(&engine.program) {
        return Ok(());
    }
    Err(ctx.fail(Msg::RelaunchProgramMissing {
        program: &display(&engine.program),
        pid: record.pid,
    }))
}

/// Returns whether `path` is a file this user may run (on Unix: any
/// execute bit, which is what counts for root as well).
fn is_runnable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// Returns whether `exe` is the server program itself rather than the
/// interpreter of a wrapper script. Records written before the spawned path
/// was kept name only `exe`. It passes when it is an installed release under
/// `versions/` or is named like CLIProxyAPI's binary.
fn looks_like_the_server(ctx: &Context, exe: &Path) -> bool {
    if exe.starts_with(ctx.home.versions_dir()) {
        return true;
    }
    exe.file_name()
        .map(|name| name.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|name| name.contains("cli-proxy-api") || name.contains("cliproxyapi"))
}

/// Stops the recorded server if it is ours; prints what happened to a
/// previous instance only when one was stopped.
pub fn stop_previous(ctx: &Context) -> Result<(), Failure> {
    match supervisor::stop(&ctx.home, supervisor::DEFAULT_STOP_TIMEOUT) {
        Ok(StopOutcome::Stopped { pid, method }) => {
            ctx.say(match method {
                supervisor::StopMethod::Graceful
                | supervisor::StopMethod::GracefulWhileSuspended => Msg::StoppedPrevious { pid },
                supervisor::StopMethod::KilledAfterTimeout => Msg::StoppedPreviousForced {
                    pid,
                    seconds: supervisor::DEFAULT_STOP_TIMEOUT.as_secs(),
                },
                supervisor::StopMethod::KilledUndelivered => Msg::StoppedKilled { pid },
            });
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(err) => {
            let detail = err.to_string();
            Err(ctx.fail(Msg::StopFailed { detail: &detail }))
        }
    }
}

/// Starts the server and reports the outcome; returns the started child.
pub fn start_server(
    ctx: &Context,
    engine: &Engine,
    address: &ServerAddress,
    ready_timeout: Duration,
) -> Result<supervisor::Started, Failure> {
    let options = supervisor::StartOptions {
        ready_timeout,
        keep_management_password_env: keep_env_password(),
    };
    // Said once per command, not again for each automatic restart.
    static ENV_PASSWORD_NOTICE: std::sync::Once = std::sync::Once::new();
    ENV_PASSWORD_NOTICE.call_once(|| {
        if env_password_active() {
            ctx.warn(Msg::EnvPasswordKept);
        } else if !keep_env_password()
            && std::env::var_os(supervisor::MANAGEMENT_PASSWORD_ENV).is_some_and(|v| !v.is_empty())
        {
            ctx.warn(Msg::EnvPasswordRemoved);
        }
    });
    let started = supervisor::start(&ctx.home, engine, address, &options)
        .map_err(|err| start_failure(ctx, err))?;
    let page = started.record.webui_page_path();
    let Some(elapsed) = started.ready_after else {
        // Nothing serves the addresses yet; the caller names status, logs
        // and stop instead.
        ctx.warn(Msg::StartedNotReady {
            port: address.port,
            log: &display(&ctx.home.engine_log_path()),
        });
        let lines =
            cpa_core::messages::server_check_lines(&started.record.config, &page, None, ctx.lang);
        for line in lines {
            crate::context::eprint_line(&line);
        }
        return Ok(started);
    };
    ctx.say(Msg::StartedServer {
        pid: started.record.pid,
        port: address.port,
        engine: engine.kind.as_str(),
        // The record's version, which a binary of unknown version printed.
        version: &started.record.version,
        millis: elapsed.as_millis(),
    });
    let base = address.local_url();
    ctx.say(Msg::WebUiAt {
        url: &format!("{base}/management.html"),
    });
    ctx.say(Msg::ManagementApiAt {
        url: &format!("{base}/v0/management"),
    });
    let checks = supervisor::checks::check(address.probe(), address.tls);
    let lines =
        cpa_core::messages::server_check_lines(&started.record.config, &page, checks, ctx.lang);
    for line in lines {
        crate::context::eprint_line(&line);
    }
    Ok(started)
}

/// Fails when another program listens on the server's port or the port
/// cannot be bound, with the same messages as a start that finds it taken.
pub fn check_port_free(ctx: &Context, address: &ServerAddress) -> CommandResult {
    let problem = match supervisor::port::check_free(&address.host, address.port) {
        Ok(()) => return Ok(()),
        Err(problem) => problem,
    };
    let err = match problem {
        supervisor::PortProblem::InUse { owner } => supervisor::StartError::PortInUse {
            port: address.port,
            owner,
        },
        supervisor::PortProblem::Unavailable { reason } => {
            supervisor::StartError::PortUnavailable {
                port: address.port,
                reason,
            }
        }
    };
    Err(start_failure(ctx, err))
}

fn start_failure(ctx: &Context, err: supervisor::StartError) -> Failure {
    Failure {
        lines: cpa_core::messages::start_error_lines(err, ctx.home.config_path(), ctx.lang),
        exit_code: 1,
    }
}

/// Takes the home folder's lock for a command that changes the server or
/// its config; the lock is released when the returned file is dropped.
pub fn lock_home(ctx: &Context) -> Result<std::fs::File, Failure> {
    if let Err(err) = ctx.home.create_lock_dirs() {
        let detail = err.to_string();
        return Err(ctx.fail(Msg::HomeUnusable { detail: &detail }));
    }
    ctx.home
        .lock_or_wait(|pid| ctx.warn(Msg::WaitingForLock { pid }))
        .map_err(|err| {
            let detail = err.to_string();
            ctx.fail(Msg::LockFailed { detail: &detail })
        })
}

/// Converts a number of seconds from the command line to a duration.
pub fn seconds(value: f64) -> Duration {
    Duration::try_from_secs_f64(value.max(0.0)).unwrap_or(Duration::MAX)
}
