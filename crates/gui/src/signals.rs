//! SIGTERM, SIGHUP and SIGINT end the tray the way its Exit item does: the
//! server this tray started is stopped, busy actions are waited for, then the
//! tray quits. A logout or a plain `kill` would otherwise end the tray and
//! leave its server running with no tray left to stop it.
//!
//! On Unix a handler writes the signal number to a pipe (the self-pipe
//! trick), and one thread reads the pipe and sends an [`Event::ExitSignal`]
//! to the tray thread. Blocking the signals and taking them with `sigwait`
//! would not do: child processes inherit the signal mask through `exec`, so
//! the server would ignore the SIGTERM of a graceful stop. A caught signal
//! is reset to its default action at `exec`, and both pipe ends are
//! close-on-exec, so the server, the dialogs and the browser start clean.
//!
//! SIGKILL cannot be caught: the server then keeps running, and the server
//! record lets the next `cpa-tray` find and stop it.

#[cfg(unix)]
use std::sync::atomic::{AtomicI32, Ordering};

#[cfg(unix)]
use crate::app::Event;
use crate::app::EventSink;

/// Write end of the signal pipe, or -1 before [`forward_exit_signals`] made it.
#[cfg(unix)]
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

#[cfg(unix)]
const EXIT_SIGNALS: [libc::c_int; 3] = [libc::SIGTERM, libc::SIGHUP, libc::SIGINT];

/// Writes the signal number to the pipe. Only async-signal-safe calls: an
/// atomic load and `write` on a non-blocking descriptor (a full pipe drops
/// the byte, and an exit is already on its way then).
#[cfg(unix)]
extern "C" fn on_exit_signal(signal: libc::c_int) {
    let fd = SIGNAL_PIPE.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte = signal as u8;
        // SAFETY: `byte` lives for the call and the length is 1.
        unsafe {
            libc::write(fd, std::ptr::from_ref(&byte).cast(), 1);
        }
    }
}

/// Creates the signal pipe: close-on-exec at both ends, non-blocking for writes.
#[cfg(unix)]
fn signal_pipe() -> std::io::Result<(libc::c_int, libc::c_int)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors that pipe() writes.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    for fd in fds {
        // SAFETY: `fd` is a descriptor that pipe() just returned.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    // SAFETY: as above; F_GETFL only reads the flags.
    let flags = unsafe { libc::fcntl(fds[1], libc::F_GETFL) };
    // SAFETY: as above.
    if flags < 0 || unsafe { libc::fcntl(fds[1], libc::F_SETFL, flags | libc::O_NONBLOCK) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((fds[0], fds[1]))
}

/// Installs the handler for SIGTERM, SIGHUP and SIGINT and starts the thread
/// that turns each of them into [`Event::ExitSignal`] for the tray thread.
/// Until this runs, these signals end the tray at once.
#[cfg(unix)]
pub fn forward_exit_signals(sink: &EventSink) {
    use std::io::Read;
    use std::os::fd::FromRawFd;

    let (read_fd, write_fd) = match signal_pipe() {
        Ok(fds) => fds,
        Err(err) => {
            crate::notify::log(&format!("failed to create the signal pipe: {err}"));
            return;
        }
    };
    SIGNAL_PIPE.store(write_fd, Ordering::SeqCst);
    // SAFETY: the read end is owned by this File alone from here on.
    let mut reader = unsafe { std::fs::File::from_raw_fd(read_fd) };
    let sink = sink.clone();
    let spawned = std::thread::Builder::new()
        .name("tray-signals".into())
        .spawn(move || {
            let mut byte = [0u8; 1];
            loop {
                match reader.read(&mut byte) {
                    Ok(1) => sink(Event::ExitSignal(signal_name(libc::c_int::from(byte[0])))),
                    Ok(_) => return,
                    Err(err) => {
                        crate::notify::log(&format!("failed to read the signal pipe: {err}"));
                        return;
                    }
                }
            }
        });
    if let Err(err) = spawned {
        crate::notify::log(&format!("failed to start the signal thread: {err}"));
        return;
    }
    for signal in EXIT_SIGNALS {
        // SAFETY: the action is zeroed, then given a handler that makes only
        // async-signal-safe calls and an empty mask; the old action is not read.
        let installed = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_exit_signal as extern "C" fn(libc::c_int) as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if installed != 0 {
            let err = std::io::Error::last_os_error();
            let name = signal_name(signal);
            crate::notify::log(&format!("failed to handle {name}: {err}"));
        }
    }
}

// NOTE: Windows ends a GUI program at logout or shutdown through
// WM_QUERYENDSESSION and WM_ENDSESSION, which the tray does not handle yet,
// so there a logout still leaves the tray's server running until the next
// start finds its record.
#[cfg(not(unix))]
pub fn forward_exit_signals(_sink: &EventSink) {}

#[cfg(unix)]
fn signal_name(signal: libc::c_int) -> &'static str {
    match signal {
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        _ => "an exit signal",
    }
}
