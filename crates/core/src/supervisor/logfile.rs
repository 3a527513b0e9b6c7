//! The server's log file `logs/engine.log`, and its size-based rotation.
//!
//! The child writes stdout and stderr straight into the file (no pipe, so a
//! full pipe can never block it), opened with `O_APPEND` (`FILE_APPEND_DATA`
//! on Windows): every write lands at the file's current end.
//!
//! Rotation keeps one old file, `engine.log.1`, and happens at two moments:
//! - before each start, when no server writes: a file over [`ROTATE_BYTES`]
//!   is renamed to `engine.log.1`;
//! - while a server runs for days, a [`RotationWatch`] held by whoever waits
//!   on the server (`start --foreground`, the tray) checks the size once per
//!   [`ROTATE_CHECK_INTERVAL`] and rotates by copy-then-truncate: the
//!   content is copied to `engine.log.1`, then the file is truncated to zero.
//!   Renaming is not an option here, because the server keeps writing to the
//!   file it opened. Truncating is safe because of `O_APPEND`: the server's
//!   next write goes to the new end instead of leaving a hole of zero bytes
//!   at its old offset.
//!
//! The check is a single `stat` once a minute, so an idle supervisor wakes
//! up no more often than that. Between two checks a noisy server can grow
//! the file past the limit by whatever it writes in a minute. Output written
//! between the end of the copy and the truncation (microseconds) is lost.
//! A lock on `run/engine.log.rotate.lock` keeps two processes from rotating
//! at once.
//! A server started by plain `cpa-tray start` with no tray running is checked
//! at its next start and by `cpa-tray status`.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Size above which the log is rotated (5 MiB).
pub const ROTATE_BYTES: u64 = 5 * 1024 * 1024;

/// Time between two size checks while a server runs.
pub const ROTATE_CHECK_INTERVAL: Duration = Duration::from_secs(60);

/// The log opened for one run.
pub struct RunLog {
    pub file: File,
    /// Byte offset where this run's output starts.
    pub start_offset: u64,
}

/// Returns the path of the previous log, `<path>.1`.
pub fn rotated_path(path: &Path) -> PathBuf {
    let mut rotated = path.as_os_str().to_owned();
    rotated.push(".1");
    PathBuf::from(rotated)
}

/// Rotates the log when it is too large, then opens it for appending and
/// writes a header line for this run.
///
/// No server may be writing to the file: it is rotated by renaming.
pub fn open_for_run(path: &Path, header: &str) -> io::Result<RunLog> {
    if let Ok(meta) = std::fs::metadata(path)
        && meta.len() > ROTATE_BYTES
    {
        std::fs::rename(path, rotated_path(path))
            .map_err(|err| crate::home::with_path(err, path))?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|err| crate::home::with_path(err, path))?;
    writeln!(file, "--- {header}").map_err(|err| crate::home::with_path(err, path))?;
    let start_offset = file
        .seek(SeekFrom::End(0))
        .map_err(|err| crate::home::with_path(err, path))?;
    Ok(RunLog { file, start_offset })
}

/// Reads what was written to the log after `offset`, lossily as UTF-8.
///
/// Reads at most the last 64 KiB, which is plenty for a start-up failure.
/// When the file is shorter than `offset` it was truncated by a rotation, and
/// the whole (new) file is read.
pub fn read_since(path: &Path, offset: u64) -> String {
    const MAX: u64 = 64 * 1024;
    let Ok(mut file) = File::open(path) else {
        return String::new();
    };
    let end = file.seek(SeekFrom::End(0)).unwrap_or(0);
    // A log shorter than `offset` was rotated since: all of it is newer.
    let offset = if offset > end { 0 } else { offset };
    let start = offset.max(end.saturating_sub(MAX));
    if file.seek(SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut bytes = Vec::new();
    let _ = file.take(end - start).read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Reads what was written to the log after `offset`, lossily as UTF-8, up
/// to `max` bytes from that point: the beginning of a run's output, where
/// the server prints its version.
pub fn read_head_since(path: &Path, offset: u64, max: u64) -> String {
    let Ok(mut file) = File::open(path) else {
        return String::new();
    };
    let end = file.seek(SeekFrom::End(0)).unwrap_or(0);
    // A log shorter than `offset` was rotated since: all of it is newer.
    let offset = if offset > end { 0 } else { offset };
    if file.seek(SeekFrom::Start(offset)).is_err() {
        return String::new();
    }
    let mut bytes = Vec::new();
    let _ = file.take(max).read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Returns the last `count` non-empty lines of `text`.
pub fn last_lines(text: &str, count: usize) -> Vec<String> {
    let lines: Vec<&str> = text
        .lines()
        .map(|line| line.trim_end_matches('\r'))
        .filter(|line| !line.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(count)..]
        .iter()
        .map(|line| line.to_string())
        .collect()
}

/// Rotates the log of a running server when it is larger than `limit`
/// bytes: copies it to `<path>.1` and truncates it. Returns whether it rotated.
///
/// The copy goes to a temporary file first, so `<path>.1` always contains a
/// complete earlier log. A missing log is not an error.
// NOTE: truncating a file another process holds open for appending is
// cross-compiled for Windows but not yet run there.
pub fn rotate_if_larger(path: &Path, limit: u64) -> io::Result<bool> {
    let with_path = |err| crate::home::with_path(err, path);
    let mut source = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(err) => return Err(with_path(err)),
    };
    if source.metadata().map_err(with_path)?.len() <= limit {
        return Ok(false);
    }
    let rotated = rotated_path(path);
    // A tray and a `status` may check at the same moment. The one that gets
    // the lock rotates, the other skips; the OS releases the lock with the file.
    let lock_path = rotation_lock_path(path);
    let lock = File::create(&lock_path).map_err(|err| crate::home::with_path(err, &lock_path))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(false),
        // A file system without locks: rotate unguarded rather than never.
        Err(std::fs::TryLockError::Error(_)) => {}
    }
    let mut temporary = rotated.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let copied = (|| {
        let mut target = File::create(&temporary)?;
        // Copies until end of file, including what the server appends during
        // the copy, so only the bytes written after this read are lost.
        io::copy(&mut source, &mut target)?;
        target.flush()
    })();
    if let Err(err) = copied {
        let _ = std::fs::remove_file(&temporary);
        return Err(crate::home::with_path(err, &rotated));
    }
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|file| file.set_len(0))
        .map_err(with_path)?;
    std::fs::rename(&temporary, &rotated).map_err(|err| crate::home::with_path(err, &rotated))?;
    Ok(true)
}

/// Returns the file locked during a rotation of `path`. It lives in the home
/// folder's `run/` beside `logs/`, so the logs folder holds only logs; a log
/// elsewhere gets `<path>.1.lock` beside it.
fn rotation_lock_path(path: &Path) -> PathBuf {
    let run = path
        .parent()
        .and_then(Path::parent)
        .map(|home| home.join("run"))
        .filter(|run| run.is_dir());
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    match run {
        Some(run) => run.join(format!("{name}.rotate.lock")),
        None => {
            let mut lock = rotated_path(path).into_os_string();
            lock.push(".lock");
            PathBuf::from(lock)
        }
    }
}

/// A background thread that keeps a running server's log below a size,
/// checking it once per interval; the thread ends when the watch is dropped.
pub struct RotationWatch {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl RotationWatch {
    /// Starts checking `path` every `interval`, rotating it with
    /// [`rotate_if_larger`] when it exceeds `limit` bytes. Errors are
    /// reported to `on_error` and the checks go on.
    pub fn spawn(
        path: PathBuf,
        limit: u64,
        interval: Duration,
        on_error: impl Fn(&io::Error) + Send + 'static,
    ) -> io::Result<RotationWatch> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("log-rotation".to_string())
            .spawn(move || {
                // The timed receive is the sleep: it returns early only when
                // the watch is dropped, so the thread wakes once per interval.
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    if let Err(err) = rotate_if_larger(&path, limit) {
                        on_error(&err);
                    }
                }
            })?;
        Ok(RotationWatch {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for RotationWatch {
    fn drop(&mut self) {
        // Closing the channel wakes the thread at once.
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
