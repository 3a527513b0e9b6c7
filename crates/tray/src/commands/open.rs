//! `cpa-tray open webui|config|folder|logs`.

use std::path::PathBuf;

use cpa_core::desktop;
use cpa_core::messages::Msg;
use cpa_core::supervisor::{self, readiness};

use super::{load_config, server_address, view};
use crate::cli::{OpenArgs, OpenTarget};
use crate::context::{CommandResult, Context, display};

pub fn run(ctx: &Context, args: &OpenArgs) -> CommandResult {
    let target = match args.target {
        OpenTarget::Webui => webui_url(ctx)?,
        OpenTarget::Config => display(ctx.home.config_path()),
        OpenTarget::Folder => display(ctx.home.root()),
        OpenTarget::Logs => {
            let dir: PathBuf = ctx.home.logs_dir();
            // Creates the logs folder (0700 on Unix) so there is something to open.
            let _ = ctx.home.create_dirs();
            display(&dir)
        }
    };
    if !desktop::has_display() {
        ctx.say(Msg::NoDisplay { target: &target });
        return Ok(());
    }
    match desktop::open_url(&target) {
        Ok(()) => {
            ctx.say(Msg::Opened { target: &target });
            Ok(())
        }
        Err(err) => {
            let detail = err.to_string();
            Err(ctx.fail(Msg::OpenFailed {
                target: &target,
                detail: &detail,
            }))
        }
    }
}

/// Returns the WebUI address of the running server, or of the config when
/// the server runs without a record. Fails when nothing responds.
fn webui_url(ctx: &Context) -> Result<String, crate::context::Failure> {
    let doc = load_config(ctx)?;
    let address = server_address(ctx, &view(ctx, &doc)?)?;
    let status = supervisor::status(&ctx.home).ok();
    let serving = status.as_ref().is_some_and(|status| status.serving)
        || readiness::probe(address.probe(), address.tls);
    if !serving {
        return Err(ctx.fail(Msg::NotListening { port: address.port }));
    }
    Ok(format!("{}/management.html", address.local_url()))
}
