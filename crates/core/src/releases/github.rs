//! The GitHub releases API and the HTTP client behind every download.
//!
//! One check is one request: `GET {api_base}/repos/{owner}/{repo}/releases/latest`.
//! Its response contains the tag and every asset (name, size, download URL and,
//! when GitHub has computed one, a `sha256:` digest), so an install sends no
//! further API request. Assets themselves are fetched from their
//! `browser_download_url`, optionally through mirror prefixes first.
//!
//! Proxies: an explicit proxy URL (config.yaml's `proxy-url`) wins; otherwise
//! `ALL_PROXY`, `HTTPS_PROXY` and `HTTP_PROXY` (and lowercase forms, with
//! `NO_PROXY`) are used, as ureq 3 reads them. HTTP proxies (`http://`,
//! `https://`) get a `CONNECT` request; SOCKS proxies (`socks5://`, which
//! resolves the host name locally, `socks5h://`, which lets the proxy
//! resolve it, and `socks4://`) go through ureq's `socks-proxy` feature.
//! A `user:password@` in the proxy URL is sent to the proxy only, and
//! [`redact_url`] removes it from every message.
//!
//! The token is sent only to the API base as `Authorization: Bearer`, never to
//! download hosts, and is left out of `Debug` output and every error.

use std::fmt;
use std::io::{self, Read};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use super::ReleaseError;
use super::version::Version;

/// Public GitHub API.
pub const DEFAULT_API_BASE: &str = "https://api.github.com";
/// Repository that publishes CLIProxyAPI.
pub const DEFAULT_REPOSITORY: &str = "router-for-me/CLIProxyAPI";
/// Environment variable that overrides the API base URL (tests, GitHub Enterprise, API mirrors).
pub const API_BASE_ENV: &str = "CPA_TRAY_RELEASES_API";

/// Maximum size of the release JSON. Real responses are a few tens of KB (an
/// estimate for about a dozen assets).
const MAX_RELEASE_JSON: u64 = 8 * 1024 * 1024;
/// Size of ureq's socket read buffer. Larger than ureq's 128 KiB default so
/// each socket read fills one whole download chunk.
const INPUT_BUFFER: usize = 512 * 1024;
/// Maximum error body read to extract GitHub's `message`.
const MAX_ERROR_BODY: u64 = 64 * 1024;

/// Proxy choice of the HTTP client.
#[derive(Clone, PartialEq, Eq)]
pub enum ProxySetting {
    /// The standard proxy environment variables, if any is set.
    Environment,
    /// An explicit proxy URL such as config.yaml's `proxy-url`.
    Url(String),
    /// No proxy, even if the environment names one.
    Direct,
}

impl fmt::Debug for ProxySetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxySetting::Environment => f.write_str("Environment"),
            ProxySetting::Url(url) => write!(f, "Url({})", redact_url(url)),
            ProxySetting::Direct => f.write_str("Direct"),
        }
    }
}

impl ProxySetting {
    /// Picks the explicit proxy URL when it is set and not blank, the environment otherwise.
    pub fn from_proxy_url(proxy_url: Option<&str>) -> ProxySetting {
        match proxy_url.map(str::trim) {
            Some(url) if !url.is_empty() => ProxySetting::Url(url.to_string()),
            _ => ProxySetting::Environment,
        }
    }
}

/// Network timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Connection setup, including DNS, proxy and TLS handshakes.
    pub connect: Duration,
    /// Maximum wait for data while reading a response (restarts on every read).
    pub read: Duration,
    /// Whole API request, body included. Downloads have no total limit
    /// because their duration grows with the asset size.
    pub api_total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            read: Duration::from_secs(30),
            api_total: Duration::from_secs(30),
        }
    }
}

/// Release repository, API base URL, mirrors, proxy and timeouts.
#[derive(Clone)]
pub struct ReleaseSource {
    /// API base URL without a trailing slash, e.g. `https://api.github.com`.
    pub api_base: String,
    /// `owner/name` of the repository.
    pub repository: String,
    /// Optional GitHub token for a higher rate limit. Never logged.
    pub token: Option<String>,
    pub proxy: ProxySetting,
    /// URL prefixes tried in order before each plain download URL: the
    /// prefix followed by the original URL, e.g. `https://mirror.example/`
    /// gives `https://mirror.example/https://github.com/...`.
    pub mirrors: Vec<String>,
    pub timeouts: Timeouts,
    /// `User-Agent` header; GitHub rejects requests without one.
    pub user_agent: String,
}

impl fmt::Debug for ReleaseSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReleaseSource")
            .field("api_base", &self.api_base)
            .field("repository", &self.repository)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("proxy", &self.proxy)
            .field("mirrors", &self.mirrors)
            .field("timeouts", &self.timeouts)
            .field("user_agent", &self.user_agent)
            .finish()
    }
}

impl Default for ReleaseSource {
    fn default() -> Self {
        ReleaseSource {
            api_base: DEFAULT_API_BASE.to_string(),
            repository: DEFAULT_REPOSITORY.to_string(),
            token: None,
            proxy: ProxySetting::Environment,
            mirrors: Vec::new(),
            timeouts: Timeouts::default(),
            user_agent: format!("cpa-tray/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

impl ReleaseSource {
    /// Picks the API base URL: the environment value (`CPA_TRAY_RELEASES_API`,
    /// read by the caller) wins over the `releasesApi` setting, which wins
    /// over [`DEFAULT_API_BASE`]. Blank values count as unset.
    pub fn resolve_api_base(env_value: Option<&str>, setting: Option<&str>) -> String {
        [env_value, setting]
            .into_iter()
            .flatten()
            .map(str::trim)
            .find(|value| !value.is_empty())
            .unwrap_or(DEFAULT_API_BASE)
            .trim_end_matches('/')
            .to_string()
    }

    /// Returns the URL of the latest-release endpoint.
    pub fn latest_release_url(&self) -> String {
        format!(
            "{}/repos/{}/releases/latest",
            self.api_base.trim_end_matches('/'),
            self.repository.trim_matches('/')
        )
    }

    /// Returns the URLs to try for `url`, mirrors first, the plain URL last.
    pub fn download_urls(&self, url: &str) -> Vec<String> {
        let mut urls: Vec<String> = self
            .mirrors
            .iter()
            .map(|prefix| prefix.trim())
            .filter(|prefix| !prefix.is_empty())
            .map(|prefix| {
                if prefix.ends_with('/') {
                    format!("{prefix}{url}")
                } else {
                    format!("{prefix}/{url}")
                }
            })
            .collect();
        urls.push(url.to_string());
        urls
    }

    fn validate(&self) -> Result<(), ReleaseError> {
        check_http_url(&self.api_base, self.api_base_origin())?;
        let parts: Vec<&str> = self.repository.split('/').collect();
        let valid_part = |part: &str| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        if parts.len() != 2 || !parts.iter().all(|part| valid_part(part)) {
            return Err(ReleaseError::InvalidUrl {
                url: self.repository.clone(),
                reason: "the repository must be written as owner/name".to_string(),
                origin: None,
            });
        }
        for mirror in &self.mirrors {
            if !mirror.trim().is_empty() {
                check_http_url(mirror.trim(), Some("the downloadMirrors setting"))?;
            }
        }
        Ok(())
    }

    /// Names where `api_base` came from, for error messages. The environment
    /// variable wins over the setting in [`ReleaseSource::resolve_api_base`],
    /// so a set variable is the origin. Otherwise a value other than the
    /// default came from the `releasesApi` setting or from code that built
    /// this source, which is named as the setting too.
    fn api_base_origin(&self) -> Option<&'static str> {
        let env_set = std::env::var(API_BASE_ENV).is_ok_and(|value| !value.trim().is_empty());
        if env_set {
            Some(API_BASE_ENV)
        } else if self.api_base != DEFAULT_API_BASE {
            Some("the releasesApi setting")
        } else {
            None
        }
    }

    /// Builds the HTTP client: proxy, connect and per-read timeouts, and no
    /// automatic error on 4xx/5xx (statuses are mapped to [`ReleaseError`]s here).
    pub(crate) fn agent(&self) -> Result<ureq::Agent, ReleaseError> {
        self.validate()?;
        let proxy = match &self.proxy {
            ProxySetting::Environment => ureq::Proxy::try_from_env(),
            ProxySetting::Direct => None,
            ProxySetting::Url(url) => {
                Some(
                    ureq::Proxy::new(url).map_err(|err| ReleaseError::InvalidProxy {
                        url: redact_url(url),
                        reason: match err {
                            ureq::Error::InvalidProxyUrl => {
                                "expected http://, https://, socks5:// or socks5h:// followed by host:port".to_string()
                            }
                            other => other.to_string(),
                        },
                    })?,
                )
            }
        };
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(proxy)
            .timeout_connect(Some(self.timeouts.connect))
            .timeout_per_read(Some(self.timeouts.read))
            .input_buffer_size(INPUT_BUFFER)
            .user_agent(self.user_agent.as_str())
            .build();
        Ok(ureq::Agent::new_with_config(config))
    }
}

fn check_http_url(url: &str, origin: Option<&'static str>) -> Result<(), ReleaseError> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        Ok(())
    } else {
        Err(ReleaseError::InvalidUrl {
            url: redact_url(url),
            reason: "expected an http:// or https:// URL".to_string(),
            origin,
        })
    }
}

/// Removes `user:password@` from a URL so it can appear in messages.
pub(crate) fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let redacted = match rest[..authority_end].rfind('@') {
        Some(at) => format!("<redacted>@{}", &rest[at + 1..]),
        None => rest.to_string(),
    };
    match scheme {
        Some(scheme) => format!("{scheme}://{redacted}"),
        None => redacted,
    }
}

/// One downloadable file of a release.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Asset {
    pub name: String,
    /// Size in bytes, as GitHub lists it.
    pub size: u64,
    pub browser_download_url: String,
    /// GitHub's own digest, `sha256:<hex>`. Older assets have none.
    #[serde(default)]
    pub digest: Option<String>,
}

impl Asset {
    /// Returns the lowercase hex SHA-256 from [`Asset::digest`], if it has one.
    pub fn sha256_digest(&self) -> Option<String> {
        let hex = self.digest.as_deref()?.strip_prefix("sha256:")?;
        (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| hex.to_ascii_lowercase())
    }
}

/// The latest release as the API returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestRelease {
    /// Tag exactly as published, e.g. `v8.0.10`; validated as a folder name.
    pub tag: String,
    pub version: Version,
    pub html_url: Option<String>,
    pub published_at: Option<String>,
    pub assets: Vec<Asset>,
}

#[derive(Deserialize)]
struct ReleaseJson {
    tag_name: String,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    published_at: Option<String>,
    #[serde(default)]
    assets: Vec<Asset>,
}

impl LatestRelease {
    /// Parses GitHub's release JSON. `url` only labels errors.
    pub fn from_json(url: &str, body: &[u8]) -> Result<LatestRelease, ReleaseError> {
        let json: ReleaseJson =
            serde_json::from_slice(body).map_err(|source| ReleaseError::InvalidJson {
                url: url.to_string(),
                source,
            })?;
        let version = Version::parse(&json.tag_name)?;
        Ok(LatestRelease {
            tag: json.tag_name,
            version,
            html_url: json.html_url,
            published_at: json.published_at,
            assets: json.assets,
        })
    }

    /// Returns the `checksums.txt` asset, if the release has one.
    pub fn checksums_asset(&self) -> Option<&Asset> {
        self.assets
            .iter()
            .find(|asset| asset.name == "checksums.txt")
    }
}

/// Fetches the latest release with exactly one API request.
pub fn fetch_latest(source: &ReleaseSource) -> Result<LatestRelease, ReleaseError> {
    let agent = source.agent()?;
    let url = source.latest_release_url();

    let mut request = agent
        .get(&url)
        .header("Accept", "application/vnd.github+json")
        .header("X-GitHub-Api-Version", "2022-11-28");
    if let Some(token) = source.token.as_deref().filter(|t| !t.trim().is_empty()) {
        request = request.header("Authorization", format!("Bearer {}", token.trim()));
    }
    let response = request
        .config()
        .timeout_global(Some(source.timeouts.api_total))
        .build()
        .call()
        .map_err(|err| map_ureq_error(&url, err, source.timeouts.api_total))?;

    let status = response.status().as_u16();
    if status != 200 {
        return Err(status_error(&url, response));
    }
    let body = read_limited(&url, response, MAX_RELEASE_JSON, source.timeouts.api_total)?;
    LatestRelease::from_json(&url, &body)
}

/// Reads a whole (small) response body, failing past `limit` bytes.
pub(crate) fn read_limited(
    url: &str,
    response: ureq::http::Response<ureq::Body>,
    limit: u64,
    timeout: Duration,
) -> Result<Vec<u8>, ReleaseError> {
    let mut body = Vec::new();
    response
        .into_body()
        .into_reader()
        .take(limit + 1)
        .read_to_end(&mut body)
        .map_err(|err| map_io_error(url, err, timeout))?;
    if body.len() as u64 > limit {
        return Err(ReleaseError::ResponseTooLarge {
            url: url.to_string(),
            limit,
        });
    }
    Ok(body)
}

/// Maps a non-success response to an error carrying GitHub's `message`.
pub(crate) fn status_error(url: &str, response: ureq::http::Response<ureq::Body>) -> ReleaseError {
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
            .map(str::to_string)
    };
    let remaining = header("x-ratelimit-remaining");
    let reset = header("x-ratelimit-reset");
    let retry_after = header("retry-after");

    let mut body = Vec::new();
    // The body only decorates the message, so a failed read leaves it empty.
    let _ = response
        .into_body()
        .into_reader()
        .take(MAX_ERROR_BODY)
        .read_to_end(&mut body);
    let message = github_message(&body);

    let rate_limited = status == 429 || (status == 403 && remaining.as_deref() == Some("0"));
    if rate_limited {
        let reset = reset
            .and_then(|value| value.parse::<u64>().ok())
            .map(format_reset)
            .or_else(|| {
                retry_after
                    .and_then(|value| value.parse::<u64>().ok())
                    .map(|secs| format!("{secs} s from now"))
            });
        return ReleaseError::RateLimited {
            url: url.to_string(),
            status,
            reset,
            message,
        };
    }
    if status == 404 {
        return ReleaseError::NotFound {
            url: url.to_string(),
            message,
        };
    }
    ReleaseError::HttpStatus {
        url: url.to_string(),
        status,
        message,
    }
}

/// Extracts `message` from a GitHub error body, or a short excerpt of any
/// other body. An HTML page (a proxy's or a mirror's error page) gives its
/// text without the markup.
fn github_message(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct ErrorJson {
        message: String,
    }
    if let Ok(json) = serde_json::from_slice::<ErrorJson>(body) {
        return json.message;
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "empty response body".to_string();
    }
    let text = if text.starts_with('<') {
        strip_markup(text)
    } else {
        text.to_string()
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() {
        return "an HTML page without text".to_string();
    }
    words.join(" ").chars().take(200).collect()
}

/// Returns the text of an HTML page: tags, and the contents of `<head>`,
/// `<style>` and `<script>` elements removed; the page's title when no
/// other text remains.
fn strip_markup(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let mut text = String::new();
    let mut rest = html;
    let mut rest_lower = lower.as_str();
    // Skip whole elements whose content is not text for the reader.
    for skipped in ["head", "style", "script"] {
        let open = format!("<{skipped}");
        let close = format!("</{skipped}>");
        while let Some(start) = rest_lower.find(&open) {
            let Some(length) = rest_lower[start..].find(&close) else {
                break;
            };
            let end = start + length + close.len();
            text.push_str(&tag_free(&rest[..start]));
            text.push(' ');
            rest = &rest[end..];
            rest_lower = &rest_lower[end..];
        }
    }
    text.push_str(&tag_free(rest));
    if !text.trim().is_empty() {
        return text;
    }
    let title = lower.find("<title>").and_then(|start| {
        let start = start + "<title>".len();
        let end = start + lower[start..].find("</title>")?;
        Some(html[start..end].to_string())
    });
    title.unwrap_or_default()
}

/// Removes `<...>` tags from `html`, leaving a space in their place.
fn tag_free(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(ch),
            _ => {}
        }
    }
    text
}

/// Formats a Unix time as `YYYY-MM-DD HH:MM:SS UTC (in N min)`.
fn format_reset(epoch: u64) -> String {
    let days = (epoch / 86_400) as i64;
    let secs = epoch % 86_400;
    let (year, month, day) = civil_from_days(days);
    let mut text = format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    );
    if let Ok(now) = SystemTime::now().duration_since(UNIX_EPOCH) {
        let now = now.as_secs();
        if epoch > now {
            text.push_str(&format!(" (in {} min)", (epoch - now).div_ceil(60)));
        }
    }
    text
}

/// Converts days since 1970-01-01 to a proleptic Gregorian date
/// (Howard Hinnant's `civil_from_days` algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Maps a ureq error, telling timeouts apart from other network failures.
pub(crate) fn map_ureq_error(url: &str, err: ureq::Error, timeout: Duration) -> ReleaseError {
    match err {
        ureq::Error::Timeout(_) => ReleaseError::Timeout {
            url: url.to_string(),
            seconds: timeout.as_secs_f64(),
        },
        ureq::Error::Io(io) if io.kind() == io::ErrorKind::TimedOut => ReleaseError::Timeout {
            url: url.to_string(),
            seconds: timeout.as_secs_f64(),
        },
        ureq::Error::InvalidProxyUrl => ReleaseError::InvalidProxy {
            url: "(from the environment)".to_string(),
            reason: "the proxy URL is invalid".to_string(),
        },
        other => ReleaseError::Network {
            url: url.to_string(),
            source: other,
        },
    }
}

/// Maps an I/O error raised while reading a response body.
pub(crate) fn map_io_error(url: &str, err: io::Error, timeout: Duration) -> ReleaseError {
    if is_timeout(&err) {
        return ReleaseError::Timeout {
            url: url.to_string(),
            seconds: timeout.as_secs_f64(),
        };
    }
    ReleaseError::Transfer {
        url: url.to_string(),
        source: err,
    }
}

pub(crate) fn is_timeout(err: &io::Error) -> bool {
    if err.kind() == io::ErrorKind::TimedOut {
        return true;
    }
    matches!(
        err.get_ref()
            .and_then(|inner| inner.downcast_ref::<ureq::Error>()),
        Some(ureq::Error::Timeout(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_base_precedence() {
        assert_eq!(
            ReleaseSource::resolve_api_base(Some("http://127.0.0.1:9/"), Some("https://x")),
            "http://127.0.0.1:9"
        );
        assert_eq!(
            ReleaseSource::resolve_api_base(Some("  "), Some("https://x/")),
            "https://x"
        );
        assert_eq!(
            ReleaseSource::resolve_api_base(None, None),
            DEFAULT_API_BASE
        );
    }

    #[test]
    fn mirror_urls_come_first() {
        let source = ReleaseSource {
            mirrors: vec![
                "https://m1.example/".into(),
                "https://m2.example".into(),
                " ".into(),
            ],
            ..ReleaseSource::default()
        };
        assert_eq!(
            source.download_urls("https://github.com/a/b"),
            vec![
                "https://m1.example/https://github.com/a/b",
                "https://m2.example/https://github.com/a/b",
                "https://github.com/a/b",
            ]
        );
    }

    #[test]
    fn proxy_credentials_are_redacted() {
        assert_eq!(
            redact_url("http://user:secret@proxy.example:3128/x@y"),
            "http://<redacted>@proxy.example:3128/x@y"
        );
        assert_eq!(redact_url("http://proxy:3128"), "http://proxy:3128");
        let debug = format!("{:?}", ProxySetting::Url("http://u:pw@p:1".into()));
        assert!(!debug.contains("pw"), "{debug}");
    }

    #[test]
    fn token_is_not_in_debug_output() {
        let source = ReleaseSource {
            token: Some("ghp_secret_value".into()),
            ..ReleaseSource::default()
        };
        assert!(!format!("{source:?}").contains("ghp_secret_value"));
    }

    #[test]
    fn reset_time_is_formatted_as_utc() {
        assert!(format_reset(0).starts_with("1970-01-01 00:00:00 UTC"));
        assert!(format_reset(1_767_225_600).starts_with("2026-01-01 00:00:00 UTC"));
        assert!(format_reset(951_782_400).starts_with("2000-02-29 00:00:00 UTC"));
    }

    #[test]
    fn github_message_is_extracted() {
        assert_eq!(github_message(br#"{"message":"Not Found"}"#), "Not Found");
        assert_eq!(github_message(b"<html>\n blocked </html>"), "blocked");
        assert_eq!(github_message(b""), "empty response body");
        assert_eq!(
            github_message(b"<html></html>"),
            "an HTML page without text"
        );
        assert_eq!(
            github_message(b"<html><head><title>Blocked</title></head></html>"),
            "Blocked"
        );
        // Python's http.server 404 page gives its body text without markup.
        let page = b"<!DOCTYPE HTML>\n<html lang=\"en\">\n    <head>\n        <meta charset=\"utf-8\">\n        <title>Error response</title>\n    </head>\n    <body>\n        <h1>Error response</h1>\n        <p>Error code: 404</p>\n        <p>Message: File not found.</p>\n    </body>\n</html>\n";
        assert_eq!(
            github_message(page),
            "Error response Error code: 404 Message: File not found."
        );
    }

    #[test]
    fn digest_field_is_parsed() {
        let asset = Asset {
            name: "a".into(),
            size: 1,
            browser_download_url: "http://x".into(),
            digest: Some(format!("sha256:{}", "AB".repeat(32))),
        };
        assert_eq!(asset.sha256_digest(), Some("ab".repeat(32)));
        let other = Asset {
            digest: Some("md5:00".into()),
            ..asset
        };
        assert_eq!(other.sha256_digest(), None);
    }
}
