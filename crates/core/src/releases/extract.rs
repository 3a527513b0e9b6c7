//! Taking the server binary out of a release archive.
//!
//! Release archives are flat: `cli-proxy-api` (`cli-proxy-api.exe` for
//! Windows), `LICENSE`, READMEs and `config.example.yaml` at the top level.
//! Only the binary is written. The whole archive is rejected when any entry
//! is absolute, climbs out with `..`, or is a symbolic link, hard link or
//! device. Genuine releases contain no such entries, so their presence means
//! the file is not a genuine release.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use super::download::sniff;
use super::temp::{self, WriterWrapper};
use super::{ArchiveKind, ReleaseError};

/// Maximum binary size, in bytes. It is far above a CLIProxyAPI binary (tens
/// of MB, an estimate) and stops a decompression bomb from filling the disk.
const MAX_BINARY_SIZE: u64 = 1024 * 1024 * 1024;

/// Checks the archive's magic number. A wrong one almost always means a proxy
/// or captive portal returned a web page instead of the file.
pub(crate) fn check_magic(
    archive: &Path,
    label: &str,
    expected: ArchiveKind,
) -> Result<(), ReleaseError> {
    let mut head = [0u8; 4];
    let mut file = File::open(archive).map_err(|source| ReleaseError::Io {
        action: "open",
        path: archive.to_path_buf(),
        source,
    })?;
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(count) => filled += count,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(ReleaseError::Io {
                    action: "read",
                    path: archive.to_path_buf(),
                    source,
                });
            }
        }
    }
    if sniff(&head[..filled]) != Some(expected) {
        return Err(ReleaseError::NotAnArchive {
            name: label.to_string(),
            expected,
            content_type: None,
        });
    }
    Ok(())
}

/// Extracts `binary_name` from `archive` into `dest_dir` and returns its path.
///
/// On Unix the binary gets mode 0755. `label` names the archive in errors.
pub(crate) fn extract_binary(
    archive: &Path,
    label: &str,
    kind: ArchiveKind,
    binary_name: &str,
    dest_dir: &Path,
    wrapper: Option<&WriterWrapper>,
) -> Result<PathBuf, ReleaseError> {
    check_magic(archive, label, kind)?;
    let file = File::open(archive).map_err(|source| ReleaseError::Io {
        action: "open",
        path: archive.to_path_buf(),
        source,
    })?;
    let dest = dest_dir.join(binary_name);
    let target = Target {
        label,
        binary_name,
        dest: &dest,
        wrapper,
    };
    let written = match kind {
        ArchiveKind::Zip => extract_zip(file, &target)?,
        ArchiveKind::TarGz => extract_tar_gz(file, &target)?,
    };
    if !written {
        return Err(ReleaseError::BinaryMissing {
            archive: label.to_string(),
            binary: binary_name.to_string(),
        });
    }
    set_executable(&dest)?;
    Ok(dest)
}

struct Target<'a> {
    label: &'a str,
    binary_name: &'a str,
    dest: &'a Path,
    wrapper: Option<&'a WriterWrapper>,
}

impl Target<'_> {
    fn unsafe_archive(&self, reason: String) -> ReleaseError {
        ReleaseError::UnsafeArchive {
            archive: self.label.to_string(),
            reason,
        }
    }

    fn corrupt(&self, source: io::Error) -> ReleaseError {
        ReleaseError::CorruptArchive {
            archive: self.label.to_string(),
            source,
        }
    }

    /// Checks one entry name. Returns true when it is the binary.
    fn check_name(&self, raw: &[u8]) -> Result<bool, ReleaseError> {
        let name = String::from_utf8_lossy(raw);
        let shown = name.escape_debug().to_string();
        if raw.contains(&0) {
            return Err(self.unsafe_archive(format!("entry {shown} contains a NUL byte")));
        }
        let normalized = name.replace('\\', "/");
        let has_drive = normalized.len() >= 2
            && normalized.as_bytes()[1] == b':'
            && normalized.as_bytes()[0].is_ascii_alphabetic();
        if normalized.starts_with('/') || has_drive {
            return Err(self.unsafe_archive(format!("entry {shown} has an absolute path")));
        }
        let parts: Vec<&str> = normalized
            .split('/')
            .filter(|part| !part.is_empty() && *part != ".")
            .collect();
        if parts.contains(&"..") {
            return Err(self.unsafe_archive(format!("entry {shown} leaves the archive with '..'")));
        }
        Ok(parts.len() == 1 && parts[0].eq_ignore_ascii_case(self.binary_name))
    }

    /// Copies the binary's bytes to the destination with a fixed buffer.
    fn write_binary(&self, reader: &mut dyn Read) -> Result<(), ReleaseError> {
        let write_error = |source| ReleaseError::Io {
            action: "write",
            path: self.dest.to_path_buf(),
            source,
        };
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.dest)
            .map_err(write_error)?;
        let sync_handle = file.try_clone().map_err(write_error)?;
        let mut writer = temp::writer_for(self.dest, file, self.wrapper);

        let mut buffer = vec![0u8; 64 * 1024];
        let mut written: u64 = 0;
        loop {
            let count = match reader.read(&mut buffer) {
                Ok(0) => break,
                Ok(count) => count,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(self.corrupt(err)),
            };
            written += count as u64;
            if written > MAX_BINARY_SIZE {
                return Err(self.unsafe_archive(format!(
                    "{} is larger than {MAX_BINARY_SIZE} bytes",
                    self.binary_name
                )));
            }
            writer.write_all(&buffer[..count]).map_err(write_error)?;
        }
        writer.flush().map_err(write_error)?;
        drop(writer);
        sync_handle.sync_all().map_err(write_error)?;
        if written == 0 {
            return Err(self.unsafe_archive(format!("{} is empty", self.binary_name)));
        }
        Ok(())
    }
}

fn extract_zip(file: File, target: &Target<'_>) -> Result<bool, ReleaseError> {
    let mut zip = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|err| target.corrupt(io::Error::other(err)))?;

    // The central directory lists every entry up front, so all names are
    // checked before anything is written.
    let mut binary_index = None;
    for index in 0..zip.len() {
        let entry = zip
            .by_index_raw(index)
            .map_err(|err| target.corrupt(io::Error::other(err)))?;
        let is_binary = target.check_name(entry.name_raw())?;
        if entry.is_symlink() {
            return Err(target.unsafe_archive(format!(
                "entry {} is a symbolic link",
                entry.name().escape_debug()
            )));
        }
        if is_binary && !entry.is_dir() {
            if binary_index.is_some() {
                return Err(
                    target.unsafe_archive(format!("{} appears more than once", target.binary_name))
                );
            }
            binary_index = Some(index);
        }
    }

    let Some(index) = binary_index else {
        return Ok(false);
    };
    let mut entry = zip
        .by_index(index)
        .map_err(|err| target.corrupt(io::Error::other(err)))?;
    if entry.size() > MAX_BINARY_SIZE {
        return Err(target.unsafe_archive(format!(
            "{} is larger than {MAX_BINARY_SIZE} bytes",
            target.binary_name
        )));
    }
    target.write_binary(&mut entry)?;
    Ok(true)
}

fn extract_tar_gz(file: File, target: &Target<'_>) -> Result<bool, ReleaseError> {
    let decoder = flate2::read::GzDecoder::new(BufReader::new(file));
    let mut archive = tar::Archive::new(decoder);
    let entries = archive.entries().map_err(|err| target.corrupt(err))?;

    // A tar stream has no index, so names are checked as entries arrive.
    // When a bad entry follows the binary, the caller deletes the staging
    // folder that already contains it.
    let mut found = false;
    for entry in entries {
        let mut entry = entry.map_err(|err| target.corrupt(err))?;
        let path = entry.path_bytes().into_owned();
        let is_binary = target.check_name(&path)?;
        let shown = String::from_utf8_lossy(&path).escape_debug().to_string();
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            tar::EntryType::Directory | tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => {
                continue;
            }
            tar::EntryType::Symlink => {
                return Err(target.unsafe_archive(format!("entry {shown} is a symbolic link")));
            }
            tar::EntryType::Link => {
                return Err(target.unsafe_archive(format!("entry {shown} is a hard link")));
            }
            other => {
                return Err(target
                    .unsafe_archive(format!("entry {shown} has the unsupported type {other:?}")));
            }
        }
        if !is_binary {
            continue;
        }
        if found {
            return Err(
                target.unsafe_archive(format!("{} appears more than once", target.binary_name))
            );
        }
        if entry.size() > MAX_BINARY_SIZE {
            return Err(target.unsafe_archive(format!(
                "{} is larger than {MAX_BINARY_SIZE} bytes",
                target.binary_name
            )));
        }
        target.write_binary(&mut entry)?;
        found = true;
    }
    Ok(found)
}

#[cfg(unix)]
fn set_executable(path: &Path) -> Result<(), ReleaseError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(|source| {
        ReleaseError::Io {
            action: "set permissions on",
            path: path.to_path_buf(),
            source,
        }
    })
}

#[cfg(not(unix))]
fn set_executable(_path: &Path) -> Result<(), ReleaseError> {
    Ok(())
}
