//! Chinese for the English reasons the OS and libraries put into errors.
//!
//! Many messages end with a cause that cpa-tray does not write itself: the
//! text of an `io::Error` (`No such file or directory (os error 2)`) or of a
//! library error wrapping one (`io: Connection refused`). A Chinese sentence
//! would otherwise carry that reason in English. [`localize`] replaces the
//! common phrases with Chinese and keeps the English in parentheses, so the
//! reason can still be searched for, together with any `os error N` code.
//!
//! Windows in Chinese already reports its own messages in Chinese; the
//! Windows entries cover an English Windows with cpa-tray set to Chinese.

use std::borrow::Cow;

/// English phrase (matched without regard to ASCII case) and its Chinese.
/// A longer phrase comes before any shorter phrase it contains.
const PHRASES: &[(&str, &str)] = &[
    // Windows.
    (
        "No connection could be made because the target machine actively refused it.",
        "由于目标计算机积极拒绝，无法连接。",
    ),
    (
        "The process cannot access the file because it is being used by another process.",
        "另一个程序正在使用此文件，进程无法访问。",
    ),
    (
        "Only one usage of each socket address (protocol/network address/port) is normally permitted.",
        "每个套接字地址（协议/网络地址/端口）通常只允许使用一次。",
    ),
    (
        "The system cannot find the file specified.",
        "系统找不到指定的文件。",
    ),
    (
        "The system cannot find the path specified.",
        "系统找不到指定的路径。",
    ),
    ("There is not enough space on the disk.", "磁盘空间不足。"),
    ("Access is denied.", "拒绝访问。"),
    // Unix strerror texts and std's error kinds.
    ("failed to lookup address information", "无法解析主机名"),
    ("Temporary failure in name resolution", "域名解析暂时失败"),
    ("Name or service not known", "未知的主机名或服务"),
    (
        "nodename nor servname provided, or not known",
        "未知的主机名或服务",
    ),
    ("Connection refused", "连接被拒绝"),
    ("Connection reset by peer", "连接被对方重置"),
    ("Peer disconnected", "对方断开了连接"),
    ("Connection timed out", "连接超时"),
    ("Operation timed out", "操作超时"),
    ("timed out", "超时"),
    ("Network is unreachable", "网络不可达"),
    ("No route to host", "没有到主机的路由"),
    ("Software caused connection abort", "连接被中止"),
    ("Address already in use", "地址已被占用"),
    ("Cannot assign requested address", "无法分配请求的地址"),
    ("Broken pipe", "管道已断开"),
    ("No such file or directory", "文件或文件夹不存在"),
    ("entity not found", "找不到该对象"),
    ("Permission denied", "权限不足"),
    ("Operation not permitted", "不允许该操作"),
    ("Read-only file system", "文件系统为只读"),
    ("No space left on device", "磁盘空间不足"),
    ("Disk quota exceeded", "超出磁盘配额"),
    ("Too many open files", "打开的文件过多"),
    ("Not a directory", "不是文件夹"),
    ("Is a directory", "是一个文件夹"),
    ("Directory not empty", "文件夹不为空"),
    ("File exists", "文件已存在"),
    ("Device or resource busy", "设备或资源忙"),
    ("Text file busy", "程序文件正在使用中"),
    ("Exec format error", "可执行文件格式错误"),
    ("Input/output error", "输入/输出错误"),
    ("unexpected end of file", "文件意外结束"),
];

/// Replaces the known English OS phrases in `text` with Chinese, keeping
/// the English and an `os error N` code after it in parentheses:
/// `No such file or directory (os error 2)` becomes
/// `文件或文件夹不存在（No such file or directory，os error 2）`.
pub fn localize(text: &str) -> Cow<'_, str> {
    let lower = text.to_ascii_lowercase();
    if !PHRASES
        .iter()
        .any(|(english, _)| lower.contains(&english.to_ascii_lowercase()))
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    'scan: while !rest.is_empty() {
        for (english, chinese) in PHRASES {
            let Some(head) = rest.get(..english.len()) else {
                continue;
            };
            if !head.eq_ignore_ascii_case(english) {
                continue;
            }
            // Right after `（` the phrase is the English kept by an earlier
            // pass, so a second pass leaves the text as it is.
            rest = &rest[english.len()..];
            if out.ends_with('（') {
                out.push_str(head);
                continue 'scan;
            }
            let (code, after) = os_error_code(rest);
            out.push_str(chinese);
            out.push('（');
            out.push_str(head);
            if let Some(code) = code {
                out.push('，');
                out.push_str(code);
            }
            out.push('）');
            rest = after;
            continue 'scan;
        }
        let mut chars = rest.chars();
        if let Some(next) = chars.next() {
            out.push(next);
        }
        rest = chars.as_str();
    }
    Cow::Owned(out)
}

/// Splits a leading ` (os error N)` off `text`: returns `os error N` and
/// what follows, or `None` and `text` unchanged.
fn os_error_code(text: &str) -> (Option<&str>, &str) {
    let Some(inner) = text.strip_prefix(" (") else {
        return (None, text);
    };
    let Some(end) = inner.find(')') else {
        return (None, text);
    };
    let code = &inner[..end];
    let is_code = code
        .strip_prefix("os error ")
        .is_some_and(|number| number.trim_start_matches('-').parse::<i64>().is_ok());
    if is_code {
        (Some(code), &inner[end + 1..])
    } else {
        (None, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn missing_file_error_reads_in_chinese_with_its_code() {
        let err = std::fs::read("/nonexistent/cpa-tray/config.yaml").unwrap_err();
        let text = format!("无法读取 /nonexistent/cpa-tray/config.yaml：{err}");

        let localized = localize(&text);

        assert_eq!(
            localized,
            "无法读取 /nonexistent/cpa-tray/config.yaml：文件或文件夹不存在（No such file or directory，os error 2）"
        );
    }

    #[test]
    fn second_pass_changes_nothing() {
        let text = "写入密码失败：/tmp/c.yaml：Operation not permitted (os error 1)";

        let once = localize(text).into_owned();
        let twice = localize(&once).into_owned();

        assert_eq!(
            once,
            "写入密码失败：/tmp/c.yaml：不允许该操作（Operation not permitted，os error 1）"
        );
        assert_eq!(twice, once);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn refused_connection_from_a_library_reads_in_chinese() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let err = std::net::TcpStream::connect(address).unwrap_err();
        let text = format!(
            "原因：io: {}",
            err.to_string().replace(" (os error 111)", "")
        );

        assert_eq!(
            localize(&text),
            "原因：io: 连接被拒绝（Connection refused）"
        );
    }

    #[test]
    fn longer_phrase_wins_and_its_english_is_not_translated_again() {
        assert_eq!(
            localize("Connection timed out (os error 110)"),
            "连接超时（Connection timed out，os error 110）"
        );
        assert_eq!(localize("read timed out"), "read 超时（timed out）");
    }

    #[test]
    fn windows_reason_reads_in_chinese() {
        assert_eq!(
            localize("C:\\cpa\\config.yaml: Access is denied. (os error 5)"),
            "C:\\cpa\\config.yaml: 拒绝访问。（Access is denied.，os error 5）"
        );
    }

    #[test]
    fn text_without_a_known_phrase_is_unchanged() {
        let text = "端口 8317 已被 pid 42 (nginx) 占用。";
        assert!(matches!(localize(text), Cow::Borrowed(_)));
        assert_eq!(localize("(os error 2)"), "(os error 2)");
    }
}
