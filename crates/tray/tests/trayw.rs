//! `cpa-trayw`, the console-less launcher: it runs `cpa-tray` from its own
//! folder with the same arguments and exits with the same status.

use std::process::Command;

const LAUNCHER: &str = env!("CARGO_BIN_EXE_cpa-trayw");

fn launcher() -> Command {
    cpa_testkit::binary_command("cpa-trayw", LAUNCHER)
}

/// Returns whether the launcher runs under a runner such as Wine, where a
/// GUI-subsystem program's standard output may not reach the test.
fn under_runner() -> bool {
    std::env::var_os("CPA_TEST_RUNNER").is_some_and(|runner| !runner.is_empty())
}

#[test]
fn trayw_passes_arguments_through() {
    let output = launcher().arg("--version").output().unwrap();

    assert_eq!(output.status.code(), Some(0), "{output:?}");
    if !under_runner() {
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            stdout.trim(),
            format!("cpa-tray {}", env!("CARGO_PKG_VERSION"))
        );
    }
}

#[test]
fn trayw_returns_tray_exit_status() {
    let output = launcher().arg("no-such-command").output().unwrap();

    // clap's status for a usage error.
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}

#[test]
fn trayw_without_tray_fails() {
    let dir = tempfile::tempdir().unwrap();
    let program = std::env::var_os("CPA_TEST_BIN_CPA_TRAYW").unwrap_or_else(|| LAUNCHER.into());
    let alone = dir
        .path()
        .join(std::path::Path::new(&program).file_name().unwrap());
    std::fs::copy(&program, &alone).unwrap();
    let mut command = match std::env::var_os("CPA_TEST_RUNNER").filter(|r| !r.is_empty()) {
        Some(runner) => {
            let mut command = Command::new(runner);
            command.arg(&alone);
            command
        }
        None => Command::new(&alone),
    };

    let output = command.arg("--version").output().unwrap();

    assert_eq!(output.status.code(), Some(1), "{output:?}");
    if !under_runner() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("not found: keep cpa-trayw next to cpa-tray"),
            "{stderr}"
        );
    }
}
