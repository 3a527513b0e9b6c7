//! `cpa-tray stop`: stops only the server this tray started.

use cpa_core::messages::Msg;
use cpa_core::supervisor::{self, StopMethod, StopOutcome};

use crate::cli::StopArgs;
use crate::context::{CommandResult, Context};

pub fn run(ctx: &Context, args: &StopArgs) -> CommandResult {
    let timeout = super::seconds(args.timeout);
    let _lock = if ctx.home.run_dir().exists() {
        Some(super::lock_home(ctx)?)
    } else {
        None
    };
    match supervisor::stop(&ctx.home, timeout) {
        Ok(StopOutcome::Stopped { pid, method }) => match method {
            StopMethod::Graceful => ctx.say(Msg::Stopped { pid }),
            StopMethod::GracefulWhileSuspended => ctx.say(Msg::StoppedWhileSuspended { pid }),
            StopMethod::KilledAfterTimeout => ctx.say(Msg::StoppedForced {
                pid,
                seconds: timeout.as_secs(),
            }),
            StopMethod::KilledUndelivered => ctx.say(Msg::StoppedKilled { pid }),
        },
        // Nothing of ours runs in the arms below: a server still answering
        // on the port is another program's, which stop leaves alone and names.
        Ok(StopOutcome::NotRunning) => {
            if cancel_pending_restart(ctx)? {
                return Ok(());
            }
            ctx.say(Msg::NotRunning);
            super::status::say_foreign_port_owner(ctx);
        }
        Ok(StopOutcome::AlreadyExited { pid }) => {
            ctx.say(Msg::StaleRecordRemoved { pid });
            if cancel_pending_restart(ctx)? {
                return Ok(());
            }
            super::status::say_foreign_port_owner(ctx);
        }
        Ok(StopOutcome::PidReused { pid }) => {
            ctx.say(Msg::PidReusedLeftAlone { pid });
            super::status::say_foreign_port_owner(ctx);
        }
        Err(err) => {
            let detail = err.to_string();
            return Err(ctx.fail(Msg::StopFailed { detail: &detail }));
        }
    }
    Ok(())
}

/// Cancels the restart a foreground `start` waits to do after a crash, so
/// a stop during its backoff is not undone a moment later. Returns whether
/// there was one. Runs under the home lock, which that `start` takes before
/// it starts the server again.
fn cancel_pending_restart(ctx: &Context) -> Result<bool, crate::context::Failure> {
    match supervisor::cancel_pending_restart(&ctx.home) {
        Ok(Some(supervisor)) => {
            ctx.say(Msg::PendingRestartCancelled { supervisor });
            Ok(true)
        }
        Ok(None) => Ok(false),
        Err(err) => {
            let detail = err.to_string();
            Err(ctx.fail(Msg::StopFailed { detail: &detail }))
        }
    }
}
