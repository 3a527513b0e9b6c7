//! The per-address ban: five failures ban the address for 30 minutes, local
//! addresses included, even for the right key (upstream CLIProxyAPI v7.2.140),
//! and concurrent wrong keys never run more than five verifications.

mod common;

use std::sync::{Arc, Barrier};

use common::*;

const KEY: &str = "ban-test-key-1";

fn assert_ban_message(response: &Response) {
    assert_eq!(response.status, 403, "{}", response.text());
    let message = response.json()["error"].as_str().unwrap_or("").to_string();
    let prefix = "IP banned due to too many failed attempts. Try again in ";
    assert!(message.starts_with(prefix), "{message}");
    let remaining = &message[prefix.len()..];
    assert!(
        remaining == "30m0s" || remaining == "29m59s",
        "Go duration text: {remaining}"
    );
    assert!(response.header("x-cpa-version").is_some());
}

#[test]
fn five_failures_ban_even_the_right_key() {
    let server = Server::start(&legacy_config(&fast_hash(KEY), ""));
    // Missing keys count as failures too.
    for attempt in 0..5 {
        let headers: Vec<(&str, &str)> = if attempt % 2 == 0 {
            vec![]
        } else {
            vec![("X-Management-Key", "wrong")]
        };
        let response = server.get("/v0/management/config", &headers);
        assert_eq!(response.status, 401, "attempt {attempt}");
    }
    let banned = server.get("/v0/management/config", &[("Authorization", &bearer(KEY))]);
    assert_ban_message(&banned);
    // The ban covers unknown paths and the v8 prefix as well.
    assert_ban_message(&server.get("/v8/management/config", &[("Authorization", &bearer(KEY))]));
    // Public routes are unaffected.
    assert_eq!(server.get("/healthz", &[]).status, 200);
}

#[test]
fn success_resets_the_count() {
    let server = Server::start(&legacy_config(&fast_hash(KEY), ""));
    let right = bearer(KEY);
    for _ in 0..2 {
        for _ in 0..4 {
            assert_eq!(
                server
                    .get("/v0/management/config", &[("X-Management-Key", "x")])
                    .status,
                401
            );
        }
        assert_eq!(
            server
                .get("/v0/management/config", &[("Authorization", &right)])
                .status,
            200
        );
    }
}

#[test]
fn concurrent_wrong_keys_get_at_most_five_verifications() {
    // Cost 10, as upstream stores it, so the eight requests overlap.
    let hash = cpa_config::secret::hash_password(KEY).unwrap();
    let server = Server::start(&legacy_config(&hash, ""));
    let barrier = Arc::new(Barrier::new(8));
    let port = server.port;
    let handles: Vec<_> = (0..8)
        .map(|index| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let key = format!("wrong-key-{index}");
                barrier.wait();
                request(
                    port,
                    "GET",
                    "/v0/management/config",
                    &[("X-Management-Key", &key)],
                    b"",
                )
            })
        })
        .collect();
    let responses: Vec<Response> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let invalid = responses.iter().filter(|r| r.status == 401).count();
    let banned: Vec<&Response> = responses.iter().filter(|r| r.status == 403).collect();
    // Every 401 "invalid management key" is one bcrypt verification.
    assert_eq!(invalid, 5, "{responses:?}");
    assert_eq!(banned.len(), 3, "{responses:?}");
    for response in banned {
        assert_ban_message(response);
    }
    assert_ban_message(&server.get("/v0/management/config", &[("Authorization", &bearer(KEY))]));
}

#[test]
fn forwarded_header_does_not_dodge_the_ban() {
    // Upstream v7 keys the ban by X-Forwarded-For, so rotating it evades the
    // ban; without trusted proxies the engine counts the socket address.
    let server = Server::start(&legacy_config(&fast_hash(KEY), ""));
    for index in 0..5 {
        let forwarded = format!("198.51.100.{index}");
        let response = server.get(
            "/v0/management/config",
            &[
                ("X-Forwarded-For", &forwarded),
                ("X-Management-Key", "wrong"),
            ],
        );
        assert_eq!(response.status, 401);
    }
    assert_ban_message(&server.get(
        "/v0/management/config",
        &[
            ("X-Forwarded-For", "198.51.100.99"),
            ("Authorization", &bearer(KEY)),
        ],
    ));
}
