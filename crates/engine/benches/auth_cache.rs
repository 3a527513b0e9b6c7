//! Measures the verified-key cache against a bcrypt verification per request
//! (upstream's behaviour), plus start-up time and resident memory.
//!
//! Run with `cargo bench -p cpa-engine --bench auth_cache`. Environment:
//! `BENCH_SECONDS` (default 5) per load phase, `BENCH_CONNECTIONS` (default 4)
//! keep-alive connections. The engine binary runs as a child process on
//! 127.0.0.1 with a cost-10 key, and each mode gets a fresh process.

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const KEY: &str = "bench-management-key-1";

struct Engine {
    child: Child,
    port: u16,
    spawn_to_connect: Duration,
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_engine(config: &std::path::Path, disable_cache: bool) -> Engine {
    let port = cpa_testkit::free_port();
    let text = std::fs::read_to_string(config).unwrap();
    let text = text.replace("port: 0", &format!("port: {port}"));
    std::fs::write(config, text).unwrap();

    let mut command = cpa_testkit::binary_command("cpa-engine", env!("CARGO_BIN_EXE_cpa-engine"));
    command
        .arg("-config")
        .arg(config)
        .env_remove("MANAGEMENT_PASSWORD");
    if disable_cache {
        command.env("CPA_ENGINE_DISABLE_KEY_CACHE", "1");
    } else {
        command.env_remove("CPA_ENGINE_DISABLE_KEY_CACHE");
    }
    command.stdout(Stdio::piped()).stderr(Stdio::null());
    let spawned = Instant::now();
    let mut child = command.spawn().expect("spawn cpa-engine");
    let spawn_to_connect = loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break spawned.elapsed();
        }
        if spawned.elapsed() > Duration::from_secs(20) {
            panic!("engine did not open port {port}");
        }
        std::thread::sleep(Duration::from_micros(200));
    };
    // Drain stdout so request logging cannot block on a full pipe.
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut BufReader::new(stdout), &mut std::io::sink());
    });
    std::fs::write(
        config,
        std::fs::read_to_string(config)
            .unwrap()
            .replace(&format!("port: {port}"), "port: 0"),
    )
    .unwrap();
    Engine {
        child,
        port,
        spawn_to_connect,
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Sends one keep-alive request and reads the reply; returns the status.
fn request(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> u16 {
    let head = format!(
        "GET /v0/management/config HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).expect("send");
    buffer.clear();
    let mut chunk = [0u8; 8192];
    loop {
        let read = stream.read(&mut chunk).expect("read");
        assert!(read > 0, "connection closed");
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(0);
            while buffer.len() < end + 4 + length {
                let read = stream.read(&mut chunk).expect("read body");
                assert!(read > 0, "connection closed");
                buffer.extend_from_slice(&chunk[..read]);
            }
            return head[9..12].parse().unwrap_or(0);
        }
    }
}

struct LoadResult {
    requests: usize,
    seconds: f64,
    p50: Duration,
    p99: Duration,
    rss_loaded_kib: Option<u64>,
}

fn load(engine: &Engine, connections: usize, seconds: f64) -> LoadResult {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let port = engine.port;
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
                stream.set_nodelay(true).unwrap();
                let mut buffer = Vec::new();
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let status = request(&mut stream, &mut buffer);
                    latencies.push(sent.elapsed());
                    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&buffer));
                }
                latencies
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(seconds / 2.0));
    let rss_loaded_kib = rss_kib(engine.child.id());
    let mut latencies: Vec<Duration> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    LoadResult {
        requests: latencies.len(),
        seconds: elapsed,
        p50: pick(0.50),
        p99: pick(0.99),
        rss_loaded_kib,
    }
}

fn main() {
    let seconds: f64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5.0);
    let connections: usize = std::env::var("BENCH_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    let hash = cpa_config::secret::hash_password(KEY).unwrap();
    std::fs::write(
        &config,
        format!("host: \"127.0.0.1\"\nport: 0\nremote-management:\n  secret-key: \"{hash}\"\napi-keys:\n  - k1\n"),
    )
    .unwrap();

    println!("auth_cache: {connections} keep-alive connections, {seconds} s per mode, cost-10 key");
    let mut throughput = Vec::new();
    for (label, disable_cache) in [("cache", false), ("bcrypt-per-request", true)] {
        let engine = start_engine(&config, disable_cache);
        std::thread::sleep(Duration::from_millis(300));
        let idle = rss_kib(engine.child.id());
        let result = load(&engine, connections, seconds);
        let rate = result.requests as f64 / result.seconds;
        throughput.push(rate);
        println!(
            "{label:>20}: {rate:>10.1} req/s  p50 {:>9.3} ms  p99 {:>9.3} ms  ({} requests)  start-to-connect {:.1} ms  RSS idle {} KiB, loaded {} KiB",
            result.p50.as_secs_f64() * 1e3,
            result.p99.as_secs_f64() * 1e3,
            result.requests,
            engine.spawn_to_connect.as_secs_f64() * 1e3,
            idle.map_or("?".into(), |v| v.to_string()),
            result.rss_loaded_kib.map_or("?".into(), |v| v.to_string()),
        );
    }
    println!(
        "throughput ratio cache / bcrypt-per-request: {:.0}x",
        throughput[0] / throughput[1]
    );
}
