//! Release checks and downloads through a SOCKS5 proxy (config.yaml's
//! `proxy-url`), against the fake GitHub behind a SOCKS5 server written in
//! the test. The environment variant lives in `releases_proxy_env.rs`,
//! because it changes process-wide variables.

mod releases_support;

use std::net::TcpListener;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use cpa_core::releases::{
    self, Arch, InstallOptions, Os, Platform, ProxySetting, ReleaseError, ReleaseSource, Timeouts,
    Verification, VersionStore,
};
use releases_support::socks::Socks5Proxy;
use releases_support::*;

const REPO: &str = "router-for-me/CLIProxyAPI";
const LINUX_AMD64: Platform = Platform {
    os: Os::Linux,
    arch: Arch::Amd64,
};
const PROXY_PASSWORD: &str = "socks-pass-7f3a";

fn source(api_base: String, proxy_url: &str) -> ReleaseSource {
    ReleaseSource {
        api_base,
        proxy: ProxySetting::from_proxy_url(Some(proxy_url)),
        timeouts: Timeouts {
            connect: Duration::from_secs(2),
            read: Duration::from_secs(5),
            api_total: Duration::from_secs(10),
        },
        ..ReleaseSource::default()
    }
}

/// Formats an error like the CLI does: message, then every cause.
fn full_message(err: &ReleaseError) -> String {
    let mut text = err.to_string();
    let mut cause = std::error::Error::source(err);
    while let Some(inner) = cause {
        text.push_str(&format!("\nCaused by: {inner}"));
        cause = inner.source();
    }
    if let Some(hint) = err.hint() {
        text.push_str(&format!("\nhint: {hint}"));
    }
    text
}

fn install_through(source: &ReleaseSource) -> Result<Verification, ReleaseError> {
    let home = tempfile::tempdir().unwrap();
    let store = VersionStore::for_platform(home.path().join("versions"), LINUX_AMD64);
    let checked = releases::check(source, &store, None, LINUX_AMD64)?;
    let outcome = releases::install(
        source,
        &checked.latest,
        &store,
        &InstallOptions::new(LINUX_AMD64),
        &mut |_| {},
        &AtomicBool::new(false),
    )?;
    assert!(outcome.installed.binary.is_file());
    Ok(outcome.verification)
}

#[test]
fn socks5h_proxy_url_with_login_carries_everything() {
    let server = FakeGithub::start();
    let archive = platform_archive("v8.0.10", "linux", "amd64");
    let archive_len = archive.bytes.len() as u64;
    publish_with_checksums(&server, REPO, "v8.0.10", &[archive]);
    let proxy = Socks5Proxy::start(server.addr(), Some(("tray", PROXY_PASSWORD)));

    // The API host does not resolve, so the check only works when the proxy
    // resolves it (socks5h).
    let url = format!("socks5h://tray:{PROXY_PASSWORD}@{}", proxy.addr());
    let verification = install_through(&source("http://releases.invalid".into(), &url)).unwrap();
    assert!(
        matches!(verification, Verification::ChecksumsFile { .. }),
        "{verification:?}"
    );

    let targets = proxy.targets();
    assert_eq!(targets[0], "releases.invalid:80");
    let download_host = server.addr().to_string();
    assert!(
        targets.iter().filter(|t| **t == download_host).count() >= 2,
        "checksums.txt and the archive must go through the proxy: {targets:?}"
    );
    assert!(
        proxy.relayed() > archive_len,
        "relayed {} bytes, archive is {archive_len}",
        proxy.relayed()
    );
    assert_eq!(proxy.rejected_logins(), 0);
}

#[test]
fn socks5_proxy_url_resolves_locally() {
    let server = FakeGithub::start();
    publish_with_checksums(
        &server,
        REPO,
        "v8.0.10",
        &[platform_archive("v8.0.10", "linux", "amd64")],
    );
    let proxy = Socks5Proxy::start(server.addr(), None);
    let url = format!("socks5://{}", proxy.addr());
    install_through(&source(server.url(), &url)).unwrap();

    // socks5:// sends the resolved address, never the name.
    let targets = proxy.targets();
    assert!(!targets.is_empty());
    assert!(
        targets.iter().all(|t| *t == server.addr().to_string()),
        "{targets:?}"
    );
    assert!(proxy.relayed() > 0);
}

#[test]
fn wrong_proxy_password_stays_out_of_errors() {
    let server = FakeGithub::start();
    publish_with_checksums(
        &server,
        REPO,
        "v8.0.10",
        &[platform_archive("v8.0.10", "linux", "amd64")],
    );
    let proxy = Socks5Proxy::start(server.addr(), Some(("tray", "the-right-one")));
    let url = format!("socks5h://tray:{PROXY_PASSWORD}@{}", proxy.addr());
    let source = source(server.url(), &url);
    let err = install_through(&source).unwrap_err();
    let message = full_message(&err);
    assert_eq!(proxy.rejected_logins(), 1, "{message}");
    assert!(!message.contains(PROXY_PASSWORD), "{message}");
    assert!(!format!("{err:?}").contains(PROXY_PASSWORD));
    assert!(!format!("{source:?}").contains(PROXY_PASSWORD));
    assert!(message.contains(&server.url()), "{message}");
    assert!(err.is_offline(), "{err:?}");

    // A proxy that is not listening: the same, with the refused connection.
    let closed_port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("socks5://tray:{PROXY_PASSWORD}@127.0.0.1:{closed_port}");
    let err = install_through(&source_for(&server, &url)).unwrap_err();
    let message = full_message(&err);
    assert!(!message.contains(PROXY_PASSWORD), "{message}");
    assert!(!format!("{err:?}").contains(PROXY_PASSWORD));

    // An unparsable proxy URL names the proxy without its password.
    let err = install_through(&source_for(
        &server,
        &format!("socks9://u:{PROXY_PASSWORD}@x:1"),
    ))
    .unwrap_err();
    let message = full_message(&err);
    assert!(matches!(err, ReleaseError::InvalidProxy { .. }), "{err:?}");
    assert!(!message.contains(PROXY_PASSWORD), "{message}");
    assert!(message.contains("socks5"), "{message}");
}

fn source_for(server: &FakeGithub, proxy_url: &str) -> ReleaseSource {
    source(server.url(), proxy_url)
}
