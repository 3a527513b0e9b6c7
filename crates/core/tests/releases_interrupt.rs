//! Ctrl+C while a [`CancelOnInterrupt`] guard lives. This file contains a
//! single test because signal handlers are process-wide.

#![cfg(unix)]

use std::sync::atomic::Ordering;

use cpa_core::interrupt::CancelOnInterrupt;

/// Returns the current SIGINT handler without changing it.
fn sigint_handler() -> libc::sighandler_t {
    // SAFETY: a zeroed sigaction is a valid output buffer, and a null new
    // action only queries the current one.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGINT, std::ptr::null(), &mut current);
        current.sa_sigaction
    }
}

#[test]
fn interrupt_sets_flag_then_default_returns() {
    let guard = CancelOnInterrupt::install();
    let flag = guard.flag();
    assert!(!flag.load(Ordering::SeqCst));
    assert_ne!(sigint_handler(), libc::SIG_DFL);

    // SAFETY: raise only delivers SIGINT to this process, whose handler now
    // only sets the flag.
    assert_eq!(unsafe { libc::raise(libc::SIGINT) }, 0);
    assert!(
        flag.load(Ordering::SeqCst),
        "the first Ctrl+C sets the flag"
    );

    drop(guard);
    assert_eq!(sigint_handler(), libc::SIG_DFL);

    // A new guard starts with a cleared flag.
    let again = CancelOnInterrupt::install();
    assert!(!again.flag().load(Ordering::SeqCst));
}
