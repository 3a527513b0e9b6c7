//! Dialogs, each run as a short-lived child process of the same executable.
//!
//! winit allows one event loop per process and the tray already owns one on
//! Windows and macOS, so every dialog is a separate process with its own
//! eframe loop. A dialog that cannot open a window (no display, no usable
//! OpenGL) fails alone, and the tray falls back to a notification naming the
//! equivalent CLI command.
//!
//! Command line (after the program and the lead-in the caller chose, e.g.
//! `cpa-tray ui`):
//!
//! ```text
//! password --mode first-run|reset --config PATH [--min-bytes N] [--check-key] [--lang TAG]
//! confirm restart-now [--lang TAG]
//! ask --text TEXT [--lang TAG]   Yes/No with a text the caller rendered
//! choose --text TEXT --first LABEL --second LABEL [--third LABEL] [--lang TAG]
//! progress [--lang TAG]     JSON lines on stdin, `cancel` on stdout
//! about --server TEXT [--lang TAG]
//! ```
//!
//! Exit status: 0 = accepted (saved, yes, finished, the first choice),
//! 1 = cancelled or no, 2 = usage error or a window that failed to open
//! (the reason is on stderr), 3 = the second choice of `choose`, 4 = its
//! third choice, 5 = the password was entered but writing it failed (the
//! reason is on stderr).
//!
//! After it saved the password, `password` prints `saved` on stdout. With
//! `--check-key` it then waits for one stdin line: `check` makes it send the
//! one authenticated management request to the server that the config
//! describes and print the outcome as one line (see
//! [`password::encode_key_check`]); anything else or end of input ends it.
//! So the plaintext stays in the dialog process.

pub mod forms;
pub mod password;

use std::cell::Cell;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;

use cpa_core::messages::Lang;
use eframe::egui;

use crate::text::Text;
use forms::{AboutForm, Choice, ChoiceForm, ConfirmForm, ConfirmQuestion, ProgressForm};
use password::{Mode, Outcome, PasswordForm};

/// Exit status of an accepted dialog.
pub const EXIT_ACCEPTED: u8 = 0;
/// Exit status of a cancelled dialog or a "No".
pub const EXIT_CANCELLED: u8 = 1;
/// Exit status of a dialog that failed or was called wrongly.
pub const EXIT_FAILED: u8 = 2;
/// Exit status of the second button of a `choose` dialog.
pub const EXIT_SECOND_CHOICE: u8 = 3;
/// Exit status of the third button of a `choose` dialog.
pub const EXIT_THIRD_CHOICE: u8 = 4;
/// Exit status of a password dialog whose password could not be written.
pub const EXIT_SAVE_FAILED: u8 = 5;

/// A parsed dialog request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Password {
        mode: Mode,
        config: PathBuf,
        /// Minimum length in bytes: 8, or 12 while remote management is on.
        min_bytes: usize,
        /// Wait after the save for a request to check the key (see above).
        check_key: bool,
    },
    Confirm(ConfirmQuestion),
    /// A Yes/No question whose text the tray rendered (it names versions).
    Ask {
        text: String,
    },
    /// Two or three choices and Cancel, with texts the tray rendered.
    Choose {
        text: String,
        first: String,
        second: String,
        third: Option<String>,
    },
    Progress,
    About {
        server: String,
    },
}

/// A dialog request with its language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub request: Request,
    pub lang: Lang,
}

impl Invocation {
    /// Returns the arguments that [`run_dialog`] parses back into this request.
    pub fn to_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::new();
        match &self.request {
            Request::Password {
                mode,
                config,
                min_bytes,
                check_key,
            } => {
                args.extend(["password".into(), "--mode".into(), mode.as_str().into()]);
                args.push("--config".into());
                args.push(config.clone().into_os_string());
                args.extend(["--min-bytes".into(), min_bytes.to_string().into()]);
                if *check_key {
                    args.push("--check-key".into());
                }
            }
            Request::Confirm(question) => {
                args.extend(["confirm".into(), question.as_str().into()]);
            }
            Request::Ask { text } => {
                args.extend(["ask".into(), "--text".into(), text.into()]);
            }
            Request::Choose {
                text,
                first,
                second,
                third,
            } => {
                args.extend(["choose".into(), "--text".into(), text.into()]);
                args.extend(["--first".into(), first.into()]);
                args.extend(["--second".into(), second.into()]);
                if let Some(third) = third {
                    args.extend(["--third".into(), third.into()]);
                }
            }
            Request::Progress => args.push("progress".into()),
            Request::About { server } => {
                args.extend(["about".into(), "--server".into(), server.into()]);
            }
        }
        args.extend(["--lang".into(), self.lang.tag().into()]);
        args
    }

    /// Parses dialog arguments (without the program name).
    pub fn parse(args: &[OsString]) -> Result<Invocation, String> {
        let mut args = args.iter().map(|arg| arg.to_string_lossy().into_owned());
        let kind = args.next().ok_or(
            "missing dialog kind: expected password, confirm, ask, choose, progress or about",
        )?;
        let mut lang = None;
        let mut mode = None;
        let mut config = None;
        let mut min_bytes = None;
        let mut check_key = false;
        let mut server = None;
        let mut text = None;
        let mut first = None;
        let mut second = None;
        let mut third = None;
        let mut positional = Vec::new();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .ok_or_else(|| format!("missing value after {name}"))
            };
            match arg.as_str() {
                "--lang" => {
                    let tag = value("--lang")?;
                    lang = Some(
                        Lang::from_tag(&tag)
                            .ok_or_else(|| format!("invalid --lang {tag}: use en or zh-CN"))?,
                    );
                }
                "--mode" => {
                    let text = value("--mode")?;
                    mode =
                        Some(Mode::parse(&text).ok_or_else(|| {
                            format!("invalid --mode {text}: use first-run or reset")
                        })?);
                }
                "--config" => config = Some(PathBuf::from(value("--config")?)),
                "--check-key" => check_key = true,
                "--min-bytes" => {
                    let text = value("--min-bytes")?;
                    min_bytes = Some(
                        text.parse::<usize>()
                            .ok()
                            .filter(|min| (1..=cpa_core::password::MAX_BYTES).contains(min))
                            .ok_or_else(|| {
                                format!("invalid --min-bytes {text}: use a number from 1 to 72")
                            })?,
                    );
                }
                "--server" => server = Some(value("--server")?),
                "--text" => text = Some(value("--text")?),
                "--first" => first = Some(value("--first")?),
                "--second" => second = Some(value("--second")?),
                "--third" => third = Some(value("--third")?),
                other if other.starts_with("--") => {
                    return Err(format!("unknown option {other}"));
                }
                other => positional.push(other.to_string()),
            }
        }
        let request = match kind.as_str() {
            "password" => Request::Password {
                mode: mode.ok_or("password needs --mode first-run|reset")?,
                config: config.ok_or("password needs --config PATH")?,
                // The dialog never accepts less than the general rule.
                min_bytes: min_bytes
                    .unwrap_or(cpa_core::password::MIN_BYTES)
                    .max(cpa_core::password::MIN_BYTES),
                check_key,
            },
            "confirm" => {
                let name = positional.first().ok_or("confirm needs a question name")?;
                Request::Confirm(
                    ConfirmQuestion::parse(name)
                        .ok_or_else(|| format!("unknown question {name}: use restart-now"))?,
                )
            }
            "ask" => Request::Ask {
                text: text.ok_or("ask needs --text TEXT")?,
            },
            "choose" => Request::Choose {
                text: text.ok_or("choose needs --text TEXT")?,
                first: first.ok_or("choose needs --first LABEL")?,
                second: second.ok_or("choose needs --second LABEL")?,
                third,
            },
            "progress" => Request::Progress,
            "about" => Request::About {
                server: server.unwrap_or_default(),
            },
            other => {
                return Err(format!(
                    "unknown dialog {other}: expected password, confirm, ask, choose, progress or about"
                ));
            }
        };
        Ok(Invocation {
            request,
            lang: lang.unwrap_or_else(|| Lang::resolve(None, None)),
        })
    }
}

/// Runs the dialog that `args` describe (arguments after the program and its
/// lead-in) and returns its exit status.
pub fn run_dialog(args: Vec<OsString>) -> ExitCode {
    let invocation = match Invocation::parse(&args) {
        Ok(invocation) => invocation,
        Err(reason) => {
            eprintln!("cpa-tray ui: {reason}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    ExitCode::from(run_invocation(&invocation))
}

fn run_invocation(invocation: &Invocation) -> u8 {
    let lang = invocation.lang;
    let result = match &invocation.request {
        Request::Password {
            mode,
            config,
            min_bytes,
            check_key,
        } => {
            let mut form = PasswordForm::new(lang, *mode).with_min_bytes(*min_bytes);
            let saved = Rc::new(std::cell::RefCell::new(None));
            let window_config = config.clone();
            let window_saved = saved.clone();
            let min_bytes = *min_bytes;
            let result = show_window(&mode.title(lang), [460.0, 350.0], move |ui| {
                match form.ui(ui)? {
                    Outcome::Cancelled => Some(EXIT_CANCELLED),
                    Outcome::Accepted(password) => {
                        match password::save_password(&window_config, &password, min_bytes, lang) {
                            Ok(()) => {
                                *window_saved.borrow_mut() = Some(password);
                                Some(EXIT_ACCEPTED)
                            }
                            Err(reason) => {
                                // The tray shows this last line to the user.
                                eprintln!("cpa-tray ui: {reason}");
                                Some(EXIT_SAVE_FAILED)
                            }
                        }
                    }
                }
            });
            if let Some(password) = saved.borrow_mut().take() {
                password::after_save(config, &password, *check_key, lang);
            }
            result
        }
        Request::Confirm(question) => {
            let mut form = ConfirmForm::new(lang, *question);
            show_window(crate::text::APP_TITLE, [400.0, 130.0], move |ui| {
                form.ui(ui)
                    .map(|yes| if yes { EXIT_ACCEPTED } else { EXIT_CANCELLED })
            })
        }
        Request::Ask { text } => {
            let mut form = ConfirmForm::with_text(lang, text.clone());
            show_window(crate::text::APP_TITLE, [440.0, 150.0], move |ui| {
                form.ui(ui)
                    .map(|yes| if yes { EXIT_ACCEPTED } else { EXIT_CANCELLED })
            })
        }
        Request::Choose {
            text,
            first,
            second,
            third,
        } => {
            let mut form = ChoiceForm::new(lang, text.clone(), first.clone(), second.clone())
                .with_third(third.clone());
            show_window(crate::text::APP_TITLE, [480.0, 170.0], move |ui| {
                form.ui(ui).map(|choice| match choice {
                    Choice::First => EXIT_ACCEPTED,
                    Choice::Second => EXIT_SECOND_CHOICE,
                    Choice::Third => EXIT_THIRD_CHOICE,
                    Choice::Cancel => EXIT_CANCELLED,
                })
            })
        }
        Request::Progress => {
            let mut form = ProgressForm::new(lang);
            let feed = form.feed();
            let title = Text::DownloadTitle.text(lang);
            let result = show_window_with(
                &title,
                [420.0, 150.0],
                move |ctx| feed.read_stdin(ctx),
                move |ui| form.ui(ui),
            );
            // Closing the window cancels the download like the Cancel button.
            if result == Ok(EXIT_CANCELLED) {
                forms::send_cancel();
            }
            result
        }
        Request::About { server } => {
            let mut form = AboutForm::new(lang, server.clone());
            show_window(&Text::AboutTitle.text(lang), [380.0, 160.0], move |ui| {
                form.ui(ui).then_some(EXIT_ACCEPTED)
            })
        }
    };
    match result {
        Ok(code) => code,
        Err(reason) => {
            eprintln!("cpa-tray ui: failed to open the dialog window: {reason}");
            EXIT_FAILED
        }
    }
}

/// Runs one window until `ui` returns an exit status or the window is closed
/// (closing counts as cancel).
pub fn show_window(
    title: &str,
    size: [f32; 2],
    ui: impl FnMut(&mut egui::Ui) -> Option<u8> + 'static,
) -> Result<u8, String> {
    show_window_with(title, size, |_| {}, ui)
}

fn show_window_with(
    title: &str,
    size: [f32; 2],
    setup: impl FnOnce(egui::Context) + 'static,
    ui: impl FnMut(&mut egui::Ui) -> Option<u8> + 'static,
) -> Result<u8, String> {
    let result = Rc::new(Cell::new(None));
    let app = DialogApp {
        ui: Box::new(ui),
        result: result.clone(),
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(title)
            .with_inner_size(size)
            .with_resizable(false)
            .with_always_on_top(),
        centered: true,
        ..Default::default()
    };
    eframe::run_native(
        title,
        options,
        Box::new(move |creation| {
            setup(creation.egui_ctx.clone());
            Ok(Box::new(app))
        }),
    )
    .map_err(|err| err.to_string())?;
    Ok(result.get().unwrap_or(EXIT_CANCELLED))
}

type DialogUi = Box<dyn FnMut(&mut egui::Ui) -> Option<u8>>;

struct DialogApp {
    ui: DialogUi,
    result: Rc<Cell<Option<u8>>>,
}

impl eframe::App for DialogApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        egui::CentralPanel::default().show(ui, |ui| {
            if self.result.get().is_none()
                && let Some(code) = (self.ui)(ui)
            {
                self.result.set(Some(code));
                ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_round_trip() {
        let requests = [
            Request::Password {
                mode: Mode::FirstRun,
                config: PathBuf::from("/tmp/a b/config.yaml"),
                min_bytes: 8,
                check_key: false,
            },
            Request::Password {
                mode: Mode::Reset,
                config: PathBuf::from("config.yaml"),
                min_bytes: 12,
                check_key: true,
            },
            Request::Confirm(ConfirmQuestion::RestartNow),
            Request::Ask {
                text: "Update CLIProxyAPI from v1 to v2?\nDownload: a.tar.gz (1.0 MB)".into(),
            },
            Request::Choose {
                text: "Which server?".into(),
                first: "Download CLIProxyAPI v1.0.0 (linux/amd64, 12.5 MB)".into(),
                second: "Use the built-in engine".into(),
                third: None,
            },
            Request::Choose {
                text: "Which server?".into(),
                first: "Use the built-in engine".into(),
                second: "Use /opt/a b/cli-proxy-api (found on PATH)".into(),
                third: Some("Use --second (found on PATH)".into()),
            },
            Request::Progress,
            Request::About {
                server: "v6.9.1".into(),
            },
        ];
        for request in requests {
            for lang in [Lang::En, Lang::ZhCn] {
                let invocation = Invocation {
                    request: request.clone(),
                    lang,
                };
                assert_eq!(Invocation::parse(&invocation.to_args()), Ok(invocation));
            }
        }
    }

    #[test]
    fn bad_arguments_name_the_problem() {
        let parse =
            |args: &[&str]| Invocation::parse(&args.iter().map(OsString::from).collect::<Vec<_>>());
        assert_eq!(
            parse(&["password", "--mode", "later", "--config", "c"]),
            Err("invalid --mode later: use first-run or reset".into())
        );
        assert_eq!(
            parse(&["password", "--mode", "reset"]),
            Err("password needs --config PATH".into())
        );
        assert_eq!(
            parse(&[
                "password",
                "--mode",
                "reset",
                "--config",
                "c",
                "--min-bytes",
                "0"
            ]),
            Err("invalid --min-bytes 0: use a number from 1 to 72".into())
        );
        assert_eq!(
            parse(&["wizard"]),
            Err(
                "unknown dialog wizard: expected password, confirm, ask, choose, progress or about"
                    .into()
            )
        );
        assert_eq!(
            parse(&["about", "--lang", "fr"]),
            Err("invalid --lang fr: use en or zh-CN".into())
        );
    }
}
