//! The tray over D-Bus, as a StatusNotifierItem host would see it.
//!
//! Each test starts a private session bus (`dbus-daemon --session`), a fake
//! `org.freedesktop.Notifications` service on it, and the harness tray with
//! the real server program (`cpa-engine`, the built-in engine's binary). The
//! test reads the menu with `com.canonical.dbusmenu.GetLayout`, clicks items
//! with `Event`, activates the icon, and checks the effects: the server's
//! port, `config.yaml`, `settings.json` and the notifications.
//!
//! Dialogs answer from a script file (see the harness), so no display is
//! needed; the dialog windows have their own tests.

#![cfg(target_os = "linux")]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zbus::blocking::Connection;
use zbus::zvariant::{OwnedValue, Value};

const HARNESS: &str = env!("CARGO_BIN_EXE_cpa-gui-harness");

/// A private session bus, ended on drop.
struct Bus {
    daemon: Child,
    address: String,
}

impl Bus {
    fn start() -> Option<Bus> {
        let spawned = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let mut daemon = match spawned {
            Ok(daemon) => daemon,
            Err(_) => return cpa_testkit::missing_tool("dbus-daemon (Debian package dbus-daemon)"),
        };
        let mut line = String::new();
        BufReader::new(daemon.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("read the bus address");
        Some(Bus {
            daemon,
            address: line.trim().to_string(),
        })
    }

    fn connect(&self) -> Connection {
        zbus::blocking::connection::Builder::address(self.address.as_str())
            .expect("bus address")
            .build()
            .expect("connect to the private bus")
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// Notifications received by the fake daemon: (summary, body).
type Received = Arc<Mutex<Vec<(String, String)>>>;

struct FakeNotifications {
    received: Received,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl FakeNotifications {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        _app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        _actions: Vec<String>,
        _hints: HashMap<String, OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut received = self.received.lock().unwrap();
        received.push((summary, body));
        received.len() as u32
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "fake".into(),
            "cpa-gui tests".into(),
            "1".into(),
            "1.2".into(),
        )
    }

    fn close_notification(&self, _id: u32) {}
}

fn serve_notifications(bus: &Bus) -> (Connection, Received) {
    let received: Received = Arc::default();
    let connection = bus.connect();
    connection
        .object_server()
        .at(
            "/org/freedesktop/Notifications",
            FakeNotifications {
                received: received.clone(),
            },
        )
        .expect("serve the fake notification object");
    connection
        .request_name("org.freedesktop.Notifications")
        .expect("own org.freedesktop.Notifications");
    (connection, received)
}

/// A dbusmenu layout node as sent: id, properties, children.
type LayoutNode = (i32, HashMap<String, OwnedValue>, Vec<OwnedValue>);

/// One node of the dbusmenu layout.
#[derive(Debug, Clone)]
struct Node {
    id: i32,
    label: String,
    enabled: bool,
    toggle: Option<i32>,
    children: Vec<Node>,
}

impl Node {
    fn parse(value: &Value<'_>) -> Node {
        let structure = match value {
            Value::Structure(structure) => structure,
            Value::Value(inner) => return Node::parse(inner),
            other => panic!("layout node is not a structure: {other:?}"),
        };
        let fields = structure.fields();
        let id = i32::try_from(&fields[0]).expect("node id");
        let props: HashMap<String, OwnedValue> =
            HashMap::try_from(fields[1].try_clone().expect("props")).expect("node properties");
        let children: Vec<OwnedValue> = match &fields[2] {
            Value::Array(array) => array
                .iter()
                .map(|child| {
                    OwnedValue::try_from(child.try_clone().expect("child")).expect("child")
                })
                .collect(),
            other => panic!("children are not an array: {other:?}"),
        };
        Node::from_parts(id, &props, &children)
    }

    fn from_parts(id: i32, props: &HashMap<String, OwnedValue>, children: &[OwnedValue]) -> Node {
        let label = props
            .get("label")
            .and_then(|value| String::try_from(value.try_clone().ok()?).ok())
            .unwrap_or_default();
        let enabled = props
            .get("enabled")
            .and_then(|value| bool::try_from(&**value).ok())
            .unwrap_or(true);
        let toggle = props
            .get("toggle-state")
            .and_then(|value| i32::try_from(&**value).ok());
        Node {
            id,
            label,
            enabled,
            toggle,
            children: children.iter().map(|child| Node::parse(child)).collect(),
        }
    }

    fn flatten(&self, out: &mut Vec<Node>) {
        out.push(self.clone());
        for child in &self.children {
            child.flatten(out);
        }
    }
}

/// The harness tray on the private bus, killed on drop if still running.
struct Tray {
    child: Child,
    connection: Connection,
    name: String,
}

impl Tray {
    fn launch(bus: &Bus, env: &TestHome) -> Tray {
        Tray::launch_in(bus, env, "en")
    }

    fn launch_in(bus: &Bus, env: &TestHome, lang: &str) -> Tray {
        Tray::launch_with(bus, env, lang, true)
    }

    /// Starts the tray; `scripted` makes dialogs read scripted answers
    /// instead of opening windows (which fail here: there is no display).
    fn launch_with(bus: &Bus, env: &TestHome, lang: &str, scripted: bool) -> Tray {
        let mut command = Command::new(HARNESS);
        if scripted {
            command.env("CPA_GUI_HARNESS_ANSWERS", env.answers());
        }
        let child = command
            .args(["tray", "--home"])
            .arg(&env.home)
            .arg("--engine-program")
            .arg(&env.engine)
            .args(["--engine-version", "0.1.0", "--lang", lang])
            .args(env.builtin.then_some("--builtin"))
            .args(env.offer_engine_choice.then_some("--offer-engine-choice"))
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .env("HOME", &env.home)
            .env("XDG_CONFIG_HOME", env.home.join("xdg-config"))
            .env("XDG_DATA_HOME", env.home.join("xdg-data"))
            .env("PATH", path_with(&env.bin))
            .envs(env.extra_env.iter().map(|(name, value)| (name, value)))
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the harness tray");
        let connection = bus.connect();
        let wanted = format!("org.kde.StatusNotifierItem-{}-1", child.id());
        let name = wait_for(Duration::from_secs(15), "the tray's bus name", || {
            let names: Vec<String> = connection
                .call_method(
                    Some("org.freedesktop.DBus"),
                    "/org/freedesktop/DBus",
                    Some("org.freedesktop.DBus"),
                    "ListNames",
                    &(),
                )
                .ok()?
                .body()
                .deserialize()
                .ok()?;
            names.into_iter().find(|name| *name == wanted)
        });
        Tray {
            child,
            connection,
            name,
        }
    }

    fn layout(&self) -> Vec<Node> {
        let reply = self
            .connection
            .call_method(
                Some(self.name.as_str()),
                "/MenuBar",
                Some("com.canonical.dbusmenu"),
                "GetLayout",
                &(0i32, -1i32, Vec::<String>::new()),
            )
            .expect("GetLayout");
        let (_revision, (id, props, children)): (u32, LayoutNode) =
            reply.body().deserialize().expect("layout body");
        let mut nodes = Vec::new();
        Node::from_parts(id, &props, &children).flatten(&mut nodes);
        nodes
    }

    fn item(&self, label: &str) -> Node {
        self.layout()
            .into_iter()
            .find(|node| node.label == label)
            .unwrap_or_else(|| panic!("no menu item {label:?} in {:#?}", self.layout()))
    }

    fn status_line(&self) -> String {
        // The status line is the first entry of the root menu.
        self.layout()[1].label.clone()
    }

    fn click(&self, label: &str) {
        let id = self.item(label).id;
        self.connection
            .call_method(
                Some(self.name.as_str()),
                "/MenuBar",
                Some("com.canonical.dbusmenu"),
                "Event",
                &(id, "clicked", Value::from(""), 0u32),
            )
            .expect("dbusmenu Event");
    }

    fn activate(&self) {
        self.connection
            .call_method(
                Some(self.name.as_str()),
                "/StatusNotifierItem",
                Some("org.kde.StatusNotifierItem"),
                "Activate",
                &(0i32, 0i32),
            )
            .expect("StatusNotifierItem Activate");
    }

    fn wait_status(&self, prefix: &str) -> String {
        wait_for(
            Duration::from_secs(30),
            &format!("status {prefix:?}"),
            || {
                let line = self.status_line();
                line.starts_with(prefix).then_some(line)
            },
        )
    }
}

impl Drop for Tray {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temporary home folder with a config on a free port.
struct TestHome {
    _dir: tempfile::TempDir,
    home: PathBuf,
    bin: PathBuf,
    engine: PathBuf,
    port: u16,
    /// Variables set for the tray and inherited by the server it starts.
    extra_env: Vec<(String, String)>,
    /// Whether the tray records its server as the built-in engine.
    builtin: bool,
    /// Whether a first start asks which server to run.
    offer_engine_choice: bool,
}

impl TestHome {
    fn new(secret: &str) -> Option<TestHome> {
        let engine = engine_binary()?;
        let dir = tempfile::tempdir().expect("temp dir");
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let port = cpa_testkit::free_port();
        std::fs::write(
            home.join("config.yaml"),
            format!(
                "host: 127.0.0.1\nport: {port}\nremote-management:\n  allow-remote: false\n  secret-key: \"{secret}\"\n"
            ),
        )
        .unwrap();
        // A fake xdg-open records what the tray opens instead of starting a browser.
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let opener = bin.join("xdg-open");
        std::fs::write(
            &opener,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n",
                dir.path().join("opened.txt").display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();
        Some(TestHome {
            home,
            bin,
            engine,
            port,
            // Never GitHub: a port that refuses connections, unless a test
            // serves fake releases.
            extra_env: vec![("CPA_TRAY_RELEASES_API".into(), "http://127.0.0.1:9".into())],
            builtin: true,
            offer_engine_choice: false,
            _dir: dir,
        })
    }

    /// Makes a home whose key is the bcrypt hash of `password` and whose
    /// `settings.json` is `settings`.
    fn with_settings(password: &str, settings: &str) -> Option<TestHome> {
        let hash = cpa_config::secret::hash_password_with_cost(password, 4).unwrap();
        let env = TestHome::new(&hash)?;
        env.write_settings(settings);
        Some(env)
    }

    fn write_settings(&self, settings: &str) {
        std::fs::write(self.home.join("settings.json"), settings).unwrap();
    }

    /// Returns the server record the tray wrote, if any.
    fn record(&self) -> Option<cpa_core::supervisor::EngineRecord> {
        let home = cpa_core::home::Home::at(&self.home).unwrap();
        cpa_core::supervisor::record::read(&home.pid_file_path()).unwrap()
    }

    /// Points the tray at `releases` instead of the GitHub API.
    fn use_releases(&mut self, releases: &FakeReleases) {
        self.extra_env
            .push(("CPA_TRAY_RELEASES_API".into(), releases.base.clone()));
    }

    /// Starts fake releases that publish this home's engine as `tag` and
    /// points the tray at them.
    fn publish_engine(&mut self, tag: &str, slow: bool) -> FakeReleases {
        let releases = FakeReleases::start();
        releases.publish(tag, &self.engine, slow);
        self.use_releases(&releases);
        releases
    }

    fn answers(&self) -> PathBuf {
        self.home.parent().unwrap().join("answers.txt")
    }

    fn script(&self, lines: &str) {
        std::fs::write(self.answers(), lines).unwrap();
    }

    fn opened(&self) -> String {
        std::fs::read_to_string(self.home.parent().unwrap().join("opened.txt")).unwrap_or_default()
    }

    fn secret(&self) -> String {
        let doc = cpa_config::load(&self.home.join("config.yaml")).expect("load config");
        doc.view().expect("config view").secret().to_string()
    }

    fn settings(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.home.join("settings.json")).unwrap_or_default();
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    }

    fn serving(&self) -> bool {
        TcpStream::connect(("127.0.0.1", self.port)).is_ok()
    }
}

impl Drop for TestHome {
    fn drop(&mut self) {
        // Never leave a server behind, whatever the test did.
        if let Ok(home) = cpa_core::home::Home::at(&self.home) {
            let _ = cpa_core::supervisor::stop(&home, Duration::from_secs(2));
        }
    }
}

/// Returns the built-in engine's binary, which `cargo test --workspace` builds.
fn engine_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CPA_TEST_BIN_CPA_ENGINE") {
        return Some(PathBuf::from(path));
    }
    let path = Path::new(HARNESS).with_file_name("cpa-engine");
    if path.is_file() {
        Some(path)
    } else {
        cpa_testkit::missing_tool(&format!(
            "{} (run `cargo build -p cpa-engine` or `cargo test --workspace`)",
            path.display()
        ))
    }
}

fn path_with(dir: &Path) -> std::ffi::OsString {
    let mut paths = vec![dir.to_path_buf()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).unwrap()
}

fn wait_for<T>(timeout: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Returns the bodies of the notifications received so far.
fn notification_bodies(received: &Received) -> Vec<String> {
    received
        .lock()
        .unwrap()
        .iter()
        .map(|(_, body)| body.clone())
        .collect()
}

/// Waits for a notification whose body satisfies `matches` and returns that body.
fn wait_notification_where(
    received: &Received,
    timeout: Duration,
    what: &str,
    matches: impl Fn(&str) -> bool,
) -> String {
    wait_for(timeout, what, || {
        received
            .lock()
            .unwrap()
            .iter()
            .map(|(_, body)| body.clone())
            .find(|body| matches(body))
    })
}

fn wait_notification(received: &Received, body: &str) {
    wait_for(
        Duration::from_secs(10),
        &format!("notification {body:?}"),
        || {
            received
                .lock()
                .unwrap()
                .iter()
                .any(|(summary, text)| summary == "CLIProxyAPI Tray" && text == body)
                .then_some(())
        },
    );
}

#[test]
fn menu_drives_real_engine() {
    let Some(bus) = Bus::start() else { return };
    let Some(env) = TestHome::new("") else { return };
    let (_notifications, received) = serve_notifications(&bus);
    let tray = Tray::launch(&bus, &env);

    // Initial menu: stopped, Start only.
    assert_eq!(tray.status_line(), "Not Running");
    assert!(!tray.item("Not Running").enabled);
    assert!(tray.item("Start").enabled);
    assert!(!tray.item("Restart").enabled);
    assert!(!tray.item("Stop").enabled);
    assert!(!tray.item("WebUI").enabled);
    assert!(tray.item("Config").enabled);
    assert_eq!(tray.item("Auto Open WebUI").toggle, Some(1));
    assert_eq!(tray.item("Auto Update").toggle, Some(0));
    assert_eq!(tray.item("Auto Restart").toggle, Some(0));
    assert_eq!(tray.item("English").toggle, Some(1));
    assert_eq!(tray.item("简体中文").toggle, Some(0));
    for label in [
        "Open",
        "Folder",
        "Logs",
        "Settings",
        "Reset Password",
        "Update",
        "About",
        "Exit",
    ] {
        assert!(tray.item(label).enabled, "{label}");
    }

    // A click on a disabled item changes nothing.
    tray.click("Stop");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(tray.status_line(), "Not Running");

    // First run: the scripted dialog saves the key, then the server starts.
    env.script("password:first-run-pass1\n");
    tray.click("Start");
    let status = tray.wait_status("Running");
    assert_eq!(status, "Running (v0.1.0, built-in engine)");
    assert!(env.serving(), "port {} is not listening", env.port);
    assert!(cpa_config::secret::verify_password(
        "first-run-pass1",
        &env.secret()
    ));
    assert!(!tray.item("Start").enabled);
    assert!(tray.item("Stop").enabled);
    assert!(tray.item("Restart").enabled);
    assert!(tray.item("WebUI").enabled);
    wait_notification(&received, "Password saved to config.yaml");
    wait_notification(&received, "Started CLIProxyAPI");

    // Toggles are saved to settings.json and shown as check marks.
    tray.click("Auto Restart");
    wait_for(Duration::from_secs(5), "autoRestart saved", || {
        (env.settings()["autoRestart"] == true).then_some(())
    });
    assert_eq!(tray.item("Auto Restart").toggle, Some(1));
    tray.click("Auto Open WebUI");
    wait_for(Duration::from_secs(5), "autoOpenWebUI saved", || {
        (env.settings()["autoOpenWebUI"] == false).then_some(())
    });
    assert_eq!(tray.item("Auto Open WebUI").toggle, Some(0));
    tray.click("Auto Update");
    wait_for(Duration::from_secs(5), "autoUpdate saved", || {
        (env.settings()["autoUpdate"] == true).then_some(())
    });

    // Language: every label switches and the choice is saved.
    tray.click("简体中文");
    wait_for(Duration::from_secs(5), "Chinese labels", || {
        tray.layout()
            .iter()
            .any(|node| node.label == "停止")
            .then_some(())
    });
    assert_eq!(tray.status_line(), "运行中（v0.1.0，内置引擎）");
    assert_eq!(env.settings()["language"], "zh-CN");
    tray.click("English");
    wait_for(Duration::from_secs(5), "English labels", || {
        tray.layout()
            .iter()
            .any(|node| node.label == "Stop")
            .then_some(())
    });

    // Reset while running: the new key is written; "No" leaves a reminder.
    env.script("password:second-pass-99\nno\n");
    tray.click("Reset Password");
    tray.wait_status("Running (v0.1.0, built-in engine) - restart to use the new password");
    assert!(cpa_config::secret::verify_password(
        "second-pass-99",
        &env.secret()
    ));
    wait_notification(&received, "Password updated");
    let asked = std::fs::read_to_string(env.answers().with_extension("asked")).unwrap();
    assert_eq!(asked, "password\npassword\nconfirm\n");

    // Left click while running opens the WebUI.
    tray.activate();
    let url = format!("http://127.0.0.1:{}/management.html", env.port);
    wait_for(Duration::from_secs(5), "the WebUI to open", || {
        env.opened().contains(&url).then_some(())
    });

    // Stop.
    tray.click("Stop");
    tray.wait_status("Not Running");
    assert!(
        !env.serving(),
        "port {} still listening after Stop",
        env.port
    );
    wait_notification(&received, "Stopped");

    // Left click while stopped starts the server (the key is set: no dialog).
    tray.activate();
    tray.wait_status("Running (v0.1.0");
    assert!(env.serving());

    // Exit stops the server this tray started, then the tray quits.
    let mut tray = tray;
    tray.click("Exit");
    let status = wait_for(Duration::from_secs(15), "the tray to exit", || {
        tray.child.try_wait().unwrap()
    });
    assert!(status.success(), "tray exited with {status}");
    assert!(!env.serving(), "Exit left the server running");
    assert!(!env.home.join("run/engine.json").exists());
}

#[test]
fn cancelled_first_run_password_cancels_start() {
    let Some(bus) = Bus::start() else { return };
    let Some(env) = TestHome::new("") else { return };
    let (_notifications, received) = serve_notifications(&bus);
    let tray = Tray::launch(&bus, &env);

    env.script("cancel\n");
    tray.click("Start");
    wait_notification(&received, "Password not set. Start cancelled.");
    assert_eq!(tray.status_line(), "Not Running");
    assert!(
        tray.item("Start").enabled,
        "Start stays available after a cancel"
    );
    assert!(!env.serving());
    assert_eq!(env.secret(), "");
}

#[test]
fn without_bus_keeps_running_headless() {
    let Some(env) = TestHome::new("") else { return };
    let mut child = Command::new(HARNESS)
        .args(["tray", "--home"])
        .arg(&env.home)
        .arg("--engine-program")
        .arg(&env.engine)
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/cpa-gui-test-bus",
        )
        .env("HOME", &env.home)
        .env_remove("DISPLAY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the harness tray");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains("No tray icon"), "stderr: {line}");
    assert!(line.contains("cpa-tray stop"), "stderr: {line}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the tray exited without a bus"
    );
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(env.home.join("logs/tray.log")).unwrap();
    assert!(log.contains("No tray icon"), "tray.log: {log}");
}

#[test]
fn chinese_menu_opens_and_notifies() {
    let Some(bus) = Bus::start() else { return };
    let Some(mut env) = TestHome::new("") else {
        return;
    };
    let _releases = env.publish_engine("v1.0.0", false);
    let (_notifications, received) = serve_notifications(&bus);
    let tray = Tray::launch_in(&bus, &env, "zh-CN");

    assert_eq!(tray.status_line(), "未运行");
    for label in [
        "启动",
        "打开",
        "文件夹",
        "配置文件",
        "日志",
        "设置",
        "重置密码",
        "更新",
        "关于",
        "退出",
    ] {
        assert!(tray.item(label).enabled, "{label}");
    }
    for label in ["重启", "停止", "WebUI"] {
        assert!(!tray.item(label).enabled, "{label}");
    }
    assert_eq!(tray.item("简体中文").toggle, Some(1));

    // Update asks first; No cancels it.
    env.script("no\n");
    tray.click("更新");
    wait_notification(&received, "已取消更新");

    // Open items hand the path to the desktop's opener.
    tray.click("配置文件");
    tray.click("文件夹");
    tray.click("日志");
    let config = env.home.join("config.yaml").display().to_string();
    let logs = env.home.join("logs").display().to_string();
    let root = env.home.display().to_string();
    wait_for(Duration::from_secs(5), "three opened paths", || {
        (env.opened().lines().count() == 3).then_some(())
    });
    let opened = env.opened();
    assert!(opened.lines().any(|line| line == config), "{opened}");
    assert!(opened.lines().any(|line| line == logs), "{opened}");
    assert!(opened.lines().any(|line| line == root), "{opened}");

    // Start at Login writes and removes the XDG autostart entry.
    let entry = env.home.join("xdg-config/autostart/cpa-tray.desktop");
    tray.click("登录时启动");
    wait_for(Duration::from_secs(5), "the autostart entry", || {
        entry.is_file().then_some(())
    });
    let text = std::fs::read_to_string(&entry).unwrap();
    assert!(
        text.contains(&format!("Exec=\"{HARNESS}\" \"tray\"")),
        "{text}"
    );
    assert_eq!(tray.item("登录时启动").toggle, Some(1));
    tray.click("登录时启动");
    wait_for(Duration::from_secs(5), "the autostart entry to go", || {
        (!entry.exists()).then_some(())
    });
}

#[test]
fn crashed_server_restarts_when_enabled() {
    let Some(bus) = Bus::start() else { return };
    let Some(env) = TestHome::with_settings(
        "crash-test-1",
        r#"{"autoRestart":true,"autoOpenWebUI":false}"#,
    ) else {
        return;
    };
    let (_notifications, received) = serve_notifications(&bus);
    let tray = Tray::launch(&bus, &env);
    assert_eq!(tray.item("Auto Restart").toggle, Some(1));

    // A second click while the start runs is ignored: Start is disabled then.
    tray.click("Start");
    tray.click("Start");
    tray.wait_status("Running (v0.1.0");
    wait_notification(&received, "Started CLIProxyAPI");
    std::thread::sleep(Duration::from_millis(300));
    let started = received
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, body)| body == "Started CLIProxyAPI")
        .count();
    assert_eq!(started, 1, "one start, one notification");
    let log = std::fs::read_to_string(env.home.join("logs/tray.log")).unwrap();
    assert!(
        log.contains("ignored click on disabled item start"),
        "{log}"
    );
    let record = |home: &Path| {
        let text = std::fs::read_to_string(home.join("run/engine.json")).ok()?;
        let value: serde_json::Value = serde_json::from_str(&text).ok()?;
        value["pid"].as_u64()
    };
    let first = record(&env.home).expect("server record");

    // Kill the server behind the tray's back: the watcher reports the exit at once.
    let killed = Command::new("kill")
        .args(["-KILL", &first.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    wait_notification_where(
        &received,
        Duration::from_secs(10),
        "the exit notification",
        |body| body.starts_with("CLIProxyAPI exited"),
    );
    wait_notification(&received, "Restarting CLIProxyAPI in 1 s (attempt 1)");
    let second = wait_for(Duration::from_secs(20), "a new server", || {
        record(&env.home).filter(|pid| *pid != first)
    });
    assert_ne!(first, second);
    tray.wait_status("Running (v0.1.0");
    wait_for(Duration::from_secs(10), "the port to listen again", || {
        env.serving().then_some(())
    });
}

#[test]
fn failed_dialog_names_cli_command() {
    let Some(bus) = Bus::start() else { return };
    let Some(env) = TestHome::new("") else { return };
    let (_notifications, received) = serve_notifications(&bus);
    let tray = Tray::launch_with(&bus, &env, "en", false);

    // No display: the password window cannot open, so the tray says which
    // command does the same and cancels the start.
    tray.click("Start");
    wait_notification(&received, "Password not set. Start cancelled.");
    let failed = wait_notification_where(
        &received,
        Duration::from_secs(10),
        "the dialog failure notice",
        |body| body.starts_with("Failed to open the dialog:"),
    );
    assert!(
        failed.ends_with("Run `cpa-tray password set` in a terminal instead."),
        "{failed}"
    );
    assert_eq!(tray.status_line(), "Not Running");
    assert!(tray.item("Start").enabled);
    assert_eq!(env.secret(), "");
}

/// Returns `cpa-test-server`, which `cargo test --workspace` builds.
fn test_server_binary() -> Option<PathBuf> {
    let path = Path::new(HARNESS).with_file_name("cpa-test-server");
    if path.is_file() {
        Some(path)
    } else {
        cpa_testkit::missing_tool(&format!(
            "{} (run `cargo build -p cpa-test-server` or `cargo test --workspace`)",
            path.display()
        ))
    }
}

/// Returns whether `pid` runs (a zombie waiting for its parent counts as ended).
fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[test]
fn second_tray_pokes_first() {
    let Some(bus) = Bus::start() else { return };
    let Some(env) = TestHome::new("") else { return };
    let (_notifications, received) = serve_notifications(&bus);
    let tray = Tray::launch(&bus, &env);

    let second = Command::new(HARNESS)
        .args(["tray", "--home"])
        .arg(&env.home)
        .arg("--engine-program")
        .arg(&env.engine)
        .args(["--lang", "en"])
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .env("HOME", &env.home)
        .env("XDG_CONFIG_HOME", env.home.join("xdg-config"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("run a second harness tray");

    assert!(second.status.success(), "second tray: {:?}", second);
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert_eq!(
        stdout.trim(),
        format!(
            "CLIProxyAPI Tray is already running (pid {}).",
            tray.child.id()
        )
    );
    wait_notification(
        &received,
        "CLIProxyAPI Tray is already running: Not Running",
    );
    // The first tray keeps running and keeps its menu.
    assert_eq!(tray.status_line(), "Not Running");
}

#[test]
fn exit_during_start_stops_server() {
    let Some(bus) = Bus::start() else { return };
    let hash = cpa_config::secret::hash_password_with_cost("exit-test-1", 4).unwrap();
    let Some(mut env) = TestHome::new(&hash) else {
        return;
    };
    let Some(test_server) = test_server_binary() else {
        return;
    };
    // The stand-in binds its port 3 s after it starts, so the start is still
    // waiting for readiness when Exit arrives.
    env.engine = test_server;
    env.extra_env
        .push(("CPA_TEST_SERVER".into(), "--listen-after-ms 3000".into()));
    let (_notifications, _received) = serve_notifications(&bus);
    let mut tray = Tray::launch(&bus, &env);

    tray.click("Start");
    tray.wait_status("Starting...");
    let record = env.home.join("run/engine.json");
    let pid = wait_for(Duration::from_secs(10), "the server record", || {
        let text = std::fs::read_to_string(&record).ok()?;
        let value: serde_json::Value = serde_json::from_str(&text).ok()?;
        value["pid"].as_u64().map(|pid| pid as u32)
    });
    tray.click("Exit");

    let status = wait_for(Duration::from_secs(30), "the tray to exit", || {
        tray.child.try_wait().unwrap()
    });
    assert!(status.success(), "tray exited with {status}");
    assert!(
        !process_alive(pid),
        "server pid {pid} still runs after Exit"
    );
    assert!(
        !env.serving(),
        "port {} still listening after Exit",
        env.port
    );
    assert!(!record.exists(), "the server record was left behind");
}

/// Routes of [`FakeReleases`]: path to body and whether to send it slowly.
type ReleaseRoutes = Arc<Mutex<HashMap<String, (Vec<u8>, bool)>>>;

/// A fake GitHub release API on 127.0.0.1: the latest-release JSON, one
/// archive per release holding a real server binary as `cli-proxy-api`, and
/// its `checksums.txt`. A slow route sends 8 KiB every 20 ms, so a cancel
/// arrives in the middle of the download.
struct FakeReleases {
    base: String,
    routes: ReleaseRoutes,
}

const LATEST_PATH: &str = "/repos/router-for-me/CLIProxyAPI/releases/latest";

impl FakeReleases {
    fn start() -> FakeReleases {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let routes: ReleaseRoutes = Arc::default();
        let serving = routes.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let routes = serving.clone();
                std::thread::spawn(move || serve_release_request(stream, &routes));
            }
        });
        FakeReleases { base, routes }
    }

    /// Publishes `tag` as the latest release with `binary` inside its archive.
    fn publish(&self, tag: &str, binary: &Path, slow: bool) {
        use sha2::Digest;
        let platform = cpa_core::releases::Platform::current().unwrap();
        let name = platform.asset_name(&cpa_core::releases::Version::parse(tag).unwrap());
        let archive = release_archive(binary);
        let digest: String = sha2::Sha256::digest(&archive)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        let checksums = format!("{digest}  {name}\n").into_bytes();
        let release = serde_json::json!({
            "tag_name": tag,
            "assets": [
                {
                    "name": name,
                    "size": archive.len(),
                    "browser_download_url": format!("{}/download/{tag}/{name}", self.base),
                },
                {
                    "name": "checksums.txt",
                    "size": checksums.len(),
                    "browser_download_url": format!("{}/download/{tag}/checksums.txt", self.base),
                },
            ],
        });
        let mut routes = self.routes.lock().unwrap();
        routes.insert(format!("/download/{tag}/{name}"), (archive, slow));
        routes.insert(format!("/download/{tag}/checksums.txt"), (checksums, false));
        routes.insert(
            LATEST_PATH.into(),
            (release.to_string().into_bytes(), false),
        );
    }
}

fn serve_release_request(stream: TcpStream, routes: &Mutex<HashMap<String, (Vec<u8>, bool)>>) {
    use std::io::Write;
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    let _ = reader.read_line(&mut request_line);
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => break,
            Ok(_) if header.trim().is_empty() => break,
            Ok(_) => {}
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let route = routes.lock().unwrap().get(path).cloned();
    let (status, body, slow) = match route {
        Some((body, slow)) => (200, body, slow),
        None => (404, b"{\"message\":\"Not Found\"}".to_vec(), false),
    };
    let mut stream = stream;
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    if slow {
        for chunk in body.chunks(8192) {
            if stream.write_all(chunk).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    } else {
        let _ = stream.write_all(&body);
    }
}

/// A `.tar.gz` release archive with `binary` as `cli-proxy-api`.
fn release_archive(binary: &Path) -> Vec<u8> {
    let bytes = std::fs::read(binary).unwrap();
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(encoder);
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o755);
    header.set_cksum();
    builder
        .append_data(&mut header, "cli-proxy-api", bytes.as_slice())
        .unwrap();
    builder.into_inner().unwrap().finish().unwrap()
}

/// Returns the `version` setting.
fn recorded_version(env: &TestHome) -> serde_json::Value {
    env.settings()["version"].clone()
}

/// Returns the executable of the recorded server.
fn recorded_exe(env: &TestHome) -> PathBuf {
    let text = std::fs::read_to_string(env.home.join("run/engine.json")).unwrap();
    let record: serde_json::Value = serde_json::from_str(&text).unwrap();
    PathBuf::from(record["exe"].as_str().unwrap())
}

#[test]
fn update_installs_restarts_and_rolls_back() {
    let Some(bus) = Bus::start() else { return };
    let Some(mut env) = TestHome::with_settings("update-test-1", r#"{"autoOpenWebUI":false}"#)
    else {
        return;
    };
    let Some(test_server) = test_server_binary() else {
        return;
    };
    let releases = FakeReleases::start();
    let engine_binary = env.engine.clone();
    releases.publish("v1.0.0", &engine_binary, false);
    // The harness starts what --engine-program names: the first release.
    let first = env.home.join("versions/v1.0.0/cli-proxy-api");
    env.engine = first.clone();
    env.builtin = false;
    env.use_releases(&releases);
    // Only the stand-in release reads it: it exits before it listens.
    env.extra_env.push((
        "CPA_TEST_SERVER".into(),
        "--listen-after-ms 5000 --crash-after-ms 100".into(),
    ));
    let (_notifications, received) = serve_notifications(&bus);
    let tray = Tray::launch(&bus, &env);

    // Nothing installed: Update asks, downloads and records v1.0.0.
    env.script("yes\ndone\n");
    tray.click("Update");
    wait_notification(&received, "Updated to CLIProxyAPI v1.0.0");
    assert!(first.is_file(), "{} is missing", first.display());
    assert_eq!(recorded_version(&env), "v1.0.0");
    tray.click("Start");
    tray.wait_status("Running");
    assert!(env.serving());

    // A newer release: the running server moves to it.
    releases.publish("v1.1.0", &engine_binary, false);
    env.script("yes\ndone\n");
    tray.click("Update");
    wait_notification(&received, "Updated to CLIProxyAPI v1.1.0");
    tray.wait_status("Running (v1.1.0)");
    assert!(
        env.serving(),
        "port {} not serving after the update",
        env.port
    );
    assert!(recorded_exe(&env).ends_with("versions/v1.1.0/cli-proxy-api"));
    assert_eq!(recorded_version(&env), "v1.1.0");
    let asked = std::fs::read_to_string(env.answers().with_extension("asked")).unwrap();
    assert_eq!(asked, "ask\nprogress\nask\nprogress\n");

    // Nothing newer: no question, just the notification.
    tray.click("Update");
    wait_notification(&received, "Already latest: v1.1.0");

    // A release that exits at start: back on v1.1.0, settings unchanged.
    releases.publish("v1.2.0", &test_server, false);
    env.script("yes\ndone\n");
    tray.click("Update");
    wait_notification_where(
        &received,
        Duration::from_secs(30),
        "the rollback notification",
        |body| body.starts_with("CLIProxyAPI v1.2.0 did not become ready"),
    );
    tray.wait_status("Running (v1.1.0)");
    assert!(
        env.serving(),
        "port {} not serving after the rollback",
        env.port
    );
    assert!(recorded_exe(&env).ends_with("versions/v1.1.0/cli-proxy-api"));
    assert_eq!(recorded_version(&env), "v1.1.0");
    assert!(env.home.join("versions/v1.2.0/cli-proxy-api").is_file());
}

#[test]
fn update_cancel_stops_download() {
    let Some(bus) = Bus::start() else { return };
    let Some(env_base) = TestHome::new("") else {
        return;
    };
    let mut env = env_base;
    let _releases = env.publish_engine("v3.0.0", true);
    let (_notifications, received) = serve_notifications(&bus);
    let tray = Tray::launch(&bus, &env);

    env.script("yes\ncancel\n");
    let clicked = Instant::now();
    tray.click("Update");
    wait_notification(&received, "Update cancelled");

    // The slow route needs minutes for the whole archive; a cancel ends it
    // at the next chunk.
    assert!(
        clicked.elapsed() < Duration::from_secs(20),
        "the cancel took {:?}",
        clicked.elapsed()
    );
    assert!(!env.home.join("versions/v3.0.0").exists());
    assert_eq!(recorded_version(&env), serde_json::Value::Null);
    tray.wait_status("Not Running");
    assert!(tray.item("Update").enabled);
}

#[test]
fn auto_update_installs_without_asking() {
    let Some(bus) = Bus::start() else { return };
    let Some(mut env) = TestHome::new("") else {
        return;
    };
    let releases = FakeReleases::start();
    let engine_binary = env.engine.clone();
    // v1.0.0 is installed and recorded; v1.1.0 is the latest release.
    let installed = env.home.join("versions/v1.0.0");
    std::fs::create_dir_all(&installed).unwrap();
    std::fs::copy(&engine_binary, installed.join("cli-proxy-api")).unwrap();
    env.write_settings(r#"{"autoUpdate":true,"version":"v1.0.0"}"#);
    releases.publish("v1.1.0", &engine_binary, false);
    env.use_releases(&releases);
    let (_notifications, received) = serve_notifications(&bus);
    let _tray = Tray::launch(&bus, &env);

    wait_notification(&received, "Updated to CLIProxyAPI v1.1.0");
    assert_eq!(recorded_version(&env), "v1.1.0");
    assert!(env.home.join("versions/v1.1.0/cli-proxy-api").is_file());
    assert!(
        !env.answers().with_extension("asked").exists(),
        "Auto Update opened a dialog"
    );
}

/// A home whose first start asks which server to run (the key is set, so no
/// password dialog comes first).
fn first_start_home() -> Option<TestHome> {
    let mut env = TestHome::with_settings("first-start-1", r#"{"autoOpenWebUI":false}"#)?;
    env.offer_engine_choice = true;
    Some(env)
}

#[test]
fn first_start_downloads_release() {
    let Some(bus) = Bus::start() else { return };
    let Some(mut env) = first_start_home() else {
        return;
    };
    let _releases = env.publish_engine("v1.0.0", false);
    let (_notifications, received) = serve_notifications(&bus);
    let tray = Tray::launch(&bus, &env);

    env.script("first\ndone\n");
    tray.click("Start");
    tray.wait_status("Running");

    assert_eq!(env.settings()["engine"], "official");
    assert_eq!(recorded_version(&env), "v1.0.0");
    assert!(env.home.join("versions/v1.0.0/cli-proxy-api").is_file());
    let asked = std::fs::read_to_string(env.answers().with_extension("asked")).unwrap();
    assert_eq!(asked, "choose\nprogress\n");
    wait_notification_where(
        &received,
        Duration::from_secs(10),
        "the install notification",
        |body| body.starts_with("Installed CLIProxyAPI v1.0.0 in "),
    );
}

#[test]
fn first_start_cancel_then_builtin() {
    let Some(bus) = Bus::start() else { return };
    let Some(mut env) = first_start_home() else {
        return;
    };
    let _releases = env.publish_engine("v1.0.0", false);
    let (_notifications, received) = serve_notifications(&bus);
    let tray = Tray::launch(&bus, &env);

    env.script("cancel\n");
    tray.click("Start");
    wait_notification(&received, "Start cancelled");
    tray.wait_status("Not Running");
    assert!(!env.serving());
    assert_eq!(env.settings()["engine"], serde_json::Value::Null);

    // The built-in choice is recorded, so the next start does not ask.
    env.script("second\n");
    tray.click("Start");
    tray.wait_status("Running");
    assert_eq!(env.settings()["engine"], "builtin");
    assert!(!env.home.join("versions/v1.0.0").exists());
    tray.click("Stop");
    tray.wait_status("Not Running");
    tray.click("Start");
    tray.wait_status("Running");
    let asked = std::fs::read_to_string(env.answers().with_extension("asked")).unwrap();
    assert_eq!(asked, "choose\nchoose\n");
}

#[test]
fn first_start_offline_uses_builtin_once() {
    let Some(bus) = Bus::start() else { return };
    // The default release API of the tests is a closed local port.
    let Some(env) = first_start_home() else {
        return;
    };
    let (_notifications, received) = serve_notifications(&bus);
    let tray = Tray::launch(&bus, &env);

    tray.click("Start");
    tray.wait_status("Running");

    wait_for(
        Duration::from_secs(10),
        "the built-in engine notice",
        || {
            received
                .lock()
                .unwrap()
                .iter()
                .any(|(_, body)| {
                    body.starts_with("No CLIProxyAPI download to offer: ")
                        && body.contains("Using the built-in engine.")
                })
                .then_some(())
        },
    );
    assert_eq!(env.settings()["engine"], serde_json::Value::Null);
    assert!(
        !env.answers().with_extension("asked").exists(),
        "a dialog opened although nothing can be downloaded"
    );
}

#[test]
fn exit_during_update_cancels_download() {
    let Some(bus) = Bus::start() else { return };
    let Some(mut env) = TestHome::new("") else {
        return;
    };
    let _releases = env.publish_engine("v4.0.0", true);
    let (_notifications, _received) = serve_notifications(&bus);
    let mut tray = Tray::launch(&bus, &env);

    env.script("yes\ndone\n");
    tray.click("Update");
    tray.wait_status("Updating...");
    tray.click("Exit");

    // The slow route needs minutes for the whole archive.
    let status = wait_for(Duration::from_secs(20), "the tray to exit", || {
        tray.child.try_wait().unwrap()
    });
    assert!(status.success(), "tray exited with {status}");
    assert!(!env.home.join("versions/v4.0.0").exists());
    assert_eq!(recorded_version(&env), serde_json::Value::Null);
}

#[test]
fn running_server_log_is_rotated() {
    let Some(bus) = Bus::start() else { return };
    let Some(mut env) = TestHome::with_settings("rotate-test-1", r#"{"autoOpenWebUI":false}"#)
    else {
        return;
    };
    let Some(test_server) = test_server_binary() else {
        return;
    };
    // The stand-in writes 1 MiB more than the rotation size at once, then a
    // tick line every 20 ms; the tray checks the size every 0.2 s.
    let limit = cpa_core::supervisor::logfile::ROTATE_BYTES;
    env.engine = test_server;
    env.extra_env.push((
        "CPA_TEST_SERVER".into(),
        format!("--write-bytes {} --tick-ms 20", limit + 1024 * 1024),
    ));
    env.extra_env
        .push(("CPA_TRAY_LOG_CHECK_SECONDS".into(), "0.2".into()));
    let (_notifications, _received) = serve_notifications(&bus);
    let tray = Tray::launch(&bus, &env);

    tray.click("Start");
    tray.wait_status("Running");
    let log = env.home.join("logs/engine.log");
    let rotated = env.home.join("logs/engine.log.1");
    wait_for(Duration::from_secs(30), "engine.log.1", || {
        rotated.exists().then_some(())
    });
    // Give the server time to write after the truncation.
    std::thread::sleep(Duration::from_millis(300));

    let old = std::fs::metadata(&rotated).unwrap().len();
    assert!(old > limit, "rotated copy has {old} bytes");
    let new = std::fs::read(&log).unwrap();
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
    // Rotation left the server running under the tray.
    assert!(env.serving(), "port {} not serving", env.port);
    assert!(tray.status_line().starts_with("Running"));
    let tray_log = std::fs::read_to_string(env.home.join("logs/tray.log")).unwrap();
    assert!(!tray_log.contains("failed to rotate"), "{tray_log}");
}

/// A server that `cpa-tray start` left running writes its log as well; the
/// tray keeps that log below the size too, not only its own server's.
#[test]
fn command_started_server_log_is_rotated() {
    let Some(bus) = Bus::start() else { return };
    let Some(mut env) = TestHome::with_settings("rotate-test-2", r#"{"autoOpenWebUI":false}"#)
    else {
        return;
    };
    let Some(test_server) = test_server_binary() else {
        return;
    };
    let limit = cpa_core::supervisor::logfile::ROTATE_BYTES;
    env.extra_env
        .push(("CPA_TRAY_LOG_CHECK_SECONDS".into(), "0.2".into()));
    let home = cpa_core::home::Home::at(&env.home).unwrap();
    // What `cpa-tray start` does: the tray does not own this child.
    let engine = cpa_core::supervisor::Engine {
        program: test_server,
        leading_args: vec!["--tick-ms".into(), "20".into()],
        kind: cpa_core::supervisor::EngineKind::External,
        version: "test".into(),
    };
    let address = cpa_core::supervisor::ServerAddress {
        host: "127.0.0.1".into(),
        port: env.port,
        tls: false,
    };
    let mut started = cpa_core::supervisor::start(
        &home,
        &engine,
        &address,
        &cpa_core::supervisor::StartOptions::default(),
    )
    .unwrap();
    let (_notifications, _received) = serve_notifications(&bus);
    let mut tray = Tray::launch(&bus, &env);
    tray.wait_status("Running");

    // The log grows past the limit while the tray watches: the test server
    // appends a tick line every 20 ms, and this test adds the bulk (opened
    // for appending, as the server's own descriptor is).
    let log = env.home.join("logs/engine.log");
    let rotated = env.home.join("logs/engine.log.1");
    {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        let line = [b'x'; 1023];
        for _ in 0..(limit / 1024 + 1024) {
            file.write_all(&line).unwrap();
            file.write_all(b"\n").unwrap();
        }
    }
    wait_for(Duration::from_secs(30), "engine.log.1", || {
        rotated.exists().then_some(())
    });
    std::thread::sleep(Duration::from_millis(300));

    assert!(std::fs::metadata(&rotated).unwrap().len() > limit);
    let new = std::fs::read(&log).unwrap();
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
    assert!(process_alive(started.record.pid), "the server was stopped");
    let tray_log = std::fs::read_to_string(env.home.join("logs/tray.log")).unwrap();
    assert!(!tray_log.contains("failed to rotate"), "{tray_log}");

    tray.click("Exit");
    wait_for(Duration::from_secs(10), "the tray to exit", || {
        tray.child.try_wait().unwrap()
    });
    // Exit leaves a server the tray did not start running.
    assert!(process_alive(started.record.pid));
    cpa_core::supervisor::stop(&home, Duration::from_secs(5)).unwrap();
    started.child.wait().unwrap();
}

/// A home with v1.0.0 installed and recorded, and Auto Update on.
fn auto_update_home() -> Option<TestHome> {
    let env = TestHome::new("")?;
    let installed = env.home.join("versions/v1.0.0");
    std::fs::create_dir_all(&installed).unwrap();
    std::fs::copy(&env.engine, installed.join("cli-proxy-api")).unwrap();
    env.write_settings(r#"{"autoUpdate":true,"version":"v1.0.0"}"#);
    Some(env)
}

#[test]
fn auto_update_offline_only_logs() {
    let Some(bus) = Bus::start() else { return };
    // The default release API of the tests is a closed local port.
    let Some(env) = auto_update_home() else {
        return;
    };
    let (_notifications, received) = serve_notifications(&bus);
    let tray = Tray::launch(&bus, &env);

    let tray_log = env.home.join("logs/tray.log");
    let logged = wait_for(
        Duration::from_secs(20),
        "the skipped check in tray.log",
        || {
            let text = std::fs::read_to_string(&tray_log).ok()?;
            text.lines()
                .find(|line| line.contains("auto update: skipped"))
                .map(str::to_string)
        },
    );
    assert!(logged.contains("http://127.0.0.1:9"), "{logged}");
    // The update worker has ended once Update is enabled again.
    wait_for(Duration::from_secs(10), "Update to be enabled", || {
        tray.item("Update").enabled.then_some(())
    });
    std::thread::sleep(Duration::from_millis(500));
    let bodies = notification_bodies(&received);
    assert!(bodies.is_empty(), "notified while offline: {bodies:?}");
    assert_eq!(recorded_version(&env), "v1.0.0");

    // The Update item still reports the same failure.
    tray.click("Update");
    let failed = wait_notification_where(
        &received,
        Duration::from_secs(20),
        "the Update failure notice",
        |body| body.starts_with("Update failed: "),
    );
    assert!(failed.contains("http://127.0.0.1:9"), "{failed}");
}

#[test]
fn auto_update_checksum_mismatch_notifies() {
    let Some(bus) = Bus::start() else { return };
    let Some(mut env) = auto_update_home() else {
        return;
    };
    let releases = FakeReleases::start();
    releases.publish("v1.1.0", &env.engine, false);
    // Replace the published checksum with one that matches nothing.
    {
        let mut routes = releases.routes.lock().unwrap();
        let path = routes
            .keys()
            .find(|path| path.ends_with("/checksums.txt"))
            .cloned()
            .unwrap();
        let (text, slow) = routes.get(&path).cloned().unwrap();
        let name = String::from_utf8(text).unwrap();
        let name = name.split_whitespace().nth(1).unwrap().to_string();
        let wrong = format!("{}  {name}\n", "0".repeat(64)).into_bytes();
        routes.insert(path, (wrong, slow));
    }
    env.use_releases(&releases);
    let (_notifications, received) = serve_notifications(&bus);
    let _tray = Tray::launch(&bus, &env);

    let failed = wait_notification_where(
        &received,
        Duration::from_secs(20),
        "the checksum notice",
        |body| body.starts_with("Update failed: "),
    );
    assert!(failed.contains("Checksum mismatch"), "{failed}");
    assert_eq!(recorded_version(&env), "v1.0.0");
    assert!(!env.home.join("versions/v1.1.0").exists());
}

/// A first-start home whose tray runs `cpa-test-server` unless the `engine`
/// setting names another program, with `cpa-engine` linked on the tray's
/// `PATH` as `cli-proxy-api`. Returns the home and the link.
fn path_binary_home() -> Option<(TestHome, PathBuf)> {
    let mut env = first_start_home()?;
    let test_server = test_server_binary()?;
    let link = env.bin.join("cli-proxy-api");
    // A link, not a copy: a file written here could still be open in a
    // process another test forks, which makes running it fail.
    std::os::unix::fs::symlink(&env.engine, &link).unwrap();
    env.engine = test_server;
    env.builtin = false;
    Some((env, link))
}

/// Checks that the recorded server runs the binary behind `link`.
fn assert_runs_path_binary(env: &TestHome, link: &Path) {
    let exe = recorded_exe(env);
    assert!(
        cpa_core::releases::same_program(&exe, link),
        "the server runs {}, not {}",
        exe.display(),
        link.display()
    );
    assert_eq!(env.settings()["engine"], link.display().to_string());
    assert!(env.serving(), "port {} not serving", env.port);
}

#[test]
fn first_start_offers_path_binary() {
    let Some(bus) = Bus::start() else { return };
    let Some((mut env, link)) = path_binary_home() else {
        return;
    };
    let releases = FakeReleases::start();
    let engine_binary = std::fs::canonicalize(&link).unwrap();
    releases.publish("v1.0.0", &engine_binary, false);
    env.use_releases(&releases);
    let (_notifications, _received) = serve_notifications(&bus);
    let tray = Tray::launch(&bus, &env);

    env.script("third\n");
    tray.click("Start");
    tray.wait_status("Running");

    let choices = std::fs::read_to_string(env.answers().with_extension("choices")).unwrap();
    let platform = cpa_core::releases::Platform::current().unwrap().label();
    let expected_first = format!("Download CLIProxyAPI v1.0.0 ({platform}, ");
    let lines: Vec<&str> = choices.lines().collect();
    assert_eq!(lines.len(), 3, "{choices}");
    assert!(lines[0].starts_with(&expected_first), "{choices}");
    assert_eq!(lines[1], "Use the built-in engine");
    assert_eq!(lines[2], format!("Use {} (found on PATH)", link.display()));
    assert_runs_path_binary(&env, &link);
    assert!(!env.home.join("versions/v1.0.0").exists());

    // The choice is recorded: the next start asks nothing.
    tray.click("Stop");
    tray.wait_status("Not Running");
    tray.click("Start");
    tray.wait_status("Running");
    let asked = std::fs::read_to_string(env.answers().with_extension("asked")).unwrap();
    assert_eq!(asked, "choose\n");
    assert_runs_path_binary(&env, &link);
}

#[test]
fn first_start_offline_offers_path_binary() {
    let Some(bus) = Bus::start() else { return };
    // The default release API of the tests is a closed local port.
    let Some((env, link)) = path_binary_home() else {
        return;
    };
    let (_notifications, _received) = serve_notifications(&bus);
    let tray = Tray::launch(&bus, &env);

    env.script("second\n");
    tray.click("Start");
    tray.wait_status("Running");

    let choices = std::fs::read_to_string(env.answers().with_extension("choices")).unwrap();
    assert_eq!(
        choices,
        format!(
            "Use the built-in engine\nUse {} (found on PATH)\n",
            link.display()
        )
    );
    assert_runs_path_binary(&env, &link);
}

#[test]
fn command_stop_and_restart_are_not_crashes() {
    let Some(bus) = Bus::start() else { return };
    let Some(env) = TestHome::with_settings(
        "cli-stop-test-1",
        r#"{"autoRestart":true,"autoOpenWebUI":false}"#,
    ) else {
        return;
    };
    let (_notifications, received) = serve_notifications(&bus);
    let tray = Tray::launch(&bus, &env);
    tray.click("Start");
    tray.wait_status("Running (v0.1.0");
    wait_notification(&received, "Started CLIProxyAPI");
    let home = cpa_core::home::Home::at(&env.home).unwrap();
    let first = env.record().expect("server record").pid;

    // What `cpa-tray stop` does: the tray reports a stop and restarts nothing.
    let outcome = cpa_core::supervisor::stop(&home, Duration::from_secs(5)).unwrap();
    assert!(
        matches!(outcome, cpa_core::supervisor::StopOutcome::Stopped { pid, .. } if pid == first)
    );
    wait_notification(&received, "Stopped");
    tray.wait_status("Not Running");
    std::thread::sleep(Duration::from_secs(3));
    let bodies = notification_bodies(&received);
    assert!(
        !bodies
            .iter()
            .any(|body| body.starts_with("CLIProxyAPI exited") || body.starts_with("Restarting")),
        "{bodies:?}"
    );
    assert!(env.record().is_none(), "nothing was started again");
    assert!(!process_alive(first));

    // What `cpa-tray restart` does: stop, then start a new server. The tray
    // follows it, so Exit stops it.
    tray.click("Start");
    tray.wait_status("Running (v0.1.0");
    let second = env.record().expect("server record").pid;
    cpa_core::supervisor::stop(&home, Duration::from_secs(5)).unwrap();
    let engine = cpa_core::supervisor::Engine {
        program: env.engine.clone(),
        leading_args: Vec::new(),
        kind: cpa_core::supervisor::EngineKind::Builtin,
        version: "0.1.0".into(),
    };
    let address = cpa_core::supervisor::ServerAddress {
        host: "127.0.0.1".into(),
        port: env.port,
        tls: false,
    };
    let started = cpa_core::supervisor::start(
        &home,
        &engine,
        &address,
        &cpa_core::supervisor::StartOptions::default(),
    )
    .unwrap();
    let third = started.record.pid;
    assert_ne!(second, third);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(env.record().map(|record| record.pid), Some(third));
    tray.click("Exit");
    wait_for(
        Duration::from_secs(15),
        "Exit to stop the restarted server",
        || (!process_alive(third)).then_some(()),
    );
    let bodies = notification_bodies(&received);
    assert!(
        !bodies
            .iter()
            .any(|body| body.starts_with("CLIProxyAPI exited")),
        "{bodies:?}"
    );
    drop(started);
}

/// A server that a CLI command started is not the tray's child, so only the
/// status check sees it die; that is still reported as a crash and, with
/// Auto Restart on, the tray starts a server of its own.
#[test]
fn command_started_server_crash_is_reported() {
    let Some(bus) = Bus::start() else { return };
    let Some(env) = TestHome::with_settings(
        "cli-crash-test-1",
        r#"{"autoRestart":true,"autoOpenWebUI":false}"#,
    ) else {
        return;
    };
    let (_notifications, received) = serve_notifications(&bus);
    let home = cpa_core::home::Home::at(&env.home).unwrap();
    let engine = cpa_core::supervisor::Engine {
        program: env.engine.clone(),
        leading_args: Vec::new(),
        kind: cpa_core::supervisor::EngineKind::Builtin,
        version: "0.1.0".into(),
    };
    let address = cpa_core::supervisor::ServerAddress {
        host: "127.0.0.1".into(),
        port: env.port,
        tls: false,
    };
    // What `cpa-tray start` does before the tray runs.
    let mut started = cpa_core::supervisor::start(
        &home,
        &engine,
        &address,
        &cpa_core::supervisor::StartOptions::default(),
    )
    .unwrap();
    let first = started.record.pid;
    let tray = Tray::launch(&bus, &env);
    tray.wait_status("Running (v0.1.0");

    // SIGKILL, reaped here as the CLI's shell would, so the pid is gone.
    started.child.kill().unwrap();
    started.child.wait().unwrap();
    let exited = format!("CLIProxyAPI exited (pid {first})");
    wait_notification_where(
        &received,
        Duration::from_secs(15),
        "the crash notification",
        |body| body.starts_with(&exited),
    );
    wait_notification_where(
        &received,
        Duration::from_secs(5),
        "the restart notice",
        |body| body.starts_with("Restarting"),
    );
    let second = wait_for(Duration::from_secs(20), "the tray's own restart", || {
        env.record()
            .map(|record| record.pid)
            .filter(|pid| *pid != first && process_alive(*pid))
    });
    tray.wait_status("Running (v0.1.0");

    // The restarted server is the tray's own, so Exit stops it.
    tray.click("Exit");
    wait_for(Duration::from_secs(15), "Exit to stop the server", || {
        (!process_alive(second)).then_some(())
    });
}

#[test]
fn first_start_download_cancel_says_download_cancelled() {
    let Some(bus) = Bus::start() else { return };
    let Some(mut env) = first_start_home() else {
        return;
    };
    let _releases = env.publish_engine("v1.0.0", true);
    let (_notifications, received) = serve_notifications(&bus);
    let tray = Tray::launch(&bus, &env);

    // Download, then Cancel in the progress window: the built-in engine
    // starts once, and the notice speaks of the download, not an update.
    env.script("first\ncancel\n");
    tray.click("Start");
    wait_notification(
        &received,
        &format!(
            "Download cancelled\n{}",
            cpa_core::messages::Msg::EngineBuiltinNotice.text(cpa_core::messages::Lang::En)
        ),
    );
    tray.wait_status("Running");
    assert!(!env.home.join("versions/v1.0.0").exists());
    let bodies = notification_bodies(&received);
    assert!(
        !bodies.iter().any(|body| body.contains("Update cancelled")),
        "{bodies:?}"
    );
}

#[test]
fn command_stop_cancels_pending_auto_restart() {
    let Some(bus) = Bus::start() else { return };
    let Some(env) = TestHome::with_settings(
        "restart-wait-1",
        r#"{"autoRestart":true,"autoOpenWebUI":false}"#,
    ) else {
        return;
    };
    let (_notifications, received) = serve_notifications(&bus);
    let tray = Tray::launch(&bus, &env);
    tray.click("Start");
    tray.wait_status("Running (v0.1.0");
    let home = cpa_core::home::Home::at(&env.home).unwrap();
    let first = env.record().expect("server record").pid;

    // A crash starts the 1 s restart wait; what `cpa-tray stop` does then
    // cancels it.
    let killed = Command::new("kill")
        .args(["-KILL", &first.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let pending = wait_for(Duration::from_secs(10), "the announced restart", || {
        cpa_core::supervisor::pending_restart(&home)
    });
    assert_eq!(pending.supervisor_pid, tray.child.id());
    let cancelled = cpa_core::supervisor::cancel_pending_restart(&home).unwrap();
    assert_eq!(cancelled, Some(tray.child.id()));
    wait_notification(
        &received,
        "Restart cancelled by `cpa-tray stop`. Nothing is running.",
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        env.record().is_none(),
        "the tray started a server after the stop"
    );
    assert_eq!(tray.status_line(), "Not Running");
}

/// Turns remote management on in the home's config.
fn allow_remote(env: &TestHome) {
    let path = env.home.join("config.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("allow-remote: false"), "{text}");
    std::fs::write(
        &path,
        text.replace("allow-remote: false", "allow-remote: true"),
    )
    .unwrap();
}

#[test]
fn remote_minimum_applies_to_reset() {
    let Some(bus) = Bus::start() else { return };
    let hash = cpa_config::secret::hash_password_with_cost("Old-password-1", 4).unwrap();
    let Some(env) = TestHome::new(&hash) else {
        return;
    };
    allow_remote(&env);
    let (_notifications, received) = serve_notifications(&bus);
    let tray = Tray::launch(&bus, &env);

    // 8 bytes pass the general rule but not the 12 that remote access needs,
    // so OK stays disabled and the only way out is Cancel.
    env.script("password:Short-p1\n");
    tray.click("Reset Password");
    wait_for(Duration::from_secs(10), "the dialog to be answered", || {
        let asked = std::fs::read_to_string(env.answers().with_extension("asked")).ok()?;
        (asked == "password\n" && tray.item("Reset Password").enabled).then_some(())
    });
    assert_eq!(env.secret(), hash, "the short password was stored");
    assert!(
        !notification_bodies(&received).contains(&"Password updated".to_string()),
        "{:?}",
        notification_bodies(&received)
    );

    env.script("password:Long-enough-p1\n");
    tray.click("Reset Password");
    wait_notification(&received, "Password updated");
    assert!(cpa_config::secret::verify_password(
        "Long-enough-p1",
        &env.secret()
    ));
}

#[test]
fn remote_minimum_applies_to_first_run() {
    let Some(bus) = Bus::start() else { return };
    let Some(env) = TestHome::new("") else { return };
    allow_remote(&env);
    let (_notifications, received) = serve_notifications(&bus);
    let tray = Tray::launch(&bus, &env);

    env.script("password:Short-p1\n");
    tray.click("Start");
    wait_notification(&received, "Password not set. Start cancelled.");
    assert_eq!(env.secret(), "");
    assert!(!env.serving());
    assert_eq!(tray.status_line(), "Not Running");
}

#[test]
fn reset_restart_verifies_new_key() {
    let Some(bus) = Bus::start() else { return };
    let hash = cpa_config::secret::hash_password_with_cost("Old-password-1", 4).unwrap();
    let Some(env) = TestHome::new(&hash) else {
        return;
    };
    let (_notifications, received) = serve_notifications(&bus);
    let tray = Tray::launch(&bus, &env);
    tray.click("Start");
    tray.wait_status("Running");

    // "Yes" restarts; the dialog process then sends the one check request.
    env.script("password:New-password-2\nyes\n");
    tray.click("Reset Password");
    wait_notification(&received, "Password updated");
    wait_notification(&received, "Password active");
    tray.wait_status("Running (v0.1.0, built-in engine)");
    assert!(cpa_config::secret::verify_password(
        "New-password-2",
        &env.secret()
    ));
    let bodies = notification_bodies(&received);
    let updated = bodies.iter().position(|body| body == "Password updated");
    let started = bodies
        .iter()
        .rposition(|body| body == "Started CLIProxyAPI");
    let active = bodies.iter().position(|body| body == "Password active");
    assert!(updated < started, "order of {bodies:?}");
    assert!(started < active, "order of {bodies:?}");

    // The restarted server accepts the new key and rejects the old one.
    assert_eq!(management_status(env.port, "New-password-2"), 200);
    assert_eq!(management_status(env.port, "Old-password-1"), 401);
}

/// Sends one `GET /v0/management/config` with `password` and returns the status.
fn management_status(port: u16, password: &str) -> u16 {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let bearer = format!("Bearer {password}");
    cpa_core::supervisor::http::get(
        addr,
        "/v0/management/config",
        &[("Authorization", bearer.as_str())],
        Duration::from_secs(5),
    )
    .expect("management request")
    .status
}

#[test]
fn exit_signals_stop_own_server() {
    for signal in ["TERM", "HUP", "INT"] {
        let Some(bus) = Bus::start() else { return };
        let hash = cpa_config::secret::hash_password_with_cost("Signal-pass-1", 4).unwrap();
        let Some(env) = TestHome::new(&hash) else {
            return;
        };
        let (_notifications, _received) = serve_notifications(&bus);
        let mut tray = Tray::launch(&bus, &env);
        tray.click("Start");
        tray.wait_status("Running");
        let pid = env.record().expect("server record").pid;
        // The server must not inherit a blocked or ignored SIGTERM, or a
        // graceful stop could never reach it.
        let status_text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        for field in ["SigBlk:", "SigIgn:"] {
            let mask = status_text
                .lines()
                .find_map(|line| line.strip_prefix(field))
                .map(|hex| u64::from_str_radix(hex.trim(), 16).unwrap())
                .unwrap();
            let exit_bits = (1 << (15 - 1)) | (1 << (1 - 1)) | (1 << (2 - 1));
            assert_eq!(mask & exit_bits, 0, "server {field} {mask:#x}");
        }

        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(tray.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -{signal} failed");
        let status = wait_for(Duration::from_secs(15), "the tray to exit", || {
            tray.child.try_wait().unwrap()
        });
        assert!(status.success(), "SIG{signal}: tray exited with {status}");
        assert!(
            !process_alive(pid),
            "SIG{signal}: server pid {pid} still runs"
        );
        assert!(!env.serving(), "SIG{signal}: port {} still open", env.port);
        assert!(
            env.record().is_none(),
            "SIG{signal}: the server record was left behind"
        );
        let log = std::fs::read_to_string(env.home.join("logs/tray.log")).unwrap();
        assert!(
            !log.contains("KilledAfterTimeout"),
            "SIG{signal}: the server ignored the graceful stop:\n{log}"
        );
    }
}

/// Makes a file immutable (`chattr +i`, which binds root too) until dropped.
struct Immutable(PathBuf);

impl Immutable {
    fn set(path: &Path) -> Option<Immutable> {
        let done = Command::new("chattr").arg("+i").arg(path).status();
        match done {
            Ok(status) if status.success() => Some(Immutable(path.to_path_buf())),
            Ok(status) => cpa_testkit::missing_tool(&format!(
                "chattr +i support on {} (chattr exited with {status})",
                path.display()
            )),
            Err(_) => cpa_testkit::missing_tool("chattr (e2fsprogs)"),
        }
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

#[test]
fn unwritable_config_refused_before_dialog() {
    let Some(bus) = Bus::start() else { return };
    let hash = cpa_config::secret::hash_password_with_cost("Old-password-1", 4).unwrap();
    let Some(env) = TestHome::new(&hash) else {
        return;
    };
    let config = env.home.join("config.yaml");
    let Some(_immutable) = Immutable::set(&config) else {
        return;
    };
    let (_notifications, received) = serve_notifications(&bus);
    let tray = Tray::launch(&bus, &env);

    env.script("password:New-password-2\n");
    tray.click("Reset Password");
    let notice = wait_notification_where(
        &received,
        Duration::from_secs(10),
        "the not-writable notice",
        |body| body.starts_with("Cannot write the password to"),
    );
    assert!(notice.contains(&config.display().to_string()), "{notice}");
    assert!(notice.contains("Operation not permitted"), "{notice}");
    wait_for(Duration::from_secs(5), "Reset Password enabled", || {
        tray.item("Reset Password").enabled.then_some(())
    });
    assert!(
        !env.answers().with_extension("asked").exists(),
        "the dialog opened for a config it cannot write"
    );
    let bodies = notification_bodies(&received);
    assert!(
        !bodies
            .iter()
            .any(|body| body.starts_with("Failed to open the dialog")),
        "{bodies:?}"
    );
    assert_eq!(env.secret(), hash);
}

#[test]
fn dialog_save_failure_has_own_status() {
    let Some(env) = TestHome::new("") else { return };
    let config = env.home.join("config.yaml");
    env.script("password:New-password-2\n");
    // The config turns read-only after the dialog opened.
    let Some(_immutable) = Immutable::set(&config) else {
        return;
    };
    let output = Command::new(HARNESS)
        .args(["ui", "password", "--mode", "reset", "--config"])
        .arg(&config)
        .env("CPA_GUI_HARNESS_ANSWERS", env.answers())
        .stdin(Stdio::null())
        .output()
        .expect("run the harness dialog");
    assert_eq!(
        output.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&config.display().to_string()), "{stderr}");
    assert!(stderr.contains("Operation not permitted"), "{stderr}");
    assert!(
        output.stdout.is_empty(),
        "reported saved: {:?}",
        output.stdout
    );

    // In Chinese the reason is Chinese too, with the path; the OS reason
    // stays as the OS wrote it until the tray's notification translates it.
    env.script("password:New-password-2\n");
    let output = Command::new(HARNESS)
        .args([
            "ui", "password", "--mode", "reset", "--lang", "zh-CN", "--config",
        ])
        .arg(&config)
        .env("CPA_GUI_HARNESS_ANSWERS", env.answers())
        .stdin(Stdio::null())
        .output()
        .expect("run the harness dialog");
    assert_eq!(output.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let reason = stderr.lines().last().unwrap_or_default();
    assert!(reason.contains(&config.display().to_string()), "{stderr}");
    assert!(reason.contains("无法写入配置文件"), "{stderr}");
    let notice = cpa_gui::text::Text::PasswordWriteFailed {
        detail: reason.trim_start_matches("cpa-tray ui: "),
    }
    .text(cpa_core::messages::Lang::ZhCn);
    assert!(notice.contains("不允许该操作"), "{notice}");
    assert!(
        !reason.contains("failed"),
        "English in the reason: {stderr}"
    );
}

#[test]
fn exit_closes_open_password_dialog() {
    let Some(bus) = Bus::start() else { return };
    let hash = cpa_config::secret::hash_password_with_cost("Old-password-1", 4).unwrap();
    let Some(env) = TestHome::new(&hash) else {
        return;
    };
    let (_notifications, received) = serve_notifications(&bus);
    let mut tray = Tray::launch(&bus, &env);

    env.script("wait\n");
    tray.click("Reset Password");
    wait_for(Duration::from_secs(10), "the password dialog", || {
        let asked = std::fs::read_to_string(env.answers().with_extension("asked")).ok()?;
        (asked == "password\n").then_some(())
    });
    tray.click("Exit");
    let status = wait_for(Duration::from_secs(10), "the tray to exit", || {
        tray.child.try_wait().unwrap()
    });
    assert!(status.success(), "tray exited with {status}");
    let bodies = notification_bodies(&received);
    assert!(
        !bodies.iter().any(|body| body.starts_with("Failed")),
        "{bodies:?}"
    );
    assert_eq!(env.secret(), hash);
}

#[test]
fn exit_during_restart_stop_spawns_nothing() {
    let Some(bus) = Bus::start() else { return };
    let hash = cpa_config::secret::hash_password_with_cost("exit-test-1", 4).unwrap();
    let Some(mut env) = TestHome::new(&hash) else {
        return;
    };
    let Some(test_server) = test_server_binary() else {
        return;
    };
    // The stand-in ignores SIGTERM, so each stop waits 5 s for the forced kill.
    env.engine = test_server;
    env.extra_env
        .push(("CPA_TEST_SERVER".into(), "--ignore-sigterm".into()));
    let (_notifications, _received) = serve_notifications(&bus);
    let mut tray = Tray::launch(&bus, &env);
    tray.click("Start");
    tray.wait_status("Running");
    let first = env.record().expect("server record").pid;

    tray.click("Restart");
    tray.wait_status("Starting...");
    std::thread::sleep(Duration::from_millis(500));
    tray.click("Exit");
    let status = wait_for(Duration::from_secs(30), "the tray to exit", || {
        tray.child.try_wait().unwrap()
    });
    assert!(status.success(), "tray exited with {status}");
    assert!(!process_alive(first), "server pid {first} still runs");
    let log = std::fs::read_to_string(env.home.join("logs/engine.log")).unwrap_or_default();
    let starts = log.matches("API server started successfully").count();
    assert_eq!(starts, 1, "a server was spawned after Exit:\n{log}");
    assert!(env.record().is_none(), "a server record was left behind");
}

#[test]
fn port_conflict_names_owner() {
    let Some(bus) = Bus::start() else { return };
    let hash = cpa_config::secret::hash_password_with_cost("Port-pass-1", 4).unwrap();
    let Some(env) = TestHome::new(&hash) else {
        return;
    };
    // This test process holds the server's port.
    let _holder = std::net::TcpListener::bind(("127.0.0.1", env.port)).unwrap();
    let (_notifications, received) = serve_notifications(&bus);
    let tray = Tray::launch(&bus, &env);

    tray.click("Start");
    let failed = wait_notification_where(
        &received,
        Duration::from_secs(15),
        "the start failure",
        |body| body.starts_with("Start failed:"),
    );
    let owner = format!("(pid {})", std::process::id());
    assert!(
        failed.contains(&format!("Port {} is already in use by", env.port)),
        "{failed}"
    );
    assert!(failed.contains(&owner), "{failed}");
    assert_eq!(tray.status_line(), "Not Running");
}

#[test]
fn example_api_keys_warn_at_start() {
    let Some(bus) = Bus::start() else { return };
    let hash = cpa_config::secret::hash_password_with_cost("Keys-pass-1", 4).unwrap();
    let Some(env) = TestHome::new(&hash) else {
        return;
    };
    let config = env.home.join("config.yaml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("api-keys:\n  - your-api-key-1\n  - my-own-key-123\n");
    std::fs::write(&config, text).unwrap();
    let (_notifications, received) = serve_notifications(&bus);
    let tray = Tray::launch(&bus, &env);

    tray.click("Start");
    tray.wait_status("Running");
    // The built-in engine runs in safe mode, as upstream does, and the tray
    // reports it.
    let warning = wait_notification_where(
        &received,
        Duration::from_secs(15),
        "the safe-mode notice",
        |body| body.starts_with("The server runs in safe mode"),
    );
    assert!(warning.contains("(your-api-key-1)"), "{warning}");
    assert!(!warning.contains("my-own-key-123"), "{warning}");
    assert!(warning.contains(&config.display().to_string()), "{warning}");
}

#[test]
fn about_without_display_names_commands() {
    let Some(bus) = Bus::start() else { return };
    let Some(env) = TestHome::new("") else { return };
    let (_notifications, received) = serve_notifications(&bus);
    let tray = Tray::launch_with(&bus, &env, "en", false);

    tray.click("About");
    let notice = wait_notification_where(
        &received,
        Duration::from_secs(10),
        "the About failure notice",
        |body| body.starts_with("Failed to open the About window:"),
    );
    assert!(
        notice.ends_with(
            "Run `cpa-tray --version` and `cpa-tray status` in a terminal for the same facts."
        ),
        "{notice}"
    );
}
