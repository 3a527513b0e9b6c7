//! Request dispatch: CORS, the request log, and the public routes.
//!
//! Every request goes through [`handle`], which replies to `OPTIONS` itself, adds
//! upstream's CORS headers to every response and writes one log line per
//! request. The log line never contains header values, and query values are
//! masked, so management and client keys stay out of the log.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::auth::{header_text, secrets_equal};
use crate::client_ip;
use crate::http;
use crate::management;
use crate::page;
use crate::state::Shared;

/// The TCP peer of a connection, attached to each request by the server.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// The client address as resolved for this request.
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

/// Handles every request.
pub async fn handle(State(shared): State<Arc<Shared>>, mut request: Request) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let target = http::masked_target(request.uri().path(), request.uri().query());
    let settings = shared.current();
    let client = match request.extensions().get::<Peer>() {
        Some(Peer(peer)) => {
            client_ip::resolve(peer.ip(), request.headers(), &settings.trusted_proxies)
        }
        None => String::new(),
    };
    request.extensions_mut().insert(ClientIp(client.clone()));
    drop(settings);

    let mut response = if method == Method::OPTIONS {
        http::empty(StatusCode::NO_CONTENT)
    } else {
        route(&shared, request).await
    };
    http::add_cors(response.headers_mut());

    let status = response.status();
    let latency = started.elapsed();
    if status.is_server_error() {
        tracing::error!(
            "{} | {:?} | {} | {} \"{}\"",
            status.as_u16(),
            latency,
            client,
            method,
            target
        );
    } else if status.is_client_error() {
        tracing::warn!(
            "{} | {:?} | {} | {} \"{}\"",
            status.as_u16(),
            latency,
            client,
            method,
            target
        );
    } else {
        tracing::info!(
            "{} | {:?} | {} | {} \"{}\"",
            status.as_u16(),
            latency,
            client,
            method,
            target
        );
    }
    response
}

/// Paths of the client-facing API (upstream's proxy endpoints).
const CLIENT_API_PREFIXES: [&str; 4] = ["/v1", "/v1beta", "/openai/v1", "/backend-api/codex"];

fn under(path: &str, prefix: &str) -> Option<String> {
    if path == prefix {
        return Some(String::new());
    }
    path.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('/'))
        .map(str::to_string)
}

async fn route(shared: &Arc<Shared>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    let method = request.method().clone();

    if let Some(rest) = under(&path, "/v0/management") {
        return management::handle(shared, request, management::Prefix::V0, &rest).await;
    }
    if let Some(rest) = under(&path, "/v8/management") {
        return management::handle(shared, request, management::Prefix::V8, &rest).await;
    }
    if CLIENT_API_PREFIXES
        .iter()
        .any(|prefix| under(&path, prefix).is_some())
    {
        return client_api(shared, &request);
    }

    let settings = shared.current();
    let safe_mode = shared.started_in_safe_mode && settings.has_example_keys();
    match (method.as_str(), path.as_str()) {
        ("GET", "/healthz") => http::json(StatusCode::OK, &json!({ "status": "ok" })),
        ("HEAD", "/healthz") => http::empty(StatusCode::OK),
        ("GET" | "HEAD", "/") if safe_mode => safe_mode_page(&method),
        ("GET", "/") => http::json(
            StatusCode::OK,
            &json!({
                "endpoints": [
                    "POST /v1/chat/completions",
                    "POST /v1/completions",
                    "GET /v1/models"
                ],
                "message": "CLI Proxy API Server"
            }),
        ),
        ("GET" | "HEAD", "/management.html")
            if safe_mode && request.uri().query() != Some("safe-mode=configure") =>
        {
            safe_mode_page(&method)
        }
        ("GET", "/management.html") => {
            if settings.disable_control_panel {
                http::empty(StatusCode::NOT_FOUND)
            } else {
                page::management_page()
            }
        }
        ("GET", "/keep-alive") if shared.keep_alive.is_some() => keep_alive(shared, &request),
        _ => http::empty(StatusCode::NOT_FOUND),
    }
}

fn safe_mode_page(method: &Method) -> Response {
    let mut response = if method == Method::HEAD {
        let mut response = http::html(StatusCode::OK, "");
        *response.body_mut() = axum::body::Body::empty();
        response
    } else {
        http::html(StatusCode::OK, page::SAFE_MODE_PAGE)
    };
    response
        .headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-store"));
    response
}

/// `GET /keep-alive`: accepted only with `-password`; each accepted ping
/// postpones the 10-second shutdown.
fn keep_alive(shared: &Shared, request: &Request) -> Response {
    let authorization = header_text(request.headers(), "authorization");
    let provided = match authorization.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim().to_string(),
        _ if !authorization.is_empty() => authorization,
        _ => header_text(request.headers(), "x-local-password"),
    };
    let expected = shared.local_password.as_deref().unwrap_or("");
    if expected.is_empty() || !secrets_equal(&provided, expected) {
        return http::error(StatusCode::UNAUTHORIZED, "invalid password");
    }
    if let Some(sender) = &shared.keep_alive {
        let _ = sender.send(());
    }
    http::json(StatusCode::OK, &json!({ "status": "ok" }))
}

/// Checks `api-keys` for the client-facing API like upstream, then replies
/// 501 because the built-in engine has no proxy core.
fn client_api(shared: &Shared, request: &Request) -> Response {
    let settings = shared.current();
    if shared.started_in_safe_mode && settings.has_example_keys() {
        let mut response = http::error_with_message(
            StatusCode::FORBIDDEN,
            "unsafe_example_api_key",
            "Proxy API endpoints are disabled because api-keys contains template values. \
             Open /management.html?safe-mode=configure, update api-keys in Management, then retry.",
        );
        response.headers_mut().insert(
            "x-cpa-safe-mode",
            HeaderValue::from_static("example-api-key"),
        );
        return response;
    }
    let keys = settings.effective_client_keys();
    if !keys.is_empty() {
        let candidates = client_key_candidates(request);
        if candidates.is_empty() {
            return http::error(StatusCode::UNAUTHORIZED, "Missing API key");
        }
        let matched = candidates
            .iter()
            .any(|candidate| keys.iter().any(|key| secrets_equal(candidate, key)));
        if !matched {
            return http::error(StatusCode::UNAUTHORIZED, "Invalid API key");
        }
    }
    http::error_with_message(
        StatusCode::NOT_IMPLEMENTED,
        "not_implemented",
        "the built-in engine has no proxy core yet; run upstream CLIProxyAPI to serve model requests",
    )
}

/// Collects the client key candidates in upstream's order: `Authorization`
/// (`Bearer <key>` trimmed, otherwise the whole value), `X-Goog-Api-Key`,
/// `X-Api-Key`, query `key`, query `auth_token`. Empty values are skipped.
pub fn client_key_candidates(request: &Request) -> Vec<String> {
    let headers = request.headers();
    let mut candidates = Vec::new();
    let authorization = header_text(headers, "authorization");
    if !authorization.is_empty() {
        let key = match authorization.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => {
                rest.trim().to_string()
            }
            _ => authorization,
        };
        candidates.push(key);
    }
    candidates.push(header_text(headers, "x-goog-api-key"));
    candidates.push(header_text(headers, "x-api-key"));
    for name in ["key", "auth_token"] {
        candidates.push(query_value(request.uri().query().unwrap_or(""), name));
    }
    candidates.retain(|candidate| !candidate.is_empty());
    candidates
}

/// Returns the first value of query parameter `name`, percent-decoded.
pub fn query_value(query: &str, name: &str) -> String {
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if percent_decode(key) == name {
            return percent_decode(value);
        }
    }
    String::new()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        index += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(uri: &str, headers: &[(&str, &str)]) -> Request {
        let mut builder = axum::http::Request::builder().uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::empty()).unwrap()
    }

    #[test]
    fn client_candidates_follow_upstream_order() {
        let req = request(
            "/v1/models?key=q1&auth_token=q2",
            &[
                ("authorization", "Bearer  a1 "),
                ("x-goog-api-key", "g"),
                ("x-api-key", "x"),
            ],
        );
        assert_eq!(
            client_key_candidates(&req),
            vec!["a1", "g", "x", "q1", "q2"]
        );
    }

    #[test]
    fn client_candidates_take_raw_authorization() {
        let req = request("/v1/models", &[("authorization", "Token abc")]);
        assert_eq!(client_key_candidates(&req), vec!["Token abc"]);
        assert!(client_key_candidates(&request("/v1/models", &[])).is_empty());
    }

    #[test]
    fn query_values_are_decoded() {
        assert_eq!(query_value("a=1&key=sk%2D1+x", "key"), "sk-1 x");
        assert_eq!(query_value("key", "key"), "");
        assert_eq!(query_value("x=%zz", "x"), "%zz");
        assert_eq!(query_value("x=%4", "x"), "%4");
    }

    #[test]
    fn prefix_matching_requires_segment_boundary() {
        assert_eq!(under("/v1", "/v1"), Some(String::new()));
        assert_eq!(under("/v1/models", "/v1"), Some("models".into()));
        assert_eq!(under("/v1beta/x", "/v1"), None);
        assert_eq!(under("/v0/managementx", "/v0/management"), None);
    }
}
