//! `cpa-tray remote enable|disable`: the `allow-remote` setting.

use cpa_core::messages::Msg;
use cpa_core::password_check::REMOTE_MIN_BYTES;

use super::{ensure_writable, follow_running, load_config, require_config, server_address, view};
use crate::cli::RemoteEnableArgs;
use crate::context::{CommandResult, Context};
use crate::prompt;

pub fn enable(ctx: &Context, args: &RemoteEnableArgs) -> CommandResult {
    // The setting goes to the config file of the running server, if any.
    let (followed, _) = follow_running(ctx)?;
    let ctx = &followed;
    require_config(ctx)?;
    let doc = load_config(ctx)?;
    let view = view(ctx, &doc)?;
    let path = ctx.config_display();
    if view.secret().is_empty() {
        return Err(ctx.fail(Msg::RemoteNeedsLongKey));
    }
    // The stored key is a hash, so its length is known only from the
    // password itself: ask for it once and check both.
    let Some(password) = prompt::read_existing_password(ctx, args.password_stdin)? else {
        return Err(ctx.fail(Msg::PromptCancelled));
    };
    if !cpa_config::secret::verify_password(&password, view.secret()) {
        return Err(ctx.fail(Msg::PasswordDoesNotMatch { path: &path }));
    }
    if password.len() < REMOTE_MIN_BYTES {
        return Err(ctx.fail(Msg::RemoteNeedsLongKey));
    }
    // The prompt ran without the lock; the file is re-read by the writer.
    let _lock = super::lock_home(ctx)?;
    ensure_writable(ctx)?;
    write_allow_remote(ctx, true)?;
    ctx.say(Msg::RemoteEnabled { path: &path });
    if let Ok(address) = server_address(ctx, &view) {
        if is_loopback_host(&address.host) {
            ctx.warn(Msg::RemoteLocalHostOnly {
                host: &address.host,
                path: &path,
            });
        } else {
            ctx.warn(Msg::RemoteWarning { port: address.port });
        }
    }
    Ok(())
}

pub fn disable(ctx: &Context) -> CommandResult {
    let _lock = super::lock_home(ctx)?;
    let (followed, _) = follow_running(ctx)?;
    let ctx = &followed;
    require_config(ctx)?;
    load_config(ctx)?;
    ensure_writable(ctx)?;
    write_allow_remote(ctx, false)?;
    ctx.say(Msg::RemoteDisabled {
        path: &ctx.config_display(),
    });
    Ok(())
}

fn write_allow_remote(ctx: &Context, value: bool) -> CommandResult {
    cpa_config::update(ctx.home.config_path(), |doc| doc.with_allow_remote(value))
        .map(drop)
        .map_err(|err| {
            let detail = cpa_core::messages::config_error_text(&err, ctx.lang);
            ctx.fail(Msg::ConfigUnusable { detail: &detail })
        })
}

/// Returns whether `host` accepts connections from this computer only.
fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
