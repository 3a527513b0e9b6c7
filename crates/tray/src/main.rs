//! `cpa-tray`: install, run and password-protect CLIProxyAPI from the command line.
//!
//! The binary also contains the built-in engine: `cpa-tray engine ARGS...` runs
//! it with CLIProxyAPI's own flags. The supervisor starts the server that way,
//! so no separate build step or binary is needed.

mod cli;
mod commands;
mod context;
mod help;
mod prompt;
mod tray_app;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use cli::{Command, PasswordCommand, RemoteCommand};
use context::Context;

/// Hidden first argument that runs the built-in engine.
pub const ENGINE_SUBCOMMAND: &str = "engine";

fn main() -> ExitCode {
    let mut args = std::env::args_os();
    let program = args.next();
    let rest: Vec<OsString> = args.collect();
    // The engine takes Go-style flags (`-config`), which clap would reject,
    // so it is dispatched before parsing.
    if rest.first().is_some_and(|first| first == ENGINE_SUBCOMMAND) {
        return cpa_engine::run_cli(rest[1..].to_vec());
    }
    // Dialogs run as short-lived child processes of the tray, one GUI event
    // loop per process.
    if rest
        .first()
        .is_some_and(|first| first == tray_app::UI_SUBCOMMAND)
    {
        return cpa_gui::run_dialog(rest[1..].to_vec());
    }

    // An empty CPA_TRAY_HOME or CPA_TRAY_LANG means unset, as for most
    // variables; clap would reject it as a missing value.
    for name in ["CPA_TRAY_HOME", "CPA_TRAY_LANG"] {
        if std::env::var_os(name).is_some_and(|value| value.to_string_lossy().trim().is_empty()) {
            // SAFETY: no other thread has been started yet, so nothing reads
            // the environment while it changes.
            unsafe { std::env::remove_var(name) };
        }
    }
    let cli = help::parse(program.into_iter().chain(rest).collect());
    let Some(command) = &cli.command else {
        return tray_app::run(&cli);
    };
    let result = Context::new(&cli).and_then(|ctx| run(&ctx, command));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let mut stderr = std::io::stderr().lock();
            for line in &failure.lines {
                let _ = writeln!(stderr, "{line}");
            }
            ExitCode::from(failure.exit_code)
        }
    }
}

fn run(ctx: &Context, command: &Command) -> context::CommandResult {
    match command {
        Command::Start(args) => commands::start::run(ctx, args, false),
        Command::Restart(args) => commands::start::run(ctx, args, true),
        Command::Stop(args) => commands::stop::run(ctx, args),
        Command::Status(args) => commands::status::run(ctx, args),
        Command::Password(PasswordCommand::Set(args)) => commands::password::set(ctx, args),
        Command::Password(PasswordCommand::Verify(args)) => commands::password::verify(ctx, args),
        Command::Remote(RemoteCommand::Enable(args)) => commands::remote::enable(ctx, args),
        Command::Remote(RemoteCommand::Disable) => commands::remote::disable(ctx),
        Command::Open(args) => commands::open::run(ctx, args),
        Command::Logs(args) => commands::logs::run(ctx, args),
        Command::Update(args) => commands::releases::update(ctx, args),
        Command::Install(args) => commands::releases::install(ctx, args),
        Command::Versions(command) => commands::releases::versions(ctx, command),
    }
}
