//! The server's log file `logs/engine.log`.
//!
//! The child writes stdout and stderr straight into the file (no pipe, so a
//! full pipe can never block it). Rotation happens before each start: a file
//! over [`ROTATE_BYTES`] becomes `engine.log.1`, replacing the previous one.
//! A running server keeps appending to its file, so one run can grow past the
//! limit.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Size above which the log is rotated before the next start (5 MiB).
pub const ROTATE_BYTES: u64 = 5 * 1024 * 1024;

/// The log opened for one run.
pub struct RunLog {
    pub file: File,
    /// Byte offset where this run's output starts.
    pub start_offset: u64,
}

/// Rotates the log when it is too large, then opens it for appending and
/// writes a header line for this run.
pub fn open_for_run(path: &Path, header: &str) -> io::Result<RunLog> {
    if let Ok(meta) = std::fs::metadata(path)
        && meta.len() > ROTATE_BYTES
    {
        let mut rotated = path.as_os_str().to_owned();
        rotated.push(".1");
        std::fs::rename(path, &rotated).map_err(|err| crate::home::with_path(err, path))?;
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
pub fn read_since(path: &Path, offset: u64) -> String {
    const MAX: u64 = 64 * 1024;
    let Ok(mut file) = File::open(path) else {
        return String::new();
    };
    let end = file.seek(SeekFrom::End(0)).unwrap_or(0);
    let start = offset.max(end.saturating_sub(MAX)).min(end);
    if file.seek(SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut bytes = Vec::new();
    let _ = file.take(end - start).read_to_end(&mut bytes);
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
