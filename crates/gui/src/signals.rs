//! SIGTERM, SIGHUP and SIGINT end the tray the way its Exit item does: the
//! server this tray started is stopped, busy actions are waited for, then the
//! tray quits. A logout or a plain `kill` would otherwise end the tray and
//! leave its server running with nobody to stop it.
//!
//! On Unix the three signals are blocked in the thread that calls
//! [`block_exit_signals`], and every thread started after it inherits the
//! mask. One thread then takes them with `sigwait` and turns each into an
//! [`Event::ExitSignal`]. Child processes get a clean mask, because std's
//! `Command` empties the signal mask before `exec`, so the server still ends
//! on the SIGTERM that a stop sends.
//!
//! SIGKILL cannot be caught: the server then keeps running, and the server
//! record lets the next `cpa-tray` find and stop it.

#[cfg(unix)]
use crate::app::Event;
use crate::app::EventSink;

#[cfg(unix)]
fn exit_signal_set() -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set before sigaddset reads it, and
    // both only write into the local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in [libc::SIGTERM, libc::SIGHUP, libc::SIGINT] {
            libc::sigaddset(&mut set, signal);
        }
        set
    }
}

/// Blocks SIGTERM, SIGHUP and SIGINT in the calling thread and in every
/// thread it starts later. Call it before the tray starts any thread: a
/// thread started earlier would still take the default action (the end of
/// the process).
#[cfg(unix)]
pub fn block_exit_signals() {
    let set = exit_signal_set();
    // SAFETY: `set` is an initialised signal set and the old mask is not read.
    let result = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if result != 0 {
        let err = std::io::Error::from_raw_os_error(result);
        crate::notify::log(&format!("failed to block exit signals: {err}"));
    }
}

/// Windows GUI programs receive no SIGTERM or SIGHUP.
#[cfg(not(unix))]
pub fn block_exit_signals() {}

/// Starts the thread that turns SIGTERM, SIGHUP and SIGINT into
/// [`Event::ExitSignal`] for the tray thread.
#[cfg(unix)]
pub fn forward_exit_signals(sink: &EventSink) {
    let sink = sink.clone();
    let spawned = std::thread::Builder::new()
        .name("tray-signals".into())
        .spawn(move || {
            let set = exit_signal_set();
            loop {
                let mut signal: libc::c_int = 0;
                // SAFETY: `set` is initialised and `signal` is a valid out pointer.
                let result = unsafe { libc::sigwait(&set, &mut signal) };
                if result != 0 {
                    let err = std::io::Error::from_raw_os_error(result);
                    crate::notify::log(&format!("failed to wait for exit signals: {err}"));
                    return;
                }
                sink(Event::ExitSignal(signal_name(signal)));
            }
        });
    if let Err(err) = spawned {
        crate::notify::log(&format!("failed to start the signal thread: {err}"));
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
