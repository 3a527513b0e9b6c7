//! Streaming downloads into `versions/`.
//!
//! The body flows through a fixed set of buffers (8 x 128 KiB) into a
//! temporary file, so memory use does not depend on the asset size. Three
//! threads form a pipeline: this one reads from the network, a second one
//! computes the SHA-256 and a third one writes the file, so hashing overlaps
//! network and disk I/O. The first bytes are checked against the archive's
//! magic number, so a proxy's HTML page is caught before it is saved in full.
//! The byte count is checked against the size the release lists, and the
//! cancel flag is read before every chunk.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;

use sha2::{Digest, Sha256};

use super::github::{self, ReleaseSource};
use super::temp::{self, TempEntry, WriterWrapper};
use super::{ArchiveKind, ReleaseError};

/// Size of one copy buffer.
const CHUNK: usize = 128 * 1024;
/// Number of copy buffers circulating between the pipeline's threads.
const BUFFERS: usize = 8;

/// Maximum size of `checksums.txt`. Upstream's has one short line per archive
/// (about ten lines).
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

/// Acceptance criteria for a download.
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

/// Destination folder, progress callback and cancel flag of a download.
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
    // The archive is not synced to disk: it is only read back by the
    // extraction that follows, and after a crash it is garbage anyway. The
    // extracted binary is synced before its folder is renamed into place.
    let writer = temp::writer_for(file.path(), handle, sink.wrapper);
    let write_error = |source| ReleaseError::Io {
        action: "write",
        path: file.path().to_path_buf(),
        source,
    };

    // BUFFERS chunks circulate from the reader (this thread) to the hashing
    // thread, then to the writing thread and back, which bounds memory at
    // BUFFERS * CHUNK bytes.
    let (full_tx, full_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(BUFFERS);
    let (free_tx, free_rx) = mpsc::sync_channel::<Vec<u8>>(BUFFERS);
    for _ in 0..BUFFERS {
        // The channel has room for every buffer, so this send cannot block or fail.
        let _ = free_tx.send(vec![0u8; CHUNK]);
    }
    let reader = response.into_body().into_reader();
    let mut checks = StreamChecks {
        url,
        read_timeout,
        expected,
        content_type,
        total,
        source_index,
        received: 0,
        head: [0u8; 4],
        head_len: 0,
    };

    let (hashed_tx, hashed_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(BUFFERS);
    let (read_result, sha256, written) = thread::scope(|scope| {
        let hasher = scope.spawn(move || hash_chunks(full_rx, hashed_tx));
        let writer = scope.spawn(move || write_chunks(writer, hashed_rx, free_tx));
        let read_result = checks.read_all(reader, sink, &free_rx, &full_tx);
        drop(full_tx);
        let sha256 = hasher.join();
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the download writer thread panicked")));
        (read_result, sha256, written)
    });
    // A write failure also stops the reader, so it is the root cause to report.
    written.map_err(write_error)?;
    let sha256 =
        sha256.map_err(|_| write_error(io::Error::other("the hashing thread panicked")))?;
    read_result?;

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

/// Hashes the chunks the reader sends and passes them on to the writer.
/// Returns the hex SHA-256 once the reader closes the channel.
fn hash_chunks(
    full: mpsc::Receiver<(Vec<u8>, usize)>,
    hashed: mpsc::SyncSender<(Vec<u8>, usize)>,
) -> String {
    let mut hasher = Sha256::new();
    for (buffer, len) in full {
        hasher.update(&buffer[..len]);
        if hashed.send((buffer, len)).is_err() {
            break;
        }
    }
    hex::encode(hasher.finalize())
}

/// Writes the hashed chunks and returns each buffer to the reader for reuse.
fn write_chunks(
    mut writer: Box<dyn Write + Send>,
    hashed: mpsc::Receiver<(Vec<u8>, usize)>,
    free: mpsc::SyncSender<Vec<u8>>,
) -> io::Result<()> {
    for (buffer, len) in hashed {
        writer.write_all(&buffer[..len])?;
        // The reader may have stopped already; then the buffer is simply dropped.
        let _ = free.send(buffer);
    }
    writer.flush()
}

/// Checks applied to the stream as it arrives: size, magic number, cancel.
struct StreamChecks<'a> {
    url: &'a str,
    read_timeout: std::time::Duration,
    expected: &'a Expected<'a>,
    content_type: Option<String>,
    total: Option<u64>,
    source_index: usize,
    received: u64,
    head: [u8; 4],
    head_len: usize,
}

impl StreamChecks<'_> {
    /// Reads the body into free buffers and passes them to the writer thread.
    /// Returns early when the writer thread stops (its error is reported by
    /// the caller).
    fn read_all(
        &mut self,
        mut reader: impl Read,
        sink: &mut Sink<'_>,
        free: &mpsc::Receiver<Vec<u8>>,
        full: &mpsc::SyncSender<(Vec<u8>, usize)>,
    ) -> Result<(), ReleaseError> {
        let mut head_checked = self.expected.kind.is_none();
        loop {
            if sink.cancel.load(Ordering::Relaxed) {
                return Err(ReleaseError::Cancelled);
            }
            let Ok(mut buffer) = free.recv() else {
                return Ok(());
            };
            let count = match reader.read(&mut buffer) {
                Ok(count) => count,
                Err(err) => return Err(self.read_error(err)),
            };
            if count == 0 {
                break;
            }
            self.received += count as u64;
            if let Some(size) = self.expected.size
                && self.received > size
            {
                return Err(ReleaseError::TooLarge {
                    name: self.expected.name.to_string(),
                    expected: size,
                });
            }
            if !head_checked {
                let take = (self.head.len() - self.head_len).min(count);
                self.head[self.head_len..self.head_len + take].copy_from_slice(&buffer[..take]);
                self.head_len += take;
                if self.head_len == self.head.len() {
                    if sniff(&self.head) != self.expected.kind {
                        return Err(self.not_an_archive());
                    }
                    head_checked = true;
                }
            }
            if full.send((buffer, count)).is_err() {
                return Ok(());
            }
            (sink.progress)(Progress {
                received: self.received,
                total: self.total,
                source_index: self.source_index,
            });
        }

        if !head_checked {
            return Err(self.not_an_archive());
        }
        if let Some(size) = self.expected.size
            && self.received < size
        {
            return Err(ReleaseError::Truncated {
                name: self.expected.name.to_string(),
                received: self.received,
                expected: size,
            });
        }
        Ok(())
    }

    fn read_error(&self, err: io::Error) -> ReleaseError {
        if github::is_timeout(&err) {
            return github::map_io_error(self.url, err, self.read_timeout);
        }
        match self.expected.size {
            Some(size) if self.received < size => ReleaseError::Truncated {
                name: self.expected.name.to_string(),
                received: self.received,
                expected: size,
            },
            _ => github::map_io_error(self.url, err, self.read_timeout),
        }
    }

    fn not_an_archive(&self) -> ReleaseError {
        ReleaseError::NotAnArchive {
            name: self.expected.name.to_string(),
            expected: self.expected.kind.unwrap_or(ArchiveKind::Zip),
            content_type: self.content_type.clone(),
        }
    }
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
