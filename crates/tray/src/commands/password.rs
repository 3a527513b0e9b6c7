//! `cpa-tray password set` and `cpa-tray password verify`.

use std::time::Duration;

use cpa_core::messages::Msg;
use cpa_core::supervisor::{self, ServerAddress, http};

use super::{
    engine_from_record, ensure_writable, env_password_active, follow_running, load_config,
    require_config, server_address, start_server, stop_previous, store_password, view,
};
use crate::cli::{PasswordSetArgs, PasswordVerifyArgs};
use crate::context::{CommandResult, Context, Failure};
use crate::prompt;

/// Time the one verification request may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

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
    let remote = view(ctx, &load_config(ctx)?)?
        .allow_remote
        .value
        .unwrap_or(false);
    if remote && password.len() < super::remote::REMOTE_MIN_PASSWORD {
        let path = ctx.config_display();
        return Err(ctx.fail(Msg::PasswordTooShortForRemote {
            path: &path,
            min: super::remote::REMOTE_MIN_PASSWORD,
        }));
    }
    store_password(ctx, &password)?;

    let Some(record) = running else {
        if args.restart {
            ctx.say(Msg::PasswordNotRunningNoRestart);
        }
        return Ok(());
    };
    if !args.restart {
        ctx.say(Msg::PasswordRestartHint);
        return Ok(());
    }

    // Restart with the same engine and version, and the config as it is now.
    let doc = load_config(ctx)?;
    let address = server_address(ctx, &view(ctx, &doc)?)?;
    let engine = engine_from_record(&record);
    super::check_relaunchable(ctx, &engine, &record)?;
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
    if address.tls {
        ctx.say(Msg::PasswordCheckSkippedTls);
        return Ok(());
    }
    let bearer = format!("Bearer {password}");
    let response = http::get(
        address.probe(),
        "/v0/management/config",
        &[("Authorization", bearer.as_str())],
        CHECK_TIMEOUT,
    );
    let response = match response {
        Ok(response) => response,
        Err(err) => {
            let detail = err.to_string();
            return Err(ctx.fail(Msg::PasswordCheckFailed { detail: &detail }));
        }
    };
    match response.status {
        200 => {
            ctx.say(Msg::PasswordActive);
            Ok(())
        }
        // The server sees MANAGEMENT_PASSWORD only when it was passed on;
        // otherwise the supervisor removed it, and it cannot explain a 401.
        401 => Err(ctx.fail(Msg::PasswordRejected {
            config: &ctx.config_display(),
            env_password: env_password_active(),
        })),
        403 if response.body.contains("banned") => Err(ctx.fail(Msg::ManagementBanned)),
        403 => Err(ctx.fail(Msg::ManagementForbidden {
            body: response.body.trim(),
        })),
        404 => Err(ctx.fail(Msg::ManagementDisabled)),
        other => {
            let detail = format!("HTTP {other}: {}", response.body.trim());
            Err(ctx.fail(Msg::PasswordCheckFailed { detail: &detail }))
        }
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
    let Some(password) = prompt::read_existing_password(ctx, args.password_stdin)? else {
        return Err(ctx.fail(Msg::PasswordDoesNotMatch { path: &path }));
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
