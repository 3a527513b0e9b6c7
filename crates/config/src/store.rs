//! Reading and crash-safe, identity-preserving writing of config files.
//!
//! The file is rewritten in place (same inode, owner, mode and hard links):
//! the Go server watches the file itself and Docker bind-mounts single files,
//! so replacing it by a rename would break both. Crash safety comes from a
//! recovery file beside it, `<name>.cpa-recovery`, created atomically (temp
//! file, fsync, rename, fsync of the folder) before the config is touched.
//! It contains the old content plus the length and SHA-256 of the new content:
//!
//! ```text
//! cpa-config-recovery 1 <new length> <new sha256 hex>\n<old content>
//! ```
//!
//! At every instant either the config or the recovery file holds a complete
//! version. The next [`load`], [`update`] or [`write`] repairs an interrupted
//! write: when the config does not hold exactly the recorded new content, the
//! old content is put back in place; then the recovery file is removed.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::{ConfigDocument, ConfigError, ErrorKind, IoAction, Problem};

/// Suffix of the recovery file kept beside the config during a write.
pub const RECOVERY_SUFFIX: &str = ".cpa-recovery";

const MAGIC: &str = "cpa-config-recovery 1";

/// How often [`update`] re-applies its edit when the file keeps changing.
const MAX_ATTEMPTS: usize = 5;

/// Returns the recovery file's path for `path`.
pub fn recovery_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "config.yaml".into());
    name.push(RECOVERY_SUFFIX);
    path.with_file_name(name)
}

fn io_error(kind: ErrorKind, path: &Path, action: IoAction, err: std::io::Error) -> ConfigError {
    let hint = match err.kind() {
        std::io::ErrorKind::NotFound => "; check the path, or create the file first",
        std::io::ErrorKind::PermissionDenied => {
            "; give your user write permission on the file and its folder, or use a config in a folder you own (--config)"
        }
        std::io::ErrorKind::ReadOnlyFilesystem => {
            "; the file is on a read-only file system or mount; make it writable or use a config elsewhere (--config)"
        }
        std::io::ErrorKind::IsADirectory => {
            "; this path is a folder, not a file (a Docker bind mount of a missing file creates a folder): remove it and create the file"
        }
        _ => "",
    };
    ConfigError::file(kind, path, format!("{action}: {err}{hint}"), Some(err))
        .with_problem(Problem::Io { action })
}

fn not_a_file(kind: ErrorKind, path: &Path) -> ConfigError {
    ConfigError::file(
        kind,
        path,
        "is a folder, not a file (a Docker bind mount of a missing file creates a folder); remove it and create the file".into(),
        None,
    )
    .with_problem(Problem::NotAFile)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Makes a rename or removal in `dir` durable.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = File::open(dir) {
        // A failed folder sync leaves the rename merely less durable; the data
        // itself was synced, so this is not reported.
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Replaces the whole content of an open file in place and syncs it.
fn rewrite_in_place(file: &mut File, bytes: &[u8]) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(0))?;
    file.write_all(bytes)?;
    file.set_len(bytes.len() as u64)?;
    file.sync_all()
}

fn open_rw(path: &Path) -> Result<File, ConfigError> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => return Err(not_a_file(ErrorKind::Write, path)),
        Ok(_) => {}
        Err(err) => {
            return Err(io_error(
                ErrorKind::Write,
                path,
                IoAction::OpenForWriting,
                err,
            ));
        }
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|err| io_error(ErrorKind::Write, path, IoAction::OpenForWriting, err))
}

/// Prefix of the temporary files that become the recovery file.
fn temp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.cpa-tmp-")
}

/// Removes temporary files a killed writer left before renaming them. Called
/// with the config locked, so no cooperating writer is using one.
fn remove_stale_temps(path: &Path) {
    let prefix = temp_prefix(path);
    let Ok(entries) = std::fs::read_dir(parent_dir(path)) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            // Best effort: a leftover temp file wastes space but carries no state.
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Takes an advisory lock (`flock`) on the open config file: exclusive for
/// writers, so two cooperating writers never interleave their recovery
/// files, and shared for readers, so a read never sees a write in progress.
/// The lock ends when the file is closed, also when the process is killed.
#[cfg(unix)]
fn lock_mode(file: &File, path: &Path, exclusive: bool) -> Result<(), ConfigError> {
    use std::os::unix::io::AsRawFd;
    let operation = if exclusive {
        libc::LOCK_EX
    } else {
        libc::LOCK_SH
    };
    loop {
        // SAFETY: the descriptor belongs to `file`, which outlives the call.
        let rc = unsafe { libc::flock(file.as_raw_fd(), operation) };
        if rc == 0 {
            return Ok(());
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            // File systems without flock (some network mounts): go on unlocked.
            Some(libc::ENOLCK | libc::EOPNOTSUPP | libc::ENOSYS) => return Ok(()),
            _ => {
                return Err(io_error(ErrorKind::Write, path, IoAction::Lock, err));
            }
        }
    }
}

/// Windows locks are mandatory and would block the server's own reads, so
/// readers and writers are not serialized there.
#[cfg(not(unix))]
fn lock_mode(_file: &File, _path: &Path, _exclusive: bool) -> Result<(), ConfigError> {
    Ok(())
}

fn lock(file: &File, path: &Path) -> Result<(), ConfigError> {
    lock_mode(file, path, true)
}

/// Finishes or rolls back an interrupted write, if there was one.
pub(crate) fn repair(path: &Path) -> Result<(), ConfigError> {
    if !recovery_path(path).exists() {
        return Ok(());
    }
    let mut file = open_rw(path)?;
    lock(&file, path)?;
    repair_locked(path, &mut file)
}

/// Repairs with the config open and locked: when the config does not contain
/// exactly the new content the recovery file records, the old content is put
/// back in place. Then the recovery file is removed.
fn repair_locked(path: &Path, file: &mut File) -> Result<(), ConfigError> {
    remove_stale_temps(path);
    let recovery = recovery_path(path);
    let data = match std::fs::read(&recovery) {
        Ok(data) => data,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => {
            return Err(io_error(
                ErrorKind::Read,
                &recovery,
                IoAction::ReadRecovery,
                err,
            ));
        }
    };
    let Some(newline) = data.iter().position(|b| *b == b'\n') else {
        return Err(bad_recovery(&recovery));
    };
    let header = String::from_utf8_lossy(&data[..newline]).into_owned();
    let mut fields = header.rsplitn(3, ' ');
    let (Some(hash), Some(len), Some(magic)) = (fields.next(), fields.next(), fields.next()) else {
        return Err(bad_recovery(&recovery));
    };
    let Ok(len) = len.parse::<u64>() else {
        return Err(bad_recovery(&recovery));
    };
    if magic != MAGIC {
        return Err(bad_recovery(&recovery));
    }

    let old = &data[newline + 1..];
    let mut current = Vec::new();
    let read = file
        .seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut current));
    let complete = read.is_ok() && current.len() as u64 == len && sha256_hex(&current) == hash;
    if !complete {
        rewrite_in_place(file, old)
            .map_err(|err| io_error(ErrorKind::Write, path, IoAction::Restore, err))?;
    }
    remove_recovery(&recovery).map_err(|err| {
        io_error(
            ErrorKind::Write,
            &recovery,
            IoAction::RemoveRecoveryAfterRestore,
            err,
        )
    })?;
    sync_dir(&parent_dir(path));
    Ok(())
}

/// Removes the recovery file; one that is already gone counts as removed.
///
/// The file can disappear between the read and the removal when its writer
/// does not take our lock. Windows writers do not lock (see [`lock_mode`]).
/// Under Wine, the wineserver finishes a killed writer's pending delete after
/// the process has ended.
fn remove_recovery(recovery: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(recovery) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn bad_recovery(recovery: &Path) -> ConfigError {
    ConfigError::file(
        ErrorKind::Read,
        recovery,
        "is not a recovery file written by cpa-tray; move it away and retry".into(),
        None,
    )
    .with_problem(Problem::NotRecoveryFile)
}

/// Loads and parses `path`, first repairing an interrupted write.
pub fn load(path: &Path) -> Result<ConfigDocument, ConfigError> {
    repair(path)?;
    read_document(path)
}

fn read_document(path: &Path) -> Result<ConfigDocument, ConfigError> {
    if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(not_a_file(ErrorKind::Read, path));
    }
    let read_error = |err| io_error(ErrorKind::Read, path, IoAction::Read, err);
    let mut file = File::open(path).map_err(read_error)?;
    lock_mode(&file, path, false)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(read_error)?;
    drop(file);
    ConfigDocument::parse(bytes, path)
}

/// Applies `edit` to the current content of `path` and writes the result.
///
/// The file is re-read right before writing. If it changed while `edit` ran,
/// the edit is applied again to the new content, up to five times, and then
/// the result is [`ErrorKind::Conflict`]. Returns the document as written.
pub fn update<F>(path: &Path, edit: F) -> Result<ConfigDocument, ConfigError>
where
    F: Fn(&ConfigDocument) -> Result<Vec<u8>, ConfigError>,
{
    check_writable(path)?;
    for _ in 0..MAX_ATTEMPTS {
        let doc = load(path)?;
        let new = edit(&doc)?;
        if new == doc.bytes() {
            return Ok(doc);
        }
        let written = ConfigDocument::parse(new, path)?;
        if write_checked(path, written.bytes(), Some(doc.bytes()))? {
            return Ok(written);
        }
    }
    Err(ConfigError::file(
        ErrorKind::Conflict,
        path,
        format!(
            "kept changing while it was being edited ({MAX_ATTEMPTS} attempts); stop the program that rewrites it (a running server or the management panel) and retry"
        ),
        None,
    )
    .with_problem(Problem::KeptChanging {
        attempts: MAX_ATTEMPTS,
    }))
}

/// Replaces the content of `path` in place, crash-safely.
///
/// Keeps the inode, owner, mode and hard links. A recovery copy beside the
/// file contains the old content until the new content is durable, so at
/// every instant one of the two is complete. [`load`] repairs an interrupted
/// write.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), ConfigError> {
    write_checked(path, bytes, None).map(|_| ())
}

/// Writes `bytes` unless the file no longer holds `expected` (returns false then).
fn write_checked(path: &Path, bytes: &[u8], expected: Option<&[u8]>) -> Result<bool, ConfigError> {
    let mut file = open_rw(path)?;
    lock(&file, path)?;
    repair_locked(path, &mut file)?;

    let mut old = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut old))
        .map_err(|err| io_error(ErrorKind::Read, path, IoAction::Read, err))?;
    if expected.is_some_and(|expected| expected != old.as_slice()) {
        return Ok(false);
    }
    let dir = parent_dir(path);
    let recovery = recovery_path(path);
    let mut temp = tempfile::Builder::new()
        .prefix(&temp_prefix(path))
        .tempfile_in(&dir)
        .map_err(|err| io_error(ErrorKind::Write, &dir, IoAction::CreateTempInFolder, err))?;
    let header = format!("{MAGIC} {} {}\n", bytes.len(), sha256_hex(bytes));
    temp.write_all(header.as_bytes())
        .and_then(|()| temp.write_all(&old))
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|err| io_error(ErrorKind::Write, &dir, IoAction::WriteRecovery, err))?;
    temp.persist(&recovery).map_err(|err| {
        io_error(
            ErrorKind::Write,
            &recovery,
            IoAction::CreateRecovery,
            err.error,
        )
    })?;
    sync_dir(&dir);
    if let Err(err) = rewrite_in_place(&mut file, bytes) {
        // Put the old content back now rather than at the next access.
        let restored = rewrite_in_place(&mut file, &old).is_ok();
        if restored {
            let _ = std::fs::remove_file(&recovery);
            sync_dir(&dir);
        }
        return Err(io_error(ErrorKind::Write, path, IoAction::Write, err));
    }
    remove_recovery(&recovery)
        .map_err(|err| io_error(ErrorKind::Write, &recovery, IoAction::RemoveRecovery, err))?;
    sync_dir(&dir);
    Ok(true)
}

/// Checks that `path` is a regular file this process can write, and that its
/// folder can hold the recovery file, without changing either.
pub fn check_writable(path: &Path) -> Result<(), ConfigError> {
    let meta = std::fs::metadata(path)
        .map_err(|err| io_error(ErrorKind::Write, path, IoAction::CheckWritable, err))?;
    if meta.is_dir() {
        return Err(not_a_file(ErrorKind::Write, path));
    }
    // Opening for writing without truncation changes nothing, and fails on
    // read-only files and mounts, even for root.
    OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|err| io_error(ErrorKind::Write, path, IoAction::CheckWritable, err))?;
    let dir = parent_dir(path);
    dir_writable(&dir)
        .map_err(|err| io_error(ErrorKind::Write, &dir, IoAction::CheckFolderWritable, err))
}

#[cfg(unix)]
fn dir_writable(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "path contains a NUL byte",
        ));
    };
    // SAFETY: `c_path` is a valid NUL-terminated string that outlives the call.
    let rc = unsafe { libc::access(c_path.as_ptr(), libc::W_OK | libc::X_OK) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(unix))]
fn dir_writable(dir: &Path) -> std::io::Result<()> {
    let meta = std::fs::metadata(dir)?;
    if meta.permissions().readonly() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "the folder is read-only",
        ));
    }
    Ok(())
}
