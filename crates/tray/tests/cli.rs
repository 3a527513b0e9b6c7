//! The `cpa-tray` commands, driven as a user would: real binary, real files,
//! real processes.

mod common;

use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use common::{
    TrayHome, alive, assert_success, get_status, shown, skip_under_runner, stderr, stdout,
    test_server, under_runner,
};
use cpa_core::supervisor::{EngineRecord, record};

const PASSWORD: &str = "cli-Password-1";

fn started_home() -> (TrayHome, u16) {
    let home = TrayHome::new();
    let port = cpa_testkit::free_port();
    home.write_config(port, "");
    let output = home.run(
        &["start", "--password-stdin", "--no-open"],
        &format!("{PASSWORD}\n"),
    );
    assert_success(&output);
    (home, port)
}

#[test]
fn start_cancelled_on_empty_password() {
    for (lang, message) in [
        ("en", "Password not set. Start cancelled."),
        ("zh-CN", "未设置密码，已取消启动。"),
    ] {
        let home = TrayHome::new();
        home.write_config(cpa_testkit::free_port(), "");
        let before = std::fs::read(home.config()).unwrap();
        let output = home.run(
            &["--lang", lang, "start", "--password-stdin", "--no-open"],
            "\n",
        );
        assert!(!output.status.success(), "{lang}: cancel must fail");
        assert_eq!(stderr(&output).trim(), message, "{lang}");
        assert_eq!(
            std::fs::read(home.config()).unwrap(),
            before,
            "{lang}: config changed"
        );
        assert!(
            home.recorded_pid().is_none(),
            "{lang}: a server was started"
        );
    }
}

#[test]
fn start_rejects_password_breaking_a_rule() {
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let before = std::fs::read(home.config()).unwrap();
    for (password, reason) in [
        ("short", "too short"),
        ("$2a$10$abcdefghijk", "bcrypt hash"),
        (" spaced-password", "space"),
        ("pässwörd-long", "printable ASCII"),
    ] {
        let output = home.run(
            &["start", "--password-stdin", "--no-open"],
            &format!("{password}\n"),
        );
        assert!(!output.status.success(), "{password:?} accepted");
        assert!(
            stderr(&output).contains(reason),
            "{password:?}: {}",
            stderr(&output)
        );
        assert_eq!(
            std::fs::read(home.config()).unwrap(),
            before,
            "{password:?}"
        );
    }
}

#[cfg(unix)]
/// Makes `path` unwritable for this user; root ignores permission bits, so it
/// gets the immutable attribute instead. Returns a guard that undoes it.
fn make_unwritable(path: &std::path::Path) -> Option<impl Drop + use<>> {
    struct Undo(std::path::PathBuf, bool);
    impl Drop for Undo {
        fn drop(&mut self) {
            if self.1 {
                let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
            }
        }
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
    if is_root {
        let ok = Command::new("chattr")
            .arg("+i")
            .arg(path)
            .status()
            .is_ok_and(|status| status.success());
        if !ok {
            return cpa_testkit::missing_tool("chattr +i (running as root)");
        }
        return Some(Undo(path.to_path_buf(), true));
    }
    let mut permissions = std::fs::metadata(path).unwrap().permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(path, permissions).unwrap();
    Some(Undo(path.to_path_buf(), false))
}

#[cfg(unix)]
#[test]
fn unwritable_config_fails_before_any_prompt() {
    if skip_under_runner(
        "unwritable_config_fails_before_any_prompt",
        "chattr and permission bits are Linux attributes that Wine does not map",
    ) {
        return;
    }
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let before = std::fs::read(home.config()).unwrap();
    let Some(_guard) = make_unwritable(&home.config()) else {
        return;
    };
    // No --password-stdin: a prompt would fail for lack of a terminal, so the
    // error below proves the check came first.
    let output = home.run(&["start", "--no-open"], "");
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("Cannot write the password to"),
        "{message}"
    );
    assert!(message.contains(&shown(&home.config())), "{message}");
    assert!(
        !message.contains("terminal"),
        "a prompt was attempted: {message}"
    );
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert_eq!(std::fs::read(home.config()).unwrap(), before);
}

#[test]
fn password_set_then_verify() {
    let home = TrayHome::new();
    // A fresh home: only `start` creates config.yaml from the template, once
    // the password was accepted and the engine found.
    let output = home.run(
        &["password", "set", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert!(!output.status.success(), "password set without a config");
    assert!(!home.config().exists());
    let missing_engine = home.path().join("no-such-engine");
    let output = home.run(
        &[
            "start",
            "--engine",
            missing_engine.to_str().unwrap(),
            "--password-stdin",
            "--no-open",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(!output.status.success(), "start with a missing engine");
    assert!(
        !home.config().exists(),
        "created before the engine was found"
    );
    // A file that is no program passes the engine check and fails to run,
    // after the config was created (the template's port 8317 must be free).
    let not_a_program = home.path().join("not-a-program");
    std::fs::write(&not_a_program, b"plain text").unwrap();
    let output = home.run(
        &[
            "start",
            "--engine",
            not_a_program.to_str().unwrap(),
            "--password-stdin",
            "--no-open",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(stdout(&output).contains("Created"), "{}", stdout(&output));
    assert!(home.recorded_pid().is_none());
    let text = std::fs::read_to_string(home.config()).unwrap();
    assert!(text.contains("host: \"127.0.0.1\""), "{text}");
    assert!(text.contains("port: 8317"), "{text}");
    let view = cpa_config::load(&home.config()).unwrap().view().unwrap();
    assert!(view.secret().starts_with("$2a$10$"));
    assert_eq!(view.allow_remote.value, Some(false));
    let keys = view.client_api_keys.value.unwrap();
    assert_eq!(keys.len(), 1);
    assert!(
        keys[0].starts_with("sk-cpa-") && keys[0].len() == 55,
        "{keys:?}"
    );

    let output = home.run(
        &["password", "verify", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert_success(&output);
    let output = home.run(
        &["password", "verify", "--password-stdin"],
        "wrong-password\n",
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("does not match"),
        "{}",
        stderr(&output)
    );
    // An empty entry cancels instead of counting as a wrong password.
    for args in [
        ["password", "verify", "--password-stdin"],
        ["remote", "enable", "--password-stdin"],
    ] {
        let before = std::fs::read(home.config()).unwrap();
        let output = home.run(&args, "\n");
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let message = stderr(&output);
        assert!(message.contains("Cancelled"), "{args:?}: {message}");
        assert!(!message.contains("does not match"), "{args:?}: {message}");
        assert_eq!(std::fs::read(home.config()).unwrap(), before, "{args:?}");
    }

    let output = home.run(&["status", "--show-api-key"], "");
    assert_success(&output);
    assert!(stdout(&output).contains(&keys[0]), "{}", stdout(&output));
}

#[test]
fn status_json_fields() {
    let home = TrayHome::new();
    let port = cpa_testkit::free_port();
    home.write_config(port, "");
    let output = home.run(&["status", "--json"], "");
    assert_success(&output);
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["running"], false);
    assert_eq!(value["pid"], serde_json::Value::Null);
    assert_eq!(value["port"], port);
    assert_eq!(value["home"], shown(home.path()));
    assert_eq!(value["config"], shown(&home.config()));

    let output = home.run(
        &["start", "--password-stdin", "--no-open"],
        &format!("{PASSWORD}\n"),
    );
    assert_success(&output);
    let output = home.run(&["status", "--json"], "");
    assert_success(&output);
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["running"], true);
    assert_eq!(value["pid"], home.recorded_pid().unwrap());
    assert_eq!(value["port"], port);
    assert_eq!(value["engine"], "builtin");
    assert_eq!(value["engineChoice"], "builtin");
    assert_eq!(value["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(value["home"], shown(home.path()));
    assert_eq!(value["config"], shown(&home.config()));
    assert!(
        value.get("apiKeys").is_none(),
        "keys shown without --show-api-key"
    );
}

#[test]
fn password_set_restart_reports_active() {
    let (home, port) = started_home();
    let old_pid = home.recorded_pid().unwrap();
    let new_password = "second-Password-2";
    let output = home.run(
        &["password", "set", "--password-stdin", "--restart"],
        &format!("{new_password}\n"),
    );
    assert_success(&output);
    assert!(
        stdout(&output).contains("Password active"),
        "{}",
        stdout(&output)
    );
    if !under_runner() {
        assert!(!alive(old_pid), "old server still running");
    }
    let bearer = format!("Bearer {new_password}");
    assert_eq!(
        get_status(port, "/v0/management/config", &[("Authorization", &bearer)]),
        200
    );

    // Without --restart the server reloads the file: the message says the
    // new password is active, and it is.
    let third = "third-Password-3";
    let output = home.run(
        &["password", "set", "--password-stdin"],
        &format!("{third}\n"),
    );
    assert_success(&output);
    assert!(
        stdout(&output).contains("active within a second"),
        "{}",
        stdout(&output)
    );
    assert!(stdout(&output).contains("--restart"), "{}", stdout(&output));
    // At most three requests, so a slow reload cannot reach the server's
    // ban after five failed keys.
    let bearer = format!("Bearer {third}");
    let mut last = 0;
    for _ in 0..3 {
        std::thread::sleep(Duration::from_secs(1));
        last = get_status(port, "/v0/management/config", &[("Authorization", &bearer)]);
        if last == 200 {
            break;
        }
    }
    assert_eq!(last, 200, "the reloaded server rejects the new password");
}

#[test]
fn stop_without_server_says_so() {
    let home = TrayHome::new();
    let output = home.run(&["stop"], "");
    assert_success(&output);
    assert!(
        stdout(&output).contains("Not running"),
        "{}",
        stdout(&output)
    );
}

fn record_for(pid: u32, start_time: u64, exe: std::path::PathBuf, home: &TrayHome) -> EngineRecord {
    EngineRecord {
        pid,
        start_time,
        exe,
        program: None,
        config: home.config(),
        port: 1,
        engine: "builtin".to_string(),
        version: "0".to_string(),
        version_printed: false,
        webui_page: None,
        probe: "127.0.0.1:1".to_string(),
        tls: false,
        started_at: 0,
    }
}

#[cfg(unix)]
#[test]
fn stop_never_touches_a_foreign_process() {
    if skip_under_runner(
        "stop_never_touches_a_foreign_process",
        "the foreign process is a Linux pid that a Windows binary cannot see",
    ) {
        return;
    }
    let home = TrayHome::new();
    std::fs::create_dir_all(home.path().join("run")).unwrap();
    let mut sleeper = Command::new("sleep").arg("1000").spawn().unwrap();
    let pid = sleeper.id();
    let info = cpa_core::supervisor::process::inspect(pid).unwrap();
    let foreign = record_for(pid, info.start_time + 1, info.exe.unwrap(), &home);
    record::write(&home.pid_file(), &foreign).unwrap();

    let output = home.run(&["stop"], "");
    assert_success(&output);
    assert!(
        stdout(&output).contains("left alone"),
        "{}",
        stdout(&output)
    );
    std::thread::sleep(Duration::from_millis(100));
    assert!(alive(pid), "stop killed a process it did not start");
    assert!(!home.pid_file().exists(), "stale record kept");
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
}

#[test]
fn stale_pid_file_is_cleared() {
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    std::fs::create_dir_all(home.path().join("run")).unwrap();
    let mut exited = Command::new(env!("CARGO_BIN_EXE_cpa-tray"))
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = exited.id();
    exited.wait().unwrap();
    let stale = record_for(pid, 1, env!("CARGO_BIN_EXE_cpa-tray").into(), &home);
    record::write(&home.pid_file(), &stale).unwrap();

    let output = home.run(&["status", "--json"], "");
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["running"], false);
    let output = home.run(&["stop"], "");
    assert_success(&output);
    assert!(
        stdout(&output).contains("already exited"),
        "{}",
        stdout(&output)
    );
    assert!(!home.pid_file().exists());
}

#[test]
fn port_conflict_is_reported_at_once() {
    let home = TrayHome::new();
    let port = cpa_testkit::free_port();
    home.write_config(port, "");
    let config_before = std::fs::read(home.config()).unwrap();
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let started = std::time::Instant::now();
    let output = home.run(
        &["start", "--password-stdin", "--no-open"],
        &format!("{PASSWORD}\n"),
    );
    let elapsed = started.elapsed();
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains(&format!("Port {port} is already in use")),
        "{message}"
    );
    // The owner lookup reads /proc, which only the Linux build does.
    if cfg!(target_os = "linux") && !under_runner() {
        assert!(
            message.contains(&format!("pid {}", std::process::id())),
            "{message}"
        );
    }
    assert!(home.recorded_pid().is_none());
    // Not a speed assertion: the 12 s readiness wait was never entered.
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    // Nothing half done: the password was not stored, and no empty log
    // folder was made for a server that never ran.
    assert_eq!(std::fs::read(home.config()).unwrap(), config_before);
    assert!(
        !home.path().join("logs").exists(),
        "an empty logs/ was left"
    );
    drop(listener);
}

#[test]
fn server_exiting_at_start_shows_its_log() {
    if skip_under_runner(
        "server_exiting_at_start_shows_its_log",
        "the test server is a Linux binary",
    ) {
        return;
    }
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let output = common::run(
        home.command()
            .args(["start", "--password-stdin", "--no-open"])
            .env("CPA_TRAY_ENGINE_PROGRAM", test_server())
            .env("CPA_TEST_SERVER", "--bad-config"),
        &format!("{PASSWORD}\n"),
    );
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("could not load its config"), "{message}");
    assert!(message.contains("exited during start-up"), "{message}");
    assert!(
        message.contains("cpa-test-server: pid"),
        "log lines missing: {message}"
    );
    assert!(home.recorded_pid().is_none());
}

#[test]
fn management_password_is_removed_from_the_child() {
    if skip_under_runner(
        "management_password_is_removed_from_the_child",
        "the test server is a Linux binary",
    ) {
        return;
    }
    for (keep, expected) in [
        (false, "env MANAGEMENT_PASSWORD unset"),
        (true, "env MANAGEMENT_PASSWORD set"),
    ] {
        let home = TrayHome::new();
        home.write_config(cpa_testkit::free_port(), "");
        let mut command = home.command();
        command
            .args(["start", "--password-stdin", "--no-open"])
            .env("CPA_TRAY_ENGINE_PROGRAM", test_server())
            .env("CPA_TEST_SERVER", "--report-env MANAGEMENT_PASSWORD")
            .env("MANAGEMENT_PASSWORD", "env-password");
        if keep {
            command.env("CPA_TRAY_KEEP_MANAGEMENT_PASSWORD", "1");
        }
        let output = common::run(&mut command, &format!("{PASSWORD}\n"));
        assert_success(&output);
        if keep {
            assert!(
                stderr(&output).contains("MANAGEMENT_PASSWORD is passed"),
                "{}",
                stderr(&output)
            );
        } else {
            assert!(
                stderr(&output).contains("not passed to the server"),
                "{}",
                stderr(&output)
            );
        }
        let log = std::fs::read_to_string(home.path().join("logs/engine.log")).unwrap();
        assert!(log.contains(expected), "keep={keep}: {log}");
        assert!(!log.contains("env-password"), "secret in the log");
        assert_success(&home.run(&["stop"], ""));
    }

    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let mut command = home.command();
    command
        .args(["--lang", "zh-CN", "start", "--password-stdin", "--no-open"])
        .env("CPA_TRAY_ENGINE_PROGRAM", test_server())
        .env("MANAGEMENT_PASSWORD", "env-password");
    let output = common::run(&mut command, &format!("{PASSWORD}\n"));
    assert_success(&output);
    let err = stderr(&output);
    assert_eq!(
        err.matches("此处设置了 MANAGEMENT_PASSWORD，但不会传给服务")
            .count(),
        1,
        "{err}"
    );
    assert!(err.contains("CPA_TRAY_KEEP_MANAGEMENT_PASSWORD=1"), "{err}");
    assert!(!err.contains("env-password"), "secret in the output");
    assert_success(&home.run(&["stop"], ""));
}

#[test]
fn original_settings_file_is_read() {
    let home = TrayHome::new();
    std::fs::write(
        home.path().join("settings.json"),
        b"\xef\xbb\xbf{\"version\":\"v6.7.37\",\"arch\":\"amd64\",\"autoOpenWebUI\":true,\"language\":\"zh-CN\",\"lastChannel\":\"plus\"}\r\n",
    )
    .unwrap();
    home.write_config(cpa_testkit::free_port(), "");
    let output = home.run(&["status"], "");
    assert_success(&output);
    assert!(stdout(&output).contains("未在运行"), "{}", stdout(&output));
    assert!(stderr(&output).is_empty(), "warnings: {}", stderr(&output));
}

#[test]
fn unknown_language_is_rejected() {
    let home = TrayHome::new();
    let output = home.run(&["--lang", "fr", "status"], "");
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("en or zh-CN"),
        "{}",
        stderr(&output)
    );
}

/// A server started with `--config FILE` outside the home folder, and FILE.
fn started_with_outside_config() -> (TrayHome, tempfile::TempDir, std::path::PathBuf, u16) {
    let home = TrayHome::new();
    let outside = tempfile::tempdir().unwrap();
    let config = outside.path().join("my.yaml");
    let port = cpa_testkit::free_port();
    std::fs::write(
        &config,
        format!("host: \"127.0.0.1\"\nport: {port}\nremote-management:\n  secret-key: \"\"\n"),
    )
    .unwrap();
    let output = home.run(
        &[
            "--config",
            config.to_str().unwrap(),
            "start",
            "--password-stdin",
            "--no-open",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert_success(&output);
    (home, outside, config, port)
}

#[test]
fn password_set_restart_uses_the_running_servers_config() {
    let (home, _outside, config, port) = started_with_outside_config();
    let new_password = "second-Password-2";
    let output = home.run(
        &["password", "set", "--password-stdin", "--restart"],
        &format!("{new_password}\n"),
    );
    assert_success(&output);
    assert!(
        stdout(&output).contains("Password active"),
        "{}",
        stdout(&output)
    );
    assert!(
        !home.config().exists(),
        "a template config was created in the home folder"
    );
    let stored = cpa_config::load(&config).unwrap();
    let stored = stored.view().unwrap();
    assert!(cpa_config::secret::verify_password(
        new_password,
        stored.secret()
    ));
    let bearer = format!("Bearer {new_password}");
    assert_eq!(
        get_status(port, "/v0/management/config", &[("Authorization", &bearer)]),
        200
    );

    // `restart` keeps the config too.
    let output = home.run(&["restart", "--no-open"], "");
    assert_success(&output);
    assert!(!home.config().exists());
    assert_eq!(
        get_status(port, "/v0/management/config", &[("Authorization", &bearer)]),
        200
    );
}

#[test]
fn explicit_config_other_than_the_running_one_is_refused() {
    let (home, outside, config, _port) = started_with_outside_config();
    let other = outside.path().join("other.yaml");
    home.write_config(cpa_testkit::free_port(), "");
    std::fs::copy(home.config(), &other).unwrap();
    let before = std::fs::read(&other).unwrap();
    let output = home.run(
        &[
            "--config",
            other.to_str().unwrap(),
            "password",
            "set",
            "--password-stdin",
            "--restart",
        ],
        "third-Password-3\n",
    );
    assert!(!output.status.success(), "{}", stdout(&output));
    let err = stderr(&output);
    assert!(err.contains(&shown(&config)), "{err}");
    assert!(err.contains(&shown(&other)), "{err}");
    assert_eq!(std::fs::read(&other).unwrap(), before, "other file changed");
}

#[test]
fn password_set_without_config_creates_nothing() {
    let home = TrayHome::new();
    let output = home.run(
        &["password", "set", "--password-stdin"],
        "some-Password-1\n",
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("does not exist"),
        "{}",
        stderr(&output)
    );
    assert!(!home.config().exists(), "password set created a config");
    let output = home.run(&["restart", "--no-open"], "");
    assert!(!output.status.success());
    assert!(!home.config().exists(), "restart created a config");
}

#[test]
fn mistyped_config_is_not_created() {
    let home = TrayHome::new();
    let typo = home.path().join("cofnig.yaml");
    let output = home.run(
        &[
            "--config",
            typo.to_str().unwrap(),
            "start",
            "--password-stdin",
            "--no-open",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(!output.status.success());
    assert!(stderr(&output).contains("--config"), "{}", stderr(&output));
    assert!(!typo.exists(), "a mistyped --config was created");
}

#[test]
fn start_when_running_says_so_and_keeps_the_server() {
    let (home, port) = started_home();
    let pid = home.recorded_pid().unwrap();
    let output = home.run(&["start", "--no-open"], "");
    assert_success(&output);
    assert_eq!(
        stdout(&output).trim(),
        format!("Already running (pid {pid}, port {port}). Use `cpa-tray restart` to restart it.")
    );
    assert_eq!(home.recorded_pid(), Some(pid), "the server was restarted");
}

#[test]
fn cancelled_start_on_a_fresh_home_writes_nothing() {
    let home = TrayHome::new();
    let output = home.run(&["start", "--password-stdin", "--no-open"], "\n");
    assert!(!output.status.success());
    assert!(
        !home.config().exists(),
        "cancelled start left a config.yaml"
    );
}

#[test]
fn password_prompt_does_not_hold_the_lock() {
    let (home, _port) = started_home();
    // `password set` waiting for its input line must not block `stop`.
    let mut waiting = home
        .command()
        .args(["password", "set", "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut stop = home
        .command()
        .arg("stop")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let stopped = loop {
        if let Some(status) = stop.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = stop.kill();
    let _ = waiting.kill();
    let _ = waiting.wait();
    let status = stopped.expect("stop waited for a command reading its password");
    assert!(status.success());
}

#[test]
fn waiting_for_the_lock_names_the_holder() {
    if skip_under_runner(
        "waiting_for_the_lock_names_the_holder",
        "the test's Linux file lock is not visible to LockFileEx under Wine",
    ) {
        return;
    }
    let home = TrayHome::new();
    std::fs::create_dir_all(home.path().join("run")).unwrap();
    let lock_path = home.path().join("run/cpa-tray.lock");
    let lock = std::fs::File::create(&lock_path).unwrap();
    lock.lock().unwrap();
    std::fs::write(&lock_path, "4242").unwrap();
    let mut stop = home
        .command()
        .arg("stop")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = std::io::BufReader::new(stop.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
    assert_eq!(
        line.trim(),
        "Waiting for another cpa-tray command (pid 4242) to finish…"
    );
    drop(lock);
    assert!(stop.wait().unwrap().success());
}

#[test]
fn start_warns_about_keys_that_never_match() {
    for (key_lines, expected) in [
        ("  secret-key: |\n    hunter22\n", "ends with a line break"),
        (
            "  secret-key: \"$2a$mypassword\"\n",
            "starts like a bcrypt hash",
        ),
        (
            "  secret-key: \"  spaced-key-1  \"\n",
            "starts or ends with a space",
        ),
    ] {
        let home = TrayHome::new();
        let port = cpa_testkit::free_port();
        std::fs::write(
            home.config(),
            format!(
                "host: \"127.0.0.1\"\nport: {port}\nremote-management:\n{key_lines}api-keys:\n  - \"sk-test-client-key\"\n"
            ),
        )
        .unwrap();
        let output = home.run(&["start", "--no-open"], "");
        assert_success(&output);
        let err = stderr(&output);
        assert!(err.contains(expected), "{key_lines:?}: {err}");
        assert!(
            err.contains("cpa-tray password set"),
            "{key_lines:?}: {err}"
        );
    }
}

#[test]
fn start_refuses_a_key_over_72_bytes() {
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), &"k".repeat(80));
    let output = home.run(&["start", "--no-open"], "");
    assert!(!output.status.success());
    assert_eq!(
        stderr(&output).trim(),
        format!(
            "The management key stored in {} is longer than 72 bytes (80), which bcrypt cannot hash, so the server does not start. Run `cpa-tray password set` to replace it.",
            shown(&home.config())
        )
    );
    assert!(home.recorded_pid().is_none());
}

#[test]
fn start_warns_about_example_api_keys() {
    let home = TrayHome::new();
    let port = cpa_testkit::free_port();
    std::fs::write(
        home.config(),
        format!(
            "host: \"127.0.0.1\"\nport: {port}\nremote-management:\n  secret-key: \"\"\napi-keys:\n  - \"your-api-key-1\"\n  - \"your-api-key-2\"\n"
        ),
    )
    .unwrap();
    let output = home.run(
        &["--lang", "zh-CN", "start", "--password-stdin", "--no-open"],
        &format!("{PASSWORD}\n"),
    );
    assert_success(&output);
    let err = stderr(&output);
    assert!(err.contains("your-api-key-1、your-api-key-2"), "{err}");
    assert!(err.contains("安全模式"), "{err}");
    // Said once, by the running server, not also predicted from the config.
    assert!(err.contains("服务正以安全模式运行"), "{err}");
    assert!(
        !err.contains("较新的 CLIProxyAPI 会因此进入安全模式"),
        "{err}"
    );

    let status_json = || {
        let output = home.run(&["status", "--json"], "");
        assert_success(&output);
        serde_json::from_str::<serde_json::Value>(&stdout(&output)).unwrap()
    };
    let value = status_json();
    assert_eq!(value["safeMode"], true, "{value}");
    // In safe mode the page is served with `?safe-mode=configure`.
    assert_eq!(value["webui"], "served", "{value}");
    let output = home.run(&["status"], "");
    assert!(
        stdout(&output).contains("The server runs in safe mode"),
        "{}",
        stdout(&output)
    );

    // As the message states, replacing the keys ends safe mode without a restart.
    let text = std::fs::read_to_string(home.config()).unwrap();
    std::fs::write(
        home.config(),
        text.replace("your-api-key-1", "own-key-1")
            .replace("your-api-key-2", "own-key-2"),
    )
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut value = status_json();
    while value["safeMode"] != false && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        value = status_json();
    }
    assert_eq!(value["safeMode"], false, "{value}");
    assert_eq!(value["state"], "running", "{value}");
    let output = home.run(&["status"], "");
    assert!(
        !stdout(&output).contains("safe mode"),
        "{}",
        stdout(&output)
    );
}

/// Runs `cpa-tray ARGS` with stdout a pipe whose reading end is already
/// closed, as in `cpa-tray status | head -0`; gives up after 20 s.
fn run_into_closed_pipe(home: &TrayHome, args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = home
        .command()
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("cpa-tray {args:?} kept running with a closed stdout");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn closed_stdout_is_not_a_panic() {
    if skip_under_runner("closed_stdout_is_not_a_panic", "Unix pipes") {
        return;
    }
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    std::fs::create_dir_all(home.path().join("logs")).unwrap();
    std::fs::write(home.path().join("logs/engine.log"), "one\ntwo\n").unwrap();
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["logs"],
        &["logs", "--follow"],
    ] {
        let output = run_into_closed_pipe(&home, args);
        assert!(
            !stderr(&output).contains("panicked"),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(output.status.success(), "{args:?}: {:?}", output.status);
    }
}

#[test]
fn password_stdin_ignores_a_byte_order_mark() {
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let output = home.run(
        &["password", "set", "--password-stdin"],
        &format!("\u{feff}{PASSWORD}\r\n"),
    );
    assert_success(&output);
    let output = home.run(
        &["password", "verify", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert_success(&output);
}

#[test]
fn status_after_a_crash_says_the_server_exited() {
    if skip_under_runner("status_after_a_crash_says_the_server_exited", "kill -9") {
        return;
    }
    let (home, _port) = started_home();
    let pid = home.recorded_pid().unwrap();
    let killed = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while alive(pid) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = home.run(&["status"], "");
    assert_success(&output);
    let text = stdout(&output);
    let log = shown(&home.path().join("logs/engine.log"));
    assert!(text.contains("Not running"), "{text}");
    assert!(
        text.contains(&format!("(pid {pid}) exited unexpectedly")),
        "{text}"
    );
    assert!(
        text.contains(&format!("The last lines of {log} follow")),
        "{text}"
    );
    // The supervisor's header line of this run is among the last lines shown.
    assert!(text.contains("  --- cpa-tray: starting"), "{text}");
    assert!(text.contains("cpa-tray start"), "{text}");

    let output = home.run(&["status", "--json"], "");
    assert_success(&output);
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["state"], "exited");
    assert_eq!(value["running"], false);
    assert_eq!(value["exitedPid"], pid);
    assert!(!value["logTail"].as_array().unwrap().is_empty(), "{value}");

    // With the log gone, status does not promise lines that never come.
    std::fs::remove_file(home.path().join("logs/engine.log")).unwrap();
    let text = stdout(&home.run(&["status"], ""));
    assert!(text.contains(&format!("{log} is empty.")), "{text}");
    assert!(!text.contains("follow"), "{text}");
}

#[test]
fn status_names_a_foreign_port_owner() {
    let home = TrayHome::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    home.write_config(port, "");
    let output = home.run(&["status"], "");
    assert_success(&output);
    let text = stdout(&output);
    assert!(text.contains("Not running"), "{text}");
    assert!(
        text.contains(&format!("Port {port} is served by another process")),
        "{text}"
    );
    assert!(text.contains("does not control"), "{text}");
    let output = home.run(&["status", "--json"], "");
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["state"], "port_in_use");
    if cfg!(target_os = "linux") && !under_runner() {
        // This test process holds the port, and Linux names it.
        let me = std::process::id();
        assert!(text.contains(&format!("(pid {me})")), "{text}");
        assert_eq!(value["portOwner"]["pid"], me);
    }
    drop(listener);
    let output = home.run(&["status", "--json"], "");
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["state"], "stopped");
    assert_eq!(value["portOwner"], serde_json::Value::Null);
}

#[cfg(target_os = "linux")]
#[test]
fn status_reports_a_suspended_server() {
    if skip_under_runner("status_reports_a_suspended_server", "kill -STOP") {
        return;
    }
    let (home, port) = started_home();
    let pid = home.recorded_pid().unwrap();
    let signal = |name: &str| {
        let status = Command::new("kill")
            .args([name, &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {name}");
    };
    signal("-STOP");
    // The kernel stops the process when it next handles the signal.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !cpa_core::supervisor::process::is_suspended(pid) && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = home.run(&["status"], "");
    let json = home.run(&["status", "--json"], "");
    signal("-CONT");
    assert_success(&output);
    let text = stdout(&output);
    assert!(
        text.contains(&format!("Running: pid {pid}, port {port}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("The server (pid {pid}) is suspended")),
        "{text}"
    );
    assert!(text.contains(&format!("kill -CONT {pid}")), "{text}");
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["state"], "suspended");
    assert_eq!(value["serving"], false);

    let output = home.run(&["status", "--json"], "");
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["state"], "running");
}

#[test]
fn engine_errors_list_the_valid_values() {
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let output = home.run(
        &[
            "start",
            "--engine",
            "bogus",
            "--password-stdin",
            "--no-open",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("Unknown engine `bogus`"), "{err}");
    assert!(err.contains("builtin, cliproxyapi"), "{err}");

    let output = home.run(
        &[
            "start",
            "--engine",
            "cliproxyapi",
            "--password-stdin",
            "--no-open",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("No CLIProxyAPI release is installed"), "{err}");
    assert!(err.contains("--engine builtin"), "{err}");
}

/// Runs `cpa-tray ARGS` on a pseudo-terminal made by util-linux `script`,
/// typing each entry of `entries` (followed by Enter) half a second apart.
/// Returns everything the terminal showed, or `None` when `script` is missing.
fn run_on_terminal(home: &TrayHome, args: &[&str], entries: &[&str]) -> Option<String> {
    use std::io::Write;
    let mut script = common::on_terminal(&home.command(), args, "", "")?;
    let mut child = script
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    for entry in entries {
        std::thread::sleep(Duration::from_millis(500));
        let _ = write!(input, "{entry}\r");
        let _ = input.flush();
    }
    std::thread::sleep(Duration::from_millis(500));
    drop(input);
    let output = child.wait_with_output().unwrap();
    Some(stdout(&output))
}

#[test]
fn third_invalid_entry_states_the_limit_once() {
    if skip_under_runner("third_invalid_entry_states_the_limit_once", "a Linux pty") {
        return;
    }
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let Some(shown) = run_on_terminal(&home, &["start", "--no-open"], &["short"; 3]) else {
        return;
    };
    let reason = "The password is too short (5 characters)";
    assert_eq!(shown.matches(reason).count(), 3, "{shown}");
    assert!(shown.contains("All 3 attempts were invalid."), "{shown}");
    assert!(
        shown.contains("Password not set. Start cancelled."),
        "{shown}"
    );
    assert!(home.recorded_pid().is_none());
}

#[test]
fn missing_user_home_gives_one_hint() {
    if skip_under_runner(
        "missing_user_home_gives_one_hint",
        "Wine sets the Windows profile folder itself, so removing HOME and USERPROFILE leaves a home",
    ) {
        return;
    }
    for (lang, hint) in [("en", "--home DIR"), ("zh-CN", "请用 --home DIR")] {
        let mut command = cpa_testkit::binary_command("cpa-tray", env!("CARGO_BIN_EXE_cpa-tray"));
        command
            .args(["--lang", lang, "status"])
            .env_remove("HOME")
            .env_remove("USERPROFILE")
            .env_remove("CPA_TRAY_HOME");
        let output = common::run(&mut command, "");
        assert!(!output.status.success(), "{lang}");
        let err = stderr(&output);
        assert_eq!(err.matches("--home").count(), 1, "{lang}: {err}");
        assert!(err.contains(hint), "{lang}: {err}");
    }
}

#[test]
fn help_is_localized_under_zh_cn() {
    let home = TrayHome::new();
    let output = home.run(&["--lang", "zh-CN", "--help"], "");
    assert_success(&output);
    let text = stdout(&output);
    assert!(text.contains("停止此托盘启动的服务"), "{text}");
    assert!(
        !text.contains("Stop the server this tray started"),
        "{text}"
    );

    let output = home.run(&["--lang", "en", "--help"], "");
    assert!(stdout(&output).contains("Stop the server this tray started"));
}

/// A broken config.yaml is explained in Chinese under `--lang zh-CN`: the
/// file, line and column, the key and what is wrong, with nothing written.
#[test]
fn config_error_reads_in_chinese() {
    let home = TrayHome::new();
    let config = home.path().join("config.yaml");
    std::fs::write(&config, "port: 1\nport: 2\n").unwrap();

    let output = home.run(
        &["--lang", "zh-CN", "password", "set", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );

    assert!(!output.status.success());
    let text = String::from_utf8_lossy(&output.stderr);
    // Under Wine the path reads as Windows sees it (Z:\...), so only its end is checked.
    assert!(text.contains("config.yaml:2:1"), "{text}");
    assert!(text.contains("映射键 \"port\" 已在第 1 行定义过"), "{text}");
    assert!(!text.contains("already defined"), "{text}");
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "port: 1\nport: 2\n"
    );
}

/// Waits until process `pid` blocks in a read (its wait channel names a
/// pipe or terminal read), so a signal sent next reaches the prompt. Gives up
/// after 5 s and lets the caller's assertions tell what happened.
#[cfg(target_os = "linux")]
fn wait_for_blocked_read(pid: u32) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        let channel = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
        if channel.contains("pipe_read") || channel.contains("tty_read") {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(target_os = "linux")]
#[test]
fn sigint_at_stdin_prompt_cancels_cleanly() {
    if skip_under_runner(
        "sigint_at_stdin_prompt_cancels_cleanly",
        "SIGINT and /proc wait channels of a Wine process",
    ) {
        return;
    }
    use std::process::Stdio;
    let cases = [
        (
            ["start", "--password-stdin", "--no-open"].as_slice(),
            "en",
            "Password not set. Start cancelled.",
        ),
        (
            ["start", "--password-stdin", "--no-open"].as_slice(),
            "zh-CN",
            "未设置密码，已取消启动。",
        ),
        (
            ["password", "set", "--password-stdin"].as_slice(),
            "en",
            "Password not set. Nothing was changed.",
        ),
        (
            ["password", "verify", "--password-stdin"].as_slice(),
            "zh-CN",
            "已取消，未做任何更改。",
        ),
    ];
    for (args, lang, message) in cases {
        let home = TrayHome::new();
        // verify needs a stored key to compare with.
        let secret = if args.contains(&"verify") {
            PASSWORD
        } else {
            ""
        };
        home.write_config(cpa_testkit::free_port(), secret);
        let before = std::fs::read(home.config()).unwrap();
        let child = home
            .command()
            .args(["--lang", lang])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for_blocked_read(child.id());
        let sent = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(130),
            "{lang} {args:?}: {output:?}"
        );
        assert_eq!(stderr(&output).trim(), message, "{lang} {args:?}");
        assert_eq!(
            std::fs::read(home.config()).unwrap(),
            before,
            "config changed"
        );
        assert!(home.recorded_pid().is_none(), "a server was started");
    }
}

#[test]
fn ctrl_c_at_terminal_prompt_restores_echo() {
    if skip_under_runner("ctrl_c_at_terminal_prompt_restores_echo", "a Linux pty") {
        return;
    }
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let before = std::fs::read(home.config()).unwrap();
    // The same terminal reports its modes after cpa-tray ended.
    let Some(mut script) = common::on_terminal(
        &home.command(),
        &["start", "--no-open"],
        "",
        "; echo \"exit=$?\"; stty -a",
    ) else {
        return;
    };
    let shown = common::type_on_terminal(&mut script, &[(800, b"half-typed"), (300, b"\x03")]);

    assert!(shown.contains("New management password:"), "{shown}");
    assert!(
        shown.contains("Password not set. Start cancelled."),
        "{shown}"
    );
    assert!(shown.contains("exit=130"), "{shown}");
    let modes = shown.split_whitespace().collect::<Vec<_>>();
    assert!(modes.contains(&"echo"), "echo left off: {shown}");
    assert!(modes.contains(&"icanon"), "line editing left off: {shown}");
    assert!(
        !shown.contains("half-typed"),
        "the entry was echoed: {shown}"
    );
    assert_eq!(
        std::fs::read(home.config()).unwrap(),
        before,
        "config changed"
    );
    assert!(home.recorded_pid().is_none(), "a server was started");
}

#[test]
fn misshaped_section_fails_before_the_prompt() {
    let cases = [
        (
            "remote-management: [1, 2]\n",
            "3:20: `remote-management`",
            "a list",
        ),
        (
            "remote-management: \"yes\"\n",
            "3:20: `remote-management`",
            "a scalar",
        ),
        ("tls: [on]\n", "3:6: `tls`", "a list"),
        (
            "config-version: 8\nmanagement: [1]\n",
            "4:13: `management`",
            "a list",
        ),
    ];
    for (section, place, found) in cases {
        let home = TrayHome::new();
        let port = cpa_testkit::free_port();
        let text = format!("host: \"127.0.0.1\"\nport: {port}\n{section}");
        std::fs::write(home.config(), &text).unwrap();
        // No --password-stdin: a prompt reached first would print the rules.
        let output = home.run(&["start", "--no-open"], "");
        assert!(!output.status.success(), "{section}");
        let err = stderr(&output);
        let expected = format!(
            "Cannot use the config file: {}:{place}: expected a mapping (indented `key: value` lines), found {found}. Correct it, then run the command again.",
            shown(&home.config())
        );
        assert_eq!(err.trim(), expected, "{section}");
        assert_eq!(std::fs::read_to_string(home.config()).unwrap(), text);
        assert!(home.recorded_pid().is_none());
    }
}

#[test]
fn null_or_empty_section_is_accepted() {
    for section in [
        "remote-management:\n",
        "remote-management: {}\n",
        "tls: null\n",
    ] {
        let home = TrayHome::new();
        let port = cpa_testkit::free_port();
        std::fs::write(
            home.config(),
            format!("host: \"127.0.0.1\"\nport: {port}\n{section}"),
        )
        .unwrap();
        let output = home.run(&["status"], "");
        assert_success(&output);
        let output = home.run(
            &["start", "--password-stdin", "--no-open"],
            &format!("{PASSWORD}\n"),
        );
        assert_success(&output);
    }
}

#[test]
fn stop_names_a_foreign_port_owner() {
    let home = TrayHome::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    home.write_config(port, "");
    let output = home.run(&["stop"], "");
    assert_success(&output);
    let text = stdout(&output);
    assert!(text.contains("Not running"), "{text}");
    assert!(
        text.contains(&format!("Port {port} is served by another process")),
        "{text}"
    );
    if cfg!(target_os = "linux") && !under_runner() {
        assert!(
            text.contains(&format!("(pid {})", std::process::id())),
            "{text}"
        );
    }
    // The listener was left alone.
    let accepted = std::net::TcpStream::connect(("127.0.0.1", port));
    assert!(accepted.is_ok(), "the foreign listener stopped accepting");
}

#[test]
fn ctrl_c_at_engine_choice_cancels_cleanly() {
    if skip_under_runner("ctrl_c_at_engine_choice_cancels_cleanly", "a Linux pty") {
        return;
    }
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let before = std::fs::read(home.config()).unwrap();
    // A CLIProxyAPI binary on PATH makes the first start ask which engine
    // to run, even with the releases API unreachable.
    let bin = home.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("cli-proxy-api");
    std::fs::write(&fake, "#!/bin/sh\nexit 0\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();

    let mut base = home.command();
    base.env("CPA_TRAY_RELEASES_API", "http://127.0.0.1:9").env(
        "PATH",
        format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    );
    // The terminal sends SIGINT to the whole foreground group: the shell
    // catches it so it lives to print the exit status.
    let Some(mut script) = common::on_terminal(
        &base,
        &["start", "--no-open"],
        "trap : INT; ",
        "; echo \"exit=$?\"",
    ) else {
        return;
    };
    let shown = common::type_on_terminal(&mut script, &[(1500, b"\x03")]);

    assert!(shown.contains("[c]ancel"), "{shown}");
    assert!(
        shown.contains("Start cancelled: no server program was chosen."),
        "{shown}"
    );
    assert!(shown.contains("exit=130"), "{shown}");
    assert_eq!(std::fs::read(home.config()).unwrap(), before);
    assert!(!home.path().join("settings.json").exists());
    assert!(home.recorded_pid().is_none(), "a server was started");
}

#[cfg(target_os = "linux")]
#[test]
fn unreadable_config_is_a_read_failure() {
    if skip_under_runner(
        "unreadable_config_is_a_read_failure",
        "runs as another Unix user through setpriv, which Wine refuses",
    ) {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    std::fs::set_permissions(home.config(), std::fs::Permissions::from_mode(0o000)).unwrap();
    // root reads any file: run as `nobody` then, through setpriv(1).
    let root = std::fs::read(home.config()).is_ok();
    let mut command = if root {
        if Command::new("setpriv").arg("--version").output().is_err() {
            cpa_testkit::missing_tool::<()>("util-linux `setpriv` (to drop root)");
            return;
        }
        for dir in [home.path(), home.path().parent().unwrap()] {
            let mode = std::fs::metadata(dir).unwrap().permissions().mode();
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode | 0o777)).unwrap();
        }
        let base = home.command();
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(base.get_program())
            .args(base.get_args());
        for (name, value) in base.get_envs() {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        command
    } else {
        home.command()
    };
    command.args(["start", "--no-open", "--password-stdin"]);
    let output = common::run(&mut command, "");
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("Failed to read"), "{err}");
    assert!(err.contains("Give your user read permission"), "{err}");
    assert!(!err.contains("write permission"), "{err}");
    assert_eq!(err.matches("try again").count(), 0, "{err}");
}

#[test]
fn status_reports_a_broken_config() {
    let home = TrayHome::new();
    std::fs::write(
        home.config(),
        "host: 127.0.0.1\nport: 8317\nremote-management: [1, 2]\n",
    )
    .unwrap();
    let output = home.run(&["status"], "");
    assert_success(&output);
    assert!(stdout(&output).contains("Not running"));
    let err = stderr(&output);
    assert!(err.contains("config.yaml:3"), "{err}");
    assert!(err.contains("remote-management"), "{err}");
    let output = home.run(&["status", "--json"], "");
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        value["configError"]
            .as_str()
            .is_some_and(|text| text.contains("remote-management")),
        "{value}"
    );
}

#[test]
fn empty_home_variable_means_unset() {
    if skip_under_runner(
        "empty_home_variable_means_unset",
        "the runner wraps the binary in its own command line",
    ) {
        return;
    }
    let user = tempfile::tempdir().unwrap();
    let home = TrayHome::new();
    // The helper's command names --home; this run must not.
    let base = home.command();
    let args: Vec<_> = base.get_args().skip(2).collect();
    assert!(args.is_empty(), "{args:?}");
    let mut command = Command::new(base.get_program());
    for (name, value) in base.get_envs() {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    command
        .env("HOME", user.path())
        .env("USERPROFILE", user.path())
        .env("CPA_TRAY_HOME", "")
        .env("CPA_TRAY_LANG", " ")
        .arg("status");
    let output = common::run(&mut command, "");
    assert_success(&output);
    assert!(
        stdout(&output).contains("Not running"),
        "{}",
        stdout(&output)
    );
    // The only notice is about the default home's config, not yet created.
    let expected = format!(
        "The config file {} does not exist.",
        shown(&user.path().join(".cli-proxy-api-tray/config.yaml"))
    );
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains(&expected), "{message}");
}

#[test]
fn engine_flag_errors_name_the_flag() {
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let folder = tempfile::tempdir().unwrap();
    let folder_arg = folder.path().to_str().unwrap();
    let output = home.run(
        &[
            "start",
            "--no-open",
            "--password-stdin",
            "--engine",
            folder_arg,
        ],
        "service-Password-1\n",
    );
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("given with --engine, is a folder, not a program"),
        "{err}"
    );
    assert!(!err.contains("does not exist"), "{err}");

    let missing = folder.path().join("no-such-server");
    let output = home.run(
        &[
            "start",
            "--no-open",
            "--password-stdin",
            "--engine",
            missing.to_str().unwrap(),
        ],
        "service-Password-1\n",
    );
    let err = stderr(&output);
    assert!(err.contains("does not exist. Check --engine."), "{err}");
    assert!(home.recorded_pid().is_none());
}

#[test]
fn start_checks_the_port_before_saving() {
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let held_port = held.local_addr().unwrap().port();
    let cases = [
        ("port: 70000\n".to_string(), "70000"),
        ("port: 0\n".to_string(), "port"),
        (
            format!("host: \"127.0.0.1\"\nport: {held_port}\n"),
            "already in use",
        ),
    ];
    for (config, expected) in cases {
        let home = TrayHome::new();
        std::fs::write(home.config(), &config).unwrap();
        let output = home.run(
            &["start", "--password-stdin", "--no-open"],
            &format!("{PASSWORD}\n"),
        );
        assert_eq!(output.status.code(), Some(1), "{config:?}");
        let message = stderr(&output);
        assert!(message.contains(expected), "{config:?}: {message}");
        assert!(
            !stdout(&output).contains("Password saved"),
            "{config:?}: {}",
            stdout(&output)
        );
        let after = std::fs::read_to_string(home.config()).unwrap();
        assert_eq!(after, config, "config.yaml changed");
    }
    drop(held);
}

#[test]
fn github_tokens_are_removed_from_the_child() {
    if skip_under_runner(
        "github_tokens_are_removed_from_the_child",
        "the test server is a Linux binary",
    ) {
        return;
    }
    let home = TrayHome::new();
    home.write_config(cpa_testkit::free_port(), "");
    let mut command = home.command();
    command
        .args(["start", "--password-stdin", "--no-open"])
        .env("CPA_TRAY_ENGINE_PROGRAM", test_server())
        .env(
            "CPA_TEST_SERVER",
            "--report-env GITHUB_TOKEN --report-env GH_TOKEN --report-env HOME",
        )
        .env("GITHUB_TOKEN", "ghp_token-from-shell")
        .env("GH_TOKEN", "gho_token-from-shell");
    let output = common::run(&mut command, &format!("{PASSWORD}\n"));
    assert_success(&output);
    let log = std::fs::read_to_string(home.path().join("logs/engine.log")).unwrap();
    assert!(log.contains("env GITHUB_TOKEN unset"), "{log}");
    assert!(log.contains("env GH_TOKEN unset"), "{log}");
    // Other variables still reach the server.
    assert!(log.contains("env HOME set"), "{log}");
    assert!(!log.contains("token-from-shell"), "token in the log");
    assert_success(&home.run(&["stop"], ""));
}

#[test]
fn ctrl_d_at_prompt_ends_the_line() {
    if skip_under_runner("ctrl_d_at_prompt_ends_the_line", "a Linux pty") {
        return;
    }
    for (lang, prompt, cancelled) in [
        (
            "en",
            "New management password:",
            "Password not set. Nothing was changed.",
        ),
        ("zh-CN", "新的管理密码：", "未设置密码，未做任何更改。"),
    ] {
        let home = TrayHome::new();
        home.write_config(cpa_testkit::free_port(), "");
        let Some(mut script) = common::on_terminal(
            &home.command(),
            &["--lang", lang, "password", "set"],
            "",
            "",
        ) else {
            return;
        };
        let shown = common::type_on_terminal(&mut script, &[(800, b"\x04")]);
        let prompt_line = shown
            .lines()
            .find(|line| line.contains(prompt))
            .unwrap_or_else(|| panic!("{lang}: no prompt in {shown:?}"));
        assert!(
            !prompt_line.contains(cancelled),
            "{lang}: cancel message on the prompt's line: {shown:?}"
        );
        assert!(shown.contains(cancelled), "{lang}: {shown:?}");
    }
}

#[test]
fn status_names_a_missing_config() {
    let home = TrayHome::new();
    let output = home.run(&["status"], "");
    assert_success(&output);
    let message = stderr(&output);
    assert!(
        message.contains(&format!(
            "The config file {} does not exist. `cpa-tray start` creates it from the built-in template (port 8317)",
            shown(&home.config())
        )),
        "{message}"
    );

    let missing = home.path().join("nonexist.yaml");
    let output = home.run(&["--config", missing.to_str().unwrap(), "status"], "");
    assert_success(&output);
    let message = stderr(&output);
    assert!(
        message.contains(&format!(
            "The config file {} given with --config does not exist",
            shown(&missing)
        )),
        "{message}"
    );
    assert!(message.contains("would fail"), "{message}");
    assert!(!missing.exists(), "status created the config");
}

#[test]
fn cancelled_first_start_writes_nothing() {
    if skip_under_runner("cancelled_first_start_writes_nothing", "a Linux pty") {
        return;
    }
    let home = TrayHome::new();
    let Some(mut script) = common::on_terminal(
        &home.command(),
        &["start", "--engine", "builtin", "--no-open"],
        "",
        "; echo \"exit=$?\"",
    ) else {
        return;
    };
    let shown = common::type_on_terminal(&mut script, &[(800, b"half-typed"), (300, b"\x03")]);

    assert!(shown.contains("New management password:"), "{shown}");
    assert!(shown.contains("exit=130"), "{shown}");
    let mut left: Vec<String> = std::fs::read_dir(home.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert!(left.is_empty(), "a cancelled start wrote {left:?}");
}
