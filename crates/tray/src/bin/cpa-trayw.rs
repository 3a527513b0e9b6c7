//! `cpa-trayw`: starts `cpa-tray` without a console window.
//!
//! `cpa-tray` is a console program so the CLI can print. Started from
//! Explorer or at login, Windows would open a console window for it. This
//! launcher is a GUI-subsystem program (no console of its own) that runs
//! `cpa-tray` from the same folder with `CREATE_NO_WINDOW`. That gives the
//! tray a hidden console, which its dialogs and the built-in engine inherit,
//! so none of them shows a window either. The launcher passes its arguments
//! through, waits, and exits with the tray's exit status.
//!
//! On other systems it only runs `cpa-tray`, which keeps scripts portable.

#![cfg_attr(windows, windows_subsystem = "windows")]

use std::path::PathBuf;
use std::process::{Command, ExitCode};

/// Windows `CREATE_NO_WINDOW` process creation flag.
#[cfg(windows)]
const CREATE_NO_WINDOW: u32 = 0x0800_0000;

fn main() -> ExitCode {
    let program = match tray_program() {
        Ok(program) => program,
        Err(reason) => return fail(&reason),
    };
    let mut command = Command::new(&program);
    command.args(std::env::args_os().skip(1));
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        command.creation_flags(CREATE_NO_WINDOW);
    }
    match command.status() {
        Ok(status) => match status.code() {
            Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            None => ExitCode::FAILURE,
        },
        Err(err) => fail(&format!("failed to start {}: {err}", program.display())),
    }
}

/// Returns `cpa-tray` next to this executable.
fn tray_program() -> Result<PathBuf, String> {
    let launcher = std::env::current_exe()
        .map_err(|err| format!("failed to find the cpa-trayw executable: {err}"))?;
    let program = launcher.with_file_name(format!("cpa-tray{}", std::env::consts::EXE_SUFFIX));
    if program.is_file() {
        Ok(program)
    } else {
        Err(format!(
            "{} not found: keep cpa-trayw next to cpa-tray",
            program.display()
        ))
    }
}

/// Reports `reason` on stderr (which has no console on Windows, but is kept
/// when the caller redirected it) and returns failure.
fn fail(reason: &str) -> ExitCode {
    eprintln!("cpa-trayw: {reason}");
    ExitCode::FAILURE
}
