//! Ending this process cleanly when Ctrl+C arrives during a prompt.
//!
//! A password prompt turns terminal echo off and blocks in a read. The read
//! never returns for a signal: std retries reads interrupted by a handler, and
//! rpassword 7 reads the Ctrl+C byte itself (it clears `ISIG`) and then raises
//! SIGINT. The default action would end the process with echo still off and
//! without a word. So while a [`CancelOnInterrupt`] guard lives, the handler
//! does the whole cancellation itself: it restores the terminal modes saved
//! when the guard was made, writes the cancel message to stderr and exits
//! with status 130 (128 + SIGINT). On Unix it makes only async-signal-safe
//! calls; on Windows it runs on a thread of its own and restores the
//! console input mode.
//!
//! Exiting from the handler is safe for the callers here because a prompt
//! runs before anything is written and before the home folder's lock is taken.

/// Exit status after a cancelled prompt, the shell's convention for SIGINT.
pub const INTERRUPTED_EXIT_CODE: u8 = 130;

/// Guard that turns Ctrl+C (also SIGTERM and SIGHUP on Unix, Ctrl+Break and
/// console close on Windows) into a clean cancellation while it lives.
/// Dropping it restores the default handling.
pub struct CancelOnInterrupt {
    _private: (),
}

impl CancelOnInterrupt {
    /// Saves the terminal modes and installs the handler, which prints
    /// `message` (one line) when it runs.
    pub fn install(message: &str) -> CancelOnInterrupt {
        os::install(message);
        CancelOnInterrupt { _private: () }
    }
}

impl Drop for CancelOnInterrupt {
    fn drop(&mut self) {
        os::uninstall();
    }
}

/// Stores `message` and a line break for the handler to write. The buffer
/// is leaked on purpose: a handler may still read it after the guard is gone,
/// and a process shows at most a few prompts.
#[cfg(unix)]
fn leak_message(message: &str) -> (*mut u8, usize) {
    let mut bytes = Vec::with_capacity(message.len() + 2);
    // The cursor is still on the prompt's line, after the echoed `^C`.
    bytes.push(b'\n');
    bytes.extend_from_slice(message.as_bytes());
    bytes.push(b'\n');
    let bytes: &'static mut [u8] = Box::leak(bytes.into_boxed_slice());
    (bytes.as_mut_ptr(), bytes.len())
}

#[cfg(unix)]
mod os {
    use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicUsize, Ordering};

    use super::INTERRUPTED_EXIT_CODE;

    const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

    static MESSAGE: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
    static MESSAGE_LEN: AtomicUsize = AtomicUsize::new(0);
    /// Descriptor of `/dev/tty`, or -1 without a controlling terminal.
    static TTY: AtomicI32 = AtomicI32::new(-1);
    /// Terminal modes saved at install time, or null.
    static MODES: AtomicPtr<libc::termios> = AtomicPtr::new(std::ptr::null_mut());

    extern "C" fn cancel(_signal: libc::c_int) {
        let tty = TTY.load(Ordering::SeqCst);
        let modes = MODES.load(Ordering::SeqCst);
        // SAFETY: tcsetattr, write and _exit are async-signal-safe. `modes`
        // and the message point to leaked allocations that are never freed,
        // and the lengths match them.
        unsafe {
            if tty >= 0 && !modes.is_null() {
                libc::tcsetattr(tty, libc::TCSANOW, modes);
            }
            let message = MESSAGE.load(Ordering::SeqCst);
            if !message.is_null() {
                libc::write(
                    libc::STDERR_FILENO,
                    message.cast(),
                    MESSAGE_LEN.load(Ordering::SeqCst),
                );
            }
            libc::_exit(libc::c_int::from(INTERRUPTED_EXIT_CODE));
        }
    }

    pub fn install(message: &str) {
        let (pointer, length) = super::leak_message(message);
        MESSAGE_LEN.store(length, Ordering::SeqCst);
        MESSAGE.store(pointer, Ordering::SeqCst);
        save_terminal();
        let handler = cancel as extern "C" fn(libc::c_int) as libc::sighandler_t;
        for signal in SIGNALS {
            // SAFETY: the handler only makes async-signal-safe calls.
            unsafe { libc::signal(signal, handler) };
        }
    }

    pub fn uninstall() {
        for signal in SIGNALS {
            // SAFETY: restores the default action; no handler code is involved.
            unsafe { libc::signal(signal, libc::SIG_DFL) };
        }
    }

    /// Opens the controlling terminal once and saves its current modes.
    fn save_terminal() {
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
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    use windows_sys::Win32::Foundation::{HANDLE, INVALID_HANDLE_VALUE};
    use windows_sys::Win32::System::Console::{
        GetConsoleMode, GetStdHandle, STD_INPUT_HANDLE, SetConsoleCtrlHandler, SetConsoleMode,
    };

    use super::INTERRUPTED_EXIT_CODE;

    static MESSAGE: Mutex<String> = Mutex::new(String::new());
    /// Console input mode saved at install time; `u32::MAX` when stdin is no console.
    static MODE: AtomicU32 = AtomicU32::new(u32::MAX);

    /// Runs on a thread the console creates for each control event (not in a
    /// signal context), so ordinary library calls are allowed here.
    unsafe extern "system" fn cancel(_event: u32) -> i32 {
        let mode = MODE.load(Ordering::SeqCst);
        // SAFETY: GetStdHandle takes no pointers, and SetConsoleMode changes
        // a flag set of this process's own console input handle.
        unsafe {
            let input = GetStdHandle(STD_INPUT_HANDLE);
            if mode != u32::MAX && usable(input) {
                SetConsoleMode(input, mode);
            }
        }
        if let Ok(message) = MESSAGE.lock() {
            let _ = std::io::stderr().write_all(message.as_bytes());
        }
        std::process::exit(i32::from(INTERRUPTED_EXIT_CODE));
    }

    fn usable(handle: HANDLE) -> bool {
        !handle.is_null() && handle != INVALID_HANDLE_VALUE
    }

    pub fn install(message: &str) {
        if let Ok(mut stored) = MESSAGE.lock() {
            *stored = format!("\n{message}\n");
        }
        // SAFETY: GetStdHandle takes no pointers; `mode` is a valid out pointer.
        unsafe {
            let input = GetStdHandle(STD_INPUT_HANDLE);
            let mut mode = 0u32;
            if usable(input) && GetConsoleMode(input, &mut mode) != 0 {
                MODE.store(mode, Ordering::SeqCst);
            }
            SetConsoleCtrlHandler(Some(cancel), 1);
        }
    }

    pub fn uninstall() {
        // SAFETY: removes the handler added by `install`.
        unsafe { SetConsoleCtrlHandler(Some(cancel), 0) };
    }
}

#[cfg(not(any(unix, windows)))]
mod os {
    pub fn install(_message: &str) {}
    pub fn uninstall() {}
}
