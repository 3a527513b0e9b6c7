//! Chinese text for the fixed English reasons the release pipeline writes
//! into its errors (`reason` fields), so a Chinese message never carries an
//! English clause.
//!
//! The reasons are built in `install.rs`, `extract.rs`, `checksums.rs`,
//! `version.rs` and `github.rs`. A reason that is not listed here (for
//! example a proxy error text from the HTTP client) is returned unchanged.
//! Values inside a reason (names, tags, characters) stay as they are.

/// Returns the Chinese text of `reason`, or `reason` itself when it is not
/// one of the pipeline's fixed texts.
pub(super) fn zh_reason(reason: &str) -> String {
    if let Some(text) = fixed(reason) {
        return text.to_string();
    }
    patterned(reason).unwrap_or_else(|| reason.to_string())
}

/// Returns the Chinese name of a URL's origin in [`super::ReleaseError::InvalidUrl`].
pub(super) fn zh_origin(origin: &str) -> String {
    match origin {
        "the releasesApi setting" => "设置项 releasesApi".to_string(),
        "the downloadMirrors setting" => "设置项 downloadMirrors".to_string(),
        other => other.to_string(),
    }
}

fn fixed(reason: &str) -> Option<&'static str> {
    let text = match reason {
        // Archive names (`install --from`).
        "the file name is not valid UTF-8" => "文件名不是有效的 UTF-8",
        "expected a .zip or .tar.gz release archive" => "需要 .zip 或 .tar.gz 发布压缩包",
        "expected the original name CLIProxyAPI_<version>_<os>_<arch>" => {
            "需要原始文件名 CLIProxyAPI_<版本>_<系统>_<架构>"
        }
        // checksums.txt lines.
        "expected a 64-digit hex SHA-256 followed by a file name" => {
            "需要 64 位十六进制的 SHA-256，后面跟文件名"
        }
        "the SHA-256 is not 64 hex digits" => "SHA-256 不是 64 位十六进制数字",
        "expected a space between the SHA-256 and the file name" => {
            "SHA-256 和文件名之间需要一个空格"
        }
        "the file name is missing" => "缺少文件名",
        // Release tags.
        "the tag is empty" => "标签为空",
        "the tag is longer than 64 bytes" => "标签超过 64 字节",
        "the tag contains '..'" => "标签包含 '..'",
        "expected MAJOR.MINOR.PATCH with exactly three numbers" => {
            "需要 MAJOR.MINOR.PATCH 形式，恰好三个数字"
        }
        "the pre-release part has an empty identifier" => "预发布部分有一个空标识符",
        "the build metadata after '+' is malformed" => "'+' 之后的构建元数据格式错误",
        // URLs and proxies.
        "the repository must be written as owner/name" => "仓库必须写成 owner/name",
        "expected an http:// or https:// URL" => "需要 http:// 或 https:// URL",
        "expected http://, https://, socks5:// or socks5h:// followed by host:port" => {
            "需要 http://、https://、socks5:// 或 socks5h://，后面跟 host:port"
        }
        "the proxy URL is invalid" => "代理 URL 无效",
        _ => return None,
    };
    Some(text)
}

/// Translates the reasons that embed a value, keeping the value.
fn patterned(reason: &str) -> Option<String> {
    // (English prefix, English suffix, Chinese prefix, Chinese suffix)
    const WRAPPED: &[(&str, &str, &str, &str)] = &[
        ("entry ", " contains a NUL byte", "条目 ", " 包含 NUL 字节"),
        ("entry ", " has an absolute path", "条目 ", " 使用绝对路径"),
        (
            "entry ",
            " leaves the archive with '..'",
            "条目 ",
            " 用 '..' 指向压缩包之外",
        ),
        ("entry ", " is a symbolic link", "条目 ", " 是符号链接"),
        ("entry ", " is a hard link", "条目 ", " 是硬链接"),
        (
            "unknown OS ",
            " (or a variant such as _no-plugin)",
            "未知的系统 ",
            "（或 _no-plugin 之类的变体）",
        ),
        ("unknown architecture ", "", "未知的架构 ", ""),
        (
            "the character ",
            " is not allowed (only ASCII letters, digits, '.', '-' and '+')",
            "不允许使用字符 ",
            "（只能使用 ASCII 字母、数字、'.'、'-' 和 '+'）",
        ),
        (
            "",
            " is listed twice with different checksums",
            "",
            " 被列出两次，且校验和不同",
        ),
        ("", " appears more than once", "", " 出现了不止一次"),
        ("", " is empty", "", " 是空文件"),
    ];
    for (en_start, en_end, zh_start, zh_end) in WRAPPED {
        if let Some(value) = reason
            .strip_prefix(en_start)
            .and_then(|rest| rest.strip_suffix(en_end))
        {
            return Some(format!("{zh_start}{value}{zh_end}"));
        }
    }

    if let Some((entry, kind)) = reason
        .strip_prefix("entry ")
        .and_then(|rest| rest.split_once(" has the unsupported type "))
    {
        return Some(format!("条目 {entry} 的类型 {kind} 不受支持"));
    }
    if let Some((name, limit)) = reason
        .strip_suffix(" bytes")
        .and_then(|rest| rest.split_once(" is larger than "))
    {
        return Some(format!("{name} 超过 {limit} 字节"));
    }
    if let Some((platform, needed)) = reason
        .strip_prefix("the archive is for ")
        .and_then(|rest| rest.split_once(", but this machine needs "))
    {
        return Some(format!("该压缩包适用于 {platform}，但本机需要 {needed}"));
    }
    if let Some((os, kind)) = reason
        .strip_suffix(" archives")
        .and_then(|rest| rest.split_once(" releases are "))
    {
        return Some(format!("{os} 的发布版本是 {kind} 压缩包"));
    }
    version_number(reason)
}

/// Translates `the {major|minor|patch} number …` reasons of tag parsing.
fn version_number(reason: &str) -> Option<String> {
    let rest = reason.strip_prefix("the ")?;
    let (field, rest) = rest.split_once(" number")?;
    let field = match field {
        "major" => "主版本号",
        "minor" => "次版本号",
        "patch" => "修订号",
        _ => return None,
    };
    if rest == " is missing" {
        return Some(format!("缺少{field}"));
    }
    let value = rest.strip_prefix(' ')?;
    if let Some(text) = value.strip_suffix(" is not a number") {
        return Some(format!("{field} {text} 不是数字"));
    }
    if let Some(text) = value.strip_suffix(" is too large") {
        return Some(format!("{field} {text} 太大"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_and_patterned_reasons() {
        let cases = [
            (
                "expected a .zip or .tar.gz release archive",
                "需要 .zip 或 .tar.gz 发布压缩包",
            ),
            (
                "expected an http:// or https:// URL",
                "需要 http:// 或 https:// URL",
            ),
            (
                "entry \"../x\" leaves the archive with '..'",
                "条目 \"../x\" 用 '..' 指向压缩包之外",
            ),
            (
                "cli-proxy-api is larger than 536870912 bytes",
                "cli-proxy-api 超过 536870912 字节",
            ),
            ("unknown architecture \"mips\"", "未知的架构 \"mips\""),
            (
                "the minor number \"x\" is not a number",
                "次版本号 \"x\" 不是数字",
            ),
            ("the patch number is missing", "缺少修订号"),
            (
                "windows releases are .zip archives",
                "windows 的发布版本是 .zip 压缩包",
            ),
            (
                "the archive is for linux/amd64, but this machine needs darwin/arm64",
                "该压缩包适用于 linux/amd64，但本机需要 darwin/arm64",
            ),
        ];
        for (english, chinese) in cases {
            assert_eq!(zh_reason(english), chinese, "{english}");
        }
    }

    #[test]
    fn unknown_reason_is_unchanged() {
        assert_eq!(zh_reason("connection refused"), "connection refused");
    }
}
