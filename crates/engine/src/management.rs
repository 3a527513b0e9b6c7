//! The management API under `/v0/management` and `/v8/management`.
//!
//! When no key is configured (and `MANAGEMENT_PASSWORD` is unset) every path
//! under both prefixes is 404 with an empty body and no `X-CPA-*` headers, as
//! upstream. Otherwise every request passes the key check first. Every
//! response after the check carries the `X-CPA-*` build headers, 401 and 403
//! included, and unknown paths then get an empty 404.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::auth::{self, Attempt};
use crate::http;
use crate::latest;
use crate::routes::{ClientIp, query_value};
use crate::state::{BUILD_DATE, COMMIT, Shared, VERSION};

/// Largest request body accepted by management writes.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    V0,
    V8,
}

pub async fn handle(
    shared: &Arc<Shared>,
    request: Request,
    prefix: Prefix,
    rest: &str,
) -> Response {
    // `/v8/management/config/<path>` is a catch-all route, so a trailing
    // slash there is part of the path and never redirected.
    let catch_all = prefix == Prefix::V8 && rest.starts_with("config/");
    if let Some(trimmed) = rest.strip_suffix('/')
        && !catch_all
        && shared.management_routes_registered()
        && is_route(prefix, request.method(), trimmed)
    {
        return redirect_without_slash(&request);
    }
    let settings = shared.current();
    if !shared.management_enabled(&settings) {
        return http::empty(StatusCode::NOT_FOUND);
    }

    let client_ip = request
        .extensions()
        .get::<ClientIp>()
        .map(|ip| ip.0.clone())
        .unwrap_or_default();
    let provided = auth::management_key(request.headers());
    let verdict = auth::authenticate(Attempt {
        client_ip: &client_ip,
        provided: &provided,
        secret: &settings.secret,
        allow_remote: settings.allow_remote,
        env_password: shared.env_password.as_deref(),
        local_password: shared.local_password.as_deref(),
        verified: shared.cache_enabled.then_some(&settings.verified),
        tagger: &shared.tagger,
        bans: &shared.bans,
    })
    .await;
    drop(settings);

    let mut response = match verdict {
        Err(rejection) => http::error(rejection.status(), &rejection.message()),
        Ok(()) => dispatch(shared, request, prefix, rest).await,
    };
    let headers = response.headers_mut();
    headers.insert("x-cpa-version", HeaderValue::from_static(VERSION));
    headers.insert("x-cpa-commit", HeaderValue::from_static(COMMIT));
    headers.insert("x-cpa-build-date", HeaderValue::from_static(BUILD_DATE));
    headers.insert("x-cpa-support-plugin", HeaderValue::from_static("0"));
    response
}

/// Follows `/`-separated mapping keys from `root`; lists are not indexed,
/// as upstream v8 addresses them whole.
fn subtree<'v>(root: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('/')
        .filter(|segment| !segment.is_empty())
        .try_fold(root, |node, segment| node.as_object()?.get(segment))
}

/// Returns whether `method` on `rest` is a management route served here.
fn is_route(prefix: Prefix, method: &Method, rest: &str) -> bool {
    matches!(
        (prefix, method.as_str(), rest),
        (_, "GET", "config")
            | (Prefix::V0, "GET" | "PUT", "config.yaml")
            | (Prefix::V0, "GET", "latest-version")
            | (Prefix::V8, "GET", "server/latest-version")
            | (Prefix::V0, "GET" | "PUT" | "PATCH" | "DELETE", "api-keys")
            | (Prefix::V0, "GET" | "PUT" | "PATCH", "allow-remote")
    )
}

/// Redirects `/route/` to `/route` like gin's trailing-slash rule, which runs
/// before any middleware: 301 for GET, 307 for other methods.
fn redirect_without_slash(request: &Request) -> Response {
    let path = request.uri().path();
    let mut location = path[..path.len() - 1].to_string();
    if let Some(query) = request.uri().query() {
        location.push('?');
        location.push_str(query);
    }
    let get = request.method() == Method::GET;
    let status = if get {
        StatusCode::MOVED_PERMANENTLY
    } else {
        StatusCode::TEMPORARY_REDIRECT
    };
    let mut response = http::empty(status);
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert("location", value);
    }
    response
}

async fn dispatch(shared: &Arc<Shared>, request: Request, prefix: Prefix, rest: &str) -> Response {
    let method = request.method().clone();
    match (prefix, method.as_str(), rest) {
        (Prefix::V0, "GET", "config") => {
            http::json_bytes(StatusCode::OK, shared.current().config_json.clone())
        }
        (Prefix::V8, "GET", "config") => {
            let mut response =
                http::json_bytes(StatusCode::OK, shared.current().config_json_v8.clone());
            response
                .headers_mut()
                .insert("cache-control", HeaderValue::from_static("no-store"));
            response
        }
        (Prefix::V8, "GET", path) if path.starts_with("config/") => {
            let settings = shared.current();
            let mut response = match subtree(&settings.config_tree_v8, &path["config/".len()..]) {
                Some(value) => http::json(StatusCode::OK, value),
                None => http::error(StatusCode::NOT_FOUND, "not_found"),
            };
            response
                .headers_mut()
                .insert("cache-control", HeaderValue::from_static("no-store"));
            response
        }
        (Prefix::V0, "GET", "config.yaml") => get_config_yaml(shared).await,
        (Prefix::V0, "PUT", "config.yaml") => put_config_yaml(shared, request).await,
        (Prefix::V0, "GET", "latest-version") | (Prefix::V8, "GET", "server/latest-version") => {
            latest::latest_version(shared).await
        }
        (Prefix::V0, "GET", "api-keys") => {
            let keys = shared.current().client_keys.clone();
            http::json(StatusCode::OK, &json!({ "api-keys": keys }))
        }
        (Prefix::V0, "PUT" | "PATCH" | "DELETE", "api-keys") => {
            change_api_keys(shared, request).await
        }
        (Prefix::V0, "GET", "allow-remote") => http::json(
            StatusCode::OK,
            &json!({ "allow-remote": shared.current().allow_remote }),
        ),
        (Prefix::V0, "PUT" | "PATCH", "allow-remote") => set_allow_remote(shared, request).await,
        _ => http::empty(StatusCode::NOT_FOUND),
    }
}

async fn read_body(request: Request) -> Option<Bytes> {
    axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
        .await
        .ok()
}

async fn get_config_yaml(shared: &Shared) -> Response {
    match tokio::fs::read(&shared.config_path).await {
        Ok(bytes) => {
            let mut response = http::empty(StatusCode::OK);
            *response.body_mut() = axum::body::Body::from(bytes);
            let headers = response.headers_mut();
            headers.insert(
                "content-type",
                HeaderValue::from_static("application/yaml; charset=utf-8"),
            );
            headers.insert("cache-control", HeaderValue::from_static("no-store"));
            headers.insert(
                "x-content-type-options",
                HeaderValue::from_static("nosniff"),
            );
            response
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            http::error_with_message(StatusCode::NOT_FOUND, "not_found", "config file not found")
        }
        Err(err) => http::error_with_message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "read_failed",
            &err.to_string(),
        ),
    }
}

/// Handles `PUT /v0/management/config.yaml`. The body must parse as a config
/// the server accepts before anything is written. The write keeps the file's
/// inode and is crash-safe, and the new settings apply before the reply.
async fn put_config_yaml(shared: &Arc<Shared>, request: Request) -> Response {
    let Some(body) = read_body(request).await else {
        return http::error_with_message(
            StatusCode::BAD_REQUEST,
            "invalid_yaml",
            "cannot read request body",
        );
    };
    let _guard = shared.write_lock.lock().await;
    let path = shared.config_path.clone();
    let written = tokio::task::spawn_blocking(move || validate_and_write(&path, &body)).await;
    match written {
        Ok(Ok(())) => {}
        Ok(Err(failure)) => {
            return http::error_with_message(failure.status, failure.code, &failure.message);
        }
        Err(err) => {
            return http::error_with_message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "write_failed",
                &format!("write task failed: {err}"),
            );
        }
    }
    if let Err(err) = shared.reload_now().await {
        return http::error_with_message(StatusCode::INTERNAL_SERVER_ERROR, "reload_failed", &err);
    }
    http::json(
        StatusCode::OK,
        &json!({ "ok": true, "changed": ["config"] }),
    )
}

/// A rejected `PUT config.yaml`, as upstream's `{"error","message"}` body.
struct WriteFailure {
    status: StatusCode,
    code: &'static str,
    message: String,
}

/// Parses `body` as the server would and writes it only when it is accepted.
fn validate_and_write(path: &std::path::Path, body: &[u8]) -> Result<(), WriteFailure> {
    // Upstream writes an empty body, which removes the management key and
    // locks management out; reject it instead.
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(WriteFailure {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_yaml",
            message: "empty body; send the whole config file".to_string(),
        });
    }
    let document = cpa_config::ConfigDocument::parse(body.to_vec(), path).map_err(|err| {
        let (status, code) = match err.kind {
            cpa_config::ErrorKind::Invalid => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_config"),
            _ => (StatusCode::BAD_REQUEST, "invalid_yaml"),
        };
        WriteFailure {
            status,
            code,
            message: err.to_string(),
        }
    })?;
    document.view().map_err(|err| WriteFailure {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code: "invalid_config",
        message: err.to_string(),
    })?;
    cpa_config::write(path, body).map_err(|err| {
        tracing::error!("failed to write config: {err}");
        WriteFailure {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "write_failed",
            message: "failed to write config".to_string(),
        }
    })
}

/// Computes the new client key list for a PUT, PATCH or DELETE with
/// upstream's rules; the error is the text of the 400 reply.
pub fn edit_api_keys(
    method: &Method,
    current: &[String],
    body: &[u8],
    query: &str,
) -> Result<Vec<String>, &'static str> {
    let invalid = || "invalid body";
    let mut keys = current.to_vec();
    match *method {
        Method::PUT => {
            let value: Value = serde_json::from_slice(body).map_err(|_| invalid())?;
            match value {
                Value::Null => Ok(Vec::new()),
                Value::Array(items) => strings(items).ok_or_else(invalid),
                Value::Object(mut map) => match map.remove("items") {
                    Some(Value::Array(items)) if !items.is_empty() => {
                        strings(items).ok_or_else(invalid)
                    }
                    _ => Err(invalid()),
                },
                _ => Err(invalid()),
            }
        }
        Method::PATCH => {
            let value: Value = serde_json::from_slice(body).map_err(|_| invalid())?;
            let Value::Object(map) = value else {
                return Err(invalid());
            };
            let index = map.get("index").and_then(Value::as_i64);
            let new_value = map.get("value").and_then(Value::as_str);
            if let (Some(index), Some(new_value)) = (index, new_value)
                && index >= 0
                && (index as usize) < keys.len()
            {
                keys[index as usize] = new_value.to_string();
                return Ok(keys);
            }
            let old = map.get("old").and_then(Value::as_str);
            let new = map.get("new").and_then(Value::as_str);
            if let (Some(old), Some(new)) = (old, new) {
                match keys.iter().position(|key| key == old) {
                    Some(position) => keys[position] = new.to_string(),
                    None => keys.push(new.to_string()),
                }
                return Ok(keys);
            }
            Err("missing fields")
        }
        Method::DELETE => {
            let index = query_value(query, "index");
            if let Ok(index) = index.parse::<usize>()
                && index < keys.len()
            {
                keys.remove(index);
                return Ok(keys);
            }
            let value = query_value(query, "value");
            if query
                .split('&')
                .any(|pair| pair.split('=').next() == Some("value"))
            {
                let target = value.trim().to_string();
                keys.retain(|key| key.trim() != target);
                return Ok(keys);
            }
            Err("missing index or value")
        }
        _ => Err("unsupported method"),
    }
}

fn strings(items: Vec<Value>) -> Option<Vec<String>> {
    items
        .into_iter()
        .map(|item| match item {
            Value::String(text) => Some(text),
            _ => None,
        })
        .collect()
}

async fn change_api_keys(shared: &Arc<Shared>, request: Request) -> Response {
    let method = request.method().clone();
    let query = request.uri().query().unwrap_or("").to_string();
    let Some(body) = read_body(request).await else {
        return http::error(StatusCode::BAD_REQUEST, "failed to read body");
    };
    let _guard = shared.write_lock.lock().await;
    let current = shared.current().client_keys.clone().unwrap_or_default();
    let keys = match edit_api_keys(&method, &current, &body, &query) {
        Ok(keys) => keys,
        Err(message) => return http::error(StatusCode::BAD_REQUEST, message),
    };
    persist(shared, move |document| document.with_client_api_keys(&keys)).await
}

async fn set_allow_remote(shared: &Arc<Shared>, request: Request) -> Response {
    let Some(body) = read_body(request).await else {
        return http::error(StatusCode::BAD_REQUEST, "invalid body");
    };
    let value = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|value| value.get("value").and_then(Value::as_bool));
    let Some(value) = value else {
        return http::error(StatusCode::BAD_REQUEST, "invalid body");
    };
    let _guard = shared.write_lock.lock().await;
    persist(shared, move |document| document.with_allow_remote(value)).await
}

/// Writes an edit through the config crate, then applies the file as written.
/// The caller must have locked `write_lock`.
async fn persist<F>(shared: &Arc<Shared>, edit: F) -> Response
where
    F: Fn(&cpa_config::ConfigDocument) -> Result<Vec<u8>, cpa_config::ConfigError> + Send + 'static,
{
    let path = shared.config_path.clone();
    let saved = tokio::task::spawn_blocking(move || cpa_config::update(&path, edit).map(|_| ()))
        .await
        .map_err(|err| format!("write task failed: {err}"))
        .and_then(|result| result.map_err(|err| err.to_string()));
    if let Err(err) = saved {
        return http::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("failed to save config: {err}"),
        );
    }
    if let Err(err) = shared.reload_now().await {
        tracing::error!("failed to reload config after a management write: {err}");
        return http::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("failed to save config: {err}"),
        );
    }
    http::json(StatusCode::OK, &json!({ "status": "ok" }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn edit(
        method: Method,
        current: &[&str],
        body: &str,
        query: &str,
    ) -> Result<Vec<String>, &'static str> {
        edit_api_keys(&method, &keys(current), body.as_bytes(), query)
    }

    #[test]
    fn put_accepts_array_items_and_null() {
        assert_eq!(
            edit(Method::PUT, &["a"], r#"["x"," y "]"#, ""),
            Ok(keys(&["x", " y "]))
        );
        assert_eq!(edit(Method::PUT, &["a"], "[]", ""), Ok(vec![]));
        assert_eq!(edit(Method::PUT, &["a"], "null", ""), Ok(vec![]));
        assert_eq!(
            edit(Method::PUT, &[], r#"{"items":["k"]}"#, ""),
            Ok(keys(&["k"]))
        );
    }

    #[test]
    fn put_rejects_other_shapes() {
        for body in [r#"{"items":[]}"#, r#"{"x":1}"#, "[1]", "\"k\"", "nope"] {
            assert_eq!(
                edit(Method::PUT, &[], body, ""),
                Err("invalid body"),
                "{body}"
            );
        }
    }

    #[test]
    fn patch_by_index_then_old_new() {
        assert_eq!(
            edit(Method::PATCH, &["a", "b"], r#"{"index":1,"value":"c"}"#, ""),
            Ok(keys(&["a", "c"]))
        );
        assert_eq!(
            edit(Method::PATCH, &["a", "b"], r#"{"old":"a","new":"z"}"#, ""),
            Ok(keys(&["z", "b"]))
        );
        assert_eq!(
            edit(Method::PATCH, &["a"], r#"{"old":"q","new":"z"}"#, ""),
            Ok(keys(&["a", "z"])),
            "an unmatched old value appends"
        );
        assert_eq!(
            edit(Method::PATCH, &["a"], r#"{"index":5,"value":"c"}"#, ""),
            Err("missing fields")
        );
        assert_eq!(edit(Method::PATCH, &["a"], "[", ""), Err("invalid body"));
    }

    #[test]
    fn delete_by_index_or_trimmed_value() {
        assert_eq!(
            edit(Method::DELETE, &["a", "b"], "", "index=0"),
            Ok(keys(&["b"]))
        );
        assert_eq!(
            edit(Method::DELETE, &[" a ", "b", "a"], "", "value=a"),
            Ok(keys(&["b"]))
        );
        assert_eq!(
            edit(Method::DELETE, &["a"], "", ""),
            Err("missing index or value")
        );
        assert_eq!(
            edit(Method::DELETE, &["a"], "", "index=3"),
            Err("missing index or value")
        );
    }
}
