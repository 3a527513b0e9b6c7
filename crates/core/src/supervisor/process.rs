//! What the supervisor needs from the OS about one process: whether it is
//! alive, when it started and which executable it runs, and how to stop it.
//!
//! Linux reads `/proc`, macOS calls `proc_pidinfo`, Windows uses
//! `GetProcessTimes` and `QueryFullProcessImageNameW`. Start times are opaque
//! numbers that are only compared for equality: clock ticks since boot on
//! Linux, microseconds since the Unix epoch on macOS, a FILETIME on Windows.

use std::path::PathBuf;
use std::process::Command;

/// The identity of a live process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    pub start_time: u64,
    /// The executable path as the OS reports it.
    pub exe: Option<PathBuf>,
}

/// Prepares `command` so that the child gets its own process group (and, on
/// Windows, no console window).
pub fn configure_command(command: &mut Command) {
    os::configure_command(command);
}

/// Returns the identity of process `pid`, or `None` when it does not exist,
/// has exited (a zombie counts as exited) or cannot be inspected.
pub fn inspect(pid: u32) -> Option<ProcessInfo> {
    os::inspect(pid)
}

/// Returns whether process `pid` is suspended (stopped by SIGSTOP, SIGTSTP
/// or a debugger). Only Linux reports this; elsewhere it returns false.
pub fn is_suspended(pid: u32) -> bool {
    os::is_suspended(pid)
}

/// Asks the process group led by `pid` to shut down (SIGTERM on Unix,
/// CTRL_BREAK on Windows). Returns whether the request was delivered.
pub fn request_stop(pid: u32) -> bool {
    os::request_stop(pid)
}

/// Kills the process group led by `pid` (SIGKILL on Unix, TerminateProcess on
/// Windows). Returns whether the kill was delivered.
pub fn force_kill(pid: u32) -> bool {
    os::force_kill(pid)
}

/// Returns whether a process that is not a zombie remains in the process
/// group that `pid` led, also after `pid` itself has exited.
///
/// A wrapper script that starts the server without `exec` is the recorded
/// process, and the server is its child in the same group. When the shell
/// exits first, the server may still hold the port for a moment. Windows has
/// no process groups here, so it returns false there.
pub fn group_alive(pid: u32) -> bool {
    os::group_alive(pid)
}

/// Kills what remains of the process group that `pid` led, and nothing else
/// (Unix). Returns whether the kill was delivered.
pub fn kill_group(pid: u32) -> bool {
    os::kill_group(pid)
}

/// Asks what remains of the process group that `pid` led to shut down, and
/// nothing else (Unix). Returns whether the request was delivered.
pub fn request_group_stop(pid: u32) -> bool {
    os::request_group_stop(pid)
}

#[cfg(unix)]
mod os {
    use super::ProcessInfo;
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    pub fn configure_command(command: &mut Command) {
        command.process_group(0);
    }

    pub fn request_stop(pid: u32) -> bool {
        let delivered = signal_group(pid, libc::SIGTERM);
        // A suspended process (SIGSTOP, Ctrl+Z) keeps SIGTERM pending until
        // it runs again; SIGCONT lets it act on it. A running one ignores it.
        if delivered {
            signal_group(pid, libc::SIGCONT);
        }
        delivered
    }

    pub fn force_kill(pid: u32) -> bool {
        signal_group(pid, libc::SIGKILL)
    }

    pub fn group_alive(pid: u32) -> bool {
        let Ok(group) = libc::pid_t::try_from(pid) else {
            return false;
        };
        if group <= 1 {
            return false;
        }
        // SAFETY: signal 0 only checks that the group exists and may be
        // signalled. The group's id cannot be reused while a member exists.
        let exists = unsafe { libc::kill(-group, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        exists && has_live_member(group)
    }

    pub fn kill_group(pid: u32) -> bool {
        signal_group_only(pid, libc::SIGKILL)
    }

    pub fn request_group_stop(pid: u32) -> bool {
        let delivered = signal_group_only(pid, libc::SIGTERM);
        if delivered {
            signal_group_only(pid, libc::SIGCONT);
        }
        delivered
    }

    fn signal_group_only(pid: u32, signal: libc::c_int) -> bool {
        let Ok(group) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // SAFETY: as in `signal_group`, without the fallback to the single
        // process, whose pid may be free again once it has exited.
        group > 1 && unsafe { libc::kill(-group, signal) } == 0
    }

    /// Returns whether a member of `group` is not a zombie. A zombie has
    /// already closed its sockets. In a container whose first process does
    /// not reap orphans, a zombie would otherwise count as running forever.
    #[cfg(target_os = "linux")]
    fn has_live_member(group: libc::pid_t) -> bool {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return true;
        };
        entries.flatten().any(|entry| {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                return false;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // After the parenthesized command name: state (field 3), parent
            // (field 4) and process group (field 5).
            let Some(end) = stat.rfind(')') else {
                return false;
            };
            let fields: Vec<&str> = stat[end + 1..].split_whitespace().take(3).collect();
            match fields.as_slice() {
                [state, _, pgrp] => {
                    pgrp.parse::<libc::pid_t>() == Ok(group) && !matches!(*state, "Z" | "X" | "x")
                }
                _ => false,
            }
        })
    }

    /// Counts zombie members as alive. Orphans are reparented to the init
    /// process (launchd on macOS), which reaps them.
    #[cfg(not(target_os = "linux"))]
    fn has_live_member(_group: libc::pid_t) -> bool {
        true
    }

    fn signal_group(pid: u32, signal: libc::c_int) -> bool {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        if pid <= 1 {
            return false;
        }
        // SAFETY: kill has no memory-safety preconditions. A negative pid
        // addresses the process group, which the child leads because it was
        // spawned with process_group(0).
        let group = unsafe { libc::kill(-pid, signal) } == 0;
        if group {
            return true;
        }
        // SAFETY: as above; falls back to the process itself when its group
        // is gone (for example a child that changed its own group).
        unsafe { libc::kill(pid, signal) == 0 }
    }

    #[cfg(target_os = "linux")]
    pub fn inspect(pid: u32) -> Option<ProcessInfo> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name (field 2) is in parentheses and may contain spaces,
        // so fields are counted after the last ')'. Field 3 is the state,
        // field 22 the start time in clock ticks after boot.
        let after_name = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let state = *fields.first()?;
        if state == "Z" || state == "X" || state == "x" {
            return None;
        }
        let start_time = fields.get(19)?.parse().ok()?;
        let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
            .ok()
            .map(|path| {
                // A binary replaced while running (e.g. by a rebuild) reads as
                // "<path> (deleted)"; the path is still the one it was started from.
                let text = path.to_string_lossy();
                match text.strip_suffix(" (deleted)") {
                    Some(stripped) => std::path::PathBuf::from(stripped),
                    None => path,
                }
            });
        Some(ProcessInfo { start_time, exe })
    }

    #[cfg(target_os = "linux")]
    pub fn is_suspended(pid: u32) -> bool {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        // Field 3, the state, follows the parenthesized command name: `T` is
        // stopped by a signal, `t` stopped by a tracer.
        stat.rfind(')')
            .and_then(|end| stat[end + 1..].split_whitespace().next())
            .is_some_and(|state| state == "T" || state == "t")
    }

    #[cfg(not(target_os = "linux"))]
    pub fn is_suspended(_pid: u32) -> bool {
        false
    }

    #[cfg(target_os = "macos")]
    pub fn inspect(pid: u32) -> Option<ProcessInfo> {
        let pid = libc::c_int::try_from(pid).ok()?;
        // SAFETY: proc_bsdinfo is plain old data, so all-zero is a valid value.
        let mut info: libc::proc_bsdinfo = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::proc_bsdinfo>() as libc::c_int;
        // SAFETY: the buffer is a proc_bsdinfo of exactly `size` bytes.
        let written = unsafe {
            libc::proc_pidinfo(
                pid,
                libc::PROC_PIDTBSDINFO,
                0,
                (&mut info as *mut libc::proc_bsdinfo).cast(),
                size,
            )
        };
        if written != size {
            return None;
        }
        // SZOMB: the process has exited and waits to be reaped.
        if info.pbi_status == 5 {
            return None;
        }
        let start_time = info.pbi_start_tvsec * 1_000_000 + info.pbi_start_tvusec;
        let mut buffer = vec![0u8; libc::PROC_PIDPATHINFO_MAXSIZE as usize];
        // SAFETY: the buffer has the length passed.
        let length =
            unsafe { libc::proc_pidpath(pid, buffer.as_mut_ptr().cast(), buffer.len() as u32) };
        let exe = (length > 0).then(|| {
            use std::os::unix::ffi::OsStrExt;
            std::path::PathBuf::from(std::ffi::OsStr::from_bytes(&buffer[..length as usize]))
        });
        Some(ProcessInfo { start_time, exe })
    }

    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    pub fn inspect(_pid: u32) -> Option<ProcessInfo> {
        // TODO: read the start time on the BSDs (kinfo_proc); until then no
        // recorded process is trusted there, so stop never signals one.
        None
    }
}

#[cfg(windows)]
mod os {
    use super::ProcessInfo;
    use std::os::windows::ffi::OsStringExt;
    use std::os::windows::process::CommandExt;
    use std::process::Command;
    use windows_sys::Win32::Foundation::{
        CloseHandle, FILETIME, HANDLE, HANDLE_FLAG_INHERIT, INVALID_HANDLE_VALUE, STILL_ACTIVE,
        SetHandleInformation,
    };
    use windows_sys::Win32::System::Console::{
        AttachConsole, CTRL_BREAK_EVENT, FreeConsole, GenerateConsoleCtrlEvent, GetStdHandle,
        STD_ERROR_HANDLE, STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, SetConsoleCtrlHandler, SetStdHandle,
    };
    use windows_sys::Win32::System::Threading::{
        CREATE_NEW_PROCESS_GROUP, CREATE_NO_WINDOW, GetExitCodeProcess, GetProcessTimes,
        OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_TERMINATE,
        QueryFullProcessImageNameW, TerminateProcess,
    };

    /// `AttachConsole` argument that re-attaches the parent's console.
    const ATTACH_PARENT_PROCESS: u32 = u32::MAX;

    pub fn configure_command(command: &mut Command) {
        command.creation_flags(CREATE_NO_WINDOW | CREATE_NEW_PROCESS_GROUP);
        // CreateProcess passes every inheritable handle to the child, and
        // handles this process received as stdin/stdout/stderr usually are.
        // A server holding the caller's stdout pipe would keep a script's
        // `$(cpa-tray start)` waiting for end-of-file as long as it runs, so
        // the flag is cleared. The child's own standard handles are set
        // explicitly by the supervisor and are not affected.
        for id in [STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE] {
            // SAFETY: GetStdHandle takes no pointers, and SetHandleInformation
            // only changes a flag of a handle this process owns.
            unsafe {
                let handle = GetStdHandle(id);
                if !handle.is_null() && handle != INVALID_HANDLE_VALUE {
                    SetHandleInformation(handle, HANDLE_FLAG_INHERIT, 0);
                }
            }
        }
    }

    struct Handle(HANDLE);

    impl Drop for Handle {
        fn drop(&mut self) {
            // SAFETY: the handle came from OpenProcess and is closed once.
            unsafe { CloseHandle(self.0) };
        }
    }

    fn open(pid: u32, access: u32) -> Option<Handle> {
        // SAFETY: OpenProcess has no pointer arguments.
        let handle = unsafe { OpenProcess(access, 0, pid) };
        (!handle.is_null()).then_some(Handle(handle))
    }

    pub fn inspect(pid: u32) -> Option<ProcessInfo> {
        let handle = open(pid, PROCESS_QUERY_LIMITED_INFORMATION)?;
        let mut code = 0u32;
        // SAFETY: `code` is a valid out pointer.
        if unsafe { GetExitCodeProcess(handle.0, &mut code) } == 0 || code != STILL_ACTIVE as u32 {
            return None;
        }
        let zero = FILETIME {
            dwLowDateTime: 0,
            dwHighDateTime: 0,
        };
        let (mut created, mut exited, mut kernel, mut user) = (zero, zero, zero, zero);
        // SAFETY: all four are valid FILETIME out pointers.
        let ok =
            unsafe { GetProcessTimes(handle.0, &mut created, &mut exited, &mut kernel, &mut user) };
        if ok == 0 {
            return None;
        }
        let start_time =
            (u64::from(created.dwHighDateTime) << 32) | u64::from(created.dwLowDateTime);
        let mut buffer = vec![0u16; 32_768];
        let mut length = buffer.len() as u32;
        // SAFETY: the buffer has room for `length` UTF-16 units.
        let ok =
            unsafe { QueryFullProcessImageNameW(handle.0, 0, buffer.as_mut_ptr(), &mut length) };
        let exe = (ok != 0).then(|| {
            std::path::PathBuf::from(std::ffi::OsString::from_wide(&buffer[..length as usize]))
        });
        Some(ProcessInfo { start_time, exe })
    }

    /// Sends CTRL_BREAK to the child's console process group, which the Go
    /// runtime turns into os.Interrupt.
    ///
    /// The event only reaches processes that share the caller's console, and a
    /// child started with CREATE_NO_WINDOW has its own hidden one. So this
    /// process detaches from its console and attaches to the child's. It then
    /// ignores the event itself, sends it, and re-attaches to its parent's console.
    // NOTE: cross-compiled for Windows but never run there yet, so it needs a
    // check on a Windows machine.
    pub fn request_stop(pid: u32) -> bool {
        // Switching consoles resets this process's standard handles, so they
        // are saved first and restored after; otherwise later output is lost
        // when stdout and stderr are pipes or files.
        let ids = [STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE];
        // SAFETY: GetStdHandle takes no pointers.
        let saved = ids.map(|id| unsafe { GetStdHandle(id) });
        // SAFETY: the console functions take no pointers except the optional
        // handler, passed as None to ignore Ctrl events in this process.
        let sent = unsafe {
            FreeConsole();
            if AttachConsole(pid) == 0 {
                AttachConsole(ATTACH_PARENT_PROCESS);
                false
            } else {
                SetConsoleCtrlHandler(None, 1);
                let sent = GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, pid) != 0;
                FreeConsole();
                AttachConsole(ATTACH_PARENT_PROCESS);
                // Handling stays disabled until the event has been delivered;
                // the short wait keeps this process from taking it as its own.
                std::thread::sleep(std::time::Duration::from_millis(50));
                SetConsoleCtrlHandler(None, 0);
                sent
            }
        };
        for (id, handle) in ids.into_iter().zip(saved) {
            // SAFETY: restores handles this process owned before the switch.
            unsafe { SetStdHandle(id, handle) };
        }
        sent
    }

    /// Windows suspends threads, not processes, and has no cheap query for
    /// it, so a suspended server shows as not responding.
    pub fn is_suspended(_pid: u32) -> bool {
        false
    }

    pub fn force_kill(pid: u32) -> bool {
        let Some(handle) = open(pid, PROCESS_TERMINATE) else {
            return false;
        };
        // SAFETY: a valid process handle with PROCESS_TERMINATE access.
        unsafe { TerminateProcess(handle.0, 1) != 0 }
    }

    // NOTE: Windows has no process group to wait for here. A server that a
    // batch file starts is a child of cmd.exe, so a forced stop ends cmd.exe only.
    pub fn group_alive(_pid: u32) -> bool {
        false
    }

    pub fn kill_group(_pid: u32) -> bool {
        false
    }

    pub fn request_group_stop(_pid: u32) -> bool {
        false
    }
}
