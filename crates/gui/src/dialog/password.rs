//! The password dialog: masked entry with show/hide, a confirmation field and
//! the password rules checked as the user types.
//!
//! The dialog process hashes the password and writes the hash itself, so the
//! plaintext never crosses a pipe, an argument list or the environment. The
//! tray only learns "saved", "cancelled" or "failed", and on request the
//! outcome of the key check that this process sends after a restart.

use std::io::Write;
use std::path::Path;

use cpa_core::messages::{Lang, Msg};
use cpa_core::password::{self, PasswordProblem};
use cpa_core::password_check::{self, KeyCheck, REMOTE_MIN_BYTES};
use eframe::egui;

use crate::text::Text;

/// First-run wording (`Set Password`) or reset wording (`Reset Password`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    FirstRun,
    Reset,
}

impl Mode {
    pub fn parse(value: &str) -> Option<Mode> {
        match value {
            "first-run" => Some(Mode::FirstRun),
            "reset" => Some(Mode::Reset),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::FirstRun => "first-run",
            Mode::Reset => "reset",
        }
    }

    pub fn title(self, lang: Lang) -> String {
        match self {
            Mode::FirstRun => Text::SetPasswordTitle.text(lang),
            Mode::Reset => Text::ResetPasswordTitle.text(lang),
        }
    }

    pub fn prompt(self, lang: Lang) -> String {
        match self {
            Mode::FirstRun => Text::SetPasswordPrompt.text(lang),
            Mode::Reset => Text::ResetPasswordPrompt.text(lang),
        }
    }
}

/// Decision of the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Accepted(String),
    Cancelled,
}

/// One line of the live rule list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleCheck {
    pub text: String,
    pub passed: bool,
}

/// State of the password form.
#[derive(Debug)]
pub struct PasswordForm {
    pub lang: Lang,
    pub mode: Mode,
    pub password: String,
    pub confirmation: String,
    pub show: bool,
    /// Minimum length in bytes: [`password::MIN_BYTES`], or
    /// [`REMOTE_MIN_BYTES`] while remote management is on.
    pub min_bytes: usize,
    focused_once: bool,
}

impl PasswordForm {
    pub fn new(lang: Lang, mode: Mode) -> PasswordForm {
        PasswordForm {
            lang,
            mode,
            password: String::new(),
            confirmation: String::new(),
            show: false,
            min_bytes: password::MIN_BYTES,
            focused_once: false,
        }
    }

    /// Sets the minimum length; values below [`password::MIN_BYTES`] keep that minimum.
    pub fn with_min_bytes(mut self, min_bytes: usize) -> PasswordForm {
        self.min_bytes = min_bytes.max(password::MIN_BYTES);
        self
    }

    /// Returns whether OK is allowed: every rule passes and both entries match.
    pub fn is_valid(&self) -> bool {
        password::validate_pair(&self.password, &self.confirmation).is_ok()
            && self.password.len() >= self.min_bytes
    }

    /// Returns the rules with their state for the current input.
    pub fn rules(&self) -> Vec<RuleCheck> {
        let value = self.password.as_str();
        let bytes = value.len();
        let check = |text: Text<'_>, passed: bool| RuleCheck {
            text: text.text(self.lang),
            passed,
        };
        vec![
            check(
                Text::RuleLength {
                    min: self.min_bytes,
                    bytes,
                },
                (self.min_bytes..=password::MAX_BYTES).contains(&bytes),
            ),
            check(
                Text::RuleCharacters,
                value.bytes().all(|byte| (0x20..=0x7e).contains(&byte)),
            ),
            check(
                Text::RuleNoSurroundingSpace,
                !value.starts_with(' ') && !value.ends_with(' '),
            ),
            check(
                Text::RuleNotHashPrefix,
                !["$2a$", "$2b$", "$2y$"]
                    .iter()
                    .any(|prefix| value.starts_with(prefix)),
            ),
            check(
                Text::RuleMatch,
                !value.is_empty() && self.password == self.confirmation,
            ),
        ]
    }

    /// Returns the explanation of the first broken rule, from the shared catalogue.
    pub fn problem(&self) -> Option<String> {
        if self.password.is_empty() {
            return None;
        }
        let bytes = self.password.len();
        if (password::MIN_BYTES..self.min_bytes).contains(&bytes) {
            let min = self.min_bytes;
            return Some(Text::RemotePasswordTooShort { min }.text(self.lang));
        }
        let problem = password::validate_pair(&self.password, &self.confirmation).err()?;
        let msg = match problem {
            PasswordProblem::TooShort { bytes } => Msg::PasswordTooShort { bytes },
            PasswordProblem::TooLong { bytes } => Msg::PasswordTooLong { bytes },
            PasswordProblem::NotPrintableAscii => Msg::PasswordNotPrintableAscii,
            PasswordProblem::SurroundingSpace => Msg::PasswordSurroundingSpace,
            PasswordProblem::LooksLikeHash => Msg::PasswordLooksLikeHash,
            // The rule list already shows a mismatch while the user is still typing.
            PasswordProblem::Mismatch => return None,
        };
        Some(msg.text(self.lang))
    }

    /// Draws the form and returns the user's decision once there is one.
    ///
    /// Enter accepts when the input is valid, Escape cancels.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> Option<Outcome> {
        let lang = self.lang;
        let mut outcome = None;

        ui.label(self.mode.prompt(lang));
        ui.add_space(6.0);
        egui::Grid::new("password-fields")
            .num_columns(2)
            .spacing([8.0, 6.0])
            .show(ui, |ui| {
                let label = ui.label(Text::PasswordField.text(lang));
                let first = ui
                    .add(
                        egui::TextEdit::singleline(&mut self.password)
                            .password(!self.show)
                            .desired_width(260.0),
                    )
                    .labelled_by(label.id);
                if !self.focused_once {
                    first.request_focus();
                    self.focused_once = true;
                }
                ui.end_row();
                let label = ui.label(Text::ConfirmField.text(lang));
                ui.add(
                    egui::TextEdit::singleline(&mut self.confirmation)
                        .password(!self.show)
                        .desired_width(260.0),
                )
                .labelled_by(label.id);
                ui.end_row();
            });
        ui.checkbox(&mut self.show, Text::ShowPassword.text(lang));
        ui.add_space(4.0);
        // Each rule is drawn as a read-only check box: painted, so it needs no
        // special glyph, and screen readers report its state.
        for rule in self.rules() {
            let color = if rule.passed {
                egui::Color32::from_rgb(0x2e, 0xa0, 0x43)
            } else {
                ui.visuals().error_fg_color
            };
            let mut passed = rule.passed;
            ui.checkbox(&mut passed, egui::RichText::new(rule.text).color(color));
        }
        if let Some(problem) = self.problem() {
            ui.add_space(2.0);
            ui.colored_label(ui.visuals().warn_fg_color, problem);
        }
        ui.add_space(8.0);

        let valid = self.is_valid();
        ui.horizontal(|ui| {
            let ok = ui.add_enabled(valid, egui::Button::new(Text::Ok.text(lang)));
            if ok.clicked() {
                outcome = Some(Outcome::Accepted(self.password.clone()));
            }
            if ui.button(Text::Cancel.text(lang)).clicked() {
                outcome = Some(Outcome::Cancelled);
            }
        });

        let (enter, escape) = ui.input(|input| {
            (
                input.key_pressed(egui::Key::Enter),
                input.key_pressed(egui::Key::Escape),
            )
        });
        if escape {
            outcome = Some(Outcome::Cancelled);
        } else if enter && valid {
            outcome = Some(Outcome::Accepted(self.password.clone()));
        }
        outcome
    }
}

/// Hashes `password` (bcrypt) and writes the hash as the management key of `config`.
///
/// Rejects a password shorter than `min_bytes`, and shorter than
/// [`REMOTE_MIN_BYTES`] while `config` has `allow-remote: true` right before
/// the write, whatever the caller passed. Returns the reason on failure, in
/// `lang` and naming the file where one is at fault; the reason never
/// contains the password.
pub fn save_password(
    config: &Path,
    password: &str,
    min_bytes: usize,
    lang: Lang,
) -> Result<(), String> {
    password::validate(password)
        .map_err(|problem| cpa_core::messages::password_problem(problem).text(lang))?;
    let config_text =
        |err: cpa_config::ConfigError| cpa_core::messages::config_error_text(&err, lang);
    let remote = cpa_config::load(config)
        .and_then(|doc| doc.view())
        .map_err(config_text)?
        .allow_remote
        .value
        .unwrap_or(false);
    let min = if remote {
        min_bytes.max(REMOTE_MIN_BYTES)
    } else {
        min_bytes
    };
    if password.len() < min {
        let path = config.display().to_string();
        return Err(Msg::PasswordTooShortForRemote { path: &path, min }.text(lang));
    }
    // OS reasons stay in English here: the tray's notification, which
    // embeds this reason, translates them once.
    let hash = cpa_config::secret::hash_password(password).map_err(|err| err.to_string())?;
    cpa_config::update(config, |doc| doc.with_secret_key(&hash))
        .map(drop)
        .map_err(config_text)
}

/// Line the dialog prints on stdout once the password is saved.
pub const SAVED_LINE: &str = "saved";

/// Line on the dialog's stdin that requests the key check.
pub const CHECK_REQUEST: &str = "check";

/// Prints [`SAVED_LINE`] and, with `check_key`, serves one key check.
///
/// The check waits for [`CHECK_REQUEST`] on stdin, which the tray sends once
/// the restarted server is ready, then sends the one authenticated request to
/// the server that `config` describes and prints the outcome as one line.
/// Any other line or the end of stdin ends it without a request.
pub fn after_save(config: &Path, password: &str, check_key: bool, lang: Lang) {
    let mut stdout = std::io::stdout().lock();
    // Without a reader the outcome would be lost, so no check is sent.
    let reported = writeln!(stdout, "{SAVED_LINE}").and_then(|()| stdout.flush());
    if reported.is_err() || !check_key {
        return;
    }
    let mut line = String::new();
    if std::io::stdin().read_line(&mut line).is_err() || line.trim() != CHECK_REQUEST {
        return;
    }
    let address = crate::app::load_view(config, lang)
        .and_then(|view| crate::app::server_address(&view, config, lang));
    let outcome = match address {
        Ok(address) => password_check::check_management_key(&address, password),
        Err(detail) => KeyCheck::Failed { detail },
    };
    let _ = writeln!(stdout, "{}", encode_key_check(&outcome)).and_then(|()| stdout.flush());
}

/// Encodes a key check outcome as one line: a tag, then a tab and the detail
/// where the outcome has one.
pub fn encode_key_check(outcome: &KeyCheck) -> String {
    let one_line = |text: &str| text.replace(['\r', '\n', '\t'], " ");
    match outcome {
        KeyCheck::Active => "active".into(),
        KeyCheck::Rejected => "rejected".into(),
        KeyCheck::Banned => "banned".into(),
        KeyCheck::Forbidden { body } => format!("forbidden\t{}", one_line(body)),
        KeyCheck::Disabled => "disabled".into(),
        KeyCheck::Unexpected { detail } => format!("unexpected\t{}", one_line(detail)),
        KeyCheck::Failed { detail } => format!("failed\t{}", one_line(detail)),
        KeyCheck::SkippedTls => "skipped-tls".into(),
    }
}

/// Decodes a line of [`encode_key_check`]; an unknown line is a failure
/// that names it.
pub fn decode_key_check(line: &str) -> KeyCheck {
    let line = line.trim_end_matches(['\r', '\n']);
    let (tag, detail) = line.split_once('\t').unwrap_or((line, ""));
    let detail = detail.to_string();
    match tag {
        "active" => KeyCheck::Active,
        "rejected" => KeyCheck::Rejected,
        "banned" => KeyCheck::Banned,
        "forbidden" => KeyCheck::Forbidden { body: detail },
        "disabled" => KeyCheck::Disabled,
        "unexpected" => KeyCheck::Unexpected { detail },
        "failed" => KeyCheck::Failed { detail },
        "skipped-tls" => KeyCheck::SkippedTls,
        _ => KeyCheck::Failed {
            detail: format!("the dialog process sent an unknown check result {line:?}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_track_input() {
        let mut form = PasswordForm::new(Lang::En, Mode::Reset);
        assert!(!form.is_valid());
        assert_eq!(form.problem(), None);

        form.password = "short".into();
        let rules = form.rules();
        assert_eq!(rules[0].text, "8 to 72 bytes (now 5)");
        assert_eq!(form.min_bytes, 8);
        assert!(!rules[0].passed);
        assert!(form.problem().unwrap().contains("too short"));

        form.password = "long enough".into();
        assert!(form.rules()[0].passed);
        assert!(!form.rules()[4].passed, "confirmation still empty");
        assert!(!form.is_valid());
        form.confirmation = "long enough".into();
        assert!(form.rules().iter().all(|rule| rule.passed));
        assert!(form.is_valid());
    }

    #[test]
    fn remote_minimum_keeps_ok_disabled() {
        let mut form = PasswordForm::new(Lang::En, Mode::Reset).with_min_bytes(12);
        form.password = "Short-p1".into();
        form.confirmation = form.password.clone();
        assert_eq!(form.rules()[0].text, "12 to 72 bytes (now 8)");
        assert!(!form.rules()[0].passed);
        assert!(!form.is_valid(), "8 bytes pass the general rule only");
        assert_eq!(
            form.problem().as_deref(),
            Some(
                "Remote management is on in config.yaml, so the password needs at least 12 bytes."
            )
        );

        form.password = "Long-enough-p1".into();
        form.confirmation = form.password.clone();
        assert!(form.rules().iter().all(|rule| rule.passed));
        assert!(form.is_valid());
        assert_eq!(form.problem(), None);
    }

    #[test]
    fn save_rejects_short_password_when_remote() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.yaml");
        let original = "port: 8317\nremote-management:\n  allow-remote: true\n  secret-key: \"\"\n";
        std::fs::write(&config, original).unwrap();

        // The caller passed the general minimum; the file still decides.
        let err = save_password(&config, "Short-p1", 8, Lang::En).unwrap_err();
        assert!(err.contains("at least 12 characters"), "{err}");
        assert!(!err.contains("Short-p1"), "the reason leaks the password");
        assert_eq!(std::fs::read_to_string(&config).unwrap(), original);

        save_password(&config, "Long-enough-p1", 8, Lang::En).unwrap();
        let doc = cpa_config::load(&config).unwrap();
        let stored = doc.view().unwrap().secret().to_string();
        assert!(cpa_config::secret::verify_password(
            "Long-enough-p1",
            &stored
        ));
    }

    #[test]
    fn key_check_lines_round_trip() {
        let outcomes = [
            KeyCheck::Active,
            KeyCheck::Rejected,
            KeyCheck::Banned,
            KeyCheck::Forbidden {
                body: "remote management disabled".into(),
            },
            KeyCheck::Disabled,
            KeyCheck::Unexpected {
                detail: "HTTP 500: boom".into(),
            },
            KeyCheck::Failed {
                detail: "connection refused (os error 111)".into(),
            },
            KeyCheck::SkippedTls,
        ];
        for outcome in outcomes {
            let line = encode_key_check(&outcome);
            assert!(!line.contains('\n'), "{line:?}");
            assert_eq!(decode_key_check(&format!("{line}\n")), outcome);
        }
        assert!(matches!(
            decode_key_check("garbage"),
            KeyCheck::Failed { detail } if detail.contains("\"garbage\"")
        ));
    }

    #[test]
    fn length_counts_bytes() {
        let mut form = PasswordForm::new(Lang::ZhCn, Mode::FirstRun);
        form.password = "密码密码".into();
        form.confirmation = form.password.clone();
        let rules = form.rules();
        assert_eq!(rules[0].text, "8 到 72 字节（当前 12）");
        assert!(rules[0].passed);
        assert!(!rules[1].passed, "CJK is not printable ASCII");
        assert!(!form.is_valid());
    }

    #[test]
    fn hash_prefix_and_edge_spaces_fail() {
        let mut form = PasswordForm::new(Lang::En, Mode::Reset);
        form.password = "$2a$abcdefgh".into();
        form.confirmation = form.password.clone();
        assert!(!form.rules()[3].passed);
        assert!(!form.is_valid());
        form.password = " abcdefgh".into();
        form.confirmation = form.password.clone();
        assert!(!form.rules()[2].passed);
        assert!(!form.is_valid());
    }
}
