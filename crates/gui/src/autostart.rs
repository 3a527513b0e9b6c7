//! Start at Login on each system.
//!
//! - Linux and other XDG desktops: the entry
//!   `$XDG_CONFIG_HOME/autostart/cpa-tray.desktop` (or `~/.config/autostart/...`),
//!   which sessions following the XDG Autostart specification run at login.
//! - macOS: the LaunchAgent `~/Library/LaunchAgents/<LAUNCH_AGENT_LABEL>.plist`
//!   with `RunAtLoad`, which launchd loads at the next login.
//! - Windows: the value [`RUN_VALUE_NAME`] under
//!   `HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run`,
//!   which Explorer runs at login.
//!
//! Each stores the full command line, so a portable copy or a custom
//! `--home` starts the same way it was running when the user ticked the item.

use std::ffi::OsString;
use std::io;
use std::path::PathBuf;

/// File name of the XDG autostart entry.
pub const ENTRY_NAME: &str = "cpa-tray.desktop";

/// Label (and file name stem) of the macOS LaunchAgent.
pub const LAUNCH_AGENT_LABEL: &str = "com.github.kitephp.cliproxyapi-tray";

/// Name of the value under the Windows `Run` key.
pub const RUN_VALUE_NAME: &str = "CLIProxyAPI Tray";

/// Returns the file that enables Start at Login (the XDG entry or the
/// LaunchAgent plist), or `None` on Windows, which uses the registry, and
/// when the home folder is unknown.
pub fn entry_path() -> Option<PathBuf> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    if cfg!(windows) {
        return None;
    }
    if cfg!(target_os = "macos") {
        let home = non_empty("HOME")?;
        return Some(
            PathBuf::from(home)
                .join("Library/LaunchAgents")
                .join(format!("{LAUNCH_AGENT_LABEL}.plist")),
        );
    }
    let config = non_empty("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(config.join("autostart").join(ENTRY_NAME))
}

/// Returns whether Start at Login is on, or `None` where it is unavailable.
pub fn is_enabled() -> Option<bool> {
    #[cfg(windows)]
    {
        Some(run_key::is_set())
    }
    #[cfg(not(windows))]
    {
        entry_path().map(|path| path.is_file())
    }
}

/// Returns what Start at Login runs as stored: the desktop entry or plist
/// text, or the command line in the Windows `Run` value. `None` when it is
/// off or unavailable.
pub fn stored() -> Option<String> {
    #[cfg(windows)]
    {
        run_key::read()
    }
    #[cfg(not(windows))]
    {
        std::fs::read_to_string(entry_path()?).ok()
    }
}

/// Turns Start at Login on or off; `command` is the program and its arguments.
pub fn set_enabled(enable: bool, command: &[OsString]) -> io::Result<()> {
    #[cfg(windows)]
    {
        if enable {
            run_key::set(&windows_command_line(command))
        } else {
            run_key::remove()
        }
    }
    #[cfg(not(windows))]
    {
        let path = entry_path().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "Start at Login needs the home folder: HOME is not set",
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
        let content = if cfg!(target_os = "macos") {
            launch_agent_plist(command)
        } else {
            desktop_entry(command)
        };
        std::fs::write(&path, content)
    }
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

/// Renders the LaunchAgent property list: the command as
/// `ProgramArguments` (no shell, so no shell quoting), started at login
/// (`RunAtLoad`) and never restarted by launchd (the tray's Exit is final).
pub fn launch_agent_plist(command: &[OsString]) -> String {
    let arguments: String = command
        .iter()
        .map(|arg| {
            format!(
                "        <string>{}</string>\n",
                xml_escape(&arg.to_string_lossy())
            )
        })
        .collect();
    let head = [
        r#"<?xml version="1.0" encoding="UTF-8"?>"#,
        r#"<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">"#,
        r#"<plist version="1.0">"#,
        "<dict>",
        "    <key>Label</key>",
    ];
    let tail = [
        "    </array>",
        "    <key>RunAtLoad</key>",
        "    <true/>",
        "    <key>KeepAlive</key>",
        "    <false/>",
        "    <key>ProcessType</key>",
        "    <string>Interactive</string>",
        "</dict>",
        "</plist>",
    ];
    format!(
        "{}\n    <string>{LAUNCH_AGENT_LABEL}</string>\n    <key>ProgramArguments</key>\n    <array>\n{arguments}{}\n",
        head.join("\n"),
        tail.join("\n")
    )
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// Joins `command` into one Windows command line that `CommandLineToArgvW`
/// and the Rust runtime split back into the same arguments. An argument with
/// spaces, tabs or quotes is quoted. Inside it, a quote is escaped with a
/// backslash, and backslashes before a quote are doubled.
pub fn windows_command_line(command: &[OsString]) -> String {
    let quoted: Vec<String> = command
        .iter()
        .map(|arg| quote_windows_argument(&arg.to_string_lossy()))
        .collect();
    quoted.join(" ")
}

fn quote_windows_argument(arg: &str) -> String {
    let needs_quotes = arg.is_empty() || arg.contains([' ', '\t', '"']);
    if !needs_quotes {
        return arg.to_string();
    }
    let mut quoted = String::from("\"");
    let mut backslashes = 0;
    for character in arg.chars() {
        match character {
            '\\' => backslashes += 1,
            '"' => {
                quoted.push_str(&"\\".repeat(backslashes * 2 + 1));
                quoted.push('"');
                backslashes = 0;
            }
            other => {
                quoted.push_str(&"\\".repeat(backslashes));
                quoted.push(other);
                backslashes = 0;
            }
        }
    }
    // Backslashes before the closing quote must not escape it.
    quoted.push_str(&"\\".repeat(backslashes * 2));
    quoted.push('"');
    quoted
}

#[cfg(windows)]
mod run_key {
    //! The `Run` value under HKEY_CURRENT_USER.

    use std::io;

    use windows_sys::Win32::Foundation::{ERROR_FILE_NOT_FOUND, ERROR_SUCCESS};
    use windows_sys::Win32::System::Registry::{
        HKEY, HKEY_CURRENT_USER, KEY_QUERY_VALUE, KEY_SET_VALUE, REG_OPTION_NON_VOLATILE, REG_SZ,
        RegCloseKey, RegCreateKeyExW, RegDeleteValueW, RegOpenKeyExW, RegQueryValueExW,
        RegSetValueExW,
    };

    use super::RUN_VALUE_NAME;

    const RUN_KEY: &str = r"Software\Microsoft\Windows\CurrentVersion\Run";

    fn wide(text: &str) -> Vec<u16> {
        text.encode_utf16().chain(std::iter::once(0)).collect()
    }

    fn error(code: u32, action: &str) -> io::Error {
        let err = io::Error::from_raw_os_error(code as i32);
        io::Error::new(
            err.kind(),
            format!(r"failed to {action} HKCU\{RUN_KEY}\{RUN_VALUE_NAME}: {err}"),
        )
    }

    /// An open registry key, closed on drop.
    struct Key(HKEY);

    impl Drop for Key {
        fn drop(&mut self) {
            // SAFETY: the handle came from RegOpenKeyExW/RegCreateKeyExW.
            unsafe {
                RegCloseKey(self.0);
            }
        }
    }

    fn open(access: u32) -> Result<Key, u32> {
        let path = wide(RUN_KEY);
        let mut key: HKEY = std::ptr::null_mut();
        // SAFETY: `path` is NUL-terminated and `key` receives the handle.
        let status = unsafe {
            RegCreateKeyExW(
                HKEY_CURRENT_USER,
                path.as_ptr(),
                0,
                std::ptr::null(),
                REG_OPTION_NON_VOLATILE,
                access,
                std::ptr::null(),
                &mut key,
                std::ptr::null_mut(),
            )
        };
        if status == ERROR_SUCCESS {
            Ok(Key(key))
        } else {
            Err(status)
        }
    }

    pub fn is_set() -> bool {
        let path = wide(RUN_KEY);
        let name = wide(RUN_VALUE_NAME);
        let mut key: HKEY = std::ptr::null_mut();
        // SAFETY: NUL-terminated strings; `key` receives the handle.
        let status = unsafe {
            RegOpenKeyExW(
                HKEY_CURRENT_USER,
                path.as_ptr(),
                0,
                KEY_QUERY_VALUE,
                &mut key,
            )
        };
        if status != ERROR_SUCCESS {
            return false;
        }
        let key = Key(key);
        // SAFETY: only asks whether the value exists; no buffer is passed.
        let status = unsafe {
            RegQueryValueExW(
                key.0,
                name.as_ptr(),
                std::ptr::null(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        status == ERROR_SUCCESS
    }

    /// Returns the command line stored in the value, if it exists.
    pub fn read() -> Option<String> {
        let path = wide(RUN_KEY);
        let name = wide(RUN_VALUE_NAME);
        let mut key: HKEY = std::ptr::null_mut();
        // SAFETY: NUL-terminated strings; `key` receives the handle.
        let status = unsafe {
            RegOpenKeyExW(
                HKEY_CURRENT_USER,
                path.as_ptr(),
                0,
                KEY_QUERY_VALUE,
                &mut key,
            )
        };
        if status != ERROR_SUCCESS {
            return None;
        }
        let key = Key(key);
        let mut bytes = 0u32;
        // SAFETY: a null buffer asks only for the size in `bytes`.
        let status = unsafe {
            RegQueryValueExW(
                key.0,
                name.as_ptr(),
                std::ptr::null(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &mut bytes,
            )
        };
        if status != ERROR_SUCCESS {
            return None;
        }
        let mut data = vec![0u16; (bytes as usize).div_ceil(2)];
        // SAFETY: `data` holds `bytes` bytes, as the size query returned.
        let status = unsafe {
            RegQueryValueExW(
                key.0,
                name.as_ptr(),
                std::ptr::null(),
                std::ptr::null_mut(),
                data.as_mut_ptr().cast(),
                &mut bytes,
            )
        };
        if status != ERROR_SUCCESS {
            return None;
        }
        let end = data
            .iter()
            .position(|unit| *unit == 0)
            .unwrap_or(data.len());
        Some(String::from_utf16_lossy(&data[..end]))
    }

    pub fn set(command_line: &str) -> io::Result<()> {
        let key = open(KEY_SET_VALUE).map_err(|code| error(code, "open"))?;
        let name = wide(RUN_VALUE_NAME);
        let data = wide(command_line);
        let bytes = u32::try_from(data.len() * 2)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "command line too long"))?;
        // SAFETY: `data` is a NUL-terminated UTF-16 string of `bytes` bytes.
        let status =
            unsafe { RegSetValueExW(key.0, name.as_ptr(), 0, REG_SZ, data.as_ptr().cast(), bytes) };
        if status == ERROR_SUCCESS {
            Ok(())
        } else {
            Err(error(status, "write"))
        }
    }

    pub fn remove() -> io::Result<()> {
        let key = open(KEY_SET_VALUE).map_err(|code| error(code, "open"))?;
        let name = wide(RUN_VALUE_NAME);
        // SAFETY: `name` is NUL-terminated.
        let status = unsafe { RegDeleteValueW(key.0, name.as_ptr()) };
        if status == ERROR_SUCCESS || status == ERROR_FILE_NOT_FOUND {
            Ok(())
        } else {
            Err(error(status, "delete"))
        }
    }
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

    #[test]
    fn plist_lists_escaped_arguments() {
        let plist = launch_agent_plist(&[
            "/Applications/CPA Tray.app/Contents/MacOS/cpa-tray".into(),
            "--home".into(),
            "/Users/zoë/a&b <c>".into(),
        ]);
        assert!(plist.contains(&format!("<string>{LAUNCH_AGENT_LABEL}</string>")));
        assert!(plist.contains(
            "    <array>\n        <string>/Applications/CPA Tray.app/Contents/MacOS/cpa-tray</string>\n        <string>--home</string>\n        <string>/Users/zoë/a&amp;b &lt;c&gt;</string>\n    </array>\n"
        ));
        assert!(plist.contains("<key>RunAtLoad</key>\n    <true/>"));
        assert!(plist.contains("<key>KeepAlive</key>\n    <false/>"));
    }

    #[test]
    fn windows_command_line_quotes_like_argv() {
        let line = windows_command_line(&[
            r"C:\Program Files [x64]\cpa-trayw.exe".into(),
            "--home".into(),
            r"C:\Users\Zoë\cpa data\".into(),
            r#"say "hi""#.into(),
            "".into(),
            r"C:\plain\path".into(),
        ]);
        assert_eq!(
            line,
            r#""C:\Program Files [x64]\cpa-trayw.exe" --home "C:\Users\Zoë\cpa data\\" "say \"hi\"" "" C:\plain\path"#
        );
    }
}
