//! One tray per home folder: the running tray owns a lock and replies to pokes.
//!
//! The tray holds `run/tray.lock` for as long as it runs. This lock is separate
//! from the home lock (`run/cpa-tray.lock`) that CLI commands and the tray take
//! around each start or stop, because the tray must not block the CLI while it
//! merely runs. The OS releases the lock when the process exits, so a crashed
//! tray never blocks the next one.
//!
//! A second tray that finds the lock taken pokes the first one instead of
//! exiting silently. The first tray listens on a TCP socket bound to
//! 127.0.0.1 with an OS-chosen port and records the port, its pid and a
//! random token in `run/tray.json`. The second reads that record, connects,
//! sends the token and reads the pid back. A socket works the same way on
//! Windows, macOS and Linux with the standard library alone, and the listening
//! thread sleeps in `accept` until a client connects, so nothing polls.
//! The token keeps other programs that find the port from triggering pokes.
//! On Unix the record is readable by its owner only (mode 0600), and the
//! home folders cpa-tray creates are 0700.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::home::{Home, create_private_dir, with_path};

/// File name of the lock the running tray holds, inside `run/`.
pub const LOCK_FILE: &str = "tray.lock";

/// File name of the running tray's record (pid, port, token), inside `run/`.
pub const RECORD_FILE: &str = "tray.json";

/// First word of a poke request line.
const POKE_COMMAND: &str = "poke";

/// How long a poke may take to connect, send and read the reply.
const POKE_TIMEOUT: Duration = Duration::from_secs(3);

/// How long the running tray waits for a connected client's request line. A
/// second tray sends it right after connecting.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

/// How many connections the running tray reads at once.
const MAX_OPEN_POKES: usize = 8;

/// How long a second tray waits for the first one's record. The first tray
/// writes it right after taking the lock, so it only misses in that short
/// window.
const RECORD_WAIT: Duration = Duration::from_secs(3);

/// Record of the running tray: its pid, its port and the poke token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrayRecord {
    pub pid: u32,
    pub port: u16,
    pub token: String,
}

/// Result of [`acquire`].
#[derive(Debug)]
pub enum Acquired {
    /// This process is the tray of the home folder.
    Primary(Instance),
    /// Another tray runs. `pid` is its pid when it replied to the poke, or the
    /// pid from its record when the poke failed (then `poke` contains the error).
    AlreadyRunning {
        pid: Option<u32>,
        poke: io::Result<()>,
    },
}

/// The lock and the listening socket of the running tray. Dropping it
/// removes the record and releases the lock.
#[derive(Debug)]
pub struct Instance {
    _lock: File,
    listener: Option<TcpListener>,
    record_path: PathBuf,
    token: String,
}

/// Takes the tray lock of `home`, or pokes the tray that holds it.
///
/// Fails when the lock file, the socket or the record cannot be created.
pub fn acquire(home: &Home) -> io::Result<Acquired> {
    let run_dir = home.run_dir();
    create_private_dir(&run_dir)?;
    let lock_path = run_dir.join(LOCK_FILE);
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|err| with_path(err, &lock_path))?;
    let record_path = run_dir.join(RECORD_FILE);
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(poke_running(&record_path)),
        Err(std::fs::TryLockError::Error(err)) => return Err(with_path(err, &lock_path)),
    }

    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let port = listener.local_addr()?.port();
    let token = random_token()?;
    let record = TrayRecord {
        pid: std::process::id(),
        port,
        token: token.clone(),
    };
    write_record(&record_path, &record)?;
    Ok(Acquired::Primary(Instance {
        _lock: lock,
        listener: Some(listener),
        record_path,
        token,
    }))
}

impl Instance {
    /// Starts a thread that calls `on_poke` for every valid poke, until the
    /// process exits. Connections without the right token are closed
    /// without a call. Calling it a second time does nothing.
    ///
    /// Reads each connection on a thread of its own, so a client that
    /// connects and stays silent does not delay the next tray's poke. At
    /// most [`MAX_OPEN_POKES`] are read at once. Further connections are
    /// closed right away until one of them ends.
    pub fn serve_pokes(&mut self, on_poke: impl Fn() + Send + Sync + 'static) -> io::Result<()> {
        let Some(listener) = self.listener.take() else {
            return Ok(());
        };
        let token: Arc<str> = Arc::from(self.token.as_str());
        let on_poke = Arc::new(on_poke);
        let open = Arc::new(AtomicUsize::new(0));
        std::thread::Builder::new()
            .name("tray-pokes".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    if open.fetch_add(1, Ordering::SeqCst) >= MAX_OPEN_POKES {
                        open.fetch_sub(1, Ordering::SeqCst);
                        continue;
                    }
                    let (token, on_poke, done) = (token.clone(), on_poke.clone(), open.clone());
                    let spawned =
                        std::thread::Builder::new()
                            .name("tray-poke".into())
                            .spawn(move || {
                                if answer_poke(stream, &token).is_ok() {
                                    on_poke();
                                }
                                done.fetch_sub(1, Ordering::SeqCst);
                            });
                    if spawned.is_err() {
                        open.fetch_sub(1, Ordering::SeqCst);
                    }
                }
            })?;
        Ok(())
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // Best effort: a stale record is harmless because the next tray
        // takes the lock and overwrites it.
        let _ = std::fs::remove_file(&self.record_path);
    }
}

/// Reads one request line and replies to it. A wrong token is an error.
fn answer_poke(stream: TcpStream, token: &str) -> io::Result<()> {
    // A client that connects and sends nothing holds this thread only briefly.
    stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    stream.set_write_timeout(Some(POKE_TIMEOUT))?;
    let mut line = String::new();
    BufReader::new(&stream).take(256).read_line(&mut line)?;
    let mut words = line.split_whitespace();
    let valid = words.next() == Some(POKE_COMMAND) && words.next() == Some(token);
    if !valid {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "invalid poke request",
        ));
    }
    writeln!(&stream, "ok {}", std::process::id())
}

/// Pokes the tray recorded at `record_path`, waiting briefly for a record
/// that is not written yet.
fn poke_running(record_path: &Path) -> Acquired {
    let started = Instant::now();
    let record = loop {
        match read_record(record_path) {
            Ok(record) => break record,
            Err(err) if started.elapsed() >= RECORD_WAIT => {
                return Acquired::AlreadyRunning {
                    pid: None,
                    poke: Err(err),
                };
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    match poke(&record) {
        Ok(pid) => Acquired::AlreadyRunning {
            pid: Some(pid),
            poke: Ok(()),
        },
        Err(err) => Acquired::AlreadyRunning {
            pid: Some(record.pid),
            poke: Err(err),
        },
    }
}

/// Sends a poke to the tray of `record` and returns the pid in its reply.
pub fn poke(record: &TrayRecord) -> io::Result<u32> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, record.port));
    let stream = TcpStream::connect_timeout(&address, POKE_TIMEOUT)?;
    stream.set_read_timeout(Some(POKE_TIMEOUT))?;
    stream.set_write_timeout(Some(POKE_TIMEOUT))?;
    writeln!(&stream, "{POKE_COMMAND} {}", record.token)?;
    let mut reply = String::new();
    BufReader::new(&stream).take(64).read_line(&mut reply)?;
    reply
        .strip_prefix("ok ")
        .and_then(|pid| pid.trim().parse().ok())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "unexpected answer from 127.0.0.1:{}: {reply:?}",
                    record.port
                ),
            )
        })
}

/// Reads the running tray's record.
pub fn read_record(path: &Path) -> io::Result<TrayRecord> {
    let text = std::fs::read_to_string(path).map_err(|err| with_path(err, path))?;
    serde_json::from_str(&text).map_err(|err| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {err}", path.display()),
        )
    })
}

/// Writes the record through a temporary file and a rename, so a reader
/// never sees half a record.
fn write_record(path: &Path, record: &TrayRecord) -> io::Result<()> {
    let temporary = path.with_extension("json.tmp");
    let text = serde_json::to_string(record).map_err(io::Error::other)?;
    // The token is readable by the owner only, whatever the folder's mode.
    let mut options = File::options();
    options.create(true).truncate(true).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(&temporary)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(|err| with_path(err, &temporary))?;
    std::fs::rename(&temporary, path).map_err(|err| with_path(err, path))
}

/// Returns 128 random bits from the OS as hex.
fn random_token() -> io::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|err| io::Error::other(err.to_string()))?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn home() -> (tempfile::TempDir, Home) {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path()).unwrap();
        (dir, home)
    }

    #[cfg(unix)]
    #[test]
    fn record_and_run_folder_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(&dir.path().join("new-home")).unwrap();
        let Acquired::Primary(_first) = acquire(&home).unwrap() else {
            panic!("the first acquire must own the lock");
        };
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&home.run_dir()), 0o700);
        assert_eq!(mode(home.root()), 0o700);
        assert_eq!(mode(&home.run_dir().join(RECORD_FILE)), 0o600);
    }

    #[test]
    fn second_acquire_pokes_first() {
        let (_dir, home) = home();
        let Acquired::Primary(mut first) = acquire(&home).unwrap() else {
            panic!("the first acquire must own the lock");
        };
        let (sender, pokes) = mpsc::channel();
        first.serve_pokes(move || sender.send(()).unwrap()).unwrap();

        match acquire(&home).unwrap() {
            Acquired::AlreadyRunning { pid, poke } => {
                assert_eq!(pid, Some(std::process::id()));
                assert!(poke.is_ok(), "{poke:?}");
            }
            Acquired::Primary(_) => panic!("the second acquire must not own the lock"),
        }
        pokes.recv_timeout(Duration::from_secs(5)).unwrap();
    }

    /// Silent clients on the poke port (another program that found it, or a
    /// tray that hung after connecting) must not keep a second tray from
    /// getting through. Before, each one held the only reader for its
    /// timeout, and two of them outlasted the second tray's wait.
    #[test]
    fn silent_connections_do_not_block_a_poke() {
        let (_dir, home) = home();
        let Acquired::Primary(mut first) = acquire(&home).unwrap() else {
            panic!("the first acquire must own the lock");
        };
        let (sender, pokes) = mpsc::channel();
        first.serve_pokes(move || sender.send(()).unwrap()).unwrap();
        let record = read_record(&home.run_dir().join(RECORD_FILE)).unwrap();
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, record.port));
        let silent: Vec<TcpStream> = (0..4)
            .map(|_| TcpStream::connect(address).unwrap())
            .collect();

        let pid = poke(&record).unwrap();

        assert_eq!(pid, std::process::id());
        pokes.recv_timeout(Duration::from_secs(5)).unwrap();
        drop(silent);
    }

    #[test]
    fn wrong_token_is_rejected() {
        let (_dir, home) = home();
        let Acquired::Primary(mut first) = acquire(&home).unwrap() else {
            panic!("the first acquire must own the lock");
        };
        let (sender, pokes) = mpsc::channel();
        first.serve_pokes(move || sender.send(()).unwrap()).unwrap();
        let mut record = read_record(&home.run_dir().join(RECORD_FILE)).unwrap();
        record.token = "0".repeat(32);

        let err = poke(&record).unwrap_err();

        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
        assert!(pokes.recv_timeout(Duration::from_millis(300)).is_err());
    }

    #[test]
    fn drop_releases_lock_and_record() {
        let (_dir, home) = home();
        let first = acquire(&home).unwrap();
        let record_path = home.run_dir().join(RECORD_FILE);
        assert!(record_path.is_file());
        drop(first);
        assert!(!record_path.exists());

        let again = acquire(&home).unwrap();

        assert!(matches!(again, Acquired::Primary(_)));
    }

    #[test]
    fn poke_to_closed_port_fails() {
        let (_dir, home) = home();
        let first = acquire(&home).unwrap();
        // A record left by a tray whose port is closed now.
        let record = read_record(&home.run_dir().join(RECORD_FILE)).unwrap();
        drop(first);
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let closed = TrayRecord {
            port: listener.local_addr().unwrap().port(),
            ..record
        };
        drop(listener);

        let err = poke(&closed).unwrap_err();

        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
    }
}
