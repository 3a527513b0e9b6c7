//! Ctrl+C guards: end the process cleanly during a prompt, or cancel a
//! download and keep running.
//!
//! While a guard lives, Ctrl+C (also SIGTERM and SIGHUP on Unix, Ctrl+Break
//! on Windows) runs a handler of this module instead of the default action,
//! which would end the process without a word. Dropping the guard restores
//! the default handling. Only one guard should live at a time, because
//! signal handlers are process-wide.
//!
//! [`ExitOnInterrupt`] guards a prompt. A password prompt turns terminal echo
//! off and blocks in a read. The read never returns for a signal: std retries
//! reads interrupted by a handler, and rpassword 7 reads the Ctrl+C byte
//! itself (it clears `ISIG`) and then raises SIGINT. So the handler does the
//! whole cancellation itself: it restores the terminal modes saved when the
//! guard was made, writes the cancel message to stderr and exits with status
//! 130. On Windows it also runs for closing the console. Exiting from the
//! handler is safe for the callers because a prompt runs before anything is
//! written and before the home folder's lock is taken.
//!
//! [`CancelOnInterrupt`] guards a download. Ending the process in the middle
//! of a write would leave a temporary download in `versions/` until a later
//! install deletes it (after six hours). So the first Ctrl+C only sets the
//! flag that [`crate::releases::install`] reads before every chunk, and the
//! install removes its temporary entries and returns
//! [`crate::releases::ReleaseError::Cancelled`]. A read that is waiting for
//! the network notices the flag when the next chunk arrives or the read
//! timeout ends. So the handler prints a notice at once, and a second Ctrl+C
//! ends the process at once (status 130), for a stalled connection.
//!
//! On Unix the handlers make only async-signal-safe calls (atomic loads and
//! stores, `tcsetattr`, `write`, `_exit`) and read only leaked allocations
//! that are never freed. On Windows the console runs each handler on a
//! thread of its own, not in a signal context, so they may lock and write
//! like any other code.

use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

/// Exit status after an interrupt, the shell's convention for SIGINT (128 + 2).
pub const INTERRUPTED_EXIT_CODE: u8 = 130;

/// Set by the download handler; cleared when a [`CancelOnInterrupt`] is installed.
static CANCELLED: AtomicBool = AtomicBool::new(false);

/// Line the handler writes to stderr, or null for none. One atomic pointer
/// to a leaked slice, so a handler always reads a matching address and
/// length.
static MESSAGE: AtomicPtr<&'static [u8]> = AtomicPtr::new(std::ptr::null_mut());

/// Guard that ends the process when Ctrl+C arrives during a prompt.
pub struct ExitOnInterrupt {
    _private: (),
}

impl ExitOnInterrupt {
    /// Saves the terminal modes and installs the handler, which prints
    /// `message` (one line) when it runs.
    pub fn install(message: &str) -> ExitOnInterrupt {
        set_message(message);
        os::save_terminal();
        os::install(Reaction::Exit);
        ExitOnInterrupt { _private: () }
    }
}

impl Drop for ExitOnInterrupt {
    fn drop(&mut self) {
        os::uninstall(Reaction::Exit);
        set_message("");
    }
}

/// Guard that turns Ctrl+C into a request to cancel a download.
pub struct CancelOnInterrupt {
    _private: (),
}

impl CancelOnInterrupt {
    /// Clears the cancel flag and installs the handler.
    pub fn install() -> CancelOnInterrupt {
        CANCELLED.store(false, Ordering::SeqCst);
        os::install(Reaction::Cancel);
        CancelOnInterrupt { _private: () }
    }

    /// Installs the handler, which also prints `notice` (one line, on
    /// stderr) at the first interrupt, so the user knows it was received
    /// while a stalled read still waits.
    pub fn install_with_notice(notice: &str) -> CancelOnInterrupt {
        set_message(notice);
        CancelOnInterrupt::install()
    }

    /// Returns the cancel flag to pass to [`crate::releases::install`].
    pub fn flag(&self) -> &'static AtomicBool {
        &CANCELLED
    }
}

impl Drop for CancelOnInterrupt {
    fn drop(&mut self) {
        os::uninstall(Reaction::Cancel);
        set_message("");
    }
}

/// Handler behaviour of a guard.
#[derive(Clone, Copy)]
enum Reaction {
    /// Restore the terminal, print the message and exit.
    Exit,
    /// Set the cancel flag and print the message; exit on the second interrupt.
    Cancel,
}

/// Stores `message` framed by line breaks for the handler, because the
/// cursor may stand after a prompt's echoed `^C` or a progress bar. The
/// buffer is leaked on purpose: a handler may still read it after the guard
/// is gone, and a process installs at most a few guards.
fn set_message(message: &str) {
    if message.is_empty() {
        MESSAGE.store(std::ptr::null_mut(), Ordering::SeqCst);
        return;
    }
    let mut bytes = Vec::with_capacity(message.len() + 2);
    bytes.push(b'\n');
    bytes.extend_from_slice(message.as_bytes());
    bytes.push(b'\n');
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    MESSAGE.store(Box::into_raw(Box::new(bytes)), Ordering::SeqCst);
}

/// Returns the stored message; empty when there is none.
fn message() -> &'static [u8] {
    let stored = MESSAGE.load(Ordering::SeqCst);
    if stored.is_null() {
        return &[];
    }
    // SAFETY: a non-null pointer comes from `Box::into_raw` in `set_message`
    // and is never freed.
    unsafe { *stored }
}

/// Records one interrupt; returns whether it is the second one.
fn note_interrupt() -> bool {
    CANCELLED.swap(true, Ordering::SeqCst)
}

#[cfg(unix)]
mod os {
    use std::sync::atomic::{AtomicI32, AtomicPtr, Ordering};

    use super::{INTERRUPTED_EXIT_CODE, Reaction};

    const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

    /// Descriptor of `/dev/tty`, or -1 without a controlling terminal.
    static TTY: AtomicI32 = AtomicI32::new(-1);
    /// Terminal modes saved by [`save_terminal`], or null.
    static MODES: AtomicPtr<libc::termios> = AtomicPtr::new(std::ptr::null_mut());

    /// Writes the stored message to stderr; async-signal-safe.
    fn write_message() {
        let message = super::message();
        if !message.is_empty() {
            // SAFETY: write is async-signal-safe, and the slice is a leaked
            // allocation that is never freed.
            unsafe { libc::write(libc::STDERR_FILENO, message.as_ptr().cast(), message.len()) };
        }
    }

    extern "C" fn exit_now(_signal: libc::c_int) {
        let tty = TTY.load(Ordering::SeqCst);
        let modes = MODES.load(Ordering::SeqCst);
        if tty >= 0 && !modes.is_null() {
            // SAFETY: tcsetattr is async-signal-safe, and `modes` points to a
            // leaked allocation that is never freed.
            unsafe { libc::tcsetattr(tty, libc::TCSANOW, modes) };
        }
        write_message();
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(libc::c_int::from(INTERRUPTED_EXIT_CODE)) };
    }

    extern "C" fn cancel(_signal: libc::c_int) {
        if super::note_interrupt() {
            // SAFETY: _exit is async-signal-safe.
            unsafe { libc::_exit(libc::c_int::from(INTERRUPTED_EXIT_CODE)) };
        }
        write_message();
    }

    pub fn install(reaction: Reaction) {
        let handler = match reaction {
            Reaction::Exit => exit_now as extern "C" fn(libc::c_int),
            Reaction::Cancel => cancel as extern "C" fn(libc::c_int),
        };
        for signal in SIGNALS {
            // SAFETY: both handlers only make async-signal-safe calls.
            unsafe { libc::signal(signal, handler as libc::sighandler_t) };
        }
    }

    pub fn uninstall(_reaction: Reaction) {
        for signal in SIGNALS {
            // SAFETY: restores the default action; no handler code is involved.
            unsafe { libc::signal(signal, libc::SIG_DFL) };
        }
    }

    /// Opens the controlling terminal once and saves its current modes.
    pub fn save_terminal() {
        if TTY.load(Ordering::SeqCst) < 0 {
            // SAFETY: the path is a NUL-terminated literal.
            let fd = unsafe {
                libc::open(
                    c"/dev/tty".as_ptr(),
                    libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
                )
            };
            if fd < 0 {
                return;
            }
            TTY.store(fd, Ordering::SeqCst);
        }
        let fd = TTY.load(Ordering::SeqCst);
        // SAFETY: termios is plain old data, so all-zero is a valid value,
        // and tcgetattr fills it through a valid pointer.
        let mut modes: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(fd, &mut modes) } != 0 {
            return;
        }
        // The previous value is leaked, not freed, because a handler running
        // on another thread may still read it.
        MODES.store(Box::into_raw(Box::new(modes)), Ordering::SeqCst);
    }
}

#[cfg(windows)]
mod os {
    use std::io::Write;
    use std::sync::atomic::{AtomicU32, Ordering};

    use windows_sys::Win32::Foundation::{FALSE, HANDLE, INVALID_HANDLE_VALUE, TRUE};
    use windows_sys::Win32::System::Console::{
        CTRL_BREAK_EVENT, CTRL_C_EVENT, GetConsoleMode, GetStdHandle, STD_INPUT_HANDLE,
        SetConsoleCtrlHandler, SetConsoleMode,
    };
    use windows_sys::core::BOOL;

    use super::{INTERRUPTED_EXIT_CODE, Reaction};

    /// Console input mode saved by [`save_terminal`]; `u32::MAX` when stdin
    /// is no console.
    static MODE: AtomicU32 = AtomicU32::new(u32::MAX);

    fn write_message() {
        let _ = std::io::stderr().write_all(super::message());
    }

    /// Handles every console event, console close included.
    unsafe extern "system" fn exit_now(_event: u32) -> BOOL {
        let mode = MODE.load(Ordering::SeqCst);
        // SAFETY: GetStdHandle takes no pointers, and SetConsoleMode changes
        // a flag set of this process's own console input handle.
        unsafe {
            let input = GetStdHandle(STD_INPUT_HANDLE);
            if mode != u32::MAX && usable(input) {
                SetConsoleMode(input, mode);
            }
        }
        write_message();
        std::process::exit(i32::from(INTERRUPTED_EXIT_CODE));
    }

    unsafe extern "system" fn cancel(event: u32) -> BOOL {
        if event != CTRL_C_EVENT && event != CTRL_BREAK_EVENT {
            // Console close, logoff, shutdown: the default handling ends the process.
            return FALSE;
        }
        if super::note_interrupt() {
            std::process::exit(i32::from(INTERRUPTED_EXIT_CODE));
        }
        write_message();
        TRUE
    }

    fn handler(reaction: Reaction) -> unsafe extern "system" fn(u32) -> BOOL {
        match reaction {
            Reaction::Exit => exit_now,
            Reaction::Cancel => cancel,
        }
    }

    fn usable(handle: HANDLE) -> bool {
        !handle.is_null() && handle != INVALID_HANDLE_VALUE
    }

    pub fn install(reaction: Reaction) {
        // SAFETY: registers a handler function that lives for the whole program.
        unsafe { SetConsoleCtrlHandler(Some(handler(reaction)), TRUE) };
    }

    pub fn uninstall(reaction: Reaction) {
        // SAFETY: removes the handler registered by `install`.
        unsafe { SetConsoleCtrlHandler(Some(handler(reaction)), FALSE) };
    }

    /// Saves the console input mode, which a prompt changes to hide input.
    pub fn save_terminal() {
        // SAFETY: GetStdHandle takes no pointers; `mode` is a valid out pointer.
        unsafe {
            let input = GetStdHandle(STD_INPUT_HANDLE);
            let mut mode = 0u32;
            if usable(input) && GetConsoleMode(input, &mut mode) != 0 {
                MODE.store(mode, Ordering::SeqCst);
            }
        }
    }
}

#[cfg(not(any(unix, windows)))]
mod os {
    use super::Reaction;

    pub fn install(_reaction: Reaction) {}
    pub fn uninstall(_reaction: Reaction) {}
    pub fn save_terminal() {}
}
