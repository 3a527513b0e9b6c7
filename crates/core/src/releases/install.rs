//! Checking for, downloading and installing a release.
//!
//! Install order: pick the asset, find its expected SHA-256, download into a
//! temporary file in `versions/` (size, magic number and digest checked while
//! streaming), extract the binary into a temporary folder in `versions/`, then
//! rename that folder to `versions/<tag>/`. The rename is the only step that
//! changes what is installed. Any earlier failure, including cancellation,
//! deletes the temporary entries and returns the error with `versions/`
//! unchanged.

use std::cmp::Ordering;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use super::checksums::Checksums;
use super::download::{self, Expected, Progress, Sink};
use super::error::MissingChecksum;
use super::github::{self, LatestRelease, ReleaseSource};
use super::store::{InstalledVersion, VersionStore};
use super::temp::{self, WriterWrapper};
use super::version::Version;
use super::{Arch, ArchiveKind, Os, Platform, ReleaseError, asset};

/// Relation of the latest release to the active installed version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateStatus {
    /// Nothing is installed yet.
    NotInstalled,
    /// The latest release is newer than the active version.
    UpdateAvailable,
    /// The active version is the latest (message: `Already latest: <tag>`).
    UpToDate,
    /// The active version is newer than GitHub's latest (a pre-release or a
    /// withdrawn release); it is never offered as an update.
    ActiveIsNewer,
}

/// Result of [`check`].
#[derive(Debug)]
pub struct UpdateCheck {
    pub latest: LatestRelease,
    /// The active installed version, if any.
    pub active: Option<InstalledVersion>,
    pub status: UpdateStatus,
    /// The latest release's asset for the requested platform. The error
    /// ([`ReleaseError::AssetNotFound`]) lets a prompt explain the problem
    /// before any download.
    pub asset: Result<super::Asset, ReleaseError>,
    /// True when `versions/<latest tag>/` already contains a binary, so installing
    /// only switches to it without downloading.
    pub latest_installed: bool,
}

/// Verification method of an installed archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// The archive matched the release's `checksums.txt` (and GitHub's
    /// digest, when the API listed one).
    ChecksumsFile { sha256: String },
    /// The release has no `checksums.txt`; the archive matched GitHub's own
    /// `sha256:` digest of the asset.
    GithubDigest { sha256: String },
    /// No checksum was available and the caller allowed an unverified install.
    Unverified { sha256: String },
    /// The version was already installed, so nothing was downloaded.
    AlreadyInstalled,
}

/// Options shared by [`install`] and [`install_from_file`].
#[derive(Clone)]
pub struct InstallOptions {
    /// Target platform of the archive (normally [`Platform::current`]).
    pub platform: Platform,
    /// Install without a checksum when none is published (CLI `--allow-unverified`).
    pub allow_unverified: bool,
    /// The version recorded in settings, reported back as
    /// [`InstallOutcome::previous_active`] for rollback.
    pub recorded_version: Option<String>,
    /// Fault injection for tests; `None` in production.
    pub wrap_writer: Option<WriterWrapper>,
}

impl InstallOptions {
    /// Options for `platform` that require a checksum.
    pub fn new(platform: Platform) -> InstallOptions {
        InstallOptions {
            platform,
            allow_unverified: false,
            recorded_version: None,
            wrap_writer: None,
        }
    }
}

/// Result of a successful install.
#[derive(Debug, Clone)]
pub struct InstallOutcome {
    pub installed: InstalledVersion,
    /// The version that was active before, for restarting it if the new one
    /// fails to become ready. `None` on a first install.
    pub previous_active: Option<InstalledVersion>,
    pub verification: Verification,
    /// The URL the archive came from (a mirror or the plain URL); `None`
    /// when nothing was downloaded.
    pub downloaded_from: Option<String>,
}

/// Fetches the latest release (one API request) and compares it with the
/// active installed version.
pub fn check(
    source: &ReleaseSource,
    store: &VersionStore,
    recorded_version: Option<&str>,
    platform: Platform,
) -> Result<UpdateCheck, ReleaseError> {
    let latest = github::fetch_latest(source)?;
    let active = store
        .resolve_active(recorded_version)?
        .map(|active| active.installed);
    let status = match &active {
        None => UpdateStatus::NotInstalled,
        Some(active) => match latest.version.cmp(&active.version) {
            Ordering::Greater => UpdateStatus::UpdateAvailable,
            Ordering::Equal => UpdateStatus::UpToDate,
            Ordering::Less => UpdateStatus::ActiveIsNewer,
        },
    };
    let asset = asset::select_asset(&latest, platform).cloned();
    let latest_installed = store.installed(&latest.tag)?.is_some();
    Ok(UpdateCheck {
        latest,
        active,
        status,
        asset,
        latest_installed,
    })
}

/// Downloads, verifies and installs `release` for `options.platform`.
///
/// When `versions/<tag>/` already contains the binary, nothing is downloaded
/// and [`Verification::AlreadyInstalled`] is returned. `progress` is called
/// after every received chunk; setting `cancel` stops the download at the
/// next chunk with [`ReleaseError::Cancelled`]. Settings are not touched:
/// the caller records `outcome.installed.tag` after its own checks.
pub fn install(
    source: &ReleaseSource,
    release: &LatestRelease,
    store: &VersionStore,
    options: &InstallOptions,
    progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
) -> Result<InstallOutcome, ReleaseError> {
    let asset = asset::select_asset(release, options.platform)?;
    ensure_dir(store.dir())?;
    let _lock = temp::lock_and_sweep(store.dir());
    let previous_active = previous_active(store, options)?;
    if let Some(installed) = store.installed(&release.tag)? {
        return Ok(InstallOutcome {
            installed,
            previous_active,
            verification: Verification::AlreadyInstalled,
            downloaded_from: None,
        });
    }
    let final_dir = store.version_dir(&release.tag)?;
    let agent = source.agent()?;

    // The checksum is settled before the archive is downloaded, so a refused
    // unverified install costs no bandwidth.
    let github_digest = asset.sha256_digest();
    let mut expected_sha = Vec::new();
    let verified_by = match release.checksums_asset() {
        Some(sums_asset) => {
            let fetched = download::fetch_small_text(
                source,
                &agent,
                &sums_asset.name,
                &sums_asset.browser_download_url,
                cancel,
            );
            match fetched {
                Ok((url, text)) => {
                    let sums = Checksums::parse(&url, &text)?;
                    match sums.get(&asset.name) {
                        Some(digest) => {
                            expected_sha.push(digest.to_string());
                            Some(VerifiedBy::ChecksumsFile)
                        }
                        None => unverified_or(options, &asset.name, MissingChecksum::NoEntry)?,
                    }
                }
                // A listed but missing checksums.txt counts as none, so
                // GitHub's digest or `allow_unverified` can still apply.
                Err(err) => match err.last_cause() {
                    ReleaseError::NotFound { .. } if github_digest.is_some() => {
                        Some(VerifiedBy::GithubDigest)
                    }
                    ReleaseError::NotFound { url, .. } => unverified_or(
                        options,
                        &asset.name,
                        MissingChecksum::ChecksumsFileNotFound { url: url.clone() },
                    )?,
                    _ => return Err(err),
                },
            }
        }
        None if github_digest.is_some() => Some(VerifiedBy::GithubDigest),
        None => unverified_or(options, &asset.name, MissingChecksum::NoChecksumsFile)?,
    };
    if let Some(digest) = github_digest {
        expected_sha.push(digest);
    }
    expected_sha.dedup();

    let expected = Expected {
        name: &asset.name,
        size: Some(asset.size),
        kind: Some(options.platform.os.archive_kind()),
        sha256: &expected_sha,
    };
    let mut sink = Sink {
        dir: store.dir(),
        progress,
        cancel,
        wrapper: options.wrap_writer.as_ref(),
    };
    let downloaded = download::download(
        source,
        &agent,
        &asset.browser_download_url,
        &expected,
        &mut sink,
    )?;

    let verification = verification(verified_by, downloaded.sha256.clone());
    let installed = stage_and_commit(
        store,
        downloaded.file.path(),
        &asset.name,
        options,
        &release.tag,
        &final_dir,
    )?;
    Ok(InstallOutcome {
        installed,
        previous_active,
        verification,
        downloaded_from: Some(downloaded.url),
    })
}

/// A downloaded asset in a temporary file inside the target folder. The file
/// is deleted when this value is dropped.
#[derive(Debug)]
pub struct DownloadedAsset {
    file: temp::TempEntry,
    /// Lowercase hex SHA-256 of the content.
    pub sha256: String,
    /// The URL the content came from (a mirror or the plain URL).
    pub url: String,
}

impl DownloadedAsset {
    /// Returns the temporary file's path.
    pub fn path(&self) -> &Path {
        self.file.path()
    }
}

/// Downloads one asset into a temporary file in `dir`, with the same checks
/// as [`install`] except the checksum file: size against the listed size,
/// magic number for `.zip`/`.tar.gz` names, and GitHub's digest when listed.
/// [`install`] is the normal entry point; this serves benchmarks and callers
/// that only need the file.
pub fn download_asset(
    source: &ReleaseSource,
    asset: &super::Asset,
    dir: &Path,
    progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
) -> Result<DownloadedAsset, ReleaseError> {
    let agent = source.agent()?;
    let digests: Vec<String> = asset.sha256_digest().into_iter().collect();
    let expected = Expected {
        name: &asset.name,
        size: Some(asset.size),
        kind: ArchiveKind::from_file_name(&asset.name),
        sha256: &digests,
    };
    let mut sink = Sink {
        dir,
        progress,
        cancel,
        wrapper: None,
    };
    let downloaded = download::download(
        source,
        &agent,
        &asset.browser_download_url,
        &expected,
        &mut sink,
    )?;
    Ok(DownloadedAsset {
        file: downloaded.file,
        sha256: downloaded.sha256,
        url: downloaded.url,
    })
}

/// Installs a release archive the user already has (offline machines).
///
/// The file name must be the original asset name,
/// `CLIProxyAPI_<version>_<os>_<arch>.<zip|tar.gz>`, for `options.platform`;
/// it gives the tag (`v<version>`). A `checksums.txt` beside the archive is
/// used when present; without it (or without a line for the archive) the
/// install needs `options.allow_unverified`.
pub fn install_from_file(
    archive: &Path,
    store: &VersionStore,
    options: &InstallOptions,
) -> Result<InstallOutcome, ReleaseError> {
    let file_name = archive
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| ReleaseError::InvalidArchiveName {
            path: archive.to_path_buf(),
            reason: "the file name is not valid UTF-8".to_string(),
        })?
        .to_string();
    let (version, platform) = parse_asset_name(archive, &file_name)?;
    if platform != options.platform {
        return Err(ReleaseError::InvalidArchiveName {
            path: archive.to_path_buf(),
            reason: format!(
                "the archive is for {platform}, but this machine needs {}",
                options.platform
            ),
        });
    }
    let tag = format!("v{version}");
    let previous_active = previous_active(store, options)?;
    if let Some(installed) = store.installed(&tag)? {
        return Ok(InstallOutcome {
            installed,
            previous_active,
            verification: Verification::AlreadyInstalled,
            downloaded_from: None,
        });
    }
    let final_dir = store.version_dir(&tag)?;

    let sums_path = archive.with_file_name("checksums.txt");
    let expected = match fs::read_to_string(&sums_path) {
        Ok(text) => {
            let sums = Checksums::parse(&sums_path.display().to_string(), &text)?;
            match sums.get(&file_name) {
                Some(digest) => Some(digest.to_string()),
                None => {
                    unverified_or(options, &file_name, MissingChecksum::NoEntry)?;
                    None
                }
            }
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            unverified_or(options, &file_name, MissingChecksum::NoChecksumsFile)?;
            None
        }
        Err(source) => {
            return Err(ReleaseError::Io {
                action: "read",
                path: sums_path,
                source,
            });
        }
    };

    extract_magic_first(archive, &file_name, platform.os.archive_kind())?;
    let (actual, _size) = download::hash_file(archive)?;
    let verification = match expected {
        Some(expected) if expected != actual => {
            return Err(ReleaseError::ChecksumMismatch {
                name: file_name,
                expected,
                actual,
            });
        }
        Some(_) => Verification::ChecksumsFile { sha256: actual },
        None => Verification::Unverified { sha256: actual },
    };

    ensure_dir(store.dir())?;
    let _lock = temp::lock_and_sweep(store.dir());
    let installed = stage_and_commit(store, archive, &file_name, options, &tag, &final_dir)?;
    Ok(InstallOutcome {
        installed,
        previous_active,
        verification,
        downloaded_from: None,
    })
}

/// Splits `CLIProxyAPI_<version>_<os>_<arch>.<ext>` into its version and platform.
pub fn parse_asset_name(path: &Path, file_name: &str) -> Result<(Version, Platform), ReleaseError> {
    let invalid = |reason: &str| ReleaseError::InvalidArchiveName {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let kind = ArchiveKind::from_file_name(file_name)
        .ok_or_else(|| invalid("expected a .zip or .tar.gz release archive"))?;
    let stem = &file_name[..file_name.len() - kind.suffix().len()];
    let rest = stem
        .strip_prefix("CLIProxyAPI_")
        .ok_or_else(|| invalid("expected the original name CLIProxyAPI_<version>_<os>_<arch>"))?;
    let mut parts = rest.rsplitn(3, '_');
    let (Some(arch), Some(os), Some(version)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid(
            "expected the original name CLIProxyAPI_<version>_<os>_<arch>",
        ));
    };
    let os = [Os::Windows, Os::Linux, Os::Darwin, Os::FreeBsd]
        .into_iter()
        .find(|candidate| candidate.token() == os)
        .ok_or_else(|| {
            invalid(&format!(
                "unknown OS {os:?} (or a variant such as _no-plugin)"
            ))
        })?;
    let arch = [Arch::Amd64, Arch::Aarch64]
        .into_iter()
        .find(|candidate| candidate.token() == arch)
        .ok_or_else(|| invalid(&format!("unknown architecture {arch:?}")))?;
    if os.archive_kind() != kind {
        return Err(invalid(&format!(
            "{} releases are .{} archives",
            os.token(),
            os.archive_kind()
        )));
    }
    let version = Version::parse(version)?;
    Ok((version, Platform { os, arch }))
}

enum VerifiedBy {
    ChecksumsFile,
    GithubDigest,
}

fn verification(verified_by: Option<VerifiedBy>, sha256: String) -> Verification {
    match verified_by {
        Some(VerifiedBy::ChecksumsFile) => Verification::ChecksumsFile { sha256 },
        Some(VerifiedBy::GithubDigest) => Verification::GithubDigest { sha256 },
        None => Verification::Unverified { sha256 },
    }
}

fn unverified_or(
    options: &InstallOptions,
    name: &str,
    reason: MissingChecksum,
) -> Result<Option<VerifiedBy>, ReleaseError> {
    if options.allow_unverified {
        Ok(None)
    } else {
        Err(ReleaseError::ChecksumMissing {
            name: name.to_string(),
            reason,
        })
    }
}

fn previous_active(
    store: &VersionStore,
    options: &InstallOptions,
) -> Result<Option<InstalledVersion>, ReleaseError> {
    Ok(store
        .resolve_active(options.recorded_version.as_deref())?
        .map(|active| active.installed))
}

/// Creates `versions/` (and the home above it) readable by the owner only on
/// Unix, like every other folder cpa-tray creates.
fn ensure_dir(dir: &Path) -> Result<(), ReleaseError> {
    let builder = crate::home::private_dir_builder(true);
    builder.create(dir).map_err(|source| ReleaseError::Io {
        action: "create",
        path: dir.to_path_buf(),
        source,
    })
}

fn extract_magic_first(archive: &Path, label: &str, kind: ArchiveKind) -> Result<(), ReleaseError> {
    super::extract::check_magic(archive, label, kind)
}

/// Extracts the binary into a temporary folder and renames it to `final_dir`.
fn stage_and_commit(
    store: &VersionStore,
    archive: &Path,
    label: &str,
    options: &InstallOptions,
    tag: &str,
    final_dir: &PathBuf,
) -> Result<InstalledVersion, ReleaseError> {
    let staging = temp::create_dir(store.dir(), "staging")?;
    super::extract::extract_binary(
        archive,
        label,
        options.platform.os.archive_kind(),
        options.platform.os.binary_name(),
        staging.path(),
        options.wrap_writer.as_ref(),
    )?;

    if let Some(installed) = store.installed(tag)? {
        // Another install of the same tag (a second cpa-tray process)
        // finished first, so its copy is used and this one is discarded.
        return Ok(installed);
    }

    // A folder without a usable binary (an interrupted manual copy, or a
    // binary removed by an antivirus program) is moved aside so the rename
    // can take its place, and restored if the rename fails.
    let mut displaced = None;
    if fs::symlink_metadata(final_dir).is_ok() {
        let trash = temp::create_dir(store.dir(), "replaced")?;
        let aside = trash.path().join(tag);
        fs::rename(final_dir, &aside).map_err(|source| ReleaseError::Io {
            action: "move aside the incomplete folder",
            path: final_dir.clone(),
            source,
        })?;
        displaced = Some((trash, aside));
    }
    if let Err(source) = fs::rename(staging.path(), final_dir) {
        if let Some((_, aside)) = &displaced {
            // Best effort: put the old folder back where it was.
            let _ = fs::rename(aside, final_dir);
        }
        return Err(ReleaseError::Io {
            action: "move the new version into",
            path: final_dir.clone(),
            source,
        });
    }
    staging.disarm();
    drop(displaced);
    temp::sync_dir(store.dir());

    store
        .installed(tag)?
        .ok_or_else(|| ReleaseError::BinaryMissing {
            archive: label.to_string(),
            binary: options.platform.os.binary_name().to_string(),
        })
}
