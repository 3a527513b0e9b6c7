//! Management endpoints: config.yaml, api-keys, allow-remote, latest-version,
//! and the client-facing `/v1` key check.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;

use common::*;
use serde_json::json;

const KEY: &str = "endpoint-key-1";

fn auth() -> Vec<(&'static str, String)> {
    vec![("Authorization", bearer(KEY))]
}

fn send_json(server: &Server, method: &str, path: &str, body: &str) -> Response {
    let key = bearer(KEY);
    server.send(
        method,
        path,
        &[
            ("Authorization", &key),
            ("Content-Type", "application/json"),
        ],
        body.as_bytes(),
    )
}

fn get(server: &Server, path: &str) -> Response {
    let headers = auth();
    let borrowed: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    server.get(path, &borrowed)
}

#[test]
fn config_yaml_get_returns_file_bytes() {
    // Upstream: raw bytes, application/yaml, no-store, nosniff.
    let text = legacy_config(&fast_hash(KEY), "# a comment\r\ndebug: false\n");
    let server = Server::start(&text);
    let response = get(&server, "/v0/management/config.yaml");
    assert_eq!(response.status, 200);
    assert_eq!(response.text(), text);
    assert_eq!(
        response.header("content-type"),
        Some("application/yaml; charset=utf-8")
    );
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
}

#[test]
fn config_yaml_put_rejects_invalid_yaml_untouched() {
    let text = legacy_config(&fast_hash(KEY), "");
    let server = Server::start(&text);
    let key = bearer(KEY);
    for body in ["port: [\n", "port: 1\nport: 2\n", "a:\n\tb: 1\n", "", " \n"] {
        let response = server.send(
            "PUT",
            "/v0/management/config.yaml",
            &[("Authorization", &key)],
            body.as_bytes(),
        );
        assert_eq!(response.status, 400, "{body:?}: {}", response.text());
        assert_eq!(response.json()["error"], "invalid_yaml", "{body:?}");
        assert!(
            response.json()["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let invalid = server.send(
        "PUT",
        "/v0/management/config.yaml",
        &[("Authorization", &key)],
        b"config-version: 7\n",
    );
    assert_eq!(invalid.status, 422, "{}", invalid.text());
    assert_eq!(invalid.json()["error"], "invalid_config");
    assert_eq!(
        std::fs::read_to_string(&server.config).unwrap(),
        text,
        "file untouched"
    );
}

#[test]
fn config_yaml_put_writes_and_applies() {
    let server = Server::start(&legacy_config(&fast_hash(KEY), ""));
    let inode_before = inode(&server.config);
    let new_text = legacy_config(&fast_hash(KEY), "debug: true\napi-keys:\n  - put-key\n");
    let key = bearer(KEY);
    let response = server.send(
        "PUT",
        "/v0/management/config.yaml",
        &[("Authorization", &key)],
        new_text.as_bytes(),
    );
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.text(), r#"{"changed":["config"],"ok":true}"#);
    assert_eq!(std::fs::read_to_string(&server.config).unwrap(), new_text);
    assert_eq!(inode(&server.config), inode_before, "written in place");
    // Applied before the reply: no waiting for the watcher.
    let config = get(&server, "/v0/management/config").json();
    assert_eq!(config["debug"], true);
    assert_eq!(config["api-keys"], json!(["put-key"]));
}

#[cfg(unix)]
fn inode(path: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().ino()
}

#[cfg(not(unix))]
fn inode(_path: &std::path::Path) -> u64 {
    0
}

#[test]
fn config_yaml_put_plaintext_key_is_hashed() {
    let server = Server::start(&legacy_config(&fast_hash(KEY), ""));
    let key = bearer(KEY);
    let response = server.send(
        "PUT",
        "/v0/management/config.yaml",
        &[("Authorization", &key)],
        legacy_config("brand-new-key-9", "").as_bytes(),
    );
    assert_eq!(response.status, 200, "{}", response.text());
    let text = std::fs::read_to_string(&server.config).unwrap();
    assert!(
        text.contains("$2a$10$") && !text.contains("brand-new-key-9"),
        "{text}"
    );
    let now = server.get(
        "/v0/management/config",
        &[("Authorization", &bearer("brand-new-key-9"))],
    );
    assert_eq!(now.status, 200);
}

#[test]
fn api_keys_crud_persists() {
    let server = Server::start(&legacy_config(&fast_hash(KEY), "api-keys:\n  - first\n"));
    assert_eq!(
        get(&server, "/v0/management/api-keys").text(),
        r#"{"api-keys":["first"]}"#
    );

    let put = send_json(&server, "PUT", "/v0/management/api-keys", r#"["a","b"]"#);
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(put.text(), r#"{"status":"ok"}"#);
    assert_eq!(
        get(&server, "/v0/management/api-keys").json()["api-keys"],
        json!(["a", "b"])
    );

    let patch = send_json(
        &server,
        "PATCH",
        "/v0/management/api-keys",
        r#"{"index":1,"value":"c"}"#,
    );
    assert_eq!(patch.status, 200);
    let patch = send_json(
        &server,
        "PATCH",
        "/v0/management/api-keys",
        r#"{"old":"zz","new":"d"}"#,
    );
    assert_eq!(patch.status, 200);
    assert_eq!(
        get(&server, "/v0/management/api-keys").json()["api-keys"],
        json!(["a", "c", "d"])
    );

    let delete = send_json(&server, "DELETE", "/v0/management/api-keys?value=a", "");
    assert_eq!(delete.status, 200);
    let delete = send_json(&server, "DELETE", "/v0/management/api-keys?index=0", "");
    assert_eq!(delete.status, 200);
    assert_eq!(
        get(&server, "/v0/management/api-keys").json()["api-keys"],
        json!(["d"])
    );

    let text = std::fs::read_to_string(&server.config).unwrap();
    let reread = cpa_config::ConfigDocument::parse(text.into_bytes(), &server.config).unwrap();
    assert_eq!(
        reread.view().unwrap().client_api_keys.value,
        Some(vec!["d".to_string()])
    );

    // The new key is live for /v1 right after the reply.
    assert_eq!(server.get("/v1/models", &[("X-Api-Key", "d")]).status, 501);
    assert_eq!(server.get("/v1/models", &[("X-Api-Key", "a")]).status, 401);
}

#[test]
fn api_keys_bad_bodies_are_400() {
    let server = Server::start(&legacy_config(&fast_hash(KEY), ""));
    let cases = [
        (
            "PUT",
            "/v0/management/api-keys",
            r#"{"items":[]}"#,
            r#"{"error":"invalid body"}"#,
        ),
        (
            "PATCH",
            "/v0/management/api-keys",
            r#"{"x":1}"#,
            r#"{"error":"missing fields"}"#,
        ),
        (
            "PATCH",
            "/v0/management/api-keys",
            "nope",
            r#"{"error":"invalid body"}"#,
        ),
        (
            "DELETE",
            "/v0/management/api-keys",
            "",
            r#"{"error":"missing index or value"}"#,
        ),
    ];
    let before = std::fs::read_to_string(&server.config).unwrap();
    for (method, path, body, expected) in cases {
        let response = send_json(&server, method, path, body);
        assert_eq!(response.status, 400, "{method} {body}");
        assert_eq!(response.text(), expected, "{method} {body}");
    }
    assert_eq!(std::fs::read_to_string(&server.config).unwrap(), before);
}

#[test]
fn allow_remote_toggle_persists() {
    let server = Server::start(&legacy_config(
        &fast_hash(KEY),
        "trusted-proxies:\n  - 127.0.0.1\n",
    ));
    assert_eq!(
        get(&server, "/v0/management/allow-remote").text(),
        r#"{"allow-remote":false}"#
    );
    let response = send_json(
        &server,
        "PUT",
        "/v0/management/allow-remote",
        r#"{"value":true}"#,
    );
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(
        std::fs::read_to_string(&server.config)
            .unwrap()
            .contains("allow-remote: true")
    );
    let remote = server.get(
        "/v0/management/config",
        &[
            ("X-Forwarded-For", "203.0.113.50"),
            ("Authorization", &bearer(KEY)),
        ],
    );
    assert_eq!(remote.status, 200);
    let bad = send_json(
        &server,
        "PUT",
        "/v0/management/allow-remote",
        r#"{"value":"yes"}"#,
    );
    assert_eq!(bad.status, 400);
}

/// Serves `replies` on 127.0.0.1, one per connection, and returns the base URL.
fn fake_releases_api(replies: Vec<String>) -> (String, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let handle = std::thread::spawn(move || {
        let mut requests = Vec::new();
        for reply in replies {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buffer = [0u8; 4096];
            let read = stream.read(&mut buffer).unwrap();
            requests.push(String::from_utf8_lossy(&buffer[..read]).into_owned());
            stream.write_all(reply.as_bytes()).unwrap();
        }
        requests
    });
    (base, handle)
}

fn http_reply(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn latest_version_reads_the_releases_api() {
    let (base, fake) = fake_releases_api(vec![
        http_reply("200 OK", r#"{"tag_name":"v7.2.140","name":"x"}"#),
        http_reply("404 Not Found", r#"{"message":"Not Found"}"#),
        http_reply("200 OK", r#"{"draft":false}"#),
    ]);
    let server = Server::start_with(
        &legacy_config(&fast_hash(KEY), ""),
        Launch {
            env: vec![("CPA_TRAY_RELEASES_API".into(), base)],
            ..Launch::default()
        },
    );
    let ok = get(&server, "/v0/management/latest-version");
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.text(), r#"{"latest-version":"v7.2.140"}"#);

    let not_found = get(&server, "/v0/management/latest-version");
    assert_eq!(not_found.status, 502);
    assert_eq!(not_found.json()["error"], "unexpected_status");
    assert_eq!(
        not_found.json()["message"],
        r#"status 404: {"message":"Not Found"}"#
    );

    let missing = get(&server, "/v8/management/server/latest-version");
    assert_eq!(missing.status, 502);
    assert_eq!(
        missing.text(),
        r#"{"error":"invalid_response","message":"missing release version"}"#
    );

    let requests = fake.join().unwrap();
    assert!(
        requests[0].starts_with("GET /repos/router-for-me/CLIProxyAPI/releases/latest HTTP/1.1"),
        "{}",
        requests[0]
    );
    assert!(
        requests[0]
            .to_ascii_lowercase()
            .contains("accept: application/vnd.github+json")
    );
}

#[test]
fn latest_version_offline_is_a_clear_502() {
    // A port that was just closed plays the unreachable API.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Server::start_with(
        &legacy_config(&fast_hash(KEY), ""),
        Launch {
            env: vec![(
                "CPA_TRAY_RELEASES_API".into(),
                format!("http://127.0.0.1:{port}"),
            )],
            ..Launch::default()
        },
    );
    let response = get(&server, "/v0/management/latest-version");
    assert_eq!(response.status, 502);
    assert_eq!(response.json()["error"], "request_failed");
    let message = response.json()["message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
}

#[test]
fn client_api_checks_keys_then_501() {
    // Upstream: Missing API key / Invalid API key as 401; candidates from
    // Authorization, X-Goog-Api-Key, X-Api-Key, ?key=, ?auth_token=.
    let server = Server::start(&legacy_config(
        &fast_hash(KEY),
        "api-keys:\n  - \" client-1 \"\n  - \"\"\n",
    ));
    let missing = server.get("/v1/models", &[]);
    assert_eq!(missing.status, 401);
    assert_eq!(missing.text(), r#"{"error":"Missing API key"}"#);
    let wrong = server.get("/v1/chat/completions", &[("Authorization", "Bearer nope")]);
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.text(), r#"{"error":"Invalid API key"}"#);
    for (path, headers) in [
        ("/v1/models", vec![("Authorization", "Bearer client-1")]),
        ("/v1/models", vec![("Authorization", "client-1")]),
        ("/v1beta/models", vec![("X-Goog-Api-Key", "client-1")]),
        ("/openai/v1/models", vec![("X-Api-Key", "client-1")]),
        ("/v1/models?key=client-1", vec![]),
        ("/backend-api/codex/responses?auth_token=client-1", vec![]),
    ] {
        let response = server.get(path, &headers);
        assert_eq!(response.status, 501, "{path} {headers:?}");
        assert_eq!(response.json()["error"], "not_implemented");
        assert!(response.header("x-cpa-version").is_none());
    }
    // Management keys are not client keys.
    assert_eq!(
        server
            .get("/v1/models", &[("Authorization", &bearer(KEY))])
            .status,
        401
    );
}

#[test]
fn example_api_keys_start_safe_mode() {
    let server = Server::start(&legacy_config(
        &fast_hash(KEY),
        "api-keys:\n  - your-api-key-1\n",
    ));
    let blocked = server.get("/v1/models", &[("Authorization", "Bearer your-api-key-1")]);
    assert_eq!(blocked.status, 403);
    assert_eq!(blocked.header("x-cpa-safe-mode"), Some("example-api-key"));
    assert_eq!(blocked.json()["error"], "unsafe_example_api_key");
    let root = server.get("/", &[]);
    assert_eq!(
        root.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(root.text().contains("Example API key detected"));
    let configure = server.get("/management.html?safe-mode=configure", &[]);
    assert!(configure.text().contains("cpa-engine management"));
    // Replacing the keys leaves safe mode.
    let put = send_json(&server, "PUT", "/v0/management/api-keys", r#"["real-key"]"#);
    assert_eq!(put.status, 200);
    assert_eq!(
        server
            .get("/v1/models", &[("X-Api-Key", "real-key")])
            .status,
        501
    );
}

#[test]
fn management_page_is_self_contained() {
    let server = Server::start(&legacy_config("", ""));
    let page = server.get("/management.html", &[]);
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let text = page.text();
    for external in ["http://", "https://", "//cdn", "src=\"http"] {
        assert!(!text.contains(external), "page must not fetch {external}");
    }
    assert!(
        page.header("content-security-policy")
            .is_some_and(|csp| csp.contains("default-src 'none'"))
    );

    let hidden = Server::start(
        "host: \"127.0.0.1\"\nport: 0\nremote-management:\n  disable-control-panel: true\n",
    );
    assert_eq!(hidden.get("/management.html", &[]).status, 404);
}
