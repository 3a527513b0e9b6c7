//! Supervisor figures in one run: stop latency for a cooperative and a
//! stubborn server, crash-detection delay, and the idle cost of a
//! `cpa-tray start --foreground` supervisor.
//!
//! Needs the test server and the tray binary of the same profile:
//! `cargo build --release -p cpa-test-server -p cpa-tray`, then
//! `cargo run --release -p cpa-core --example supervisor_bench [IDLE_SECONDS]`.
//! The idle figures read `/proc`, so they are printed on Linux only.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cpa_core::home::Home;
use cpa_core::supervisor::{self, Engine, EngineKind, ServerAddress, StartOptions, process};

fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("benchmark path");
    // <target>/<profile>/examples/supervisor_bench
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("<target>/<profile>/examples layout");
    let path = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !path.is_file() {
        eprintln!(
            "{} is missing: run `cargo build --release -p cpa-test-server -p cpa-tray` first",
            path.display()
        );
        std::process::exit(2);
    }
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("find a free port")
}

struct Bench {
    _dir: tempfile::TempDir,
    home: Home,
    port: u16,
}

fn bench_home() -> Bench {
    let dir = tempfile::tempdir().expect("temporary home");
    let home = Home::at(dir.path()).expect("home");
    let port = free_port();
    std::fs::write(
        home.config_path(),
        format!("host: \"127.0.0.1\"\nport: {port}\n"),
    )
    .expect("write config");
    Bench {
        _dir: dir,
        home,
        port,
    }
}

fn start(bench: &Bench, server: &Path, flags: &[&str]) -> supervisor::Started {
    let engine = Engine {
        program: server.to_path_buf(),
        leading_args: flags.iter().map(Into::into).collect(),
        kind: EngineKind::External,
        version: "bench".to_string(),
    };
    let address = ServerAddress {
        host: "127.0.0.1".to_string(),
        port: bench.port,
        tls: false,
    };
    supervisor::start(&bench.home, &engine, &address, &StartOptions::default())
        .expect("start the test server")
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn stop_latency(server: &Path, flags: &[&str], trials: usize) -> Vec<Duration> {
    (0..trials)
        .map(|_| {
            let bench = bench_home();
            let mut started = start(&bench, server, flags);
            let begin = Instant::now();
            supervisor::stop(&bench.home, supervisor::DEFAULT_STOP_TIMEOUT).expect("stop");
            let elapsed = begin.elapsed();
            let _ = started.child.wait();
            elapsed
        })
        .collect()
}

fn crash_detection(server: &Path, trials: usize) -> Vec<Duration> {
    (0..trials)
        .map(|_| {
            let bench = bench_home();
            let mut started = start(&bench, server, &[]);
            let pid = started.child.id();
            let killed = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(200));
                let at = Instant::now();
                process::force_kill(pid);
                at
            });
            supervisor::wait_for_exit(&bench.home, &mut started.child).expect("wait");
            let noticed = Instant::now();
            noticed.saturating_duration_since(killed.join().expect("killer thread"))
        })
        .collect()
}

/// CPU ticks and context switches of every thread of `pid`, from /proc.
#[cfg(target_os = "linux")]
fn proc_counters(pid: u32) -> (u64, u64) {
    let mut ticks = 0;
    let mut switches = 0;
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("read /proc tasks");
    for task in tasks.flatten() {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        if let Some(after) = stat.rfind(')').map(|index| &stat[index + 1..]) {
            let fields: Vec<&str> = after.split_whitespace().collect();
            // utime and stime are fields 14 and 15, indices 11 and 12 after the name.
            ticks += fields
                .get(11)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
            ticks += fields
                .get(12)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        for line in status.lines() {
            if line.starts_with("voluntary_ctxt_switches")
                || line.starts_with("nonvoluntary_ctxt_switches")
            {
                switches += line
                    .split_whitespace()
                    .last()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    (ticks, switches)
}

#[cfg(target_os = "linux")]
fn idle_foreground(server: &Path, tray: &Path, seconds: u64) {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};

    let bench = bench_home();
    let mut child = Command::new(tray)
        .arg("--home")
        .arg(bench.home.root())
        .args(["start", "--foreground", "--password-stdin", "--no-open"])
        .env("CPA_TRAY_ENGINE_PROGRAM", server)
        .env("LANG", "C")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run cpa-tray start --foreground");
    writeln!(child.stdin.take().expect("stdin"), "bench-password-1").expect("write password");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap_or(0) > 0 && !line.contains("Ctrl+C") {
        line.clear();
    }
    let pid = child.id();
    let (ticks_before, switches_before) = proc_counters(pid);
    std::thread::sleep(Duration::from_secs(seconds));
    let (ticks_after, switches_after) = proc_counters(pid);
    // SAFETY: plain FFI call without pointers.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let cpu_ms = (ticks_after - ticks_before) as f64 / ticks_per_second * 1e3;
    let per_minute = 60.0 / seconds as f64;
    println!(
        "idle `start --foreground` over {seconds} s: CPU {:.1} ms/min, context switches {:.1}/min (all threads)",
        cpu_ms * per_minute,
        (switches_after - switches_before) as f64 * per_minute
    );
    let _ = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
    let _ = child.wait();
}

#[cfg(not(target_os = "linux"))]
fn idle_foreground(_server: &Path, _tray: &Path, _seconds: u64) {
    println!("idle figures need /proc (Linux)");
}

fn report(name: &str, samples: &mut [Duration]) {
    samples.sort();
    let median = samples[samples.len() / 2];
    let max = samples[samples.len() - 1];
    println!(
        "{name:<40} median {:>9.2} ms   max {:>9.2} ms   ({} trials)",
        millis(median),
        millis(max),
        samples.len()
    );
}

fn main() {
    let idle_seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(20);
    let server = binary("cpa-test-server");
    let tray = binary("cpa-tray");

    report(
        "stop, cooperative server (SIGTERM)",
        &mut stop_latency(&server, &[], 10),
    );
    report(
        "stop, stubborn server (kill after 5 s)",
        &mut stop_latency(&server, &["--ignore-sigterm"], 3),
    );
    report(
        "crash detection (SIGKILL -> wait returns)",
        &mut crash_detection(&server, 10),
    );
    idle_foreground(&server, &tray, idle_seconds);
}
