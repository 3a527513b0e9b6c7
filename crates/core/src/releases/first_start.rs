//! First-start choices, offered when no server program has been chosen yet.
//!
//! A first start is a start with no `engine` setting, no `--engine` and no
//! installed release ([`needs_engine_choice`]). The user then picks one of
//! three or four engines: download the latest CLIProxyAPI release, use the
//! built-in engine, use a CLIProxyAPI binary found on `PATH` (Homebrew, AUR
//! and similar packages install one there), or cancel. [`first_start_offer`]
//! gathers what those choices need with one API request, and the choice is
//! recorded as an [`EngineSetting`] so the question is asked once.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::github::{self, Asset, LatestRelease, ReleaseSource};
use super::store::VersionStore;
use super::{Os, Platform, ReleaseError, asset};

/// Value of the `engine` setting in settings.json.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineSetting {
    /// The active CLIProxyAPI release under `versions/` (the `version`
    /// setting, else the newest installed one).
    Official,
    /// The engine built into cpa-tray.
    Builtin,
    /// Any CLIProxyAPI-compatible binary.
    Path(PathBuf),
}

impl EngineSetting {
    /// Setting value of [`EngineSetting::Official`].
    pub const OFFICIAL: &'static str = "official";
    /// Earlier spelling of [`EngineSetting::OFFICIAL`], still accepted.
    pub const OFFICIAL_ALIAS: &'static str = "cliproxyapi";
    /// Setting value of [`EngineSetting::Builtin`].
    pub const BUILTIN: &'static str = "builtin";

    /// Parses a setting or `--engine` value. Anything other than the two
    /// keywords (and the alias) is a path; the caller checks that it exists.
    pub fn parse(value: &str) -> EngineSetting {
        match value.trim() {
            Self::OFFICIAL | Self::OFFICIAL_ALIAS => EngineSetting::Official,
            Self::BUILTIN => EngineSetting::Builtin,
            _ => EngineSetting::Path(PathBuf::from(value)),
        }
    }

    /// Returns the string to store in the `engine` setting.
    pub fn to_setting(&self) -> String {
        match self {
            EngineSetting::Official => Self::OFFICIAL.to_string(),
            EngineSetting::Builtin => Self::BUILTIN.to_string(),
            EngineSetting::Path(path) => path.to_string_lossy().into_owned(),
        }
    }
}

/// Returns whether a start must ask which engine to use: no `engine`
/// setting and no release installed under `versions/`. An `--engine` flag or
/// the `CPA_TRAY_ENGINE_PROGRAM` variable answers the question before this
/// is called. An unreadable `versions/` folder counts as empty.
pub fn needs_engine_choice(
    engine_setting: Option<&str>,
    store: &VersionStore,
    recorded_version: Option<&str>,
) -> bool {
    if engine_setting.is_some_and(|value| !value.trim().is_empty()) {
        return false;
    }
    !matches!(store.resolve_active(recorded_version), Ok(Some(_)))
}

/// The download choice of a first start.
#[derive(Debug)]
pub enum DownloadOffer {
    /// The latest release has an archive for this machine.
    Available {
        release: LatestRelease,
        /// The archive to download; [`Asset::size`] is its size in bytes.
        asset: Asset,
    },
    /// The releases API could not be reached: no network, a name that does
    /// not resolve, a refused connection or proxy, or a timeout. The error
    /// names the URL.
    Offline(ReleaseError),
    /// The API responded, but nothing can be installed: a rate limit, an HTTP
    /// error, unexpected JSON, or no archive for this OS and architecture.
    Unavailable(ReleaseError),
}

impl DownloadOffer {
    /// Returns the release tag and archive size in bytes, when a download is possible.
    pub fn tag_and_size(&self) -> Option<(&str, u64)> {
        match self {
            DownloadOffer::Available { release, asset } => Some((&release.tag, asset.size)),
            _ => None,
        }
    }

    /// Returns the reason no download is offered.
    pub fn error(&self) -> Option<&ReleaseError> {
        match self {
            DownloadOffer::Available { .. } => None,
            DownloadOffer::Offline(err) | DownloadOffer::Unavailable(err) => Some(err),
        }
    }
}

/// Everything a first-start prompt or dialog shows.
#[derive(Debug)]
pub struct FirstStartOffer {
    /// This machine's OS and architecture; [`Platform::label`] gives `linux/amd64`.
    pub platform: Platform,
    pub download: DownloadOffer,
    /// A CLIProxyAPI binary found on `PATH` ([`find_on_path`]).
    pub on_path: Option<PathBuf>,
}

/// Connection timeout of the first-start check. Shorter than an update's,
/// because the user waits for the question; an estimate that still allows a
/// slow proxy handshake.
const OFFER_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Total time of the first-start API request.
const OFFER_TOTAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Gathers the first-start choices: one request to the releases API (at most
/// 10 s; 5 s to connect) for the latest tag and this machine's archive, and
/// a search of `PATH`.
///
/// Never fails: a failed check becomes [`DownloadOffer::Offline`] or
/// [`DownloadOffer::Unavailable`], and the built-in engine is always
/// possible. To install the offered release, pass the `release` of
/// [`DownloadOffer::Available`] to [`super::install`]; it sends no second
/// API request.
pub fn first_start_offer(source: &ReleaseSource, platform: Platform) -> FirstStartOffer {
    let mut source = source.clone();
    source.timeouts.connect = source.timeouts.connect.min(OFFER_CONNECT_TIMEOUT);
    source.timeouts.api_total = source.timeouts.api_total.min(OFFER_TOTAL_TIMEOUT);
    source.timeouts.read = source.timeouts.read.min(OFFER_TOTAL_TIMEOUT);

    let download = match github::fetch_latest(&source) {
        Ok(release) => match asset::select_asset(&release, platform) {
            Ok(asset) => {
                let asset = asset.clone();
                DownloadOffer::Available { release, asset }
            }
            Err(err) => DownloadOffer::Unavailable(err),
        },
        Err(err) if err.is_offline() => DownloadOffer::Offline(err),
        Err(err) => DownloadOffer::Unavailable(err),
    };
    FirstStartOffer {
        platform,
        download,
        on_path: find_on_path(platform.os),
    }
}

/// File names of a CLIProxyAPI binary on `PATH`, in search order: upstream's
/// archive name, then the project name that some packages use.
pub fn path_binary_names(os: Os) -> &'static [&'static str] {
    match os {
        Os::Windows => &["cli-proxy-api.exe", "CLIProxyAPI.exe"],
        _ => &["cli-proxy-api", "CLIProxyAPI"],
    }
}

/// Searches the `PATH` environment variable for a CLIProxyAPI binary
/// ([`path_binary_names`]). Returns the first executable file found.
pub fn find_on_path(os: Os) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    find_in_search_path(&path, os)
}

/// Searches a `PATH`-style list of folders for a CLIProxyAPI binary. Empty
/// and relative entries are skipped, so the current folder never supplies
/// the program.
pub fn find_in_search_path(search_path: &OsStr, os: Os) -> Option<PathBuf> {
    std::env::split_paths(search_path)
        .filter(|dir| dir.is_absolute())
        .flat_map(|dir| path_binary_names(os).iter().map(move |name| dir.join(name)))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

impl Platform {
    /// Returns `<os>/<arch>` with the tokens of asset names, e.g. `linux/amd64`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.os.token(), self.arch.token())
    }
}

impl ReleaseError {
    /// Returns whether the error means the releases API or download host
    /// could not be reached at all (network, name resolution, proxy or
    /// timeout), as opposed to a server that responded with an error.
    pub fn is_offline(&self) -> bool {
        matches!(
            self.last_cause(),
            ReleaseError::Network { .. } | ReleaseError::Timeout { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_setting_round_trips() {
        assert_eq!(EngineSetting::parse("official"), EngineSetting::Official);
        assert_eq!(EngineSetting::parse("cliproxyapi"), EngineSetting::Official);
        assert_eq!(EngineSetting::parse(" builtin "), EngineSetting::Builtin);
        assert_eq!(
            EngineSetting::parse("/usr/bin/cli-proxy-api"),
            EngineSetting::Path(PathBuf::from("/usr/bin/cli-proxy-api"))
        );
        assert_eq!(EngineSetting::Official.to_setting(), "official");
        assert_eq!(EngineSetting::Builtin.to_setting(), "builtin");
    }

    #[test]
    fn platform_label_uses_asset_tokens() {
        let platform = Platform {
            os: Os::Darwin,
            arch: super::super::Arch::Aarch64,
        };
        assert_eq!(platform.label(), "darwin/aarch64");
    }

    #[test]
    fn search_path_finds_first_executable() {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        let name = path_binary_names(Os::current_or_linux())[0];
        let found = second.path().join(name);
        std::fs::write(&found, b"stand-in").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // Not executable yet: skipped.
            std::fs::set_permissions(&found, std::fs::Permissions::from_mode(0o644)).unwrap();
            let path = std::env::join_paths([first.path(), second.path()]).unwrap();
            assert_eq!(find_in_search_path(&path, Os::current_or_linux()), None);
            std::fs::set_permissions(&found, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let path =
            std::env::join_paths([Path::new("relative"), first.path(), second.path()]).unwrap();
        assert_eq!(
            find_in_search_path(&path, Os::current_or_linux()),
            Some(found)
        );
        assert_eq!(find_in_search_path(OsStr::new(""), Os::Linux), None);
    }

    impl Os {
        fn current_or_linux() -> Os {
            Os::from_rust(std::env::consts::OS).unwrap_or(Os::Linux)
        }
    }
}
