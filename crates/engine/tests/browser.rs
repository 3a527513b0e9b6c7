//! Drives the embedded management page in real headless Chromium over the
//! DevTools protocol: sign in, see the version, add a client key and see it
//! listed, toggle allow-remote, sign out. Saves a screenshot to
//! `<target>/engine-browser/management.png`.
//!
//! The DevTools client is a minimal WebSocket client on a std TCP stream, so
//! the test needs no extra crates. Chromium is Debian's `chromium` package.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const KEY: &str = "browser-key-12345";

fn find_chromium() -> Option<String> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        let found = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {name}"))
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string());
        if let Some(path) = found.filter(|path| !path.is_empty()) {
            return Some(path);
        }
    }
    None
}

struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    devtools_port: u16,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn launch(chromium: &str) -> Browser {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "--window-size=900,900",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let stderr = child.stderr.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sender = Some(sender);
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(url) = line.strip_prefix("DevTools listening on ws://127.0.0.1:")
                && let Some(sender) = sender.take()
            {
                let port = url.split('/').next().unwrap_or("").parse::<u16>().ok();
                let _ = sender.send(port);
            }
        }
    });
    let devtools_port = receiver
        .recv_timeout(Duration::from_secs(30))
        .ok()
        .flatten()
        .expect("chromium printed its DevTools port");
    Browser {
        child,
        _profile: profile,
        devtools_port,
    }
}

/// A DevTools session on one page target over WebSocket.
struct Session {
    stream: TcpStream,
    next_id: u64,
}

impl Session {
    fn connect(port: u16, path: &str) -> Session {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let handshake = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(handshake.as_bytes()).unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(
            head.starts_with("HTTP/1.1 101"),
            "WebSocket upgrade failed: {head}"
        );
        Session { stream, next_id: 1 }
    }

    fn send_text(&mut self, text: &str) {
        let payload = text.as_bytes();
        let mut frame = vec![0x81u8];
        match payload.len() {
            len if len < 126 => frame.push(0x80 | len as u8),
            len if len <= 0xffff => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        let mask = [0x37u8, 0xfa, 0x21, 0x3d];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).unwrap();
    }

    fn read_message(&mut self) -> String {
        let mut message = Vec::new();
        loop {
            let mut header = [0u8; 2];
            self.stream.read_exact(&mut header).unwrap();
            let fin = header[0] & 0x80 != 0;
            let opcode = header[0] & 0x0f;
            let mut length = u64::from(header[1] & 0x7f);
            if length == 126 {
                let mut bytes = [0u8; 2];
                self.stream.read_exact(&mut bytes).unwrap();
                length = u64::from(u16::from_be_bytes(bytes));
            } else if length == 127 {
                let mut bytes = [0u8; 8];
                self.stream.read_exact(&mut bytes).unwrap();
                length = u64::from_be_bytes(bytes);
            }
            let mut payload = vec![0u8; length as usize];
            self.stream.read_exact(&mut payload).unwrap();
            match opcode {
                0x8 => panic!("DevTools closed the connection"),
                0x9 | 0xa => continue,
                _ => message.extend_from_slice(&payload),
            }
            if fin {
                return String::from_utf8(message).unwrap();
            }
        }
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send_text(&json!({ "id": id, "method": method, "params": params }).to_string());
        loop {
            let reply: Value = serde_json::from_str(&self.read_message()).unwrap();
            if reply["id"] == id {
                assert!(reply.get("error").is_none(), "{method} failed: {reply}");
                return reply["result"].clone();
            }
        }
    }

    /// Evaluates `expression` in the page and returns its value.
    fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "awaitPromise": true, "returnByValue": true }),
        );
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression}: {result}"
        );
        result["result"]["value"].clone()
    }

    /// Polls `expression` until it is `true` (up to 15 s).
    fn wait_for(&mut self, expression: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.eval(expression) != Value::Bool(true) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for: {expression}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("invalid base64 byte {c}"),
    };
    let bytes: Vec<u8> = text
        .bytes()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut buffer = 0u32;
        for (index, c) in chunk.iter().enumerate() {
            buffer |= u32::from(value(*c)) << (18 - 6 * index);
        }
        let produced = chunk.len() * 6 / 8;
        for index in 0..produced {
            out.push((buffer >> (16 - 8 * index)) as u8);
        }
    }
    out
}

#[test]
fn management_page_in_chromium() {
    let Some(chromium) = find_chromium()
        .or_else(|| cpa_testkit::missing_tool("chromium (apt-get install chromium)"))
    else {
        return;
    };
    let server = Server::start(&legacy_config(&fast_hash(KEY), ""));
    let browser = launch(&chromium);

    let targets = request(browser.devtools_port, "GET", "/json/list", &[], b"").json();
    let page = targets
        .as_array()
        .and_then(|list| list.iter().find(|target| target["type"] == "page"))
        .expect("a page target")
        .clone();
    let ws_url = page["webSocketDebuggerUrl"].as_str().unwrap();
    let path = &ws_url[ws_url.find("/devtools/").unwrap()..];
    let mut session = Session::connect(browser.devtools_port, path);

    let url = format!("http://127.0.0.1:{}/management.html", server.port);
    session.call("Page.enable", json!({}));
    session.call("Page.navigate", json!({ "url": url }));
    session
        .wait_for("document.readyState === 'complete' && !!document.getElementById('signin-form')");
    assert_eq!(
        session.eval("document.getElementById('panel').hidden"),
        json!(true)
    );

    // A wrong key shows upstream's error text and keeps the form.
    session.eval("document.getElementById('key').value = 'not-the-key'; document.getElementById('signin-button').click(); true");
    session.wait_for(
        "document.getElementById('signin-error').textContent === 'invalid management key'",
    );

    // Sign in with the right key.
    session.eval(&format!(
        "document.getElementById('key').value = '{KEY}'; document.getElementById('signin-button').click(); true"
    ));
    session.wait_for("document.getElementById('panel').hidden === false");
    assert_eq!(
        session.eval("document.getElementById('version').textContent"),
        json!(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        session.eval("document.getElementById('key').value"),
        json!(""),
        "the field is cleared"
    );

    // Add a client key and see it listed, and stored by the engine.
    session.eval("document.getElementById('new-key').value = 'browser-added-key'; document.getElementById('add-button').click(); true");
    session.wait_for("[...document.querySelectorAll('#keys code')].some(e => e.textContent === 'browser-added-key')");
    let stored = server
        .get(
            "/v0/management/api-keys",
            &[("Authorization", &bearer(KEY))],
        )
        .json();
    assert_eq!(stored["api-keys"], json!(["browser-added-key"]));

    // Toggle allow-remote.
    session.eval("document.getElementById('allow-remote').click(); true");
    session.wait_for(
        "document.getElementById('allow-remote').checked === true && !document.getElementById('allow-remote').disabled",
    );
    let remote = server
        .get(
            "/v0/management/allow-remote",
            &[("Authorization", &bearer(KEY))],
        )
        .json();
    assert_eq!(remote["allow-remote"], json!(true));
    assert!(
        std::fs::read_to_string(&server.config)
            .unwrap()
            .contains("allow-remote: true")
    );

    let shot = session.call("Page.captureScreenshot", json!({ "format": "png" }));
    let png = decode_base64(shot["data"].as_str().unwrap());
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let out_dir = cpa_testkit::target_dir().join("engine-browser");
    std::fs::create_dir_all(&out_dir).unwrap();
    std::fs::write(out_dir.join("management.png"), &png).unwrap();

    // Sign out: the form is back and the key is gone from sessionStorage.
    session.eval("document.getElementById('signout').click(); true");
    session.wait_for("document.getElementById('signin').hidden === false");
    assert_eq!(session.eval("sessionStorage.length"), json!(0));
    assert_eq!(
        session.eval("document.getElementById('keys').textContent.includes('browser-added-key')"),
        json!(false)
    );
}
