//! Test harness for the tray and its dialogs, independent of the `cpa-tray` binary.
//!
//! ```text
//! cpa-gui-harness tray --home DIR --engine-program PATH [--engine-version V]
//!                      [--builtin] [--lang TAG] [--start] [--offer-engine-choice]
//! cpa-gui-harness ui DIALOG-ARGS...
//! cpa-gui-harness autostart enable PROGRAM [ARGS...] | disable | show
//! ```
//!
//! `tray` runs `--engine-program`, or the program that the `engine` setting
//! names when it is a path, as cpa-tray does.
//!
//! `autostart` drives Start at Login as the menu item does and `show` prints
//! what is stored (nothing when it is off), so a test can check the XDG
//! entry, the LaunchAgent or the Windows `Run` value.
//!
//! Scripted answers: when `CPA_GUI_HARNESS_ANSWERS` names a file, `ui` takes
//! its first line as the user's answer instead of opening a window, and
//! removes that line. `password:<text>` saves `<text>` through the same code
//! as the dialog's OK button; `cancel` and `no` cancel; `yes` accepts;
//! `wait` keeps the dialog open until it is killed;
//! `first`, `second` and `third` pick a button of `choose`. The labels of
//! each `choose` are appended to `<answers>.choices`, one line each. The
//! progress window reads the parent's reports. With `cancel` it sends
//! `cancel` after the first report, as the Cancel button does. Otherwise it
//! waits for the last report and exits as the window would. This
//! lets tests drive the tray's dialog flows without a display; the windows
//! themselves are tested separately.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use cpa_core::home::Home;
use cpa_core::messages::Lang;
use cpa_core::releases::EngineSetting;
use cpa_core::settings::Settings;
use cpa_core::supervisor::{Engine, EngineKind};
use cpa_gui::dialog::{
    EXIT_ACCEPTED, EXIT_CANCELLED, EXIT_FAILED, EXIT_SAVE_FAILED, EXIT_SECOND_CHOICE,
    EXIT_THIRD_CHOICE, Invocation, Request,
};
use cpa_gui::{TrayOptions, run_dialog, run_tray};

const ANSWERS_ENV: &str = "CPA_GUI_HARNESS_ANSWERS";

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    match args.first().and_then(|arg| arg.to_str()) {
        Some("tray") => tray(&args[1..]),
        Some("ui") => ui(args[1..].to_vec()),
        Some("autostart") => autostart(&args[1..]),
        _ => {
            eprintln!(
                "usage: cpa-gui-harness tray --home DIR --engine-program PATH ... | ui ARGS..."
            );
            ExitCode::from(2)
        }
    }
}

fn tray(args: &[OsString]) -> ExitCode {
    let mut home = None;
    let mut program = None;
    let mut version = "0.0.0".to_string();
    let mut builtin = false;
    let mut lang = None;
    let mut start = false;
    let mut offer_engine_choice = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().cloned().unwrap_or_default();
        match arg.to_str() {
            Some("--home") => home = Some(PathBuf::from(value())),
            Some("--engine-program") => program = Some(PathBuf::from(value())),
            Some("--engine-version") => version = value().to_string_lossy().into_owned(),
            Some("--builtin") => builtin = true,
            Some("--lang") => lang = Lang::from_tag(&value().to_string_lossy()),
            Some("--start") => start = true,
            Some("--offer-engine-choice") => offer_engine_choice = true,
            _ => {
                eprintln!("unknown argument {}", arg.to_string_lossy());
                return ExitCode::from(2);
            }
        }
    }
    let (Some(home), Some(program)) = (home, program) else {
        eprintln!("--home and --engine-program are required");
        return ExitCode::from(2);
    };
    let home = match Home::at(&home) {
        Ok(home) => home,
        Err(err) => {
            eprintln!("invalid --home: {err}");
            return ExitCode::from(2);
        }
    };
    let engine = Engine {
        program,
        leading_args: Vec::new(),
        kind: if builtin {
            EngineKind::Builtin
        } else {
            EngineKind::External
        },
        version,
    };
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(err) => {
            eprintln!("cannot find the harness executable: {err}");
            return ExitCode::from(2);
        }
    };
    run_tray(TrayOptions {
        home,
        lang,
        engine: Arc::new(move |settings: &Settings| {
            // A path in the `engine` setting (the first start's PATH choice)
            // runs that program, as it does in cpa-tray.
            match settings.engine().map(EngineSetting::parse) {
                Some(EngineSetting::Path(program)) => Ok(Engine {
                    program,
                    kind: EngineKind::External,
                    ..engine.clone()
                }),
                _ => Ok(engine.clone()),
            }
        }),
        dialog_program: exe.clone(),
        dialog_args: vec!["ui".into()],
        login_command: Some(vec![exe.into_os_string(), "tray".into()]),
        start_on_launch: start,
        offer_engine_choice,
    })
}

fn ui(args: Vec<OsString>) -> ExitCode {
    let Some(answers) = std::env::var_os(ANSWERS_ENV) else {
        return run_dialog(args);
    };
    let invocation = match Invocation::parse(&args) {
        Ok(invocation) => invocation,
        Err(reason) => {
            eprintln!("{reason}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let text = std::fs::read_to_string(&answers).unwrap_or_default();
    let mut lines = text.lines();
    let answer = lines.next().unwrap_or("cancel").to_string();
    let rest: Vec<&str> = lines.collect();
    if let Err(err) = std::fs::write(&answers, rest.join("\n")) {
        eprintln!("cannot update {}: {err}", PathBuf::from(&answers).display());
        return ExitCode::from(EXIT_FAILED);
    }
    // Record which dialog was asked, for the test to check.
    let log = PathBuf::from(&answers).with_extension("asked");
    let asked = format!("{}\n", args[0].to_string_lossy());
    let _ = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .and_then(|mut file| std::io::Write::write_all(&mut file, asked.as_bytes()));
    if let Request::Choose {
        first,
        second,
        third,
        ..
    } = &invocation.request
    {
        let mut labels = format!("{first}\n{second}\n");
        if let Some(third) = third {
            labels.push_str(&format!("{third}\n"));
        }
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(PathBuf::from(&answers).with_extension("choices"))
            .and_then(|mut file| std::io::Write::write_all(&mut file, labels.as_bytes()));
    }
    match (&invocation.request, answer.as_str()) {
        (
            Request::Password {
                mode,
                config,
                min_bytes,
                check_key,
            },
            answer,
        ) if answer.starts_with("password:") => {
            let password = &answer["password:".len()..];
            // The window's OK button stays disabled while the form is
            // invalid, so the user can only cancel.
            let mut form = cpa_gui::dialog::password::PasswordForm::new(invocation.lang, *mode)
                .with_min_bytes(*min_bytes);
            form.password = password.to_string();
            form.confirmation = password.to_string();
            if !form.is_valid() {
                eprintln!("OK is disabled for this password; cancelling");
                return ExitCode::from(EXIT_CANCELLED);
            }
            match cpa_gui::dialog::password::save_password(
                config,
                password,
                *min_bytes,
                invocation.lang,
            ) {
                Ok(()) => {
                    cpa_gui::dialog::password::after_save(
                        config,
                        password,
                        *check_key,
                        invocation.lang,
                    );
                    ExitCode::from(EXIT_ACCEPTED)
                }
                Err(reason) => {
                    eprintln!("cpa-tray ui: {reason}");
                    ExitCode::from(EXIT_SAVE_FAILED)
                }
            }
        }
        (Request::Progress, answer) => scripted_progress(answer == "cancel"),
        (Request::Choose { .. }, "first") => ExitCode::from(EXIT_ACCEPTED),
        (Request::Choose { .. }, "second") => ExitCode::from(EXIT_SECOND_CHOICE),
        (Request::Choose { third: Some(_), .. }, "third") => ExitCode::from(EXIT_THIRD_CHOICE),
        (_, "yes") => ExitCode::from(EXIT_ACCEPTED),
        // A user who leaves the window open: only a kill ends it.
        (_, "wait") => loop {
            std::thread::sleep(std::time::Duration::from_secs(60));
        },
        _ => ExitCode::from(EXIT_CANCELLED),
    }
}

/// Follows the parent's progress reports like the window does.
fn scripted_progress(cancel: bool) -> ExitCode {
    let mut progress = cpa_gui::dialog::forms::Progress::default();
    for line in std::io::stdin().lines() {
        let Ok(line) = line else { break };
        progress.apply_line(&line);
        if cancel && progress.started {
            cpa_gui::dialog::forms::send_cancel();
            return ExitCode::from(EXIT_CANCELLED);
        }
        match progress.finished {
            Some(Ok(())) => return ExitCode::from(EXIT_ACCEPTED),
            Some(Err(_)) => return ExitCode::from(EXIT_FAILED),
            None => {}
        }
    }
    ExitCode::from(EXIT_FAILED)
}

fn autostart(args: &[OsString]) -> ExitCode {
    use cpa_gui::autostart;
    let result = match args.first().and_then(|arg| arg.to_str()) {
        Some("enable") if args.len() > 1 => autostart::set_enabled(true, &args[1..]),
        Some("disable") => autostart::set_enabled(false, &[]),
        Some("show") => {
            if let Some(text) = autostart::stored() {
                print!("{text}");
            }
            Ok(())
        }
        _ => {
            eprintln!("usage: cpa-gui-harness autostart enable PROGRAM [ARGS...] | disable | show");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("autostart failed: {err}");
            ExitCode::FAILURE
        }
    }
}
