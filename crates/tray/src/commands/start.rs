//! `cpa-tray start` and `cpa-tray restart`.
//!
//! Order: our server already runs? (`start` says so and stops there) →
//! which engine, on a terminal (a first start may ask, and may download a
//! release; without a terminal, and for `--engine builtin`, the engine is
//! chosen after the password) → management key set? otherwise check the
//! file is writable and ask for a password, without holding the home lock →
//! take the lock and read the state again → check the address and the port
//! → choose the engine if not done yet → create config.yaml from the template
//! when missing (only `start` without `--config` does) and write the
//! password's hash → stop our previous server → start → wait until it
//! responds → print where the WebUI and the management API are → optionally
//! open the WebUI. A failure at any step leaves nothing half done: nothing
//! is written before a password passed the rules (except a release the
//! first-start answer downloads; the answer itself is stored after the
//! password), and a server that exits during start-up leaves no record.

use std::time::{Duration, Instant};

use cpa_core::desktop;
use cpa_core::messages::Msg;
use cpa_core::password;
use cpa_core::releases::EngineSetting;
use cpa_core::supervisor::{self, Engine, ServerAddress, logfile};

use super::engine_choice::Selection;
use super::{
    ensure_writable, env_password_active, follow_running, load_config, prepare_config,
    require_config, server_address, start_server, stop_previous, store_password, view,
};
use crate::cli::StartArgs;
use crate::context::{CommandResult, Context, Failure, display};
use crate::prompt;

/// Restarts after a crash wait 1, 2, 4, 8 and 16 s, then give up.
const MAX_AUTO_RESTARTS: u32 = 5;

/// Exit status of a `start` whose server runs but did not respond before
/// `--ready-timeout`; the server is left running and recorded.
pub const NOT_READY_EXIT_CODE: u8 = 3;

/// A server that ran this long before exiting resets the restart counter.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

/// Environment variable with the seconds between two log size checks of a
/// foreground run (default 60; tests use a fraction of a second).
pub const LOG_CHECK_SECONDS_ENV: &str = "CPA_TRAY_LOG_CHECK_SECONDS";

/// Runs `start`, or `restart` when `restart` is set: a restart keeps the
/// engine and version of the running server unless `--engine` is given.
pub fn run(ctx: &Context, args: &StartArgs, restart: bool) -> CommandResult {
    let (followed, running) = super::follow_running_without_creating(ctx)?;
    let ctx = &followed;
    if !restart && let Some(record) = &running {
        ctx.say(Msg::AlreadyRunning {
            pid: record.pid,
            port: record.port,
        });
        return Ok(());
    }
    // `start` creates a missing config from the template, but only once a
    // password was accepted, so a cancelled start writes nothing. `restart`
    // never creates one.
    if restart || ctx.config_explicit {
        require_config(ctx)?;
    }
    let secret_empty = if ctx.home.config_path().exists() {
        let doc = load_config(ctx)?;
        view(ctx, &doc)?.secret().is_empty()
    } else {
        true
    };
    // On a terminal the engine is chosen before the password is asked for,
    // so declining the first-start question (or its download failing) writes
    // nothing, and the question and its download run without the home lock.
    // Without a terminal nothing is asked, and the choice waits until the
    // password passed, so a cancelled start prints only the cancel message.
    // `--engine builtin` (or `cliproxyapi`) needs no prompt and no download,
    // but is stored as the `engine` setting, so it is resolved
    // only once the password was accepted. A path is never stored, and
    // `--engine official` may download a release, so both are resolved first.
    let recorded_later = args.engine.as_deref().is_some_and(|value| {
        value.trim() != EngineSetting::OFFICIAL
            && !matches!(EngineSetting::parse(value), EngineSetting::Path(_))
    });
    let choose_first = !recorded_later
        && super::engine_choice::Interaction::for_start(args.password_stdin).can_prompt();
    let early_engine = match &running {
        Some(record) if restart && args.engine.is_none() => {
            Some(Selection::settled(super::engine_from_record(record)))
        }
        _ if choose_first => Some(super::select_engine_for_start(
            ctx,
            args.engine.as_deref(),
            args.password_stdin,
        )?),
        _ => None,
    };
    let mut password = None;
    if secret_empty && !env_password_active() {
        if ctx.home.config_path().exists() {
            ensure_writable(ctx)?;
        }
        password = Some(prompt::read_new_password(
            ctx,
            args.password_stdin,
            Msg::PasswordNotSetStartCancelled,
        )?);
    }

    // The prompt ran without the lock, so the state is read again under it.
    let lock = super::lock_home(ctx)?;
    let (followed, running) = follow_running(ctx)?;
    let ctx = &followed;
    if !restart && let Some(record) = &running {
        ctx.say(Msg::AlreadyRunning {
            pid: record.pid,
            port: record.port,
        });
        return Ok(());
    }
    // Every check that can fail runs before anything is written, so a bad
    // port, a broken stored key or an engine that is not found leaves no new
    // config file and no stored password behind.
    let existing = match ctx.home.config_path().exists() {
        true => Some(view(ctx, &load_config(ctx)?)?),
        false => None,
    };
    if let Some(existing) = &existing {
        if password.is_some() && !existing.secret().is_empty() {
            // Starting would run the server with a key the user did not
            // type; saying so and stopping keeps both passwords knowable.
            let path = ctx.config_display();
            return Err(ctx.fail(Msg::PasswordSetMeanwhile { path: &path }));
        }
        // With a password to store, the stored key is empty here, so only
        // the client API keys are checked. The new hash needs no check.
        check_stored_key(ctx, existing)?;
    }
    let address = match &existing {
        Some(existing) => server_address(ctx, existing)?,
        None => template_address(ctx)?,
    };
    if running.is_none() {
        super::check_port_free(ctx, &address)?;
    }
    let selection = match early_engine {
        Some(selection) => selection,
        None => super::select_engine_for_start(ctx, args.engine.as_deref(), args.password_stdin)?,
    };
    prepare_config(ctx)?;
    if let Some(password) = password {
        ensure_writable(ctx)?;
        store_password(ctx, &password)?;
    }
    // The engine choice is stored only now, so a cancelled password prompt
    // or a failed check leaves settings.json as it was.
    let engine = selection.commit(ctx)?;
    if let Some(record) = &running {
        super::check_relaunchable(ctx, &engine, record)?;
    }
    stop_previous(ctx)?;

    let ready_timeout = super::seconds(args.ready_timeout);
    let started = start_server(ctx, &engine, &address, ready_timeout)?;
    let ready = started.ready_after.is_some();
    if ready && !args.no_open && ctx.settings.auto_open_webui() && desktop::has_display() {
        let url = format!("{}/management.html", address.local_url());
        if let Err(err) = desktop::open_url(&url) {
            let detail = err.to_string();
            ctx.warn(Msg::OpenWebUiFailed { detail: &detail });
        }
    }
    // A foreground run lasts until the server exits; other commands, such as
    // `stop` from another terminal, must not wait for it.
    drop(lock);
    if args.foreground {
        return supervise(ctx, started, &engine, &address, ready_timeout);
    }
    if started.ready_after.is_none() {
        return Err(Failure {
            lines: vec![ctx.text(Msg::StartedNotReadyStillRunning {
                pid: started.record.pid,
            })],
            exit_code: NOT_READY_EXIT_CODE,
        });
    }
    Ok(())
}

/// Returns the address of the built-in template, which `start` is about to
/// write as the config file.
fn template_address(ctx: &Context) -> Result<ServerAddress, Failure> {
    let template = cpa_core::template::render("");
    let path = ctx.home.config_path();
    let doc = cpa_config::ConfigDocument::parse(template.into_bytes(), path).map_err(|err| {
        let detail = err.to_string();
        ctx.fail(Msg::ConfigUnusable { detail: &detail })
    })?;
    server_address(ctx, &view(ctx, &doc)?)
}

/// Warns about a stored management key that no password can match, and
/// fails for a key the server cannot load at all (over 72 bytes). Upstream's
/// example client API keys are reported after the start (see
/// [`super::start_server`]).
fn check_stored_key(ctx: &Context, view: &cpa_config::ServerView) -> CommandResult {
    let path = ctx.config_display();
    if let Some(problem) = password::stored_key_problem(view.secret()) {
        let msg = Msg::StoredKeyUnusable {
            path: &path,
            problem,
        };
        if matches!(problem, password::StoredKeyProblem::TooLong { .. }) {
            return Err(ctx.fail(msg));
        }
        ctx.warn(msg);
    }
    Ok(())
}

/// Stays attached to the server: reports its exit at once (the wait is
/// event-driven, no polling), forwards Ctrl+C to it, and restarts it with
/// backoff when the `autoRestart` setting is on.
fn supervise(
    ctx: &Context,
    mut started: supervisor::Started,
    engine: &Engine,
    address: &ServerAddress,
    ready_timeout: Duration,
) -> CommandResult {
    let _rotation = watch_log_size(ctx);
    let mut restarts = 0u32;
    loop {
        supervisor::forward_interrupts(started.child.id());
        ctx.say(Msg::ForegroundWaiting);
        let since = Instant::now();
        let log_path = ctx.home.engine_log_path();
        let log_offset = std::fs::metadata(&log_path).map(|m| m.len()).unwrap_or(0);
        let status = supervisor::wait_for_exit(&ctx.home, &mut started.child).map_err(|err| {
            let detail = err.to_string();
            ctx.fail(Msg::StopFailed { detail: &detail })
        })?;
        if supervisor::interrupt_received()
            || supervisor::stop_was_requested(&ctx.home, started.child.id())
        {
            ctx.say(Msg::Stopped {
                pid: started.child.id(),
            });
            return Ok(());
        }

        let status_text = cpa_core::messages::exit_status_text(status, ctx.lang);
        let mut lines = vec![ctx.text(Msg::ServerExited {
            status: &status_text,
            log: &display(&log_path),
        })];
        let output = logfile::read_since(&log_path, log_offset);
        if output.trim().is_empty() {
            lines = vec![ctx.text(Msg::ServerExitedNoOutput {
                status: &status_text,
                log: &display(&log_path),
            })];
        }
        lines.extend(
            logfile::last_lines(&output, supervisor::LOG_TAIL_LINES)
                .into_iter()
                .map(|line| format!("  {line}")),
        );
        if !ctx.settings.auto_restart() {
            return Err(Failure {
                lines,
                exit_code: 1,
            });
        }
        for line in &lines {
            crate::context::eprint_line(line);
        }
        if since.elapsed() >= HEALTHY_RUN {
            restarts = 0;
        }
        if restarts >= MAX_AUTO_RESTARTS {
            return Err(ctx.fail(Msg::AutoRestartGaveUp { attempts: restarts }));
        }
        restarts += 1;
        let delay = 1u64 << (restarts - 1);
        ctx.warn(Msg::AutoRestarting {
            seconds: delay,
            attempt: restarts,
        });
        // `stop` may cancel the restart while this waits; it does so under
        // the home lock, so the check under the lock below is final.
        let waited = supervisor::wait_to_restart(&ctx.home, Duration::from_secs(delay));
        if supervisor::interrupt_received() {
            ctx.say(Msg::ForegroundRestartInterrupted);
            return Ok(());
        }
        let lock = super::lock_home(ctx)?;
        if !waited || supervisor::restart_cancelled(&ctx.home) {
            ctx.say(Msg::ForegroundRestartCancelled);
            return Ok(());
        }
        supervisor::finish_restart(&ctx.home);
        started = start_server(ctx, engine, address, ready_timeout)?;
        drop(lock);
    }
}

/// Starts the log size checks for a foreground run; they end when the
/// returned watch is dropped. A failure to start them is reported and the
/// run goes on without them.
fn watch_log_size(ctx: &Context) -> Option<logfile::RotationWatch> {
    let interval = std::env::var(LOG_CHECK_SECONDS_ENV)
        .ok()
        .and_then(|text| text.trim().parse::<f64>().ok())
        .filter(|seconds| *seconds > 0.0)
        .map(super::seconds)
        .unwrap_or(logfile::ROTATE_CHECK_INTERVAL);
    let lang = ctx.lang;
    let watch = logfile::RotationWatch::spawn(
        ctx.home.engine_log_path(),
        logfile::ROTATE_BYTES,
        interval,
        move |err| {
            let detail = err.to_string();
            crate::context::eprint_line(&Msg::LogRotationFailed { detail: &detail }.text(lang));
        },
    );
    match watch {
        Ok(watch) => Some(watch),
        Err(err) => {
            let detail = err.to_string();
            ctx.warn(Msg::LogRotationFailed { detail: &detail });
            None
        }
    }
}
