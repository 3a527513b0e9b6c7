//! The release asset that fits a machine.
//!
//! CLIProxyAPI publishes one archive per target, named
//! `CLIProxyAPI_<version without v>_<os>_<arch>` with `.zip` for Windows and
//! `.tar.gz` for every other OS. The architecture token is `amd64` or
//! `aarch64` (never `arm64`). Some targets also ship a `_no-plugin` twin
//! (static build without plugins), so the match is on the exact name: a
//! substring match would pick whichever variant the API happens to list first.

use std::fmt;

use super::ReleaseError;
use super::github::{Asset, LatestRelease};
use super::version::Version;

/// Operating system token used in asset names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Os {
    Windows,
    Linux,
    Darwin,
    FreeBsd,
}

/// CPU architecture token used in asset names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arch {
    /// x86-64, named `amd64` in assets.
    Amd64,
    /// 64-bit ARM, named `aarch64` in assets.
    Aarch64,
}

/// Archive format of an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveKind {
    Zip,
    TarGz,
}

impl ArchiveKind {
    /// File name suffix, with its dot.
    pub fn suffix(self) -> &'static str {
        match self {
            ArchiveKind::Zip => ".zip",
            ArchiveKind::TarGz => ".tar.gz",
        }
    }

    /// Guesses the kind from a file name's suffix.
    pub fn from_file_name(name: &str) -> Option<ArchiveKind> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".zip") {
            Some(ArchiveKind::Zip)
        } else if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
            Some(ArchiveKind::TarGz)
        } else {
            None
        }
    }
}

impl fmt::Display for ArchiveKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ArchiveKind::Zip => "zip",
            ArchiveKind::TarGz => "tar.gz",
        })
    }
}

impl Os {
    /// Token in asset names.
    pub fn token(self) -> &'static str {
        match self {
            Os::Windows => "windows",
            Os::Linux => "linux",
            Os::Darwin => "darwin",
            Os::FreeBsd => "freebsd",
        }
    }

    /// Maps Rust's `std::env::consts::OS` value.
    pub fn from_rust(os: &str) -> Option<Os> {
        match os {
            "windows" => Some(Os::Windows),
            "linux" => Some(Os::Linux),
            "macos" => Some(Os::Darwin),
            "freebsd" => Some(Os::FreeBsd),
            _ => None,
        }
    }

    /// Name of the server binary inside this OS's archive.
    pub fn binary_name(self) -> &'static str {
        match self {
            Os::Windows => "cli-proxy-api.exe",
            _ => "cli-proxy-api",
        }
    }

    /// Archive format published for this OS.
    pub fn archive_kind(self) -> ArchiveKind {
        match self {
            Os::Windows => ArchiveKind::Zip,
            _ => ArchiveKind::TarGz,
        }
    }
}

impl Arch {
    /// Token in asset names.
    pub fn token(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// Maps Rust's `std::env::consts::ARCH` value (`x86_64`, `aarch64`).
    pub fn from_rust(arch: &str) -> Option<Arch> {
        match arch {
            "x86_64" => Some(Arch::Amd64),
            "aarch64" => Some(Arch::Aarch64),
            _ => None,
        }
    }
}

/// An OS and architecture pair that CLIProxyAPI publishes builds for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Platform {
    pub os: Os,
    pub arch: Arch,
}

impl Platform {
    /// Returns the platform this program was compiled for.
    pub fn current() -> Result<Platform, ReleaseError> {
        Platform::from_rust(std::env::consts::OS, std::env::consts::ARCH)
    }

    /// Maps Rust's OS and architecture names (`linux`, `macos`, `windows`;
    /// `x86_64`, `aarch64`).
    pub fn from_rust(os: &str, arch: &str) -> Result<Platform, ReleaseError> {
        match (Os::from_rust(os), Arch::from_rust(arch)) {
            (Some(os), Some(arch)) => Ok(Platform { os, arch }),
            _ => Err(ReleaseError::UnsupportedPlatform {
                os: os.to_string(),
                arch: arch.to_string(),
            }),
        }
    }

    /// Returns the exact asset name for `version` on this platform, for example
    /// `CLIProxyAPI_8.0.10_linux_aarch64.tar.gz`.
    pub fn asset_name(&self, version: &Version) -> String {
        format!(
            "CLIProxyAPI_{version}_{}_{}{}",
            self.os.token(),
            self.arch.token(),
            self.os.archive_kind().suffix()
        )
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.os.token(), self.arch.token())
    }
}

/// Picks the asset named exactly [`Platform::asset_name`] from a release.
///
/// Fails with [`ReleaseError::AssetNotFound`], which names the version, OS
/// and architecture and lists every asset name the release has.
pub fn select_asset(release: &LatestRelease, platform: Platform) -> Result<&Asset, ReleaseError> {
    let expected = platform.asset_name(&release.version);
    release
        .assets
        .iter()
        .find(|asset| asset.name == expected)
        .ok_or_else(|| ReleaseError::AssetNotFound {
            tag: release.tag.clone(),
            os: platform.os.token(),
            arch: platform.arch.token(),
            expected,
            available: release.assets.iter().map(|a| a.name.clone()).collect(),
        })
}
