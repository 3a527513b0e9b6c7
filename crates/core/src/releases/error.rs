//! Errors of the release pipeline.
//!
//! Each variant's message names the value that failed (URL, asset, tag, path)
//! and never contains the GitHub token or proxy credentials. [`ReleaseError::hint`]
//! returns the next step for the user, printed on its own line by the CLI.

use std::io;
use std::path::PathBuf;

use super::github::redact_url;
use super::reason_zh::{zh_origin, zh_reason};
use crate::messages::Lang;

/// Reason no checksum was found for an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MissingChecksum {
    /// The release has no `checksums.txt` and the asset has no GitHub digest.
    NoChecksumsFile,
    /// `checksums.txt` exists but has no line for the archive. Upstream
    /// re-uploads the file after each build job, so it can be incomplete for a
    /// few minutes after a release is published.
    NoEntry,
    /// The release lists `checksums.txt`, but its URL returned HTTP 404.
    ChecksumsFileNotFound { url: String },
}

/// An error of the release pipeline. Failures leave `versions/` as it was.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("Invalid release tag {tag:?}: {reason}")]
    InvalidTag { tag: String, reason: String },

    #[error("CLIProxyAPI publishes no build for {os}/{arch}")]
    UnsupportedPlatform { os: String, arch: String },

    #[error("Invalid URL {:?}{}: {reason}", redact_url(url), origin.map(|o| format!(" in {o}")).unwrap_or_default())]
    InvalidUrl {
        url: String,
        reason: String,
        /// The setting or variable that configured the URL:
        /// [`super::API_BASE_ENV`], `the releasesApi setting` or
        /// `the downloadMirrors setting`.
        origin: Option<&'static str>,
    },

    #[error("Invalid proxy URL {url}: {reason}")]
    InvalidProxy { url: String, reason: String },

    #[error("GitHub API rate limit exceeded (HTTP {status}) for {}{}: {message}", redact_url(url),
        reset.as_ref().map(|r| format!("; the limit resets at {r}")).unwrap_or_default())]
    RateLimited {
        url: String,
        status: u16,
        /// Reset time from `X-RateLimit-Reset`, formatted as UTC.
        reset: Option<String>,
        message: String,
    },

    #[error("Not found (HTTP 404): {}: {message}", redact_url(url))]
    NotFound { url: String, message: String },

    #[error("Response from {} is larger than {limit} bytes", redact_url(url))]
    ResponseTooLarge { url: String, limit: u64 },

    #[error("Request failed with HTTP {status}: {}: {message}", redact_url(url))]
    HttpStatus {
        url: String,
        status: u16,
        message: String,
    },

    #[error("Timed out after {seconds:.1} s waiting for {}", redact_url(url))]
    Timeout { url: String, seconds: f64 },

    #[error("Failed to request {}", redact_url(url))]
    Network {
        url: String,
        #[source]
        source: ureq::Error,
    },

    #[error("Invalid JSON from {}", redact_url(url))]
    InvalidJson {
        url: String,
        #[source]
        source: serde_json::Error,
    },

    #[error(
        "No asset for {tag} on {os}/{arch}: expected {expected}; the release has: {}",
        if available.is_empty() { "no assets".to_string() } else { available.join(", ") }
    )]
    AssetNotFound {
        tag: String,
        os: &'static str,
        arch: &'static str,
        expected: String,
        available: Vec<String>,
    },

    #[error("The download of {name} is not a {expected} archive{}", content_type.as_ref().map(|c| format!(" (Content-Type: {c})")).unwrap_or_default())]
    NotAnArchive {
        name: String,
        expected: super::ArchiveKind,
        content_type: Option<String>,
    },

    #[error("Download of {name} is truncated: received {received} of {expected} bytes")]
    Truncated {
        name: String,
        received: u64,
        expected: u64,
    },

    #[error("Download of {name} is larger than the {expected} bytes the release lists")]
    TooLarge { name: String, expected: u64 },

    #[error("Failed to download {}", redact_url(url))]
    Transfer {
        url: String,
        #[source]
        source: io::Error,
    },

    #[error("Checksum mismatch for {name}: expected SHA-256 {expected}, got {actual}")]
    ChecksumMismatch {
        name: String,
        expected: String,
        actual: String,
    },

    #[error("{}", match reason {
        MissingChecksum::NoChecksumsFile => format!("No checksum for {name}: the release has no checksums.txt"),
        MissingChecksum::NoEntry => format!("No checksum for {name}: checksums.txt has no line for it"),
        MissingChecksum::ChecksumsFileNotFound { url } => format!("No checksum for {name}: the release lists checksums.txt, but {} returned HTTP 404", redact_url(url)),
    })]
    ChecksumMissing {
        name: String,
        reason: MissingChecksum,
    },

    #[error("Invalid checksums file {source_name}, line {line}: {reason}")]
    InvalidChecksums {
        source_name: String,
        line: usize,
        reason: String,
    },

    #[error("Rejected archive {archive}: {reason}")]
    UnsafeArchive { archive: String, reason: String },

    #[error("Archive {archive} does not contain {binary} at its top level")]
    BinaryMissing { archive: String, binary: String },

    #[error("Failed to read archive {archive}")]
    CorruptArchive {
        archive: String,
        #[source]
        source: io::Error,
    },

    #[error("Failed to {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("Invalid release archive name {}: {reason}", path.display())]
    InvalidArchiveName { path: PathBuf, reason: String },

    #[error("Update cancelled")]
    Cancelled,

    #[error("Version {tag} is not installed: {} has no {binary}", dir.display())]
    NotInstalled {
        tag: String,
        dir: PathBuf,
        binary: &'static str,
    },

    #[error("Failed to download {name} from any of {} sources; the last error follows", attempts.len())]
    AllSourcesFailed {
        name: String,
        /// One `URL: message` line per source tried, in order.
        attempts: Vec<String>,
        #[source]
        last: Box<ReleaseError>,
    },
}

impl ReleaseError {
    /// Returns the error that ended the operation, looking through
    /// [`ReleaseError::AllSourcesFailed`].
    pub fn last_cause(&self) -> &ReleaseError {
        match self {
            ReleaseError::AllSourcesFailed { last, .. } => last.last_cause(),
            other => other,
        }
    }

    /// Returns the next step for the user, if there is a useful one. Steps
    /// that repeat a command name `cpa-tray update`; see [`ReleaseError::hint_for`].
    pub fn hint(&self) -> Option<String> {
        self.english_hint("update")
    }

    fn english_hint(&self, command: &str) -> Option<String> {
        let hint = match self {
            ReleaseError::RateLimited { .. } if token_set() => {
                "wait until the reset time; the GitHub token in GITHUB_TOKEN already raises the limit, so it may be used up by other programs"
            }
            ReleaseError::RateLimited { .. } => {
                "wait until the reset time, or set a GitHub token to raise the limit"
            }
            ReleaseError::HttpStatus { status: 401, .. } if token_set() => {
                "GitHub refused the token in GITHUB_TOKEN; check that it is valid and not expired, or unset it"
            }
            ReleaseError::NotFound { .. } => {
                "check the repository name, the releases API base URL (setting releasesApi or CPA_TRAY_RELEASES_API) and any download mirror"
            }
            ReleaseError::Timeout { .. } | ReleaseError::Network { .. } => {
                "check the network and the proxy settings (HTTPS_PROXY or config.yaml's proxy-url), or configure a download mirror"
            }
            ReleaseError::InvalidJson { .. } => {
                "the releases API returned something that is not GitHub's release JSON; check the API base URL and the proxy settings"
            }
            ReleaseError::NotAnArchive { .. } => {
                "the download is not a zip/tar.gz; check proxy settings (a proxy or captive portal may have returned a web page)"
            }
            ReleaseError::Truncated { .. } | ReleaseError::TooLarge { .. } => {
                return Some(format!(
                    "run `cpa-tray {command}` again; if it keeps failing, check the proxy settings or try a download mirror"
                ));
            }
            ReleaseError::ResponseTooLarge { .. } => {
                "no release listing or checksums file is that large; check the releases API base URL (CPA_TRAY_RELEASES_API or the releasesApi setting), the download mirrors and the proxy settings"
            }
            ReleaseError::AssetNotFound { expected, .. } => {
                return Some(format!(
                    "download {expected} (or the build for this computer) from the release page and run `cpa-tray install --from FILE`, or run the built-in engine with `cpa-tray start --engine builtin`"
                ));
            }
            ReleaseError::InvalidUrl {
                origin: Some("the downloadMirrors setting"),
                ..
            } => {
                "correct or remove that entry of downloadMirrors in settings.json; a mirror is an http:// or https:// URL prefix"
            }
            ReleaseError::InvalidUrl {
                origin: Some(super::API_BASE_ENV),
                ..
            } => {
                "set CPA_TRAY_RELEASES_API to an http:// or https:// URL such as https://api.github.com, or unset it"
            }
            ReleaseError::InvalidUrl {
                origin: Some(_), ..
            } => {
                "set releasesApi in settings.json to an http:// or https:// URL such as https://api.github.com, or remove it"
            }
            ReleaseError::ChecksumMismatch { .. } => {
                "nothing was installed; retry, and if the mismatch persists, check the proxy or mirror, which may be serving a modified file"
            }
            ReleaseError::ChecksumMissing { .. } if command == "install" => {
                "retry in a few minutes, or pass --allow-unverified to install without a checksum"
            }
            ReleaseError::ChecksumMissing { .. } => {
                "retry in a few minutes, or run `cpa-tray install --allow-unverified` to install without a checksum"
            }
            ReleaseError::BinaryMissing { .. } | ReleaseError::CorruptArchive { .. } => {
                "an antivirus program may have removed or locked the file; check its quarantine and retry"
            }
            ReleaseError::Io { source, .. } if is_disk_full(source) => {
                "free some disk space and retry; nothing was installed"
            }
            ReleaseError::Io { .. } => {
                "check the folder's permissions; an antivirus program may also be locking the file"
            }
            ReleaseError::InvalidArchiveName { .. } => {
                "keep the file name the release published, e.g. CLIProxyAPI_8.0.10_linux_amd64.tar.gz"
            }
            ReleaseError::NotInstalled { .. } => {
                "run `cpa-tray versions list` to see installed versions, or `cpa-tray install`"
            }
            ReleaseError::AllSourcesFailed { last, .. } => return last.english_hint(command),
            _ => return None,
        };
        Some(hint.to_string())
    }
}

/// User-facing text in a language. [`std::fmt::Display`] and
/// [`ReleaseError::hint`] give the English text. These functions give the
/// same facts in the catalogue's other languages, so a Chinese sentence
/// never wraps an English reason.
impl ReleaseError {
    /// Returns the message in `lang`.
    pub fn text(&self, lang: Lang) -> String {
        match lang {
            Lang::En => self.to_string(),
            Lang::ZhCn => crate::messages::os_text::localize(&self.chinese()).into_owned(),
        }
    }

    /// Returns the message followed by each cause, on one line, in `lang`.
    pub fn chain_text(&self, lang: Lang) -> String {
        let separator = match lang {
            Lang::En => ": ",
            Lang::ZhCn => "：",
        };
        let mut text = self.text(lang);
        let mut cause = std::error::Error::source(self);
        while let Some(current) = cause {
            text.push_str(separator);
            text.push_str(&cause_text(current, lang));
            cause = current.source();
        }
        text
    }

    /// Returns the next step in `lang`, if there is a useful one, naming
    /// `cpa-tray update` where the step repeats the command.
    pub fn hint_in(&self, lang: Lang) -> Option<String> {
        self.hint_for(lang, "update")
    }

    /// Returns the next step in `lang` after a failed `cpa-tray {command}`
    /// (`install` or `update`), if there is a useful one.
    pub fn hint_for(&self, lang: Lang, command: &str) -> Option<String> {
        match lang {
            Lang::En => self.english_hint(command),
            Lang::ZhCn => self.chinese_hint(command),
        }
    }

    /// Returns the next step for an archive the user gave as a local file
    /// (`install --from`): download and proxy advice does not apply there.
    pub fn local_file_hint(&self, lang: Lang) -> Option<String> {
        let zh = lang == Lang::ZhCn;
        let hint = match self.last_cause() {
            ReleaseError::NotAnArchive { .. }
            | ReleaseError::BinaryMissing { .. }
            | ReleaseError::CorruptArchive { .. }
            | ReleaseError::UnsafeArchive { .. } => {
                if zh {
                    "该文件不是完整的 CLIProxyAPI 发布压缩包；请从发布页面重新下载它"
                } else {
                    "the file is not a complete CLIProxyAPI release archive; download it again from the release page"
                }
            }
            ReleaseError::ChecksumMismatch { .. } => {
                if zh {
                    "压缩包与其旁边的 checksums.txt 不一致；请从同一个发布版本重新下载两者"
                } else {
                    "the archive differs from the checksums.txt beside it; download both again from the same release"
                }
            }
            ReleaseError::InvalidChecksums { .. } => {
                if zh {
                    "压缩包旁边的 checksums.txt 已损坏；请从同一个发布版本重新下载它，或删除它并加上 --allow-unverified"
                } else {
                    "the checksums.txt beside the archive is damaged; download it again from the same release, or remove it and pass --allow-unverified"
                }
            }
            ReleaseError::ChecksumMissing { .. } => {
                if zh {
                    "把该发布版本的 checksums.txt 放在压缩包旁边，或加上 --allow-unverified 跳过校验"
                } else {
                    "put the release's checksums.txt beside the archive, or pass --allow-unverified to install without a checksum"
                }
            }
            ReleaseError::InvalidArchiveName { .. } => {
                // The example is the name this machine's archive would have.
                let example = super::Platform::current()
                    .map(|platform| {
                        platform.asset_name(&super::Version {
                            major: 8,
                            minor: 0,
                            patch: 10,
                            pre: Vec::new(),
                            build: None,
                        })
                    })
                    .unwrap_or_else(|_| "CLIProxyAPI_8.0.10_linux_amd64.tar.gz".to_string());
                return Some(if zh {
                    format!("请使用适合本机的发布压缩包，并保留发布时的文件名，例如 {example}")
                } else {
                    format!(
                        "use the release archive for this computer, under the name the release published, e.g. {example}"
                    )
                });
            }
            ReleaseError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound => {
                if zh {
                    "请检查路径；--from 需要一个已下载的发布压缩包"
                } else {
                    "check the path; --from takes a release archive you already downloaded"
                }
            }
            _ => return self.hint_for(lang, "install"),
        };
        Some(hint.to_string())
    }

    fn chinese(&self) -> String {
        use ReleaseError::*;
        let url = match self {
            InvalidUrl { url, .. }
            | ResponseTooLarge { url, .. }
            | RateLimited { url, .. }
            | NotFound { url, .. }
            | HttpStatus { url, .. }
            | Timeout { url, .. }
            | Network { url, .. }
            | InvalidJson { url, .. }
            | Transfer { url, .. } => redact_url(url),
            _ => String::new(),
        };
        match self {
            InvalidTag { tag, reason } => {
                format!("无效的发布标签 {tag:?}：{}", zh_reason(reason))
            }
            UnsupportedPlatform { os, arch } => {
                format!("CLIProxyAPI 没有为 {os}/{arch} 发布构建")
            }
            InvalidUrl { reason, origin, .. } => format!(
                "{}无效的 URL {url:?}：{}",
                origin
                    .map(|origin| format!("{} 中", zh_origin(origin)))
                    .unwrap_or_default(),
                zh_reason(reason)
            ),
            ResponseTooLarge { limit, .. } => format!("{url} 的响应超过 {limit} 字节"),
            InvalidProxy { url, reason } => {
                format!("无效的代理 URL {url}：{}", zh_reason(reason))
            }
            RateLimited {
                status,
                reset,
                message,
                ..
            } => format!(
                "超出 GitHub API 速率限制（HTTP {status}），URL {url}{}：{message}",
                reset
                    .as_ref()
                    .map(|reset| format!("；限制将于 {reset} 重置"))
                    .unwrap_or_default()
            ),
            NotFound { message, .. } => format!("未找到（HTTP 404）：{url}：{message}"),
            HttpStatus {
                status, message, ..
            } => format!("请求失败，HTTP {status}：{url}：{message}"),
            Timeout { seconds, .. } => format!("等待 {url} 超时（{seconds:.1} 秒）"),
            Network { .. } => format!("请求 {url} 失败"),
            InvalidJson { .. } => format!("{url} 返回的 JSON 无效"),
            AssetNotFound {
                tag,
                os,
                arch,
                expected,
                available,
            } => format!(
                "{tag} 没有适用于 {os}/{arch} 的文件：需要 {expected}；该发布版本包含：{}",
                if available.is_empty() {
                    "无文件".to_string()
                } else {
                    available.join(", ")
                }
            ),
            NotAnArchive {
                name,
                expected,
                content_type,
            } => format!(
                "{name} 的下载内容不是 {expected} 压缩包{}",
                content_type
                    .as_ref()
                    .map(|c| format!("（Content-Type：{c}）"))
                    .unwrap_or_default()
            ),
            Truncated {
                name,
                received,
                expected,
            } => format!("{name} 的下载不完整：收到 {received} 字节，应为 {expected} 字节"),
            TooLarge { name, expected } => {
                format!("{name} 的下载超过了发布版本列出的 {expected} 字节")
            }
            Transfer { .. } => format!("下载 {url} 失败"),
            ChecksumMismatch {
                name,
                expected,
                actual,
            } => format!("{name} 的校验和不符：应为 SHA-256 {expected}，实际为 {actual}"),
            ChecksumMissing { name, reason } => match reason {
                MissingChecksum::NoChecksumsFile => {
                    format!("{name} 没有校验和：该发布版本没有 checksums.txt")
                }
                MissingChecksum::NoEntry => {
                    format!("{name} 没有校验和：checksums.txt 中没有它的条目")
                }
                MissingChecksum::ChecksumsFileNotFound { url } => format!(
                    "{name} 没有校验和：该发布版本列出了 checksums.txt，但 {} 返回 HTTP 404",
                    redact_url(url)
                ),
            },
            InvalidChecksums {
                source_name,
                line,
                reason,
            } => format!(
                "校验和文件 {source_name} 第 {line} 行无效：{}",
                zh_reason(reason)
            ),
            UnsafeArchive { archive, reason } => {
                format!("已拒绝压缩包 {archive}：{}", zh_reason(reason))
            }
            BinaryMissing { archive, binary } => {
                format!("压缩包 {archive} 的顶层没有 {binary}")
            }
            CorruptArchive { archive, .. } => format!("读取压缩包 {archive} 失败"),
            Io { action, path, .. } => {
                let action = match *action {
                    "read" => "读取",
                    "write" => "写入",
                    "create" => "创建",
                    "open" => "打开",
                    "remove" => "删除",
                    "list" => "列出",
                    "set permissions on" => "设置权限：",
                    "create a temporary file in" => "在以下位置创建临时文件：",
                    "create a temporary folder in" => "在以下位置创建临时文件夹：",
                    "move aside the incomplete folder" => "移开不完整的文件夹",
                    "move the new version into" => "把新版本移入",
                    other => other,
                };
                format!("{action} {} 失败", path.display())
            }
            InvalidArchiveName { path, reason } => {
                format!(
                    "无效的发布压缩包文件名 {}：{}",
                    path.display(),
                    zh_reason(reason)
                )
            }
            Cancelled => "已取消下载".to_string(),
            NotInstalled { tag, dir, binary } => {
                format!("版本 {tag} 未安装：{} 中没有 {binary}", dir.display())
            }
            AllSourcesFailed { name, attempts, .. } => format!(
                "从全部 {} 个来源下载 {name} 均失败；下面是最后一个错误",
                attempts.len()
            ),
        }
    }

    fn chinese_hint(&self, command: &str) -> Option<String> {
        let hint = match self {
            ReleaseError::RateLimited { .. } if token_set() => {
                "请等到重置时间；GITHUB_TOKEN 中的 GitHub 令牌已提高限额，额度可能被其他程序用完"
            }
            ReleaseError::RateLimited { .. } => "请等到重置时间，或设置 GitHub 令牌以提高限额",
            ReleaseError::HttpStatus { status: 401, .. } if token_set() => {
                "GitHub 拒绝了 GITHUB_TOKEN 中的令牌；请检查它是否有效、是否过期，或取消设置它"
            }
            ReleaseError::NotFound { .. } => {
                "请检查仓库名、发布 API 地址（设置项 releasesApi 或 CPA_TRAY_RELEASES_API）以及下载镜像"
            }
            ReleaseError::Timeout { .. } | ReleaseError::Network { .. } => {
                "请检查网络和代理设置（HTTPS_PROXY 或 config.yaml 的 proxy-url），或配置下载镜像"
            }
            ReleaseError::InvalidJson { .. } => {
                "发布 API 返回的不是 GitHub 的发布 JSON；请检查 API 地址和代理设置"
            }
            ReleaseError::NotAnArchive { .. } => {
                "下载内容不是 zip/tar.gz；请检查代理设置（代理或认证门户可能返回了网页）"
            }
            ReleaseError::Truncated { .. } | ReleaseError::TooLarge { .. } => {
                return Some(format!(
                    "请再次运行 `cpa-tray {command}`；如果仍然失败，请检查代理设置或改用下载镜像"
                ));
            }
            ReleaseError::ResponseTooLarge { .. } => {
                "发布列表和校验和文件都不会这么大；请检查发布 API 地址（CPA_TRAY_RELEASES_API 或设置项 releasesApi）、下载镜像和代理设置"
            }
            ReleaseError::AssetNotFound { expected, .. } => {
                return Some(format!(
                    "请从发布页面下载 {expected}（或适合本机的构建），再运行 `cpa-tray install --from 文件`；或用 `cpa-tray start --engine builtin` 运行内置引擎"
                ));
            }
            ReleaseError::InvalidUrl {
                origin: Some("the downloadMirrors setting"),
                ..
            } => {
                "请在 settings.json 中改正或删除 downloadMirrors 的这一项；镜像是 http:// 或 https:// URL 前缀"
            }
            ReleaseError::InvalidUrl {
                origin: Some(super::API_BASE_ENV),
                ..
            } => {
                "请把 CPA_TRAY_RELEASES_API 设为 http:// 或 https:// URL（例如 https://api.github.com），或取消设置它"
            }
            ReleaseError::InvalidUrl {
                origin: Some(_), ..
            } => {
                "请把 settings.json 中的 releasesApi 设为 http:// 或 https:// URL（例如 https://api.github.com），或删除它"
            }
            ReleaseError::ChecksumMismatch { .. } => {
                "没有安装任何内容；请重试，如果仍不符，请检查代理或镜像，它们可能提供了被修改的文件"
            }
            ReleaseError::ChecksumMissing { .. } if command == "install" => {
                "请过几分钟再试，或加上 --allow-unverified 跳过校验安装"
            }
            ReleaseError::ChecksumMissing { .. } => {
                "请过几分钟再试，或运行 `cpa-tray install --allow-unverified` 跳过校验安装"
            }
            ReleaseError::BinaryMissing { .. } | ReleaseError::CorruptArchive { .. } => {
                "杀毒软件可能删除或锁定了该文件；请检查其隔离区后重试"
            }
            ReleaseError::Io { source, .. } if is_disk_full(source) => {
                "请释放一些磁盘空间后重试；没有安装任何内容"
            }
            ReleaseError::Io { .. } => "请检查文件夹的权限；杀毒软件也可能锁定了该文件",
            ReleaseError::InvalidArchiveName { .. } => {
                "请保留发布时的文件名，例如 CLIProxyAPI_8.0.10_linux_amd64.tar.gz"
            }
            ReleaseError::NotInstalled { .. } => {
                "运行 `cpa-tray versions list` 查看已安装的版本，或运行 `cpa-tray install`"
            }
            ReleaseError::AllSourcesFailed { last, .. } => return last.chinese_hint(command),
            _ => return None,
        };
        Some(hint.to_string())
    }
}

/// Returns whether requests carry a GitHub token from the environment.
fn token_set() -> bool {
    std::env::var(super::activation::TOKEN_ENV).is_ok_and(|token| !token.trim().is_empty())
}

fn is_disk_full(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::StorageFull
}

/// Returns the text of one cause in a release error's chain: a release
/// error in `lang`, an I/O error of the HTTP client without ureq's `io: `
/// prefix, and any other error as it displays itself. OS reasons stay in
/// English here; the message that embeds them translates them once.
pub fn cause_text(cause: &(dyn std::error::Error + 'static), lang: Lang) -> String {
    if let Some(release) = cause.downcast_ref::<ReleaseError>() {
        return release.text(lang);
    }
    if let Some(ureq::Error::Io(io)) = cause.downcast_ref::<ureq::Error>() {
        return io.to_string();
    }
    cause.to_string()
}
