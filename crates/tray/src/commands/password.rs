//! `cpa-tray password set` and `cpa-tray password verify`.

use cpa_core::messages::Msg;
use cpa_core::password_check::REMOTE_MIN_BYTES;
use cpa_core::supervisor::{self, ServerAddress};

use super::{
    engine_from_record, ensure_writable, env_password_active, follow_running, load_config,
    require_config, server_address, start_server, stop_previous, store_password, view,
};
use crate::cli::{PasswordSetArgs, PasswordVerifyArgs};
use crate::context::{CommandResult, Context, Failure};
use crate::prompt;

pub fn set(ctx: &Context, args: &PasswordSetArgs) -> CommandResult {
    // The password goes to the config file of the running server, if any;
    // a missing file is an error here, only `start` creates one.
    let (followed, _) = follow_running(ctx)?;
    require_config(&followed)?;
    load_config(&followed)?;
    ensure_writable(&followed)?;
    let password =
        prompt::read_new_password(ctx, args.password_stdin, Msg::PasswordNotSetNothingChanged)?;

    // The prompt ran without the lock, so the state is read again under it.
    let _lock = super::lock_home(ctx)?;
    let (followed, running) = follow_running(ctx)?;
    let ctx = &followed;
    require_config(ctx)?;
    // Remote management exposes the key to guessing from the network, so a
    // short password is refused while it is on, as `remote enable` does.
    let current = view(ctx, &load_config(ctx)?)?;
    let remote = current.allow_remote.value.unwrap_or(false);
    if remote && password.len() < REMOTE_MIN_BYTES {
        let path = ctx.config_display();
        return Err(ctx.fail(Msg::PasswordTooShortForRemote {
            path: &path,
            min: REMOTE_MIN_BYTES,
        }));
    }
    // A restart that cannot happen (a bad port, a program gone) is reported
    // before the password is written, so a failure changes nothing.
    let restart = match &running {
        Some(record) if args.restart => {
            let address = server_address(ctx, &current)?;
            let engine = engine_from_record(record);
            super::check_relaunchable(ctx, &engine, record)?;
            Some((address, engine))
        }
        _ => None,
    };
    store_password(ctx, &password)?;

    if running.is_none() {
        if args.restart {
            ctx.say(Msg::PasswordNotRunningNoRestart);
        }
        return Ok(());
    }
    // Restart with the same engine and version, and the config as it is now.
    let Some((address, engine)) = restart else {
        ctx.say(Msg::PasswordRestartHint);
        return Ok(());
    };
    stop_previous(ctx)?;
    let started = start_server(ctx, &engine, &address, supervisor::DEFAULT_READY_TIMEOUT)?;
    if started.ready_after.is_none() {
        // Not responding yet: a request now would only fail and count against
        // the server's ban budget.
        return Ok(());
    }
    check_new_password(ctx, &address, &password)
}

/// Sends exactly one authenticated management request and explains the response.
///
/// Never retries: each failed attempt counts towards the server's ban of this
/// address (five failures ban it for 30 minutes, loopback included).
fn check_new_password(ctx: &Context, address: &ServerAddress, password: &str) -> CommandResult {
    let outcome = cpa_core::password_check::check_management_key(address, password);
    // The server sees MANAGEMENT_PASSWORD only when it was passed on;
    // otherwise the supervisor removed it, and it cannot explain a 401.
    let config = ctx.config_display();
    let message = outcome.message(&config, env_password_active());
    if outcome.is_ok() {
        ctx.say(message);
        Ok(())
    } else {
        Err(ctx.fail(message))
    }
}

pub fn verify(ctx: &Context, args: &PasswordVerifyArgs) -> CommandResult {
    let doc = super::load_config(ctx)?;
    let view = view(ctx, &doc)?;
    let path = ctx.config_display();
    let stored = view.secret();
    if stored.is_empty() {
        return Err(ctx.fail(Msg::PasswordNotConfigured { path: &path }));
    }
    // An empty entry (or Ctrl+D) cancels rather than counting as a wrong password.
    let Some(password) = prompt::read_existing_password(ctx, args.password_stdin)? else {
        return Err(ctx.fail(Msg::PromptCancelled));
    };
    if cpa_config::secret::verify_password(&password, stored) {
        ctx.say(Msg::PasswordMatches { path: &path });
        Ok(())
    } else {
        Err(Failure::new(
            ctx.text(Msg::PasswordDoesNotMatch { path: &path }),
        ))
    }
}
