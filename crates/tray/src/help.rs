//! Command-line help and parse errors in the user's language.
//!
//! clap takes the help texts from the doc comments in [`crate::cli`], which
//! are English, and writes its own headings and error sentences in English.
//! For Simplified Chinese the parser is rebuilt before parsing: every command
//! and argument gets its Chinese description from the tables below, the
//! headings come from Chinese templates, and clap's `[default: …]`, `[env: …]`
//! and possible-value notes are replaced by Chinese ones. Parse errors are
//! written in Chinese by [`zh_error`]. English output is clap's own.
//!
//! The language comes from `--lang`, `CPA_TRAY_LANG`, the `language` setting
//! or the system locale, as for the commands' own messages.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, FromArgMatches};
use cpa_core::home::Home;
use cpa_core::messages::Lang;
use cpa_core::settings::SettingsStore;

use crate::cli::Cli;

/// Chinese descriptions by command path (space-separated subcommand names).
/// clap's own `help` subcommand, at any level, is described by [`ZH_HELP_COMMAND`].
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
    ("update", "检查 CLIProxyAPI 是否有新版本，并安装它"),
    (
        "install",
        "安装最新的 CLIProxyAPI 版本，或安装你已有的发布包",
    ),
    ("versions", "列出、切换和删除已安装的 CLIProxyAPI 版本"),
    (
        "versions list",
        "列出已安装的版本，最新的在前；`*` 标记当前使用的版本",
    ),
    (
        "versions use",
        "把一个已安装的版本设为当前版本；正在运行的正式版本服务会用它重启",
    ),
    (
        "versions prune",
        "只保留最新的 N 个版本，删除其余版本（始终保留当前版本）",
    ),
];

/// Description of clap's generated `help` subcommand.
const ZH_HELP_COMMAND: &str = "显示此帮助，或指定子命令的帮助";

/// Chinese argument descriptions by command path and argument id. The path
/// `*` matches any command, for global arguments and for arguments that mean
/// the same everywhere. An exact path wins over `*`.
const ZH_ARGS: &[(&str, &str, &str)] = &[
    (
        "*",
        "home",
        "主文件夹，存放 config.yaml、settings.json、versions/、logs/ 和 run/ [默认值：~/.cli-proxy-api-tray]",
    ),
    ("*", "config", "要使用的配置文件，代替 <home>/config.yaml"),
    (
        "*",
        "lang",
        "消息语言：en 或 zh-CN [默认值：`language` 设置，其次是系统区域设置]",
    ),
    ("*", "help", "显示帮助"),
    ("*", "version", "显示版本"),
    (
        "*",
        "password_stdin",
        "从标准输入读取密码（一行），而不是从终端读取",
    ),
    ("*", "yes", "不询问，直接安装"),
    (
        "*",
        "ready_timeout",
        "重启后的服务必须在此秒数内响应，否则恢复之前的版本",
    ),
    ("*", "subcommand", "显示这些子命令的帮助"),
    (
        "start",
        "engine",
        "服务程序：`builtin`（内置引擎）、`official`（安装在 versions/ 下的 CLIProxyAPI 正式版本，未安装时先下载；`cliproxyapi` 是旧写法，从不下载），或兼容 CLIProxyAPI 的程序路径 [默认值：`engine` 设置，其次是已安装的正式版本，再次是首次启动时询问（没有终端时使用内置引擎）]",
    ),
    ("start", "no_open", "不在浏览器中打开 WebUI"),
    (
        "start",
        "foreground",
        "保持在前台：服务退出时报告，按 Ctrl+C 时停止服务",
    ),
    (
        "start",
        "ready_timeout",
        "等待服务响应的秒数，超时后不再等待",
    ),
    (
        "stop",
        "timeout",
        "从请求服务关闭到强制结束进程之间等待的秒数",
    ),
    ("status", "json", "以一个 JSON 对象输出状态"),
    (
        "status",
        "show_api_key",
        "同时显示配置文件中的客户端 API 密钥",
    ),
    (
        "password set",
        "restart",
        "重启正在运行的服务，并检查它是否接受新密码",
    ),
    (
        "open",
        "target",
        "要打开的目标：webui（在浏览器中打开管理 WebUI）、config（config.yaml）、folder（主文件夹）、logs（日志文件夹）",
    ),
    ("logs", "lines", "从末尾开始输出的行数"),
    ("logs", "follow", "持续输出服务新写入的行"),
    (
        "update",
        "check",
        "只比较最新版本与已安装的版本（一次 API 请求）",
    ),
    (
        "install",
        "from",
        "安装此发布包（CLIProxyAPI_<version>_<os>_<arch>.zip 或 .tar.gz）；旁边有 checksums.txt 时用它校验",
    ),
    (
        "install",
        "allow_unverified",
        "即使发布包没有公布校验和也安装",
    ),
    ("versions use", "tag", "发布标签，例如 v6.7.37"),
    ("versions prune", "keep", "要保留的最新版本数"),
];

/// Help layout with Chinese usage heading. clap fills in `{all-args}`, whose
/// headings come from [`ZH_HEADING_*`](ZH_HEADING_OPTIONS) set on each part.
const ZH_TEMPLATE: &str =
    "{before-help}{about-with-newline}\n用法：{usage}\n\n{all-args}{after-help}";
/// Layout for a command without arguments or subcommands to list.
const ZH_TEMPLATE_NO_ARGS: &str = "{before-help}{about-with-newline}\n用法：{usage}{after-help}";
const ZH_HEADING_COMMANDS: &str = "命令";
const ZH_HEADING_ARGUMENTS: &str = "参数";
const ZH_HEADING_OPTIONS: &str = "选项";

/// Parses the command line, with help and errors in the user's language.
/// Help, version and usage errors end the process, as with clap's own parser.
pub fn parse(args: Vec<OsString>) -> Cli {
    let lang = help_language(&args);
    let command = match lang {
        Lang::ZhCn => zh_command(),
        Lang::En => Cli::command(),
    };
    let result = command
        .try_get_matches_from(args)
        .and_then(|matches| Cli::from_arg_matches(&matches));
    match result {
        Ok(cli) => cli,
        Err(err) if lang == Lang::ZhCn && is_usage_error(&err) => {
            eprint!("{}", zh_error(&err));
            std::process::exit(err.exit_code());
        }
        Err(err) if lang == Lang::ZhCn => {
            // Help and version output, rendered by clap with its
            // hard-coded English parts translated.
            let styled = err.render();
            let to_terminal = if err.use_stderr() {
                std::io::stderr().is_terminal()
            } else {
                std::io::stdout().is_terminal()
            };
            let text = if to_terminal {
                styled.ansi().to_string()
            } else {
                styled.to_string()
            };
            let text = zh_polish(&text);
            // A closed pipe (`cpa-tray --help | head -1`) is not an error.
            let _ = if err.use_stderr() {
                std::io::stderr().lock().write_all(text.as_bytes())
            } else {
                std::io::stdout().lock().write_all(text.as_bytes())
            };
            std::process::exit(err.exit_code());
        }
        Err(err) => err.exit(),
    }
}

/// Translates the parts of help and usage text that clap hard-codes: the
/// `[OPTIONS]` placeholder and the ASCII colon after each heading.
fn zh_polish(text: &str) -> String {
    let mut text = text.replace("[OPTIONS]", &format!("[{ZH_HEADING_OPTIONS}]"));
    for heading in [
        ZH_HEADING_COMMANDS,
        ZH_HEADING_ARGUMENTS,
        ZH_HEADING_OPTIONS,
    ] {
        text = text.replace(&format!("{heading}:"), &format!("{heading}："));
    }
    text
}

/// Returns whether `err` reports a bad command line. Help and version output,
/// including the help clap shows for a command group without its subcommand,
/// is already Chinese and is printed by clap.
fn is_usage_error(err: &clap::Error) -> bool {
    !matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    )
}

/// Builds the parser with every description and heading in Chinese.
fn zh_command() -> clap::Command {
    // The descriptions go in before building, so the copies that clap makes
    // for its `help` subcommand carry the Chinese text too.
    let mut command = localize_about(Cli::command(), "");
    // Building adds the generated `--help`, `--version` and `help` parts and
    // copies global arguments into subcommands, so they can be translated.
    command.build();
    localize_built(command, "")
}

/// Replaces the description of `command` (at `path`) and its subcommands.
fn localize_about(mut command: clap::Command, path: &str) -> clap::Command {
    if let Some(about) = zh_about(path) {
        command = command.about(about).long_about(None::<&str>);
    }
    for_each_subcommand(command, path, localize_about)
}

/// Translates what building added, the arguments and the headings, at `path`
/// and below.
fn localize_built(mut command: clap::Command, path: &str) -> clap::Command {
    if let Some(about) = zh_about(path) {
        command = command.about(about).long_about(None::<&str>);
    }
    let ids: Vec<String> = command
        .get_arguments()
        .map(|arg| arg.get_id().to_string())
        .collect();
    for id in ids {
        let help = zh_arg_help(path, &id);
        command = command.mut_arg(id, |arg| localize_arg(arg, help));
    }
    let lists_something =
        command.has_subcommands() || command.get_arguments().any(|arg| !arg.is_hide_set());
    command = command
        .help_template(if lists_something {
            ZH_TEMPLATE
        } else {
            ZH_TEMPLATE_NO_ARGS
        })
        .subcommand_help_heading(ZH_HEADING_COMMANDS)
        .subcommand_value_name(ZH_HEADING_COMMANDS);
    for_each_subcommand(command, path, localize_built)
}

/// Sets the Chinese description of one argument and replaces clap's English
/// notes about defaults, environment variables and possible values.
fn localize_arg(arg: clap::Arg, help: Option<&str>) -> clap::Arg {
    let Some(help) = help else {
        // Without a translation the English text stays, and the tree test
        // lists the argument.
        return arg;
    };
    let mut text = help.to_string();
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|value| value.to_string_lossy().into_owned())
        .collect();
    // clap shows no default for a flag (its `false`), so neither does this.
    let takes_values = arg.get_action().takes_values();
    if takes_values && !defaults.is_empty() && !arg.is_hide_default_value_set() {
        let _ = write!(text, " [默认值：{}]", defaults.join(", "));
    }
    if let Some(env) = arg.get_env()
        && !arg.is_hide_env_set()
    {
        let _ = write!(text, " [环境变量：{}]", env.to_string_lossy());
    }
    let value_names: Vec<clap::builder::Str> = arg
        .get_value_names()
        .unwrap_or_default()
        .iter()
        .map(|name| zh_value_name(name.as_str()).map_or_else(|| name.clone(), Into::into))
        .collect();
    let arg = if value_names.is_empty() {
        arg
    } else {
        arg.value_names(value_names)
    };
    let heading = if arg.is_positional() {
        ZH_HEADING_ARGUMENTS
    } else {
        ZH_HEADING_OPTIONS
    };
    arg.help(text)
        .long_help(None::<&str>)
        .hide_default_value(true)
        .hide_env(true)
        .hide_possible_values(true)
        .help_heading(heading)
}

/// Returns the Chinese placeholder for a value name such as `FILE`, or
/// `None` for a name that stays as it is (such as `N`).
fn zh_value_name(name: &str) -> Option<&'static str> {
    Some(match name {
        "DIR" => "目录",
        "FILE" => "文件",
        "LANG" => "语言",
        "ENGINE" => "引擎",
        "SECONDS" => "秒",
        "TAG" => "标签",
        "TARGET" => "目标",
        _ => return None,
    })
}

/// Applies `localize` to each subcommand of `command` at `path`.
fn for_each_subcommand(
    mut command: clap::Command,
    path: &str,
    localize: fn(clap::Command, &str) -> clap::Command,
) -> clap::Command {
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

/// Returns the Chinese description of the command at `path`.
fn zh_about(path: &str) -> Option<&'static str> {
    if path == "help" || path.ends_with(" help") || path.starts_with("help ") {
        return Some(ZH_HELP_COMMAND);
    }
    ZH_ABOUT
        .iter()
        .find(|(key, _)| *key == path)
        .map(|(_, about)| *about)
}

/// Returns the Chinese description of argument `id` of the command at `path`.
/// `restart` takes the same arguments as `start`.
fn zh_arg_help(path: &str, id: &str) -> Option<&'static str> {
    let path = if path == "restart" { "start" } else { path };
    let find = |key: &str| {
        ZH_ARGS
            .iter()
            .find(|(command, arg, _)| *command == key && *arg == id)
            .map(|(_, _, help)| *help)
    };
    find(path).or_else(|| find("*"))
}

/// Writes a clap usage error in Chinese, keeping the argument names and
/// values, the usage line and the suggestions clap found.
fn zh_error(err: &clap::Error) -> String {
    let text = |kind| match err.get(kind) {
        Some(ContextValue::String(value)) => value.clone(),
        Some(ContextValue::Strings(values)) => values.join(", "),
        Some(ContextValue::Number(number)) => number.to_string(),
        _ => String::new(),
    };
    let arg = text(ContextKind::InvalidArg);
    let value = text(ContextKind::InvalidValue);
    let subcommand = text(ContextKind::InvalidSubcommand);

    let mut out = String::from("错误：");
    match err.kind() {
        ErrorKind::InvalidValue if value.is_empty() => {
            let _ = write!(out, "参数 '{arg}' 需要一个值，但没有提供");
        }
        ErrorKind::InvalidValue => {
            let _ = write!(out, "参数 '{arg}' 的值 '{value}' 无效");
        }
        ErrorKind::ValueValidation => {
            let _ = write!(out, "参数 '{arg}' 的值 '{value}' 无效");
            if let Some(reason) = std::error::Error::source(err).and_then(zh_parse_reason) {
                let _ = write!(out, "：{reason}");
            }
        }
        ErrorKind::UnknownArgument => {
            let _ = write!(out, "无法识别的参数 '{arg}'");
        }
        ErrorKind::InvalidSubcommand => {
            let _ = write!(out, "无法识别的子命令 '{subcommand}'");
        }
        ErrorKind::MissingRequiredArgument => {
            let _ = write!(out, "缺少必需的参数：");
            if let Some(ContextValue::Strings(values)) = err.get(ContextKind::InvalidArg) {
                for value in values {
                    let _ = write!(out, "\n  {value}");
                }
            }
        }
        ErrorKind::MissingSubcommand => {
            let _ = write!(out, "'{subcommand}' 需要一个子命令，但没有提供");
        }
        ErrorKind::ArgumentConflict => {
            let prior = text(ContextKind::PriorArg);
            if prior.is_empty() || prior == arg {
                let _ = write!(out, "参数 '{arg}' 不能重复使用");
            } else {
                let _ = write!(out, "参数 '{arg}' 不能与 '{prior}' 同时使用");
            }
        }
        ErrorKind::TooManyValues => {
            let _ = write!(out, "参数 '{arg}' 多出了值 '{value}'，它不接受更多的值");
        }
        ErrorKind::TooFewValues => {
            let _ = write!(
                out,
                "参数 '{arg}' 至少需要 {} 个值，但只提供了 {} 个",
                text(ContextKind::MinValues),
                text(ContextKind::ActualNumValues)
            );
        }
        ErrorKind::WrongNumberOfValues => {
            let _ = write!(
                out,
                "参数 '{arg}' 需要 {} 个值，但提供了 {} 个",
                text(ContextKind::ExpectedNumValues),
                text(ContextKind::ActualNumValues)
            );
        }
        ErrorKind::NoEquals => {
            let _ = write!(out, "给参数 '{arg}' 赋值时需要使用等号（=）");
        }
        ErrorKind::InvalidUtf8 => out.push_str("参数不是有效的 UTF-8 文本"),
        _ => out.push_str("命令行无效"),
    }
    out.push('\n');

    let valid = text(ContextKind::ValidValue);
    if !valid.is_empty() {
        let _ = writeln!(out, "  [可选值：{valid}]");
    }
    let valid_subcommands = text(ContextKind::ValidSubcommand);
    if !valid_subcommands.is_empty() {
        let _ = writeln!(out, "  [可用的子命令：{valid_subcommands}]");
    }
    for kind in [
        ContextKind::SuggestedValue,
        ContextKind::SuggestedArg,
        ContextKind::SuggestedSubcommand,
    ] {
        let suggestions = match err.get(kind) {
            Some(ContextValue::String(value)) => vec![value.clone()],
            Some(ContextValue::Strings(values)) => values.clone(),
            _ => Vec::new(),
        };
        match suggestions.as_slice() {
            [] => {}
            [one] => {
                let _ = write!(out, "\n  提示：你是否想用 '{one}'？\n");
            }
            several => {
                let quoted: Vec<String> = several.iter().map(|s| format!("'{s}'")).collect();
                let _ = write!(out, "\n  提示：有几个相似的写法：{}\n", quoted.join("、"));
            }
        }
    }
    if let Some(ContextValue::StyledStrs(tips)) = err.get(ContextKind::Suggested) {
        for tip in tips {
            let _ = write!(out, "\n  提示：{}\n", zh_tip(&tip.to_string()));
        }
    }
    if let Some(ContextValue::StyledStr(usage)) = err.get(ContextKind::Usage) {
        let usage = usage.to_string();
        let usage = usage.trim().trim_start_matches("Usage:").trim();
        let _ = writeln!(out, "\n用法：{}", zh_polish(usage));
    }
    out.push_str("\n更多信息请使用 '--help'。\n");
    out
}

/// Translates one of clap's free-text tips (clap 4.6 writes three kinds);
/// an unknown tip stays English rather than being dropped.
fn zh_tip(tip: &str) -> String {
    let quoted = |text: &str| -> Option<String> {
        Some(text.strip_prefix('\'')?.strip_suffix('\'')?.to_string())
    };
    if let Some(rest) = tip.strip_prefix("to pass ")
        && let Some((value, command)) = rest.split_once(" as a value, use ")
        && let (Some(value), Some(command)) = (quoted(value), quoted(command))
    {
        return format!("如果要把 '{value}' 当作值传入，请使用 '{command}'");
    }
    if let Some(rest) = tip.strip_prefix("subcommand ")
        && let Some(name) = rest
            .strip_suffix(" exists; to use it, remove the '--' before it")
            .and_then(quoted)
    {
        return format!("子命令 '{name}' 存在；要使用它，请删除它前面的 '--'");
    }
    if let Some(usage) = tip.strip_suffix(" exists").and_then(quoted) {
        return format!("可以使用 '{usage}'");
    }
    tip.to_string()
}

/// Explains in Chinese why a value did not parse, for the value types the
/// command line uses (unsigned integers and seconds as decimal numbers).
fn zh_parse_reason(source: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    if source.is::<std::num::ParseIntError>() {
        Some("需要一个非负整数")
    } else if source.is::<std::num::ParseFloatError>() {
        Some("需要一个数字（可以带小数）")
    } else {
        None
    }
}

/// Finds the language before clap parses: `--lang X` or `--lang=X`, then
/// `CPA_TRAY_LANG`, then the `language` setting of the home folder that
/// `--home`, `CPA_TRAY_HOME` or `--config` chooses, then the system locale.
/// Settings warnings are left to the command, which reports them.
fn help_language(args: &[OsString]) -> Lang {
    let explicit = option_value(args, "--lang")
        .or_else(|| std::env::var("CPA_TRAY_LANG").ok())
        .and_then(|tag| Lang::from_tag(&tag));
    if explicit.is_some() {
        return Lang::resolve(explicit, None);
    }
    let home = option_value(args, "--home")
        .or_else(|| std::env::var("CPA_TRAY_HOME").ok())
        .map(PathBuf::from);
    let config = option_value(args, "--config").map(PathBuf::from);
    let setting = Home::resolve(home.as_deref(), config.as_deref())
        .ok()
        .and_then(|home| {
            SettingsStore::new(home.settings_path(), home.settings_fallback_path())
                .load()
                .settings
                .language()
                .map(str::to_string)
        });
    Lang::resolve(None, setting.as_deref())
}

/// Returns the last value of `--name X` or `--name=X` in `args`.
fn option_value(args: &[OsString], name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    let mut value = None;
    let mut iter = args.iter().map(|arg| arg.to_string_lossy());
    while let Some(arg) = iter.next() {
        if arg == name {
            value = iter.next().map(|next| next.into_owned());
        } else if let Some(rest) = arg.strip_prefix(&prefix) {
            value = Some(rest.to_string());
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns whether `text` contains a CJK ideograph.
    fn has_chinese(text: &str) -> bool {
        text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    }

    /// Visits every command of the built Chinese tree with its path.
    fn walk(command: &clap::Command, path: &str, visit: &mut dyn FnMut(&clap::Command, &str)) {
        visit(command, path);
        for sub in command.get_subcommands() {
            let sub_path = if path.is_empty() {
                sub.get_name().to_string()
            } else {
                format!("{path} {}", sub.get_name())
            };
            walk(sub, &sub_path, visit);
        }
    }

    #[test]
    fn every_command_and_argument_has_chinese_help() {
        let command = zh_command();
        let mut missing = Vec::new();
        walk(&command, "", &mut |command, path| {
            let about = command.get_about().map(ToString::to_string);
            if !about.as_deref().is_some_and(has_chinese) {
                missing.push(format!("command `{path}`: {about:?}"));
            }
            if let Some(long) = command.get_long_about()
                && !has_chinese(&long.to_string())
            {
                missing.push(format!("command `{path}` long about: {long}"));
            }
            for arg in command.get_arguments() {
                let help = arg.get_help().map(ToString::to_string);
                if !help.as_deref().is_some_and(has_chinese) {
                    missing.push(format!("`{path}` argument `{}`: {help:?}", arg.get_id()));
                }
                if let Some(long) = arg.get_long_help() {
                    missing.push(format!(
                        "`{path}` argument `{}` long help: {long}",
                        arg.get_id()
                    ));
                }
            }
        });
        assert!(
            missing.is_empty(),
            "add Chinese text to ZH_ABOUT / ZH_ARGS in help.rs for:\n{}",
            missing.join("\n")
        );
    }

    #[test]
    fn chinese_help_has_no_clap_english() {
        let english = [
            "Usage:",
            "Commands:",
            "Options:",
            "Arguments:",
            "Print help",
            "Print version",
            "[default:",
            "[env:",
            "[possible values:",
            "Possible values:",
            "[OPTIONS]",
            "[COMMAND]",
            "<COMMAND>",
            "<FILE>",
            "命令:",
            "选项:",
            "参数:",
        ];
        let mut command = zh_command();
        let mut paths = Vec::new();
        walk(&command, "", &mut |_, path| paths.push(path.to_string()));
        for path in paths {
            let mut target = &mut command;
            for name in path.split_whitespace() {
                target = target
                    .find_subcommand_mut(name)
                    .expect("walked path exists");
            }
            for help in [target.render_help(), target.render_long_help()] {
                let help = zh_polish(&help.to_string());
                assert!(help.contains("用法："), "`{path}` help:\n{help}");
                for word in english {
                    assert!(
                        !help.contains(word),
                        "`{path}` help contains {word:?}:\n{help}"
                    );
                }
            }
        }
    }

    #[test]
    fn chinese_help_keeps_defaults_and_env() {
        let mut command = zh_command();
        let start = command.find_subcommand_mut("start").expect("start");
        let help = start.render_help().to_string();
        assert!(help.contains("[默认值：12]"), "{help}");
        assert!(help.contains("[环境变量：CPA_TRAY_HOME]"), "{help}");
        assert!(help.contains("[环境变量：CPA_TRAY_LANG]"), "{help}");
        assert!(!help.contains("[默认值：false]"), "{help}");
    }

    #[test]
    fn chinese_parser_parses_like_english() {
        let cases: &[&[&str]] = &[
            &[
                "cpa-tray", "--lang", "zh-CN", "versions", "prune", "--keep", "3",
            ],
            &[
                "cpa-tray",
                "start",
                "--engine",
                "builtin",
                "--no-open",
                "--ready-timeout",
                "3.5",
            ],
            &["cpa-tray", "--home", "/tmp/h", "logs", "-n", "7", "-f"],
            &["cpa-tray", "open", "webui", "--config", "/tmp/c.yaml"],
            &[
                "cpa-tray",
                "install",
                "--from",
                "a.zip",
                "-y",
                "--allow-unverified",
            ],
            &[
                "cpa-tray",
                "password",
                "set",
                "--password-stdin",
                "--restart",
            ],
            &["cpa-tray"],
        ];
        for args in cases {
            let zh = zh_command().try_get_matches_from(*args).expect("zh parse");
            let en = Cli::command()
                .try_get_matches_from(*args)
                .expect("en parse");
            let zh = Cli::from_arg_matches(&zh).expect("zh matches");
            let en = Cli::from_arg_matches(&en).expect("en matches");
            assert_eq!(format!("{zh:?}"), format!("{en:?}"), "{args:?}");
        }
    }

    #[test]
    fn invalid_number_error_in_chinese() {
        let err = zh_command()
            .try_get_matches_from(["cpa-tray", "versions", "prune", "--keep", "abc"])
            .expect_err("abc is not a number");
        let text = zh_error(&err);
        assert!(
            text.starts_with("错误：参数 '--keep <N>' 的值 'abc' 无效：需要一个非负整数"),
            "{text}"
        );
        assert!(text.ends_with("更多信息请使用 '--help'。\n"), "{text}");
    }

    #[test]
    fn unknown_argument_error_in_chinese() {
        let err = zh_command()
            .try_get_matches_from(["cpa-tray", "start", "--no-opn"])
            .expect_err("--no-opn is unknown");
        let text = zh_error(&err);
        assert!(
            text.starts_with("错误：无法识别的参数 '--no-opn'"),
            "{text}"
        );
        assert!(text.contains("提示：你是否想用 '--no-open'？"), "{text}");
    }

    #[test]
    fn invalid_choice_error_lists_values() {
        let err = zh_command()
            .try_get_matches_from(["cpa-tray", "open", "browser"])
            .expect_err("browser is not a target");
        let text = zh_error(&err);
        assert!(
            text.starts_with("错误：参数 '<目标>' 的值 'browser' 无效"),
            "{text}"
        );
        assert!(
            text.contains("[可选值：webui, config, folder, logs]"),
            "{text}"
        );
    }

    #[test]
    fn command_group_alone_shows_chinese_help() {
        let err = zh_command()
            .try_get_matches_from(["cpa-tray", "password"])
            .expect_err("password needs a subcommand");
        assert!(!is_usage_error(&err), "{:?}", err.kind());
        let help = err.render().to_string();
        assert!(help.contains("用法：cpa-tray password"), "{help}");
        assert!(help.contains("设置新的管理密码"), "{help}");
    }

    #[test]
    fn unknown_subcommand_error_in_chinese() {
        let err = zh_command()
            .try_get_matches_from(["cpa-tray", "strat"])
            .expect_err("strat is unknown");
        assert!(is_usage_error(&err));
        let text = zh_error(&err);
        assert!(text.starts_with("错误：无法识别的子命令 'strat'"), "{text}");
        assert!(text.contains("提示：有几个相似的写法："), "{text}");
        assert!(text.contains("'start'"), "{text}");
        assert!(text.contains("用法：cpa-tray [选项] [命令]"), "{text}");
    }

    #[test]
    fn clap_tips_in_chinese() {
        let err = zh_command()
            .try_get_matches_from(["cpa-tray", "--", "start"])
            .expect_err("start after -- is not a command");
        let text = zh_error(&err);
        assert!(
            text.contains("提示：子命令 'start' 存在；要使用它，请删除它前面的 '--'"),
            "{text}"
        );

        let err = zh_command()
            .try_get_matches_from(["cpa-tray", "versions", "use", "-x"])
            .expect_err("-x is not an option");
        let text = zh_error(&err);
        assert!(
            text.contains("提示：如果要把 '-x' 当作值传入，请使用 '-- -x'"),
            "{text}"
        );

        assert_eq!(zh_tip("'status --json' exists"), "可以使用 'status --json'");

        assert_eq!(zh_tip("something new"), "something new");
    }
}
