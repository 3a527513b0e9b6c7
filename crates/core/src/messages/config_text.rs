//! Config file errors in the user's language.
//!
//! cpa-config words its errors in English and records the facts behind
//! each one as a [`Problem`]. For Chinese this module words the same facts:
//! the file, line and column, the key and value, and the next step.
//!
//! An OS reason inside (`No such file or directory (os error 2)`) stays as
//! the OS wrote it: the Chinese text of a [`super::Msg`] that embeds this
//! text translates such reasons.

use std::path::Path;

use cpa_config::{ConfigError, ErrorKind, Expected, IoAction, NodeKind, Problem};

use super::Lang;

/// Describes a config error as `FILE[:LINE[:COLUMN]]: reason`, for English
/// exactly the error's own text.
pub fn config_error_text(err: &ConfigError, lang: Lang) -> String {
    match lang {
        Lang::En => err.to_string(),
        Lang::ZhCn => format!("{}：{}", location(err), zh_reason(err)),
    }
}

fn location(err: &ConfigError) -> String {
    let mut text = err.path.display().to_string();
    if let Some(line) = err.line {
        text.push_str(&format!(":{line}"));
        if let Some(column) = err.column {
            text.push_str(&format!(":{column}"));
        }
    }
    text
}

fn zh_reason(err: &ConfigError) -> String {
    match err.problem.as_ref() {
        Problem::InvalidUtf16 => "不是有效的 UTF-16 文本；请把文件另存为 UTF-8".to_string(),
        Problem::InvalidUtf8 => "含有无效的 UTF-8 字节；请把文件另存为 UTF-8".to_string(),
        Problem::DuplicateKey { key, first_line } => format!(
            "映射键 {key:?} 已在第 {first_line} 行定义过；请删除其中一个重复的键"
        ),
        Problem::TabIndentation => {
            "这里有一个制表符，YAML 不允许用它缩进；请用空格缩进".to_string()
        }
        Problem::RootNotMapping => "配置必须是映射（由 `键: 值` 行组成）".to_string(),
        Problem::UnsupportedConfigVersion => {
            "不支持的 config-version（应为 8）；请写成 `config-version: 8` 或删除这一行"
                .to_string()
        }
        Problem::WrongKind {
            key,
            expected,
            found,
        } => format!(
            "`{key}`：应为{}，实际是{}",
            zh_expected(*expected),
            zh_node_kind(*found)
        ),
        Problem::InvalidValue {
            key,
            value,
            expected,
        } => format!("`{key}`：{value:?} 不是{}", zh_expected(*expected)),
        Problem::Io { action } => zh_io(*action, err.source.as_ref(), &err.path),
        Problem::NotAFile => {
            "是文件夹而不是文件（Docker 绑定挂载一个不存在的文件时会创建文件夹）；请删除它并创建该文件"
                .to_string()
        }
        Problem::NotRecoveryFile => {
            "不是 cpa-tray 写入的恢复文件；请把它移走后重试".to_string()
        }
        Problem::KeptChanging { attempts } => format!(
            "在编辑期间一直被修改（尝试了 {attempts} 次）；请停止改写它的程序（正在运行的服务或管理面板）后重试"
        ),
        // The parser's or the editor's own English reason, kept in
        // parentheses because it names the exact problem.
        Problem::Other => match err.kind {
            ErrorKind::Syntax | ErrorKind::DuplicateKey => {
                format!("YAML 语法错误（{}）；请修正这一处", err.message)
            }
            ErrorKind::Invalid => format!("服务不接受此配置（{}）", err.message),
            ErrorKind::Verification => format!(
                "编辑后的内容无法按预期读回，没有写入任何内容（{}）",
                err.message
            ),
            ErrorKind::Read | ErrorKind::Write | ErrorKind::Conflict => err.message.clone(),
        },
    }
}

fn zh_expected(expected: Expected) -> &'static str {
    match expected {
        Expected::Mapping => "映射（缩进的 `键: 值` 行）",
        Expected::String => "字符串",
        Expected::Bool => " true 或 false",
        Expected::Integer => "整数",
        Expected::List => "列表",
    }
}

fn zh_node_kind(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Mapping => "映射",
        NodeKind::List => "列表",
        NodeKind::Scalar => "单个值",
    }
}

/// Words a failed file operation with the OS reason and a next step, like
/// cpa-config's English hints.
fn zh_io(action: IoAction, source: Option<&std::io::Error>, path: &Path) -> String {
    let action = match action {
        IoAction::OpenForWriting => "无法以写入方式打开配置文件",
        IoAction::Lock => "无法锁定配置文件",
        IoAction::ReadRecovery => "无法读取恢复文件",
        IoAction::Restore => "中断的写入之后无法恢复配置文件",
        IoAction::RemoveRecoveryAfterRestore | IoAction::RemoveRecovery => "无法删除恢复文件",
        IoAction::Read => "无法读取配置文件",
        IoAction::CreateTempInFolder => "无法在配置文件所在的文件夹中创建恢复文件",
        IoAction::WriteRecovery => "无法写入恢复文件",
        IoAction::CreateRecovery => "无法创建恢复文件",
        IoAction::Write | IoAction::CheckWritable => "无法写入配置文件",
        IoAction::CheckFolderWritable => "无法在配置文件旁边创建恢复文件",
    };
    let Some(source) = source else {
        return format!("{action}（{}）", path.display());
    };
    let reason = source.to_string();
    let hint = match source.kind() {
        std::io::ErrorKind::NotFound => "；请检查路径，或先创建该文件",
        std::io::ErrorKind::PermissionDenied => {
            "；请让你的用户有权写入该文件及其文件夹，或使用你自己文件夹中的配置（--config）"
        }
        std::io::ErrorKind::ReadOnlyFilesystem => {
            "；该文件位于只读的文件系统或挂载点上，请让它可写，或使用其他位置的配置（--config）"
        }
        std::io::ErrorKind::IsADirectory => {
            "；此路径是文件夹而不是文件（Docker 绑定挂载一个不存在的文件时会创建文件夹），请删除它并创建该文件"
        }
        _ => "",
    };
    format!("{action}：{reason}{hint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `yaml` as a config file and returns the error of reading its
    /// server settings.
    fn config_error(yaml: &str) -> ConfigError {
        let path = Path::new("/home/user/config.yaml");
        match cpa_config::ConfigDocument::parse(yaml.as_bytes().to_vec(), path) {
            Err(err) => err,
            Ok(doc) => doc.view().expect_err("the config must be rejected"),
        }
    }

    fn assert_chinese_only(text: &str) {
        for english in [
            "already defined",
            "is not",
            "expected",
            "unsupported",
            "remove",
        ] {
            assert!(!text.contains(english), "English {english:?} in {text}");
        }
    }

    #[test]
    fn duplicate_key_in_chinese() {
        let err = config_error("port: 8317\nhost: \"\"\nport: 8318\n");
        let text = config_error_text(&err, Lang::ZhCn);
        assert_eq!(
            text,
            "/home/user/config.yaml:3:1：映射键 \"port\" 已在第 1 行定义过；请删除其中一个重复的键"
        );
        assert_eq!(config_error_text(&err, Lang::En), err.to_string());
    }

    #[test]
    fn port_not_an_integer_in_chinese() {
        let err = config_error("port: abc\n");
        let text = config_error_text(&err, Lang::ZhCn);
        assert_eq!(text, "/home/user/config.yaml:1:7：`port`：\"abc\" 不是整数");
        assert_chinese_only(&text);
    }

    #[test]
    fn config_version_in_chinese() {
        let err = config_error("config-version: 7\nport: 8317\n");
        let text = config_error_text(&err, Lang::ZhCn);
        assert!(text.starts_with("/home/user/config.yaml:1:17："), "{text}");
        assert!(text.contains("不支持的 config-version（应为 8）"), "{text}");
        assert!(text.contains("`config-version: 8`"), "{text}");
    }

    #[test]
    fn section_of_wrong_kind_in_chinese() {
        let err = config_error("remote-management:\n  - a\n");
        let text = config_error_text(&err, Lang::ZhCn);
        assert!(text.contains("`remote-management`：应为映射"), "{text}");
        assert!(text.ends_with("实际是列表"), "{text}");
    }

    #[test]
    fn tab_indentation_in_chinese() {
        let err = config_error("remote-management:\n\tallow-remote: true\n");
        let text = config_error_text(&err, Lang::ZhCn);
        assert!(text.starts_with("/home/user/config.yaml:2:"), "{text}");
        assert!(text.contains("请用空格缩进"), "{text}");
    }

    #[test]
    fn missing_file_in_chinese() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("config.yaml");
        let err = cpa_config::load(&path).expect_err("the file is missing");
        let text = config_error_text(&err, Lang::ZhCn);
        assert!(text.starts_with(&path.display().to_string()), "{text}");
        assert!(text.contains("无法读取配置文件："), "{text}");
        assert!(text.contains("请检查路径，或先创建该文件"), "{text}");
        assert!(!text.contains("Failed to"), "{text}");
    }

    #[test]
    fn missing_file_inside_message_translated_once() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("config.yaml");
        let err = cpa_config::load(&path).expect_err("the file is missing");
        let detail = config_error_text(&err, Lang::ZhCn);
        let text = crate::messages::Msg::ConfigUnusable { detail: &detail }.text(Lang::ZhCn);
        let reason = err.source.as_ref().expect("an I/O error").to_string();
        let translated_once = crate::messages::os_text::localize(&reason);
        assert_ne!(translated_once, reason, "the OS reason has no Chinese");
        assert!(text.contains(translated_once.as_ref()), "{text}");
    }
}
