//! The first-start offer against a fake GitHub on 127.0.0.1: what a prompt
//! shows (tag, platform, size), offline and unavailable checks, and the
//! question being needed only while nothing is chosen or installed.

mod releases_support;

use std::fs;
use std::net::TcpListener;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use cpa_core::releases::{
    self, Arch, DownloadOffer, EngineSetting, InstallOptions, Os, Platform, ProxySetting,
    ReleaseError, ReleaseSource, Timeouts, VersionStore, first_start_offer, needs_engine_choice,
};
use releases_support::*;

const REPO: &str = "router-for-me/CLIProxyAPI";
const LATEST_PATH: &str = "/repos/router-for-me/CLIProxyAPI/releases/latest";
const LINUX_AMD64: Platform = Platform {
    os: Os::Linux,
    arch: Arch::Amd64,
};

fn source(api_base: String) -> ReleaseSource {
    ReleaseSource {
        api_base,
        proxy: ProxySetting::Direct,
        timeouts: Timeouts {
            connect: Duration::from_secs(2),
            read: Duration::from_secs(5),
            api_total: Duration::from_secs(10),
        },
        ..ReleaseSource::default()
    }
}

#[test]
fn offer_names_tag_platform_and_size() {
    let server = FakeGithub::start();
    let archive = platform_archive("v6.9.1", "linux", "amd64");
    let size = archive.bytes.len() as u64;
    publish_with_checksums(&server, REPO, "v6.9.1", &[archive]);

    let offer = first_start_offer(&source(server.url()), LINUX_AMD64);
    assert_eq!(offer.platform.label(), "linux/amd64");
    assert_eq!(offer.download.tag_and_size(), Some(("v6.9.1", size)));
    assert!(offer.download.error().is_none());
    assert_eq!(server.request_paths(), [LATEST_PATH]);

    // The offered release installs without a second API request.
    let DownloadOffer::Available { release, .. } = &offer.download else {
        panic!("expected a download offer: {:?}", offer.download);
    };
    let home = tempfile::tempdir().unwrap();
    let store = VersionStore::for_platform(home.path().join("versions"), LINUX_AMD64);
    assert!(needs_engine_choice(None, &store, None));
    let outcome = releases::install(
        &source(server.url()),
        release,
        &store,
        &InstallOptions::new(LINUX_AMD64),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(outcome.installed.tag, "v6.9.1");
    let api_calls = server
        .request_paths()
        .iter()
        .filter(|path| *path == LATEST_PATH)
        .count();
    assert_eq!(api_calls, 1);
    assert!(!needs_engine_choice(None, &store, None));
}

#[test]
fn refused_connection_is_offline() {
    // A port that was just free: nothing listens on it any more.
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let offer = first_start_offer(&source(format!("http://127.0.0.1:{port}")), LINUX_AMD64);
    let DownloadOffer::Offline(err) = &offer.download else {
        panic!("expected Offline: {:?}", offer.download);
    };
    assert!(err.to_string().contains(&port.to_string()), "{err}");
    assert!(offer.download.tag_and_size().is_none());
}

#[test]
fn hanging_api_is_offline_within_timeout() {
    let server = FakeGithub::start();
    server.route(LATEST_PATH, Route::Hang);
    let mut slow = source(server.url());
    slow.timeouts.read = Duration::from_millis(300);
    slow.timeouts.api_total = Duration::from_millis(600);
    let offer = first_start_offer(&slow, LINUX_AMD64);
    assert!(
        matches!(
            &offer.download,
            DownloadOffer::Offline(ReleaseError::Timeout { .. })
        ),
        "{:?}",
        offer.download
    );
}

#[test]
fn answering_api_without_asset_is_unavailable() {
    let server = FakeGithub::start();
    publish_with_checksums(
        &server,
        REPO,
        "v6.9.1",
        &[platform_archive("v6.9.1", "darwin", "aarch64")],
    );
    let offer = first_start_offer(&source(server.url()), LINUX_AMD64);
    let DownloadOffer::Unavailable(err) = &offer.download else {
        panic!("expected Unavailable: {:?}", offer.download);
    };
    assert!(matches!(err, ReleaseError::AssetNotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("linux/amd64"), "{err}");

    server.route(
        LATEST_PATH,
        Route::json(403, r#"{"message":"API rate limit exceeded"}"#),
    );
    let offer = first_start_offer(&source(server.url()), LINUX_AMD64);
    assert!(
        matches!(&offer.download, DownloadOffer::Unavailable(_)),
        "{:?}",
        offer.download
    );
}

#[test]
fn engine_setting_ends_the_question() {
    let home = tempfile::tempdir().unwrap();
    let store = VersionStore::for_platform(home.path().join("versions"), LINUX_AMD64);
    assert!(needs_engine_choice(None, &store, None));
    assert!(needs_engine_choice(Some("  "), &store, Some("v6.0.0")));
    assert!(!needs_engine_choice(Some("builtin"), &store, None));
    assert!(!needs_engine_choice(
        Some(&EngineSetting::Path("/opt/cli-proxy-api".into()).to_setting()),
        &store,
        None
    ));

    // An empty version folder is not an installed release.
    let empty = home.path().join("versions/v6.0.0");
    fs::create_dir_all(&empty).unwrap();
    assert!(needs_engine_choice(None, &store, Some("v6.0.0")));
}
