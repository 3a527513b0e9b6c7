//! Start at Login through the harness, as the menu item turns it on and off:
//! the XDG autostart entry on Linux, and the `Run` value in the registry when
//! `.ci/windows.sh` runs this against the Windows build under Wine.

const HARNESS: &str = env!("CARGO_BIN_EXE_cpa-gui-harness");

fn under_windows_runner() -> bool {
    std::env::var_os("CPA_TEST_RUNNER").is_some_and(|runner| !runner.is_empty())
}

fn harness(xdg: &std::path::Path, args: &[&str]) -> String {
    let output = cpa_testkit::binary_command("cpa-gui-harness", HARNESS)
        .arg("autostart")
        .args(args)
        .env("XDG_CONFIG_HOME", xdg)
        .output()
        .expect("run the harness");
    assert!(output.status.success(), "autostart {args:?}: {output:?}");
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

#[test]
fn start_at_login_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let xdg = dir.path();
    // A run that failed half-way may have left it on.
    harness(xdg, &["disable"]);
    assert_eq!(harness(xdg, &["show"]), "");

    harness(
        xdg,
        &[
            "enable",
            r"C:\Program Files [x64]\cpa-trayw.exe",
            "--home",
            r"C:\Users\Zoë\cpa data\",
        ],
    );
    let stored = harness(xdg, &["show"]);

    if under_windows_runner() {
        assert_eq!(
            stored,
            r#""C:\Program Files [x64]\cpa-trayw.exe" --home "C:\Users\Zoë\cpa data\\""#
        );
    } else {
        assert!(
            xdg.join("autostart/cpa-tray.desktop").is_file(),
            "no entry in {}",
            xdg.display()
        );
        assert!(
            stored.contains(
                r#"Exec="C:\\Program Files [x64]\\cpa-trayw.exe" "--home" "C:\\Users\\Zoë\\cpa data\\""#
            ),
            "{stored}"
        );
    }

    harness(xdg, &["disable"]);
    assert_eq!(harness(xdg, &["show"]), "");
    // Turning it off twice is not an error.
    harness(xdg, &["disable"]);
}
