//! Response builders with upstream's exact headers and body encodings.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

/// `Content-Type` gin sends for JSON.
pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// Headers upstream exposes to browsers (CORS), in upstream's order.
const EXPOSED_HEADERS: &str = "X-CPA-TRACE-ID, X-CPA-VERSION, X-CPA-COMMIT, X-CPA-BUILD-DATE, \
X-CPA-SUPPORT-PLUGIN, X-CPA-HOME-VERSION, X-CPA-HOME-BUILD-DATE, X-SERVER-VERSION, \
X-SERVER-BUILD-DATE, Location, Retry-After, X-Request-Id, OpenAI-Request-Id";

/// Returns a response with `status` and no body and no `Content-Type`.
pub fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// Returns `bytes` as a JSON response.
pub fn json_bytes(status: StatusCode, bytes: Bytes) -> Response {
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    response
}

/// Returns `value` as compact JSON, object keys sorted as Go sorts map keys.
pub fn json(status: StatusCode, value: &Value) -> Response {
    let bytes = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    json_bytes(status, Bytes::from(bytes))
}

/// Returns `{"error": message}`.
pub fn error(status: StatusCode, message: &str) -> Response {
    json(status, &serde_json::json!({ "error": message }))
}

/// Returns `{"error": code, "message": message}`.
pub fn error_with_message(status: StatusCode, code: &str, message: &str) -> Response {
    json(
        status,
        &serde_json::json!({ "error": code, "message": message }),
    )
}

/// Adds the CORS headers upstream sets on every response.
pub fn add_cors(headers: &mut HeaderMap) {
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    headers.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE, OPTIONS"),
    );
    headers.insert(
        "access-control-allow-headers",
        HeaderValue::from_static("*"),
    );
    headers.insert(
        "access-control-expose-headers",
        HeaderValue::from_static(EXPOSED_HEADERS),
    );
}

/// Returns an HTML response.
pub fn html(status: StatusCode, body: &'static str) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// Returns `path?query` with every query value replaced by `***`, so keys
/// passed as `?key=` or `?auth_token=` never reach the log.
pub fn masked_target(path: &str, query: Option<&str>) -> String {
    let Some(query) = query.filter(|query| !query.is_empty()) else {
        return path.to_string();
    };
    let masked: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) => format!("{name}=***"),
            None => pair.to_string(),
        })
        .collect();
    format!("{path}?{}", masked.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_is_compact_json() {
        let response = error(StatusCode::UNAUTHORIZED, "missing management key");
        assert_eq!(response.headers()[header::CONTENT_TYPE], JSON_CONTENT_TYPE);
    }

    #[test]
    fn error_with_message_sorts_keys() {
        let value = serde_json::json!({ "message": "m", "error": "e" });
        assert_eq!(
            serde_json::to_string(&value).unwrap(),
            r#"{"error":"e","message":"m"}"#
        );
    }

    #[test]
    fn masked_target_hides_values() {
        assert_eq!(masked_target("/v1/models", None), "/v1/models");
        assert_eq!(
            masked_target("/v1/models", Some("key=sk-1&x&auth_token=t")),
            "/v1/models?key=***&x&auth_token=***"
        );
    }
}
