//! The server's listening address: where to probe it, and whether the port is
//! free before a start.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// Returns the address to connect to for a server configured with `host`.
///
/// CLIProxyAPI with `host: ""` listens on every interface; `0.0.0.0` and `::`
/// are probed on 127.0.0.1 (every interface includes it). `::1` is probed on
/// `[::1]`, `localhost` on 127.0.0.1 and any other IP address as it is. A
/// host name other than `localhost` is probed on 127.0.0.1.
pub fn probe_address(host: &str, port: u16) -> SocketAddr {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    let ip = match host.parse::<IpAddr>() {
        Ok(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Ok(ip) => ip,
        Err(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    SocketAddr::new(ip, port)
}

/// Returns the address the server will bind for `host`.
fn bind_address(host: &str, port: u16) -> SocketAddr {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, port),
        Err(_) if host.is_empty() => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
        Err(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
    }
}

/// Why the configured port cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortProblem {
    /// Another process listens on the port.
    InUse { owner: Option<PortOwner> },
    /// Binding failed for another reason (for example a port Windows reserves,
    /// or a port below 1024 without privileges).
    Unavailable { reason: String },
}

/// The process that listens on a port, where the OS lets us find it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortOwner {
    pub pid: u32,
    pub name: String,
}

/// Checks that nothing listens on the port and that it can be bound.
///
/// Connecting first catches a listener on the probe address even when the OS
/// would allow a second bind on another address; binding then catches
/// reserved ports and listeners on other interfaces.
pub fn check_free(host: &str, port: u16) -> Result<(), PortProblem> {
    let probe = probe_address(host, port);
    if TcpStream::connect_timeout(&probe, Duration::from_millis(200)).is_ok() {
        return Err(PortProblem::InUse {
            owner: find_owner(port),
        });
    }
    let mut bind = bind_address(host, port);
    let mut result = TcpListener::bind(bind);
    if result.is_err() && bind.ip() == IpAddr::V6(Ipv6Addr::UNSPECIFIED) {
        // No IPv6 on this machine: the server falls back to IPv4 as well.
        bind = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
        result = TcpListener::bind(bind);
    }
    match result {
        Ok(listener) => {
            drop(listener);
            Ok(())
        }
        Err(err) if err.kind() == io::ErrorKind::AddrInUse => Err(PortProblem::InUse {
            owner: find_owner(port),
        }),
        Err(err) => Err(PortProblem::Unavailable {
            reason: format!("{bind}: {err}"),
        }),
    }
}

/// Finds the process listening on `port` (Linux only: `/proc/net/tcp*` and
/// the socket links under `/proc/<pid>/fd`; only this user's processes are
/// visible without privileges).
#[cfg(target_os = "linux")]
pub fn find_owner(port: u16) -> Option<PortOwner> {
    let inodes = listening_sockets(port);
    if inodes.is_empty() {
        return None;
    }
    let processes = std::fs::read_dir("/proc").ok()?;
    for entry in processes.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        if holds_any(pid, &inodes) {
            let name = std::fs::read_to_string(entry.path().join("comm"))
                .map(|name| name.trim().to_string())
                .unwrap_or_default();
            return Some(PortOwner { pid, name });
        }
    }
    None
}

/// Lists the `socket:[inode]` names of the sockets listening on `port`.
#[cfg(target_os = "linux")]
fn listening_sockets(port: u16) -> Vec<String> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // Fields: sl, local_address (hex ip:port), rem_address, st (0A = LISTEN), ..., inode (index 9).
            let Some(local) = fields.get(1) else { continue };
            let listening = fields.get(3) == Some(&"0A");
            let local_port = local
                .rsplit(':')
                .next()
                .and_then(|hex| u16::from_str_radix(hex, 16).ok());
            if listening
                && local_port == Some(port)
                && let Some(inode) = fields.get(9)
            {
                inodes.push(format!("socket:[{inode}]"));
            }
        }
    }
    inodes
}

/// Returns whether process `pid` has a descriptor for one of `inodes`.
#[cfg(target_os = "linux")]
fn holds_any(pid: u32, inodes: &[String]) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|target| {
            inodes
                .iter()
                .any(|inode| target.as_os_str() == inode.as_str())
        })
    })
}

#[cfg(not(target_os = "linux"))]
pub fn find_owner(_port: u16) -> Option<PortOwner> {
    // TODO: GetExtendedTcpTable on Windows and libproc on macOS; until then
    // the conflict message names the port without the process.
    None
}
