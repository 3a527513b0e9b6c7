//! Streaming downloads into `versions/`.
//!
//! The body is copied through one fixed 64 KiB buffer into a temporary file,
//! so memory use does not depend on the asset size. The SHA-256 is computed
//! on the same pass, the first bytes are checked against the archive's magic
//! number (a proxy's HTML page is caught before it is saved in full), and the
//! byte count is checked against the size the release lists. The cancel flag
//! is read before every chunk.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};

use super::github::{self, ReleaseSource};
use super::temp::{self, TempEntry, WriterWrapper};
use super::{ArchiveKind, ReleaseError};

/// Size of the copy buffer.
const CHUNK: usize = 64 * 1024;

/// Largest `checksums.txt` accepted; upstream's is about 1.5 KB.
const MAX_CHECKSUMS_FILE: u64 = 1024 * 1024;

/// Download progress, reported after every chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes received so far from the current source.
    pub received: u64,
    /// Expected size in bytes, when known.
    pub total: Option<u64>,
    /// Index of the source being tried (0 = first mirror, or the plain URL
    /// when no mirror is configured). It resets `received` when it changes.
    pub source_index: usize,
}

/// What a download must look like to be accepted.
pub(crate) struct Expected<'a> {
    /// Asset name, for messages.
    pub name: &'a str,
    pub size: Option<u64>,
    pub kind: Option<ArchiveKind>,
    /// Lowercase hex SHA-256 values the content must match (checksums.txt and
    /// GitHub's digest, when both exist).
    pub sha256: &'a [String],
}

/// A verified download in a temporary file.
#[derive(Debug)]
pub(crate) struct Downloaded {
    pub file: TempEntry,
    pub sha256: String,
    /// The URL that delivered the accepted content.
    pub url: String,
}

/// Where the download goes and how it can be observed and stopped.
pub(crate) struct Sink<'a> {
    pub dir: &'a Path,
    pub progress: &'a mut dyn FnMut(Progress),
    pub cancel: &'a AtomicBool,
    pub wrapper: Option<&'a WriterWrapper>,
}

/// Downloads `url` through each configured mirror, then directly, and returns
/// the first copy that passes every check in `expected`.
///
/// Local failures (a write error, cancellation) stop at once; remote failures
/// (network, status, wrong content) move on to the next source.
pub(crate) fn download(
    source: &ReleaseSource,
    agent: &ureq::Agent,
    url: &str,
    expected: &Expected<'_>,
    sink: &mut Sink<'_>,
) -> Result<Downloaded, ReleaseError> {
    let urls = source.download_urls(url);
    let mut attempts = Vec::new();
    let mut last = None;
    for (index, candidate) in urls.iter().enumerate() {
        match download_one(source, agent, candidate, index, expected, sink) {
            Ok(done) => return Ok(done),
            Err(err @ (ReleaseError::Cancelled | ReleaseError::Io { .. })) => return Err(err),
            Err(err) => {
                attempts.push(format!("{candidate}: {err}"));
                last = Some(err);
            }
        }
    }
    finish_attempts(expected.name, attempts, last)
}

fn finish_attempts<T>(
    name: &str,
    attempts: Vec<String>,
    last: Option<ReleaseError>,
) -> Result<T, ReleaseError> {
    let last = last.unwrap_or(ReleaseError::Cancelled);
    if attempts.len() <= 1 {
        return Err(last);
    }
    Err(ReleaseError::AllSourcesFailed {
        name: name.to_string(),
        attempts,
        last: Box::new(last),
    })
}

fn download_one(
    source: &ReleaseSource,
    agent: &ureq::Agent,
    url: &str,
    source_index: usize,
    expected: &Expected<'_>,
    sink: &mut Sink<'_>,
) -> Result<Downloaded, ReleaseError> {
    if sink.cancel.load(Ordering::Relaxed) {
        return Err(ReleaseError::Cancelled);
    }
    let read_timeout = source.timeouts.read;
    let response = agent
        .get(url)
        .call()
        .map_err(|err| github::map_ureq_error(url, err, read_timeout))?;
    if !response.status().is_success() {
        return Err(github::status_error(url, response));
    }
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let total = expected.size.or_else(|| response.body().content_length());

    let (file, handle) = temp::create_file(sink.dir, "download")?;
    let sync_handle = handle.try_clone().map_err(|source| ReleaseError::Io {
        action: "open",
        path: file.path().to_path_buf(),
        source,
    })?;
    let mut writer = temp::writer_for(file.path(), handle, sink.wrapper);
    let write_error = |path: &Path, source| ReleaseError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    };

    let mut reader = response.into_body().into_reader();
    let mut buffer = vec![0u8; CHUNK];
    let mut hasher = Sha256::new();
    let mut received: u64 = 0;
    let mut head = [0u8; 4];
    let mut head_len = 0;
    let mut head_checked = expected.kind.is_none();
    let not_an_archive = || ReleaseError::NotAnArchive {
        name: expected.name.to_string(),
        expected: expected.kind.unwrap_or(ArchiveKind::Zip),
        content_type: content_type.clone(),
    };

    loop {
        if sink.cancel.load(Ordering::Relaxed) {
            return Err(ReleaseError::Cancelled);
        }
        let count = match reader.read(&mut buffer) {
            Ok(count) => count,
            Err(err) if github::is_timeout(&err) => {
                return Err(github::map_io_error(url, err, read_timeout));
            }
            Err(err) => {
                return Err(match expected.size {
                    Some(size) if received < size => ReleaseError::Truncated {
                        name: expected.name.to_string(),
                        received,
                        expected: size,
                    },
                    _ => github::map_io_error(url, err, read_timeout),
                });
            }
        };
        if count == 0 {
            break;
        }
        let chunk = &buffer[..count];
        received += count as u64;
        if let Some(size) = expected.size
            && received > size
        {
            return Err(ReleaseError::TooLarge {
                name: expected.name.to_string(),
                expected: size,
            });
        }
        if !head_checked {
            let take = (head.len() - head_len).min(chunk.len());
            head[head_len..head_len + take].copy_from_slice(&chunk[..take]);
            head_len += take;
            if head_len == head.len() {
                if sniff(&head) != expected.kind {
                    return Err(not_an_archive());
                }
                head_checked = true;
            }
        }
        hasher.update(chunk);
        writer
            .write_all(chunk)
            .map_err(|source| write_error(file.path(), source))?;
        (sink.progress)(Progress {
            received,
            total,
            source_index,
        });
    }

    if !head_checked {
        return Err(not_an_archive());
    }
    if let Some(size) = expected.size
        && received < size
    {
        return Err(ReleaseError::Truncated {
            name: expected.name.to_string(),
            received,
            expected: size,
        });
    }
    writer
        .flush()
        .map_err(|source| write_error(file.path(), source))?;
    drop(writer);
    sync_handle
        .sync_all()
        .map_err(|source| write_error(file.path(), source))?;

    let sha256 = hex::encode(hasher.finalize());
    if let Some(wanted) = expected.sha256.iter().find(|wanted| **wanted != sha256) {
        return Err(ReleaseError::ChecksumMismatch {
            name: expected.name.to_string(),
            expected: wanted.clone(),
            actual: sha256,
        });
    }
    Ok(Downloaded {
        file,
        sha256,
        url: url.to_string(),
    })
}

/// Downloads a small text file (checksums.txt) into memory, mirrors first.
pub(crate) fn fetch_small_text(
    source: &ReleaseSource,
    agent: &ureq::Agent,
    name: &str,
    url: &str,
    cancel: &AtomicBool,
) -> Result<(String, String), ReleaseError> {
    let mut attempts = Vec::new();
    let mut last = None;
    for candidate in source.download_urls(url) {
        if cancel.load(Ordering::Relaxed) {
            return Err(ReleaseError::Cancelled);
        }
        let result = agent
            .get(&candidate)
            .config()
            .timeout_global(Some(source.timeouts.api_total))
            .build()
            .call()
            .map_err(|err| github::map_ureq_error(&candidate, err, source.timeouts.api_total))
            .and_then(|response| {
                if response.status().is_success() {
                    github::read_limited(
                        &candidate,
                        response,
                        MAX_CHECKSUMS_FILE,
                        source.timeouts.api_total,
                    )
                } else {
                    Err(github::status_error(&candidate, response))
                }
            })
            .map(|body| String::from_utf8_lossy(&body).into_owned());
        match result {
            Ok(text) => return Ok((candidate, text)),
            Err(err) => {
                attempts.push(format!("{candidate}: {err}"));
                last = Some(err);
            }
        }
    }
    finish_attempts(name, attempts, last)
}

/// Identifies an archive by its first four bytes.
pub(crate) fn sniff(head: &[u8]) -> Option<ArchiveKind> {
    if head.starts_with(b"PK\x03\x04") {
        Some(ArchiveKind::Zip)
    } else if head.starts_with(&[0x1f, 0x8b]) {
        Some(ArchiveKind::TarGz)
    } else {
        None
    }
}

/// Hashes a file on disk with a fixed buffer. Returns the hex SHA-256 and size.
pub(crate) fn hash_file(path: &Path) -> Result<(String, u64), ReleaseError> {
    let io_error = |source| ReleaseError::Io {
        action: "read",
        path: PathBuf::from(path),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io_error)?;
    let mut buffer = vec![0u8; CHUNK];
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    loop {
        let count = file.read(&mut buffer).map_err(io_error)?;
        if count == 0 {
            break;
        }
        size += count as u64;
        hasher.update(&buffer[..count]);
    }
    Ok((hex::encode(hasher.finalize()), size))
}
