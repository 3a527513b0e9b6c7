//! A minimal HTTP/1.1 client over `TcpStream` for local probes.
//!
//! The supervisor only ever talks to the server it started, on a loopback
//! address, in plain HTTP, so a full client is not needed. Each request sends
//! `Connection: close` and reads the response until EOF.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A parsed response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Sends `GET path` on an open connection and reads the response.
///
/// `timeout` bounds the whole exchange, not each read, so a server that
/// sends its response a byte at a time cannot hold the caller longer.
pub fn get_on(
    mut stream: TcpStream,
    addr: SocketAddr,
    path: &str,
    extra_headers: &[(&str, &str)],
    timeout: Duration,
) -> io::Result<Response> {
    let deadline = Instant::now() + timeout;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.set_nodelay(true)?;
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: cpa-tray\r\nConnection: close\r\n"
    );
    for (name, value) in extra_headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;

    let mut raw = Vec::new();
    let mut buffer = [0u8; 8192];
    while raw.len() < MAX_RESPONSE_BYTES {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the response did not finish in time",
            ));
        }
        stream.set_read_timeout(Some(left))?;
        let want = buffer.len().min(MAX_RESPONSE_BYTES - raw.len());
        match stream.read(&mut buffer[..want]) {
            Ok(0) => break,
            Ok(read) => raw.extend_from_slice(&buffer[..read]),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    parse(&raw)
}

/// Maximum number of response bytes read; the rest is ignored.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Connects to `addr` and sends `GET path`.
pub fn get(
    addr: SocketAddr,
    path: &str,
    extra_headers: &[(&str, &str)],
    timeout: Duration,
) -> io::Result<Response> {
    let stream = TcpStream::connect_timeout(&addr, timeout)?;
    get_on(stream, addr, path, extra_headers, timeout)
}

fn parse(raw: &[u8]) -> io::Result<Response> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(|| invalid("incomplete HTTP response"))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.split_whitespace();
    if !parts
        .next()
        .is_some_and(|version| version.starts_with("HTTP/1."))
    {
        return Err(invalid("not an HTTP/1.x response"));
    }
    let status = parts
        .next()
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid("invalid HTTP status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(name, value)| name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Ok(Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = data.windows(2).position(|window| window == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            break;
        };
        data = &data[line_end + 2..];
        if size == 0 || data.len() < size {
            out.extend_from_slice(&data[..size.min(data.len())]);
            break;
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// Serves one connection: the response head at once, then one body byte
    /// every 100 ms for `drip_bytes` bytes, then closes.
    fn dripping_server(drip_bytes: usize) -> (SocketAddr, std::thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        let handle = std::thread::spawn(move || {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");
            for _ in 0..drip_bytes {
                if stream.write_all(b"x").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        (addr, handle)
    }

    #[test]
    fn slow_body_hits_the_deadline() {
        // 50 bytes take 5 s, ten times the timeout; each byte alone arrives
        // well within it.
        let (addr, server) = dripping_server(50);
        let result = get(addr, "/", &[], Duration::from_millis(500));
        let err = result.expect_err("a response slower than the timeout");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
        drop(server);
    }

    #[test]
    fn response_within_the_deadline_is_read() {
        let (addr, server) = dripping_server(3);
        let response = get(addr, "/", &[], Duration::from_secs(10)).expect("response");
        assert_eq!(response.status, 200);
        assert_eq!(response.body, "xxx");
        server.join().expect("server thread");
    }
}
