//! The built-in management page and the safe-mode warning page, embedded in
//! the binary so nothing is fetched from the network.

use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;

use crate::http;

const MANAGEMENT_PAGE: &str = include_str!("../assets/management.html");

/// Page served instead of `/` and `/management.html` while `api-keys` still
/// holds the example file's keys.
pub const SAFE_MODE_PAGE: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Example API key detected</title></head><body><h1>Example API key detected</h1>\
<p>The proxy endpoints are disabled because <code>api-keys</code> in config.yaml still contains \
the example values (your-api-key-1, your-api-key-2 or your-api-key-3).</p>\
<p><a href=\"/management.html?safe-mode=configure\">Open management</a>, replace the API keys, then retry.</p>\
</body></html>\n";

/// Returns the management page with headers that keep it out of caches and frames.
pub fn management_page() -> Response {
    let mut response = http::html(StatusCode::OK, MANAGEMENT_PAGE);
    let headers = response.headers_mut();
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}
