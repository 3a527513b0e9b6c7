//! `cpa-tray status`: whether our server runs, from the pid file, the process
//! identity and one health probe.

use cpa_core::messages::Msg;
use cpa_core::supervisor;
use serde_json::json;

use crate::cli::StatusArgs;
use crate::context::{CommandResult, Context, display};

pub fn run(ctx: &Context, args: &StatusArgs) -> CommandResult {
    let status = supervisor::status(&ctx.home).map_err(|err| {
        let detail = err.to_string();
        ctx.fail(Msg::RecordUnreadable { detail: &detail })
    })?;
    // The config provides the port of a stopped server and the API keys. An
    // unreadable config is reported only when the keys were requested.
    let config = super::load_config(ctx).and_then(|doc| super::view(ctx, &doc));
    let api_keys = if args.show_api_key {
        Some(
            config
                .as_ref()
                .map_err(clone_failure)?
                .client_api_keys
                .value
                .clone()
                .unwrap_or_default(),
        )
    } else {
        None
    };

    let running = status.running.as_ref();
    let config_port = config
        .as_ref()
        .ok()
        .and_then(|view| view.port.value)
        .and_then(|port| u16::try_from(port).ok());
    let port = running.map(|record| record.port).or(config_port);

    if args.json {
        let mut object = json!({
            "running": running.is_some(),
            "serving": status.serving,
            "pid": running.map(|record| record.pid),
            "port": port,
            "engine": running.map(|record| record.engine.clone()),
            "version": running.map(|record| record.version.clone()),
            "home": display(ctx.home.root()),
            "config": running
                .map(|record| display(&record.config))
                .unwrap_or_else(|| ctx.config_display()),
            "log": display(&ctx.home.engine_log_path()),
        });
        if let Some(keys) = &api_keys {
            object["apiKeys"] = json!(keys);
        }
        crate::context::print_line(&object.to_string());
        return Ok(());
    }

    match running {
        Some(record) => {
            ctx.say(Msg::StatusRunning {
                pid: record.pid,
                port: record.port,
                engine: &record.engine,
                version: &record.version,
            });
            if !status.serving {
                ctx.say(Msg::StatusNotServing);
            }
        }
        None => {
            ctx.say(Msg::StatusNotRunning);
            // A record whose process is gone means the server stopped
            // without `cpa-tray stop`: a crash, a kill or a reboot.
            if let Some(stale) = &status.stale
                && cpa_core::supervisor::process::inspect(stale.pid).is_none()
            {
                ctx.say(Msg::StatusExited { pid: stale.pid });
            }
        }
    }
    ctx.say(Msg::StatusHome {
        path: &display(ctx.home.root()),
    });
    ctx.say(Msg::StatusConfig {
        path: &running
            .map(|record| display(&record.config))
            .unwrap_or_else(|| ctx.config_display()),
    });
    ctx.say(Msg::StatusLog {
        path: &display(&ctx.home.engine_log_path()),
    });
    if let Some(keys) = &api_keys {
        if keys.is_empty() {
            ctx.say(Msg::StatusNoApiKey);
        }
        for key in keys {
            ctx.say(Msg::StatusApiKey { key });
        }
    }
    Ok(())
}

fn clone_failure(failure: &crate::context::Failure) -> crate::context::Failure {
    crate::context::Failure {
        lines: failure.lines.clone(),
        exit_code: failure.exit_code,
    }
}
