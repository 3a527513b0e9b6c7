//! Client address: the socket peer, with X-Forwarded-For and X-Real-IP read
//! only from `trusted-proxies`.

mod common;

use common::*;

const KEY: &str = "proxy-test-key-1";

#[test]
fn forwarded_header_ignored_without_trusted_proxies() {
    // Upstream v7 would take 203.0.113.9 as the client and reply "remote
    // management disabled". The engine keeps the socket address.
    let server = Server::start(&legacy_config(&fast_hash(KEY), ""));
    let response = server.get(
        "/v0/management/config",
        &[
            ("X-Forwarded-For", "203.0.113.9"),
            ("Authorization", &bearer(KEY)),
        ],
    );
    assert_eq!(response.status, 200, "{}", response.text());
}

#[test]
fn trusted_proxy_forwarded_client_is_remote() {
    // Upstream: a remote client with allow-remote false gets 403 before any key check.
    let server = Server::start(&legacy_config(
        &fast_hash(KEY),
        "trusted-proxies:\n  - 127.0.0.0/8\n",
    ));
    let key = bearer(KEY);
    let remote = server.get(
        "/v0/management/config",
        &[("X-Forwarded-For", "203.0.113.9"), ("Authorization", &key)],
    );
    assert_eq!(remote.status, 403);
    assert_eq!(remote.text(), r#"{"error":"remote management disabled"}"#);
    assert!(remote.header("x-cpa-version").is_some());

    let real_ip = server.get(
        "/v0/management/config",
        &[("X-Real-IP", "203.0.113.10"), ("Authorization", &key)],
    );
    assert_eq!(real_ip.status, 403);

    // A forwarded loopback address is local.
    let local = server.get(
        "/v0/management/config",
        &[("X-Forwarded-For", "127.0.0.1"), ("Authorization", &key)],
    );
    assert_eq!(local.status, 200);
    // `::ffff:127.0.0.1` in a header is not local (upstream compares the text).
    let mapped = server.get(
        "/v0/management/config",
        &[
            ("X-Forwarded-For", "::ffff:127.0.0.1"),
            ("Authorization", &key),
        ],
    );
    assert_eq!(mapped.status, 403);
}

#[test]
fn trusted_proxy_bans_the_forwarded_client_only() {
    let config = legacy_config(&fast_hash(KEY), "trusted-proxies:\n  - 127.0.0.1\n")
        .replace("allow-remote: false", "allow-remote: true");
    let server = Server::start(&config);
    for _ in 0..5 {
        let response = server.get(
            "/v0/management/config",
            &[
                ("X-Forwarded-For", "203.0.113.20"),
                ("X-Management-Key", "wrong"),
            ],
        );
        assert_eq!(response.status, 401);
    }
    let banned = server.get(
        "/v0/management/config",
        &[
            ("X-Forwarded-For", "203.0.113.20"),
            ("Authorization", &bearer(KEY)),
        ],
    );
    assert_eq!(banned.status, 403);
    let direct = server.get("/v0/management/config", &[("Authorization", &bearer(KEY))]);
    assert_eq!(direct.status, 200, "the proxy's own address is not banned");
    let other = server.get(
        "/v0/management/config",
        &[
            ("X-Forwarded-For", "203.0.113.21"),
            ("Authorization", &bearer(KEY)),
        ],
    );
    assert_eq!(other.status, 200);
}

#[test]
fn management_password_forces_remote_access() {
    // Upstream: MANAGEMENT_PASSWORD turns allow-remote on.
    let server = Server::start_with(
        &legacy_config("", "trusted-proxies:\n  - 127.0.0.1\n"),
        Launch {
            env: vec![("MANAGEMENT_PASSWORD".into(), "env-pass-2".into())],
            ..Launch::default()
        },
    );
    let response = server.get(
        "/v0/management/config",
        &[
            ("X-Forwarded-For", "203.0.113.30"),
            ("X-Management-Key", "env-pass-2"),
        ],
    );
    assert_eq!(response.status, 200);
}

#[test]
fn invalid_trusted_proxy_fails_startup() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.yaml"),
        legacy_config("", "trusted-proxies:\n  - not-an-address\n"),
    )
    .unwrap();
    let output = engine_command()
        .args(["-config", "config.yaml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not-an-address"), "{stderr}");
}

#[test]
fn v8_server_trusted_proxies_is_read() {
    let config = format!(
        "config-version: 8\nserver:\n  host: \"127.0.0.1\"\n  port: 0\n  trusted-proxies: [\"127.0.0.1\"]\nmanagement:\n  secret-key: \"{}\"\n",
        fast_hash(KEY)
    );
    let server = Server::start(&config);
    let remote = server.get(
        "/v0/management/config",
        &[
            ("X-Forwarded-For", "203.0.113.60"),
            ("Authorization", &bearer(KEY)),
        ],
    );
    assert_eq!(remote.status, 403);
    assert_eq!(remote.text(), r#"{"error":"remote management disabled"}"#);
}

#[test]
fn ipv6_loopback_client_is_local() {
    // Upstream: "::1" is local, like "127.0.0.1".
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("SKIPPED ipv6_loopback_client_is_local: this machine has no IPv6 loopback");
        return;
    }
    let server = Server::start(
        &legacy_config(&fast_hash(KEY), "").replace("host: \"127.0.0.1\"", "host: \"::1\""),
    );
    assert!(
        server
            .stdout()
            .contains(&format!("{STARTED_PREFIX}::1:{}", server.port))
    );
    let mut stream = std::net::TcpStream::connect(("::1", server.port)).expect("connect to [::1]");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let key = bearer(KEY);
    let response = exchange(
        &mut stream,
        "GET",
        "/v0/management/config",
        &[("Authorization", &key)],
        b"",
    );
    assert_eq!(response.status, 200, "{}", response.text());
}
