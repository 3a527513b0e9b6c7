//! Helpers for driving the real `cpa-tray` binary.

#![allow(dead_code)]

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use cpa_core::supervisor::{http, process, record};

/// A home folder for one test. Dropping it stops a server left running.
pub struct TrayHome {
    pub dir: tempfile::TempDir,
    data: tempfile::TempDir,
}

impl TrayHome {
    pub fn new() -> TrayHome {
        TrayHome {
            dir: tempfile::tempdir().expect("create home folder"),
            data: tempfile::tempdir().expect("create data folder"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config(&self) -> PathBuf {
        self.path().join("config.yaml")
    }

    pub fn pid_file(&self) -> PathBuf {
        self.path().join("run/engine.json")
    }

    /// Writes a small config listening on 127.0.0.1:`port` with `secret`.
    pub fn write_config(&self, port: u16, secret: &str) {
        std::fs::write(
            self.config(),
            format!(
                "host: \"127.0.0.1\"\nport: {port}\nremote-management:\n  allow-remote: false\n  secret-key: \"{secret}\"\napi-keys:\n  - \"sk-test-client-key\"\n"
            ),
        )
        .expect("write config.yaml");
    }

    /// A `cpa-tray --home <home>` command with a clean, English environment.
    pub fn command(&self) -> Command {
        let mut command = cpa_testkit::binary_command("cpa-tray", env!("CARGO_BIN_EXE_cpa-tray"));
        command
            .arg("--home")
            .arg(self.path())
            .env("XDG_DATA_HOME", self.data.path())
            .env("LANG", "C.UTF-8")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env_remove("LANGUAGE")
            .env_remove("CPA_TRAY_HOME")
            .env_remove("CPA_TRAY_LANG")
            .env_remove("CPA_TRAY_ENGINE_PROGRAM")
            .env_remove("CPA_TRAY_KEEP_MANAGEMENT_PASSWORD")
            .env_remove("MANAGEMENT_PASSWORD")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY");
        command
    }

    /// Runs `cpa-tray --home <home> ARGS` with `stdin` as standard input.
    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        run(self.command().args(args), stdin)
    }

    /// The pid of the recorded server, if any.
    pub fn recorded_pid(&self) -> Option<u32> {
        record::read(&self.pid_file()).ok().flatten().map(|r| r.pid)
    }
}

impl Drop for TrayHome {
    fn drop(&mut self) {
        if self.pid_file().exists() {
            let _ = self
                .command()
                .arg("stop")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

pub fn run(command: &mut Command, stdin: &str) -> Output {
    // Under Wine a server started by the binary inherits the binary's Unix
    // stderr, so a stderr pipe would stay open as long as the server runs.
    // A file is read after the exit instead.
    let stderr_file = under_runner().then(|| tempfile::tempfile().expect("stderr file"));
    let stderr = match &stderr_file {
        Some(file) => Stdio::from(file.try_clone().expect("clone stderr file")),
        None => Stdio::piped(),
    };
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("run cpa-tray");
    let mut input = child.stdin.take().expect("piped stdin");
    // The command may exit before reading; a broken pipe is fine then.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    let mut output = child.wait_with_output().expect("wait for cpa-tray");
    if let Some(mut file) = stderr_file {
        use std::io::{Read, Seek};
        file.rewind().expect("rewind stderr file");
        file.read_to_end(&mut output.stderr)
            .expect("read stderr file");
    }
    output
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts a successful exit, showing both streams otherwise.
pub fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        stdout(output),
        stderr(output)
    );
}

/// Whether process `pid` is alive (a zombie counts as gone).
pub fn alive(pid: u32) -> bool {
    process::inspect(pid).is_some()
}

/// `GET path` on 127.0.0.1:`port` with optional headers; returns the status.
pub fn get_status(port: u16, path: &str, headers: &[(&str, &str)]) -> u16 {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    http::get(addr, path, headers, Duration::from_secs(5))
        .unwrap_or_else(|err| panic!("GET {path} on port {port}: {err}"))
        .status
}

/// Returns the `cpa-test-server` binary, building it when this test run did not.
pub fn test_server() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let tray = Path::new(env!("CARGO_BIN_EXE_cpa-tray"));
        let profile_dir = tray.parent().expect("binary folder");
        let path = profile_dir.join(format!("cpa-test-server{}", std::env::consts::EXE_SUFFIX));
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "-p", "cpa-test-server"]);
        if profile_dir
            .file_name()
            .is_some_and(|name| name == "release")
        {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build -p cpa-test-server");
        assert!(status.success(), "cargo build -p cpa-test-server failed");
        path
    })
}

/// Returns whether the binaries run under `CPA_TEST_RUNNER` (Windows builds
/// under Wine), where this Linux test process cannot inspect their pids and
/// Linux-only helpers (the test server, `sleep`, `chattr`) cannot be their children.
pub fn under_runner() -> bool {
    std::env::var_os("CPA_TEST_RUNNER").is_some_and(|runner| !runner.is_empty())
}

/// Prints the line `.ci/windows.sh` counts and returns true under a runner.
pub fn skip_under_runner(test: &str, reason: &str) -> bool {
    if under_runner() {
        println!("SKIPPED under CPA_TEST_RUNNER: {test}: {reason}");
        return true;
    }
    false
}

/// Returns `path` as the binary prints it: Wine maps `/` to drive `Z:`.
pub fn shown(path: &Path) -> String {
    if under_runner() {
        format!("Z:{}", path.display()).replace('/', "\\")
    } else {
        path.display().to_string()
    }
}

/// Asserts that the server with `pid` is gone: by pid natively, through
/// `cpa-tray status` under a runner (Windows pids are not visible here).
pub fn assert_stopped(home: &TrayHome, pid: u32) {
    if under_runner() {
        let output = home.run(&["status", "--json"], "");
        let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("status JSON");
        assert_eq!(value["running"], false, "server {pid} still running");
        return;
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while alive(pid) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!alive(pid), "server {pid} still running");
}

/// Returns a command that runs `base` followed by `args` on a pseudo-terminal
/// made by util-linux `script`, with `base`'s environment, so prompts read
/// from a real terminal. `before` and `after` are shell text put around the
/// quoted command line (e.g. `trap : INT;` and `; echo "exit=$?"`). Returns
/// `None` after a loud skip when `script` is missing.
pub fn on_terminal(base: &Command, args: &[&str], before: &str, after: &str) -> Option<Command> {
    if Command::new("script").arg("--version").output().is_err() {
        return cpa_testkit::missing_tool("util-linux `script` (pseudo-terminal)");
    }
    let quote = |text: &str| format!("'{}'", text.replace('\'', "'\\''"));
    let mut line = format!("{before}{}", quote(&base.get_program().to_string_lossy()));
    for arg in base.get_args().chain(args.iter().map(std::ffi::OsStr::new)) {
        line.push(' ');
        line.push_str(&quote(&arg.to_string_lossy()));
    }
    line.push_str(after);
    let mut script = Command::new("script");
    script
        .args(["-qec", &line, "/dev/null"])
        .env("SHELL", "/bin/sh");
    for (name, value) in base.get_envs() {
        match value {
            Some(value) => script.env(name, value),
            None => script.env_remove(name),
        };
    }
    Some(script)
}

/// Runs `script` (from [`on_terminal`]) and types into its terminal: for each
/// step, waits the milliseconds, then writes the bytes (`\x03` is Ctrl+C).
/// Returns everything the terminal showed once the program ended.
pub fn type_on_terminal(script: &mut Command, steps: &[(u64, &[u8])]) -> String {
    use std::io::Read;
    let mut child = script
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    for (wait, bytes) in steps {
        std::thread::sleep(Duration::from_millis(*wait));
        input.write_all(bytes).unwrap();
        input.flush().unwrap();
    }
    std::thread::sleep(Duration::from_millis(800));
    drop(input);
    let mut shown = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut shown)
        .unwrap();
    child.wait().unwrap();
    shown
}
