//! `cpa-tray update`, `install` and `versions` against a fake GitHub on
//! 127.0.0.1, with release archives that hold real server binaries, so
//! restarts and rollbacks run real processes.

mod common;
mod releases_fake;
#[path = "../../core/tests/releases_support/socks.rs"]
mod socks;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{TrayHome, assert_success, get_status, stderr, stdout};
use cpa_core::supervisor::{http, record};
use releases_fake::{FakeGithub, Stand, Sums, asset_name, sha256_hex};

/// Plain-text key: the config counts as protected, so `start` shows no password prompt.
const SECRET: &str = "release-test-secret";

/// Returns true (after printing why) when the test cannot run here: the
/// archives hold Linux binaries of this workspace, which a Windows build
/// under Wine cannot run as its server.
fn skip(test: &str) -> bool {
    common::skip_under_runner(
        test,
        "release archives hold binaries built for this host, not for the runner's OS",
    )
}

struct Setup {
    home: TrayHome,
    fake: FakeGithub,
    port: u16,
}

impl Setup {
    fn new() -> Setup {
        let home = TrayHome::new();
        let port = cpa_testkit::free_port();
        home.write_config(port, SECRET);
        Setup {
            home,
            fake: FakeGithub::start(),
            port,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = self.home.command();
        command
            .env("CPA_TRAY_RELEASES_API", &self.fake.base)
            .env_remove("GITHUB_TOKEN")
            .env_remove("CPA_TEST_SERVER")
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy")
            .args(args);
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        common::run(&mut self.command(args), "")
    }

    fn versions_dir(&self) -> PathBuf {
        self.home.path().join("versions")
    }

    fn settings(&self) -> serde_json::Value {
        match std::fs::read(self.home.path().join("settings.json")) {
            Ok(bytes) => serde_json::from_slice(&bytes).expect("settings.json is JSON"),
            Err(_) => serde_json::Value::Null,
        }
    }

    fn settings_bytes(&self) -> Option<Vec<u8>> {
        std::fs::read(self.home.path().join("settings.json")).ok()
    }

    /// Returns the running server's recorded version, after checking that it
    /// responds. Three tries of 5 s each, because a loaded test machine can
    /// delay an answer; a server that is gone fails all three at once.
    fn running_version(&self) -> Option<String> {
        let record = record::read(&self.home.pid_file()).ok().flatten()?;
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        let mut last = None;
        for _ in 0..3 {
            match http::get(addr, "/healthz", &[], std::time::Duration::from_secs(5)) {
                Ok(response) => {
                    assert_eq!(response.status, 200);
                    return Some(record.version);
                }
                Err(err) => last = Some(err),
            }
        }
        panic!("GET /healthz on port {}: {:?}", self.port, last);
    }

    fn installed_tags(&self) -> Vec<String> {
        let mut tags: Vec<String> = std::fs::read_dir(self.versions_dir())
            .map(|entries| {
                entries
                    .flatten()
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        tags.sort();
        tags
    }
}

#[test]
fn update_check_makes_one_request_and_compares_versions() {
    if skip("update_check_makes_one_request_and_compares_versions") {
        return;
    }
    let setup = Setup::new();
    setup.fake.publish("v6.9.0", Stand::Engine, Sums::Correct);

    let output = setup.run(&["update", "--check"]);
    assert_success(&output);
    assert!(
        stdout(&output).contains("Latest CLIProxyAPI release: v6.9.0; none is installed"),
        "{}",
        stdout(&output)
    );
    assert_eq!(setup.fake.api_requests(), 1);
    assert!(
        setup.installed_tags().is_empty(),
        "--check installed something"
    );

    assert_success(&setup.run(&["update", "--yes"]));
    let output = setup.run(&["update", "--check"]);
    assert_success(&output);
    assert!(
        stdout(&output).contains("Already latest: v6.9.0"),
        "{}",
        stdout(&output)
    );

    let output = setup.run(&["--lang", "zh-CN", "update", "--check"]);
    assert_success(&output);
    assert!(
        stdout(&output).contains("已是最新版本：v6.9.0"),
        "{}",
        stdout(&output)
    );

    // v6.10.0 is newer than v6.9.0 although it sorts lower as a string.
    setup.fake.publish("v6.10.0", Stand::Engine, Sums::Correct);
    let before = setup.fake.api_requests();
    let output = setup.run(&["update", "--check"]);
    assert_success(&output);
    assert!(
        stdout(&output).contains("Update available: v6.9.0 -> v6.10.0"),
        "{}",
        stdout(&output)
    );
    assert_eq!(setup.fake.api_requests(), before + 1);
    assert_eq!(setup.installed_tags(), ["v6.9.0"]);
}

#[test]
fn update_from_a_pipe_needs_yes() {
    if skip("update_from_a_pipe_needs_yes") {
        return;
    }
    let setup = Setup::new();
    setup.fake.publish("v6.9.0", Stand::Engine, Sums::Correct);
    let output = setup.run(&["update"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("pass --yes"),
        "{}",
        stderr(&output)
    );
    assert!(setup.installed_tags().is_empty());
    assert_eq!(setup.settings(), serde_json::Value::Null);
}

#[test]
fn update_installs_records_and_restarts_the_running_release() {
    if skip("update_installs_records_and_restarts_the_running_release") {
        return;
    }
    let setup = Setup::new();
    setup.fake.publish("v6.0.0", Stand::Engine, Sums::Correct);
    let output = setup.run(&["update", "--yes"]);
    assert_success(&output);
    assert!(
        stdout(&output).contains("matches checksums.txt"),
        "{}",
        stdout(&output)
    );
    assert!(setup.versions_dir().join("v6.0.0/cli-proxy-api").is_file());
    assert_eq!(setup.settings()["version"], "v6.0.0");
    assert!(setup.settings()["arch"].is_string());

    assert_success(&setup.run(&["start", "--engine", "cliproxyapi", "--no-open"]));
    assert_eq!(setup.running_version().as_deref(), Some("v6.0.0"));
    let old_pid = setup.home.recorded_pid().expect("a recorded server");

    setup.fake.publish("v6.1.0", Stand::Engine, Sums::Correct);
    let output = setup.run(&["update", "--yes"]);
    assert_success(&output);
    assert!(
        stdout(&output).contains("Restarting the server on CLIProxyAPI v6.1.0"),
        "{}",
        stdout(&output)
    );
    assert_eq!(setup.running_version().as_deref(), Some("v6.1.0"));
    assert_ne!(setup.home.recorded_pid(), Some(old_pid));
    common::assert_stopped(&setup.home, old_pid);
    assert_eq!(setup.settings()["version"], "v6.1.0");
    // The old version stays installed for `versions use`.
    assert_eq!(setup.installed_tags(), ["v6.0.0", "v6.1.0"]);
}

#[test]
fn update_rolls_back_unready_version() {
    if skip("update_rolls_back_unready_version") {
        return;
    }
    let setup = Setup::new();
    setup.fake.publish("v6.0.0", Stand::Engine, Sums::Correct);
    assert_success(&setup.run(&["update", "--yes"]));
    assert_success(&setup.run(&["start", "--engine", "cliproxyapi", "--no-open"]));
    assert_eq!(setup.running_version().as_deref(), Some("v6.0.0"));
    let settings_before = setup.settings_bytes();

    // v6.1.0 holds cpa-test-server, configured to run without ever listening;
    // cpa-engine (v6.0.0) ignores this variable.
    setup
        .fake
        .publish("v6.1.0", Stand::TestServer, Sums::Correct);
    let mut command = setup.command(&["update", "--yes", "--ready-timeout", "2"]);
    command.env("CPA_TEST_SERVER", "--never-listen");
    let output = common::run(&mut command, "");
    assert!(!output.status.success(), "{}", stdout(&output));
    let err = stderr(&output);
    assert!(
        err.contains("CLIProxyAPI v6.1.0 did not become ready")
            && err.contains("switched back to v6.0.0"),
        "{err}"
    );
    assert_eq!(setup.running_version().as_deref(), Some("v6.0.0"));
    assert_eq!(setup.settings_bytes(), settings_before);
    assert_eq!(setup.settings()["version"], "v6.0.0");
}

#[test]
fn update_rejects_checksum_mismatch() {
    if skip("update_rejects_checksum_mismatch") {
        return;
    }
    let setup = Setup::new();
    setup.fake.publish("v6.0.0", Stand::Engine, Sums::Correct);
    assert_success(&setup.run(&["update", "--yes"]));
    let settings_before = setup.settings_bytes();

    setup.fake.publish("v6.1.0", Stand::Engine, Sums::Wrong);
    let output = setup.run(&["update", "--yes"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("error:") && err.to_lowercase().contains("checksum") && err.contains("hint:"),
        "{err}"
    );
    // Nothing new, not even a temporary entry.
    assert_eq!(setup.installed_tags(), ["v6.0.0"]);
    assert_eq!(setup.settings_bytes(), settings_before);
}

/// Writes `archive(stand)` under its release name for `tag` into `dir`.
fn write_archive(dir: &Path, tag: &str, stand: Stand) -> (PathBuf, String) {
    let name = asset_name(tag);
    let bytes = releases_fake::archive(stand);
    let path = dir.join(&name);
    std::fs::write(&path, bytes).expect("write the archive");
    (path, sha256_hex(bytes))
}

#[test]
fn install_from_file_and_manage_versions() {
    if skip("install_from_file_and_manage_versions") {
        return;
    }
    let setup = Setup::new();
    let downloads = tempfile::tempdir().expect("downloads folder");

    // With checksums.txt beside it.
    let (first, digest) = write_archive(downloads.path(), "v6.2.0", Stand::Engine);
    std::fs::write(
        downloads.path().join("checksums.txt"),
        format!("{digest}  {}\n", asset_name("v6.2.0")),
    )
    .expect("write checksums.txt");
    let output = setup.run(&["install", "--from", first.to_str().expect("UTF-8 path")]);
    assert_success(&output);
    assert!(
        stdout(&output).contains("matches checksums.txt"),
        "{}",
        stdout(&output)
    );
    assert_eq!(setup.settings()["version"], "v6.2.0");

    // Without a checksum: refused, then accepted with --allow-unverified.
    let loose = tempfile::tempdir().expect("second folder");
    let (second, _) = write_archive(loose.path(), "v6.10.0", Stand::Engine);
    let second = second.to_str().expect("UTF-8 path");
    let output = setup.run(&["install", "--from", second]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("--allow-unverified"),
        "{}",
        stderr(&output)
    );
    assert_eq!(setup.installed_tags(), ["v6.2.0"]);
    assert_eq!(setup.settings()["version"], "v6.2.0");
    let output = setup.run(&["install", "--from", second, "--allow-unverified"]);
    assert_success(&output);
    assert!(
        stderr(&output).contains("Not verified"),
        "{}",
        stderr(&output)
    );
    let (third, _) = write_archive(loose.path(), "v6.9.1", Stand::Engine);
    let output = setup.run(&[
        "install",
        "--from",
        third.to_str().expect("UTF-8 path"),
        "--allow-unverified",
    ]);
    assert_success(&output);
    // Older than the active v6.10.0: the switch back is said, with its undo.
    assert!(
        stderr(&output).contains(
            "v6.9.1 is older than the active v6.10.0 and becomes the active version. Run `cpa-tray versions use v6.10.0`"
        ),
        "{}",
        stderr(&output)
    );

    // SemVer order, newest first; the last install is active.
    let output = setup.run(&["versions", "list"]);
    assert_success(&output);
    assert_eq!(
        stdout(&output),
        "  v6.10.0\n* v6.9.1 (active)\n  v6.2.0\n",
        "{}",
        stdout(&output)
    );

    // `use` records the tag and restarts a running release on it.
    assert_success(&setup.run(&["start", "--engine", "cliproxyapi", "--no-open"]));
    assert_eq!(setup.running_version().as_deref(), Some("v6.9.1"));
    let output = setup.run(&["versions", "use", "v6.2.0"]);
    assert_success(&output);
    assert_eq!(setup.running_version().as_deref(), Some("v6.2.0"));
    assert_eq!(setup.settings()["version"], "v6.2.0");
    let output = setup.run(&["versions", "list"]);
    assert_eq!(stdout(&output), "  v6.10.0\n  v6.9.1\n* v6.2.0 (active)\n");
    // A tag typed without its `v` finds the installed release.
    assert_success(&setup.run(&["versions", "use", "6.10.0"]));
    assert_eq!(setup.settings()["version"], "v6.10.0");
    assert_eq!(setup.running_version().as_deref(), Some("v6.10.0"));
    assert_success(&setup.run(&["versions", "use", "v6.2.0"]));

    let output = setup.run(&["versions", "use", "v7.0.0"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("v7.0.0") && stderr(&output).contains("versions list"),
        "{}",
        stderr(&output)
    );

    // Prune keeps the newest one plus the active one.
    let output = setup.run(&["versions", "prune", "--keep", "1"]);
    assert_success(&output);
    assert_eq!(stdout(&output), "Removed v6.9.1.\n");
    assert_eq!(setup.installed_tags(), ["v6.10.0", "v6.2.0"]);
    assert_eq!(setup.running_version().as_deref(), Some("v6.2.0"));
}

#[test]
fn update_leaves_a_running_builtin_engine() {
    if skip("update_leaves_a_running_builtin_engine") {
        return;
    }
    let setup = Setup::new();
    assert_success(&setup.run(&["start", "--engine", "builtin", "--no-open"]));
    let pid = setup.home.recorded_pid().expect("a recorded server");

    setup.fake.publish("v6.0.0", Stand::Engine, Sums::Correct);
    let output = setup.run(&["update", "--yes"]);
    assert_success(&output);
    assert!(
        stdout(&output).contains("was left as it is")
            && stdout(&output).contains("restart --engine official"),
        "{}",
        stdout(&output)
    );
    assert_eq!(setup.home.recorded_pid(), Some(pid));
    assert_eq!(setup.settings()["version"], "v6.0.0");

    // Installing the same release again downloads nothing.
    let output = setup.run(&["install", "--yes"]);
    assert_success(&output);
    assert!(
        stdout(&output).contains("Already latest: v6.0.0"),
        "{}",
        stdout(&output)
    );

    // The suggested restart switches to the release, and the switch stays.
    assert_eq!(setup.settings()["engine"], "builtin");
    assert_success(&setup.run(&["restart", "--engine", "official"]));
    assert_eq!(setup.running_version().as_deref(), Some("v6.0.0"));
    assert_eq!(setup.settings()["engine"], "official");
    assert_success(&setup.run(&["stop"]));
    assert_success(&setup.run(&["start", "--no-open"]));
    assert_eq!(setup.running_version().as_deref(), Some("v6.0.0"));
    assert_eq!(setup.fake.api_requests(), 2);
}

#[test]
fn api_errors_name_the_url_with_a_hint() {
    if skip("api_errors_name_the_url_with_a_hint") {
        return;
    }
    let setup = Setup::new();
    let token = "ghp_release_test_token_value";
    let mut command = setup.command(&["update", "--check"]);
    command.env("GITHUB_TOKEN", token);
    let output = common::run(&mut command, "");
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("error:"), "{err}");
    assert!(err.contains(&setup.fake.base), "{err}");
    assert!(
        err.contains("hint:") && err.contains("releasesApi"),
        "{err}"
    );
    assert!(!err.contains(token));
    assert!(!stdout(&output).contains(token));
    assert!(setup.installed_tags().is_empty());
}

#[test]
fn releases_api_setting_is_used_without_the_variable() {
    if skip("releases_api_setting_is_used_without_the_variable") {
        return;
    }
    let setup = Setup::new();
    setup.fake.publish("v6.3.0", Stand::Engine, Sums::Correct);
    std::fs::write(
        setup.home.path().join("settings.json"),
        serde_json::json!({ "releasesApi": setup.fake.base }).to_string(),
    )
    .expect("write settings.json");
    let mut command = setup.command(&["update", "--check"]);
    command.env_remove("CPA_TRAY_RELEASES_API");
    let output = common::run(&mut command, "");
    assert_success(&output);
    assert!(stdout(&output).contains("v6.3.0"), "{}", stdout(&output));
    assert_eq!(setup.fake.api_requests(), 1);
}

/// Runs `cpa-tray --home <home> ARGS` on a pseudo-terminal through
/// util-linux `script`, typing `input`; returns the terminal output.
fn run_on_terminal(setup: &Setup, args: &[&str], input: &str) -> Option<(bool, String)> {
    run_on_terminal_with(setup, args, input, &[])
}

/// [`run_on_terminal`] with extra environment variables.
fn run_on_terminal_with(
    setup: &Setup,
    args: &[&str],
    input: &str,
    env: &[(&str, &str)],
) -> Option<(bool, String)> {
    // The same program, arguments and environment as every other run.
    let mut command = common::on_terminal(&setup.command(&[]), args, "", "")?;
    for (key, value) in env {
        command.env(key, value);
    }
    let output = common::run(&mut command, input);
    Some((output.status.success(), stdout(&output)))
}

/// Ctrl+C at the y/N question of `update` cancels like an answer of no:
/// the cancel message, exit status 130, nothing installed.
#[test]
fn ctrl_c_at_update_question_cancels() {
    if skip("ctrl_c_at_update_question_cancels") {
        return;
    }
    let setup = Setup::new();
    setup.fake.publish("v6.4.0", Stand::Engine, Sums::Correct);
    // The terminal sends SIGINT to the whole foreground group: the shell
    // catches it so it lives to print the exit status.
    let Some(mut script) = common::on_terminal(
        &setup.command(&[]),
        &["update"],
        "trap : INT; ",
        "; echo \"exit=$?\"",
    ) else {
        return;
    };
    let shown = common::type_on_terminal(&mut script, &[(1500, b"\x03")]);

    assert!(shown.contains("Install CLIProxyAPI v6.4.0 ("), "{shown}");
    assert!(shown.contains("Update cancelled"), "{shown}");
    assert!(shown.contains("exit=130"), "{shown}");
    assert!(setup.installed_tags().is_empty());
    assert_eq!(setup.settings(), serde_json::Value::Null);
}

#[test]
fn terminal_prompt_declines_and_shows_progress() {
    if skip("terminal_prompt_declines_and_shows_progress") {
        return;
    }
    let setup = Setup::new();
    setup.fake.publish("v6.4.0", Stand::Engine, Sums::Correct);

    let Some((ok, text)) = run_on_terminal(&setup, &["update"], "n\n") else {
        return;
    };
    assert!(!ok, "{text}");
    assert!(text.contains("Install CLIProxyAPI v6.4.0 ("), "{text}");
    assert!(text.contains("Update cancelled"), "{text}");
    assert!(setup.installed_tags().is_empty());
    assert_eq!(setup.settings(), serde_json::Value::Null);

    let Some((ok, text)) = run_on_terminal(&setup, &["--lang", "zh-CN", "update"], "n\n") else {
        return;
    };
    assert!(!ok, "{text}");
    assert!(text.contains("已取消更新"), "{text}");
    assert!(setup.installed_tags().is_empty());

    let Some((ok, text)) = run_on_terminal(&setup, &["update"], "y\n") else {
        return;
    };
    assert!(ok, "{text}");
    assert!(text.contains("100% ("), "{text}");
    assert!(text.contains("Installed CLIProxyAPI v6.4.0"), "{text}");
    assert_eq!(setup.settings()["version"], "v6.4.0");
}

// ---------------------------------------------------------------------------
// First start: which engine runs when nothing is chosen or installed

/// `PATH` for runs that must not find a CLIProxyAPI binary on this machine.
const PLAIN_PATH: &str = "/usr/bin:/bin";

/// A folder with `cpa-engine` copied in as `cli-proxy-api`, as a package
/// manager would install CLIProxyAPI.
fn path_with_stand_in() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("PATH folder");
    let binary = dir.path().join("cli-proxy-api");
    std::fs::copy(releases_fake::workspace_binary("cpa-engine"), &binary)
        .expect("copy the stand-in");
    (dir, binary)
}

fn platform_label() -> String {
    cpa_core::releases::Platform::current()
        .expect("a supported platform")
        .label()
}

#[test]
fn first_start_prompt_downloads_and_remembers() {
    if skip("first_start_prompt_downloads_and_remembers") {
        return;
    }
    let setup = Setup::new();
    setup.fake.publish("v6.9.1", Stand::Engine, Sums::Correct);

    let env = [("PATH", PLAIN_PATH)];
    let Some((ok, text)) = run_on_terminal_with(&setup, &["start", "--no-open"], "d\n", &env)
    else {
        return;
    };
    assert!(ok, "{text}");
    let offer = format!("[d]ownload CLIProxyAPI v6.9.1 for {} (", platform_label());
    assert!(text.contains(&offer), "{text}");
    assert!(text.contains("[b]uilt-in engine"), "{text}");
    assert!(text.contains("[c]ancel"), "{text}");
    assert!(!text.contains("found on PATH"), "{text}");
    assert!(text.contains("matches checksums.txt"), "{text}");
    assert_eq!(setup.running_version().as_deref(), Some("v6.9.1"));
    assert_eq!(setup.settings()["engine"], "official");
    assert_eq!(setup.settings()["version"], "v6.9.1");
    assert_eq!(setup.fake.api_requests(), 1);

    // The choice is remembered: the next start asks nothing and checks nothing.
    assert_success(&setup.run(&["stop"]));
    let Some((ok, text)) = run_on_terminal_with(&setup, &["start", "--no-open"], "", &env) else {
        return;
    };
    assert!(ok, "{text}");
    assert!(!text.contains("Choose the server program"), "{text}");
    assert_eq!(setup.running_version().as_deref(), Some("v6.9.1"));
    assert_eq!(setup.fake.api_requests(), 1);
}

#[test]
fn first_start_prompt_offers_binary_on_path() {
    if skip("first_start_prompt_offers_binary_on_path") {
        return;
    }
    let setup = Setup::new();
    setup.fake.publish("v6.9.1", Stand::Engine, Sums::Correct);
    let (dir, binary) = path_with_stand_in();
    let path = format!("{}:{PLAIN_PATH}", dir.path().display());
    let env = [("PATH", path.as_str())];

    // `versions list` shows it next to the (empty) installed versions.
    let mut list = setup.command(&["versions", "list"]);
    list.env("PATH", &path);
    let output = common::run(&mut list, "");
    assert_success(&output);
    let shown = format!("{} (found on PATH", binary.display());
    assert!(stdout(&output).contains(&shown), "{}", stdout(&output));

    let Some((ok, text)) = run_on_terminal_with(&setup, &["start", "--no-open"], "p\n", &env)
    else {
        return;
    };
    assert!(ok, "{text}");
    let choice = format!("[p] use {} (found on PATH)", binary.display());
    assert!(text.contains(&choice), "{text}");
    let record = record::read(&setup.home.pid_file())
        .expect("readable record")
        .expect("a running server");
    assert_eq!(record.exe, binary);
    assert_eq!(get_status(setup.port, "/healthz", &[]), 200);
    assert_eq!(
        setup.settings()["engine"],
        binary.to_str().expect("UTF-8 path")
    );
    assert!(setup.installed_tags().is_empty());
}

#[test]
fn first_start_prompt_cancel_then_builtin() {
    if skip("first_start_prompt_cancel_then_builtin") {
        return;
    }
    let setup = Setup::new();
    setup.fake.publish("v6.9.1", Stand::Engine, Sums::Correct);
    let env = [("PATH", PLAIN_PATH)];

    let Some((ok, text)) = run_on_terminal_with(&setup, &["start", "--no-open"], "c\n", &env)
    else {
        return;
    };
    assert!(!ok, "{text}");
    assert!(text.contains("Start cancelled"), "{text}");
    assert!(setup.home.recorded_pid().is_none());
    assert_eq!(setup.settings(), serde_json::Value::Null);

    // An unknown answer asks again; `b` records the built-in engine.
    let Some((ok, text)) = run_on_terminal_with(&setup, &["start", "--no-open"], "x\nb\n", &env)
    else {
        return;
    };
    assert!(ok, "{text}");
    assert!(text.contains("Type one of d, b, c."), "{text}");
    assert!(text.contains("cpa-tray install"), "{text}");
    assert_eq!(setup.settings()["engine"], "builtin");
    assert!(setup.installed_tags().is_empty());
    let output = setup.run(&["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON status");
    assert_eq!(status["engine"], "builtin");
}

/// On a fresh home the engine question comes before the password prompt, so
/// declining it leaves the home as it was: no config.yaml, no settings.
#[test]
fn first_start_cancel_on_fresh_home_writes_nothing() {
    if skip("first_start_cancel_on_fresh_home_writes_nothing") {
        return;
    }
    let setup = Setup::new();
    setup.fake.publish("v6.9.1", Stand::Engine, Sums::Correct);
    let config = setup.home.path().join("config.yaml");
    std::fs::remove_file(&config).expect("remove the prepared config.yaml");
    let env = [("PATH", PLAIN_PATH)];

    let Some((ok, text)) = run_on_terminal_with(&setup, &["start", "--no-open"], "c\n", &env)
    else {
        return;
    };
    assert!(!ok, "{text}");
    assert!(text.contains("Start cancelled"), "{text}");
    assert!(
        !text.contains("New management password"),
        "asked for a password first: {text}"
    );
    assert!(
        !config.exists(),
        "a cancelled first start wrote config.yaml"
    );
    assert_eq!(setup.settings(), serde_json::Value::Null);
    assert!(setup.home.recorded_pid().is_none());
}

/// The answer to the engine question is stored only once the password is
/// written: cancelling the password prompt that follows it writes no
/// settings.json and leaves config.yaml unchanged, so the next start asks again.
#[test]
fn first_start_answer_waits_for_the_password() {
    if skip("first_start_answer_waits_for_the_password") {
        return;
    }
    let setup = Setup::new();
    setup.fake.publish("v6.9.1", Stand::Engine, Sums::Correct);
    setup.home.write_config(setup.port, "");
    let config = setup.home.path().join("config.yaml");
    let before = std::fs::read(&config).expect("read config.yaml");

    // Each run is `start` on a pseudo-terminal, without a CLIProxyAPI on PATH.
    let start_on_terminal = || {
        common::on_terminal(
            setup.command(&[]).env("PATH", PLAIN_PATH),
            &["start", "--no-open"],
            "",
            "",
        )
    };

    let Some(mut script) = start_on_terminal() else {
        return;
    };
    // `b` answers the engine question; the empty line cancels the password.
    let shown = common::type_on_terminal(&mut script, &[(1500, b"b\n"), (1500, b"\n")]);
    assert!(shown.contains("Choose the server program"), "{shown}");
    assert!(shown.contains("New management password"), "{shown}");
    assert!(shown.contains("Start cancelled"), "{shown}");
    assert_eq!(setup.settings(), serde_json::Value::Null, "{shown}");
    assert_eq!(std::fs::read(&config).expect("read config.yaml"), before);
    assert!(setup.home.recorded_pid().is_none());

    // Asked again, and stored once the password is written.
    let Some(mut script) = start_on_terminal() else {
        return;
    };
    let password: &[u8] = b"first-start-secret\n";
    let shown = common::type_on_terminal(
        &mut script,
        &[(1500, b"b\n"), (1500, password), (1000, password)],
    );
    assert!(shown.contains("Choose the server program"), "{shown}");
    assert_eq!(setup.settings()["engine"], "builtin", "{shown}");
    assert_eq!(get_status(setup.port, "/healthz", &[]), 200, "{shown}");
}

#[test]
fn first_start_without_terminal_uses_builtin() {
    if skip("first_start_without_terminal_uses_builtin") {
        return;
    }
    let setup = Setup::new();
    setup.fake.publish("v6.9.1", Stand::Engine, Sums::Correct);
    let output = setup.run(&["start", "--no-open"]);
    assert_success(&output);
    let err = stderr(&output);
    assert!(
        err.contains("Using the built-in engine") && err.contains("cpa-tray install"),
        "{err}"
    );
    assert!(!err.contains("Choose the server program"), "{err}");
    // No question, no network, nothing recorded: a later start on a
    // terminal still asks.
    assert_eq!(setup.fake.api_requests(), 0);
    assert_eq!(setup.settings(), serde_json::Value::Null);
    let output = setup.run(&["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON status");
    assert_eq!(status["engine"], "builtin");

    let output = setup.run(&["--lang", "zh-CN", "restart"]);
    assert_success(&output);
}

#[test]
fn first_start_offline_uses_builtin() {
    if skip("first_start_offline_uses_builtin") {
        return;
    }
    let setup = Setup::new();
    let closed = cpa_testkit::free_port();
    let api = format!("http://127.0.0.1:{closed}");
    let env = [
        ("PATH", PLAIN_PATH),
        ("CPA_TRAY_RELEASES_API", api.as_str()),
    ];
    let Some((ok, text)) = run_on_terminal_with(&setup, &["start", "--no-open"], "", &env) else {
        return;
    };
    assert!(ok, "{text}");
    assert!(text.contains("No CLIProxyAPI download to offer"), "{text}");
    assert!(text.contains(&api), "{text}");
    assert!(text.contains("Connection refused"), "{text}");
    assert!(text.contains("cpa-tray install"), "{text}");
    assert!(!text.contains("Choose the server program"), "{text}");
    assert_eq!(setup.settings(), serde_json::Value::Null);
    let output = setup.run(&["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON status");
    assert_eq!(status["engine"], "builtin");

    // In Chinese the OS's reason reads in Chinese too, its English kept
    // beside it for searching.
    let output = common::run(
        setup
            .command(&["--lang", "zh-CN", "update", "--check"])
            .env("CPA_TRAY_RELEASES_API", &api),
        "",
    );
    assert!(!output.status.success());
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("连接被拒绝（Connection refused"), "{text}");
}

#[test]
fn engine_official_flag_installs_latest() {
    if skip("engine_official_flag_installs_latest") {
        return;
    }
    let setup = Setup::new();
    setup.fake.publish("v6.9.1", Stand::Engine, Sums::Correct);
    let output = setup.run(&["start", "--engine", "official", "--no-open"]);
    assert_success(&output);
    assert!(
        stdout(&output).contains("installing the latest one"),
        "{}",
        stdout(&output)
    );
    assert_eq!(setup.running_version().as_deref(), Some("v6.9.1"));
    assert_eq!(setup.settings()["engine"], "official");
    assert_eq!(setup.settings()["version"], "v6.9.1");

    // A failed download leaves nothing behind and starts nothing.
    let other = Setup::new();
    other.fake.publish("v6.9.2", Stand::Engine, Sums::Wrong);
    let output = other.run(&["start", "--engine", "official", "--no-open"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).to_lowercase().contains("checksum"),
        "{}",
        stderr(&output)
    );
    assert!(other.installed_tags().is_empty());
    assert!(other.home.recorded_pid().is_none());
    assert_eq!(other.settings(), serde_json::Value::Null);
}

// ---------------------------------------------------------------------------
// Ctrl+C during a download

/// Names in `versions/` that are temporary entries of an install.
#[cfg(unix)]
fn temporary_entries(setup: &Setup) -> Vec<String> {
    setup
        .installed_tags()
        .into_iter()
        .filter(|name| name.starts_with(cpa_core::releases::TEMP_PREFIX))
        .collect()
}

#[cfg(unix)]
#[test]
// A failing assert leaves the child running until the test binary exits;
// every other path waits for it.
#[allow(clippy::zombie_processes)]
fn interrupted_update_keeps_previous_version() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    if skip("interrupted_update_keeps_previous_version") {
        return;
    }
    let setup = Setup::new();
    setup.fake.publish("v6.0.0", Stand::Engine, Sums::Correct);
    assert_success(&setup.run(&["update", "--yes"]));
    assert_success(&setup.run(&["start", "--no-open"]));
    assert_eq!(setup.running_version().as_deref(), Some("v6.0.0"));
    let pid = setup.home.recorded_pid().expect("a recorded server");
    let settings_before = setup.settings_bytes();

    // The archive now trickles in at 16 KiB per 20 ms (about 0.8 MB/s).
    setup.fake.publish("v6.1.0", Stand::Engine, Sums::Correct);
    setup.fake.slow_down("v6.1.0", Duration::from_millis(20));
    let mut child = setup
        .command(&["update", "--yes"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cpa-tray update");

    // Wait until the download has started writing into versions/.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut exited_early = false;
    while temporary_entries(&setup).is_empty() && Instant::now() < deadline {
        if child.try_wait().expect("poll cpa-tray").is_some() {
            exited_early = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let downloading = !temporary_entries(&setup).is_empty();
    // An exited child is already reaped, so its pid may belong to another
    // process by now: signal only a child that still runs.
    let sent = if exited_early {
        Ok(std::process::ExitStatus::default())
    } else {
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
    };
    if !downloading || sent.is_err() {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(
        !exited_early,
        "update finished before it could be interrupted"
    );
    assert!(
        downloading,
        "the download never started writing into versions/"
    );
    let Ok(sent) = sent else {
        let _: Option<()> = cpa_testkit::missing_tool("kill (to send SIGINT)");
        return;
    };
    assert!(sent.success(), "kill -INT failed");
    let output = child.wait_with_output().expect("wait for cpa-tray");

    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("Cancelling the download"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("Update cancelled"),
        "{}",
        stderr(&output)
    );
    assert!(
        !stdout(&output).contains("Installed CLIProxyAPI v6.1.0"),
        "{}",
        stdout(&output)
    );
    assert!(
        temporary_entries(&setup).is_empty(),
        "{:?}",
        setup.installed_tags()
    );
    assert_eq!(setup.installed_tags(), ["v6.0.0"]);
    assert_eq!(setup.settings_bytes(), settings_before);
    assert_eq!(setup.home.recorded_pid(), Some(pid));
    assert_eq!(setup.running_version().as_deref(), Some("v6.0.0"));
}

// ---------------------------------------------------------------------------
// SOCKS5 proxies from config.yaml and the environment

#[test]
fn socks_proxy_from_config_and_environment() {
    if skip("socks_proxy_from_config_and_environment") {
        return;
    }
    let password = "cfg-proxy-pass-93";
    let setup = Setup::new();
    setup.fake.publish("v6.9.1", Stand::Engine, Sums::Correct);
    let fake_addr: std::net::SocketAddr = setup
        .fake
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("fake GitHub address");
    let proxy = socks::Socks5Proxy::start(fake_addr, Some(("tray", password)));
    let config = setup.home.config();
    let plain_config = std::fs::read_to_string(&config).expect("read config.yaml");
    let with_proxy = |user_password: &str| {
        format!(
            "{plain_config}proxy-url: \"socks5h://tray:{user_password}@{}\"\n",
            proxy.addr()
        )
    };

    // config.yaml's proxy-url: the API host does not resolve, so only the
    // proxy (socks5h resolves names itself) can reach it.
    std::fs::write(&config, with_proxy(password)).expect("write config.yaml");
    let mut command = setup.command(&["update", "--yes"]);
    command.env("CPA_TRAY_RELEASES_API", "http://releases.invalid");
    let output = common::run(&mut command, "");
    assert_success(&output);
    assert_eq!(setup.installed_tags(), ["v6.9.1"]);
    assert_eq!(proxy.targets()[0], "releases.invalid:80");
    let archive_len = releases_fake::archive(Stand::Engine).len() as u64;
    assert!(proxy.relayed() > archive_len, "relayed {}", proxy.relayed());

    // A wrong password fails without showing either password.
    std::fs::write(&config, with_proxy("wrong-pass-17")).expect("write config.yaml");
    let mut command = setup.command(&["update", "--check"]);
    command.env("CPA_TRAY_RELEASES_API", "http://releases.invalid");
    let output = common::run(&mut command, "");
    assert!(!output.status.success());
    let shown = format!("{}{}", stdout(&output), stderr(&output));
    assert!(shown.contains("error:"), "{shown}");
    assert!(!shown.contains("wrong-pass-17"), "{shown}");
    assert!(!shown.contains(password), "{shown}");
    assert_eq!(proxy.rejected_logins(), 1);

    // ALL_PROXY, with no proxy-url in config.yaml.
    std::fs::write(&config, &plain_config).expect("write config.yaml");
    let before = proxy.targets().len();
    let mut command = setup.command(&["update", "--check"]);
    command
        .env("CPA_TRAY_RELEASES_API", "http://releases.invalid")
        .env(
            "ALL_PROXY",
            format!("socks5h://tray:{password}@{}", proxy.addr()),
        );
    let output = common::run(&mut command, "");
    assert_success(&output);
    assert!(
        stdout(&output).contains("Already latest: v6.9.1"),
        "{}",
        stdout(&output)
    );
    assert_eq!(proxy.targets().len(), before + 1);
}

// ---------------------------------------------------------------------------
// Failed updates leave the running version alone

#[test]
fn failed_updates_keep_running_version() {
    use releases_fake::{Fault, LATEST_PATH};

    if skip("failed_updates_keep_running_version") {
        return;
    }
    let setup = Setup::new();
    setup.fake.publish("v6.0.0", Stand::Engine, Sums::Correct);
    assert_success(&setup.run(&["update", "--yes"]));
    assert_success(&setup.run(&["start", "--no-open"]));
    let pid = setup.home.recorded_pid().expect("a recorded server");
    let settings_before = setup.settings_bytes();
    setup.fake.publish("v6.1.0", Stand::Engine, Sums::Correct);
    let asset_path = format!("/download/v6.1.0/{}", asset_name("v6.1.0"));
    let archive = releases_fake::archive(Stand::Engine);

    let rate_limited = Fault {
        headers: vec![
            ("X-RateLimit-Remaining".into(), "0".into()),
            ("X-RateLimit-Reset".into(), "1767225600".into()),
        ],
        ..Fault::status(403, r#"{"message":"API rate limit exceeded"}"#)
    };
    let truncated = Fault {
        body: archive[..archive.len() / 2].to_vec(),
        claimed_len: Some(archive.len()),
        ..Fault::status(200, "")
    };
    let cases = [
        (
            "API rate limit",
            LATEST_PATH.to_string(),
            rate_limited,
            "rate limit",
        ),
        (
            "API 404",
            LATEST_PATH.to_string(),
            Fault::status(404, r#"{"message":"Not Found"}"#),
            "Not found",
        ),
        (
            "asset 404",
            asset_path.clone(),
            Fault::status(404, "gone"),
            "Not found",
        ),
        (
            "HTML page",
            asset_path.clone(),
            Fault::status(200, "<html><body>Please log in</body></html>"),
            "zip/tar.gz",
        ),
        (
            "truncated",
            asset_path.clone(),
            truncated,
            "run `cpa-tray update` again",
        ),
    ];
    for (case, path, fault, expected) in cases {
        setup.fake.inject(&path, fault);
        let output = setup.run(&["update", "--yes"]);
        setup.fake.clear_faults();

        let err = stderr(&output);
        assert!(!output.status.success(), "{case}: {}", stdout(&output));
        assert!(err.contains("error:"), "{case}: {err}");
        assert!(err.contains(expected), "{case}: {err}");
        assert_eq!(setup.installed_tags(), ["v6.0.0"], "{case}");
        assert_eq!(setup.settings_bytes(), settings_before, "{case}");
        assert_eq!(setup.home.recorded_pid(), Some(pid), "{case}");
        assert_eq!(setup.running_version().as_deref(), Some("v6.0.0"), "{case}");
    }
}

#[test]
fn interrupted_install_says_download_cancelled() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    if skip("interrupted_install_says_download_cancelled") {
        return;
    }
    let setup = Setup::new();
    setup.fake.publish("v6.1.0", Stand::Engine, Sums::Correct);
    setup.fake.slow_down("v6.1.0", Duration::from_millis(20));
    let mut child = setup
        .command(&["install", "--yes"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cpa-tray install");
    let deadline = Instant::now() + Duration::from_secs(30);
    while temporary_entries(&setup).is_empty() && Instant::now() < deadline {
        if child.try_wait().expect("poll cpa-tray").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    if temporary_entries(&setup).is_empty() {
        let _ = child.kill();
        let output = child.wait_with_output().expect("wait for cpa-tray");
        panic!("the download never started: {}", stderr(&output));
    }
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let output = child.wait_with_output().expect("wait for cpa-tray");
    let Ok(sent) = sent else {
        let _: Option<()> = cpa_testkit::missing_tool("kill (to send SIGINT)");
        return;
    };
    assert!(sent.success());
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("Download cancelled"),
        "{}",
        stderr(&output)
    );
    assert!(!stderr(&output).contains("Update cancelled"));
    assert!(setup.installed_tags().is_empty());
}

#[test]
fn release_errors_are_chinese_under_zh_cn() {
    let setup = Setup::new();
    let output = common::run(
        setup
            .command(&["--lang", "zh-CN", "update", "--check"])
            .env("CPA_TRAY_RELEASES_API", "http://127.0.0.1:1"),
        "",
    );
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("请求 http://127.0.0.1:1"), "{err}");
    assert!(err.contains("请检查网络和代理设置"), "{err}");
    assert!(!err.contains("Failed to request"), "{err}");
    assert!(!err.contains("check the network"), "{err}");
}

#[test]
fn install_from_a_local_file_gives_local_hints() {
    if skip("install_from_a_local_file_gives_local_hints") {
        return;
    }
    let setup = Setup::new();
    let dir = tempfile::tempdir().unwrap();
    let name = asset_name("v1.0.1");

    // A missing file is named first, not as a missing checksums.txt.
    let missing = dir.path().join(&name);
    let output = setup.run(&["install", "--from", missing.to_str().unwrap()]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("Failed to open"), "{err}");
    assert!(err.contains(&name), "{err}");
    assert!(err.contains("check the path"), "{err}");
    assert!(!err.contains("checksum"), "{err}");

    // A web page saved under the archive's name: no proxy or captive portal advice.
    std::fs::write(&missing, "<!doctype html><html>sign in</html>").unwrap();
    let output = setup.run(&[
        "install",
        "--from",
        missing.to_str().unwrap(),
        "--allow-unverified",
    ]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("not a complete CLIProxyAPI release archive"),
        "{err}"
    );
    assert!(!err.contains("captive portal"), "{err}");

    // Without checksums.txt beside it: say where to put one.
    let output = setup.run(&["install", "--from", missing.to_str().unwrap()]);
    let err = stderr(&output);
    assert!(
        err.contains("put the release's checksums.txt beside the archive"),
        "{err}"
    );
    assert!(!err.contains("retry in a few minutes"), "{err}");
    assert!(setup.installed_tags().is_empty());
}

#[test]
fn release_errors_hide_credentials_and_name_a_refused_token() {
    let setup = Setup::new();
    let output = common::run(
        setup
            .command(&["update", "--check"])
            .env("CPA_TRAY_RELEASES_API", "http://user:pw-SECRET@127.0.0.1:1"),
        "",
    );
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("Failed to request"), "{err}");
    assert!(!err.contains("pw-SECRET"), "{err}");

    // An API that answers 401: with a token set, the hint names the token.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0u8; 4096];
        let _ = stream.read(&mut request);
        let body = r#"{"message":"Bad credentials"}"#;
        let _ = write!(
            stream,
            "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    });
    let output = common::run(
        setup
            .command(&["update", "--check"])
            .env("CPA_TRAY_RELEASES_API", &base)
            .env("GITHUB_TOKEN", "ghp_not_a_real_token"),
        "",
    );
    server.join().unwrap();
    let err = stderr(&output);
    assert!(!output.status.success());
    assert!(err.contains("HTTP 401"), "{err}");
    assert!(
        err.contains("GitHub refused the token in GITHUB_TOKEN"),
        "{err}"
    );
    assert!(!err.contains("ghp_not_a_real_token"), "{err}");
}

/// Returns the permission bits of `path` (the last nine bits of its mode).
#[cfg(unix)]
fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
#[test]
fn install_on_fresh_home_is_private() {
    if common::skip_under_runner(
        "install_on_fresh_home_is_private",
        "a Windows build sets no Unix modes",
    ) {
        return;
    }
    let setup = Setup::new();
    setup.fake.publish("v6.0.0", Stand::Engine, Sums::Correct);
    let data = tempfile::tempdir().unwrap();
    let home = setup.home.path().join("fresh/home");
    let mut command = cpa_testkit::binary_command("cpa-tray", env!("CARGO_BIN_EXE_cpa-tray"));
    command
        .arg("--home")
        .arg(&home)
        .args(["install", "--yes"])
        .env("CPA_TRAY_RELEASES_API", &setup.fake.base)
        .env("XDG_DATA_HOME", data.path())
        .env("LANG", "C.UTF-8")
        .env_remove("CPA_TRAY_HOME")
        .env_remove("CPA_TRAY_LANG")
        .env_remove("GITHUB_TOKEN")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy");
    assert_success(&common::run(&mut command, ""));

    assert_eq!(
        mode_of(&setup.home.path().join("fresh")),
        0o700,
        "parent of the home"
    );
    assert_eq!(mode_of(&home), 0o700, "home");
    assert_eq!(mode_of(&home.join("versions")), 0o700, "versions/");
    assert_eq!(
        mode_of(&home.join("versions/v6.0.0")),
        0o700,
        "versions/v6.0.0"
    );
    assert_eq!(mode_of(&home.join("settings.json")), 0o600, "settings.json");
}

#[test]
fn unknown_language_setting_warns() {
    let setup = Setup::new();
    let settings = setup.home.path().join("settings.json");
    std::fs::write(&settings, r#"{"language":"de"}"#).unwrap();
    let output = setup.run(&["versions", "list"]);
    assert_success(&output);
    let err = stderr(&output);
    assert!(err.contains("Ignoring `language`"), "{err}");
    assert!(err.contains(&common::shown(&settings)), "{err}");
    assert!(err.contains("\"de\""), "{err}");
    assert!(err.contains("en, zh-CN"), "{err}");
}

/// Runs `command` and returns its stderr, after checking that it failed.
fn failed_stderr(command: &mut Command) -> String {
    let output = common::run(command, "");
    assert!(!output.status.success(), "{}", stdout(&output));
    stderr(&output)
}

#[test]
fn release_error_hints_name_the_next_step() {
    use releases_fake::{Fault, LATEST_PATH};

    if skip("release_error_hints_name_the_next_step") {
        return;
    }
    let setup = Setup::new();
    setup.fake.publish("v6.0.0", Stand::Engine, Sums::Correct);

    // No asset for this OS/arch: the hint names other ways to get a server.
    let other_platform = serde_json::json!({
        "tag_name": "v6.0.0",
        "assets": [{
            "name": "CLIProxyAPI_6.0.0_plan9_amd64.tar.gz",
            "size": 10,
            "browser_download_url": format!("{}/download/v6.0.0/plan9", setup.fake.base),
        }],
    });
    setup
        .fake
        .inject(LATEST_PATH, Fault::status(200, &other_platform.to_string()));
    let err = failed_stderr(&mut setup.command(&["install", "--yes"]));
    assert!(err.contains("No asset for v6.0.0"), "{err}");
    assert!(err.contains("cpa-tray install --from FILE"), "{err}");
    assert!(err.contains("--engine builtin"), "{err}");
    setup.fake.clear_faults();

    // A truncated download during `install` names `install`, not the update.
    let archive = releases_fake::archive(Stand::Engine);
    let asset_path = format!("/download/v6.0.0/{}", asset_name("v6.0.0"));
    let truncated = Fault {
        body: archive[..archive.len() / 2].to_vec(),
        claimed_len: Some(archive.len()),
        ..Fault::status(200, "")
    };
    setup.fake.inject(&asset_path, truncated.clone());
    let err = failed_stderr(&mut setup.command(&["install", "--yes"]));
    assert!(err.contains("run `cpa-tray install` again"), "{err}");
    assert!(!err.contains("update"), "{err}");
    setup.fake.inject(&asset_path, truncated);
    let err = failed_stderr(&mut setup.command(&["update", "--yes"]));
    assert!(err.contains("run `cpa-tray update` again"), "{err}");
    setup.fake.clear_faults();

    // A release listing over the 8 MiB limit is named as such, with a hint.
    let huge = format!("{{\"padding\":\"{}\"}}", "x".repeat(9 * 1024 * 1024));
    setup.fake.inject(LATEST_PATH, Fault::status(200, &huge));
    let err = failed_stderr(&mut setup.command(&["update", "--check"]));
    assert!(err.contains("is larger than 8388608 bytes"), "{err}");
    assert!(!err.contains("HTTP 200"), "{err}");
    assert!(err.contains("hint:"), "{err}");
    assert!(err.contains("CPA_TRAY_RELEASES_API"), "{err}");
    setup.fake.clear_faults();

    // An invalid CPA_TRAY_RELEASES_API is named, with how to fix it.
    let err = failed_stderr(
        setup
            .command(&["update", "--check"])
            .env("CPA_TRAY_RELEASES_API", "ftp://x"),
    );
    assert!(
        err.contains("\"ftp://x\" in CPA_TRAY_RELEASES_API"),
        "{err}"
    );
    assert!(
        err.contains("set CPA_TRAY_RELEASES_API to an http:// or https:// URL"),
        "{err}"
    );

    // A 404 on checksums.txt points at --allow-unverified, which then works.
    setup
        .fake
        .inject("/download/v6.0.0/checksums.txt", Fault::status(404, "gone"));
    let err = failed_stderr(&mut setup.command(&["install", "--yes"]));
    assert!(err.contains("checksums.txt"), "{err}");
    assert!(err.contains("HTTP 404"), "{err}");
    assert!(err.contains("--allow-unverified"), "{err}");
    let err = failed_stderr(&mut setup.command(&["update", "--yes"]));
    assert!(err.contains("cpa-tray install --allow-unverified"), "{err}");
    assert!(setup.installed_tags().is_empty());
    let output = setup.run(&["install", "--yes", "--allow-unverified"]);
    assert_success(&output);
    assert_eq!(setup.installed_tags(), ["v6.0.0"]);
}

#[test]
fn release_error_details_are_chinese_under_zh_cn() {
    use releases_fake::{Fault, LATEST_PATH};

    let setup = Setup::new();
    let err = failed_stderr(
        setup
            .command(&["--lang", "zh-CN", "update", "--check"])
            .env("CPA_TRAY_RELEASES_API", "ftp://x"),
    );
    assert!(
        err.contains("CPA_TRAY_RELEASES_API 中无效的 URL \"ftp://x\""),
        "{err}"
    );
    assert!(err.contains("需要 http:// 或 https:// URL"), "{err}");
    assert!(err.contains("请把 CPA_TRAY_RELEASES_API 设为"), "{err}");
    assert!(!err.contains("expected"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cli-proxy-api.txt");
    std::fs::write(&file, "not an archive").unwrap();
    let err = failed_stderr(&mut setup.command(&[
        "--lang",
        "zh-CN",
        "install",
        "--from",
        file.to_str().unwrap(),
    ]));
    assert!(err.contains("需要 .zip 或 .tar.gz 发布压缩包"), "{err}");
    assert!(!err.contains("expected"), "{err}");

    setup.fake.publish("v6.0.0", Stand::Engine, Sums::Correct);
    let huge = format!("{{\"padding\":\"{}\"}}", "x".repeat(9 * 1024 * 1024));
    setup.fake.inject(LATEST_PATH, Fault::status(200, &huge));
    let err = failed_stderr(&mut setup.command(&["--lang", "zh-CN", "update", "--check"]));
    assert!(err.contains("的响应超过 8388608 字节"), "{err}");
    assert!(err.contains("请检查发布 API 地址"), "{err}");
}

/// `--engine PATH` runs that binary for this start and its restarts, and,
/// unlike `builtin` and `official`, is not stored as the `engine` setting.
#[test]
fn engine_path_flag_is_not_stored() {
    if skip("engine_path_flag_is_not_stored") {
        return;
    }
    let setup = Setup::new();
    let program = releases_fake::workspace_binary("cpa-engine");
    let program_arg = program.to_str().expect("UTF-8 path");
    assert_success(&setup.run(&["start", "--engine", program_arg, "--no-open"]));
    assert!(
        setup.settings().get("engine").is_none(),
        "{}",
        setup.settings()
    );

    let status_json = || {
        let output = setup.run(&["status", "--json"]);
        serde_json::from_slice::<serde_json::Value>(&output.stdout).expect("status JSON")
    };
    assert_eq!(status_json()["engineChoice"], "path");
    let old_pid = setup.home.recorded_pid().expect("a recorded server");

    assert_success(&setup.run(&["restart"]));
    let status = status_json();
    assert_eq!(status["state"], "running", "{status}");
    assert_eq!(status["engineChoice"], "path", "{status}");
    assert_ne!(setup.home.recorded_pid(), Some(old_pid));
    assert!(setup.settings().get("engine").is_none());
    assert_success(&setup.run(&["stop"]));
}
