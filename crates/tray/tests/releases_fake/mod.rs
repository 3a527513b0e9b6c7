//! A fake GitHub for the `update`, `install` and `versions` tests: an
//! HTTP/1.1 server on 127.0.0.1 (port 0) that serves one "latest release"
//! JSON, its assets and `checksums.txt` from memory, and counts API requests.
//!
//! Release archives hold a real server binary built in this workspace as
//! `cli-proxy-api`: `cpa-engine` (a CLIProxyAPI-compatible server that
//! answers `/healthz`) for a working release, `cpa-test-server` for one that
//! misbehaves as `CPA_TEST_SERVER` tells it. Real binaries, not scripts,
//! because the supervisor identifies a server by the executable it runs.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::Duration;

use cpa_core::releases::{Platform, Version};
use sha2::{Digest, Sha256};

/// Path of the latest-release endpoint for the default repository.
pub const LATEST_PATH: &str = "/repos/router-for-me/CLIProxyAPI/releases/latest";

/// The server binary a release archive contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stand {
    /// `cpa-engine`: starts and responds.
    Engine,
    /// `cpa-test-server`: behaves as `CPA_TEST_SERVER` says (e.g. `--never-listen`).
    TestServer,
}

/// Checksum publishing of a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sums {
    Correct,
    /// `checksums.txt` lists a digest that does not match the archive.
    Wrong,
}

struct Shared {
    routes: Mutex<HashMap<String, (u16, Vec<u8>)>>,
    /// Paths whose body is sent in small chunks with this pause between them.
    slow: Mutex<HashMap<String, Duration>>,
    /// Failures that replace a published route.
    faults: Mutex<HashMap<String, Fault>>,
    api_requests: AtomicUsize,
}

/// A failing response that replaces a route.
#[derive(Debug, Clone)]
pub struct Fault {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// `Content-Length` to announce; more than `body` makes a truncated download.
    pub claimed_len: Option<usize>,
}

impl Fault {
    pub fn status(status: u16, body: &str) -> Fault {
        Fault {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
            claimed_len: None,
        }
    }
}

/// Chunk size of a slow body.
const SLOW_CHUNK: usize = 16 * 1024;

/// The fake server; it runs until the test process exits.
pub struct FakeGithub {
    pub base: String,
    shared: Arc<Shared>,
}

impl FakeGithub {
    pub fn start() -> FakeGithub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake GitHub");
        let base = format!("http://{}", listener.local_addr().expect("local address"));
        let shared = Arc::new(Shared {
            routes: Mutex::new(HashMap::new()),
            slow: Mutex::new(HashMap::new()),
            faults: Mutex::new(HashMap::new()),
            api_requests: AtomicUsize::new(0),
        });
        let serving = Arc::clone(&shared);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = Arc::clone(&serving);
                thread::spawn(move || serve(stream, &shared));
            }
        });
        FakeGithub { base, shared }
    }

    /// Publishes `tag` as the latest release for this machine, with an
    /// archive holding `stand` and a `checksums.txt`.
    pub fn publish(&self, tag: &str, stand: Stand, sums: Sums) {
        let name = asset_name(tag);
        let archive = archive(stand).to_vec();
        let digest = match sums {
            Sums::Correct => sha256_hex(&archive),
            Sums::Wrong => sha256_hex(b"something else"),
        };
        let checksums = format!("{digest}  {name}\n").into_bytes();
        let json = serde_json::json!({
            "tag_name": tag,
            "html_url": format!("{}/releases/{tag}", self.base),
            "assets": [
                {
                    "name": name,
                    "size": archive.len(),
                    "browser_download_url": format!("{}/download/{tag}/{name}", self.base),
                },
                {
                    "name": "checksums.txt",
                    "size": checksums.len(),
                    "browser_download_url": format!("{}/download/{tag}/checksums.txt", self.base),
                },
            ],
        });
        let mut routes = self.shared.routes.lock().expect("routes");
        routes.insert(format!("/download/{tag}/{name}"), (200, archive));
        routes.insert(format!("/download/{tag}/checksums.txt"), (200, checksums));
        routes.insert(
            LATEST_PATH.to_string(),
            (200, json.to_string().into_bytes()),
        );
    }

    /// Sends `tag`'s archive in 16 KiB chunks with `pause` between them, so
    /// a download lasts long enough to be interrupted.
    pub fn slow_down(&self, tag: &str, pause: Duration) {
        let path = format!("/download/{tag}/{}", asset_name(tag));
        self.shared.slow.lock().expect("slow").insert(path, pause);
    }

    /// Makes `path` fail with `fault` until [`FakeGithub::clear_faults`].
    pub fn inject(&self, path: &str, fault: Fault) {
        self.shared
            .faults
            .lock()
            .expect("faults")
            .insert(path.to_string(), fault);
    }

    pub fn clear_faults(&self) {
        self.shared.faults.lock().expect("faults").clear();
    }

    /// Number of requests to the latest-release endpoint so far.
    pub fn api_requests(&self) -> usize {
        self.shared.api_requests.load(Ordering::SeqCst)
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(stream) => stream,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => break,
            Ok(_) if header.trim().is_empty() => break,
            Ok(_) => {}
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    if path == LATEST_PATH {
        shared.api_requests.fetch_add(1, Ordering::SeqCst);
    }
    let fault = shared.faults.lock().expect("faults").get(&path).cloned();
    if let Some(fault) = fault {
        let mut stream = stream;
        let mut head = format!(
            "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
            fault.status,
            fault.claimed_len.unwrap_or(fault.body.len())
        );
        for (name, value) in &fault.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&fault.body);
        let _ = stream.flush();
        return;
    }
    let (status, body) = shared
        .routes
        .lock()
        .expect("routes")
        .get(&path)
        .cloned()
        .unwrap_or((404, br#"{"message":"Not Found"}"#.to_vec()));
    let mut stream = stream;
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let pause = shared.slow.lock().expect("slow").get(&path).copied();
    match pause {
        Some(pause) => {
            for chunk in body.chunks(SLOW_CHUNK) {
                if stream.write_all(chunk).is_err() || stream.flush().is_err() {
                    return;
                }
                thread::sleep(pause);
            }
        }
        None => {
            let _ = stream.write_all(&body);
        }
    }
    let _ = stream.flush();
}

/// `CLIProxyAPI_<version>_<os>_<arch>.<ext>` for this machine.
pub fn asset_name(tag: &str) -> String {
    let platform = Platform::current().expect("a supported platform");
    platform.asset_name(&Version::parse(tag).expect("a valid tag"))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A `.tar.gz` release archive holding `stand` as `cli-proxy-api`, built
/// once per binary (the content does not depend on the version).
pub fn archive(stand: Stand) -> &'static [u8] {
    static ENGINE: OnceLock<Vec<u8>> = OnceLock::new();
    static TEST_SERVER: OnceLock<Vec<u8>> = OnceLock::new();
    let (cell, package) = match stand {
        Stand::Engine => (&ENGINE, "cpa-engine"),
        Stand::TestServer => (&TEST_SERVER, "cpa-test-server"),
    };
    cell.get_or_init(|| tar_gz(&workspace_binary(package)))
}

fn tar_gz(binary: &Path) -> Vec<u8> {
    let bytes = std::fs::read(binary).expect("read the stand-in binary");
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(encoder);
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o755);
    header.set_cksum();
    builder
        .append_data(&mut header, "cli-proxy-api", bytes.as_slice())
        .expect("append the binary");
    let mut readme = tar::Header::new_gnu();
    readme.set_size(6);
    readme.set_mode(0o644);
    readme.set_cksum();
    builder
        .append_data(&mut readme, "README.md", &b"readme"[..])
        .expect("append the readme");
    builder
        .into_inner()
        .expect("finish the tar")
        .finish()
        .expect("finish the gzip")
}

/// Returns the binary of `package` next to `cpa-tray`, building it first.
pub fn workspace_binary(package: &str) -> PathBuf {
    let tray = Path::new(env!("CARGO_BIN_EXE_cpa-tray"));
    let profile_dir = tray.parent().expect("binary folder");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet", "-p", package, "--bin", package]);
    if profile_dir
        .file_name()
        .is_some_and(|name| name == "release")
    {
        build.arg("--release");
    }
    let status = build.status().expect("run cargo build");
    assert!(status.success(), "cargo build -p {package} failed");
    profile_dir.join(format!("{package}{}", std::env::consts::EXE_SUFFIX))
}
