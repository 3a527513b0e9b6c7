//! Opening URLs in the user's browser.

use std::io;
use std::process::{Command, Stdio};

/// Returns whether a graphical session is likely available to show a browser.
///
/// Windows and macOS always have one for an interactive user; elsewhere a
/// `DISPLAY` or `WAYLAND_DISPLAY` must be set.
pub fn has_display() -> bool {
    if cfg!(windows) || cfg!(target_os = "macos") {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
}

/// Opens `url` with the system's default handler, without waiting for it.
pub fn open_url(url: &str) -> io::Result<()> {
    let mut command = if cfg!(windows) {
        let mut command = Command::new("rundll32");
        command.arg("url.dll,FileProtocolHandler").arg(url);
        command
    } else if cfg!(target_os = "macos") {
        let mut command = Command::new("open");
        command.arg(url);
        command
    } else {
        let mut command = Command::new("xdg-open");
        command.arg(url);
        command
    };
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(drop)
}
