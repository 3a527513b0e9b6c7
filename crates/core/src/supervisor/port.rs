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

/// Finds the process listening on `port` (Windows: the IPv4 and IPv6
/// listener tables of `GetExtendedTcpTable`, which name the owning pid, and
/// the process list of a ToolHelp snapshot for its executable name; both work
/// for other users' processes without elevation).
// NOTE: cross-compiled for Windows and not yet run there.
#[cfg(windows)]
pub fn find_owner(port: u16) -> Option<PortOwner> {
    let pid = windows::listener_pid(port)?;
    let name = windows::process_name(pid).unwrap_or_default();
    Some(PortOwner { pid, name })
}

#[cfg(windows)]
mod windows {
    use std::ffi::OsString;
    use std::os::windows::ffi::OsStringExt;

    use windows_sys::Win32::Foundation::{
        CloseHandle, ERROR_INSUFFICIENT_BUFFER, INVALID_HANDLE_VALUE,
    };
    use windows_sys::Win32::NetworkManagement::IpHelper::{
        GetExtendedTcpTable, MIB_TCP6ROW_OWNER_PID, MIB_TCP6TABLE_OWNER_PID, MIB_TCPROW_OWNER_PID,
        MIB_TCPTABLE_OWNER_PID, TCP_TABLE_OWNER_PID_LISTENER,
    };
    use windows_sys::Win32::Networking::WinSock::{AF_INET, AF_INET6};
    use windows_sys::Win32::System::Diagnostics::ToolHelp::{
        CreateToolhelp32Snapshot, PROCESSENTRY32W, Process32FirstW, Process32NextW,
        TH32CS_SNAPPROCESS,
    };

    /// Returns the pid owning a listening socket on `port`, IPv4 first.
    pub fn listener_pid(port: u16) -> Option<u32> {
        // The tables store the port in network byte order in the low 16 bits.
        let wanted = u32::from(port.to_be());
        let v4 = listener_table(u32::from(AF_INET)).and_then(|table| {
            rows::<MIB_TCPROW_OWNER_PID>(
                &table,
                std::mem::offset_of!(MIB_TCPTABLE_OWNER_PID, table),
            )
            .find(|row| row.dwLocalPort & 0xFFFF == wanted)
            .map(|row| row.dwOwningPid)
        });
        v4.or_else(|| {
            let table = listener_table(u32::from(AF_INET6))?;
            rows::<MIB_TCP6ROW_OWNER_PID>(
                &table,
                std::mem::offset_of!(MIB_TCP6TABLE_OWNER_PID, table),
            )
            .find(|row| row.dwLocalPort & 0xFFFF == wanted)
            .map(|row| row.dwOwningPid)
        })
    }

    /// Reads the listener table of one address family into a u32-aligned buffer.
    fn listener_table(family: u32) -> Option<Vec<u32>> {
        let mut size = 0u32;
        // The table can grow between the size query and the read, so a few
        // attempts are made.
        for _ in 0..4 {
            let mut buffer = vec![0u32; (size as usize).div_ceil(4)];
            // SAFETY: the buffer holds at least `size` bytes, and `size` is a
            // valid in/out pointer.
            let result = unsafe {
                GetExtendedTcpTable(
                    buffer.as_mut_ptr().cast(),
                    &mut size,
                    0,
                    family,
                    TCP_TABLE_OWNER_PID_LISTENER,
                    0,
                )
            };
            match result {
                0 => return Some(buffer),
                ERROR_INSUFFICIENT_BUFFER => continue,
                _ => return None,
            }
        }
        None
    }

    /// Iterates the rows of a table that starts with a u32 entry count, the
    /// rows beginning at byte `offset`.
    fn rows<Row: Copy>(table: &[u32], offset: usize) -> impl Iterator<Item = Row> + '_ {
        let bytes = table.len() * 4;
        let count = table.first().copied().unwrap_or(0) as usize;
        let fits = bytes.saturating_sub(offset) / std::mem::size_of::<Row>();
        (0..count.min(fits)).map(move |index| {
            let at = offset + index * std::mem::size_of::<Row>();
            // SAFETY: `at` plus one row lies inside the buffer (checked by
            // `fits`), and read_unaligned has no alignment requirement.
            unsafe { std::ptr::read_unaligned(table.as_ptr().cast::<u8>().add(at).cast::<Row>()) }
        })
    }

    /// Returns the executable name (e.g. `node.exe`) of process `pid`.
    pub fn process_name(pid: u32) -> Option<String> {
        // SAFETY: CreateToolhelp32Snapshot takes no pointers.
        let snapshot = unsafe { CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0) };
        if snapshot.is_null() || snapshot == INVALID_HANDLE_VALUE {
            return None;
        }
        let mut entry = PROCESSENTRY32W {
            dwSize: std::mem::size_of::<PROCESSENTRY32W>() as u32,
            ..Default::default()
        };
        let mut name = None;
        // SAFETY: `entry` is a valid PROCESSENTRY32W with dwSize set, as the
        // API requires; the snapshot handle is closed once below.
        unsafe {
            let mut more = Process32FirstW(snapshot, &mut entry) != 0;
            while more {
                if entry.th32ProcessID == pid {
                    let length = entry
                        .szExeFile
                        .iter()
                        .position(|&unit| unit == 0)
                        .unwrap_or(entry.szExeFile.len());
                    name = Some(
                        OsString::from_wide(&entry.szExeFile[..length])
                            .to_string_lossy()
                            .into_owned(),
                    );
                    break;
                }
                more = Process32NextW(snapshot, &mut entry) != 0;
            }
            CloseHandle(snapshot);
        }
        name
    }
}

/// Finds the process listening on `port` (macOS: `lsof`, which ships with
/// the system, lists TCP listeners with their pid and command name; only
/// this user's processes are visible without privileges).
///
/// It runs only after a port conflict was found, so its cost (tens of
/// milliseconds) is not on any regular path.
// NOTE: cross-compiled for macOS and not yet run there; the parser is
// tested on Linux with the same `lsof` output format.
#[cfg(target_os = "macos")]
pub fn find_owner(port: u16) -> Option<PortOwner> {
    let output = std::process::Command::new("/usr/sbin/lsof")
        .args(["-nP", &format!("-iTCP:{port}"), "-sTCP:LISTEN", "-Fpc"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    parse_lsof_owner(&String::from_utf8_lossy(&output.stdout))
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
pub fn find_owner(_port: u16) -> Option<PortOwner> {
    // TODO: sockstat or lsof on the BSDs; until then the conflict message
    // names the port without the process.
    None
}

/// Reads the first process of `lsof -F pc` output: a `p<pid>` line followed
/// by a `c<command>` line.
pub fn parse_lsof_owner(output: &str) -> Option<PortOwner> {
    let mut lines = output.lines();
    let pid = lines
        .find_map(|line| line.strip_prefix('p'))?
        .trim()
        .parse()
        .ok()?;
    let name = lines
        .next()
        .and_then(|line| line.strip_prefix('c'))
        .unwrap_or_default()
        .to_string();
    Some(PortOwner { pid, name })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsof_output_names_the_first_listener() {
        let owner = parse_lsof_owner("p4242\ncnode\nf23\np4343\ncother\n");
        assert_eq!(
            owner,
            Some(PortOwner {
                pid: 4242,
                name: "node".to_string()
            })
        );
        assert_eq!(parse_lsof_owner(""), None);
        assert_eq!(parse_lsof_owner("pnot-a-pid\n"), None);
    }

    /// Debian's `lsof` prints the same `-F` field format as macOS's, so the
    /// parser is checked against a real listener here.
    #[cfg(unix)]
    #[test]
    fn lsof_finds_this_process() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let Ok(output) = std::process::Command::new("lsof")
            .args(["-nP", &format!("-iTCP:{port}"), "-sTCP:LISTEN", "-Fpc"])
            .output()
        else {
            cpa_testkit::missing_tool::<()>("lsof");
            return;
        };
        let owner = parse_lsof_owner(&String::from_utf8_lossy(&output.stdout)).unwrap();
        assert_eq!(owner.pid, std::process::id());
        assert!(!owner.name.is_empty());
    }
}
