//! Temporary files and folders inside `versions/`.
//!
//! Downloads and extractions happen next to their destination so the final
//! step is one rename on the same file system. Every temporary entry starts
//! with [`TEMP_PREFIX`], which is not a valid tag, so listings skip them. A
//! guard deletes the entry when dropped, so an error or panic anywhere in the
//! pipeline leaves nothing behind. A crash (power loss, kill -9) can still
//! leave entries, which [`remove_stale`] deletes during a later install once
//! they are six hours old.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::ReleaseError;

/// Name prefix of every temporary entry in `versions/`.
pub const TEMP_PREFIX: &str = ".cpa-tmp-";

/// Entries older than this are leftovers of a crashed install. The margin
/// keeps a concurrent install by another cpa-tray process safe.
const STALE_AFTER: Duration = Duration::from_secs(6 * 3600);

/// Wraps every file the installer writes (the downloaded archive and the
/// extracted binary). Production code passes none; tests use it to inject
/// faults such as a full disk at the file layer.
pub type WriterWrapper = Arc<dyn Fn(&Path, File) -> Box<dyn Write + Send> + Send + Sync>;

/// A temporary file or folder that is deleted on drop unless kept.
#[derive(Debug)]
pub(crate) struct TempEntry {
    path: PathBuf,
    armed: bool,
}

impl TempEntry {
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Stops the guard from deleting the entry (it was renamed into place).
    pub(crate) fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for TempEntry {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        // Best effort: the entry may be half written or already gone. A
        // leftover is removed by `remove_stale` later.
        let _ = if self.path.is_dir() {
            fs::remove_dir_all(&self.path)
        } else {
            fs::remove_file(&self.path)
        };
    }
}

fn random_suffix() -> String {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // Uniqueness matters here, not secrecy: the clock and the process
        // id are enough when the OS random source is unavailable.
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes = ((nanos as u64) ^ u64::from(std::process::id()).rotate_left(32)).to_le_bytes();
    }
    hex::encode(bytes)
}

/// Creates a new, empty temporary file in `dir` and opens it for writing.
pub(crate) fn create_file(dir: &Path, label: &str) -> Result<(TempEntry, File), ReleaseError> {
    for _ in 0..8 {
        let path = dir.join(format!("{TEMP_PREFIX}{label}-{}", random_suffix()));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        // The download is readable by the owner only, like its folder.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(file) => return Ok((TempEntry { path, armed: true }, file)),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(source) => {
                return Err(ReleaseError::Io {
                    action: "create a temporary file in",
                    path: dir.to_path_buf(),
                    source,
                });
            }
        }
    }
    Err(ReleaseError::Io {
        action: "create a temporary file in",
        path: dir.to_path_buf(),
        source: io::Error::new(io::ErrorKind::AlreadyExists, "no free temporary name"),
    })
}

/// Creates a new temporary folder in `dir`.
pub(crate) fn create_dir(dir: &Path, label: &str) -> Result<TempEntry, ReleaseError> {
    for _ in 0..8 {
        let path = dir.join(format!("{TEMP_PREFIX}{label}-{}", random_suffix()));
        match crate::home::private_dir_builder(false).create(&path) {
            Ok(()) => return Ok(TempEntry { path, armed: true }),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(source) => {
                return Err(ReleaseError::Io {
                    action: "create a temporary folder in",
                    path: dir.to_path_buf(),
                    source,
                });
            }
        }
    }
    Err(ReleaseError::Io {
        action: "create a temporary folder in",
        path: dir.to_path_buf(),
        source: io::Error::new(io::ErrorKind::AlreadyExists, "no free temporary name"),
    })
}

/// Deletes temporary entries in `dir` left by an install that crashed more
/// than six hours ago. Errors are ignored: a leftover only costs disk space.
pub(crate) fn remove_stale(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            continue;
        }
        let age = entry
            .metadata()
            .and_then(|meta| meta.modified())
            .ok()
            .and_then(|modified| now.duration_since(modified).ok());
        if age.is_some_and(|age| age > STALE_AFTER) {
            let path = entry.path();
            let _ = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
        }
    }
}

/// Opens the writer for a temporary file, wrapped for fault injection if asked.
pub(crate) fn writer_for(
    path: &Path,
    file: File,
    wrapper: Option<&WriterWrapper>,
) -> Box<dyn Write + Send> {
    match wrapper {
        Some(wrap) => wrap(path, file),
        None => Box::new(file),
    }
}

/// Flushes a directory's entries to disk so a rename survives power loss.
/// Windows has no directory handles for this, and there it is a no-op.
pub(crate) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
