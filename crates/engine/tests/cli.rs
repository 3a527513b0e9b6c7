//! The command line: flags parsed by Go's rules, the startup lines, exit
//! statuses and startup failures.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;

fn run(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    engine_command()
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run cpa-engine")
}

#[test]
fn version_line_comes_first_even_for_help() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(&["-h"], dir.path());
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout.lines().next(),
        Some(
            format!(
                "CLIProxyAPI Version: {}, Commit: none, BuiltAt: unknown",
                env!("CARGO_PKG_VERSION")
            )
            .as_str()
        )
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("Usage of cpa-engine:"), "{stderr}");
    assert!(
        !stderr.contains("password"),
        "-password stays hidden like upstream: {stderr}"
    );
}

#[test]
fn unknown_flag_exits_2_with_usage() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(&["--version"], dir.path());
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("flag provided but not defined: -version"),
        "{stderr}"
    );
    assert!(stderr.contains("Usage of cpa-engine:"), "{stderr}");
}

#[test]
fn missing_config_fails_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(&[], dir.path());
    assert_ne!(
        output.status.code(),
        Some(0),
        "upstream exits 0 here; we do not"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
    assert!(
        stderr.contains("config.yaml"),
        "default is <cwd>/config.yaml: {stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains(STARTED_PREFIX), "{stdout}");
}

#[test]
fn config_flag_spellings_all_work() {
    for form in ["-config", "--config", "-config=", "--config="] {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("custom.yaml");
        std::fs::write(&config, legacy_config("", "")).unwrap();
        let mut command = engine_command();
        if form.ends_with('=') {
            command.arg(format!("{form}{}", config.display()));
        } else {
            command.arg(form).arg(&config);
        }
        let mut child = command
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut started = None;
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
            let line = line.unwrap();
            if let Some(address) = line.strip_prefix(STARTED_PREFIX) {
                started = Some(address.to_string());
                break;
            }
        }
        let address = started.unwrap_or_else(|| panic!("{form}: no startup line"));
        let port: u16 = address.strip_prefix("127.0.0.1:").unwrap().parse().unwrap();
        assert_ne!(port, 0, "{form}: the real port is printed");
        let health = request(port, "GET", "/healthz", &[], b"");
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(health.status, 200, "{form}");
    }
}

#[test]
fn started_line_reports_bound_port() {
    let server = Server::start(&legacy_config("", ""));
    assert_ne!(server.port, 0);
    let stdout = server.stdout();
    assert!(stdout.starts_with("CLIProxyAPI Version: "), "{stdout}");
    assert!(
        stdout.contains(&format!("{STARTED_PREFIX}127.0.0.1:{}", server.port)),
        "{stdout}"
    );
    assert_eq!(server.get("/healthz", &[]).status, 200);
}

#[test]
fn port_in_use_fails_naming_the_port() {
    let blocker = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = blocker.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.yaml"),
        format!("host: 127.0.0.1\nport: {port}\n"),
    )
    .unwrap();
    let output = run(&["-config", "config.yaml"], dir.path());
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn invalid_yaml_fails_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.yaml"), "port: 0\nport: 1\n").unwrap();
    let output = run(&["-config", "config.yaml"], dir.path());
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("config.yaml:2"), "{stderr}");
}

#[test]
fn overlong_plaintext_key_fails_like_upstream() {
    let dir = tempfile::tempdir().unwrap();
    let key = "k".repeat(73);
    std::fs::write(dir.path().join("config.yaml"), legacy_config(&key, "")).unwrap();
    let output = run(&["-config", "config.yaml"], dir.path());
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "failed to hash remote management key: bcrypt: password length exceeds 72 bytes"
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains(&key),
        "the key itself is never printed: {stderr}"
    );
}

#[test]
fn missing_tls_files_fail_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "{}tls:\n  enable: true\n  cert: \"missing-cert.pem\"\n  key: \"missing-key.pem\"\n",
        legacy_config("", "")
    );
    std::fs::write(dir.path().join("config.yaml"), config).unwrap();
    let output = run(&["-config", "config.yaml"], dir.path());
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("missing-cert.pem"), "{stderr}");
}

#[test]
fn login_flags_are_rejected_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(&["-codex-login"], dir.path());
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not supported by the built-in engine"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn sigterm_stops_gracefully_with_status_0() {
    if std::env::var_os("CPA_TEST_RUNNER").is_some_and(|runner| !runner.is_empty()) {
        println!(
            "SKIPPED under CPA_TEST_RUNNER: sigterm_stops_gracefully_with_status_0: \
             a Unix signal to the runner does not reach the Windows program as Ctrl+C"
        );
        return;
    }
    let mut server = Server::start(&legacy_config("", ""));
    assert_eq!(server.get("/healthz", &[]).status, 200);
    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "stderr: {}", server.stderr());
    assert!(
        std::net::TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], server.port)),
            Duration::from_millis(500)
        )
        .is_err(),
        "the port is closed after exit"
    );
}

#[test]
fn empty_host_listens_on_all_interfaces() {
    let server = Server::start("port: 0\n");
    let stdout = server.stdout();
    assert!(
        stdout.contains(&format!("{STARTED_PREFIX}:{}", server.port)),
        "{stdout}"
    );
    assert_eq!(server.get("/healthz", &[]).status, 200);
    let v6 = std::net::TcpStream::connect(("::1", server.port));
    if v6.is_err() {
        eprintln!("note: ::1 is not reachable on this machine; IPv6 half not checked");
    }
}

#[test]
fn empty_config_flag_means_default_path() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(&["-config="], dir.path());
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = dir.path().canonicalize().unwrap().join("config.yaml");
    assert!(
        stderr.contains(&expected.display().to_string()) || stderr.contains("config.yaml"),
        "{stderr}"
    );
}
