//! Start at Login: an XDG autostart entry on Linux.
//!
//! The entry is `$XDG_CONFIG_HOME/autostart/cpa-tray.desktop` (or
//! `~/.config/autostart/...`), which desktop sessions following the XDG
//! Autostart specification run at login.

use std::ffi::OsString;
use std::io;
use std::path::PathBuf;

/// File name of the autostart entry.
pub const ENTRY_NAME: &str = "cpa-tray.desktop";

/// Returns the autostart entry path, or `None` where Start at Login is not
/// implemented.
pub fn entry_path() -> Option<PathBuf> {
    if cfg!(windows) || cfg!(target_os = "macos") {
        // TODO: Windows needs the HKCU Run key and macOS a LaunchAgent plist;
        // neither is implemented yet, so the menu item stays disabled there.
        return None;
    }
    let non_empty = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    let config = non_empty("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(config.join("autostart").join(ENTRY_NAME))
}

/// Returns whether the entry exists, or `None` where the feature is unavailable.
pub fn is_enabled() -> Option<bool> {
    entry_path().map(|path| path.is_file())
}

/// Creates or removes the entry; `command` is the program and its arguments.
pub fn set_enabled(enable: bool, command: &[OsString]) -> io::Result<()> {
    let path = entry_path().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::Unsupported,
            "Start at Login is not available on this system",
        )
    })?;
    if !enable {
        return match std::fs::remove_file(&path) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
            _ => Ok(()),
        };
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&path, desktop_entry(command))
}

/// Renders the desktop entry, quoting each argument as the Desktop Entry
/// specification requires for `Exec`.
pub fn desktop_entry(command: &[OsString]) -> String {
    let exec: Vec<String> = command
        .iter()
        .map(|arg| {
            let arg = arg.to_string_lossy();
            let escaped = arg
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('`', "\\`")
                .replace('$', "\\$")
                .replace('%', "%%");
            format!("\"{escaped}\"")
        })
        .collect();
    format!(
        "[Desktop Entry]\nType=Application\nName=CLIProxyAPI Tray\nExec={}\nTerminal=false\nX-GNOME-Autostart-enabled=true\n",
        exec.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_quotes_arguments() {
        let entry = desktop_entry(&[
            "/opt/cpa tray/cpa-tray".into(),
            "--home".into(),
            "100%$x".into(),
        ]);
        assert!(entry.contains("Exec=\"/opt/cpa tray/cpa-tray\" \"--home\" \"100%%\\$x\"\n"));
    }
}
