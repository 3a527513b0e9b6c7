//! `cpa-tray status`: whether our server runs, from the pid file, the process
//! identity and one health probe.
//!
//! The states, as `--json` names them:
//! - `running`: our server responds to HTTP;
//! - `not_responding`: our server is alive but sends no HTTP response;
//! - `suspended`: our server is stopped by a signal (Linux only);
//! - `exited`: the record remains because the server ended without
//!   `cpa-tray stop` (a crash, a kill or a reboot). `exitedGroupRunning` is
//!   true while processes it started still run (the server under a wrapper
//!   script), and `stop` ends them;
//! - `port_in_use`: nothing of ours runs, but another process serves the
//!   configured port;
//! - `restart_pending`: nothing runs, and a foreground `start` waits to
//!   start the server again after a crash;
//! - `stopped`: none of the above.
//!
//! A running server is also asked whether it runs in safe mode and serves
//! its WebUI page (`safeMode`, `webui`: `served`, `missing` or `unknown`;
//! both `null` when it was not asked), see [`supervisor::checks`].
//!
//! The text output carries the same facts. `engine` is `builtin` or
//! `external`, and `engineChoice` distinguishes an installed release
//! (`official`) from another program (`path`).

use cpa_core::messages::Msg;
use cpa_core::supervisor::{self, PortOwner, logfile};
use serde_json::json;

use crate::cli::StatusArgs;
use crate::context::{CommandResult, Context, display};

/// Number of log lines shown after an unexpected exit.
const EXITED_LOG_LINES: usize = 10;

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
    let config_address = config
        .as_ref()
        .ok()
        .and_then(|view| super::server_address(ctx, view).ok());
    let port = running
        .map(|record| record.port)
        .or(config_address.as_ref().map(|address| address.port));
    let log_path = ctx.home.engine_log_path();
    // A server started without the tray or `--foreground` has no one else to
    // keep its log small. Best effort: status still reports on failure.
    if running.is_some() {
        let _ = logfile::rotate_if_larger(&log_path, logfile::ROTATE_BYTES);
    }

    // Without a server of ours, a listener on the configured port belongs
    // to another program, which the output names instead of a bare "not running".
    let foreign = match (running, &config_address) {
        (None, Some(address)) => supervisor::foreign_listener(&address.host, address.port),
        _ => None,
    };
    let log_tail = match &status.stale {
        Some(_) if running.is_none() => {
            logfile::last_lines(&logfile::read_since(&log_path, 0), EXITED_LOG_LINES)
        }
        _ => Vec::new(),
    };
    let pending = match running {
        None => supervisor::pending_restart(&ctx.home),
        Some(_) => None,
    };
    let pending_seconds = pending.map(|pending| pending.due_at.saturating_sub(unix_seconds()));
    let state = match (running, &status.stale, &foreign) {
        (None, _, _) if pending.is_some() => "restart_pending",
        (Some(_), _, _) if status.suspended => "suspended",
        (Some(_), _, _) if !status.serving => "not_responding",
        (Some(_), _, _) => "running",
        (None, Some(_), _) => "exited",
        (None, None, Some(_)) => "port_in_use",
        (None, None, None) => "stopped",
    };

    // Only a server that responds to HTTP is checked further.
    let checks = running
        .filter(|_| status.serving)
        .and_then(|record| Some((record, record.probe.parse().ok()?)))
        .and_then(|(record, addr)| supervisor::checks::check(addr, record.tls));

    if args.json {
        let owner = foreign.as_ref().and_then(Option::as_ref);
        let mut object = json!({
            "state": state,
            "running": running.is_some(),
            "serving": status.serving,
            "pid": running.map(|record| record.pid),
            "port": port,
            "engine": running.map(|record| record.engine.clone()),
            "engineChoice": running.map(engine_choice),
            "version": running.map(|record| record.version.clone()),
            "home": display(ctx.home.root()),
            "config": running
                .map(|record| display(&record.config))
                .unwrap_or_else(|| ctx.config_display()),
            "log": display(&log_path),
            "exitedPid": status.stale.as_ref().filter(|_| running.is_none()).map(|record| record.pid),
            "exitedGroupRunning": status.stale_group_alive,
            "logTail": log_tail,
            "portOwner": owner.map(|owner| json!({"pid": owner.pid, "name": owner.name})),
            "safeMode": checks.and_then(|checks| checks.safe_mode),
            "webui": checks.map(|checks| checks.webui.as_str()),
            "restartPending": pending.map(|pending| json!({
                "supervisorPid": pending.supervisor_pid,
                "inSeconds": pending_seconds,
            })),
        });
        if let (None, Err(failure), true) = (running, &config, ctx.home.config_path().exists()) {
            object["configError"] = json!(failure.lines.join("\n"));
        }
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
            if status.suspended {
                ctx.say(Msg::StatusSuspended { pid: record.pid });
            } else if !status.serving {
                ctx.say(Msg::StatusNotResponding {
                    pid: record.pid,
                    port: record.port,
                });
            }
            // The page the server reads depends on the environment it was
            // started with, which the record keeps.
            let page = record.webui_page_path();
            let lines =
                cpa_core::messages::server_check_lines(&record.config, &page, checks, ctx.lang);
            for line in lines {
                crate::context::print_line(&line);
            }
        }
        None => {
            ctx.say(Msg::StatusNotRunning);
            if let Some(pending) = pending {
                ctx.say(Msg::StatusRestartPending {
                    supervisor: pending.supervisor_pid,
                    seconds: pending_seconds.unwrap_or(0),
                });
            }
            // The next `start` would fail on this config; say so now. A
            // missing one is no error: `start` creates it.
            if let Err(failure) = &config
                && ctx.home.config_path().exists()
            {
                for line in &failure.lines {
                    crate::context::eprint_line(line);
                }
            }
            // Not an error either, but a user asking for the status should
            // learn that the file is missing and what `start` would do.
            if !ctx.home.config_path().exists() {
                ctx.warn(Msg::StatusConfigMissing {
                    path: &ctx.config_display(),
                    explicit: ctx.config_explicit,
                    port: cpa_core::template::DEFAULT_PORT,
                });
            }
            if let Some(stale) = &status.stale {
                let log = display(&log_path);
                ctx.say(if log_tail.is_empty() {
                    Msg::StatusExitedNoLog {
                        pid: stale.pid,
                        log: &log,
                    }
                } else {
                    Msg::StatusExitedUnexpectedly {
                        pid: stale.pid,
                        log: &log,
                    }
                });
                for line in &log_tail {
                    crate::context::print_line(&format!("  {line}"));
                }
                if status.stale_group_alive {
                    ctx.say(Msg::StatusExitedGroupRunning { pid: stale.pid });
                }
            }
            // A listener left in the exited server's own group is ours, not
            // another program's, so it is not named as one.
            if let (Some(owner), Some(address), false) =
                (&foreign, &config_address, status.stale_group_alive)
            {
                say_port_owner(ctx, address.port, owner.as_ref());
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
        path: &display(&log_path),
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

/// Says which process serves the configured port when no server of ours
/// runs, so `stop` explains why something still answers there. Prints
/// nothing when the config cannot be read or the port is free.
pub fn say_foreign_port_owner(ctx: &Context) {
    let Ok(view) = super::load_config(ctx).and_then(|doc| super::view(ctx, &doc)) else {
        return;
    };
    let Ok(address) = super::server_address(ctx, &view) else {
        return;
    };
    if let Some(owner) = supervisor::foreign_listener(&address.host, address.port) {
        say_port_owner(ctx, address.port, owner.as_ref());
    }
}

fn say_port_owner(ctx: &Context, port: u16, owner: Option<&PortOwner>) {
    let config = ctx.config_display();
    match owner {
        Some(owner) => ctx.say(Msg::StatusPortServedBy {
            port,
            pid: owner.pid,
            name: &owner.name,
            config: &config,
        }),
        None => ctx.say(Msg::StatusPortServed {
            port,
            config: &config,
        }),
    }
}

/// Returns the `--engine` value that names the recorded server program:
/// `builtin`, `official` (an installed CLIProxyAPI release) or `path` (any
/// other program). The record's `engine` field only distinguishes the
/// built-in engine from the rest, and stays as it is for existing readers.
fn engine_choice(record: &supervisor::EngineRecord) -> &'static str {
    // Only a binary under `versions/<tag>/` gets a tag as its version. Any
    // other program records `unknown`. The text output uses the same rule.
    match record.engine.as_str() {
        "builtin" => "builtin",
        _ if record.version.starts_with('v') => "official",
        _ => "path",
    }
}

fn clone_failure(failure: &crate::context::Failure) -> crate::context::Failure {
    crate::context::Failure {
        lines: failure.lines.clone(),
        exit_code: failure.exit_code,
    }
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or(0)
}
