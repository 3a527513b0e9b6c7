//! The small dialogs: a Yes/No question, the download progress window and About.

use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex};

use cpa_core::messages::Lang;
use eframe::egui;

use super::{EXIT_ACCEPTED, EXIT_CANCELLED, EXIT_FAILED};
use crate::text::{PROJECT_URL, Text};

/// Yes/No question shown by the tray.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmQuestion {
    /// After a password reset while the server runs.
    RestartNow,
}

impl ConfirmQuestion {
    pub fn parse(value: &str) -> Option<ConfirmQuestion> {
        (value == "restart-now").then_some(ConfirmQuestion::RestartNow)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ConfirmQuestion::RestartNow => "restart-now",
        }
    }

    pub fn text(self, lang: Lang) -> String {
        match self {
            ConfirmQuestion::RestartNow => Text::RestartNowQuestion.text(lang),
        }
    }
}

/// A Yes/No question; Enter = Yes, Escape = No.
#[derive(Debug)]
pub struct ConfirmForm {
    pub lang: Lang,
    pub text: String,
}

impl ConfirmForm {
    pub fn new(lang: Lang, question: ConfirmQuestion) -> ConfirmForm {
        ConfirmForm::with_text(lang, question.text(lang))
    }

    /// A question whose text the caller rendered in `lang`.
    pub fn with_text(lang: Lang, text: String) -> ConfirmForm {
        ConfirmForm { lang, text }
    }

    /// Draws the question; returns `Some(true)` for Yes and `Some(false)` for No.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> Option<bool> {
        let mut answer = None;
        ui.label(&self.text);
        ui.add_space(12.0);
        ui.horizontal(|ui| {
            if ui.button(Text::Yes.text(self.lang)).clicked() {
                answer = Some(true);
            }
            if ui.button(Text::No.text(self.lang)).clicked() {
                answer = Some(false);
            }
        });
        let (enter, escape) = ui.input(|input| {
            (
                input.key_pressed(egui::Key::Enter),
                input.key_pressed(egui::Key::Escape),
            )
        });
        if escape {
            answer = Some(false);
        } else if enter {
            answer = Some(true);
        }
        answer
    }
}

/// Answer of a [`ChoiceForm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    First,
    Second,
    Third,
    Cancel,
}

/// A question with two or three choices and Cancel; Enter = the first
/// choice, Escape = Cancel.
#[derive(Debug)]
pub struct ChoiceForm {
    pub lang: Lang,
    pub text: String,
    pub first: String,
    pub second: String,
    /// Label of an optional third button, shown below the second.
    pub third: Option<String>,
}

impl ChoiceForm {
    pub fn new(lang: Lang, text: String, first: String, second: String) -> ChoiceForm {
        ChoiceForm {
            lang,
            text,
            first,
            second,
            third: None,
        }
    }

    /// Adds a third button when `third` is set.
    pub fn with_third(mut self, third: Option<String>) -> ChoiceForm {
        self.third = third;
        self
    }

    /// Draws the question and the buttons, one per line so long labels fit;
    /// returns the answer once given.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> Option<Choice> {
        let mut answer = None;
        ui.label(&self.text);
        ui.add_space(10.0);
        if ui.button(&self.first).clicked() {
            answer = Some(Choice::First);
        }
        if ui.button(&self.second).clicked() {
            answer = Some(Choice::Second);
        }
        if let Some(third) = &self.third
            && ui.button(third).clicked()
        {
            answer = Some(Choice::Third);
        }
        if ui.button(Text::Cancel.text(self.lang)).clicked() {
            answer = Some(Choice::Cancel);
        }
        let (enter, escape) = ui.input(|input| {
            (
                input.key_pressed(egui::Key::Enter),
                input.key_pressed(egui::Key::Escape),
            )
        });
        if escape {
            answer = Some(Choice::Cancel);
        } else if enter && answer.is_none() {
            answer = Some(Choice::First);
        }
        answer
    }
}

/// Progress of a download as reported by the parent process.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    pub started: bool,
    pub received: u64,
    /// `None` while the size is unknown.
    pub total: Option<u64>,
    /// Set when the parent reported the end: `Ok` on success, `Err` with its reason.
    pub finished: Option<Result<(), String>>,
}

impl Progress {
    /// Applies one JSON line from the parent:
    /// `{"received": N, "total": M}` (total may be null), `{"done": true}` or
    /// `{"error": "reason"}`. Unknown lines are ignored.
    pub fn apply_line(&mut self, line: &str) {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
            return;
        };
        if let Some(received) = value.get("received").and_then(serde_json::Value::as_u64) {
            self.started = true;
            self.received = received;
            self.total = value.get("total").and_then(serde_json::Value::as_u64);
        }
        if value.get("done").and_then(serde_json::Value::as_bool) == Some(true) {
            self.finished = Some(Ok(()));
        }
        if let Some(error) = value.get("error").and_then(serde_json::Value::as_str) {
            self.finished = Some(Err(error.to_string()));
        }
    }
}

/// Feeds [`Progress`] from standard input on a reader thread.
#[derive(Debug, Clone)]
pub struct ProgressFeed {
    state: Arc<Mutex<Progress>>,
}

impl ProgressFeed {
    /// Starts the reader thread; each line repaints the window. The end of
    /// input without a `done` line means the parent went away.
    pub fn read_stdin(self, ctx: egui::Context) {
        let spawned = std::thread::Builder::new()
            .name("progress-stdin".into())
            .spawn(move || {
                let stdin = std::io::stdin();
                for line in stdin.lock().lines() {
                    let Ok(line) = line else { break };
                    if let Ok(mut state) = self.state.lock() {
                        state.apply_line(&line);
                    }
                    ctx.request_repaint();
                }
                if let Ok(mut state) = self.state.lock()
                    && state.finished.is_none()
                {
                    state.finished = Some(Err("the download process stopped reporting".into()));
                }
                ctx.request_repaint();
            });
        if let Err(err) = spawned {
            eprintln!("cpa-tray ui: failed to start the progress reader: {err}");
        }
    }
}

/// The download progress window: label, bar, `<pct>%  <received> MB / <total> MB`, Cancel.
#[derive(Debug)]
pub struct ProgressForm {
    pub lang: Lang,
    state: Arc<Mutex<Progress>>,
}

impl ProgressForm {
    pub fn new(lang: Lang) -> ProgressForm {
        ProgressForm {
            lang,
            state: Arc::default(),
        }
    }

    pub fn feed(&self) -> ProgressFeed {
        ProgressFeed {
            state: self.state.clone(),
        }
    }

    /// Returns the label and detail line for the current progress.
    pub fn lines(&self) -> (String, String, f32) {
        let progress = self
            .state
            .lock()
            .map(|state| state.clone())
            .unwrap_or_default();
        let mb = |bytes: u64| bytes as f64 / 1_000_000.0;
        if !progress.started {
            return (Text::DownloadPreparing.text(self.lang), String::new(), 0.0);
        }
        let label = Text::DownloadRunning.text(self.lang);
        match progress.total.filter(|total| *total > 0) {
            Some(total) => {
                let fraction = (progress.received as f64 / total as f64).clamp(0.0, 1.0);
                let detail = Text::DownloadDetail {
                    percent: (fraction * 100.0).floor() as u8,
                    received_mb: mb(progress.received),
                    total_mb: mb(total),
                }
                .text(self.lang);
                (label, detail, fraction as f32)
            }
            None => {
                let detail = Text::DownloadDetailUnknownSize {
                    received_mb: mb(progress.received),
                }
                .text(self.lang);
                (label, detail, 0.0)
            }
        }
    }

    /// Draws the window; returns the exit status once the download ended or
    /// the user cancelled. Cancel prints `cancel` on stdout for the parent.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> Option<u8> {
        let finished = self
            .state
            .lock()
            .ok()
            .and_then(|state| state.finished.clone());
        match finished {
            Some(Ok(())) => return Some(EXIT_ACCEPTED),
            Some(Err(reason)) => {
                eprintln!("cpa-tray ui: download failed: {reason}");
                return Some(EXIT_FAILED);
            }
            None => {}
        }
        let (label, detail, fraction) = self.lines();
        ui.label(label);
        ui.add(egui::ProgressBar::new(fraction));
        ui.label(detail);
        ui.add_space(8.0);
        let cancel = ui.button(Text::Cancel.text(self.lang)).clicked()
            || ui.input(|input| input.key_pressed(egui::Key::Escape));
        if cancel {
            send_cancel();
            return Some(EXIT_CANCELLED);
        }
        None
    }
}

/// Tells the parent to cancel the download: a `cancel` line on stdout.
/// Sending it twice is harmless.
pub fn send_cancel() {
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "cancel");
    let _ = stdout.flush();
}

/// The About window: tray and server versions, and a link to the project.
#[derive(Debug)]
pub struct AboutForm {
    pub lang: Lang,
    pub server: String,
}

impl AboutForm {
    pub fn new(lang: Lang, server: String) -> AboutForm {
        AboutForm { lang, server }
    }

    /// Draws the window; returns `true` when the user closes it.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> bool {
        ui.label(
            Text::AboutBody {
                tray_version: env!("CARGO_PKG_VERSION"),
                server: &self.server,
            }
            .text(self.lang),
        );
        ui.hyperlink_to(Text::AboutProjectLink.text(self.lang), PROJECT_URL);
        ui.add_space(8.0);
        ui.button(Text::Close.text(self.lang)).clicked()
            || ui.input(|input| {
                input.key_pressed(egui::Key::Escape) || input.key_pressed(egui::Key::Enter)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_follow_reports() {
        let form = ProgressForm::new(Lang::En);
        assert_eq!(form.lines().0, "Preparing download...");
        let feed = form.feed();
        {
            let mut state = feed.state.lock().unwrap();
            state.apply_line(r#"{"received": 1500000, "total": 3000000}"#);
        }
        let (label, detail, fraction) = form.lines();
        assert_eq!(label, "Downloading CLIProxyAPI...");
        assert_eq!(detail, "50%  1.5 MB / 3.0 MB");
        assert!((fraction - 0.5).abs() < 1e-6);

        feed.state
            .lock()
            .unwrap()
            .apply_line(r#"{"received": 2000000, "total": null}"#);
        assert_eq!(form.lines().1, "2.0 MB downloaded");

        feed.state.lock().unwrap().apply_line("not json");
        feed.state
            .lock()
            .unwrap()
            .apply_line(r#"{"error": "HTTP 404"}"#);
        assert_eq!(
            feed.state.lock().unwrap().finished,
            Some(Err("HTTP 404".to_string()))
        );
    }
}
