//! Desktop notifications (the original tray's balloon tips) and the tray's log.
//!
//! Linux uses `org.freedesktop.Notifications` through notify-rust, Windows
//! balloons on the tray icon, macOS AppleScript's `display notification`. A missing
//! session bus or notification daemon is not an error: the text still goes to
//! stderr and to `logs/tray.log`, so nothing the user should know is lost.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::text::APP_TITLE;

/// Severity of a notification, like the original tray's Info, Warning and Error balloons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }

    /// Display time in milliseconds, as in the original tray.
    fn timeout_ms(self) -> u32 {
        match self {
            Level::Info => 1500,
            Level::Warning => 2000,
            Level::Error => 2500,
        }
    }
}

static LOG_PATH: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Sets the file that [`log`] appends to (normally `<home>/logs/tray.log`).
pub fn set_log_file(path: &Path) {
    if let Ok(mut slot) = LOG_PATH.lock() {
        *slot = Some(path.to_path_buf());
    }
}

/// Writes one line to stderr and to the log file, if one is set.
///
/// Callers never pass secrets here: passwords stay inside the dialog process.
pub fn log(line: &str) {
    eprintln!("cpa-tray: {line}");
    let path = LOG_PATH.lock().ok().and_then(|slot| slot.clone());
    if let Some(path) = path
        && let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
    {
        let _ = writeln!(file, "{} {line}", unix_seconds());
    }
}

/// Shows `body` as a notification on a worker thread and logs it.
pub fn notify(level: Level, body: String) {
    log(&format!("notification ({}): {body}", level.as_str()));
    let spawned = std::thread::Builder::new()
        .name("notification".into())
        .spawn(move || show(level, &body));
    if let Err(err) = spawned {
        log(&format!("failed to start the notification thread: {err}"));
    }
}

/// Shows a notification and waits until the daemon took it (or refused it).
#[cfg(target_os = "linux")]
pub fn show(level: Level, body: &str) {
    use notify_rust::{Notification, Timeout, Urgency};
    let urgency = match level {
        Level::Info => Urgency::Low,
        Level::Warning => Urgency::Normal,
        Level::Error => Urgency::Critical,
    };
    let result = Notification::new()
        .appname(APP_TITLE)
        .summary(APP_TITLE)
        .body(body)
        .urgency(urgency)
        .timeout(Timeout::Milliseconds(level.timeout_ms()))
        .show();
    if let Err(err) = result {
        // No daemon (or no bus) is a normal situation on servers and in CI.
        log(&format!("notification not shown: {err}"));
    }
}

/// Shows a notification as a balloon on the tray icon.
#[cfg(windows)]
pub fn show(level: Level, body: &str) {
    // Windows decides how long a balloon stays; the original's times only
    // apply to desktop notifications.
    let _ = level.timeout_ms();
    if let Err(err) = crate::windows::show_balloon(level, APP_TITLE, body) {
        log(&format!("notification not shown: {err}"));
    }
}

/// Shows a notification through AppleScript's `display notification`.
///
/// `osascript` ships with every macOS and needs no bindings. The script goes
/// through its standard input, so no text lands in a process argument. macOS
/// may attribute the notification to Script Editor, and the user decides in
/// System Settings whether it is shown.
#[cfg(target_os = "macos")]
pub fn show(level: Level, body: &str) {
    use std::process::{Command, Stdio};
    // macOS decides how long a notification stays.
    let _ = level.timeout_ms();
    let script = applescript_notification(APP_TITLE, body);
    let child = Command::new("/usr/bin/osascript")
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let result = child.and_then(|mut child| {
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(script.as_bytes())?;
        }
        child.wait_with_output()
    });
    match result {
        Ok(output) if output.status.success() => {}
        Ok(output) => log(&format!(
            "notification not shown: osascript {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Err(err) => log(&format!("notification not shown: osascript: {err}")),
    }
}

/// Shows a notification (no notification service on this system).
#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
pub fn show(level: Level, body: &str) {
    // The text is already in the tray's log.
    let _ = (level.timeout_ms(), APP_TITLE, body);
}

/// Returns the AppleScript that shows `body` under `title`.
///
/// AppleScript strings end at `"` and treat `\` as an escape, so both are
/// escaped. Line breaks are joined in with `linefeed`, which keeps the
/// script one statement whatever the text contains.
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
fn applescript_notification(title: &str, body: &str) -> String {
    fn literal(text: &str) -> String {
        let lines: Vec<String> = text
            .replace("\r\n", "\n")
            .split(['\n', '\r'])
            .map(|line| format!("\"{}\"", line.replace('\\', "\\\\").replace('"', "\\\"")))
            .collect();
        lines.join(" & linefeed & ")
    }
    format!(
        "display notification {} with title {}\n",
        literal(body),
        literal(title)
    )
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applescript_escapes_quotes_backslashes_and_line_breaks() {
        let script = applescript_notification(
            "CLIProxyAPI Tray",
            "Failed to write C:\\cpa\\config.yaml: \"denied\"\r\n服务已停止",
        );

        assert_eq!(
            script,
            "display notification \"Failed to write C:\\\\cpa\\\\config.yaml: \\\"denied\\\"\" \
             & linefeed & \"服务已停止\" with title \"CLIProxyAPI Tray\"\n"
        );
    }

    #[test]
    fn applescript_of_a_quote_only_text_stays_one_statement() {
        let script = applescript_notification("t", "\"");

        assert_eq!(script, "display notification \"\\\"\" with title \"t\"\n");
        assert_eq!(script.lines().count(), 1);
    }
}
