//! The proxy from the environment, HTTP and SOCKS5. This file contains a
//! single test because it sets process-wide environment variables.

mod releases_support;

use cpa_core::releases::{self, Arch, Os, Platform, ProxySetting, ReleaseSource, VersionStore};
use releases_support::socks::Socks5Proxy;
use releases_support::*;

#[test]
fn environment_proxy_is_used() {
    let server = FakeGithub::start();
    publish_with_checksums(
        &server,
        "router-for-me/CLIProxyAPI",
        "v8.0.10",
        &[platform_archive("v8.0.10", "linux", "amd64")],
    );
    for name in [
        "ALL_PROXY",
        "all_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        // SAFETY: this test binary runs one test, so no other thread reads the environment.
        unsafe { std::env::remove_var(name) };
    }
    // SAFETY: as above.
    unsafe { std::env::set_var("HTTP_PROXY", server.url()) };

    let source = ReleaseSource {
        // Unresolvable name: the request only succeeds through the proxy.
        api_base: "http://releases.invalid".into(),
        proxy: ProxySetting::from_proxy_url(Some("  ")),
        ..ReleaseSource::default()
    };
    assert_eq!(source.proxy, ProxySetting::Environment);
    let temp = tempfile::tempdir().unwrap();
    let platform = Platform {
        os: Os::Linux,
        arch: Arch::Amd64,
    };
    let store = VersionStore::for_platform(temp.path().join("versions"), platform);
    let checked = releases::check(&source, &store, None, platform).unwrap();
    assert_eq!(checked.latest.tag, "v8.0.10");
    let requests = server.requests();
    assert_eq!(requests[0].method, "CONNECT");
    assert_eq!(requests[0].path, "releases.invalid:80");

    // Direct ignores the environment, so the made-up host cannot be reached.
    let direct = ReleaseSource {
        proxy: ProxySetting::Direct,
        ..source.clone()
    };
    let err = releases::check(&direct, &store, None, platform).unwrap_err();
    assert!(err.to_string().contains("releases.invalid"), "{err}");

    // ALL_PROXY wins over HTTP_PROXY; socks5h lets the proxy resolve the name.
    let socks = Socks5Proxy::start(server.addr(), None);
    // SAFETY: as above.
    unsafe { std::env::set_var("ALL_PROXY", format!("socks5h://{}", socks.addr())) };
    server.clear_log();
    let checked = releases::check(&source, &store, None, platform).unwrap();
    let installed = releases::install(
        &source,
        &checked.latest,
        &store,
        &releases::InstallOptions::new(platform),
        &mut |_| {},
        &std::sync::atomic::AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(installed.installed.tag, "v8.0.10");
    assert_eq!(socks.targets()[0], "releases.invalid:80");
    assert!(socks.relayed() > 0);
    // Nothing reached the HTTP proxy path: no CONNECT request this time.
    assert!(
        server.requests().iter().all(|r| r.method != "CONNECT"),
        "{:?}",
        server.request_paths()
    );
}
