//! State shared by every command (language, home folder, settings), and the
//! error type that carries a localized one-line reason.

use std::io::Write;
use std::path::Path;

use cpa_core::home::Home;
use cpa_core::messages::{Lang, Msg};
use cpa_core::settings::{Settings, SettingsStore, SettingsWarning};

use crate::cli::Cli;

/// A failed command: the localized reason printed on stderr, and the exit status.
#[derive(Debug)]
pub struct Failure {
    pub lines: Vec<String>,
    pub exit_code: u8,
}

impl Failure {
    pub fn new(message: String) -> Failure {
        Failure {
            lines: vec![message],
            exit_code: 1,
        }
    }
}

pub type CommandResult = Result<(), Failure>;

#[derive(Clone)]
pub struct Context {
    pub lang: Lang,
    pub home: Home,
    pub settings: Settings,
    /// Whether `--config` named the config file.
    pub config_explicit: bool,
}

impl Context {
    /// Resolves the language, home folder and settings from the command line.
    pub fn new(cli: &Cli) -> Result<Context, Failure> {
        // The language is needed for the first error message, but the setting
        // that may choose it lives in the home folder: parse --lang first.
        let explicit = match cli.lang.as_deref() {
            Some(value) => match Lang::from_tag(value) {
                Some(lang) => Some(lang),
                None => {
                    let lang = Lang::resolve(None, None);
                    return Err(Failure::new(Msg::InvalidLanguage { value }.text(lang)));
                }
            },
            None => None,
        };
        let home = match Home::resolve(cli.home.as_deref(), cli.config.as_deref()) {
            Ok(home) => home,
            Err(err) => {
                let lang = Lang::resolve(explicit, None);
                let detail = err.to_string();
                return Err(Failure::new(
                    Msg::HomeUnusable { detail: &detail }.text(lang),
                ));
            }
        };
        if let Some(file) = home.file_in_place_of_root() {
            let lang = Lang::resolve(explicit, None);
            let path = display(&file);
            return Err(Failure::new(Msg::HomeIsFile { path: &path }.text(lang)));
        }
        let loaded = SettingsStore::new(home.settings_path(), home.settings_fallback_path()).load();
        let lang = Lang::resolve(explicit, loaded.settings.language());
        for warning in &loaded.warnings {
            let text = match warning {
                SettingsWarning::Unreadable { path, reason } => Msg::SettingsUnreadable {
                    path: &display(path),
                    reason,
                }
                .text(lang),
                SettingsWarning::WrongType { path, field } => Msg::SettingsWrongType {
                    path: &display(path),
                    field,
                }
                .text(lang),
                SettingsWarning::UnknownValue {
                    path,
                    field,
                    value,
                    accepted,
                } => Msg::SettingsUnknownValue {
                    path: &display(path),
                    field,
                    value,
                    accepted: &accepted.join(", "),
                }
                .text(lang),
            };
            eprint_line(&text);
        }
        Ok(Context {
            lang,
            home,
            settings: loaded.settings,
            config_explicit: cli.config.is_some(),
        })
    }

    pub fn text(&self, msg: Msg<'_>) -> String {
        msg.text(self.lang)
    }

    /// Prints a message on stdout.
    pub fn say(&self, msg: Msg<'_>) {
        print_line(&self.text(msg));
    }

    /// Prints a message on stderr.
    pub fn warn(&self, msg: Msg<'_>) {
        eprint_line(&self.text(msg));
    }

    pub fn fail(&self, msg: Msg<'_>) -> Failure {
        Failure::new(self.text(msg))
    }

    pub fn config_display(&self) -> String {
        display(self.home.config_path())
    }
}

pub fn display(path: &Path) -> String {
    path.display().to_string()
}

/// Prints `line` on stdout. A closed stdout (`cpa-tray status | head -1`) is
/// ignored rather than a panic as with `println!`, so the command still
/// finishes what it started.
pub fn print_line(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// Prints `line` on stderr, ignoring a closed stderr like [`print_line`].
pub fn eprint_line(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
