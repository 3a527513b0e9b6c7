//! Shape of `GET /v0/management/config` against upstream CLIProxyAPI
//! v7.2.140, which returns the JSON encoding of its whole config struct: every
//! field in struct order, loader defaults for absent keys, and never `host`,
//! `port`, `remote-management` or `auth-dir`. A v8-layout file is shown under
//! the legacy names, as upstream v8's loader translates it.

mod common;

use std::fmt;

use common::*;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Value, json};

const KEY: &str = "shape-test-key";

/// Top-level keys upstream v7.2.140 emits, in order (`sdk_config.go` fields
/// first, then `config.go`).
const UPSTREAM_ORDER: &[&str] = &[
    "proxy-url",
    "disable-image-generation",
    "gpt-image-2-base-model",
    "video-result-auth-cache-ttl",
    "force-model-prefix",
    "request-log",
    "claude-code",
    "api-keys",
    "passthrough-headers",
    "streaming",
    "nonstream-keepalive-interval",
    "tls",
    "credential-concurrency",
    "credential-in-flight",
    "plugins",
    "debug",
    "pprof",
    "commercial-mode",
    "logging-to-file",
    "logs-max-total-size-mb",
    "error-logs-max-files",
    "usage-statistics-enabled",
    "redis-usage-queue-retention-seconds",
    "disable-cooling",
    "save-cooldown-status",
    "transient-error-cooldown-seconds",
    "auth-auto-refresh-workers",
    "request-retry",
    "max-retry-credentials",
    "max-retry-interval",
    "quota-exceeded",
    "routing",
    "ws-auth",
    "antigravity-signature-cache-enabled",
    "antigravity-signature-bypass-strict",
    "antigravity",
    "gemini-api-key",
    "interactions-api-key",
    "codex-api-key",
    "xai-api-key",
    "xai",
    "codex",
    "codex-header-defaults",
    "claude-api-key",
    "claude-header-defaults",
    "disable-claude-cloak-mode",
    "openai-compatibility",
    "vertex-api-key",
    "oauth-excluded-models",
    "oauth-model-alias",
    "oauth-request-scoped-errors",
    "payload",
];

/// Keys upstream leaves out when empty (`omitempty`).
const OMIT_EMPTY: &[&str] = &[
    "gpt-image-2-base-model",
    "video-result-auth-cache-ttl",
    "nonstream-keepalive-interval",
    "antigravity-signature-cache-enabled",
    "antigravity-signature-bypass-strict",
    "oauth-excluded-models",
    "oauth-model-alias",
    "oauth-request-scoped-errors",
];

/// Top-level keys of a JSON object in the order the body lists them.
struct KeyOrder(Vec<String>);

impl<'de> serde::Deserialize<'de> for KeyOrder {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> Visitor<'de> for Keys {
            type Value = KeyOrder;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeyOrder, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    map.next_value::<IgnoredAny>()?;
                    keys.push(key);
                }
                Ok(KeyOrder(keys))
            }
        }
        deserializer.deserialize_map(Keys)
    }
}

fn fixture_text(name: &str) -> String {
    let path = cpa_testkit::fixture_configs_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("read {}: {err}", path.display()))
}

/// Replaces exactly one occurrence of `from`, so a changed fixture fails loudly.
fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "expected one {from:?}");
    text.replacen(from, to, 1)
}

/// Returns the upstream example with host 127.0.0.1, port 0 and a cost-4 bcrypt key.
fn legacy_example() -> String {
    let text = fixture_text("01-upstream-example-head.yaml");
    let text = replace_once(&text, "\nhost: \"\"\n", "\nhost: \"127.0.0.1\"\n");
    let text = replace_once(&text, "\nport: 8317\n", "\nport: 0\n");
    replace_once(
        &text,
        "  secret-key: \"\"\n",
        &format!("  secret-key: \"{}\"\n", fast_hash(KEY)),
    )
}

/// Returns the v8-layout fixture with host 127.0.0.1, port 0 and a cost-4 bcrypt key.
fn v8_example() -> String {
    let text = fixture_text("45-nix-v8-layout.yaml");
    let text = replace_once(&text, "host: \"0.0.0.0\"", "host: \"127.0.0.1\"");
    let text = replace_once(&text, "port: 8317", "port: 0");
    replace_once(
        &text,
        "secret-key: \"\"",
        &format!("secret-key: \"{}\"", fast_hash(KEY)),
    )
}

/// Fetches the body and checks what every body must satisfy; returns the
/// raw text and the parsed value.
fn fetch_config(server: &Server) -> (String, Value) {
    let response = server.get("/v0/management/config", &[("Authorization", &bearer(KEY))]);
    assert_eq!(response.status, 200, "{}", response.text());
    let text = response.text();
    let KeyOrder(keys) = serde_json::from_str(&text).expect("body is a JSON object");

    let expected: Vec<&str> = UPSTREAM_ORDER
        .iter()
        .copied()
        .filter(|key| keys.iter().any(|emitted| emitted == key))
        .collect();
    assert_eq!(keys, expected, "keys in upstream's order, nothing else");
    for key in UPSTREAM_ORDER {
        if !OMIT_EMPTY.contains(key) {
            assert!(keys.iter().any(|emitted| emitted == key), "{key} missing");
        }
    }

    for hidden in [
        "host",
        "port",
        "remote-management",
        "management",
        "auth-dir",
    ] {
        assert!(!keys.iter().any(|key| key == hidden), "{hidden} shown");
    }
    assert!(!text.contains("$2a$"), "{text}");
    assert!(!text.contains("$2b$"), "{text}");
    assert!(!text.contains("secret-key"), "{text}");
    assert!(!text.contains(".cli-proxy-api"), "auth-dir leaked: {text}");
    let json = serde_json::from_str(&text).expect("body is JSON");
    (text, json)
}

#[test]
fn legacy_example_has_upstream_shape() {
    let server = Server::start(&legacy_example());
    let (text, json) = fetch_config(&server);

    // Values from the file, with Go's types.
    assert_eq!(
        json["api-keys"],
        json!(["your-api-key-1", "your-api-key-2", "your-api-key-3"])
    );
    assert_eq!(json["request-retry"], 3);
    assert_eq!(json["max-retry-interval"], 30);
    assert_eq!(json["video-result-auth-cache-ttl"], "3h");
    assert_eq!(json["passthrough-headers"], false);
    assert_eq!(json["ws-auth"], true);
    assert_eq!(json["quota-exceeded"]["switch-project"], true);
    assert_eq!(json["routing"]["strategy"], "round-robin");
    assert_eq!(json["routing"]["session-affinity-ttl"], "1h");
    assert_eq!(json["codex"]["live-media-relay"]["max-sessions"], 32);
    assert_eq!(json["xai"]["inject-x-search"], false);
    assert_eq!(json["plugins"]["configs"]["example"]["priority"], 1);
    assert_eq!(json["plugins"]["configs"]["example"]["mode"], "safe");

    // Nested structs that the contract spells out keep upstream's field order.
    assert!(
        text.contains(r#""tls":{"enable":false,"cert":"","key":""}"#),
        "{text}"
    );
    assert!(
        text.contains(r#""pprof":{"enable":false,"addr":"127.0.0.1:8316"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#""plugins":{"enabled":false,"dir":"plugins","configs":{"#),
        "{text}"
    );

    // Keys the example comments out: slices are null, omitempty keys are gone.
    for list in [
        "gemini-api-key",
        "interactions-api-key",
        "codex-api-key",
        "xai-api-key",
        "claude-api-key",
        "openai-compatibility",
        "vertex-api-key",
    ] {
        assert_eq!(json[list], Value::Null, "{list}");
    }
    assert_eq!(json["request-log"], false);
    assert_eq!(json["auth-auto-refresh-workers"], 0);
    for omitted in [
        "gpt-image-2-base-model",
        "nonstream-keepalive-interval",
        "oauth-model-alias",
        "oauth-excluded-models",
    ] {
        assert!(json.get(omitted).is_none(), "{omitted} shown: {text}");
    }
}

#[test]
fn v8_example_has_legacy_shape() {
    let server = Server::start(&v8_example());
    let (text, json) = fetch_config(&server);

    // `access.api-keys: []` is the legacy `api-keys`, an empty list.
    assert_eq!(json["api-keys"], json!([]));
    for v8_root in ["server", "access", "oauth", "config-version"] {
        assert!(json.get(v8_root).is_none(), "{v8_root} shown: {text}");
    }

    // Everything else is upstream's default.
    assert_eq!(json["ws-auth"], true);
    assert_eq!(json["error-logs-max-files"], 10);
    assert_eq!(json["redis-usage-queue-retention-seconds"], 60);
    assert_eq!(json["proxy-url"], "");
    assert_eq!(json["disable-image-generation"], false);
    assert_eq!(json["routing"], json!({"strategy": "round-robin"}));
    assert_eq!(
        json["pprof"],
        json!({"enable": false, "addr": "127.0.0.1:8316"})
    );
    assert_eq!(
        json["plugins"],
        json!({"enabled": false, "dir": "plugins", "configs": {}})
    );
    assert_eq!(json["tls"], json!({"enable": false, "cert": "", "key": ""}));
    assert_eq!(json["gemini-api-key"], Value::Null);
}

#[test]
fn v8_leaf_wins_over_legacy_leaf() {
    // Presence rule of CLIProxyAPI v8: a present v8 leaf wins, even `false`;
    // a legacy leaf without a v8 counterpart still counts.
    let config = format!(
        "{}observability:\n  logs:\n    debug: false\n    error-logs-max-files: 3\n  \
         pprof:\n    enable: true\nrouting:\n  strategy: fill-first\n  retry:\n    \
         request-retry: 5\nrequest-retry: 1\ndebug: true\nmax-retry-interval: 12\n\
         requests:\n  proxy-url: \"socks5://127.0.0.1:1080\"\n",
        v8_example()
    );
    let server = Server::start(&config);
    let (_, json) = fetch_config(&server);

    assert_eq!(json["debug"], false);
    assert_eq!(json["error-logs-max-files"], 3);
    assert_eq!(json["request-retry"], 5);
    assert_eq!(json["max-retry-interval"], 12);
    assert_eq!(json["routing"], json!({"strategy": "fill-first"}));
    assert_eq!(
        json["pprof"],
        json!({"enable": true, "addr": "127.0.0.1:8316"})
    );
    assert_eq!(json["proxy-url"], "socks5://127.0.0.1:1080");
    assert!(json.get("observability").is_none());
    assert!(json.get("requests").is_none());
}

#[test]
fn loader_clamps_show_in_body() {
    // Upstream v7.2.140 fixes these after loading: negative file counts are
    // 10, a retention of 0 is 60 and one above 3600 is 3600.
    let server = Server::start(&legacy_config(
        &fast_hash(KEY),
        "error-logs-max-files: -1\nredis-usage-queue-retention-seconds: 7200\n\
         logs-max-total-size-mb: -5\npprof:\n  addr: \"  \"\nws-auth: false\n",
    ));
    let (_, json) = fetch_config(&server);

    assert_eq!(json["error-logs-max-files"], 10);
    assert_eq!(json["redis-usage-queue-retention-seconds"], 3600);
    assert_eq!(json["logs-max-total-size-mb"], 0);
    assert_eq!(json["pprof"]["addr"], "127.0.0.1:8316");
    assert_eq!(json["ws-auth"], false);
}
