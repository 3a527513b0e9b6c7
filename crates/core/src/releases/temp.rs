//! Temporary files and folders inside `versions/`.
//!
//! Downloads and extractions happen next to their destination so the final
//! step is one rename on the same file system. Every temporary entry starts
//! with [`TEMP_PREFIX`], which is not a valid tag, so listings skip them. A
//! guard deletes the entry when dropped, so an error or panic anywhere in the
//! pipeline leaves nothing behind. A crash, a kill or a second Ctrl+C can
//! still leave entries. [`lock_and_sweep`] deletes them at the start of the
//! next install: all of them when no other cpa-tray process is installing,
//! and only those older than six hours otherwise.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::ReleaseError;

/// Name prefix of every temporary entry in `versions/`.
pub const TEMP_PREFIX: &str = ".cpa-tmp-";

/// While another process holds the install lock, entries older than this
/// are still taken for leftovers. The margin keeps that process's own
/// entries safe, and it covers cpa-tray versions that take no lock.
const STALE_AFTER: Duration = Duration::from_secs(6 * 3600);

/// The shared install lock: a lock on the `versions/` folder itself, which
/// every install, update and prune holds while it has temporary entries
/// there. The OS releases it when this value is dropped or the process ends,
/// so a killed install never leaves it held.
#[derive(Debug)]
pub(crate) struct InstallLock {
    _file: Option<File>,
}

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

/// Takes the shared install lock in `dir` (an existing `versions/` folder)
/// and deletes the temporary entries that earlier runs left behind.
///
/// When the lock can be taken exclusively, no other cpa-tray process is
/// installing, so every temporary entry is a leftover and is deleted. The
/// exclusive lock is then exchanged for a shared one. When another process
/// holds the lock, or the folder cannot be locked, only entries older than
/// six hours are deleted. Errors are ignored: a leftover only costs disk space.
pub(crate) fn lock_and_sweep(dir: &Path) -> InstallLock {
    let Some(file) = open_for_lock(dir) else {
        remove_older_than(dir, STALE_AFTER);
        return InstallLock { _file: None };
    };
    match file.try_lock() {
        Ok(()) => {
            remove_older_than(dir, Duration::ZERO);
            // Another process may take the exclusive lock between these two
            // calls. It then sweeps, which is safe: this install has no
            // temporary entries yet.
            let _ = file.unlock();
        }
        Err(_) => remove_older_than(dir, STALE_AFTER),
    }
    let locked = file.lock_shared().is_ok();
    InstallLock {
        _file: locked.then_some(file),
    }
}

/// Opens `dir` so it can be locked. Unix locks a folder like a file.
#[cfg(unix)]
fn open_for_lock(dir: &Path) -> Option<File> {
    File::open(dir).ok()
}

/// NOTE: on Windows the standard library cannot open a folder as a file to
/// lock it, and a lock file inside `versions/` would show up in listings.
/// There no lock is taken and only entries older than six hours are swept.
#[cfg(not(unix))]
fn open_for_lock(_dir: &Path) -> Option<File> {
    None
}

/// Deletes the temporary entries in `dir` last modified more than `min_age` ago.
fn remove_older_than(dir: &Path, min_age: Duration) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            continue;
        }
        // A modification time in the future counts as age zero.
        let age = entry
            .metadata()
            .and_then(|meta| meta.modified())
            .ok()
            .map(|modified| now.duration_since(modified).unwrap_or_default());
        if age.is_some_and(|age| age >= min_age) {
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
