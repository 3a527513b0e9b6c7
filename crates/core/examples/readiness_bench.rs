//! Readiness detection delay: how long after a server opens its port does
//! each strategy notice it?
//!
//! Compares, in one run, the supervisor's loop ([`readiness::wait_with`]:
//! connect every 5 ms, then `GET /healthz`) with the original tray's loop
//! (a 350 ms connect timeout and a 200 ms sleep between attempts, bare TCP
//! only). Each trial starts a fresh in-process server that binds its port
//! after a varying delay and notes the instant `listen` returned; the delay
//! is the time from that instant to the strategy reporting ready. Trials of
//! the two strategies alternate so machine load affects both alike.
//!
//! Run: `cargo run --release -p cpa-core --example readiness_bench [TRIALS]`

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use cpa_core::supervisor::readiness::{self, Readiness};

/// Starts a server that binds `port` after `delay` and answers `/healthz`.
/// Returns a receiver for the instant the port opened.
fn late_server(port: u16, delay: Duration) -> mpsc::Receiver<Instant> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        thread::sleep(delay);
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the benchmark port");
        let _ = sender.send(Instant::now());
        // Serve until the benchmark moves on; each trial uses its own port.
        for stream in listener.incoming().flatten().take(64) {
            thread::spawn(move || answer(stream));
        }
    });
    receiver
}

fn answer(stream: TcpStream) {
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(clone);
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|read| read > 2) {
        line.clear();
    }
    let body = r#"{"status":"ok"}"#;
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// The original tray's wait: connect with a 350 ms timeout, sleep 200 ms on failure.
fn original_wait(addr: SocketAddr, deadline: Duration) -> Option<Instant> {
    let started = Instant::now();
    while started.elapsed() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(350)).is_ok() {
            return Some(Instant::now());
        }
        thread::sleep(Duration::from_millis(200));
    }
    None
}

fn supervisor_wait(addr: SocketAddr, deadline: Duration) -> Option<Instant> {
    match readiness::wait_with(addr, false, deadline, || None) {
        Readiness::Ready { .. } => Some(Instant::now()),
        _ => None,
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("find a free port")
}

fn measure(strategy: fn(SocketAddr, Duration) -> Option<Instant>, delay: Duration) -> Duration {
    let port = free_port();
    let opened = late_server(port, delay);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let detected = strategy(addr, Duration::from_secs(12)).expect("server became ready");
    let opened = opened.recv().expect("server reported its opening");
    detected.saturating_duration_since(opened)
}

fn summary(name: &str, samples: &mut [Duration]) -> Duration {
    samples.sort();
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let (median, p90, max) = (pick(0.5), pick(0.9), samples[samples.len() - 1]);
    println!(
        "{name:<34} median {:>8.2} ms   p90 {:>8.2} ms   max {:>8.2} ms",
        median.as_secs_f64() * 1e3,
        p90.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    median
}

fn main() {
    let trials: usize = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(20);
    let mut supervisor_samples = Vec::new();
    let mut original_samples = Vec::new();
    for trial in 0..trials {
        // Opening delays spread over 300-500 ms so the port opens at
        // different phases of the 200 ms loop.
        let delay = Duration::from_millis(300 + (trial as u64 * 37) % 200);
        supervisor_samples.push(measure(supervisor_wait, delay));
        original_samples.push(measure(original_wait, delay));
    }
    println!("readiness detection delay after the port opens, {trials} trials each");
    let ours = summary(
        "supervisor (5 ms connect + healthz)",
        &mut supervisor_samples,
    );
    let theirs = summary("original (200 ms sleep, TCP only)", &mut original_samples);
    println!(
        "ratio of medians (original / supervisor): {:.1}x",
        theirs.as_secs_f64() / ours.as_secs_f64().max(1e-9)
    );
}
