//! Errors of the release pipeline.
//!
//! Each variant's message names the value that failed (URL, asset, tag, path)
//! and never contains the GitHub token or proxy credentials. [`ReleaseError::hint`]
//! returns the next step for the user, printed on its own line by the CLI.

use std::io;
use std::path::PathBuf;

/// Reason no checksum was found for an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MissingChecksum {
    /// The release has no `checksums.txt` and the asset has no GitHub digest.
    NoChecksumsFile,
    /// `checksums.txt` exists but has no line for the archive. Upstream
    /// re-uploads the file after each build job, so it can be incomplete for a
    /// few minutes after a release is published.
    NoEntry,
}

/// An error of the release pipeline. Failures leave `versions/` as it was.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("Invalid release tag {tag:?}: {reason}")]
    InvalidTag { tag: String, reason: String },

    #[error("CLIProxyAPI publishes no build for {os}/{arch}")]
    UnsupportedPlatform { os: String, arch: String },

    #[error("Invalid URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },

    #[error("Invalid proxy URL {url}: {reason}")]
    InvalidProxy { url: String, reason: String },

    #[error("GitHub API rate limit exceeded (HTTP {status}) for {url}{}: {message}",
        reset.as_ref().map(|r| format!("; the limit resets at {r}")).unwrap_or_default())]
    RateLimited {
        url: String,
        status: u16,
        /// Reset time from `X-RateLimit-Reset`, formatted as UTC.
        reset: Option<String>,
        message: String,
    },

    #[error("Not found (HTTP 404): {url}: {message}")]
    NotFound { url: String, message: String },

    #[error("Request failed with HTTP {status}: {url}: {message}")]
    HttpStatus {
        url: String,
        status: u16,
        message: String,
    },

    #[error("Timed out after {seconds:.1} s waiting for {url}")]
    Timeout { url: String, seconds: f64 },

    #[error("Failed to request {url}")]
    Network {
        url: String,
        #[source]
        source: ureq::Error,
    },

    #[error("Invalid JSON from {url}")]
    InvalidJson {
        url: String,
        #[source]
        source: serde_json::Error,
    },

    #[error(
        "No asset for {tag} on {os}/{arch}: expected {expected}; the release has: {}",
        if available.is_empty() { "no assets".to_string() } else { available.join(", ") }
    )]
    AssetNotFound {
        tag: String,
        os: &'static str,
        arch: &'static str,
        expected: String,
        available: Vec<String>,
    },

    #[error("The download of {name} is not a {expected} archive{}", content_type.as_ref().map(|c| format!(" (Content-Type: {c})")).unwrap_or_default())]
    NotAnArchive {
        name: String,
        expected: super::ArchiveKind,
        content_type: Option<String>,
    },

    #[error("Download of {name} is truncated: received {received} of {expected} bytes")]
    Truncated {
        name: String,
        received: u64,
        expected: u64,
    },

    #[error("Download of {name} is larger than the {expected} bytes the release lists")]
    TooLarge { name: String, expected: u64 },

    #[error("Failed to download {url}")]
    Transfer {
        url: String,
        #[source]
        source: io::Error,
    },

    #[error("Checksum mismatch for {name}: expected SHA-256 {expected}, got {actual}")]
    ChecksumMismatch {
        name: String,
        expected: String,
        actual: String,
    },

    #[error("{}", match reason {
        MissingChecksum::NoChecksumsFile => format!("No checksum for {name}: the release has no checksums.txt"),
        MissingChecksum::NoEntry => format!("No checksum for {name}: checksums.txt has no line for it"),
    })]
    ChecksumMissing {
        name: String,
        reason: MissingChecksum,
    },

    #[error("Invalid checksums file {source_name}, line {line}: {reason}")]
    InvalidChecksums {
        source_name: String,
        line: usize,
        reason: String,
    },

    #[error("Rejected archive {archive}: {reason}")]
    UnsafeArchive { archive: String, reason: String },

    #[error("Archive {archive} does not contain {binary} at its top level")]
    BinaryMissing { archive: String, binary: String },

    #[error("Failed to read archive {archive}")]
    CorruptArchive {
        archive: String,
        #[source]
        source: io::Error,
    },

    #[error("Failed to {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("Invalid release archive name {}: {reason}", path.display())]
    InvalidArchiveName { path: PathBuf, reason: String },

    #[error("Update cancelled")]
    Cancelled,

    #[error("Version {tag} is not installed: {} has no {binary}", dir.display())]
    NotInstalled {
        tag: String,
        dir: PathBuf,
        binary: &'static str,
    },

    #[error("Failed to download {name} from any of {} sources; the last error follows", attempts.len())]
    AllSourcesFailed {
        name: String,
        /// One `URL: message` line per source tried, in order.
        attempts: Vec<String>,
        #[source]
        last: Box<ReleaseError>,
    },
}

impl ReleaseError {
    /// Returns the error that ended the operation, looking through
    /// [`ReleaseError::AllSourcesFailed`].
    pub fn last_cause(&self) -> &ReleaseError {
        match self {
            ReleaseError::AllSourcesFailed { last, .. } => last.last_cause(),
            other => other,
        }
    }

    /// Returns the next step for the user, if there is a useful one.
    pub fn hint(&self) -> Option<String> {
        let hint = match self {
            ReleaseError::RateLimited { .. } => {
                "wait until the reset time, or set a GitHub token to raise the limit"
            }
            ReleaseError::NotFound { .. } => {
                "check the repository name, the releases API base URL (setting releasesApi or CPA_TRAY_RELEASES_API) and any download mirror"
            }
            ReleaseError::Timeout { .. } | ReleaseError::Network { .. } => {
                "check the network and the proxy settings (HTTPS_PROXY or config.yaml's proxy-url), or configure a download mirror"
            }
            ReleaseError::InvalidJson { .. } => {
                "the releases API returned something that is not GitHub's release JSON; check the API base URL and the proxy settings"
            }
            ReleaseError::NotAnArchive { .. } => {
                "the download is not a zip/tar.gz; check proxy settings (a proxy or captive portal may have returned a web page)"
            }
            ReleaseError::Truncated { .. } | ReleaseError::TooLarge { .. } => {
                "retry the update; if it keeps failing, check the proxy settings or try a download mirror"
            }
            ReleaseError::ChecksumMismatch { .. } => {
                "nothing was installed; retry, and if the mismatch persists, check the proxy or mirror, which may be serving a modified file"
            }
            ReleaseError::ChecksumMissing { .. } => {
                "retry in a few minutes, or pass --allow-unverified to install without a checksum"
            }
            ReleaseError::BinaryMissing { .. } | ReleaseError::CorruptArchive { .. } => {
                "an antivirus program may have removed or locked the file; check its quarantine and retry"
            }
            ReleaseError::Io { source, .. } if is_disk_full(source) => {
                "free some disk space and retry; nothing was installed"
            }
            ReleaseError::Io { .. } => {
                "check the folder's permissions; an antivirus program may also be locking the file"
            }
            ReleaseError::InvalidArchiveName { .. } => {
                "keep the file name the release published, e.g. CLIProxyAPI_8.0.10_linux_amd64.tar.gz"
            }
            ReleaseError::NotInstalled { .. } => {
                "run `cpa-tray versions list` to see installed versions, or `cpa-tray install`"
            }
            ReleaseError::AllSourcesFailed { last, .. } => return last.hint(),
            _ => return None,
        };
        Some(hint.to_string())
    }
}

fn is_disk_full(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::StorageFull
}
