//! Asset selection, version ordering and the `versions/` store.

use std::fs;
use std::path::Path;

use cpa_core::releases::{
    ActiveSource, Arch, Asset, LatestRelease, Os, Platform, ReleaseError, Version, VersionStore,
    parse_asset_name, select_asset, validate_tag,
};

fn release(tag: &str, names: &[&str]) -> LatestRelease {
    LatestRelease {
        tag: tag.to_string(),
        version: Version::parse(tag).unwrap(),
        html_url: None,
        published_at: None,
        assets: names
            .iter()
            .map(|name| Asset {
                name: name.to_string(),
                size: 1,
                browser_download_url: format!("https://example.invalid/{name}"),
                digest: None,
            })
            .collect(),
    }
}

/// The upstream asset list for one tag, with each `_no-plugin` twin listed
/// before its full build, as the API may order them.
const V730_ASSETS: &[&str] = &[
    "CLIProxyAPI_7.3.0_darwin_amd64.tar.gz",
    "CLIProxyAPI_7.3.0_darwin_aarch64.tar.gz",
    "CLIProxyAPI_7.3.0_windows_amd64.zip",
    "CLIProxyAPI_7.3.0_windows_aarch64.zip",
    "CLIProxyAPI_7.3.0_linux_amd64_no-plugin.tar.gz",
    "CLIProxyAPI_7.3.0_linux_amd64.tar.gz",
    "CLIProxyAPI_7.3.0_linux_aarch64_no-plugin.tar.gz",
    "CLIProxyAPI_7.3.0_linux_aarch64.tar.gz",
    "CLIProxyAPI_7.3.0_freebsd_aarch64_no-plugin.tar.gz",
    "checksums.txt",
];

#[test]
fn asset_table_for_every_platform() {
    let release = release("v7.3.0", V730_ASSETS);
    let table = [
        ("windows", "x86_64", "CLIProxyAPI_7.3.0_windows_amd64.zip"),
        (
            "windows",
            "aarch64",
            "CLIProxyAPI_7.3.0_windows_aarch64.zip",
        ),
        ("linux", "x86_64", "CLIProxyAPI_7.3.0_linux_amd64.tar.gz"),
        ("linux", "aarch64", "CLIProxyAPI_7.3.0_linux_aarch64.tar.gz"),
        ("macos", "x86_64", "CLIProxyAPI_7.3.0_darwin_amd64.tar.gz"),
        (
            "macos",
            "aarch64",
            "CLIProxyAPI_7.3.0_darwin_aarch64.tar.gz",
        ),
    ];
    for (os, arch, expected) in table {
        let platform = Platform::from_rust(os, arch).unwrap();
        let asset = select_asset(&release, platform).unwrap();
        assert_eq!(asset.name, expected, "{os}/{arch}");
    }
}

#[test]
fn only_no_plugin_variant_is_not_a_match() {
    // freebsd/aarch64 ships only a _no-plugin build; a substring match would take it.
    let release = release("v7.3.0", V730_ASSETS);
    let platform = Platform::from_rust("freebsd", "aarch64").unwrap();
    let err = select_asset(&release, platform).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, ReleaseError::AssetNotFound { .. }), "{err:?}");
    assert!(message.contains("v7.3.0"), "{message}");
    assert!(message.contains("freebsd/aarch64"), "{message}");
    assert!(
        message.contains("CLIProxyAPI_7.3.0_freebsd_aarch64.tar.gz"),
        "{message}"
    );
    assert!(
        message.contains("CLIProxyAPI_7.3.0_freebsd_aarch64_no-plugin.tar.gz"),
        "the message lists the available names: {message}"
    );
}

#[test]
fn arm64_token_and_missing_platform() {
    // Upstream never publishes "arm64"; such an asset must not match aarch64.
    let release = release("v7.3.0", &["CLIProxyAPI_7.3.0_darwin_arm64.tar.gz"]);
    let platform = Platform::from_rust("macos", "aarch64").unwrap();
    let err = select_asset(&release, platform).unwrap_err();
    assert!(
        err.to_string()
            .contains("expected CLIProxyAPI_7.3.0_darwin_aarch64.tar.gz"),
        "{err}"
    );

    let empty = self::release("v7.3.0", &[]);
    let err = select_asset(&empty, platform).unwrap_err();
    assert!(err.to_string().contains("no assets"), "{err}");
}

#[test]
fn unsupported_rust_targets() {
    for (os, arch) in [
        ("linux", "x86"),
        ("linux", "arm"),
        ("android", "aarch64"),
        ("linux", "riscv64"),
    ] {
        let err = Platform::from_rust(os, arch).unwrap_err();
        assert!(err.to_string().contains(&format!("{os}/{arch}")), "{err}");
    }
}

#[test]
fn tag_without_v_in_asset_name() {
    let release = release("8.0.10", &["CLIProxyAPI_8.0.10_linux_amd64.tar.gz"]);
    let platform = Platform {
        os: Os::Linux,
        arch: Arch::Amd64,
    };
    assert_eq!(
        select_asset(&release, platform).unwrap().name,
        "CLIProxyAPI_8.0.10_linux_amd64.tar.gz"
    );
}

#[test]
fn semver_ordering_cases() {
    let ordered = [
        "v6.1.0",
        "v6.9.9",
        "v6.9.10",
        "v6.10.0-rc.1",
        "v6.10.0",
        "v7.0.0",
        "v8.0.9",
        "v8.0.10",
    ];
    for pair in ordered.windows(2) {
        let (a, b) = (
            Version::parse(pair[0]).unwrap(),
            Version::parse(pair[1]).unwrap(),
        );
        assert!(a < b, "{} < {}", pair[0], pair[1]);
    }
    // The string-sort trap: as strings "v6.9.9" > "v6.10.0".
    assert!("v6.9.9" > "v6.10.0");
    assert!(Version::parse("v6.9.9").unwrap() < Version::parse("v6.10.0").unwrap());
}

#[test]
fn tags_that_are_not_folder_names() {
    for tag in [
        "../v1.0.0",
        "v1.0.0/../../x",
        "v1.0.0\\x",
        "v1.0.0 ",
        "v1.0.0\0",
        "/v1.0.0",
    ] {
        assert!(validate_tag(tag).is_err(), "{tag:?}");
    }
}

// ---------------------------------------------------------------------------
// Store

fn install_fake(versions: &Path, tag: &str, binary: &str) {
    let dir = versions.join(tag);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(binary), format!("binary {tag}")).unwrap();
}

fn tags(store: &VersionStore) -> Vec<String> {
    store
        .installed_versions()
        .unwrap()
        .into_iter()
        .map(|v| v.tag)
        .collect()
}

fn linux_store(versions: &Path) -> VersionStore {
    VersionStore::for_platform(
        versions,
        Platform {
            os: Os::Linux,
            arch: Arch::Amd64,
        },
    )
}

#[test]
fn list_is_semver_sorted_and_marks_active() {
    let temp = tempfile::tempdir().unwrap();
    let versions = temp
        .path()
        .join("Program Files (x86) [beta] 数据")
        .join("versions");
    for tag in ["v6.9.9", "v6.10.0", "v8.0.9", "v8.0.10", "v8.1.0-rc.1"] {
        install_fake(&versions, tag, "cli-proxy-api");
    }
    // Not versions: a temporary folder, an empty binary, a stray name, a file.
    fs::create_dir_all(versions.join(".cpa-tmp-staging-1234")).unwrap();
    fs::create_dir_all(versions.join("v9.0.0")).unwrap();
    fs::write(versions.join("v9.0.0/cli-proxy-api"), b"").unwrap();
    install_fake(&versions, "backup", "cli-proxy-api");
    fs::write(versions.join("v9.9.9"), b"file").unwrap();
    // A Windows binary does not count on Linux.
    install_fake(&versions, "v9.1.0", "cli-proxy-api.exe");

    let store = linux_store(&versions);
    assert_eq!(
        tags(&store),
        vec!["v8.1.0-rc.1", "v8.0.10", "v8.0.9", "v6.10.0", "v6.9.9"]
    );

    let listed = store.list(Some("v8.0.9")).unwrap();
    let active: Vec<&str> = listed
        .iter()
        .filter(|v| v.active)
        .map(|v| v.installed.tag.as_str())
        .collect();
    assert_eq!(active, vec!["v8.0.9"]);
    assert!(listed[0].installed.binary.starts_with(&versions));
}

#[test]
fn active_falls_back_to_newest() {
    let temp = tempfile::tempdir().unwrap();
    let versions = temp.path().join("versions");
    let store = linux_store(&versions);
    assert_eq!(store.resolve_active(None).unwrap(), None);
    assert!(store.list(None).unwrap().is_empty());

    install_fake(&versions, "v8.0.9", "cli-proxy-api");
    install_fake(&versions, "v8.0.10", "cli-proxy-api");

    let active = store.resolve_active(Some("v8.0.9")).unwrap().unwrap();
    assert_eq!(active.installed.tag, "v8.0.9");
    assert_eq!(active.source, ActiveSource::Recorded);

    let active = store.resolve_active(None).unwrap().unwrap();
    assert_eq!(active.installed.tag, "v8.0.10");

    // A hand-edited path in settings is never used to build a path.
    let active = store.resolve_active(Some("..\\..\\evil")).unwrap().unwrap();
    assert_eq!(active.installed.tag, "v8.0.10");
    assert_eq!(
        active.source,
        ActiveSource::NewestInstalled {
            recorded_missing: Some("..\\..\\evil".into())
        }
    );

    let active = store.resolve_active(Some("v7.0.0")).unwrap().unwrap();
    assert_eq!(active.installed.tag, "v8.0.10");
}

#[test]
fn use_version_checks_installation() {
    let temp = tempfile::tempdir().unwrap();
    let versions = temp.path().join("versions");
    install_fake(&versions, "v8.0.9", "cli-proxy-api");
    let store = linux_store(&versions);

    let used = store.use_version("v8.0.9").unwrap();
    assert_eq!(used.binary, versions.join("v8.0.9").join("cli-proxy-api"));

    let err = store.use_version("v8.0.10").unwrap_err();
    assert!(matches!(err, ReleaseError::NotInstalled { .. }), "{err:?}");
    assert!(err.to_string().contains("v8.0.10"), "{err}");
    assert!(err.hint().unwrap().contains("versions list"));

    let err = store.use_version("../v8.0.9").unwrap_err();
    assert!(matches!(err, ReleaseError::InvalidTag { .. }), "{err:?}");
}

#[test]
fn prune_keeps_newest_and_active() {
    let temp = tempfile::tempdir().unwrap();
    let versions = temp.path().join("my versions");
    for tag in ["v6.9.9", "v6.10.0", "v8.0.9", "v8.0.10", "v8.0.11"] {
        install_fake(&versions, tag, "cli-proxy-api");
    }
    let store = linux_store(&versions);

    let report = store.prune(2, Some("v6.9.9")).unwrap();
    assert_eq!(report.kept, vec!["v8.0.11", "v8.0.10", "v6.9.9"]);
    assert_eq!(report.removed, vec!["v8.0.9", "v6.10.0"]);
    assert_eq!(tags(&store), vec!["v8.0.11", "v8.0.10", "v6.9.9"]);

    // keep 0 still keeps the active version.
    let report = store.prune(0, Some("v8.0.10")).unwrap();
    assert_eq!(report.kept, vec!["v8.0.10"]);
    assert_eq!(tags(&store), vec!["v8.0.10"]);

    // No temporary folders remain.
    let names: Vec<String> = fs::read_dir(&versions)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["v8.0.10"]);
}

#[test]
fn windows_store_uses_exe() {
    let temp = tempfile::tempdir().unwrap();
    let versions = temp.path().join("versions");
    install_fake(&versions, "v8.0.9", "cli-proxy-api.exe");
    let store = VersionStore::for_platform(
        &versions,
        Platform {
            os: Os::Windows,
            arch: Arch::Aarch64,
        },
    );
    assert_eq!(store.binary_name(), "cli-proxy-api.exe");
    assert_eq!(tags(&store), vec!["v8.0.9"]);
}

#[test]
fn asset_names_parse_for_offline_installs() {
    let path = Path::new("downloads");
    let (version, platform) =
        parse_asset_name(path, "CLIProxyAPI_8.0.10_windows_aarch64.zip").unwrap();
    assert_eq!(version, Version::parse("v8.0.10").unwrap());
    assert_eq!(
        platform,
        Platform {
            os: Os::Windows,
            arch: Arch::Aarch64
        }
    );

    for name in [
        "CLIProxyAPI_8.0.10_linux_amd64_no-plugin.tar.gz",
        "CLIProxyAPI_8.0.10_linux_arm64.tar.gz",
        "CLIProxyAPI_8.0.10_windows_amd64.tar.gz",
        "CLIProxyAPI_8.0.10_linux_amd64.zip",
        "CLIProxyAPI_8.0.10.tar.gz",
        "cli-proxy-api.tar.gz",
        "CLIProxyAPI_8.0_linux_amd64.tar.gz",
        "CLIProxyAPI_8.0.10_linux_amd64.exe",
    ] {
        let err = parse_asset_name(path, name).unwrap_err();
        assert!(
            matches!(
                err,
                ReleaseError::InvalidArchiveName { .. } | ReleaseError::InvalidTag { .. }
            ),
            "{name}: {err:?}"
        );
    }
}
