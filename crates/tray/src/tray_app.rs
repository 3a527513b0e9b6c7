//! `cpa-tray` without a command: the tray icon and its menu (crate `cpa-gui`).
//!
//! The tray starts servers through the same engine choice as `cpa-tray start`
//! and runs each dialog as a child process of this executable
//! (`cpa-tray ui ...`), so a dialog that cannot open a window fails alone.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use cpa_core::messages::Lang;
use cpa_core::settings::Settings;
use cpa_gui::{EngineSelector, TrayOptions};

use crate::cli::Cli;
use crate::commands;
use crate::context::Context;

/// Hidden first argument that runs one dialog (`cpa-tray ui password ...`).
pub const UI_SUBCOMMAND: &str = "ui";

/// Runs the tray until the user chooses Exit.
pub fn run(cli: &Cli) -> ExitCode {
    let ctx = match Context::new(cli) {
        Ok(ctx) => ctx,
        Err(failure) => {
            let mut stderr = std::io::stderr().lock();
            for line in &failure.lines {
                let _ = writeln!(stderr, "{line}");
            }
            return ExitCode::from(failure.exit_code);
        }
    };
    let executable = match std::env::current_exe() {
        Ok(path) => path,
        Err(err) => {
            let _ = writeln!(
                std::io::stderr(),
                "cpa-tray: cannot find its own executable to run dialogs: {err}"
            );
            return ExitCode::FAILURE;
        }
    };

    // The tray re-reads settings when the user toggles them, so the engine is
    // chosen from the settings it passes in, with the CLI's rules.
    let selector_context = ctx.clone();
    let engine: EngineSelector = Arc::new(move |settings: &Settings| {
        let mut context = selector_context.clone();
        context.settings = settings.clone();
        commands::select_engine(&context, None).map_err(|failure| failure.lines.join(" "))
    });

    let mut login_command: Vec<OsString> = vec![login_program(&executable).into_os_string()];
    if let Some(home) = &cli.home {
        login_command.push("--home".into());
        login_command.push(home.clone().into_os_string());
    }

    cpa_gui::run_tray(TrayOptions {
        home: ctx.home.clone(),
        lang: cli.lang.as_deref().and_then(Lang::from_tag),
        engine,
        dialog_program: executable,
        dialog_args: vec![UI_SUBCOMMAND.into()],
        login_command: Some(login_command),
        start_on_launch: true,
        offer_engine_choice: true,
    })
}

/// Returns the program that Start at Login runs: on Windows the console-less
/// launcher `cpa-trayw.exe` when it sits next to this executable, so no
/// console window opens at login; otherwise this executable.
fn login_program(executable: &Path) -> PathBuf {
    let launcher = executable.with_file_name("cpa-trayw.exe");
    if cfg!(windows) && launcher.is_file() {
        launcher
    } else {
        executable.to_path_buf()
    }
}
