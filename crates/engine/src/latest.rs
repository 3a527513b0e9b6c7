//! `GET /v0/management/latest-version`: the newest upstream release tag.
//!
//! Asks `<releases API>/repos/router-for-me/CLIProxyAPI/releases/latest`
//! (base from `CPA_TRAY_RELEASES_API`, default `https://api.github.com`) with a
//! 10-second timeout, through `proxy-url` when set, and maps failures to
//! upstream's 502 bodies so an offline machine gets a clear error.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::http;
use crate::state::Shared;

const RELEASE_PATH: &str = "/repos/router-for-me/CLIProxyAPI/releases/latest";
const TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes of an unexpected reply quoted in the error, as upstream.
const QUOTED_BODY_BYTES: usize = 1024;

pub async fn latest_version(shared: &Shared) -> Response {
    let url = format!(
        "{}{RELEASE_PATH}",
        shared.releases_api.trim_end_matches('/')
    );
    let proxy = shared.current().proxy_url.clone();
    let outcome = tokio::task::spawn_blocking(move || fetch(&url, proxy.as_deref())).await;
    match outcome {
        Ok(Ok(version)) => http::json(StatusCode::OK, &json!({ "latest-version": version })),
        Ok(Err((code, message))) => {
            let status = if code == "request_create_failed" {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::BAD_GATEWAY
            };
            http::error_with_message(status, code, &message)
        }
        Err(err) => http::error_with_message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "request_failed",
            &format!("release lookup task failed: {err}"),
        ),
    }
}

type FetchError = (&'static str, String);

fn fetch(url: &str, proxy: Option<&str>) -> Result<String, FetchError> {
    let proxy = match proxy {
        Some(proxy) => Some(
            ureq::Proxy::new(proxy)
                .map_err(|err| ("request_create_failed", format!("invalid proxy-url: {err}")))?,
        ),
        None => None,
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .proxy(proxy)
        .build()
        .into();
    let mut response = agent
        .get(url)
        .header("Accept", "application/vnd.github+json")
        .header("User-Agent", "CLIProxyAPI")
        .call()
        .map_err(|err| ("request_failed", format!("failed to reach {url}: {err}")))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(4 * 1024 * 1024)
        .read_to_vec()
        .map_err(|err| {
            (
                "request_failed",
                format!("failed to read the reply from {url}: {err}"),
            )
        })?;
    if status != 200 {
        let quoted = String::from_utf8_lossy(&body[..body.len().min(QUOTED_BODY_BYTES)])
            .trim()
            .to_string();
        return Err(("unexpected_status", format!("status {status}: {quoted}")));
    }
    let value: Value = serde_json::from_slice(&body)
        .map_err(|err| ("decode_failed", format!("invalid JSON from {url}: {err}")))?;
    release_version(&value)
        .ok_or_else(|| ("invalid_response", "missing release version".to_string()))
}

/// Returns `tag_name`, else `name`, trimmed, when non-empty.
pub fn release_version(value: &Value) -> Option<String> {
    ["tag_name", "name"].iter().find_map(|field| {
        value
            .get(field)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_string)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_prefers_tag_name() {
        assert_eq!(
            release_version(&json!({"tag_name": "v7.2.140", "name": "x"})),
            Some("v7.2.140".into())
        );
        assert_eq!(
            release_version(&json!({"tag_name": " ", "name": "v1"})),
            Some("v1".into())
        );
        assert_eq!(release_version(&json!({})), None);
    }
}
