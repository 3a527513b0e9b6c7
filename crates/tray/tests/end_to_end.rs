//! The main job end to end on upstream's own example config: set the password
//! with `start --password-stdin`, check management auth, empty the key,
//! restart, see management disappear, stop, and find no process left.

mod common;

use std::time::Duration;

use common::{
    TrayHome, alive, assert_stopped, assert_success, get_status, skip_under_runner, stdout,
    under_runner,
};
use cpa_core::home::Home;
use cpa_core::supervisor::{self, Engine, EngineKind, ServerAddress, StartOptions};

const PASSWORD: &str = "e2e-Password-1";

/// Management routes of upstream CLIProxyAPI (plus one it does not have).
const MANAGEMENT_ROUTES: &[&str] = &[
    "/v0/management/config",
    "/v0/management/config.yaml",
    "/v0/management/latest-version",
    "/v0/management/api-keys",
    "/v0/management/debug",
    "/v0/management/logging-to-file",
    "/v0/management/logs",
    "/v0/management/oauth-callback",
    "/v0/management/does-not-exist",
];

#[test]
fn start_on_upstream_example_end_to_end() {
    let home = TrayHome::new();
    let port = cpa_testkit::free_port();
    let fixture = cpa_testkit::fixture_configs_dir().join("01-upstream-example-head.yaml");
    let original = std::fs::read_to_string(&fixture).expect("read the upstream example");
    assert!(original.contains("\nport: 8317\n") && original.contains("\nhost: \"\"\n"));
    // Listen on a free port, and on loopback only instead of every interface.
    let text = original
        .replace("\nport: 8317\n", &format!("\nport: {port}\n"))
        .replace("\nhost: \"\"\n", "\nhost: \"127.0.0.1\"\n");
    std::fs::write(home.config(), &text).unwrap();

    // Start: the key is empty, so the password is read from stdin and stored.
    let output = home.run(
        &["start", "--password-stdin", "--no-open"],
        &format!("{PASSWORD}\n"),
    );
    assert_success(&output);
    let printed = stdout(&output);
    assert!(
        printed.contains(&format!("http://127.0.0.1:{port}/management.html")),
        "{printed}"
    );
    assert!(
        printed.contains(&format!("http://127.0.0.1:{port}/v0/management")),
        "{printed}"
    );
    let pid = home.recorded_pid().expect("pid file written");
    if !under_runner() {
        assert!(alive(pid));
    }

    // Only the key's value changed, and it is a bcrypt hash, not the password.
    let written = std::fs::read_to_string(home.config()).unwrap();
    assert!(!written.contains(PASSWORD), "plaintext password on disk");
    let view = cpa_config::load(&home.config()).unwrap().view().unwrap();
    assert!(view.secret().starts_with("$2a$10$"), "{}", view.secret());
    assert!(cpa_config::secret::verify_password(PASSWORD, view.secret()));
    assert_eq!(
        written.replace(view.secret(), ""),
        text,
        "bytes other than the key changed"
    );
    if let Some(oracle) = cpa_testkit::oracle() {
        assert!(
            cpa_testkit::oracle_verify(&oracle, &home.config(), PASSWORD),
            "the Go oracle rejects the stored key"
        );
    }

    // Management auth: the password works, no key and a wrong key do not.
    let bearer = format!("Bearer {PASSWORD}");
    let config_route = "/v0/management/config";
    assert_eq!(
        get_status(port, config_route, &[("Authorization", &bearer)]),
        200
    );
    assert_eq!(get_status(port, config_route, &[]), 401);
    assert_eq!(
        get_status(
            port,
            config_route,
            &[("Authorization", "Bearer wrong-password")]
        ),
        401
    );

    // Empty the key and restart the engine the way the tray does, but without
    // the password prompt that `cpa-tray start` would show for an empty key.
    cpa_config::update(&home.config(), |doc| doc.with_secret_key("")).unwrap();
    let stopped = home.run(&["stop"], "");
    assert_success(&stopped);
    assert_stopped(&home, pid);
    if skip_under_runner(
        "start_on_upstream_example_end_to_end (restart with an empty key)",
        "the restart goes through the supervisor library with the Linux binary",
    ) {
        return;
    }
    let tray_home = Home::at(home.path()).unwrap();
    let engine = Engine {
        program: env!("CARGO_BIN_EXE_cpa-tray").into(),
        leading_args: vec!["engine".into()],
        kind: EngineKind::Builtin,
        version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let address = ServerAddress {
        host: "127.0.0.1".to_string(),
        port,
        tls: false,
    };
    let restarted =
        supervisor::start(&tray_home, &engine, &address, &StartOptions::default()).unwrap();
    assert!(
        restarted.ready_after.is_some(),
        "restarted engine not ready"
    );
    let new_pid = restarted.record.pid;
    drop(restarted);

    for route in MANAGEMENT_ROUTES {
        assert_eq!(get_status(port, route, &[]), 404, "{route} without a key");
        assert_eq!(
            get_status(port, route, &[("Authorization", &bearer)]),
            404,
            "{route} with the old key"
        );
    }

    // `cpa-tray stop` stops the restarted engine; nothing is left running.
    let output = home.run(&["stop"], "");
    assert_success(&output);
    assert!(
        stdout(&output).contains(&format!("pid {new_pid}")),
        "{}",
        stdout(&output)
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while alive(new_pid) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!alive(new_pid), "engine still running after stop");
    assert!(home.recorded_pid().is_none(), "pid file left behind");
}
