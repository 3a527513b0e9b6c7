//! How a process ended, in the user's language.
//!
//! The `Display` of [`ExitStatus`] is English (`exit status: 2`, `signal: 9
//! (SIGKILL)`) and would otherwise sit inside Chinese sentences.

use std::process::ExitStatus;

use super::Lang;

/// Describes how a process ended: for English exactly the standard library's
/// text, for Chinese `退出码 N` or `被信号 N 终止`.
pub fn exit_status_text(status: ExitStatus, lang: Lang) -> String {
    match lang {
        Lang::En => status.to_string(),
        Lang::ZhCn => zh_exit_status(status),
    }
}

/// Describes an exit code alone, as [`exit_status_text`] would for a
/// process that exited with `code`.
pub fn exit_code_text(code: i32, lang: Lang) -> String {
    match lang {
        Lang::En => format!("exit status: {code}"),
        Lang::ZhCn => format!("退出码 {code}"),
    }
}

fn zh_exit_status(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        // Windows reports a crash as an NTSTATUS code such as 0xC0000005,
        // which reads as a negative i32.
        if cfg!(windows) && code < 0 {
            return format!("退出码 {:#010x}", code as u32);
        }
        return format!("退出码 {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;

        if let Some(signal) = status.signal() {
            return if status.core_dumped() {
                format!("被信号 {signal} 终止（已生成 core 转储）")
            } else {
                format!("被信号 {signal} 终止")
            };
        }
        if let Some(signal) = status.stopped_signal() {
            return format!("被信号 {signal} 暂停");
        }
    }
    // No code and no signal: keep the standard library's description.
    status.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn run_shell(script: &str) -> ExitStatus {
        std::process::Command::new("sh")
            .args(["-c", script])
            .status()
            .expect("run sh")
    }

    #[cfg(unix)]
    #[test]
    fn exit_code_in_both_languages() {
        let status = run_shell("exit 2");
        assert_eq!(exit_status_text(status, Lang::En), "exit status: 2");
        assert_eq!(exit_status_text(status, Lang::ZhCn), "退出码 2");
    }

    #[cfg(unix)]
    #[test]
    fn signal_in_both_languages() {
        let status = run_shell("kill -9 $$");
        assert_eq!(exit_status_text(status, Lang::En), status.to_string());
        assert_eq!(exit_status_text(status, Lang::ZhCn), "被信号 9 终止");
    }

    #[cfg(windows)]
    #[test]
    fn exit_code_in_both_languages() {
        let status = std::process::Command::new("cmd")
            .args(["/C", "exit 2"])
            .status()
            .expect("run cmd");
        assert_eq!(exit_status_text(status, Lang::En), status.to_string());
        assert_eq!(exit_status_text(status, Lang::ZhCn), "退出码 2");
    }
}
