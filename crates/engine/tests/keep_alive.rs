//! The hidden `-password` flag: a local-only extra management key plus the
//! `/keep-alive` watchdog that stops the server after 10 s without a ping
//! (upstream CLIProxyAPI v7.2.140 behaviour).

mod common;

use std::time::{Duration, Instant};

use common::*;

#[test]
fn password_flag_keep_alive_and_watchdog() {
    let key = "config-key-1";
    let mut server = Server::start_with(
        &legacy_config(&fast_hash(key), ""),
        Launch {
            args: vec!["-password".into(), "local-pass-1".into()],
            ..Launch::default()
        },
    );
    let started = Instant::now();

    let denied = server.get("/keep-alive", &[]);
    assert_eq!(denied.status, 401);
    assert_eq!(denied.text(), r#"{"error":"invalid password"}"#);
    let ping = server.get("/keep-alive", &[("Authorization", "Bearer local-pass-1")]);
    assert_eq!(ping.status, 200);
    assert_eq!(ping.text(), r#"{"status":"ok"}"#);
    let ping = server.get("/keep-alive", &[("X-Local-Password", "local-pass-1")]);
    assert_eq!(ping.status, 200);

    // The flag's password is an extra local management key.
    let local = server.get(
        "/v0/management/config",
        &[("X-Management-Key", "local-pass-1")],
    );
    assert_eq!(local.status, 200);

    // Without pings the engine stops by itself, exit status 0.
    let status = server.wait(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0));
    assert!(
        started.elapsed() >= Duration::from_secs(9),
        "stopped too early: {:?}",
        started.elapsed()
    );
    let logged = server.eventually(Duration::from_secs(5), |s| {
        s.stdout()
            .contains("keep-alive endpoint idle for 10s, shutting down")
    });
    assert!(logged, "{}", server.stdout());
    assert!(!server.stdout().contains("local-pass-1"));
}

#[test]
fn keep_alive_absent_without_password_flag() {
    let server = Server::start(&legacy_config("", ""));
    assert_eq!(server.get("/keep-alive", &[]).status, 404);
}
