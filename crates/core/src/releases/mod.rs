//! CLIProxyAPI releases: finding, downloading, verifying and installing them.
//!
//! Everything here is blocking and meant for a worker thread. Nothing here
//! starts or stops processes, and only [`record_version`] writes settings:
//! the caller (CLI or tray) records the chosen version with it and has the
//! supervisor restart the server.
//!
//! # How the commands map to this API
//!
//! Build a [`ReleaseSource`] once with [`release_source`] from settings and
//! environment: `api_base` from [`ReleaseSource::resolve_api_base`]
//! (environment variable [`API_BASE_ENV`] over the `releasesApi` setting over
//! [`DEFAULT_API_BASE`]), `mirrors` from `downloadMirrors`, `proxy` from
//! [`ProxySetting::from_proxy_url`] with config.yaml's `proxy-url`, and an
//! optional token (the `githubToken` setting or [`TOKEN_ENV`]). Open the
//! store with [`VersionStore::new`]`(home/versions)`.
//!
//! - `update --check`: [`check`] → print [`UpdateCheck::status`]
//!   (`Already latest: <tag>` for [`UpdateStatus::UpToDate`]).
//! - `update [--yes]`: [`check`], confirm, then [`install`] with the release
//!   from the check (no second API request), a progress callback and a cancel
//!   flag. On success, restart the server with
//!   [`InstallOutcome::installed`]`.binary`. When it does not become ready,
//!   restart [`InstallOutcome::previous_active`] and keep the old recorded
//!   version; otherwise record `installed.tag` in settings.
//!   Setting the cancel flag ends the install with [`ReleaseError::Cancelled`]
//!   (`Update cancelled`). When `versions/<tag>/` already exists, nothing is
//!   downloaded ([`Verification::AlreadyInstalled`]). Auto Update at start is
//!   the same flow without the prompt.
//! - `install [--from FILE] [--allow-unverified]`: [`check`] + [`install`], or
//!   [`install_from_file`] for an archive already on disk. On a first start,
//!   [`UpdateStatus::NotInstalled`] and [`UpdateCheck::asset`] (name, size)
//!   give the prompt its version and architecture.
//! - `versions list`: [`VersionStore::list`] (newest first, `active` marked).
//! - `versions use <tag>`: [`VersionStore::use_version`], then record the tag.
//! - `versions prune --keep N`: [`VersionStore::prune`] (never the active one).
//! - Start: [`VersionStore::resolve_active`] gives the binary to run. On a
//!   first start ([`needs_engine_choice`]), [`first_start_offer`] gives the
//!   choices (download with tag, platform and size, built-in engine, a binary
//!   on `PATH`), and the answer is stored as an [`EngineSetting`].
//!
//! Errors print as `error: {err}`, then each `source()` as `Caused by:`, then
//! `hint: {err.hint()}` when there is one.
//!
//! # Guarantees
//!
//! - Tags are validated before becoming folder names ([`validate_tag`]).
//! - The asset name must match exactly ([`select_asset`]).
//! - Downloads use a fixed set of buffers. Size, magic number and SHA-256
//!   are checked before anything is extracted. The checksum comes from
//!   `checksums.txt` or GitHub's asset digest. Without either,
//!   [`InstallOptions::allow_unverified`] must be set.
//! - On any failure, `versions/` contains what it contained before and the
//!   previous versions stay untouched. The exceptions: `versions/` itself is
//!   created when missing, and a crash, a kill or a second Ctrl+C (not an
//!   error) can leave `.cpa-tmp-*` entries. The next install or update
//!   deletes them, unless another cpa-tray process is installing at that
//!   moment: then only those older than six hours go.
//! - Proxies: `http://`, `https://`, `socks5://` and `socks5h://` URLs, from
//!   config.yaml's `proxy-url` or the environment; credentials in them never
//!   appear in messages.

mod activation;
mod asset;
mod checksums;
mod download;
mod error;
mod extract;
mod first_start;
mod github;
mod install;
mod reason_zh;
mod store;
mod temp;
mod version;

pub use activation::{TOKEN_ENV, record_version, release_source, runs_release, same_program};
pub use asset::{Arch, ArchiveKind, Os, Platform, select_asset};
pub use checksums::Checksums;
pub use download::Progress;
pub use error::{MissingChecksum, ReleaseError, cause_text};
pub use first_start::{
    DownloadOffer, EngineSetting, FirstStartOffer, find_in_search_path, find_on_path,
    first_start_offer, needs_engine_choice, path_binary_names,
};
pub use github::{
    API_BASE_ENV, Asset, DEFAULT_API_BASE, DEFAULT_REPOSITORY, LatestRelease, ProxySetting,
    ReleaseSource, Timeouts, fetch_latest,
};
pub use install::{
    DownloadedAsset, InstallOptions, InstallOutcome, UpdateCheck, UpdateStatus, Verification,
    check, download_asset, install, install_from_file, parse_asset_name,
};
pub use store::{
    ActiveSource, ActiveVersion, InstalledVersion, ListedVersion, PruneReport, VersionStore,
};
pub use temp::{TEMP_PREFIX, WriterWrapper};
pub use version::{Version, validate_tag};

/// Formats a size in bytes as megabytes (10^6 bytes, as the MB shown next
/// to it means) with one decimal: 5,189,197 bytes give `5.2`.
pub fn megabytes(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1_000_000.0)
}
