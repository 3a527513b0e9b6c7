//! Shared helpers for the engine's integration tests: start the real
//! `cpa-engine` binary on a temporary config with port 0, find its port from
//! the startup line, and talk HTTP/1.1 to it over a plain TCP socket.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const STARTED_PREFIX: &str = "API server started successfully on: ";

/// Returns a cost-4 bcrypt hash of `key` (fast; the engine accepts any cost).
pub fn fast_hash(key: &str) -> String {
    cpa_config::secret::hash_password_with_cost(key, 4).expect("hash a test key")
}

/// Returns a legacy-layout config on 127.0.0.1, port 0, with `secret` and extra YAML lines.
pub fn legacy_config(secret: &str, extra: &str) -> String {
    format!(
        "host: \"127.0.0.1\"\nport: 0\nremote-management:\n  allow-remote: false\n  secret-key: \"{secret}\"\n{extra}"
    )
}

/// Returns a command for the engine binary.
pub fn engine_command() -> Command {
    let mut command = cpa_testkit::binary_command("cpa-engine", env!("CARGO_BIN_EXE_cpa-engine"));
    command.env_remove("MANAGEMENT_PASSWORD");
    command.env_remove("CPA_ENGINE_DISABLE_KEY_CACHE");
    command.env_remove("CPA_TRAY_RELEASES_API");
    command
}

/// A running engine process on a temporary config file.
pub struct Server {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub port: u16,
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

/// How a test wants the engine started.
#[derive(Default)]
pub struct Launch {
    pub env: Vec<(String, String)>,
    pub args: Vec<String>,
}

impl Server {
    /// Starts the engine on `config_text` and waits for its readiness line.
    pub fn start(config_text: &str) -> Server {
        Self::start_with(config_text, Launch::default())
    }

    pub fn start_with(config_text: &str, launch: Launch) -> Server {
        let dir = tempfile::tempdir().expect("create a temporary folder");
        let config = dir.path().join("config.yaml");
        std::fs::write(&config, config_text).expect("write the test config");
        Self::start_at(dir, config, launch)
    }

    pub fn start_at(dir: tempfile::TempDir, config: PathBuf, launch: Launch) -> Server {
        let mut command = engine_command();
        command.arg("--config").arg(&config);
        command.args(&launch.args);
        for (name, value) in &launch.env {
            command.env(name, value);
        }
        command
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn cpa-engine");

        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (port_sender, port_receiver) = std::sync::mpsc::channel();
        let out = child.stdout.take().expect("piped stdout");
        let sink = stdout.clone();
        std::thread::spawn(move || {
            let mut sender = Some(port_sender);
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                // Store the line first, so a test that got the port can also
                // read every line printed before it.
                {
                    let mut text = sink.lock().unwrap();
                    text.push_str(&line);
                    text.push('\n');
                }
                if let Some(address) = line.strip_prefix(STARTED_PREFIX)
                    && let Some(sender) = sender.take()
                {
                    let port = address.rsplit(':').next().unwrap_or("").parse::<u16>().ok();
                    let _ = sender.send(port);
                }
            }
        });

        let err = child.stderr.take().expect("piped stderr");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(err);
            let mut text = String::new();
            let _ = reader.read_to_string(&mut text);
            sink.lock().unwrap().push_str(&text);
        });

        let port = match port_receiver.recv_timeout(Duration::from_secs(30)) {
            Ok(Some(port)) => port,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "engine did not report its port ({other:?})\nstdout:\n{}\nstderr:\n{}",
                    stdout.lock().unwrap(),
                    stderr.lock().unwrap()
                );
            }
        };
        Server {
            dir,
            config,
            port,
            child,
            stdout,
            stderr,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        request(self.port, "GET", path, headers, b"")
    }

    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        request(self.port, method, path, headers, body)
    }

    /// Sends SIGTERM and waits for the exit status.
    #[cfg(unix)]
    pub fn terminate(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        self.wait(Duration::from_secs(15))
    }

    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll child") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("engine did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Polls `check` every 50 ms for up to `limit`; returns whether it held.
    pub fn eventually(&self, limit: Duration, mut check: impl FnMut(&Server) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if check(self) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header names lower-cased; repeated headers joined with ", ".
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|err| panic!("body is not JSON ({err}): {}", self.text()))
    }
}

/// Sends one request on a fresh connection (`Connection: close`) to 127.0.0.1.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the engine");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    exchange(&mut stream, method, path, headers, body)
}

/// Writes one request and reads one response from `stream`.
pub fn exchange<S: Read + Write>(
    stream: &mut S,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || matches!(method, "PUT" | "POST" | "PATCH") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .expect("send request head");
    stream.write_all(body).expect("send request body");
    parse_response(&read_response(stream, method == "HEAD"), method == "HEAD")
}

/// Reads one response: up to `Content-Length` when given, else to the end of
/// the stream (some servers keep the connection open despite `close`).
fn read_response<S: Read>(stream: &mut S, head_only: bool) -> Vec<u8> {
    let mut raw = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = raw.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse::<usize>().ok());
            if let Some(length) = length {
                let wanted = if head_only { end + 4 } else { end + 4 + length };
                while raw.len() < wanted {
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(read) => raw.extend_from_slice(&chunk[..read]),
                    }
                }
                return raw;
            }
            let _ = stream.read_to_end(&mut raw);
            return raw;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return raw,
            Ok(read) => raw.extend_from_slice(&chunk[..read]),
        }
    }
}

fn parse_response(raw: &[u8], head_only: bool) -> Response {
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("incomplete response: {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim().to_ascii_lowercase();
            let value = value.trim().to_string();
            headers
                .entry(name)
                .and_modify(|existing| {
                    existing.push_str(", ");
                    existing.push_str(&value);
                })
                .or_insert(value);
        }
    }
    let mut body = raw[split + 4..].to_vec();
    if head_only {
        body.clear();
    } else if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
    out
}

/// Waits until `path` contains `needle` (file rewritten by the engine).
pub fn wait_for_file(path: &Path, limit: Duration, needle: &str) -> String {
    let deadline = Instant::now() + limit;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) || Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Writes `text` into `path` in place (same inode: truncate and write).
pub fn write_in_place(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .expect("open the config for writing");
    file.write_all(text.as_bytes()).expect("write the config");
    file.sync_all().expect("sync the config");
}

/// Replaces `path` by writing a sibling file and renaming it over `path`,
/// the way editors that save atomically do.
pub fn write_by_rename(path: &Path, text: &str) {
    let temporary = path.with_file_name("config.yaml.pending");
    std::fs::write(&temporary, text).expect("write the replacement");
    std::fs::rename(&temporary, path).expect("rename over the config");
}

pub fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}
