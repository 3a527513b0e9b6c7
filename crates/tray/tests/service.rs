//! Service control around the server: foreground runs, restart, remote
//! management, logs and open.

mod common;

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{TrayHome, alive, assert_success, skip_under_runner, stderr, stdout, test_server};

const PASSWORD: &str = "service-Password-1";

fn with_test_server<'a>(command: &'a mut Command, flags: &str) -> &'a mut Command {
    command
        .env("CPA_TRAY_ENGINE_PROGRAM", test_server())
        .env("CPA_TEST_SERVER", flags)
}

/// Returns `start --foreground` that reads the password from stdin and runs
/// the test server with `flags`.
fn foreground_start(home: &TrayHome, flags: &str) -> Command {
    let mut command = home.command();
    command.args(["start", "--foreground", "--password-stdin", "--no-open"]);
    with_test_server(&mut command, flags);
    command
}

/// Spawns `command` with piped standard streams.
fn spawn_piped(command: &mut Command) -> Child {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Spawns `command` with piped standard streams and types [`PASSWORD`].
fn spawn_with_password(command: &mut Command) -> Child {
    let mut child = spawn_piped(command);
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    child
}

/// Reads lines up to the foreground notice, which names Ctrl+C and appears
/// once the server is ready, and returns them. At end of output it returns
/// what it read.
fn read_until_ready(reader: &mut impl BufRead) -> String {
    let mut seen = String::new();
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap() > 0 {
        seen.push_str(&line);
        if line.contains("Ctrl+C") {
            break;
        }
        line.clear();
    }
    seen
}

/// Sends SIGINT to `pid` with kill(1); returns whether kill succeeded.
fn send_sigint(pid: u32) -> bool {
    Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap()
        .success()
}

fn enable_auto_restart(home: &TrayHome) {
    std::fs::write(
        home.path().join("settings.json"),
        br#"{"autoRestart":true}"#,
    )
    .unwrap();
}

/// Waits up to 20 s for the foreground run to announce a restart wait.
fn wait_for_pending_restart(pending: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !pending.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn foreground_reports_a_crash_with_log_lines() {
    if skip_under_runner(
        "foreground_reports_a_crash_with_log_lines",
        "the test server is a Linux binary",
    ) {
        return;
    }
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let mut command = home.command();
    command.args(["start", "--foreground", "--password-stdin", "--no-open"]);
    let output = common::run(
        with_test_server(&mut command, "--crash-after-ms 700"),
        &format!("{PASSWORD}\n"),
    );
    assert!(
        !output.status.success(),
        "a crash must fail the foreground run"
    );
    let message = stderr(&output);
    assert!(
        message.contains("The server exited (exit status: 3)"),
        "{message}"
    );
    assert!(message.contains("crashing on purpose"), "{message}");
    assert!(
        home.recorded_pid().is_none(),
        "record of a crashed server kept"
    );
}

#[cfg(unix)]
#[test]
fn foreground_ctrl_c_stops_the_server() {
    if skip_under_runner(
        "foreground_ctrl_c_stops_the_server",
        "the test server is a Linux binary",
    ) {
        return;
    }
    use std::io::BufReader;

    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let mut command = foreground_start(&home, "");
    let mut tray = spawn_with_password(&mut command);
    // Wait for the foreground notice, printed once the server is ready.
    let mut reader = BufReader::new(tray.stdout.take().unwrap());
    let seen = read_until_ready(&mut reader);
    assert!(seen.contains("Ctrl+C"), "{seen}");
    let server = home.recorded_pid().expect("server recorded");
    assert!(alive(server));

    assert!(send_sigint(tray.id()));
    let exit = tray.wait().unwrap();
    assert!(exit.success(), "foreground run after Ctrl+C: {exit:?}");
    let deadline = Instant::now() + Duration::from_secs(2);
    while alive(server) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!alive(server), "server left running after Ctrl+C");
}

#[test]
fn restart_keeps_the_running_engine() {
    if skip_under_runner(
        "restart_keeps_the_running_engine",
        "the test server is a Linux binary",
    ) {
        return;
    }
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let mut command = home.command();
    command.args(["start", "--password-stdin", "--no-open"]);
    let output = common::run(with_test_server(&mut command, ""), &format!("{PASSWORD}\n"));
    assert_success(&output);
    let first = home.recorded_pid().unwrap();

    // No CPA_TRAY_ENGINE_PROGRAM now: the restart must still use the test server.
    let output = home.run(&["restart", "--no-open"], "");
    assert_success(&output);
    assert!(stdout(&output).contains(&format!("Stopped the previous server (pid {first})")));
    let second = home.recorded_pid().unwrap();
    assert_ne!(first, second);
    assert!(!alive(first));
    let record = cpa_core::supervisor::record::read(&home.pid_file())
        .unwrap()
        .unwrap();
    assert_eq!(record.engine, "external");
    assert_eq!(record.exe, test_server().canonicalize().unwrap());
    let output = home.run(&["status", "--json"], "");
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["engine"], "external");
    assert_eq!(value["engineChoice"], "path");
    assert_success(&home.run(&["stop"], ""));
}

#[test]
fn remote_enable_needs_the_long_password() {
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let allow_remote = || {
        cpa_config::load(&home.config())
            .unwrap()
            .view()
            .unwrap()
            .allow_remote
            .value
    };

    // An 11-character password is too short for remote management.
    let short = "short-pw-11";
    assert_success(&home.run(
        &["password", "set", "--password-stdin"],
        &format!("{short}\n"),
    ));
    let output = home.run(
        &["remote", "enable", "--password-stdin"],
        &format!("{short}\n"),
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("at least 12"),
        "{}",
        stderr(&output)
    );
    assert_eq!(allow_remote(), Some(false));

    assert_success(&home.run(
        &["password", "set", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    ));
    let output = home.run(
        &["remote", "enable", "--password-stdin"],
        "wrong-password-long\n",
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(allow_remote(), Some(false));

    let output = home.run(
        &["remote", "enable", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert_success(&output);
    assert!(
        stderr(&output).contains("TLS"),
        "warning missing: {}",
        stderr(&output)
    );
    // The config listens on 127.0.0.1: the hint says that the host blocks
    // other computers, rather than pointing at the port.
    assert!(
        stderr(&output).contains("listens on 127.0.0.1"),
        "host missing: {}",
        stderr(&output)
    );
    assert!(!stderr(&output).contains("restart the server"));
    assert_eq!(allow_remote(), Some(true));

    // While remote management is on, a short password is refused and the
    // long one stays.
    let output = home.run(
        &["password", "set", "--password-stdin"],
        &format!("{short}\n"),
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("Remote management is on in")
            && stderr(&output).contains("at least 12 characters. Nothing was changed."),
        "{}",
        stderr(&output)
    );
    let verify = |password: &str| {
        home.run(
            &["password", "verify", "--password-stdin"],
            &format!("{password}\n"),
        )
        .status
        .success()
    };
    assert!(verify(PASSWORD));
    assert!(!verify(short));

    assert_success(&home.run(&["remote", "disable"], ""));
    assert_eq!(allow_remote(), Some(false));
}

#[test]
fn logs_print_the_server_output() {
    if skip_under_runner(
        "logs_print_the_server_output",
        "the test server is a Linux binary",
    ) {
        return;
    }
    let home = TrayHome::new();
    let output = home.run(&["logs"], "");
    assert!(!output.status.success(), "no log yet");
    assert!(
        stderr(&output).contains("No server log yet"),
        "{}",
        stderr(&output)
    );

    home.write_config(cpa_testkit::free_port(), "");
    let mut command = home.command();
    command.args(["start", "--password-stdin", "--no-open"]);
    assert_success(&common::run(
        with_test_server(&mut command, ""),
        &format!("{PASSWORD}\n"),
    ));
    let output = home.run(&["logs", "-n", "3"], "");
    assert_success(&output);
    let printed = stdout(&output);
    assert_eq!(printed.lines().count(), 3, "{printed}");
    assert!(
        printed.contains("API server started successfully"),
        "{printed}"
    );
    assert_success(&home.run(&["stop"], ""));
}

#[test]
fn started_binary_names_its_version_and_missing_webui() {
    if skip_under_runner(
        "started_binary_names_its_version_and_missing_webui",
        "the test server is a Linux binary",
    ) {
        return;
    }
    // The test server prints upstream's version line, then 100 kB of output
    // before it serves. It returns 404 for /management.html, like a
    // CLIProxyAPI whose panel download failed.
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let panel = home.path().join("panel");
    let mut command = home.command();
    command
        .args(["start", "--password-stdin", "--no-open"])
        .env("MANAGEMENT_STATIC_PATH", &panel)
        .env_remove("WRITABLE_PATH");
    let output = common::run(
        with_test_server(&mut command, "--version 6.9.1 --write-bytes 100000"),
        &format!("{PASSWORD}\n"),
    );
    assert_success(&output);
    let page = panel.join("management.html");
    let missing = format!(
        "The WebUI page is missing: the server answers 404 on /management.html because {} does not exist",
        page.display()
    );
    let err = stderr(&output);
    assert!(err.contains(&missing), "{err}");
    assert!(!err.contains("safe mode"), "{err}");
    assert!(stdout(&output).contains("6.9.1"), "{}", stdout(&output));

    // status runs without the variable, and still names the page the
    // server reads.
    let mut command = home.command();
    command
        .args(["status", "--json"])
        .env_remove("MANAGEMENT_STATIC_PATH");
    let output = common::run(&mut command, "");
    assert_success(&output);
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(value["version"], "6.9.1", "{value}");
    assert_eq!(value["webui"], "missing", "{value}");
    assert_eq!(value["safeMode"], false, "{value}");
    let mut command = home.command();
    command.arg("status").env_remove("MANAGEMENT_STATIC_PATH");
    let printed = stdout(&common::run(&mut command, ""));
    assert!(printed.contains(&missing), "{printed}");

    // The binary at the same path was replaced: restart reads the version
    // the new run prints.
    let mut command = home.command();
    command.args(["restart", "--no-open"]);
    let output = common::run(with_test_server(&mut command, "--version 8.0.0"), "");
    assert_success(&output);
    let output = home.run(&["status", "--json"], "");
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(value["version"], "8.0.0", "{value}");

    // A config that switches the page off is named instead of the download.
    let text = std::fs::read_to_string(home.config()).unwrap();
    let text = text.replace(
        "remote-management:\n",
        "remote-management:\n  disable-control-panel: true\n",
    );
    std::fs::write(home.config(), text).unwrap();
    let output = home.run(&["status"], "");
    assert_success(&output);
    let printed = stdout(&output);
    assert!(
        printed.contains("The WebUI page is switched off:")
            && printed.contains("disable-control-panel to true"),
        "{printed}"
    );
    assert_success(&home.run(&["stop"], ""));
}

#[test]
fn safe_mode_message_follows_config_keys() {
    if skip_under_runner(
        "safe_mode_message_follows_config_keys",
        "the test server is a Linux binary",
    ) {
        return;
    }
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");

    // In safe mode with no example key in the file: the server did not
    // take up the change, so the message names logs and restart.
    let mut command = home.command();
    command.args(["start", "--password-stdin", "--no-open"]);
    let output = common::run(
        with_test_server(&mut command, "--safe-mode-page"),
        &format!("{PASSWORD}\n"),
    );
    assert_success(&output);
    let err = stderr(&output);
    assert!(
        err.contains("The server still runs in safe mode, although api-keys in")
            && err.contains("lists no example key"),
        "{err}"
    );
    assert!(err.contains("`cpa-tray restart`"), "{err}");
    assert_success(&home.run(&["stop"], ""));

    // Example keys, but a server without safe mode (an older CLIProxyAPI):
    // the warning is about the next version.
    let text = std::fs::read_to_string(home.config()).unwrap();
    std::fs::write(
        home.config(),
        text.replace("sk-test-client-key", "your-api-key-2"),
    )
    .unwrap();
    let mut command = home.command();
    command.args(["start", "--no-open"]);
    let output = common::run(with_test_server(&mut command, ""), "");
    assert_success(&output);
    let err = stderr(&output);
    assert!(
        err.contains("still lists upstream's example client API keys (your-api-key-2)"),
        "{err}"
    );
    assert!(!err.contains("The server runs in safe mode"), "{err}");
    assert_success(&home.run(&["stop"], ""));
}

#[test]
fn open_webui_needs_a_running_server() {
    if skip_under_runner(
        "open_webui_needs_a_running_server",
        "the test server is a Linux binary",
    ) {
        return;
    }
    let home = TrayHome::new();
    let port = cpa_testkit::free_port();
    home.write_config(port, "");
    let output = home.run(&["open", "webui"], "");
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains(&format!("port {port} not listening")),
        "{}",
        stderr(&output)
    );

    let mut command = home.command();
    command.args(["start", "--password-stdin", "--no-open"]);
    assert_success(&common::run(
        with_test_server(&mut command, ""),
        &format!("{PASSWORD}\n"),
    ));
    // The test environment has no display, so the address is printed instead.
    let output = home.run(&["open", "webui"], "");
    assert_success(&output);
    assert!(
        stdout(&output).contains(&format!("http://127.0.0.1:{port}/management.html")),
        "{}",
        stdout(&output)
    );
    assert_success(&home.run(&["stop"], ""));
}

#[cfg(unix)]
#[test]
fn auto_restart_after_a_crash() {
    if skip_under_runner(
        "auto_restart_after_a_crash",
        "the test server is a Linux binary",
    ) {
        return;
    }
    use std::io::BufReader;

    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    enable_auto_restart(&home);
    let mut command = foreground_start(&home, "--crash-after-ms 1500");
    command.env("MANAGEMENT_PASSWORD", "env-password");
    let mut tray = spawn_with_password(&mut command);

    // The foreground notice appears once per started server: the second one
    // means the crashed server was started again.
    let mut reader = BufReader::new(tray.stdout.take().unwrap());
    let mut notices = 0;
    let mut pids = Vec::new();
    let mut line = String::new();
    while notices < 2 && reader.read_line(&mut line).unwrap() > 0 {
        if line.contains("Ctrl+C") {
            notices += 1;
            pids.push(home.recorded_pid().expect("running server recorded"));
        }
        line.clear();
    }
    assert_eq!(notices, 2, "the server was not restarted");
    assert_ne!(pids[0], pids[1]);

    send_sigint(tray.id());
    let output = tray.wait_with_output().unwrap();
    let message = stderr(&output);
    assert!(
        message.contains("The server exited (exit status: 3)"),
        "{message}"
    );
    assert!(
        message.contains("Restarting the server in 1 s (attempt 1)"),
        "{message}"
    );
    assert!(output.status.success(), "{message}");
    assert!(!alive(pids[1]), "restarted server left running");
    // The MANAGEMENT_PASSWORD notice is for the user, once per command.
    assert_eq!(
        message.matches("MANAGEMENT_PASSWORD is set here").count(),
        1,
        "{message}"
    );
}

#[test]
fn original_install_runs_its_recorded_release() {
    if skip_under_runner(
        "original_install_runs_its_recorded_release",
        "the test server is a Linux binary",
    ) {
        return;
    }
    let home = TrayHome::new();
    let port = cpa_testkit::free_port();
    // The original tray's files: settings.json with BOM and CRLF, a
    // plaintext key in config.yaml, and versions/<tag>/cli-proxy-api.
    std::fs::write(
        home.path().join("settings.json"),
        b"\xef\xbb\xbf{\"version\":\"v6.7.37\",\"arch\":\"amd64\",\"autoOpenWebUI\":true,\"autoUpdate\":false}\r\n",
    )
    .unwrap();
    home.write_config(port, "plain-old-key");
    let release = home.path().join("versions/v6.7.37");
    std::fs::create_dir_all(&release).unwrap();
    let binary = release.join(format!("cli-proxy-api{}", std::env::consts::EXE_SUFFIX));
    std::fs::copy(test_server(), &binary).unwrap();
    let settings_before = std::fs::read(home.path().join("settings.json")).unwrap();

    let output = home.run(&["start", "--no-open"], "");
    assert_success(&output);
    assert!(
        stdout(&output).contains("(release v6.7.37, pid "),
        "{}",
        stdout(&output)
    );
    let output = home.run(&["status", "--json"], "");
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["running"], true);
    assert_eq!(value["engine"], "external");
    assert_eq!(value["engineChoice"], "official");
    assert_eq!(value["version"], "v6.7.37");
    assert_success(&home.run(&["stop"], ""));
    assert_eq!(
        std::fs::read(home.path().join("settings.json")).unwrap(),
        settings_before,
        "settings.json rewritten"
    );
}

#[test]
fn unusable_home_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"").unwrap();
    let home = blocker.join("home");
    let output = common::run(
        cpa_testkit::binary_command("cpa-tray", env!("CARGO_BIN_EXE_cpa-tray"))
            .arg("--home")
            .arg(&home)
            .args(["start", "--password-stdin", "--no-open"])
            .env("LANG", "C.UTF-8"),
        &format!("{PASSWORD}\n"),
    );
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains(&format!(
            "The home folder {} is a file, not a folder.",
            common::shown(&blocker)
        )),
        "{message}"
    );
    assert!(message.contains("Remove or rename that file"), "{message}");
    assert_eq!(message.matches("--home").count(), 1, "{message}");
    assert!(!message.contains("os error"), "{message}");
}

#[test]
fn home_that_is_a_file_is_named() {
    for (lang, expected) in [
        ("en", "is a file, not a folder. Remove or rename that file"),
        ("zh-CN", "是一个文件，而不是文件夹。请删除或重命名该文件"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("home-file");
        std::fs::write(&file, b"keep me").unwrap();
        for command in ["status", "stop"] {
            let output = common::run(
                cpa_testkit::binary_command("cpa-tray", env!("CARGO_BIN_EXE_cpa-tray"))
                    .args(["--lang", lang, "--home"])
                    .arg(&file)
                    .arg(command),
                "",
            );
            assert!(!output.status.success(), "{lang} {command}");
            let message = stderr(&output);
            assert!(message.contains(&common::shown(&file)), "{message}");
            assert!(message.contains(expected), "{lang} {command}: {message}");
            assert!(!message.contains("os error"), "{message}");
        }
        assert_eq!(std::fs::read(&file).unwrap(), b"keep me", "file changed");
    }
}

#[test]
fn run_folder_that_is_a_file_is_named() {
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let run = home.path().join("run");
    std::fs::write(&run, b"").unwrap();
    let output = home.run(
        &["start", "--password-stdin", "--no-open"],
        &format!("{PASSWORD}\n"),
    );
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains(&format!("{} is a file, not a folder", common::shown(&run))),
        "{message}"
    );
    assert!(!message.contains("os error"), "{message}");
}

#[cfg(unix)]
#[test]
fn wrapper_script_engine_is_shown_and_stopped() {
    if skip_under_runner(
        "wrapper_script_engine_is_shown_and_stopped",
        "the test server is a Linux binary",
    ) {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    // `exec` replaces the shell with the server; without it the shell stays
    // the parent of the server, in the same process group.
    for exec in ["exec ", ""] {
        let home = TrayHome::new();
        let port = cpa_testkit::free_port();
        home.write_config(port, "");
        let script = home.path().join("engine.sh");
        std::fs::write(
            &script,
            format!("#!/bin/sh\n{exec}\"{}\" \"$@\"\n", test_server().display()),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let output = home.run(
            &[
                "start",
                "--engine",
                script.to_str().unwrap(),
                "--password-stdin",
                "--no-open",
            ],
            &format!("{PASSWORD}\n"),
        );
        assert_success(&output);

        let output = home.run(&["status", "--json"], "");
        let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(value["running"], true, "{exec:?}: {value}");

        let output = home.run(&["stop"], "");
        assert_success(&output);
        assert!(
            stdout(&output).contains("Stopped"),
            "{exec:?}: {}",
            stdout(&output)
        );
        // The server itself is gone once stop returns, so a start right
        // after it finds the port free.
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "{exec:?}: the server still listens after stop"
        );
    }
}

/// Starts the test server with `flags` through a `/bin/sh` wrapper made of
/// `body`, in which `$SERVER` is the test server's path. Returns the home and
/// the server's port.
#[cfg(unix)]
fn start_through_wrapper(body: &str, flags: &str) -> (TrayHome, u16) {
    let home = TrayHome::new();
    let port = cpa_testkit::free_port();
    home.write_config(port, "");
    let script = home.path().join("engine.sh");
    let server = test_server().display().to_string();
    write_script(
        &script,
        &format!("#!/bin/sh\n{}", body.replace("$SERVER", &server)),
    );
    let mut command = home.command();
    command.args([
        "start",
        "--engine",
        script.to_str().unwrap(),
        "--password-stdin",
        "--no-open",
    ]);
    let output = common::run(
        with_test_server(&mut command, flags),
        &format!("{PASSWORD}\n"),
    );
    assert_success(&output);
    (home, port)
}

#[cfg(unix)]
#[test]
fn stop_kills_a_server_its_wrapper_left() {
    if skip_under_runner(
        "stop_kills_a_server_its_wrapper_left",
        "the test server is a Linux binary",
    ) {
        return;
    }
    // The shell exits on SIGTERM at once; its child, the server, ignores it.
    let (home, port) = start_through_wrapper("\"$SERVER\" \"$@\"\n", "--ignore-sigterm");
    let shell = home.recorded_pid().unwrap();
    let log = std::fs::read_to_string(home.path().join("logs/engine.log")).unwrap();
    let server: u32 = log
        .lines()
        .find_map(|line| line.strip_prefix("cpa-test-server: pid "))
        .and_then(|pid| pid.trim().parse().ok())
        .unwrap_or_else(|| panic!("no server pid in the log:\n{log}"));
    assert_ne!(shell, server);

    let output = home.run(&["stop", "--timeout", "1"], "");
    assert_success(&output);
    assert!(
        stdout(&output).contains("was killed"),
        "{}",
        stdout(&output)
    );
    assert!(!alive(server), "the server outlived stop");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the server still listens after stop"
    );
    assert!(home.recorded_pid().is_none());
}

#[cfg(unix)]
#[test]
fn stop_ends_a_server_whose_wrapper_exited() {
    if skip_under_runner(
        "stop_ends_a_server_whose_wrapper_exited",
        "the test server is a Linux binary",
    ) {
        return;
    }
    // The wrapper, the recorded process, starts the server in the
    // background and exits a second later; the server stays in its group.
    let (home, port) = start_through_wrapper("\"$SERVER\" \"$@\" &\nsleep 1\nexit 0\n", "");
    let wrapper = home.recorded_pid().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(wrapper) {
        assert!(Instant::now() < deadline, "the wrapper did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }

    let output = home.run(&["status", "--json"], "");
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(value["state"], "exited", "{value}");
    assert_eq!(value["exitedGroupRunning"], true, "{value}");
    let printed = stdout(&home.run(&["status"], ""));
    assert!(
        printed.contains("Run `cpa-tray stop` to end them."),
        "{printed}"
    );
    assert!(!printed.contains("did not start"), "{printed}");

    let output = home.run(&["stop"], "");
    assert_success(&output);
    assert!(
        stdout(&output).contains(&format!("Stopped (pid {wrapper})")),
        "{}",
        stdout(&output)
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the server still listens after stop"
    );
    assert!(home.recorded_pid().is_none());
}

#[test]
fn foreground_run_ends_cleanly_on_stop() {
    if skip_under_runner(
        "foreground_run_ends_cleanly_on_stop",
        "the test server is a Linux binary",
    ) {
        return;
    }
    use std::io::{BufReader, Read};

    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let mut command = foreground_start(&home, "");
    let mut tray = spawn_with_password(&mut command);
    let mut reader = BufReader::new(tray.stdout.take().unwrap());
    let seen = read_until_ready(&mut reader);
    assert!(seen.contains("Ctrl+C"), "no foreground notice");

    assert_success(&home.run(&["stop"], ""));
    let exit = tray.wait().unwrap();
    let mut err = String::new();
    tray.stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(exit.success(), "a requested stop failed the run: {err}");
    assert!(!err.contains("exited"), "{err}");
}

#[test]
fn engine_exiting_silently_is_not_an_empty_list() {
    if skip_under_runner("engine_exiting_silently_is_not_an_empty_list", "/bin/false") {
        return;
    }
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let output = home.run(
        &[
            "start",
            "--engine",
            "/bin/false",
            "--password-stdin",
            "--no-open",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("wrote nothing to"), "{err}");
    assert!(!err.contains("Last lines"), "{err}");
}

#[test]
fn status_reports_a_server_not_responding() {
    if skip_under_runner(
        "status_reports_a_server_not_responding",
        "the test server is a Linux binary",
    ) {
        return;
    }
    let home = TrayHome::new();
    let port = cpa_testkit::free_port();
    home.write_config(port, "");
    let mut command = home.command();
    command.args([
        "start",
        "--password-stdin",
        "--no-open",
        "--ready-timeout",
        "0.3",
    ]);
    let output = common::run(
        with_test_server(&mut command, "--never-listen"),
        &format!("{PASSWORD}\n"),
    );
    // A server that never became ready is not a successful start: exit 3,
    // and the server stays recorded for status, logs and stop.
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let pid = home.recorded_pid().expect("server recorded");
    assert!(alive(pid));
    assert!(
        stderr(&output).contains(&format!(
            "The server (pid {pid}) keeps running and is recorded. Check it with `cpa-tray status` and `cpa-tray logs`"
        )),
        "{}",
        stderr(&output)
    );
    // Nothing serves yet, so no address is offered as if it did.
    assert!(!stdout(&output).contains("WebUI:"), "{}", stdout(&output));
    assert!(
        !stdout(&output).contains("Management API:"),
        "{}",
        stdout(&output)
    );
    for (lang, expected) in [
        (
            "en",
            format!("The server (pid {pid}) is running but not responding on port {port}."),
        ),
        (
            "zh-CN",
            format!("服务（pid {pid}）正在运行，但在端口 {port} 上没有响应。"),
        ),
    ] {
        let output = home.run(&["--lang", lang, "status"], "");
        assert_success(&output);
        let text = stdout(&output);
        assert!(text.contains(&expected), "{lang}: {text}");
        assert!(text.contains("cpa-tray restart"), "{lang}: {text}");
    }
    let output = home.run(&["status", "--json"], "");
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["state"], "not_responding");
    assert_eq!(value["pid"], pid);
    assert_eq!(value["running"], true);
}

#[cfg(unix)]
#[test]
fn foreground_run_rotates_a_growing_log() {
    if skip_under_runner(
        "foreground_run_rotates_a_growing_log",
        "the test server is a Linux binary",
    ) {
        return;
    }
    use std::io::BufReader;

    let limit = cpa_core::supervisor::logfile::ROTATE_BYTES;
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let flags = format!("--write-bytes {} --tick-ms 20", limit + 1024 * 1024);
    let mut command = foreground_start(&home, &flags);
    command.env("CPA_TRAY_LOG_CHECK_SECONDS", "0.2");
    let mut tray = spawn_with_password(&mut command);
    let mut reader = BufReader::new(tray.stdout.take().unwrap());
    read_until_ready(&mut reader);

    let log = home.path().join("logs/engine.log");
    let rotated = home.path().join("logs/engine.log.1");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !rotated.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(send_sigint(tray.id()));
    let output = tray.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");

    assert!(rotated.exists(), "no rotation during the foreground run");
    let old = std::fs::metadata(&rotated).unwrap().len();
    let new = std::fs::read(&log).unwrap();
    assert!(old > limit, "rotated copy has {old} bytes");
    assert!(
        (new.len() as u64) < limit,
        "log still has {} bytes",
        new.len()
    );
    assert!(!new.contains(&0), "truncated log contains zero bytes");
    assert!(
        String::from_utf8_lossy(&new).contains("tick "),
        "the server stopped writing to the log after the rotation"
    );
    // The rotation's lock file stays out of the logs folder.
    let mut names: Vec<String> = std::fs::read_dir(home.path().join("logs"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["engine.log", "engine.log.1"]);
    // The run's header names the engine it started.
    let header = String::from_utf8_lossy(&std::fs::read(&rotated).unwrap())
        .lines()
        .find(|line| line.contains("cpa-tray: starting"))
        .map(str::to_string)
        .unwrap_or_default();
    assert!(header.contains("external engine unknown: "), "{header}");
}

/// Copies the `cpa-tray` binary into `dir` and returns the copy's path.
///
/// Another test thread that forks while the copy is open for writing keeps a
/// descriptor to it until its exec, so running the copy may fail with "Text
/// file busy" for a moment; this waits until it runs.
fn copy_binary_into(dir: &std::path::Path) -> std::path::PathBuf {
    let source = std::path::Path::new(env!("CARGO_BIN_EXE_cpa-tray"));
    let copy = dir.join(source.file_name().unwrap());
    std::fs::copy(source, &copy).unwrap();
    for _ in 0..100 {
        match Command::new(&copy).arg("--version").output() {
            Err(err) if err.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            _ => break,
        }
    }
    copy
}

/// A command for the binary copy at `copy`, with a separate user home and
/// none of the home-choosing variables.
fn portable_command(copy: &std::path::Path, user_home: &std::path::Path) -> Command {
    let mut command = Command::new(copy);
    command
        .env("HOME", user_home)
        .env("XDG_DATA_HOME", user_home.join("data"))
        .env("LANG", "C.UTF-8")
        .env_remove("CPA_TRAY_HOME")
        .env_remove("CPA_TRAY_ENGINE_PROGRAM")
        .env_remove("MANAGEMENT_PASSWORD")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY");
    command
}

#[test]
fn portable_folder_is_the_home() {
    if skip_under_runner(
        "portable_folder_is_the_home",
        "the copy would need its own Wine runner setup",
    ) {
        return;
    }
    let portable = tempfile::tempdir().unwrap();
    let user_home = tempfile::tempdir().unwrap();
    let default_home = user_home.path().join(".cli-proxy-api-tray");
    let copy = copy_binary_into(portable.path());

    // Without config.yaml or settings.json beside it, the copy uses ~/.cli-proxy-api-tray.
    let output = common::run(portable_command(&copy, user_home.path()).arg("status"), "");
    assert_success(&output);
    assert!(
        stdout(&output).contains(&format!("Home:    {}", default_home.display())),
        "{}",
        stdout(&output)
    );

    // A settings.json written by the original tray marks the folder as portable.
    std::fs::write(
        portable.path().join("settings.json"),
        "\u{feff}{\r\n  \"autoOpenWebUI\": false\r\n}\r\n",
    )
    .unwrap();
    let output = common::run(portable_command(&copy, user_home.path()).arg("status"), "");
    assert_success(&output);
    let text = stdout(&output);
    assert!(
        text.contains(&format!("Home:    {}", portable.path().display())),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Config:  {}",
            portable.path().join("config.yaml").display()
        )),
        "{text}"
    );

    // start writes the config, the record and the log into the portable folder.
    let port = cpa_testkit::free_port();
    std::fs::write(
        portable.path().join("config.yaml"),
        format!("host: \"127.0.0.1\"\nport: {port}\n"),
    )
    .unwrap();
    let output = common::run(
        portable_command(&copy, user_home.path()).args(["start", "--password-stdin", "--no-open"]),
        &format!("{PASSWORD}\n"),
    );
    assert_success(&output);
    let record = cpa_core::supervisor::record::read(&portable.path().join("run/engine.json"))
        .unwrap()
        .expect("server recorded in the portable folder");
    assert_eq!(record.port, port);
    assert!(portable.path().join("logs/engine.log").exists());
    let config = std::fs::read_to_string(portable.path().join("config.yaml")).unwrap();
    assert!(config.contains("secret-key: '$2a$10$"), "{config}");
    assert_eq!(common::get_status(port, "/healthz", &[]), 200);

    let output = common::run(portable_command(&copy, user_home.path()).arg("stop"), "");
    assert_success(&output);
    assert!(!alive(record.pid), "server left running");
    assert!(!default_home.exists(), "the default home was used as well");
}

#[test]
fn stop_cancels_a_pending_restart() {
    if skip_under_runner(
        "stop_cancels_a_pending_restart",
        "the test server is a Linux binary",
    ) {
        return;
    }

    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    enable_auto_restart(&home);
    let mut command = foreground_start(&home, "--crash-after-ms 300");
    let tray = spawn_with_password(&mut command);

    // The restart waits 1 s, then 2 s, ...: stop during one of the waits.
    let pending = home.path().join("run/restart-pending");
    let mut cancelled = None;
    for _ in 0..3 {
        wait_for_pending_restart(&pending);
        let status = stdout(&home.run(&["status"], ""));
        let stop = home.run(&["stop"], "");
        assert_success(&stop);
        if stdout(&stop).contains("Cancelled the restart") {
            cancelled = Some((status, stdout(&stop)));
            break;
        }
    }
    let (status, stop) = cancelled.expect("stop never met a pending restart");
    assert!(
        stop.contains(&format!(
            "No server is running. Cancelled the restart that cpa-tray (pid {}, the tray or `start --foreground`) was waiting to do.",
            tray.id()
        )),
        "{stop}"
    );
    assert!(status.contains("Restart pending:"), "{status}");
    assert!(status.contains("cpa-tray stop"), "{status}");

    let output = tray.wait_with_output().unwrap();
    let (out, err) = (stdout(&output), stderr(&output));
    assert!(output.status.success(), "{out}{err}");
    assert!(
        out.contains("Restart cancelled by `cpa-tray stop`. Nothing is running."),
        "{out}"
    );
    assert_eq!(
        home.recorded_pid(),
        None,
        "a server was started after the stop"
    );
    assert!(!pending.exists());
}

#[test]
fn start_refuses_a_password_when_another_command_set_one() {
    if skip_under_runner(
        "start_refuses_a_password_when_another_command_set_one",
        "the test server is a Linux binary",
    ) {
        return;
    }

    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let mut command = home.command();
    command.args(["start", "--password-stdin", "--no-open"]);
    let mut start = spawn_piped(with_test_server(&mut command, ""));
    // `start` waits for the password on stdin; another command sets one.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_success(&home.run(
        &["password", "set", "--password-stdin"],
        "Other-pass-9999\n",
    ));
    writeln!(start.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let output = start.wait_with_output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("Another command set the management key in")
            && err.contains("Your password was not saved and the server was not started."),
        "{err}"
    );
    assert_eq!(home.recorded_pid(), None);
    let verify = |password: &str| {
        home.run(
            &["password", "verify", "--password-stdin"],
            &format!("{password}\n"),
        )
        .status
        .success()
    };
    assert!(verify("Other-pass-9999"));
    assert!(!verify(PASSWORD));
}

#[cfg(target_os = "linux")]
#[test]
fn stop_resumes_a_suspended_server() {
    if skip_under_runner("stop_resumes_a_suspended_server", "kill -STOP") {
        return;
    }
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let mut command = home.command();
    command.args(["start", "--password-stdin", "--no-open"]);
    let output = common::run(with_test_server(&mut command, ""), &format!("{PASSWORD}\n"));
    assert_success(&output);
    let pid = home.recorded_pid().expect("server recorded");
    assert!(
        Command::new("kill")
            .args(["-STOP", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );

    let started = std::time::Instant::now();
    let output = home.run(&["stop", "--timeout", "20"], "");
    assert_success(&output);
    assert_eq!(
        stdout(&output).trim(),
        format!("Stopped (pid {pid}). It was suspended, so it was resumed to shut down.")
    );
    // Without SIGCONT the server keeps SIGTERM pending until the 20 s kill.
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    assert!(!alive(pid));
}

#[test]
fn ctrl_c_during_restart_wait_ends_run() {
    if skip_under_runner(
        "ctrl_c_during_restart_wait_ends_run",
        "the test server is a Linux binary",
    ) {
        return;
    }

    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    enable_auto_restart(&home);
    let mut command = foreground_start(&home, "--crash-after-ms 300");
    let tray = spawn_with_password(&mut command);
    let pending = home.path().join("run/restart-pending");
    wait_for_pending_restart(&pending);
    assert!(pending.exists(), "no restart wait began");
    assert!(send_sigint(tray.id()));
    let output = tray.wait_with_output().unwrap();
    let (out, err) = (stdout(&output), stderr(&output));
    assert!(output.status.success(), "{out}{err}");
    assert!(
        out.contains("Restart cancelled by Ctrl+C. Nothing is running."),
        "{out}"
    );
    assert_eq!(
        home.recorded_pid(),
        None,
        "a server was started after Ctrl+C"
    );
    assert!(!pending.exists());
}

/// Writes an executable script at `path`.
#[cfg(unix)]
fn write_script(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Starts the server with `--engine engine`, restarts it without `--engine`,
/// and checks that the restart ran `engine` again: the wrapper appends a
/// line to `runs` each time it starts.
#[cfg(unix)]
fn assert_restart_reruns(home: &TrayHome, engine: &Path, runs: &Path) {
    let first = start_with_engine(home, engine);

    let output = home.run(&["restart", "--no-open"], "");
    assert_success(&output);
    let second = home.recorded_pid().unwrap();
    assert_ne!(first, second);
    let record = cpa_core::supervisor::record::read(&home.pid_file())
        .unwrap()
        .unwrap();
    assert_eq!(record.program.as_deref(), Some(engine));
    let lines = std::fs::read_to_string(runs).unwrap_or_default();
    assert_eq!(lines.lines().count(), 2, "wrapper runs: {lines:?}");
    assert_success(&home.run(&["stop"], ""));
}

#[cfg(unix)]
#[test]
fn restart_reruns_a_wrapper_script() {
    if skip_under_runner(
        "restart_reruns_a_wrapper_script",
        "the test server is a Linux binary",
    ) {
        return;
    }
    // Without `exec` the process stays /bin/sh, so its executable is the
    // shell, not the program to run again.
    for exec in ["", "exec "] {
        let home = TrayHome::new();
        home.write_config(cpa_testkit::free_port(), "");
        let runs = home.path().join("runs.txt");
        let script = home.path().join("engine.sh");
        write_script(
            &script,
            &format!(
                "#!/bin/sh\necho run >> \"{}\"\n{exec}\"{}\" \"$@\"\n",
                runs.display(),
                test_server().display()
            ),
        );
        assert_restart_reruns(&home, &script, &runs);
    }
}

#[cfg(unix)]
#[test]
fn restart_reruns_a_python_wrapper() {
    if skip_under_runner(
        "restart_reruns_a_python_wrapper",
        "the test server is a Linux binary",
    ) {
        return;
    }
    let python_works = Command::new("python3")
        .arg("-c")
        .arg("pass")
        .status()
        .is_ok_and(|status| status.success());
    if !python_works {
        cpa_testkit::missing_tool::<()>("python3");
        return;
    }
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let runs = home.path().join("runs.txt");
    let script = home.path().join("engine.py");
    // The interpreter stays the parent of the server, as a launcher does.
    write_script(
        &script,
        &format!(
            "#!/usr/bin/env python3\nimport subprocess, sys\nwith open({runs:?}, 'a') as f:\n    f.write('run\\n')\nsys.exit(subprocess.call([{server:?}] + sys.argv[1:]))\n",
            runs = runs.display().to_string(),
            server = test_server().display().to_string(),
        ),
    );
    assert_restart_reruns(&home, &script, &runs);
}

/// Lays out a Homebrew-style install: `cellar/<version>/cli-proxy-api`
/// (a copy of the test server) and `bin/cli-proxy-api` linking to it.
#[cfg(unix)]
fn install_cellar_version(root: &Path, version: &str) -> std::path::PathBuf {
    let dir = root.join("cellar").join(version);
    std::fs::create_dir_all(&dir).unwrap();
    let binary = dir.join("cli-proxy-api");
    std::fs::copy(test_server(), &binary).unwrap();
    let link = root.join("bin").join("cli-proxy-api");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&binary, &link).unwrap();
    link
}

/// Starts the server with `engine` as the program (setting the password)
/// and returns the recorded pid.
#[cfg(unix)]
fn start_with_engine(home: &TrayHome, engine: &Path) -> u32 {
    let output = home.run(
        &[
            "start",
            "--engine",
            engine.to_str().unwrap(),
            "--password-stdin",
            "--no-open",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert_success(&output);
    home.recorded_pid().unwrap()
}

#[cfg(unix)]
#[test]
fn restart_follows_an_upgraded_symlink() {
    if skip_under_runner(
        "restart_follows_an_upgraded_symlink",
        "the test server is a Linux binary",
    ) {
        return;
    }
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let brew = tempfile::tempdir().unwrap();
    let link = install_cellar_version(brew.path(), "1.0");
    let first = start_with_engine(&home, &link);

    // The upgrade points the link at 1.1 and removes 1.0.
    install_cellar_version(brew.path(), "1.1");
    std::fs::remove_dir_all(brew.path().join("cellar").join("1.0")).unwrap();

    let output = home.run(&["restart", "--no-open"], "");
    assert_success(&output);
    assert!(!alive(first));
    let record = cpa_core::supervisor::record::read(&home.pid_file())
        .unwrap()
        .unwrap();
    let upgraded = brew.path().join("cellar/1.1/cli-proxy-api");
    assert_eq!(record.exe, upgraded.canonicalize().unwrap());
    assert_success(&home.run(&["stop"], ""));
}

#[cfg(unix)]
#[test]
fn restart_keeps_server_when_program_is_gone() {
    if skip_under_runner(
        "restart_keeps_server_when_program_is_gone",
        "the test server is a Linux binary",
    ) {
        return;
    }
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let brew = tempfile::tempdir().unwrap();
    let link = install_cellar_version(brew.path(), "1.0");
    let first = start_with_engine(&home, &link);

    // An uninstall removes the target and leaves the link dangling.
    std::fs::remove_dir_all(brew.path().join("cellar")).unwrap();
    for args in [
        &["restart", "--no-open"][..],
        &["password", "set", "--restart", "--password-stdin"][..],
    ] {
        let output = home.run(args, &format!("{PASSWORD}\n"));
        assert!(!output.status.success(), "{args:?} succeeded");
        let message = stderr(&output);
        assert!(message.contains(&link.display().to_string()), "{message}");
        assert!(
            message.contains(&format!("(pid {first}) was left running")),
            "{message}"
        );
        assert!(message.contains("--engine PATH"), "{message}");
        assert!(alive(first), "{args:?} stopped the server");
        assert_eq!(home.recorded_pid(), Some(first));
    }
    assert_success(&home.run(&["stop"], ""));
}

/// Runs `restart` and `password set --restart` and checks that each fails
/// before stopping the server `first`, with `expected` in its message.
#[cfg(unix)]
fn assert_restart_refused(home: &TrayHome, first: u32, expected: &str) {
    let config = std::fs::read(home.path().join("config.yaml")).unwrap();
    for args in [
        &["restart", "--no-open"][..],
        &["password", "set", "--restart", "--password-stdin"][..],
    ] {
        let output = home.run(args, "New-password-9\n");
        assert!(!output.status.success(), "{args:?} succeeded");
        let message = stderr(&output);
        assert!(message.contains(expected), "{args:?}: {message}");
        assert!(alive(first), "{args:?} stopped the server");
        assert_eq!(home.recorded_pid(), Some(first));
        let now = std::fs::read(home.path().join("config.yaml")).unwrap();
        assert!(now == config, "{args:?} changed config.yaml");
    }
}

#[cfg(unix)]
#[test]
fn restart_keeps_server_when_program_cannot_run() {
    if skip_under_runner(
        "restart_keeps_server_when_program_cannot_run",
        "the test server is a Linux binary",
    ) {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let program = home.path().join("cli-proxy-api");
    std::fs::copy(test_server(), &program).unwrap();
    let first = start_with_engine(&home, &program);

    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o644)).unwrap();

    assert_restart_refused(&home, first, "cannot be run");
    assert_success(&home.run(&["stop"], ""));
}

/// A record written before records kept the program as spawned names only
/// the process image: for a wrapper script without `exec`, the shell.
#[cfg(unix)]
#[test]
fn restart_refuses_an_interpreter_from_an_old_record() {
    if skip_under_runner(
        "restart_refuses_an_interpreter_from_an_old_record",
        "the test server is a Linux binary",
    ) {
        return;
    }
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let script = home.path().join("engine.sh");
    write_script(
        &script,
        &format!("#!/bin/sh\n\"{}\" \"$@\"\n", test_server().display()),
    );
    let first = start_with_engine(&home, &script);
    let mut record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.pid_file()).unwrap()).unwrap();
    record.as_object_mut().unwrap().remove("program");
    std::fs::write(home.pid_file(), serde_json::to_vec(&record).unwrap()).unwrap();

    assert_restart_refused(&home, first, "recorded only the running executable");
    assert_success(&home.run(&["stop"], ""));
}

/// `password set --restart` checks the restart before writing: a port the
/// server cannot use leaves config.yaml and the running server as they were.
#[cfg(unix)]
#[test]
fn password_restart_with_bad_port_writes_nothing() {
    if skip_under_runner(
        "password_restart_with_bad_port_writes_nothing",
        "the test server is a Linux binary",
    ) {
        return;
    }
    let home = TrayHome::new();
    let port = cpa_testkit::free_port();
    home.write_config(port, "");
    let first = start_with_engine(&home, test_server());
    let config = home.path().join("config.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(&format!("port: {port}"), "port: 70000"),
    )
    .unwrap();
    let before = std::fs::read(&config).unwrap();

    let output = home.run(
        &["password", "set", "--restart", "--password-stdin"],
        "New-password-9\n",
    );

    assert!(!output.status.success());
    assert!(stderr(&output).contains("70000"), "{}", stderr(&output));
    assert_eq!(std::fs::read(&config).unwrap(), before);
    assert!(alive(first));
    assert_success(&home.run(&["stop"], ""));
}

#[test]
fn rejected_password_blames_only_passed_env() {
    if skip_under_runner(
        "rejected_password_blames_only_passed_env",
        "the test server is a Linux binary",
    ) {
        return;
    }
    let flags = "--management-status 401";
    let blame = "MANAGEMENT_PASSWORD is set in its environment";
    for keep in [false, true] {
        let home = TrayHome::new();
        home.write_config(cpa_testkit::free_port(), "");
        let mut command = home.command();
        command.args(["start", "--password-stdin", "--no-open"]);
        let output = common::run(
            with_test_server(&mut command, flags),
            &format!("{PASSWORD}\n"),
        );
        assert_success(&output);

        let mut command = home.command();
        command
            .args(["password", "set", "--restart", "--password-stdin"])
            .env("MANAGEMENT_PASSWORD", "env-Password-1");
        if keep {
            command.env("CPA_TRAY_KEEP_MANAGEMENT_PASSWORD", "1");
        }
        let output = common::run(
            with_test_server(&mut command, flags),
            &format!("{PASSWORD}\n"),
        );
        assert!(!output.status.success(), "keep={keep}: a 401 must fail");
        let message = stderr(&output);
        assert!(message.contains("(401)"), "keep={keep}: {message}");
        assert_eq!(message.contains(blame), keep, "keep={keep}: {message}");
        assert_success(&home.run(&["stop"], ""));
    }
}
