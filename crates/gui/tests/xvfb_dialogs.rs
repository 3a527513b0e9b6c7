//! The password dialog as a real window under Xvfb: xdotool types into it,
//! ImageMagick's `import` saves screenshots to `target/gui-screenshots/`,
//! and the written key must verify with the typed password.
//!
//! Needs the Debian packages xvfb, xdotool, imagemagick, libgl1-mesa-dri,
//! libglx-mesa0, libxkbcommon-x11-0 and fonts-wqy-microhei (for Chinese).

#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const HARNESS: &str = env!("CARGO_BIN_EXE_cpa-gui-harness");

/// A private X server, ended on drop.
struct Xvfb {
    server: Child,
    display: String,
}

impl Xvfb {
    fn start() -> Option<Xvfb> {
        for tool in ["Xvfb", "xdotool", "import"] {
            let found = Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|status| status.success());
            if !found {
                return cpa_testkit::missing_tool(&format!(
                    "{tool} (Debian packages xvfb, xdotool, imagemagick)"
                ));
            }
        }
        // Xvfb picks a free display itself and prints its number on the
        // -displayfd descriptor (here its stdout). -noreset: by default the
        // server resets when its last client disconnects, and a dialog
        // connecting during the reset fails.
        let mut server = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", "800x600x24"])
            .args(["-nolisten", "tcp", "-noreset"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        let mut line = String::new();
        BufReader::new(server.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("read the display number from Xvfb");
        let display = format!(":{}", line.trim());
        Some(Xvfb { server, display })
    }

    fn tool(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env("DISPLAY", &self.display);
        command
    }

    fn xdotool(&self, args: &[&str]) -> String {
        let output = self
            .tool("xdotool")
            .args(args)
            .output()
            .expect("run xdotool");
        assert!(
            output.status.success(),
            "xdotool {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

fn wait_for<T>(timeout: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn screenshot_dir() -> PathBuf {
    let dir = cpa_testkit::target_dir().join("gui-screenshots");
    std::fs::create_dir_all(&dir).expect("create the screenshot folder");
    dir
}

/// Starts the dialog; its stderr goes to `<config>.err` for failure messages.
fn open_dialog(x: &Xvfb, mode: &str, lang: &str, config: &Path) -> Child {
    let stderr =
        std::fs::File::create(config.with_extension("err")).expect("create the stderr file");
    x.tool(HARNESS)
        .args(["ui", "password", "--mode", mode, "--lang", lang, "--config"])
        .arg(config)
        .env("LIBGL_ALWAYS_SOFTWARE", "1")
        .env_remove("WAYLAND_DISPLAY")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("start the password dialog")
}

/// Waits for the dialog's window (found by process id, because xdotool
/// matches names against the Latin-1 `WM_NAME`), checks its UTF-8 title and
/// gives it the keyboard focus.
fn focus_window(x: &Xvfb, dialog: &mut Child, title: &str, config: &Path) {
    let pid = dialog.id().to_string();
    let window = wait_for(
        Duration::from_secs(30),
        &format!("window {title:?}"),
        || {
            if let Some(status) = dialog.try_wait().expect("poll the dialog") {
                let stderr =
                    std::fs::read_to_string(config.with_extension("err")).unwrap_or_default();
                panic!(
                    "the {title:?} dialog exited with {status} before its window appeared: {stderr}"
                );
            }
            let output = x
                .tool("xdotool")
                .args(["search", "--onlyvisible", "--pid", &pid])
                .output()
                .ok()?;
            let text = String::from_utf8_lossy(&output.stdout).to_string();
            text.lines().next().map(str::to_string)
        },
    );
    assert_eq!(x.xdotool(&["getwindowname", &window]), title);
    x.xdotool(&["windowfocus", "--sync", &window]);
    // Give the dialog a few frames to take keyboard focus in its first field.
    std::thread::sleep(Duration::from_millis(700));
}

fn wait_exit(child: &mut Child) -> ExitStatus {
    wait_for(Duration::from_secs(20), "the dialog to close", || {
        child.try_wait().expect("poll the dialog")
    })
}

fn secret(config: &Path) -> String {
    let doc = cpa_config::load(config).expect("load config");
    doc.view().expect("config view").secret().to_string()
}

// One test drives every window in turn: the dialogs share one X server, and
// parallel software-rendered windows only slow each other down.
#[test]
fn password_window_under_xvfb() {
    let Some(x) = Xvfb::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let shots = screenshot_dir();
    let cases = [
        ("first-run", "en", "Set Password", "typed-first-en"),
        ("reset", "en", "Reset Password", "typed-reset-en"),
        ("first-run", "zh-CN", "设置密码", "typed-first-zh"),
        ("reset", "zh-CN", "重置密码", "typed-reset-zh"),
    ];
    for (mode, lang, title, password) in cases {
        let config = dir.path().join(format!("{mode}-{lang}.yaml"));
        std::fs::write(&config, "port: 8317\n").unwrap();
        let mut dialog = open_dialog(&x, mode, lang, &config);
        focus_window(&x, &mut dialog, title, &config);

        x.xdotool(&["type", "--delay", "20", password]);
        x.xdotool(&["key", "Tab"]);
        x.xdotool(&["type", "--delay", "20", password]);
        std::thread::sleep(Duration::from_millis(500));
        let shot = shots.join(format!("password-{mode}-{lang}.png"));
        let status = x
            .tool("import")
            .args(["-window", "root"])
            .arg(&shot)
            .status()
            .expect("run import");
        assert!(status.success(), "import failed for {}", shot.display());
        assert!(std::fs::metadata(&shot).unwrap().len() > 1000);

        x.xdotool(&["key", "Return"]);
        let status = wait_exit(&mut dialog);
        assert_eq!(status.code(), Some(0), "{mode} {lang}: dialog exit status");
        assert!(
            cpa_config::secret::verify_password(password, &secret(&config)),
            "{mode} {lang}: the saved key does not verify"
        );
    }
    escape_closes_without_writing(&x, dir.path());
    question_windows(&x, dir.path(), &shots);
}

/// The first-start choice (with and without a binary found on PATH) and the
/// update question: screenshots in both languages. Return picks the first
/// button (status 0), Tab three times and Space the third (4), Escape
/// cancels (1).
fn question_windows(x: &Xvfb, dir: &Path, shots: &Path) {
    let choose = |lang: &str, text: &str, first: &str, second: &str| {
        vec![
            "choose".to_string(),
            "--text".into(),
            text.into(),
            "--first".into(),
            first.into(),
            "--second".into(),
            second.into(),
            "--lang".into(),
            lang.into(),
        ]
    };
    let with_third = |mut args: Vec<String>, third: &str| {
        args.extend(["--third".to_string(), third.to_string()]);
        args
    };
    let cases = [
        (
            "choose-en",
            choose(
                "en",
                "No CLIProxyAPI is installed yet. Which server should the tray start?",
                "Download CLIProxyAPI v6.9.1 (linux/amd64, 12.5 MB)",
                "Use the built-in engine",
            ),
            "Return",
            0,
        ),
        (
            "choose-zh-CN",
            choose(
                "zh-CN",
                "尚未安装 CLIProxyAPI。托盘应启动哪个服务？",
                "下载 CLIProxyAPI v6.9.1（linux/amd64，12.5 MB）",
                "使用内置引擎",
            ),
            "Escape",
            1,
        ),
        (
            "choose-path-en",
            with_third(
                choose(
                    "en",
                    "No CLIProxyAPI is installed yet. Which server should the tray start?",
                    "Download CLIProxyAPI v6.9.1 (linux/amd64, 12.5 MB)",
                    "Use the built-in engine",
                ),
                "Use /usr/local/bin/cli-proxy-api (found on PATH)",
            ),
            "Tab Tab Tab space",
            4,
        ),
        (
            "choose-path-zh-CN",
            with_third(
                choose(
                    "zh-CN",
                    "尚未安装 CLIProxyAPI。托盘应启动哪个服务？",
                    "下载 CLIProxyAPI v6.9.1（linux/amd64，12.5 MB）",
                    "使用内置引擎",
                ),
                "使用 /usr/local/bin/cli-proxy-api（在 PATH 中找到）",
            ),
            "Escape",
            1,
        ),
        (
            "update-question-en",
            vec![
                "ask".to_string(),
                "--text".into(),
                "Update CLIProxyAPI from v6.9.0 to v6.9.1?\nDownload: CLIProxyAPI_6.9.1_linux_amd64.tar.gz (12.5 MB)".into(),
                "--lang".into(),
                "en".into(),
            ],
            "Return",
            0,
        ),
    ];
    for (name, args, key, expected) in cases {
        let err = dir.join(format!("{name}.yaml"));
        let stderr = std::fs::File::create(err.with_extension("err")).unwrap();
        let mut dialog = x
            .tool(HARNESS)
            .arg("ui")
            .args(&args)
            .env("LIBGL_ALWAYS_SOFTWARE", "1")
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start the question dialog");
        focus_window(x, &mut dialog, "CLIProxyAPI Tray", &err);
        let shot = shots.join(format!("{name}.png"));
        let status = x
            .tool("import")
            .args(["-window", "root"])
            .arg(&shot)
            .status()
            .expect("run import");
        assert!(status.success(), "import failed for {}", shot.display());
        assert!(std::fs::metadata(&shot).unwrap().len() > 1000);

        let mut keys = vec!["key", "--delay", "100"];
        keys.extend(key.split_whitespace());
        x.xdotool(&keys);
        let status = wait_exit(&mut dialog);
        assert_eq!(status.code(), Some(expected), "{name}: {key}");
    }
}

/// Escape cancels: exit status 1 and the config is left as it was.
fn escape_closes_without_writing(x: &Xvfb, dir: &Path) {
    let config = dir.join("config.yaml");
    std::fs::write(&config, "port: 8317\n").unwrap();
    let mut dialog = open_dialog(x, "reset", "en", &config);
    focus_window(x, &mut dialog, "Reset Password", &config);
    x.xdotool(&["type", "--delay", "20", "not-saved-1"]);
    x.xdotool(&["key", "Escape"]);
    let status = wait_exit(&mut dialog);
    assert_eq!(status.code(), Some(1), "Escape means cancel");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "port: 8317\n");
}
