//! Simplified Chinese help and command-line errors, read from the real binary.

use std::process::Output;

fn run(args: &[&str]) -> Output {
    cpa_testkit::binary_command("cpa-tray", env!("CARGO_BIN_EXE_cpa-tray"))
        .args(args)
        .env_remove("CPA_TRAY_LANG")
        .env_remove("CPA_TRAY_HOME")
        .output()
        .expect("run cpa-tray")
}

/// Returns the output as text, with the program named `cpa-tray` as on Unix:
/// clap takes the name from the executable, `cpa-tray.exe` on Windows.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace("cpa-tray.exe", "cpa-tray")
}

const CLAP_ENGLISH: &[&str] = &[
    "Usage:",
    "Commands:",
    "Options:",
    "Arguments:",
    "Print help",
    "Print version",
    "[default:",
    "[env:",
    "[OPTIONS]",
    "[COMMAND]",
    "<DIR>",
    "选项:",
    "命令:",
];

#[test]
fn start_help_in_chinese() {
    let output = run(&["--lang", "zh-CN", "start", "--help"]);
    assert!(output.status.success(), "{output:?}");
    let help = text(&output.stdout);
    for chinese in [
        "启动服务",
        "用法：cpa-tray start [选项]",
        "\n选项：\n",
        "--ready-timeout <秒>",
        "不在浏览器中打开 WebUI",
        "[默认值：12]",
        "[环境变量：CPA_TRAY_HOME]",
        "显示帮助",
    ] {
        assert!(help.contains(chinese), "missing {chinese:?} in:\n{help}");
    }
    for english in CLAP_ENGLISH {
        assert!(!help.contains(english), "found {english:?} in:\n{help}");
    }
}

#[test]
fn top_level_help_in_chinese() {
    let output = run(&["--lang=zh-CN", "--help"]);
    assert!(output.status.success(), "{output:?}");
    let help = text(&output.stdout);
    for chinese in [
        "用法：cpa-tray [选项] [命令]",
        "\n命令：\n",
        "--home <目录>",
        "检查 CLIProxyAPI 是否有新版本",
        "显示此帮助",
    ] {
        assert!(help.contains(chinese), "missing {chinese:?} in:\n{help}");
    }
    for english in CLAP_ENGLISH {
        assert!(!help.contains(english), "found {english:?} in:\n{help}");
    }
}

#[test]
fn english_help_stays_clap_english() {
    let output = run(&["--lang", "en", "start", "--help"]);
    assert!(output.status.success(), "{output:?}");
    let help = text(&output.stdout);
    assert!(help.contains("Usage: cpa-tray start [OPTIONS]"), "{help}");
    assert!(
        help.contains("Do not open the WebUI in a browser"),
        "{help}"
    );
    assert!(help.contains("[default: 12]"), "{help}");
    assert!(!help.contains("用法"), "{help}");
}

#[test]
fn invalid_value_error_in_chinese() {
    let output = run(&["--lang", "zh-CN", "versions", "prune", "--keep", "abc"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(output.stdout.is_empty(), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with("错误：参数 '--keep <N>' 的值 'abc' 无效：需要一个非负整数"),
        "{stderr}"
    );
    assert!(!stderr.contains("error:"), "{stderr}");
}

#[test]
fn unknown_argument_error_in_chinese() {
    let output = run(&["--lang", "zh-CN", "start", "--no-opn"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with("错误：无法识别的参数 '--no-opn'"),
        "{stderr}"
    );
    assert!(
        stderr.contains("提示：你是否想用 '--no-open'？"),
        "{stderr}"
    );
    assert!(
        stderr.contains("用法：cpa-tray start --no-open"),
        "{stderr}"
    );
}

#[test]
fn english_error_stays_clap_english() {
    let output = run(&["--lang", "en", "versions", "prune", "--keep", "abc"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with("error: invalid value 'abc' for '--keep <N>'"),
        "{stderr}"
    );
}

#[test]
fn language_setting_chooses_chinese_help() {
    let home = tempfile::tempdir().expect("temporary home");
    std::fs::write(
        home.path().join("settings.json"),
        r#"{"language": "zh-CN"}"#,
    )
    .expect("write settings.json");
    let home_arg = home.path().to_str().expect("UTF-8 temporary path");
    let output = run(&["--home", home_arg, "stop", "--help"]);
    assert!(output.status.success(), "{output:?}");
    let help = text(&output.stdout);
    assert!(help.contains("用法：cpa-tray stop"), "{help}");
    assert!(help.contains("停止此托盘启动的服务"), "{help}");
}
