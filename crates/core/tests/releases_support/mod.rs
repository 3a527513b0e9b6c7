//! A fake GitHub for release tests: a small HTTP/1.1 server on 127.0.0.1
//! (port 0) serving release JSON, real archives and `checksums.txt`, with
//! switchable failures. It also accepts `CONNECT`, so it doubles as an HTTP
//! proxy that tunnels every request to itself.
//!
//! Each connection gets a thread and `Connection: close`. Bodies stream from
//! memory or from a file through a fixed buffer, so a 100 MB asset does not
//! inflate the test process's memory.

#![allow(dead_code)]

pub mod socks;

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// Content of a response body.
#[derive(Clone)]
pub enum Body {
    Bytes(Vec<u8>),
    File(PathBuf),
}

impl Body {
    fn len(&self) -> u64 {
        match self {
            Body::Bytes(bytes) => bytes.len() as u64,
            Body::File(path) => fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        }
    }
}

/// What the server does for one path.
#[derive(Clone)]
pub enum Route {
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Body,
    },
    /// Reads the request and never responds (until the server is dropped).
    Hang,
    /// Sends the headers with `Content-Length: claimed_len`, then `body`,
    /// then closes the connection.
    Truncated { body: Vec<u8>, claimed_len: u64 },
    /// Sends headers and the first `sent` bytes of `body`, then stalls.
    Stall { body: Vec<u8>, sent: usize },
}

impl Route {
    pub fn ok(body: Vec<u8>, content_type: &str) -> Route {
        Route::Respond {
            status: 200,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: Body::Bytes(body),
        }
    }

    pub fn json(status: u16, json: &str) -> Route {
        Route::Respond {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Body::Bytes(json.as_bytes().to_vec()),
        }
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
}

impl Logged {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

struct Shared {
    routes: Mutex<HashMap<String, Route>>,
    log: Mutex<Vec<Logged>>,
    stop: AtomicBool,
}

pub struct FakeGithub {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_thread: Option<thread::JoinHandle<()>>,
}

impl FakeGithub {
    pub fn start() -> FakeGithub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            routes: Mutex::new(HashMap::new()),
            log: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let accept_shared = Arc::clone(&shared);
        let accept_thread = thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let conn_shared = Arc::clone(&accept_shared);
                thread::spawn(move || serve(stream, &conn_shared));
            }
        });
        FakeGithub {
            addr,
            shared,
            accept_thread: Some(accept_thread),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Returns `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn route(&self, path: &str, route: Route) {
        self.shared
            .routes
            .lock()
            .unwrap()
            .insert(path.to_string(), route);
    }

    pub fn requests(&self) -> Vec<Logged> {
        self.shared.log.lock().unwrap().clone()
    }

    pub fn request_paths(&self) -> Vec<String> {
        self.requests().into_iter().map(|r| r.path).collect()
    }

    pub fn clear_log(&self) {
        self.shared.log.lock().unwrap().clear();
    }
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it reads the stop flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(handle) = self.accept_thread.take() {
            let _ = handle.join();
        }
    }
}

/// Method, request target and lowercased headers of one request.
type RequestHead = (String, String, Vec<(String, String)>);

fn read_head(reader: &mut BufReader<TcpStream>) -> Option<RequestHead> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    Some((method, target, headers))
}

fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut writer = match stream.try_clone() {
        Ok(writer) => writer,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    let Some((mut method, mut target, mut headers)) = read_head(&mut reader) else {
        return;
    };
    if method == "CONNECT" {
        shared.log.lock().unwrap().push(Logged {
            method: method.clone(),
            path: target.clone(),
            headers: headers.clone(),
        });
        if writer
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .is_err()
        {
            return;
        }
        let Some(next) = read_head(&mut reader) else {
            return;
        };
        (method, target, headers) = next;
    }
    // A proxied request may use the absolute form; keep only the path.
    let path = match target.strip_prefix("http://") {
        Some(rest) => rest
            .find('/')
            .map(|i| rest[i..].to_string())
            .unwrap_or("/".into()),
        None => target,
    };
    shared.log.lock().unwrap().push(Logged {
        method,
        path: path.clone(),
        headers,
    });

    let route = shared.routes.lock().unwrap().get(&path).cloned();
    let route = route.unwrap_or_else(|| Route::json(404, r#"{"message":"Not Found"}"#));
    match route {
        Route::Respond {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
                reason(status),
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            if writer.write_all(head.as_bytes()).is_err() {
                return;
            }
            match body {
                Body::Bytes(bytes) => {
                    let _ = writer.write_all(&bytes);
                }
                Body::File(path) => {
                    if let Ok(mut file) = fs::File::open(path) {
                        let mut buffer = vec![0u8; 64 * 1024];
                        while let Ok(count) = file.read(&mut buffer) {
                            if count == 0 || writer.write_all(&buffer[..count]).is_err() {
                                break;
                            }
                        }
                    }
                }
            }
            let _ = writer.flush();
        }
        Route::Hang => {
            while !shared.stop.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(20));
            }
        }
        Route::Truncated { body, claimed_len } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {claimed_len}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
            );
            let _ = writer.write_all(head.as_bytes());
            let _ = writer.write_all(&body);
            let _ = writer.flush();
            let _ = writer.shutdown(std::net::Shutdown::Both);
        }
        Route::Stall { body, sent } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = writer.write_all(head.as_bytes());
            let _ = writer.write_all(&body[..sent]);
            let _ = writer.flush();
            while !shared.stop.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        _ => "Status",
    }
}

// ---------------------------------------------------------------------------
// Archives

/// One entry of a test archive.
#[derive(Clone)]
pub enum Entry {
    File { name: String, data: Vec<u8> },
    Dir { name: String },
    Symlink { name: String, target: String },
    HardLink { name: String, target: String },
}

impl Entry {
    pub fn file(name: &str, data: &[u8]) -> Entry {
        Entry::File {
            name: name.into(),
            data: data.to_vec(),
        }
    }
}

/// Returns a shell script used as the server binary on Unix. It prints its
/// version, so a test can run the installed file.
pub fn stand_in_binary(version: &str) -> Vec<u8> {
    format!("#!/bin/sh\necho \"CLIProxyAPI stand-in {version}\"\n").into_bytes()
}

/// Returns the flat content of a real release archive, with `binary_name` holding
/// the stand-in.
pub fn release_entries(version: &str, binary_name: &str) -> Vec<Entry> {
    vec![
        Entry::file(binary_name, &stand_in_binary(version)),
        Entry::file("LICENSE", b"MIT License\n"),
        Entry::file("README.md", b"# CLIProxyAPI\n"),
        Entry::file("README_CN.md", b"# CLIProxyAPI\n"),
        Entry::file("config.example.yaml", b"port: 8317\n"),
    ]
}

pub fn zip_archive(entries: &[Entry]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    for entry in entries {
        match entry {
            Entry::File { name, data } => {
                writer.start_file(name.as_str(), options).unwrap();
                writer.write_all(data).unwrap();
            }
            Entry::Dir { name } => writer.add_directory(name.as_str(), options).unwrap(),
            Entry::Symlink { name, target } | Entry::HardLink { name, target } => writer
                .add_symlink(name.as_str(), target.as_str(), options)
                .unwrap(),
        }
    }
    writer.finish().unwrap().into_inner()
}

/// Writes a tar.gz with raw header names, so traversal and absolute names
/// (which `tar::Builder`'s path setters reject) can be produced.
pub fn tar_gz_archive(entries: &[Entry]) -> Vec<u8> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(encoder);
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        let (name, data, kind, link): (&str, &[u8], tar::EntryType, Option<&str>) = match entry {
            Entry::File { name, data } => (name, data, tar::EntryType::Regular, None),
            Entry::Dir { name } => (name, &[], tar::EntryType::Directory, None),
            Entry::Symlink { name, target } => (name, &[], tar::EntryType::Symlink, Some(target)),
            Entry::HardLink { name, target } => (name, &[], tar::EntryType::Link, Some(target)),
        };
        let raw_name = &mut header.as_old_mut().name;
        raw_name.fill(0);
        raw_name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_entry_type(kind);
        header.set_mode(0o755);
        header.set_size(data.len() as u64);
        header.set_mtime(1_700_000_000);
        if let Some(link) = link {
            header.set_link_name_literal(link).unwrap();
        }
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

// ---------------------------------------------------------------------------
// Releases

/// One asset published by the fake release.
#[derive(Clone)]
pub struct FakeAsset {
    pub name: String,
    pub bytes: Vec<u8>,
    /// `size` in the release JSON; defaults to the byte count.
    pub listed_size: Option<u64>,
    /// Route override (failures); defaults to serving `bytes`.
    pub route: Option<Route>,
    /// GitHub `digest` field; `None` leaves it out.
    pub digest: Option<String>,
}

impl FakeAsset {
    pub fn new(name: &str, bytes: Vec<u8>) -> FakeAsset {
        FakeAsset {
            name: name.to_string(),
            bytes,
            listed_size: None,
            route: None,
            digest: None,
        }
    }
}

/// Builds the archive for one platform shape, as upstream names it.
pub fn platform_archive(version: &str, os: &str, arch: &str) -> FakeAsset {
    let bare = version.trim_start_matches('v');
    let (binary, ext) = if os == "windows" {
        ("cli-proxy-api.exe", "zip")
    } else {
        ("cli-proxy-api", "tar.gz")
    };
    let entries = release_entries(version, binary);
    let bytes = if ext == "zip" {
        zip_archive(&entries)
    } else {
        tar_gz_archive(&entries)
    };
    FakeAsset::new(&format!("CLIProxyAPI_{bare}_{os}_{arch}.{ext}"), bytes)
}

/// Returns every asset a release of `version` publishes: six platform archives, two
/// `_no-plugin` twins listed before their full builds, and no checksums.txt.
pub fn all_platform_assets(version: &str) -> Vec<FakeAsset> {
    let bare = version.trim_start_matches('v');
    let mut assets = Vec::new();
    for (os, arch) in [
        ("darwin", "amd64"),
        ("darwin", "aarch64"),
        ("windows", "amd64"),
        ("windows", "aarch64"),
        ("linux", "amd64"),
        ("linux", "aarch64"),
    ] {
        if os == "linux" {
            assets.push(FakeAsset::new(
                &format!("CLIProxyAPI_{bare}_{os}_{arch}_no-plugin.tar.gz"),
                tar_gz_archive(&[Entry::file("cli-proxy-api", b"#!/bin/sh\necho no-plugin\n")]),
            ));
        }
        assets.push(platform_archive(version, os, arch));
    }
    assets
}

/// Returns checksums.txt text (sha256sum format) for `assets`, sorted by name.
pub fn checksums_text(assets: &[FakeAsset]) -> String {
    let mut lines: Vec<String> = assets
        .iter()
        .map(|a| format!("{}  {}", sha256_hex(&a.bytes), a.name))
        .collect();
    lines.sort_by(|a, b| a[66..].cmp(&b[66..]));
    lines.join("\n") + "\n"
}

/// Publishes a release on the fake server: the latest-release JSON at
/// `/repos/<repo>/releases/latest` and each asset at `/download/<tag>/<name>`.
pub fn publish(server: &FakeGithub, repo: &str, tag: &str, assets: &[FakeAsset]) {
    let mut json_assets = Vec::new();
    for asset in assets {
        let path = format!("/download/{tag}/{}", asset.name);
        let route = asset
            .route
            .clone()
            .unwrap_or_else(|| Route::ok(asset.bytes.clone(), "application/octet-stream"));
        server.route(&path, route);
        let mut json = serde_json::json!({
            "name": asset.name,
            "size": asset.listed_size.unwrap_or(asset.bytes.len() as u64),
            "content_type": "application/octet-stream",
            "browser_download_url": format!("{}{path}", server.url()),
        });
        if let Some(digest) = &asset.digest {
            json["digest"] = serde_json::Value::String(digest.clone());
        }
        json_assets.push(json);
    }
    let release = serde_json::json!({
        "tag_name": tag,
        "name": tag,
        "html_url": format!("https://github.com/{repo}/releases/tag/{tag}"),
        "published_at": "2026-11-30T12:00:00Z",
        "prerelease": false,
        "assets": json_assets,
    });
    server.route(
        &format!("/repos/{repo}/releases/latest"),
        Route::json(200, &release.to_string()),
    );
}

/// Publishes `assets` plus a checksums.txt covering all of them.
pub fn publish_with_checksums(server: &FakeGithub, repo: &str, tag: &str, assets: &[FakeAsset]) {
    let mut all = assets.to_vec();
    all.push(FakeAsset::new(
        "checksums.txt",
        checksums_text(assets).into_bytes(),
    ));
    publish(server, repo, tag, &all);
}

// ---------------------------------------------------------------------------
// Folder snapshots

/// Lists every file and folder under `dir` with its size and SHA-256, sorted, so a
/// test can assert that a failed install changed nothing.
pub fn snapshot(dir: &Path) -> Vec<(String, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                out.push((relative + "/", String::new()));
                walk(root, &path, out);
            } else {
                let bytes = fs::read(&path).unwrap_or_default();
                out.push((relative, format!("{} {}", bytes.len(), sha256_hex(&bytes))));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}
