//! Helpers shared by the workspace's tests.
//!
//! Everything here locates real things: the `shared/` folder that sits beside the
//! repository (fixtures, specs, the Go oracle), the oracle binary itself, the
//! workspace's own binaries, and free ports on 127.0.0.1. Nothing here fakes a
//! component.
//!
//! Environment variables read:
//! - `CPA_SHARED_DIR`: the `shared/` folder (default: `<repo>/../shared`).
//! - `CPA_CONFIG_ORACLE`: a prebuilt `cpa-config-oracle` binary. Without it the
//!   oracle is built once per target directory with `shared/tools/cpa-config-oracle/build.sh`.
//! - `CI`: when `true`, a missing tool is a test failure instead of a loud skip.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Returns the repository root (the workspace folder).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the testkit crate lives two folders below the workspace root")
}

/// Returns the `shared/` folder with the specs, fixtures and tools.
pub fn shared_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CPA_SHARED_DIR") {
        return PathBuf::from(dir);
    }
    repo_root().join("../shared")
}

/// Returns `shared/fixtures/configs`.
pub fn fixture_configs_dir() -> PathBuf {
    shared_dir().join("fixtures/configs")
}

/// Returns `shared/fixtures/upstream-config-examples`.
pub fn upstream_examples_dir() -> PathBuf {
    shared_dir().join("fixtures/upstream-config-examples")
}

/// Lists the `.yaml` files of a fixture folder, sorted by name.
pub fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("cannot list fixture folder {}: {err}", dir.display()))
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "yaml" || ext == "yml")
        })
        .collect();
    files.sort();
    files
}

/// Returns true when running under CI (`CI=true`), where skipping is not allowed.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true" || value == "1")
}

/// Reports a missing tool: panics in CI, prints a loud warning elsewhere.
///
/// Returns `None` so callers can write `let Some(x) = ... else { return };`.
pub fn missing_tool<T>(what: &str) -> Option<T> {
    if in_ci() {
        panic!("required test tool is missing in CI: {what}");
    }
    let mut stderr = std::io::stderr();
    let _ = writeln!(
        stderr,
        "\n!!!!!!!!!! SKIPPED: {what} is not available on this machine; CI runs this test !!!!!!!!!!\n"
    );
    None
}

/// Returns the path of the Go oracle, building it on first use.
///
/// Returns `None` (after a loud warning) when it cannot be built outside CI.
pub fn oracle() -> Option<PathBuf> {
    static ORACLE: OnceLock<Option<PathBuf>> = OnceLock::new();
    ORACLE
        .get_or_init(|| {
            if let Some(path) = std::env::var_os("CPA_CONFIG_ORACLE") {
                let path = PathBuf::from(path);
                if path.is_file() {
                    return Some(path);
                }
                return missing_tool(&format!(
                    "CPA_CONFIG_ORACLE points at {}, which does not exist",
                    path.display()
                ));
            }
            let out = target_dir().join("cpa-config-oracle");
            if out.is_file() {
                return Some(out);
            }
            let script = shared_dir().join("tools/cpa-config-oracle/build.sh");
            let status = Command::new("sh")
                .arg(&script)
                .arg(&out)
                .stdout(Stdio::null())
                .status();
            match status {
                Ok(status) if status.success() && out.is_file() => Some(out),
                Ok(status) => missing_tool(&format!(
                    "cpa-config-oracle (build.sh exited with {status})"
                )),
                Err(err) => {
                    missing_tool(&format!("cpa-config-oracle (cannot run build.sh: {err})"))
                }
            }
        })
        .clone()
}

/// Runs `cpa-config-oracle read FILE` and returns its JSON report.
///
/// The oracle exits 1 when the server cannot load the file; the report then has
/// an `error` field, which is returned like any other report.
pub fn oracle_read(oracle: &Path, file: &Path) -> serde_json::Value {
    let output = Command::new(oracle)
        .arg("read")
        .arg(file)
        .output()
        .expect("run cpa-config-oracle read");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "cpa-config-oracle read {} printed invalid JSON ({err}): {}",
            file.display(),
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// Runs `cpa-config-oracle verify FILE` with `password` on stdin.
///
/// Returns true when the stored key accepts the password.
pub fn oracle_verify(oracle: &Path, file: &Path, password: &str) -> bool {
    let mut child = Command::new(oracle)
        .arg("verify")
        .arg(file)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run cpa-config-oracle verify");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(password.as_bytes())
        .expect("write password to the oracle");
    child.wait().expect("wait for the oracle").success()
}

/// Returns cargo's target directory for this build.
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        return if dir.is_absolute() {
            dir
        } else {
            repo_root().join(dir)
        };
    }
    repo_root().join("target")
}

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
///
/// Prefer binding port 0 in the process under test; use this only where a
/// config file must name the port before the server starts.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// A command that runs one of the workspace's binaries.
///
/// `default_path` is the path cargo gives the test (`env!("CARGO_BIN_EXE_<name>")`).
/// The environment variable `CPA_TEST_BIN_<NAME>` (name upper-cased, `-` as `_`)
/// replaces it, and `CPA_TEST_RUNNER` (for example `wine64`) is put in front, so
/// the same tests can drive a cross-built Windows binary under Wine.
pub fn binary_command(name: &str, default_path: &str) -> Command {
    let variable = format!("CPA_TEST_BIN_{}", name.to_uppercase().replace('-', "_"));
    let program = std::env::var_os(&variable).unwrap_or_else(|| default_path.into());
    match std::env::var_os("CPA_TEST_RUNNER").filter(|runner| !runner.is_empty()) {
        Some(runner) => {
            let mut command = Command::new(runner);
            command.arg(program);
            command
        }
        None => Command::new(program),
    }
}

/// Copies a fixture into a fresh temporary folder as `config.yaml`.
///
/// Returns the folder (keep it alive) and the path of the copy.
pub fn copy_fixture(fixture: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("create a temporary folder");
    let path = dir.path().join("config.yaml");
    std::fs::copy(fixture, &path)
        .unwrap_or_else(|err| panic!("cannot copy fixture {}: {err}", fixture.display()));
    (dir, path)
}
