//! Command-line help in the user's language.
//!
//! clap takes the help texts from the doc comments in [`crate::cli`], which
//! are English. For Simplified Chinese the descriptions of the program and
//! its commands are replaced before parsing; the options' help stays English.
//! The language comes from `--lang`, `CPA_TRAY_LANG` or the system locale:
//! the `language` setting is not read, because the home folder is not known
//! before parsing.

use std::ffi::OsString;

use clap::{CommandFactory, FromArgMatches};
use cpa_core::messages::Lang;

use crate::cli::Cli;

/// Chinese descriptions by command path (space-separated subcommand names).
const ZH_ABOUT: &[(&str, &str)] = &[
    ("", "安装、运行 CLIProxyAPI，并用密码保护它。"),
    ("start", "启动服务；如果尚未设置管理密码，会先要求设置"),
    ("stop", "停止此托盘启动的服务"),
    ("restart", "如果服务正在运行则先停止，然后启动"),
    ("status", "显示服务是否在运行，以及 pid、端口、引擎和版本"),
    ("password", "设置或检查管理密码"),
    ("password set", "设置新的管理密码（以 bcrypt 哈希保存）"),
    ("password verify", "用保存的管理密钥检查密码"),
    ("remote", "允许或禁止其他计算机进行管理（allow-remote）"),
    (
        "remote enable",
        "允许远程管理；需要当前密码，且至少 12 个字符",
    ),
    ("remote disable", "只允许本机进行管理"),
    ("open", "打开 WebUI、配置文件、主文件夹或日志文件夹"),
    ("logs", "显示服务日志"),
];

/// Parses the command line, with the descriptions in the user's language.
pub fn parse(args: Vec<OsString>) -> Cli {
    let mut command = Cli::command();
    if help_language(&args) == Lang::ZhCn {
        command = localize(command, "");
    }
    let matches = command.get_matches_from(args);
    Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit())
}

/// Replaces the descriptions of `command` (at `path`) and its subcommands.
fn localize(mut command: clap::Command, path: &str) -> clap::Command {
    if let Some((_, about)) = ZH_ABOUT.iter().find(|(key, _)| *key == path) {
        command = command.about(*about);
    }
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_string())
        .collect();
    for name in names {
        let sub_path = if path.is_empty() {
            name.clone()
        } else {
            format!("{path} {name}")
        };
        command = command.mut_subcommand(&name, |sub| localize(sub, &sub_path));
    }
    command
}

/// Finds the language before clap parses: `--lang X` or `--lang=X`, then
/// `CPA_TRAY_LANG`, then the system locale.
fn help_language(args: &[OsString]) -> Lang {
    let mut explicit = None;
    let mut iter = args.iter().map(|arg| arg.to_string_lossy());
    while let Some(arg) = iter.next() {
        if arg == "--lang" {
            explicit = iter.next().map(|value| value.into_owned());
        } else if let Some(value) = arg.strip_prefix("--lang=") {
            explicit = Some(value.to_string());
        }
    }
    let explicit = explicit
        .or_else(|| std::env::var("CPA_TRAY_LANG").ok())
        .and_then(|tag| Lang::from_tag(&tag));
    Lang::resolve(explicit, None)
}
