//! Windows-only parts of the tray: DPI awareness, balloons on our own icon,
//! and console-less child processes.

use std::os::windows::process::CommandExt;
use std::process::Command;

use windows_sys::Win32::Foundation::HWND;
use windows_sys::Win32::System::Threading::{CREATE_NO_WINDOW, GetCurrentProcessId};
use windows_sys::Win32::UI::HiDpi::{
    DPI_AWARENESS_CONTEXT_PER_MONITOR_AWARE_V2, SetProcessDpiAwarenessContext,
};
use windows_sys::Win32::UI::Shell::{
    NIF_GUID, NIF_INFO, NIIF_ERROR, NIIF_INFO, NIIF_WARNING, NIM_MODIFY, NOTIFYICONDATAW,
    Shell_NotifyIconW,
};
use windows_sys::Win32::UI::WindowsAndMessaging::{FindWindowExW, GetWindowThreadProcessId};
use windows_sys::core::GUID;

use crate::notify::Level;

/// Window class of the hidden window that tray-icon 0.26 creates for each
/// icon (`tray_icon_app` in its Windows backend).
const TRAY_WINDOW_CLASS: &str = "tray_icon_app";

/// Makes this process per-monitor DPI aware (version 2), so the menu and the
/// dialogs are drawn sharp on every monitor. winit 0.30 makes the same call
/// when it builds an event loop. This explicit call does not depend on that,
/// and whichever call comes second fails harmlessly.
pub fn set_dpi_awareness() {
    // SAFETY: a plain Win32 call with a predefined context value.
    unsafe {
        SetProcessDpiAwarenessContext(DPI_AWARENESS_CONTEXT_PER_MONITOR_AWARE_V2);
    }
}

/// Sets `command` to start without a console window. The tray uses it for
/// its dialogs, which are console programs.
pub fn hide_console(command: &mut Command) {
    command.creation_flags(CREATE_NO_WINDOW);
}

/// Shows a balloon on our tray icon (`Shell_NotifyIconW` with `NIM_MODIFY`
/// and `NIF_INFO`), as the original tray did.
///
/// tray-icon does not expose its window handle, so the handle is found by
/// window class among this process's windows, and the icon is named by its
/// fixed GUID.
// NOTE: type-checked and built for Windows, but not yet seen on a real
// Windows desktop; Wine has no notification area to test it in.
pub fn show_balloon(level: Level, title: &str, body: &str) -> Result<(), String> {
    let window = find_tray_window().ok_or("the tray icon's window was not found")?;
    // SAFETY: NOTIFYICONDATAW is plain data; all-zero is its documented
    // empty state, and every field used is set below.
    let mut data: NOTIFYICONDATAW = unsafe { std::mem::zeroed() };
    data.cbSize = std::mem::size_of::<NOTIFYICONDATAW>() as u32;
    data.hWnd = window;
    data.uFlags = NIF_INFO | NIF_GUID;
    data.guidItem = GUID::from_u128(crate::tray_ui::TRAY_GUID);
    copy_truncated(&mut data.szInfo, body);
    copy_truncated(&mut data.szInfoTitle, title);
    data.dwInfoFlags = match level {
        Level::Info => NIIF_INFO,
        Level::Warning => NIIF_WARNING,
        Level::Error => NIIF_ERROR,
    };
    // SAFETY: `data` is fully initialised and outlives the call.
    let shown = unsafe { Shell_NotifyIconW(NIM_MODIFY, &data) };
    if shown == 0 {
        Err(format!(
            "Shell_NotifyIconW failed: {}",
            std::io::Error::last_os_error()
        ))
    } else {
        Ok(())
    }
}

/// Returns the first `tray_icon_app` window that belongs to this process.
fn find_tray_window() -> Option<HWND> {
    let class = wide(TRAY_WINDOW_CLASS);
    // SAFETY: plain Win32 calls; `class` is NUL-terminated and lives until
    // the loop ends.
    unsafe {
        let own = GetCurrentProcessId();
        let mut after: HWND = std::ptr::null_mut();
        loop {
            let window = FindWindowExW(
                std::ptr::null_mut(),
                after,
                class.as_ptr(),
                std::ptr::null(),
            );
            if window.is_null() {
                return None;
            }
            let mut owner = 0u32;
            GetWindowThreadProcessId(window, &mut owner);
            if owner == own {
                return Some(window);
            }
            after = window;
        }
    }
}

fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().chain(std::iter::once(0)).collect()
}

/// Copies `text` into a fixed UTF-16 field, cut to fit with a NUL at the end.
fn copy_truncated(field: &mut [u16], text: &str) {
    let room = field.len().saturating_sub(1);
    let mut written = 0;
    for (slot, unit) in field.iter_mut().zip(text.encode_utf16().take(room)) {
        *slot = unit;
        written += 1;
    }
    if let Some(end) = field.get_mut(written) {
        *end = 0;
    }
}
