//! Installed versions under `versions/`.
//!
//! Layout: `versions/<tag>/cli-proxy-api` (`cli-proxy-api.exe` on Windows).
//! A folder counts as an installed version when its name is a valid tag and
//! it contains a non-empty binary. Other entries (temporary `.cpa-tmp-*`
//! entries, stray files, folders with other names) are ignored.
//!
//! The store never writes settings. The version the user picked is recorded
//! by the caller (`settings.json`'s `version`) and passed in as `recorded`.
//! Paths are built with `Path::join` only, so folder names with spaces,
//! brackets or non-ASCII letters in the home path need no quoting.

use std::fs;
use std::path::{Path, PathBuf};

use super::temp;
use super::version::Version;
use super::{Os, Platform, ReleaseError};

/// One installed version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledVersion {
    pub tag: String,
    pub version: Version,
    /// `versions/<tag>`.
    pub dir: PathBuf,
    /// `versions/<tag>/cli-proxy-api[.exe]`.
    pub binary: PathBuf,
}

/// An entry of [`VersionStore::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedVersion {
    pub installed: InstalledVersion,
    /// True for the version [`VersionStore::resolve_active`] picks.
    pub active: bool,
}

/// Reason a version is the active one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActiveSource {
    /// The recorded version is installed.
    Recorded,
    /// Nothing usable was recorded, so the newest installed version is used.
    /// `recorded_missing` is the recorded tag that is invalid or has no
    /// binary, so the caller can warn about it.
    NewestInstalled { recorded_missing: Option<String> },
}

/// The version the supervisor should run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveVersion {
    pub installed: InstalledVersion,
    pub source: ActiveSource,
}

/// Result of [`VersionStore::prune`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Tags deleted, newest first.
    pub removed: Vec<String>,
    /// Tags kept, newest first.
    pub kept: Vec<String>,
}

/// The `versions/` folder.
#[derive(Debug, Clone)]
pub struct VersionStore {
    dir: PathBuf,
    os: Os,
}

impl VersionStore {
    /// Opens the store at `versions_dir` for binaries of this machine's OS.
    /// The folder need not exist yet.
    pub fn new(versions_dir: impl Into<PathBuf>) -> Result<VersionStore, ReleaseError> {
        Ok(VersionStore::for_platform(
            versions_dir,
            Platform::current()?,
        ))
    }

    /// Opens the store for binaries of `platform`'s OS (used by tests and by
    /// installs of archives for another OS).
    pub fn for_platform(versions_dir: impl Into<PathBuf>, platform: Platform) -> VersionStore {
        VersionStore {
            dir: versions_dir.into(),
            os: platform.os,
        }
    }

    /// Returns the `versions/` folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Returns the binary's file name (`cli-proxy-api` or `cli-proxy-api.exe`).
    pub fn binary_name(&self) -> &'static str {
        self.os.binary_name()
    }

    /// Returns the folder of `tag`, after validating the tag as a folder name.
    pub fn version_dir(&self, tag: &str) -> Result<PathBuf, ReleaseError> {
        Version::parse(tag)?;
        Ok(self.dir.join(tag))
    }

    /// Returns the installed version `tag`, or `None` when its folder or
    /// binary is missing or the binary is empty.
    pub fn installed(&self, tag: &str) -> Result<Option<InstalledVersion>, ReleaseError> {
        let version = Version::parse(tag)?;
        let dir = self.dir.join(tag);
        let binary = dir.join(self.binary_name());
        let usable = fs::metadata(&binary).is_ok_and(|meta| meta.is_file() && meta.len() > 0);
        Ok(usable.then(|| InstalledVersion {
            tag: tag.to_string(),
            version,
            dir,
            binary,
        }))
    }

    /// Lists installed versions, newest first (SemVer order, ties by tag).
    /// A missing `versions/` folder is an empty list.
    pub fn installed_versions(&self) -> Result<Vec<InstalledVersion>, ReleaseError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(ReleaseError::Io {
                    action: "list",
                    path: self.dir.clone(),
                    source,
                });
            }
        };
        let mut versions = Vec::new();
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if name.starts_with('.') || !entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                continue;
            }
            if let Ok(Some(installed)) = self.installed(&name) {
                versions.push(installed);
            }
        }
        versions.sort_by(|a, b| b.version.cmp(&a.version).then_with(|| b.tag.cmp(&a.tag)));
        Ok(versions)
    }

    /// Picks the version to run: the recorded one when installed, otherwise
    /// the newest installed. Returns `None` when nothing is installed.
    pub fn resolve_active(
        &self,
        recorded: Option<&str>,
    ) -> Result<Option<ActiveVersion>, ReleaseError> {
        let recorded = recorded.map(str::trim).filter(|tag| !tag.is_empty());
        if let Some(tag) = recorded
            && let Ok(Some(installed)) = self.installed(tag)
        {
            return Ok(Some(ActiveVersion {
                installed,
                source: ActiveSource::Recorded,
            }));
        }
        let newest = self.installed_versions()?.into_iter().next();
        Ok(newest.map(|installed| ActiveVersion {
            installed,
            source: ActiveSource::NewestInstalled {
                recorded_missing: recorded.map(str::to_string),
            },
        }))
    }

    /// Lists installed versions, newest first, marking the active one.
    pub fn list(&self, recorded: Option<&str>) -> Result<Vec<ListedVersion>, ReleaseError> {
        let active = self.resolve_active(recorded)?.map(|a| a.installed.tag);
        Ok(self
            .installed_versions()?
            .into_iter()
            .map(|installed| ListedVersion {
                active: active.as_deref() == Some(installed.tag.as_str()),
                installed,
            })
            .collect())
    }

    /// Checks that `tag` is installed, for `versions use <tag>`. The caller
    /// records the returned tag in its settings and restarts the server.
    pub fn use_version(&self, tag: &str) -> Result<InstalledVersion, ReleaseError> {
        let dir = self.version_dir(tag)?;
        self.installed(tag)?
            .ok_or_else(|| ReleaseError::NotInstalled {
                tag: tag.to_string(),
                dir,
                binary: self.binary_name(),
            })
    }

    /// Deletes all but the `keep` newest installed versions. The active
    /// version (per `recorded`) is always kept, in addition to the `keep`
    /// newest. Each folder is first renamed to a temporary name, so a failed
    /// deletion never leaves a half-deleted folder that looks installed.
    pub fn prune(&self, keep: usize, recorded: Option<&str>) -> Result<PruneReport, ReleaseError> {
        let active = self.resolve_active(recorded)?.map(|a| a.installed.tag);
        let mut report = PruneReport::default();
        // The lock keeps a concurrent install from sweeping the trash folders.
        let _lock = self.dir.is_dir().then(|| temp::lock_and_sweep(&self.dir));
        for (index, installed) in self.installed_versions()?.into_iter().enumerate() {
            if index < keep || active.as_deref() == Some(installed.tag.as_str()) {
                report.kept.push(installed.tag);
                continue;
            }
            let trash = temp::create_dir(&self.dir, "prune")?;
            let trash_target = trash.path().join(&installed.tag);
            fs::rename(&installed.dir, &trash_target).map_err(|source| ReleaseError::Io {
                action: "remove",
                path: installed.dir.clone(),
                source,
            })?;
            // Dropping the guard deletes the renamed folder.
            drop(trash);
            report.removed.push(installed.tag);
        }
        Ok(report)
    }
}
