//! Ctrl+C during a download: cancel it cleanly instead of ending the process.
//!
//! The default action of SIGINT would end the process in the middle of a
//! write and leave a temporary download in `versions/` until a later install
//! deletes it (after six hours). While a [`CancelOnInterrupt`] guard lives,
//! the first Ctrl+C (also SIGTERM and SIGHUP on Unix, Ctrl+Break on Windows)
//! only sets the flag that [`super::install`] reads before every chunk, so the
//! install removes its temporary entries and returns
//! [`super::ReleaseError::Cancelled`]. A read that is waiting for the network
//! notices the flag when the next chunk arrives or the read timeout ends.
//! So the handler can print a notice at once, and a second Ctrl+C ends the
//! process at once (status 130), for a stalled connection.

use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the handler; cleared when a guard is installed.
static CANCELLED: AtomicBool = AtomicBool::new(false);

/// Exit status after a second Ctrl+C, the shell's convention for SIGINT (128 + 2).
const SECOND_INTERRUPT_EXIT: i32 = 130;

/// While alive, turns Ctrl+C into a request to cancel; dropping it restores
/// the default handling.
pub struct CancelOnInterrupt {
    _private: (),
}

impl CancelOnInterrupt {
    /// Installs the handler. Only one guard should live at a time.
    pub fn install() -> CancelOnInterrupt {
        CANCELLED.store(false, Ordering::SeqCst);
        os::install();
        CancelOnInterrupt { _private: () }
    }

    /// Installs the handler, which also prints `notice` (one line, on
    /// stderr) at the first interrupt, so the user knows it was received
    /// while a stalled read still waits.
    pub fn install_with_notice(notice: &str) -> CancelOnInterrupt {
        os::set_notice(notice);
        CancelOnInterrupt::install()
    }

    /// Returns the cancel flag to pass to [`super::install`].
    pub fn flag(&self) -> &'static AtomicBool {
        &CANCELLED
    }
}

impl Drop for CancelOnInterrupt {
    fn drop(&mut self) {
        os::uninstall();
        os::set_notice("");
    }
}

/// Returns `notice` framed by line breaks (the cursor may stand after a
/// progress bar), leaked because a handler may read it at any time. A
/// process installs at most a few guards, so the leak stays small.
fn leak_notice(notice: &str) -> &'static [u8] {
    if notice.is_empty() {
        return &[];
    }
    let mut bytes = Vec::with_capacity(notice.len() + 2);
    bytes.push(b'\n');
    bytes.extend_from_slice(notice.as_bytes());
    bytes.push(b'\n');
    Box::leak(bytes.into_boxed_slice())
}

/// Records one interrupt; returns whether it is the second one.
fn note_interrupt() -> bool {
    CANCELLED.swap(true, Ordering::SeqCst)
}

#[cfg(unix)]
mod os {
    use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

    const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

    static NOTICE: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
    static NOTICE_LEN: AtomicUsize = AtomicUsize::new(0);

    pub fn set_notice(notice: &str) {
        let bytes = super::leak_notice(notice);
        NOTICE_LEN.store(0, Ordering::SeqCst);
        NOTICE.store(bytes.as_ptr().cast_mut(), Ordering::SeqCst);
        NOTICE_LEN.store(bytes.len(), Ordering::SeqCst);
    }

    extern "C" fn on_signal(_signal: libc::c_int) {
        if super::note_interrupt() {
            // SAFETY: _exit is async-signal-safe.
            unsafe { libc::_exit(super::SECOND_INTERRUPT_EXIT) };
        }
        let len = NOTICE_LEN.load(Ordering::SeqCst);
        let notice = NOTICE.load(Ordering::SeqCst);
        if len > 0 && !notice.is_null() {
            // SAFETY: write is async-signal-safe; the notice is a leaked
            // allocation of at least `len` bytes that is never freed.
            unsafe { libc::write(libc::STDERR_FILENO, notice.cast(), len) };
        }
    }

    pub fn install() {
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        for signal in SIGNALS {
            // SAFETY: the handler only swaps an atomic and may call _exit,
            // both async-signal-safe.
            unsafe { libc::signal(signal, handler) };
        }
    }

    pub fn uninstall() {
        for signal in SIGNALS {
            // SAFETY: restores the default action; no handler code is involved.
            unsafe { libc::signal(signal, libc::SIG_DFL) };
        }
    }
}

#[cfg(windows)]
mod os {
    use windows_sys::Win32::Foundation::{FALSE, TRUE};
    use windows_sys::Win32::System::Console::{
        CTRL_BREAK_EVENT, CTRL_C_EVENT, SetConsoleCtrlHandler,
    };
    use windows_sys::core::BOOL;

    use std::io::Write;
    use std::sync::Mutex;

    static NOTICE: Mutex<&'static [u8]> = Mutex::new(&[]);

    pub fn set_notice(notice: &str) {
        if let Ok(mut current) = NOTICE.lock() {
            *current = super::leak_notice(notice);
        }
    }

    // Windows runs console handlers on a thread of their own, so this one
    // may lock and write like any other code.
    unsafe extern "system" fn on_event(event: u32) -> BOOL {
        if event != CTRL_C_EVENT && event != CTRL_BREAK_EVENT {
            // Console close, logoff, shutdown: the default handling ends the process.
            return FALSE;
        }
        if super::note_interrupt() {
            std::process::exit(super::SECOND_INTERRUPT_EXIT);
        }
        if let Ok(notice) = NOTICE.lock() {
            let _ = std::io::stderr().write_all(&notice);
        }
        TRUE
    }

    pub fn install() {
        // SAFETY: registers a handler function that lives for the whole program.
        unsafe { SetConsoleCtrlHandler(Some(on_event), TRUE) };
    }

    pub fn uninstall() {
        // SAFETY: removes the handler registered by `install`.
        unsafe { SetConsoleCtrlHandler(Some(on_event), FALSE) };
    }
}

#[cfg(not(any(unix, windows)))]
mod os {
    pub fn set_notice(_notice: &str) {}
    pub fn install() {}
    pub fn uninstall() {}
}
