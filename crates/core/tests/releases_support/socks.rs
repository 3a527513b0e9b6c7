//! A minimal SOCKS5 server (RFC 1928, CONNECT only, with optional RFC 1929
//! username/password) on 127.0.0.1, port 0, for proxy tests.
//!
//! Every tunnel goes to one upstream address on 127.0.0.1 (the fake GitHub):
//! a domain name is never resolved, so `socks5h://` requests for made-up
//! hosts reach the fake server, and an IP target must be a loopback address.
//! The server logs each requested target and counts the bytes it relayed
//! from upstream, so a test can assert that a download went through it.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

struct State {
    upstream: SocketAddr,
    credentials: Option<(String, String)>,
    targets: Mutex<Vec<String>>,
    relayed: AtomicU64,
    rejected_logins: AtomicU64,
}

pub struct Socks5Proxy {
    addr: SocketAddr,
    state: Arc<State>,
}

impl Socks5Proxy {
    /// Starts the proxy; `credentials` makes username/password mandatory.
    pub fn start(upstream: SocketAddr, credentials: Option<(&str, &str)>) -> Socks5Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the SOCKS5 proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(State {
            upstream,
            credentials: credentials.map(|(user, pass)| (user.to_string(), pass.to_string())),
            targets: Mutex::new(Vec::new()),
            relayed: AtomicU64::new(0),
            rejected_logins: AtomicU64::new(0),
        });
        let accept_state = Arc::clone(&state);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = Arc::clone(&accept_state);
                thread::spawn(move || {
                    let _ = serve(stream, &state);
                });
            }
        });
        Socks5Proxy { addr, state }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Targets requested so far, as `host:port`.
    pub fn targets(&self) -> Vec<String> {
        self.state.targets.lock().unwrap().clone()
    }

    /// Bytes relayed from upstream to clients so far.
    pub fn relayed(&self) -> u64 {
        self.state.relayed.load(Ordering::SeqCst)
    }

    /// Number of rejected username/password attempts.
    pub fn rejected_logins(&self) -> u64 {
        self.state.rejected_logins.load(Ordering::SeqCst)
    }
}

fn serve(mut client: TcpStream, state: &State) -> io::Result<()> {
    // Greeting: version 5, the number of methods, the methods.
    let mut head = [0u8; 2];
    client.read_exact(&mut head)?;
    if head[0] != 5 {
        return Ok(());
    }
    let mut methods = vec![0u8; usize::from(head[1])];
    client.read_exact(&mut methods)?;
    let wanted = if state.credentials.is_some() { 2 } else { 0 };
    if !methods.contains(&wanted) {
        client.write_all(&[5, 0xff])?;
        return Ok(());
    }
    client.write_all(&[5, wanted])?;

    if let Some((user, pass)) = &state.credentials {
        let mut version_and_len = [0u8; 2];
        client.read_exact(&mut version_and_len)?;
        let mut given_user = vec![0u8; usize::from(version_and_len[1])];
        client.read_exact(&mut given_user)?;
        let mut pass_len = [0u8; 1];
        client.read_exact(&mut pass_len)?;
        let mut given_pass = vec![0u8; usize::from(pass_len[0])];
        client.read_exact(&mut given_pass)?;
        if given_user != user.as_bytes() || given_pass != pass.as_bytes() {
            state.rejected_logins.fetch_add(1, Ordering::SeqCst);
            client.write_all(&[1, 1])?;
            return Ok(());
        }
        client.write_all(&[1, 0])?;
    }

    // Request: version, command, reserved, address type, address, port.
    let mut request = [0u8; 4];
    client.read_exact(&mut request)?;
    let target = match request[3] {
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip)?;
            Target::Ip(Ipv4Addr::from(ip))
        }
        3 => {
            let mut len = [0u8; 1];
            client.read_exact(&mut len)?;
            let mut name = vec![0u8; usize::from(len[0])];
            client.read_exact(&mut name)?;
            Target::Domain(String::from_utf8_lossy(&name).into_owned())
        }
        _ => {
            reply(&mut client, 8)?;
            return Ok(());
        }
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port)?;
    let port = u16::from_be_bytes(port);
    let label = match &target {
        Target::Ip(ip) => format!("{ip}:{port}"),
        Target::Domain(name) => format!("{name}:{port}"),
    };
    state.targets.lock().unwrap().push(label);
    if request[1] != 1 {
        reply(&mut client, 7)?;
        return Ok(());
    }
    let destination = match target {
        Target::Domain(_) => state.upstream,
        Target::Ip(ip) if ip.is_loopback() => SocketAddr::V4(SocketAddrV4::new(ip, port)),
        Target::Ip(_) => {
            // Only 127.0.0.1 is reachable from these tests.
            reply(&mut client, 2)?;
            return Ok(());
        }
    };
    let Ok(upstream) = TcpStream::connect(destination) else {
        reply(&mut client, 5)?;
        return Ok(());
    };
    reply(&mut client, 0)?;

    let mut client_read = client.try_clone()?;
    let mut upstream_write = upstream.try_clone()?;
    let forward = thread::spawn(move || {
        let _ = io::copy(&mut client_read, &mut upstream_write);
        let _ = upstream_write.shutdown(Shutdown::Write);
    });
    let mut upstream_read = upstream;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let count = match upstream_read.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(count) => count,
        };
        if client.write_all(&buffer[..count]).is_err() {
            break;
        }
        state.relayed.fetch_add(count as u64, Ordering::SeqCst);
    }
    let _ = client.shutdown(Shutdown::Write);
    let _ = forward.join();
    Ok(())
}

enum Target {
    Ip(Ipv4Addr),
    Domain(String),
}

fn reply(client: &mut TcpStream, status: u8) -> io::Result<()> {
    client.write_all(&[5, status, 0, 1, 0, 0, 0, 0, 0, 0])
}
