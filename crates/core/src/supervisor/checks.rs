//! Checks for what a server that passes `GET /healthz` may still not offer:
//! its proxy API (safe mode) and its WebUI page.
//!
//! `/healthz` only proves that the listener is up. A server started with
//! upstream's example client keys runs in safe mode and rejects every proxy
//! request. A server whose panel download failed returns 404 on
//! `/management.html`, although its management API works. Both checks send
//! no key, so they never count toward the management ban. On a healthy
//! server, upstream logs neither request as a warning.
//!
//! - `GET /` returns a JSON greeting normally, and an HTML warning page in
//!   safe mode.
//! - `GET /management.html?safe-mode=configure` with `Range: bytes=0-0`
//!   returns the page's first byte (200 or 206) when the page exists, and 404
//!   when it is missing or switched off. The query makes a server in safe
//!   mode serve the real page, and other servers ignore it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::http;

/// Timeout of each check request, for the whole exchange (see
/// [`http::get_on`]). Upstream downloads a missing panel while the page
/// request waits (up to 15 s), so a slower response counts as unknown.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// Environment variable that sets the location of upstream's WebUI page.
pub const MANAGEMENT_STATIC_PATH_ENV: &str = "MANAGEMENT_STATIC_PATH";

/// Environment variable for upstream's writable folder; its `static/` folder then contains the page.
pub const WRITABLE_PATH_ENV: &str = "WRITABLE_PATH";

/// State of the WebUI page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebUi {
    /// `/management.html` returned the page.
    Served,
    /// `/management.html` returned 404.
    Missing,
    /// No response before the timeout, or another status.
    Unknown,
}

impl WebUi {
    pub fn as_str(self) -> &'static str {
        match self {
            WebUi::Served => "served",
            WebUi::Missing => "missing",
            WebUi::Unknown => "unknown",
        }
    }
}

/// Results of [`check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerChecks {
    /// Whether the server rejects proxy requests because `api-keys` contains
    /// one of upstream's example keys. `None` when `GET /` failed.
    pub safe_mode: Option<bool>,
    pub webui: WebUi,
}

/// Checks the server at `addr` for safe mode and its WebUI page. Returns
/// `None` for a TLS server, because this client speaks plain HTTP only.
pub fn check(addr: SocketAddr, tls: bool) -> Option<ServerChecks> {
    if tls {
        return None;
    }
    let safe_mode = http::get(addr, "/", &[], CHECK_TIMEOUT)
        .ok()
        .map(|response| is_safe_mode_page(&response));
    let webui = match http::get(
        addr,
        "/management.html?safe-mode=configure",
        &[("Range", "bytes=0-0")],
        CHECK_TIMEOUT,
    ) {
        Ok(response) if matches!(response.status, 200 | 206) => WebUi::Served,
        Ok(response) if response.status == 404 => WebUi::Missing,
        _ => WebUi::Unknown,
    };
    Some(ServerChecks { safe_mode, webui })
}

/// Returns whether `response` to `GET /` is upstream's safe-mode warning page
/// rather than its JSON greeting.
fn is_safe_mode_page(response: &http::Response) -> bool {
    response.status == 200
        && response
            .header("content-type")
            .is_some_and(|kind| kind.to_ascii_lowercase().starts_with("text/html"))
}

/// Returns where upstream looks for `management.html` for the config at
/// `config`, following the same order: `MANAGEMENT_STATIC_PATH` (a file
/// named `management.html`, or a folder), `WRITABLE_PATH/static`, and the
/// config's folder's `static/`.
///
/// The server inherits this process's environment, so these are the
/// variables it reads.
pub fn webui_page_path(config: &Path) -> PathBuf {
    page_path_from(
        config,
        std::env::var_os(MANAGEMENT_STATIC_PATH_ENV).map(PathBuf::from),
        std::env::var_os(WRITABLE_PATH_ENV).map(PathBuf::from),
    )
}

fn page_path_from(
    config: &Path,
    static_path: Option<PathBuf>,
    writable: Option<PathBuf>,
) -> PathBuf {
    const PAGE: &str = "management.html";
    if let Some(path) = static_path.filter(|path| !path.as_os_str().is_empty()) {
        let names_the_page = path
            .file_name()
            .is_some_and(|name| name.to_string_lossy().eq_ignore_ascii_case(PAGE));
        return if names_the_page {
            path
        } else {
            path.join(PAGE)
        };
    }
    if let Some(dir) = writable.filter(|path| !path.as_os_str().is_empty()) {
        return dir.join("static").join(PAGE);
    }
    let folder = if config.is_dir() {
        config.to_path_buf()
    } else {
        config.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    folder.join("static").join(PAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_path_follows_upstream_order() {
        let config = Path::new("/home/u/.cli-proxy-api-tray/config.yaml");
        assert_eq!(
            page_path_from(config, None, None),
            Path::new("/home/u/.cli-proxy-api-tray/static/management.html")
        );
        assert_eq!(
            page_path_from(config, None, Some("/var/cpa".into())),
            Path::new("/var/cpa/static/management.html")
        );
        assert_eq!(
            page_path_from(config, Some("/srv/panel".into()), Some("/var/cpa".into())),
            Path::new("/srv/panel/management.html")
        );
        assert_eq!(
            page_path_from(config, Some("/srv/Management.HTML".into()), None),
            Path::new("/srv/Management.HTML")
        );
        assert_eq!(
            page_path_from(config, Some("".into()), Some("".into())),
            Path::new("/home/u/.cli-proxy-api-tray/static/management.html")
        );
    }
}
