//! Waiting until a freshly started server really serves.
//!
//! Ready means the port accepts a connection **and** an HTTP request on it gets a
//! response: `GET /healthz` with 200, or 404 from servers older than the
//! health route (any HTTP response shows the server is up). An open port alone is
//! not enough, because another process may hold it while our child fails to
//! bind (upstream CLIProxyAPI even prints "API server started successfully"
//! when listening failed). The loop also watches the child and stops as soon as
//! it exits.
//!
//! A refused connection on loopback fails at once, so the loop polls every
//! [`POLL_INTERVAL`] and notices an opened port within a few milliseconds,
//! against up to 550 ms for the original tray's 200 ms sleep plus 350 ms
//! connect timeout.

use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use super::http;

/// Pause between two connection attempts.
pub const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// Connect timeout of one attempt; loopback connections complete or fail far faster.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(100);

/// Time the server has to respond to the health request once connected.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// Outcome of a wait.
#[derive(Debug)]
pub enum Readiness {
    /// The server responded; `elapsed` is measured from the start of the wait.
    Ready { elapsed: Duration },
    /// The child exited before it was ready.
    Exited(ExitStatus),
    /// The deadline passed.
    TimedOut,
}

/// Waits until the server at `addr` responds or `child` exits.
///
/// With `tls` the health request is skipped (this client speaks plain HTTP
/// only) and an accepted connection counts as ready.
// NOTE: a program that takes the port in the few milliseconds between the
// pre-start port check and the child's bind would pass for our server here.
// Linux could tell them apart through /proc/net/tcp, but reading that table
// took 15 ms on a loaded 2-core machine, too slow for this loop.
pub fn wait(child: &mut Child, addr: SocketAddr, tls: bool, deadline: Duration) -> Readiness {
    wait_with(addr, tls, deadline, || child.try_wait().ok().flatten())
}

/// Waits until the server at `addr` responds, `exited` returns a status, or
/// `deadline` passes. `exited` is called before every attempt.
pub fn wait_with(
    addr: SocketAddr,
    tls: bool,
    deadline: Duration,
    mut exited: impl FnMut() -> Option<ExitStatus>,
) -> Readiness {
    let started = Instant::now();
    loop {
        if let Some(status) = exited() {
            return Readiness::Exited(status);
        }
        if probe(addr, tls) {
            return Readiness::Ready {
                elapsed: started.elapsed(),
            };
        }
        if started.elapsed() >= deadline {
            return Readiness::TimedOut;
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Returns whether the server at `addr` accepts a connection and answers HTTP.
pub fn probe(addr: SocketAddr, tls: bool) -> bool {
    let Ok(stream) = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) else {
        return false;
    };
    if tls {
        return true;
    }
    match http::get_on(stream, addr, "/healthz", &[], ANSWER_TIMEOUT) {
        Ok(response) => response.status == 200 || response.status == 404,
        Err(_) => false,
    }
}
