//! Body of `GET /v0/management/config`, shaped like upstream CLIProxyAPI
//! v7.2.140: the JSON encoding of its whole in-memory config struct.
//!
//! Upstream encodes a Go struct, so every field appears in struct order with
//! the loader's default when the file leaves it out, and `host`, `port`,
//! `remote-management` and `auth-dir` never appear (JSON tag `-`). A v8-layout
//! file is first translated back to the legacy names, because upstream's
//! loader does that at the YAML layer and the v0 API shows the legacy struct.
//!
//! `serde_json` here sorts object keys, so the body is written by hand from an
//! ordered tree ([`Ordered`]) to keep upstream's emission order.

use serde_json::{Map, Value};

/// Default of `pprof.addr` (upstream `DefaultPprofAddr`).
const DEFAULT_PPROF_ADDR: &str = "127.0.0.1:8316";
/// Default of `plugins.dir`.
const DEFAULT_PLUGINS_DIR: &str = "plugins";
/// Default of `routing.strategy`.
const DEFAULT_ROUTING_STRATEGY: &str = "round-robin";

/// Encoding rule of one top-level field in upstream's struct.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// String; `""` when absent.
    Str,
    /// String with `omitempty`.
    StrOmitEmpty,
    /// Bool with this default when absent.
    Bool(bool),
    /// Int with this default when absent; the loader's clamps apply.
    Int(i64),
    /// Int with `omitempty`.
    IntOmitEmpty,
    /// Slice: `null` when absent.
    List,
    /// Nested struct: the file's subtree, `{}` when absent.
    Struct,
    /// Nested struct whose Go durations encode as integer nanoseconds.
    DurationStruct,
    /// Map or slice with `omitempty`: left out when absent or empty.
    OmitEmpty,
    /// `false`, `true`, `"chat"` or `"passthrough"`.
    ImageGeneration,
    Tls,
    Pprof,
    Plugins,
    Routing,
}

/// Top-level fields in upstream's emission order (embedded SDK fields first).
const FIELDS: &[(&str, Kind)] = &[
    ("proxy-url", Kind::Str),
    ("disable-image-generation", Kind::ImageGeneration),
    ("gpt-image-2-base-model", Kind::StrOmitEmpty),
    ("video-result-auth-cache-ttl", Kind::OmitEmpty),
    ("force-model-prefix", Kind::Bool(false)),
    ("request-log", Kind::Bool(false)),
    ("claude-code", Kind::Struct),
    ("api-keys", Kind::List),
    ("passthrough-headers", Kind::Bool(false)),
    ("streaming", Kind::Struct),
    ("nonstream-keepalive-interval", Kind::IntOmitEmpty),
    ("tls", Kind::Tls),
    ("credential-concurrency", Kind::DurationStruct),
    ("credential-in-flight", Kind::DurationStruct),
    ("plugins", Kind::Plugins),
    ("debug", Kind::Bool(false)),
    ("pprof", Kind::Pprof),
    ("commercial-mode", Kind::Bool(false)),
    ("logging-to-file", Kind::Bool(false)),
    ("logs-max-total-size-mb", Kind::Int(0)),
    ("error-logs-max-files", Kind::Int(10)),
    ("usage-statistics-enabled", Kind::Bool(false)),
    ("redis-usage-queue-retention-seconds", Kind::Int(60)),
    ("disable-cooling", Kind::Bool(false)),
    ("save-cooldown-status", Kind::Bool(false)),
    ("transient-error-cooldown-seconds", Kind::Int(0)),
    ("auth-auto-refresh-workers", Kind::Int(0)),
    ("request-retry", Kind::Int(0)),
    ("max-retry-credentials", Kind::Int(0)),
    ("max-retry-interval", Kind::Int(0)),
    ("quota-exceeded", Kind::Struct),
    ("routing", Kind::Routing),
    ("ws-auth", Kind::Bool(true)),
    ("antigravity-signature-cache-enabled", Kind::OmitEmpty),
    ("antigravity-signature-bypass-strict", Kind::OmitEmpty),
    ("antigravity", Kind::Struct),
    ("gemini-api-key", Kind::List),
    ("interactions-api-key", Kind::List),
    ("codex-api-key", Kind::List),
    ("xai-api-key", Kind::List),
    ("xai", Kind::Struct),
    ("codex", Kind::Struct),
    ("codex-header-defaults", Kind::Struct),
    ("claude-api-key", Kind::List),
    ("claude-header-defaults", Kind::Struct),
    ("disable-claude-cloak-mode", Kind::Bool(false)),
    ("openai-compatibility", Kind::List),
    ("vertex-api-key", Kind::List),
    ("oauth-excluded-models", Kind::OmitEmpty),
    ("oauth-model-alias", Kind::OmitEmpty),
    ("oauth-request-scoped-errors", Kind::OmitEmpty),
    ("payload", Kind::Struct),
];

/// v8 paths and the legacy paths they load into (CLIProxyAPI v8
/// `buildV8Paths`, plus the `upstream.*` spellings of the v8 example). A
/// longer v8 path comes before its prefix, because moving it first takes it
/// out of the prefix's subtree (`oauth.providers.codex.header-defaults`
/// before `oauth.providers.codex`).
const V8_PATHS: &[(&str, &str)] = &[
    ("server.tls", "tls"),
    ("server.commercial-mode", "commercial-mode"),
    ("access.api-keys", "api-keys"),
    ("credentials.concurrency", "credential-concurrency"),
    ("credentials.in-flight", "credential-in-flight"),
    ("routing.force-model-prefix", "force-model-prefix"),
    ("routing.retry.request-retry", "request-retry"),
    (
        "routing.retry.max-retry-credentials",
        "max-retry-credentials",
    ),
    ("routing.retry.max-retry-interval", "max-retry-interval"),
    ("routing.cooldown.disable-cooling", "disable-cooling"),
    (
        "routing.cooldown.save-cooldown-status",
        "save-cooldown-status",
    ),
    (
        "routing.cooldown.transient-error-cooldown-seconds",
        "transient-error-cooldown-seconds",
    ),
    ("requests.proxy-url", "proxy-url"),
    ("requests.passthrough-headers", "passthrough-headers"),
    (
        "requests.nonstream-keepalive-interval",
        "nonstream-keepalive-interval",
    ),
    ("requests.streaming", "streaming"),
    ("requests.payload", "payload"),
    ("oauth.auth-dir", "auth-dir"),
    (
        "oauth.auth-auto-refresh-workers",
        "auth-auto-refresh-workers",
    ),
    ("oauth.model-alias", "oauth-model-alias"),
    ("oauth.excluded-models", "oauth-excluded-models"),
    ("oauth.request-scoped-errors", "oauth-request-scoped-errors"),
    ("oauth.settings", "oauth-settings"),
    ("oauth.providers.aistudio.ws-auth", "ws-auth"),
    (
        "oauth.providers.codex.header-defaults",
        "codex-header-defaults",
    ),
    ("oauth.providers.codex", "codex"),
    ("upstream.codex", "codex"),
    ("oauth.providers.claude.claude-code", "claude-code"),
    ("upstream.claude.claude-code", "claude-code"),
    (
        "oauth.providers.claude.disable-claude-cloak-mode",
        "disable-claude-cloak-mode",
    ),
    (
        "upstream.claude.disable-claude-cloak-mode",
        "disable-claude-cloak-mode",
    ),
    (
        "oauth.providers.claude.header-defaults",
        "claude-header-defaults",
    ),
    ("upstream.claude.header-defaults", "claude-header-defaults"),
    ("oauth.providers.claude", "claude"),
    ("upstream.claude", "claude"),
    (
        "oauth.providers.antigravity.signature-cache-enabled",
        "antigravity-signature-cache-enabled",
    ),
    (
        "oauth.providers.antigravity.signature-bypass-strict",
        "antigravity-signature-bypass-strict",
    ),
    (
        "oauth.providers.antigravity.antigravity-credits",
        "quota-exceeded.antigravity-credits",
    ),
    ("oauth.providers.antigravity", "antigravity"),
    ("oauth.providers.xai", "xai"),
    ("upstream.xai", "xai"),
    ("oauth.providers.devin", "devin"),
    (
        "multimedia.disable-image-generation",
        "disable-image-generation",
    ),
    (
        "multimedia.gpt-image-2-base-model",
        "gpt-image-2-base-model",
    ),
    (
        "multimedia.video-result-auth-cache-ttl",
        "video-result-auth-cache-ttl",
    ),
    ("observability.logs.debug", "debug"),
    ("observability.logs.logging-to-file", "logging-to-file"),
    (
        "observability.logs.logs-max-total-size-mb",
        "logs-max-total-size-mb",
    ),
    ("observability.logs.request-log", "request-log"),
    (
        "observability.logs.error-logs-max-files",
        "error-logs-max-files",
    ),
    (
        "observability.usage.usage-statistics-enabled",
        "usage-statistics-enabled",
    ),
    (
        "observability.usage.redis-usage-queue-retention-seconds",
        "redis-usage-queue-retention-seconds",
    ),
    ("observability.pprof", "pprof"),
];

/// v8 provider groups under a mapping `api-keys`, and their legacy lists.
const KEY_FAMILIES: &[(&str, &str)] = &[
    ("gemini", "gemini-api-key"),
    ("interactions", "interactions-api-key"),
    ("vertex", "vertex-api-key"),
    ("codex", "codex-api-key"),
    ("claude", "claude-api-key"),
    ("xai", "xai-api-key"),
    ("meta", "meta-api-key"),
    ("openai-compatibility", "openai-compatibility"),
];

/// Group fields that v8 copies into every key of the group.
const SHARED_KEY_FIELDS: &[&str] = &[
    "priority",
    "prefix",
    "proxy-url",
    "headers",
    "models",
    "excluded-models",
    "disable-cooling",
    "request-retry",
    "request-scoped-errors",
];

/// A JSON value whose object keys keep the order they were pushed in.
#[derive(Debug, Clone, PartialEq)]
pub enum Ordered {
    Plain(Value),
    Object(Vec<(String, Ordered)>),
}

impl Ordered {
    /// Writes compact JSON: ordered objects as pushed, plain values as serde_json writes them.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Ordered::Plain(value) => {
                // serde_json fails only on non-string map keys, which a `Value` cannot have.
                out.extend(serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec()));
            }
            Ordered::Object(entries) => {
                out.push(b'{');
                for (index, (key, value)) in entries.iter().enumerate() {
                    if index > 0 {
                        out.push(b',');
                    }
                    out.extend(serde_json::to_vec(key).unwrap_or_else(|_| b"\"\"".to_vec()));
                    out.push(b':');
                    value.write(out);
                }
                out.push(b'}');
            }
        }
    }
}

/// Builds the `GET /v0/management/config` body from the whole document as
/// JSON (aliases resolved, secrets already scrubbed).
pub fn v0_config(document: Value) -> Ordered {
    let Value::Object(root) = document else {
        return Ordered::Object(Vec::new());
    };
    let root = to_legacy_layout(root);
    let mut entries = Vec::with_capacity(FIELDS.len());
    for (key, kind) in FIELDS {
        if let Some(value) = encode(*kind, key, root.get(*key)) {
            entries.push((key.to_string(), value));
        }
    }
    Ordered::Object(entries)
}

/// Moves every present v8 path to its legacy name, like upstream v8's loader:
/// a present v8 leaf wins over the legacy leaf, and a legacy leaf without a
/// v8 counterpart stays.
pub fn to_legacy_layout(mut root: Map<String, Value>) -> Map<String, Value> {
    // A mapping under `api-keys` is v8 provider groups, never client keys.
    let groups = match root.get("api-keys") {
        Some(Value::Object(_)) => root.remove("api-keys"),
        _ => None,
    };
    for (v8, legacy) in V8_PATHS {
        if let Some(value) = remove_path(&mut root, v8) {
            merge_at(&mut root, legacy, value);
        }
    }
    if let Some(Value::Object(groups)) = groups {
        for (family, legacy) in KEY_FAMILIES {
            if let Some(Value::Array(list)) = groups.get(*family) {
                root.insert(legacy.to_string(), expand_groups(family, list));
            }
        }
    }
    root
}

/// Flattens v8 groups (`base-url`, shared fields, `keys: [...]`) into one
/// legacy entry per key; OpenAI-compatible groups keep their fields and carry
/// the keys as `api-key-entries`. Malformed groups are skipped here, because
/// the config crate rejects them at load.
fn expand_groups(family: &str, groups: &[Value]) -> Value {
    let mut out = Vec::new();
    for group in groups {
        let Value::Object(group) = group else {
            continue;
        };
        let Some(Value::Array(keys)) = group.get("keys") else {
            continue;
        };
        if family == "openai-compatibility" {
            let mut item = group.clone();
            item.remove("keys");
            item.insert("api-key-entries".to_string(), Value::Array(keys.clone()));
            out.push(Value::Object(item));
            continue;
        }
        for key in keys {
            let Value::Object(key) = key else {
                continue;
            };
            let mut item = Map::new();
            for (field, value) in group {
                if field == "base-url" || SHARED_KEY_FIELDS.contains(&field.as_str()) {
                    item.insert(field.clone(), value.clone());
                }
            }
            for (field, value) in key {
                if !value.is_null() {
                    item.insert(field.clone(), value.clone());
                }
            }
            out.push(Value::Object(item));
        }
    }
    Value::Array(out)
}

/// Removes the value at a dotted path and prunes parents left empty.
fn remove_path(map: &mut Map<String, Value>, path: &str) -> Option<Value> {
    match path.split_once('.') {
        None => map.remove(path),
        Some((head, rest)) => {
            let Some(Value::Object(child)) = map.get_mut(head) else {
                return None;
            };
            let removed = remove_path(child, rest)?;
            if child.is_empty() {
                map.remove(head);
            }
            Some(removed)
        }
    }
}

/// Stores `value` at a dotted path. Where both sides are mappings the merge is
/// leaf by leaf and `value` wins; otherwise `value` replaces what is there.
fn merge_at(map: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            let slot = map.entry(path.to_string()).or_insert(Value::Null);
            merge_value(slot, value);
        }
        Some((head, rest)) => {
            let slot = map
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Value::Object(child) = slot {
                merge_at(child, rest, value);
            }
        }
    }
}

fn merge_value(slot: &mut Value, value: Value) {
    match (slot, value) {
        (Value::Object(present), Value::Object(incoming)) => {
            for (key, value) in incoming {
                let inner = present.entry(key).or_insert(Value::Null);
                merge_value(inner, value);
            }
        }
        (slot, value) => *slot = value,
    }
}

/// Encodes one field; `None` leaves it out (`omitempty`).
fn encode(kind: Kind, key: &str, value: Option<&Value>) -> Option<Ordered> {
    let plain = |value: Value| Some(Ordered::Plain(value));
    match kind {
        Kind::Str => plain(Value::String(go_string(value))),
        Kind::StrOmitEmpty => {
            let text = go_string(value);
            (!text.is_empty()).then_some(Ordered::Plain(Value::String(text)))
        }
        Kind::Bool(default) => plain(go_bool(value, default)),
        Kind::Int(default) => plain(go_int(key, value, default)),
        Kind::IntOmitEmpty => match go_int(key, value, 0) {
            Value::Number(number) if number.as_i64() == Some(0) => None,
            other => plain(other),
        },
        Kind::List => plain(value.cloned().unwrap_or(Value::Null)),
        // NOTE: upstream encodes these nested structs with all their fields.
        // The engine does not model them, so the nested shape is the file's
        // own and an absent or null struct shows as `{}`.
        Kind::Struct => plain(struct_value(value)),
        Kind::DurationStruct => {
            let mut value = struct_value(value);
            durations_to_nanoseconds(&mut value);
            plain(value)
        }
        Kind::OmitEmpty => match value {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) if text.is_empty() => None,
            Some(Value::Object(map)) if map.is_empty() => None,
            Some(Value::Array(list)) if list.is_empty() => None,
            Some(other) => plain(other.clone()),
        },
        Kind::ImageGeneration => match value {
            None | Some(Value::Null) => plain(Value::Bool(false)),
            Some(other) => plain(other.clone()),
        },
        Kind::Tls => Some(ordered_struct(
            value,
            &[
                ("enable", Value::Bool(false)),
                ("cert", Value::String(String::new())),
                ("key", Value::String(String::new())),
            ],
        )),
        Kind::Pprof => Some(ordered_struct(
            value,
            &[
                ("enable", Value::Bool(false)),
                ("addr", Value::String(DEFAULT_PPROF_ADDR.to_string())),
            ],
        )),
        Kind::Plugins => Some(ordered_struct(
            value,
            &[
                ("enabled", Value::Bool(false)),
                ("dir", Value::String(DEFAULT_PLUGINS_DIR.to_string())),
                ("configs", Value::Object(Map::new())),
            ],
        )),
        Kind::Routing => Some(ordered_struct(
            value,
            &[(
                "strategy",
                Value::String(DEFAULT_ROUTING_STRATEGY.to_string()),
            )],
        )),
    }
}

/// Encodes a struct whose leading fields are known: those first, in order,
/// then the file's other fields as written.
///
/// A known field takes its default when absent, null or blank. Upstream
/// refills a blank `pprof.addr` this way, and the engine treats `plugins.dir`
/// and `routing.strategy` the same.
fn ordered_struct(value: Option<&Value>, known: &[(&str, Value)]) -> Ordered {
    let empty = Map::new();
    let map = match value {
        Some(Value::Object(map)) => map,
        _ => &empty,
    };
    let mut entries = Vec::new();
    for (field, default) in known {
        let shown = match (map.get(*field), default) {
            (None | Some(Value::Null), default) => default.clone(),
            (Some(Value::String(text)), Value::String(_)) if text.trim().is_empty() => {
                default.clone()
            }
            (Some(Value::String(text)), Value::String(_)) => Value::String(text.trim().to_string()),
            (Some(present), _) => present.clone(),
        };
        entries.push((field.to_string(), Ordered::Plain(shown)));
    }
    for (field, present) in map {
        if !known.iter().any(|(name, _)| name == field) {
            entries.push((field.clone(), Ordered::Plain(present.clone())));
        }
    }
    Ordered::Object(entries)
}

fn struct_value(value: Option<&Value>) -> Value {
    match value {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(other) => other.clone(),
    }
}

/// Decodes a string field: absent or null is `""`, other scalars become their text.
fn go_string(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

/// Decodes a bool field: absent takes the loader's default, and null is
/// `false` (Go's zero value). A value of another type is passed through, because the
/// config crate rejects the file before it is served.
fn go_bool(value: Option<&Value>, default: bool) -> Value {
    match value {
        None => Value::Bool(default),
        Some(Value::Null) => Value::Bool(false),
        Some(other) => other.clone(),
    }
}

/// Decodes an int field: absent takes the loader's default, null is 0, and
/// upstream's post-load clamps apply last.
fn go_int(key: &str, value: Option<&Value>, default: i64) -> Value {
    let number = match value {
        None => default,
        Some(Value::Null) => 0,
        Some(Value::Number(number)) => match number.as_i64() {
            Some(number) => number,
            None => return Value::Number(number.clone()),
        },
        Some(other) => return other.clone(),
    };
    Value::from(clamp_int(key, number))
}

/// Upstream v7.2.140's fixes after loading (`config_load.go`).
fn clamp_int(key: &str, value: i64) -> i64 {
    match key {
        "logs-max-total-size-mb" | "max-retry-credentials" if value < 0 => 0,
        "error-logs-max-files" if value < 0 => 10,
        "redis-usage-queue-retention-seconds" if value <= 0 => 60,
        "redis-usage-queue-retention-seconds" if value > 3600 => 3600,
        _ => value,
    }
}

/// Replaces every string that parses as a Go duration with its nanoseconds,
/// as `encoding/json` writes a `time.Duration`.
fn durations_to_nanoseconds(value: &mut Value) {
    match value {
        Value::String(text) => {
            if let Some(nanos) = parse_go_duration(text) {
                *value = Value::from(nanos);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(durations_to_nanoseconds),
        Value::Object(map) => map.values_mut().for_each(durations_to_nanoseconds),
        _ => {}
    }
}

/// Parses Go's `time.ParseDuration` syntax (`1h30m`, `250ms`, `-1.5s`, `0`)
/// into nanoseconds; `None` when it is not a duration or overflows.
fn parse_go_duration(text: &str) -> Option<i64> {
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..number_end];
        if number.is_empty() || number == "." {
            return None;
        }
        let amount: f64 = number.parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale: f64 = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += amount * scale;
    }
    if total > i64::MAX as f64 {
        return None;
    }
    let nanos = total.round() as i64;
    Some(if negative { -nanos } else { nanos })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(document: Value) -> Value {
        serde_json::from_slice(&v0_config(document).to_json_bytes()).unwrap()
    }

    #[test]
    fn empty_document_has_every_default() {
        let shown = body(json!({}));
        assert_eq!(shown["ws-auth"], true);
        assert_eq!(shown["error-logs-max-files"], 10);
        assert_eq!(shown["redis-usage-queue-retention-seconds"], 60);
        assert_eq!(
            shown["pprof"],
            json!({"enable": false, "addr": "127.0.0.1:8316"})
        );
        assert_eq!(shown["routing"], json!({"strategy": "round-robin"}));
        assert_eq!(
            shown["plugins"],
            json!({"enabled": false, "dir": "plugins", "configs": {}})
        );
        assert_eq!(shown["api-keys"], Value::Null);
        assert!(shown.get("gpt-image-2-base-model").is_none());
        assert!(shown.get("nonstream-keepalive-interval").is_none());
    }

    #[test]
    fn keys_follow_emission_order() {
        let bytes = v0_config(json!({"debug": true, "proxy-url": "x"})).to_json_bytes();
        let text = String::from_utf8(bytes).unwrap();
        let proxy = text.find("\"proxy-url\"").unwrap();
        let debug = text.find("\"debug\"").unwrap();
        let tls = text
            .find("\"tls\":{\"enable\":false,\"cert\":\"\",\"key\":\"\"}")
            .unwrap();
        assert!(proxy < tls, "{text}");
        assert!(tls < debug, "{text}");
    }

    #[test]
    fn loader_clamps_apply() {
        let shown = body(json!({
            "error-logs-max-files": -3,
            "redis-usage-queue-retention-seconds": 9000,
            "max-retry-credentials": -1,
            "ws-auth": null
        }));
        assert_eq!(shown["error-logs-max-files"], 10);
        assert_eq!(shown["redis-usage-queue-retention-seconds"], 3600);
        assert_eq!(shown["max-retry-credentials"], 0);
        assert_eq!(shown["ws-auth"], false, "null decodes to Go's zero value");
    }

    #[test]
    fn v8_leaf_wins_and_legacy_leaf_stays() {
        let shown = body(json!({
            "request-retry": 4,
            "max-retry-credentials": 9,
            "routing": {"strategy": "fill-first", "retry": {"max-retry-credentials": 2}},
            "observability": {"logs": {"debug": false}},
            "debug": true,
            "access": {"api-keys": []},
            "api-keys": {"gemini": [{"base-url": "https://g", "keys": [{"api-key": "k1"}, {"api-key": "k2"}]}]}
        }));
        assert_eq!(shown["request-retry"], 4);
        assert_eq!(shown["max-retry-credentials"], 2);
        assert_eq!(shown["routing"], json!({"strategy": "fill-first"}));
        assert_eq!(shown["debug"], false);
        assert_eq!(shown["api-keys"], json!([]));
        assert_eq!(
            shown["gemini-api-key"],
            json!([{"base-url": "https://g", "api-key": "k1"}, {"base-url": "https://g", "api-key": "k2"}])
        );
    }

    #[test]
    fn codex_header_defaults_move_apart() {
        let shown = body(json!({"oauth": {"providers": {"codex": {
            "identity-confuse": true,
            "header-defaults": {"user-agent": "ua"}
        }}}}));
        assert_eq!(shown["codex"], json!({"identity-confuse": true}));
        assert_eq!(shown["codex-header-defaults"], json!({"user-agent": "ua"}));
    }

    #[test]
    fn durations_become_nanoseconds() {
        let shown = body(json!({"credential-in-flight": {"stale-after": "10s", "max-details": 5}}));
        assert_eq!(
            shown["credential-in-flight"],
            json!({"stale-after": 10_000_000_000_i64, "max-details": 5})
        );
        assert_eq!(parse_go_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_go_duration("250ms"), Some(250_000_000));
        assert_eq!(parse_go_duration("-1.5s"), Some(-1_500_000_000));
        assert_eq!(parse_go_duration("fast"), None);
        assert_eq!(parse_go_duration("10"), None);
    }
}
