//! `cpa-test-server`: a stand-in for CLIProxyAPI that misbehaves on request.
//!
//! The supervisor tests start it like the real server (`--config FILE`) and
//! choose its behaviour with flags, or with the environment variable
//! `CPA_TEST_SERVER` holding the same flags separated by spaces (for starts
//! through `cpa-tray`, which passes only `--config`):
//!
//! - `--config FILE`: reads `port:` and `host:` from the file's top-level lines;
//! - `--port N`: listens on port N instead;
//! - `--listen-after-ms N`: waits N ms before binding the port;
//! - `--never-listen`: never binds, and runs until killed;
//! - `--crash-after-ms N`: exits with status 3 after N ms;
//! - `--ignore-sigterm`: ignores SIGTERM, so only SIGKILL stops it (Unix);
//! - `--report-env NAME`: prints whether the variable NAME is set (never its value);
//! - `--write-bytes N`: once listening, prints about N bytes of filler lines;
//! - `--tick-ms N`: once listening, prints `tick K` (K = 1, 2, ...) every N ms;
//! - `--bad-config`: prints upstream's `failed to load config` line and exits
//!   with status 0, as CLIProxyAPI does on a config it cannot load;
//! - `--management-status N`: responds to `/v0/management/...` with HTTP status N
//!   (for example 401, as a server that rejects the password does);
//! - `--safe-mode-page`: responds to `GET /` with an HTML page, as upstream
//!   does in safe mode;
//! - `--version V`: prints `V` in upstream's version line instead of `test-server`.
//!
//! When listening it responds to `GET /healthz` with 200 and everything else with
//! 404 (or the `--management-status` status), and prints upstream's
//! `API server started successfully on:` line.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Default)]
struct Options {
    config: Option<PathBuf>,
    port: Option<u16>,
    listen_after_ms: u64,
    never_listen: bool,
    crash_after_ms: Option<u64>,
    ignore_sigterm: bool,
    bad_config: bool,
    report_env: Vec<String>,
    write_bytes: u64,
    tick_ms: Option<u64>,
    management_status: Option<u16>,
    safe_mode_page: bool,
    version: Option<String>,
}

fn parse(args: Vec<String>) -> Result<Options, String> {
    let mut options = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let arg = arg.trim_start_matches('-').to_string();
        let mut value = |name: &str| args.next().ok_or_else(|| format!("--{name} needs a value"));
        match arg.as_str() {
            "config" => options.config = Some(PathBuf::from(value("config")?)),
            "port" => options.port = Some(number(&value("port")?)?),
            "listen-after-ms" => options.listen_after_ms = number(&value("listen-after-ms")?)?,
            "never-listen" => options.never_listen = true,
            "crash-after-ms" => options.crash_after_ms = Some(number(&value("crash-after-ms")?)?),
            "ignore-sigterm" => options.ignore_sigterm = true,
            "bad-config" => options.bad_config = true,
            "report-env" => options.report_env.push(value("report-env")?),
            "write-bytes" => options.write_bytes = number(&value("write-bytes")?)?,
            "tick-ms" => options.tick_ms = Some(number(&value("tick-ms")?)?),
            "management-status" => {
                options.management_status = Some(number(&value("management-status")?)?)
            }
            "safe-mode-page" => options.safe_mode_page = true,
            "version" => options.version = Some(value("version")?),
            "" => {}
            other => return Err(format!("unknown flag --{other}")),
        }
    }
    Ok(options)
}

fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse().map_err(|_| format!("invalid number: {text}"))
}

/// Reads the top-level `host:` and `port:` lines of a config file.
fn read_config(path: &PathBuf) -> (String, Option<u16>) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut host = String::new();
    let mut port = None;
    for line in text.lines() {
        let line = line.trim_start_matches('\u{feff}');
        let value = |rest: &str| {
            rest.split('#')
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches(|c| c == '"' || c == '\'')
                .to_string()
        };
        if let Some(rest) = line.strip_prefix("port:") {
            port = value(rest).parse().ok();
        } else if let Some(rest) = line.strip_prefix("host:") {
            host = value(rest);
        }
    }
    (host, port)
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if let Ok(extra) = std::env::var("CPA_TEST_SERVER") {
        args.extend(extra.split_whitespace().map(str::to_string));
    }
    let options = match parse(args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("cpa-test-server: {message}");
            return ExitCode::from(2);
        }
    };
    let version = options.version.as_deref().unwrap_or("test-server");
    println!("CLIProxyAPI Version: {version}, Commit: none, BuiltAt: unknown");
    println!("cpa-test-server: pid {}", std::process::id());
    if let Ok(cwd) = std::env::current_dir() {
        println!("cpa-test-server: cwd {}", cwd.display());
    }
    for name in &options.report_env {
        let state = if std::env::var_os(name).is_some() {
            "set"
        } else {
            "unset"
        };
        println!("cpa-test-server: env {name} {state}");
    }

    if options.bad_config {
        let path = options
            .config
            .as_ref()
            .map(|path| path.display().to_string())
            .unwrap_or_default();
        println!(
            "[2026-01-02 03:04:05] [--------] [error] [main.go:531] failed to load config: failed to parse config file {path}: yaml: line 3: found character that cannot start any token"
        );
        return ExitCode::SUCCESS;
    }

    if options.ignore_sigterm {
        ignore_sigterm();
    }
    if let Some(delay) = options.crash_after_ms {
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(delay));
            println!("cpa-test-server: crashing on purpose after {delay} ms");
            std::process::exit(3);
        });
    }

    if options.never_listen {
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }

    let (host, config_port) = options.config.as_ref().map(read_config).unwrap_or_default();
    let Some(port) = options.port.or(config_port) else {
        println!("failed to load config: no port in the config file");
        return ExitCode::SUCCESS;
    };
    std::thread::sleep(Duration::from_millis(options.listen_after_ms));
    let bind_host = if host.is_empty() {
        "0.0.0.0"
    } else {
        host.as_str()
    };
    let listener = match TcpListener::bind((bind_host, port)) {
        Ok(listener) => listener,
        Err(err) => {
            println!("proxy service exited with error: listen tcp {bind_host}:{port}: {err}");
            return ExitCode::SUCCESS;
        }
    };
    println!("API server started successfully on: {host}:{port}");
    write_filler(options.write_bytes);
    if let Some(interval) = options.tick_ms {
        std::thread::spawn(move || tick(interval));
    }
    let management_status = options.management_status;
    let safe_mode_page = options.safe_mode_page;
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || serve(stream, management_status, safe_mode_page));
    }
    ExitCode::SUCCESS
}

/// Prints about `bytes` bytes as 100-byte lines.
fn write_filler(bytes: u64) {
    let line = format!("{}\n", "x".repeat(99));
    let mut stdout = std::io::stdout().lock();
    for _ in 0..bytes.div_ceil(100) {
        if stdout.write_all(line.as_bytes()).is_err() {
            return;
        }
    }
    let _ = stdout.flush();
}

/// Prints a numbered line every `interval` ms, so a reader can tell whether
/// any line was lost.
fn tick(interval: u64) {
    for count in 1u64.. {
        std::thread::sleep(Duration::from_millis(interval));
        println!("tick {count}");
    }
}

fn serve(stream: TcpStream, management_status: Option<u16>, safe_mode_page: bool) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(clone) => clone,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|read| read > 2) {
        line.clear();
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("");
    if safe_mode_page && path == "/" {
        let body = "<!doctype html><title>Example API key detected</title>";
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut stream = stream;
        let _ = stream.write_all(response.as_bytes());
        return;
    }
    let (status, body) = match management_status {
        _ if path == "/healthz" => ("200 OK".to_string(), r#"{"status":"ok"}"#),
        Some(code) if path.starts_with("/v0/management/") => {
            (format!("{code} Test"), r#"{"error":"test status"}"#)
        }
        _ => ("404 Not Found".to_string(), "404 page not found"),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = stream;
    let _ = stream.write_all(response.as_bytes());
}

#[cfg(unix)]
fn ignore_sigterm() {
    // SAFETY: setting a signal's disposition to SIG_IGN installs no handler code.
    unsafe {
        libc::signal(libc::SIGTERM, libc::SIG_IGN);
    }
}

#[cfg(not(unix))]
fn ignore_sigterm() {
    // Windows has no SIGTERM; the supervisor's console event is not ignored here.
}
