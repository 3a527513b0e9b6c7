//! Hot reload of config.yaml: in-place writes and rename-over are both seen,
//! the management key follows the file, and routes come and go with it
//! (upstream CLIProxyAPI v7.2.140 reloads in place after a 150 ms debounce).

mod common;

use std::time::Duration;

use common::*;

const OLD_KEY: &str = "old-key-1234";
const NEW_KEY: &str = "new-key-5678";
const RELOADED: &str = "configuration reloaded";
const WAIT: Duration = Duration::from_secs(10);

fn reloads(server: &Server) -> usize {
    server.stdout().matches(RELOADED).count()
}

/// Applies `change` and waits until the engine logs one more reload.
fn change_and_wait(server: &Server, change: impl FnOnce()) {
    let before = reloads(server);
    change();
    assert!(
        server.eventually(WAIT, |s| reloads(s) > before),
        "no reload logged:\n{}",
        server.stdout()
    );
}

fn status_with(server: &Server, key: &str) -> u16 {
    server
        .get("/v0/management/config", &[("Authorization", &bearer(key))])
        .status
}

#[test]
fn in_place_write_switches_the_key() {
    let server = Server::start(&legacy_config(&fast_hash(OLD_KEY), ""));
    assert_eq!(status_with(&server, OLD_KEY), 200);
    change_and_wait(&server, || {
        write_in_place(&server.config, &legacy_config(&fast_hash(NEW_KEY), ""));
    });
    assert_eq!(status_with(&server, NEW_KEY), 200);
    assert_eq!(status_with(&server, OLD_KEY), 401);
}

#[test]
fn rename_over_switches_the_key() {
    // Upstream v7 watches the file itself and misses this; v8 and the engine
    // watch the directory.
    let server = Server::start(&legacy_config(&fast_hash(OLD_KEY), ""));
    assert_eq!(status_with(&server, OLD_KEY), 200);
    change_and_wait(&server, || {
        write_by_rename(&server.config, &legacy_config(&fast_hash(NEW_KEY), ""));
    });
    assert_eq!(status_with(&server, NEW_KEY), 200);
    // A second rename-over is seen too (the watch survives the first).
    change_and_wait(&server, || {
        write_by_rename(&server.config, &legacy_config(&fast_hash(OLD_KEY), ""));
    });
    assert_eq!(status_with(&server, OLD_KEY), 200);
}

#[test]
fn removing_the_key_gives_404_and_readding_restores() {
    let server = Server::start(&legacy_config(&fast_hash(OLD_KEY), ""));
    assert_eq!(status_with(&server, OLD_KEY), 200);

    change_and_wait(&server, || {
        write_in_place(&server.config, &legacy_config("", ""))
    });
    let gone = server.get(
        "/v0/management/config",
        &[("Authorization", &bearer(OLD_KEY))],
    );
    assert_eq!(gone.status, 404);
    assert!(gone.body.is_empty());
    assert_eq!(gone.header("x-cpa-version"), None);
    assert_eq!(server.get("/v8/management/config", &[]).status, 404);
    assert!(
        server
            .stdout()
            .contains("management routes disabled after secret key removal")
    );

    change_and_wait(&server, || {
        write_in_place(&server.config, &legacy_config(&fast_hash(NEW_KEY), ""));
    });
    assert_eq!(status_with(&server, NEW_KEY), 200);
    assert!(
        server
            .stdout()
            .contains("management routes enabled after secret key update")
    );
}

#[test]
fn key_added_to_keyless_server_enables_routes() {
    let server = Server::start(&legacy_config("", ""));
    assert_eq!(server.get("/v0/management/config", &[]).status, 404);
    change_and_wait(&server, || {
        write_in_place(&server.config, &legacy_config(&fast_hash(NEW_KEY), ""));
    });
    assert_eq!(status_with(&server, NEW_KEY), 200);
}

#[test]
fn plaintext_key_at_reload_is_hashed_on_disk() {
    // Upstream hashes a plaintext key on every load, reloads included.
    let server = Server::start(&legacy_config(&fast_hash(OLD_KEY), ""));
    change_and_wait(&server, || {
        write_in_place(&server.config, &legacy_config(NEW_KEY, ""))
    });
    let text = wait_for_file(&server.config, WAIT, "$2a$10$");
    assert!(text.contains("secret-key: \"$2a$10$"), "{text}");
    assert!(!text.contains(NEW_KEY), "{text}");
    assert_eq!(status_with(&server, NEW_KEY), 200);
    assert!(
        !server.stdout().contains(NEW_KEY),
        "the key never reaches the log"
    );
}

#[test]
fn unchanged_content_is_not_reloaded() {
    let text = legacy_config(&fast_hash(OLD_KEY), "");
    let server = Server::start(&text);
    // A change elsewhere in the folder is ignored, and rewriting the same
    // bytes is skipped by the content hash.
    std::fs::write(server.dir.path().join("other.yaml"), "x: 1\n").unwrap();
    write_in_place(&server.config, &text);
    std::thread::sleep(Duration::from_millis(600));
    assert!(
        !server.stdout().contains("config file changed"),
        "{}",
        server.stdout()
    );
    // A real change afterwards still reloads.
    change_and_wait(&server, || {
        write_in_place(&server.config, &format!("{text}debug: true\n"))
    });
}

#[test]
fn invalid_edit_keeps_the_old_settings() {
    let server = Server::start(&legacy_config(&fast_hash(OLD_KEY), ""));
    write_in_place(&server.config, "port: [\n");
    assert!(
        server.eventually(WAIT, |s| s.stdout().contains("failed to reload config")),
        "{}",
        server.stdout()
    );
    assert_eq!(status_with(&server, OLD_KEY), 200);
}

#[test]
fn allow_remote_and_api_keys_reload_live() {
    let config = legacy_config(&fast_hash(OLD_KEY), "trusted-proxies:\n  - 127.0.0.1\n");
    let server = Server::start(&config);
    let remote = |s: &Server| {
        s.get(
            "/v0/management/config",
            &[
                ("X-Forwarded-For", "203.0.113.40"),
                ("Authorization", &bearer(OLD_KEY)),
            ],
        )
        .status
    };
    assert_eq!(remote(&server), 403);
    assert_eq!(server.get("/v1/models", &[]).status, 501);
    change_and_wait(&server, || {
        let changed = config.replace("allow-remote: false", "allow-remote: true");
        write_in_place(
            &server.config,
            &format!("{changed}api-keys:\n  - live-client-key\n"),
        );
    });
    assert_eq!(remote(&server), 200);
    assert_eq!(server.get("/v1/models", &[]).status, 401);
    assert_eq!(
        server
            .get("/v1/models", &[("Authorization", "Bearer live-client-key")])
            .status,
        501
    );
}

/// Unmounts a bind mount when dropped.
#[cfg(target_os = "linux")]
struct BindMount(std::path::PathBuf);

#[cfg(target_os = "linux")]
impl Drop for BindMount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[cfg(target_os = "linux")]
#[test]
fn host_edit_of_bind_mounted_file_reloads() {
    if std::env::var_os("CPA_TEST_RUNNER").is_some_and(|runner| !runner.is_empty()) {
        println!(
            "SKIPPED under CPA_TEST_RUNNER: host_edit_of_bind_mounted_file_reloads: \
             single-file bind mounts are a Linux container setup, and Windows file \
             watching is directory-based"
        );
        return;
    }
    // Docker mounts a single config file this way; edits made through the
    // host path never pass through the container's directory.
    let host = tempfile::tempdir().unwrap();
    let host_file = host.path().join("config.yaml");
    std::fs::write(&host_file, legacy_config(&fast_hash(OLD_KEY), "")).unwrap();
    let container = tempfile::tempdir().unwrap();
    let mounted = container.path().join("config.yaml");
    std::fs::write(&mounted, "").unwrap();
    let status = std::process::Command::new("mount")
        .arg("--bind")
        .arg(&host_file)
        .arg(&mounted)
        .stderr(std::process::Stdio::null())
        .status();
    if !status.is_ok_and(|status| status.success()) {
        eprintln!("SKIPPED host_edit_of_bind_mounted_file_reloads: bind mounts need root");
        return;
    }
    let _mount = BindMount(mounted.clone());

    // The container folder outlives the engine and the mount (drop order).
    let server = Server::start_at(tempfile::tempdir().unwrap(), mounted, Launch::default());
    assert_eq!(status_with(&server, OLD_KEY), 200);
    change_and_wait(&server, || {
        write_in_place(&host_file, &legacy_config(&fast_hash(NEW_KEY), ""));
    });
    assert_eq!(status_with(&server, NEW_KEY), 200);
}
