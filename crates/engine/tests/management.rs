//! Management plane conformance with upstream CLIProxyAPI v7.2.140: public
//! routes, CORS, the 404 rule, the key check's replies and headers.

mod common;

use common::*;

const KEY: &str = "correct-horse-battery";

fn keyed_server() -> Server {
    Server::start(&legacy_config(
        &fast_hash(KEY),
        "api-keys:\n  - client-key-1\ndebug: true\n",
    ))
}

fn assert_cors(response: &Response) {
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        response.header("access-control-allow-methods"),
        Some("GET, POST, PUT, PATCH, DELETE, OPTIONS")
    );
    assert_eq!(response.header("access-control-allow-headers"), Some("*"));
    assert!(
        response
            .header("access-control-expose-headers")
            .is_some_and(|value| value.starts_with("X-CPA-TRACE-ID, X-CPA-VERSION")),
        "{:?}",
        response.headers
    );
}

fn assert_cpa_headers(response: &Response) {
    assert_eq!(
        response.header("x-cpa-version"),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(response.header("x-cpa-commit"), Some("none"));
    assert_eq!(response.header("x-cpa-build-date"), Some("unknown"));
    assert_eq!(response.header("x-cpa-support-plugin"), Some("0"));
}

#[test]
fn healthz_root_and_cors() {
    // Upstream: GET /healthz {"status":"ok"}, HEAD 200 empty, GET / fixed JSON, CORS everywhere.
    let server = Server::start(&legacy_config("", ""));
    let health = server.get("/healthz", &[]);
    assert_eq!(health.status, 200);
    assert_eq!(health.text(), r#"{"status":"ok"}"#);
    assert_eq!(
        health.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(health.header("x-cpa-version"), None);
    assert_cors(&health);

    let head = server.send("HEAD", "/healthz", &[], b"");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());

    let root = server.get("/", &[]);
    assert_eq!(root.status, 200);
    assert_eq!(
        root.text(),
        r#"{"endpoints":["POST /v1/chat/completions","POST /v1/completions","GET /v1/models"],"message":"CLI Proxy API Server"}"#
    );
    assert_cors(&root);

    let unknown = server.get("/nope", &[]);
    assert_eq!(unknown.status, 404);
    assert!(unknown.body.is_empty());
}

#[test]
fn options_is_204_on_any_path() {
    // Upstream: every OPTIONS request is 204 with CORS headers and no auth.
    let server = keyed_server();
    for path in [
        "/",
        "/v0/management/config",
        "/v1/chat/completions",
        "/anything",
    ] {
        let response = server.send("OPTIONS", path, &[], b"");
        assert_eq!(response.status, 204, "{path}");
        assert!(response.body.is_empty(), "{path}");
        assert_cors(&response);
    }
}

#[test]
fn no_key_means_empty_404_on_both_prefixes() {
    // Upstream: with no secret-key and no MANAGEMENT_PASSWORD every management
    // path is 404, empty body, no Content-Type, no X-CPA headers, CORS kept.
    let server = Server::start(&legacy_config("", ""));
    let paths = [
        ("GET", "/v0/management/config"),
        ("GET", "/v0/management/config.yaml"),
        ("PUT", "/v0/management/api-keys"),
        ("GET", "/v0/management/does-not-exist"),
        ("GET", "/v0/management"),
        ("GET", "/v8/management/config"),
        ("DELETE", "/v8/management/config/x"),
    ];
    for _ in 0..3 {
        for (method, path) in paths {
            for auth in [None, Some("Bearer anything")] {
                let headers: Vec<(&str, &str)> = auth
                    .map(|value| vec![("Authorization", value)])
                    .unwrap_or_default();
                let response = server.send(method, path, &headers, b"");
                assert_eq!(response.status, 404, "{method} {path}");
                assert!(response.body.is_empty(), "{method} {path}");
                assert_eq!(response.header("content-type"), None, "{method} {path}");
                assert_eq!(response.header("x-cpa-version"), None, "{method} {path}");
                assert_cors(&response);
            }
        }
    }
}

#[test]
fn key_check_replies_match_upstream() {
    // Upstream decision rows: missing key 401, wrong key 401, right key passes;
    // X-CPA headers on every reply of the middleware, 401 included.
    let server = keyed_server();

    let missing = server.get("/v0/management/config", &[]);
    assert_eq!(missing.status, 401);
    assert_eq!(missing.text(), r#"{"error":"missing management key"}"#);
    assert_eq!(
        missing.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_cpa_headers(&missing);

    let wrong = server.get(
        "/v0/management/config",
        &[("Authorization", "Bearer wrong")],
    );
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.text(), r#"{"error":"invalid management key"}"#);
    assert_cpa_headers(&wrong);

    // A non-bearer Authorization hides a correct X-Management-Key (upstream rule).
    let hidden = server.get(
        "/v0/management/config",
        &[("Authorization", "Basic abc"), ("X-Management-Key", KEY)],
    );
    assert_eq!(hidden.status, 401);

    // The success below resets the three failures above.
    let bearer_key = bearer(KEY);
    for headers in [
        vec![("Authorization", bearer_key.as_str())],
        vec![("Authorization", KEY)],
        vec![("X-Management-Key", KEY)],
        vec![("authorization", "bearer correct-horse-battery")],
    ] {
        let ok = server.get("/v0/management/config", &headers);
        assert_eq!(ok.status, 200, "{headers:?}: {}", ok.text());
        assert_cpa_headers(&ok);
        assert_cors(&ok);
    }
}

#[test]
fn unknown_management_path_checks_key_then_404() {
    // Upstream: unknown paths and wrong methods pass the key check, then empty 404.
    let server = keyed_server();
    let unauthorised = server.get("/v0/management/does-not-exist", &[]);
    assert_eq!(unauthorised.status, 401);
    assert_cpa_headers(&unauthorised);

    let key = bearer(KEY);
    for (method, path) in [
        ("GET", "/v0/management/does-not-exist"),
        ("POST", "/v0/management/config"),
        ("GET", "/v8/management/debug"),
        ("GET", "/v8/management/api-keys"),
    ] {
        let response = server.send(method, path, &[("Authorization", &key)], b"");
        assert_eq!(response.status, 404, "{method} {path}");
        assert!(response.body.is_empty(), "{method} {path}");
        assert_cpa_headers(&response);
    }
}

#[test]
fn config_json_leaves_out_server_and_key_fields() {
    // Upstream GET /v0/management/config omits host, port, remote-management and auth-dir.
    let server = Server::start(&legacy_config(
        &fast_hash(KEY),
        "auth-dir: \"~/.cli-proxy-api\"\napi-keys:\n  - client-key-1\ndebug: true\ntls:\n  enable: false\n",
    ));
    let response = server.get("/v0/management/config", &[("Authorization", &bearer(KEY))]);
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let json = response.json();
    assert_eq!(json["api-keys"], serde_json::json!(["client-key-1"]));
    assert_eq!(json["debug"], true);
    assert_eq!(json["tls"]["enable"], false);
    // Absent simple settings show upstream's defaults.
    assert_eq!(json["ws-auth"], true);
    assert_eq!(json["proxy-url"], "");
    assert_eq!(json["error-logs-max-files"], 10);
    for hidden in ["host", "port", "remote-management", "auth-dir"] {
        assert!(
            json.get(hidden).is_none(),
            "{hidden} must not be shown: {json}"
        );
    }
    assert!(!response.text().contains("$2"), "no hash in the body");
}

#[test]
fn v8_layout_hides_server_and_management() {
    let config = format!(
        "config-version: 8\nserver:\n  host: \"127.0.0.1\"\n  port: 0\nmanagement:\n  secret-key: \"{}\"\naccess:\n  api-keys:\n    - k1\n",
        fast_hash(KEY)
    );
    let server = Server::start(&config);
    let key = bearer(KEY);
    let v0 = server.get("/v0/management/config", &[("Authorization", &key)]);
    assert_eq!(v0.status, 200);
    let json = v0.json();
    assert!(json.get("server").is_none(), "{json}");
    assert!(json.get("management").is_none(), "{json}");
    // Upstream's v8 loader translates the file to the legacy struct, so the
    // v0 view lists `access.api-keys` as `api-keys` with the defaults around it.
    assert!(json.get("access").is_none(), "{json}");
    assert_eq!(json["api-keys"], serde_json::json!(["k1"]));
    assert_eq!(json["ws-auth"], true);

    // Upstream v8 returns the stored hash here; the engine redacts it.
    let v8 = server.get("/v8/management/config", &[("Authorization", &key)]);
    assert_eq!(v8.status, 200);
    assert_eq!(v8.header("cache-control"), Some("no-store"));
    let json = v8.json();
    assert_eq!(json["management"]["secret-key"], "[redacted]");
    assert!(!v8.text().contains("$2a$"), "{}", v8.text());
    assert_eq!(json["server"]["port"], 0);
}

#[test]
fn plaintext_key_is_hashed_and_accepted() {
    // Upstream hashes a plaintext secret-key with bcrypt cost 10 ($2a$) at load
    // and writes the hash back at the same path, keeping the quoting.
    let plaintext = "plain-secret-123";
    let server = Server::start(&legacy_config(plaintext, "# trailing comment\n"));
    let text = std::fs::read_to_string(&server.config).unwrap();
    assert!(!text.contains(plaintext), "plaintext left on disk:\n{text}");
    assert!(text.contains("  secret-key: \"$2a$10$"), "{text}");
    assert!(
        text.ends_with("# trailing comment\n"),
        "the rest of the file is kept:\n{text}"
    );
    let response = server.get(
        "/v0/management/config",
        &[("Authorization", &bearer(plaintext))],
    );
    assert_eq!(response.status, 200);
    assert!(
        !server.stdout().contains(plaintext),
        "the key never reaches the log"
    );
}

/// Makes a file read-only for every user, root included: a read-only bind
/// mount of the file onto itself where mounts are allowed, else file
/// permissions. Unmounts when dropped.
struct ReadOnly {
    path: std::path::PathBuf,
    mounted: bool,
}

impl ReadOnly {
    fn new(path: &std::path::Path) -> ReadOnly {
        let run = |args: &[&str]| {
            std::process::Command::new("mount")
                .args(args)
                .arg(path)
                .arg(path)
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        };
        let mounted = cfg!(target_os = "linux")
            && run(&["--bind"])
            && (run(&["-o", "remount,bind,ro"]) || {
                let _ = std::process::Command::new("umount").arg(path).status();
                false
            });
        if !mounted {
            let mut permissions = std::fs::metadata(path).unwrap().permissions();
            permissions.set_readonly(true);
            std::fs::set_permissions(path, permissions).unwrap();
        }
        ReadOnly {
            path: path.to_path_buf(),
            mounted,
        }
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        if self.mounted {
            let _ = std::process::Command::new("umount")
                .arg(&self.path)
                .status();
        }
    }
}

#[test]
fn plaintext_key_works_when_write_back_fails() {
    // Upstream keeps running with the in-memory hash when the write-back fails.
    let plaintext = "plain-secret-456";
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    let original = legacy_config(plaintext, "");
    std::fs::write(&config, &original).unwrap();
    let read_only = ReadOnly::new(&config);

    let server = Server::start_at(
        tempfile::tempdir().unwrap(),
        config.clone(),
        Launch::default(),
    );
    let response = server.get(
        "/v0/management/config",
        &[("Authorization", &bearer(plaintext))],
    );
    assert_eq!(response.status, 200);

    let written = std::fs::read_to_string(&config).unwrap() != original;
    if written {
        // Only possible as root without mount rights: permissions do not bind root.
        eprintln!("note: the read-only file was writable here; the warning is not checked");
    } else {
        let stdout = server.stdout();
        assert!(
            stdout.contains("failed to write the hashed management key back"),
            "{stdout}"
        );
    }
    assert!(!server.stdout().contains(plaintext));
    drop(server);
    drop(read_only);
    drop(dir);
}

#[test]
fn management_password_env_enables_routes() {
    // Upstream: MANAGEMENT_PASSWORD registers the routes and is accepted as a key.
    let server = Server::start_with(
        &legacy_config("", ""),
        Launch {
            env: vec![("MANAGEMENT_PASSWORD".into(), "  env-pass-1  ".into())],
            ..Launch::default()
        },
    );
    let ok = server.get(
        "/v0/management/config",
        &[("X-Management-Key", "env-pass-1")],
    );
    assert_eq!(ok.status, 200);
    let wrong = server.get("/v0/management/config", &[("X-Management-Key", "nope")]);
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.text(), r#"{"error":"invalid management key"}"#);
}

#[test]
fn request_log_masks_secrets() {
    let server = keyed_server();
    let _ = server.get("/v0/management/config", &[("Authorization", &bearer(KEY))]);
    let _ = server.get(
        "/v0/management/config",
        &[("X-Management-Key", "wrong-secret-xyz")],
    );
    let _ = server.get(
        "/v1/models?key=query-secret-abc&auth_token=tok-secret-def",
        &[],
    );
    // The engine logs before replying, but the test reads its stdout on a thread.
    let logged = server.eventually(std::time::Duration::from_secs(5), |s| {
        s.stdout().contains("/v1/models?key=")
    });
    assert!(logged, "{}", server.stdout());
    let stdout = server.stdout();
    assert!(stdout.contains("GET \"/v0/management/config\""), "{stdout}");
    assert!(
        stdout.contains("/v1/models?key=***&auth_token=***"),
        "{stdout}"
    );
    for secret in [
        KEY,
        "wrong-secret-xyz",
        "query-secret-abc",
        "tok-secret-def",
    ] {
        assert!(!stdout.contains(secret), "{secret} leaked:\n{stdout}");
    }
}

#[test]
fn trailing_slash_redirects_before_the_key_check() {
    // Upstream (gin): a registered route with an extra slash redirects, 301
    // for GET and 307 otherwise, before the management middleware runs.
    let server = keyed_server();
    let get = server.get("/v0/management/config/?a=1", &[]);
    assert_eq!(get.status, 301);
    assert_eq!(get.header("location"), Some("/v0/management/config?a=1"));
    assert_eq!(get.header("x-cpa-version"), None);
    let put = server.send("PUT", "/v0/management/api-keys/", &[], b"[]");
    assert_eq!(put.status, 307);
    assert_eq!(put.header("location"), Some("/v0/management/api-keys"));
    // Unknown paths with a slash go through the key check as usual.
    assert_eq!(server.get("/v0/management/nope/", &[]).status, 401);

    // Without a key the routes never exist, so there is nothing to redirect to.
    let keyless = Server::start(&legacy_config("", ""));
    assert_eq!(keyless.get("/v0/management/config/", &[]).status, 404);
}

#[test]
fn v8_config_subpaths_return_redacted_subtrees() {
    let config = format!(
        "config-version: 8\nserver:\n  host: \"127.0.0.1\"\n  port: 0\nmanagement:\n  secret-key: \"{}\"\n  allow-remote: false\nrouting:\n  retry:\n    request-retry: 3\n",
        fast_hash(KEY)
    );
    let server = Server::start(&config);
    let key = bearer(KEY);
    let leaf = server.get(
        "/v8/management/config/routing/retry/request-retry",
        &[("Authorization", &key)],
    );
    assert_eq!(leaf.status, 200);
    assert_eq!(leaf.text(), "3");
    assert_eq!(leaf.header("cache-control"), Some("no-store"));
    let section = server.get(
        "/v8/management/config/management",
        &[("Authorization", &key)],
    );
    assert_eq!(
        section.json(),
        serde_json::json!({"secret-key": "[redacted]", "allow-remote": false})
    );
    let secret = server.get(
        "/v8/management/config/management/secret-key",
        &[("Authorization", &key)],
    );
    assert_eq!(secret.text(), "\"[redacted]\"");
    let missing = server.get("/v8/management/config/nope/x", &[("Authorization", &key)]);
    assert_eq!(missing.status, 404);
    assert_eq!(missing.text(), r#"{"error":"not_found"}"#);
    let unauthorised = server.get("/v8/management/config/management", &[]);
    assert_eq!(unauthorised.status, 401);
}

#[test]
fn aliased_key_copies_are_not_shown() {
    let config = "host: \"127.0.0.1\"\nport: 0\nremote-management:\n  secret-key: &k \"plain-alias-key-1\"\nproxy-url: *k\n";
    let server = Server::start(config);
    let key = bearer("plain-alias-key-1");
    for path in ["/v0/management/config", "/v8/management/config"] {
        let response = server.get(path, &[("Authorization", &key)]);
        assert_eq!(response.status, 200, "{path}");
        let text = response.text();
        assert!(!text.contains("plain-alias-key-1"), "{path}: {text}");
        assert!(!text.contains("$2a$"), "{path}: {text}");
    }
}
