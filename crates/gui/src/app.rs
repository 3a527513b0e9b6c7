//! The tray application: state, menu actions and the event loop.
//!
//! One thread owns the tray and the [`MenuState`]. It waits on a channel and
//! wakes up only for an event: a menu click, an icon click, the result of a
//! worker, the exit of the server this tray started, or a status check every
//! [`STATUS_CHECK_INTERVAL`]. Long work (start, stop, dialogs, opening a
//! browser) runs on worker threads that report back through the channel, so
//! the menu never blocks. While a long action runs the state is marked busy,
//! which disables every action that would race it.
//!
//! For as long as the tray runs it holds a `RotationWatch`: one size check of
//! the server log per minute, which rotates the log past 5 MiB (see
//! `cpa_core::supervisor::logfile`). It covers a server started by a
//! `cpa-tray start` as well as the tray's own.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cpa_core::desktop;
use cpa_core::home::Home;
use cpa_core::instance::{self, Acquired};
use cpa_core::messages::{Lang, Msg};
use cpa_core::password_check::{KeyCheck, REMOTE_MIN_BYTES};
use cpa_core::releases::EngineSetting;
use cpa_core::settings::{Settings, SettingsStore};
use cpa_core::supervisor::{
    self, Engine, EngineKind, Liveness, ServerAddress, StopOutcome, logfile,
};
use cpa_core::template;

use crate::autostart;
use crate::dialog::forms::ConfirmQuestion;
use crate::dialog::password::Mode;
use crate::dialog::password::{CHECK_REQUEST, decode_key_check};
use crate::dialog::{EXIT_ACCEPTED, EXIT_CANCELLED, EXIT_SAVE_FAILED, Invocation, Request};
use crate::model::{Busy, Item, MenuState, ServerState};
use crate::notify::{self, Level};
use crate::text::Text;
use crate::tray_ui::TrayUi;
use update::UpdateMode;

mod first_start;
mod update;

/// How often the tray re-reads the server record, to notice a server that a
/// CLI command started or stopped. The server this tray started is watched
/// by a thread blocked in `wait`, which needs no polling.
pub const STATUS_CHECK_INTERVAL: Duration = Duration::from_secs(5);

/// How often a worker checks whether its dialog process ended.
const DIALOG_POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Restarts after a crash wait 1, 2, 4, 8 and 16 s, then give up.
const MAX_AUTO_RESTARTS: u32 = 5;

/// A server that ran this long before exiting resets the restart count.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

/// Environment variable with the seconds between two size checks of the
/// server log (default 60). The same variable `cpa-tray start --foreground`
/// reads; tests set a fraction of a second.
const LOG_CHECK_SECONDS_ENV: &str = "CPA_TRAY_LOG_CHECK_SECONDS";

/// Chooses the server program for a start from the current settings.
pub type EngineSelector = Arc<dyn Fn(&Settings) -> Result<Engine, String> + Send + Sync>;

/// Everything [`run_tray`] needs from its caller.
#[derive(Clone)]
pub struct TrayOptions {
    pub home: Home,
    /// The language chosen on the command line; otherwise the `language`
    /// setting, then the system locale.
    pub lang: Option<Lang>,
    pub engine: EngineSelector,
    /// Program and leading arguments that run a dialog, e.g. `cpa-tray ui`;
    /// the dialog arguments of [`crate::run_dialog`] are appended.
    pub dialog_program: PathBuf,
    pub dialog_args: Vec<OsString>,
    /// Command line that Start at Login runs; `None` disables the item.
    pub login_command: Option<Vec<OsString>>,
    /// Start the server when the tray starts, as the original tray did.
    pub start_on_launch: bool,
    /// At a first start (no `engine` setting, no installed release), ask
    /// whether to download CLIProxyAPI or use the built-in engine.
    pub offer_engine_choice: bool,
}

/// Something for the tray thread to handle.
pub enum Event {
    Menu(String),
    /// Left click on Linux, double click on Windows.
    Activate,
    /// A worker finished or progressed; the closure updates the state.
    Update(Box<dyn FnOnce(&mut MenuState) + Send>),
    ServerExited {
        pid: u32,
        status: String,
    },
    StatusCheck,
    /// Start the server again after a crash (auto restart).
    AutoRestart,
    /// A second tray for the same home folder was started and poked this one.
    Poke,
    /// SIGTERM, SIGHUP or SIGINT arrived; the tray exits as Exit does.
    ExitSignal(&'static str),
}

/// Sends an event to the tray thread from any thread.
pub type EventSink = Arc<dyn Fn(Event) + Send + Sync>;

/// State shared with worker threads.
struct Shared {
    options: TrayOptions,
    events: EventSink,
    store: Mutex<SettingsStore>,
    settings: Mutex<Settings>,
    /// Pid and start time of the server this tray started and still watches.
    owned: Mutex<Option<(u32, Instant)>>,
    /// Pids whose exit is expected (stopped by a menu action).
    expected_exits: Mutex<Vec<u32>>,
    restart_attempts: AtomicU32,
    /// Set by the progress window's Cancel and by Exit; ends a download.
    cancel_update: AtomicBool,
    /// Set when the user chose Exit; a start that has not spawned the server
    /// yet gives up instead.
    exiting: AtomicBool,
    /// The dialog process while its window is open, so Exit can end it.
    dialog: Mutex<Option<std::process::Child>>,
}

impl Shared {
    fn settings(&self) -> Settings {
        self.settings.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn send(&self, event: Event) {
        (self.events)(event);
    }

    fn update(&self, change: impl FnOnce(&mut MenuState) + Send + 'static) {
        self.send(Event::Update(Box::new(change)));
    }

    fn expect_exit_of_owned(&self) {
        let owned = self.owned.lock().ok().and_then(|mut owned| owned.take());
        if let (Some((pid, _)), Ok(mut expected)) = (owned, self.expected_exits.lock()) {
            expected.push(pid);
        }
    }
}

/// The tray thread's state.
pub struct Controller {
    shared: Arc<Shared>,
    state: MenuState,
    ui: Option<TrayUi>,
    /// Exit was chosen while a long action ran; exit when it ends.
    exit_pending: bool,
    /// Start the server once the current action (Auto Update) ends.
    start_when_idle: bool,
    /// Unix seconds when `cpa-tray stop` or `restart` ended the server this
    /// tray watched; Exit also stops a server started since (a CLI restart).
    stopped_by_command_at: Option<u64>,
    quit: bool,
}

impl Controller {
    /// Loads the settings and the server state; does not create the tray yet.
    pub fn new(options: TrayOptions, events: EventSink) -> Controller {
        let home = &options.home;
        if let Err(err) = home.create_dirs() {
            notify::log(&format!(
                "failed to create {}: {err}",
                home.root().display()
            ));
        }
        notify::set_log_file(&home.logs_dir().join("tray.log"));
        let mut store = SettingsStore::new(home.settings_path(), home.settings_fallback_path());
        let loaded = store.load();
        let lang = Lang::resolve(options.lang, loaded.settings.language());
        let settings = loaded.settings;
        let state = MenuState {
            lang,
            server: read_server_state(home),
            busy: None,
            auto_open_webui: settings.auto_open_webui(),
            auto_update: settings.auto_update(),
            auto_restart: settings.auto_restart(),
            start_at_login: options
                .login_command
                .as_ref()
                .and_then(|_| autostart::is_enabled()),
            config_exists: home.config_path().is_file(),
            restart_reminder: false,
        };
        let shared = Arc::new(Shared {
            options,
            events,
            store: Mutex::new(store),
            settings: Mutex::new(settings),
            owned: Mutex::new(None),
            expected_exits: Mutex::new(Vec::new()),
            restart_attempts: AtomicU32::new(0),
            cancel_update: AtomicBool::new(false),
            exiting: AtomicBool::new(false),
            dialog: Mutex::new(None),
        });
        Controller {
            shared,
            state,
            ui: None,
            exit_pending: false,
            start_when_idle: false,
            stopped_by_command_at: None,
            quit: false,
        }
    }

    /// Creates the tray icon. Without a session bus or tray host the tray
    /// logs why and keeps running without an icon.
    pub fn create_tray(&mut self) {
        match TrayUi::build(&self.state) {
            Ok(ui) => {
                notify::log("tray icon registered");
                self.ui = Some(ui);
            }
            Err(detail) => {
                let text = Text::TrayUnavailable { detail: &detail }.text(self.state.lang);
                notify::log(&text);
            }
        }
        // Auto Update runs first, so a start uses the new version.
        if self.state.auto_update {
            self.start_when_idle = self.shared.options.start_on_launch;
            self.begin_update(UpdateMode::Automatic);
        } else if self.shared.options.start_on_launch && !self.state.server.is_running() {
            self.begin_start();
        }
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    pub fn handle(&mut self, event: Event) {
        let clicked_check =
            matches!(&event, Event::Menu(id) if Item::from_id(id).is_some_and(Item::is_check));
        match event {
            Event::Menu(id) => match Item::from_id(&id) {
                Some(item) => self.on_item(item),
                None => notify::log(&format!("ignored click on unknown menu id {id}")),
            },
            Event::Activate => {
                if self.state.server.is_running() {
                    self.open_webui();
                } else if self.state.enabled(Item::Start) {
                    self.begin_start();
                }
            }
            Event::Update(change) => {
                change(&mut self.state);
                if self.exit_pending && self.state.busy.is_none() {
                    self.exit();
                } else if self.start_when_idle && self.state.busy.is_none() {
                    self.start_when_idle = false;
                    if !self.state.server.is_running() {
                        self.begin_start();
                    }
                }
            }
            Event::Poke => {
                let status = self.state.status_line();
                let text = Text::AlreadyRunningNotice { status: &status }.text(self.state.lang);
                notify::notify(Level::Info, text);
            }
            Event::ServerExited { pid, status } => self.on_server_exit(pid, &status),
            Event::ExitSignal(name) => {
                notify::log(&format!("received {name}; exiting as Exit does"));
                self.exit();
            }
            Event::StatusCheck => {
                if self.state.busy.is_none() {
                    let was_running = self.state.server.is_running();
                    self.state.server = read_server_state(&self.shared.options.home);
                    if was_running && !self.state.server.is_running() {
                        self.on_unowned_server_gone();
                    }
                }
                self.state.config_exists = self.shared.options.home.config_path().is_file();
            }
            Event::AutoRestart => {
                if self.state.busy.is_none()
                    && !self.state.server.is_running()
                    && !self.shared.exiting.load(Ordering::SeqCst)
                {
                    self.begin_start();
                }
            }
        }
        if let Some(ui) = &mut self.ui {
            ui.apply(&self.state);
            if clicked_check {
                ui.reset_checks(&self.state);
            }
        }
    }

    fn on_item(&mut self, item: Item) {
        // A D-Bus client can click a disabled item; the state decides.
        if !self.state.enabled(item) {
            notify::log(&format!("ignored click on disabled item {}", item.id()));
            return;
        }
        notify::log(&format!("menu: {}", item.id()));
        match item {
            Item::Start | Item::Restart => self.begin_start(),
            Item::Stop => self.begin_stop(),
            Item::OpenWebUi => self.open_webui(),
            Item::OpenFolder => {
                let root = self.shared.options.home.root().to_path_buf();
                self.open_path(root);
            }
            Item::OpenConfig => {
                let config = self.shared.options.home.config_path().to_path_buf();
                if config.is_file() {
                    self.open_path(config);
                } else {
                    notify::notify(Level::Warning, Text::ConfigNotFound.text(self.state.lang));
                }
            }
            Item::OpenLogs => {
                let logs = self.shared.options.home.logs_dir();
                self.open_path(logs);
            }
            Item::AutoOpenWebUi => {
                let value = !self.state.auto_open_webui;
                if self.save_setting("autoOpenWebUI", value.into()) {
                    self.state.auto_open_webui = value;
                }
            }
            Item::AutoUpdate => {
                let value = !self.state.auto_update;
                if self.save_setting("autoUpdate", value.into()) {
                    self.state.auto_update = value;
                }
            }
            Item::AutoRestart => {
                let value = !self.state.auto_restart;
                if self.save_setting("autoRestart", value.into()) {
                    self.state.auto_restart = value;
                }
            }
            Item::StartAtLogin => self.toggle_start_at_login(),
            Item::LanguageEnglish => self.set_language(Lang::En),
            Item::LanguageChinese => self.set_language(Lang::ZhCn),
            Item::ResetPassword => self.begin_reset_password(),
            Item::Update => self.begin_update(UpdateMode::Interactive),
            Item::About => self.show_about(),
            Item::Exit => self.exit(),
            Item::Status | Item::Open | Item::Settings | Item::Language => {}
        }
    }

    fn save_setting(&mut self, field: &str, value: serde_json::Value) -> bool {
        let mut settings = self.shared.settings();
        settings.set(field, value);
        let saved = match self.shared.store.lock() {
            Ok(mut store) => store.save(&settings).map_err(|err| err.to_string()),
            Err(_) => Err("the settings store is unavailable".to_string()),
        };
        match saved {
            Ok(path) => {
                notify::log(&format!("saved {field} to {}", path.display()));
                if let Ok(mut shared) = self.shared.settings.lock() {
                    *shared = settings;
                }
                true
            }
            Err(detail) => {
                let text = Msg::SettingsSaveFailed { detail: &detail }.text(self.state.lang);
                notify::notify(Level::Error, text);
                false
            }
        }
    }

    fn set_language(&mut self, lang: Lang) {
        if self.save_setting("language", lang.tag().into()) {
            self.state.lang = lang;
        }
    }

    fn toggle_start_at_login(&mut self) {
        let Some(command) = self.shared.options.login_command.clone() else {
            return;
        };
        let enable = !self.state.start_at_login.unwrap_or(false);
        match autostart::set_enabled(enable, &command) {
            Ok(()) => self.state.start_at_login = autostart::is_enabled(),
            Err(err) => {
                let detail = err.to_string();
                let text = Text::StartAtLoginFailed { detail: &detail }.text(self.state.lang);
                notify::notify(Level::Error, text);
            }
        }
    }

    fn begin_start(&mut self) {
        self.state.busy = Some(Busy::Starting);
        let shared = self.shared.clone();
        let lang = self.state.lang;
        spawn_worker("start", move || {
            let server = start_flow(&shared, lang).map(|started| started.server);
            shared.update(move |state| {
                state.busy = None;
                if let Some(server) = server {
                    state.server = server;
                    state.restart_reminder = false;
                }
            });
        });
    }

    fn begin_update(&mut self, mode: UpdateMode) {
        self.state.busy = Some(Busy::Updating);
        let shared = self.shared.clone();
        let lang = self.state.lang;
        spawn_worker("update", move || {
            update::update_flow(&shared, lang, mode);
            let server = read_server_state(&shared.options.home);
            shared.update(move |state| {
                state.busy = None;
                state.server = server;
            });
        });
    }

    fn begin_stop(&mut self) {
        self.state.busy = Some(Busy::Stopping);
        let shared = self.shared.clone();
        let lang = self.state.lang;
        spawn_worker("stop", move || {
            stop_flow(&shared, lang);
            let server = read_server_state(&shared.options.home);
            shared.update(move |state| {
                state.busy = None;
                state.server = server;
                state.restart_reminder = false;
            });
        });
    }

    fn begin_reset_password(&mut self) {
        self.state.busy = Some(Busy::Password);
        let shared = self.shared.clone();
        let lang = self.state.lang;
        let running = self.state.server.is_running();
        spawn_worker("reset-password", move || {
            reset_flow(&shared, lang, running);
        });
    }

    fn open_webui(&self) {
        let home = self.shared.options.home.clone();
        let lang = self.state.lang;
        spawn_worker("open-webui", move || {
            let Some(record) = supervisor::record::read(&home.pid_file_path())
                .ok()
                .flatten()
            else {
                notify::notify(Level::Info, Text::NotListening.text(lang));
                return;
            };
            let listening = record.probe.parse::<SocketAddr>().is_ok_and(|addr| {
                TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
            });
            if !listening {
                notify::notify(Level::Info, Text::NotListening.text(lang));
                return;
            }
            let scheme = if record.tls { "https" } else { "http" };
            let url = format!("{scheme}://{}/management.html", record.probe);
            open_target(&url, lang);
        });
    }

    fn open_path(&self, path: PathBuf) {
        let lang = self.state.lang;
        spawn_worker("open", move || open_target(&path.to_string_lossy(), lang));
    }

    fn show_about(&self) {
        let shared = self.shared.clone();
        let invocation = Invocation {
            request: Request::About {
                server: self.state.status_line(),
            },
            lang: self.state.lang,
        };
        spawn_worker("about", move || {
            if let DialogResult::Failed(detail) = run_dialog_child(&shared, &invocation) {
                notify::log(&format!("about dialog failed: {detail}"));
                let text = Text::AboutUnavailable { detail: &detail };
                notify::notify(Level::Error, text.text(invocation.lang));
            }
        });
    }

    /// Stops the server this tray started and quits. While a start, stop,
    /// update or password change runs, Exit waits for it to end. An open
    /// dialog is closed as if cancelled, a start that has not spawned the
    /// server yet gives up, a download is cancelled, and a server spawned
    /// meanwhile is stopped.
    fn exit(&mut self) {
        self.shared.exiting.store(true, Ordering::SeqCst);
        self.shared.cancel_update.store(true, Ordering::SeqCst);
        if let Some(busy) = self.state.busy {
            if !self.exit_pending {
                notify::log(&format!("exit chosen while {busy:?}; exiting when it ends"));
            }
            // An open dialog would keep the action, and so the exit, waiting
            // for the user.
            end_dialog(&self.shared);
            self.exit_pending = true;
            return;
        }
        // Stop only the server this tray started; one started from the CLI stays.
        let owned = self.shared.owned.lock().ok().and_then(|owned| *owned);
        if owned.is_some() || self.restarted_by_command() {
            stop_flow(&self.shared, self.state.lang);
        }
        notify::log("exiting");
        self.quit = true;
    }

    /// Reports the crash of a server that a CLI command started: a status
    /// check found its record but not its process. The report matches a crash
    /// of the tray's own server (a notification, then an automatic restart
    /// when that is on). A `cpa-tray stop` removes the record, so it never
    /// looks like a crash here.
    fn on_unowned_server_gone(&mut self) {
        if self.shared.owned.lock().is_ok_and(|owned| owned.is_some()) {
            return;
        }
        let home = &self.shared.options.home;
        if let Ok(Some(record)) = supervisor::record::read(&home.pid_file_path())
            && record.liveness() != Liveness::Ours
        {
            let pid = record.pid;
            notify::log(&format!("server pid {pid} started by a command is gone"));
            self.on_server_exit(pid, &format!("pid {pid}"));
        }
    }

    fn on_server_exit(&mut self, pid: u32, status: &str) {
        let expected = match self.shared.expected_exits.lock() {
            Ok(mut expected) => match expected.iter().position(|p| *p == pid) {
                Some(index) => {
                    expected.remove(index);
                    true
                }
                None => false,
            },
            Err(_) => false,
        };
        // Reads and clears the note a stop leaves, also after the tray's own stop.
        let requested = supervisor::stop_was_requested(&self.shared.options.home, pid);
        if expected {
            return;
        }
        if requested {
            // `cpa-tray stop` or `restart` ended it: a stop, never a crash.
            if let Ok(mut owned) = self.shared.owned.lock()
                && owned.is_some_and(|(owned_pid, _)| owned_pid == pid)
            {
                *owned = None;
                // Leeway for a restart that spawned while this event waited.
                self.stopped_by_command_at = Some(unix_seconds().saturating_sub(5));
            }
            self.shared.restart_attempts.store(0, Ordering::SeqCst);
            self.state.server = read_server_state(&self.shared.options.home);
            notify::log(&format!("server pid {pid} was stopped by a command"));
            notify::notify(Level::Info, Text::Stopped.text(self.state.lang));
            return;
        }
        let mut ran_for = None;
        if let Ok(mut owned) = self.shared.owned.lock()
            && let Some((owned_pid, since)) = *owned
            && owned_pid == pid
        {
            ran_for = Some(since.elapsed());
            *owned = None;
        }
        self.state.server = read_server_state(&self.shared.options.home);
        let log = self.shared.options.home.engine_log_path();
        let text = Text::ServerExited {
            status,
            log: &log.display().to_string(),
        }
        .text(self.state.lang);
        notify::notify(Level::Error, text);

        if !self.state.auto_restart || self.state.server.is_running() {
            return;
        }
        if ran_for.is_some_and(|ran_for| ran_for >= HEALTHY_RUN) {
            self.shared.restart_attempts.store(0, Ordering::SeqCst);
        }
        let attempt = self.shared.restart_attempts.fetch_add(1, Ordering::SeqCst) + 1;
        if attempt > MAX_AUTO_RESTARTS {
            let text = Text::AutoRestartGaveUp {
                attempts: MAX_AUTO_RESTARTS,
            }
            .text(self.state.lang);
            notify::notify(Level::Error, text);
            return;
        }
        let seconds = 1u64 << (attempt - 1);
        let text = Text::AutoRestarting { seconds, attempt }.text(self.state.lang);
        notify::notify(Level::Warning, text);
        let shared = self.shared.clone();
        let lang = self.state.lang;
        spawn_worker("auto-restart", move || {
            // `cpa-tray stop` during the wait cancels the restart.
            // NOTE: a stop between the end of the wait and the start's home
            // lock finds nothing to cancel and does not stop the new server.
            let home = &shared.options.home;
            if supervisor::wait_to_restart(home, Duration::from_secs(seconds)) {
                supervisor::finish_restart(home);
                shared.send(Event::AutoRestart);
            } else {
                notify::log("auto restart cancelled by `cpa-tray stop`");
                notify::notify(Level::Info, Msg::ForegroundRestartCancelled.text(lang));
            }
        });
    }
}

impl Controller {
    /// Returns whether a server of ours runs that a CLI `restart` started
    /// after it stopped the server this tray watched.
    fn restarted_by_command(&self) -> bool {
        let Some(stopped_at) = self.stopped_by_command_at else {
            return false;
        };
        let home = &self.shared.options.home;
        matches!(
            supervisor::record::read(&home.pid_file_path()),
            Ok(Some(record)) if record.started_at >= stopped_at && record.liveness() == Liveness::Ours
        )
    }
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or(0)
}

/// Reads the server state from the record in the home folder (no network).
pub fn read_server_state(home: &Home) -> ServerState {
    match supervisor::record::read(&home.pid_file_path()) {
        Ok(Some(record)) if record.liveness() == Liveness::Ours => ServerState::Running {
            builtin: record.engine == EngineKind::Builtin.as_str(),
            version: record.version,
            port: record.port,
        },
        _ => ServerState::Stopped,
    }
}

fn spawn_worker(name: &str, work: impl FnOnce() + Send + 'static) {
    if let Err(err) = std::thread::Builder::new()
        .name(format!("tray-{name}"))
        .spawn(work)
    {
        notify::log(&format!("failed to start the {name} worker: {err}"));
    }
}

fn open_target(target: &str, lang: Lang) {
    if let Err(err) = desktop::open_url(target) {
        let detail = err.to_string();
        notify::notify(
            Level::Error,
            Msg::OpenFailed {
                target,
                detail: &detail,
            }
            .text(lang),
        );
    }
}

/// Outcome of a dialog child process, from its exit status.
enum DialogResult {
    Accepted,
    Cancelled,
    Failed(String),
}

/// Returns the command that runs `invocation` as a dialog child process.
fn dialog_command(options: &TrayOptions, invocation: &Invocation) -> Command {
    let mut command = Command::new(&options.dialog_program);
    command
        .args(&options.dialog_args)
        .args(invocation.to_args());
    // The dialog is a console program, so when the console-less tray starts
    // it, Windows would give it a console window of its own.
    #[cfg(windows)]
    crate::windows::hide_console(&mut command);
    command
}

/// Runs a dialog as a child process and waits for it.
fn run_dialog_child(shared: &Shared, invocation: &Invocation) -> DialogResult {
    match dialog_exit_code(shared, invocation) {
        Ok(code) if code == i32::from(EXIT_ACCEPTED) => DialogResult::Accepted,
        Ok(code) if code == i32::from(EXIT_CANCELLED) => DialogResult::Cancelled,
        Ok(code) => DialogResult::Failed(unexpected_exit(code, invocation.lang)),
        Err(detail) => DialogResult::Failed(detail),
    }
}

/// Returns the message, in `lang`, for a dialog process that exited with a
/// `code` that stands for no button.
pub(crate) fn unexpected_exit(code: i32, lang: Lang) -> String {
    let status = cpa_core::messages::exit_code_text(code, lang);
    Text::DialogExitStatus { status: &status }.text(lang)
}

/// Returns the message, in `lang`, for a dialog `program` that failed to start.
fn dialog_not_run(program: &std::path::Path, err: &std::io::Error, lang: Lang) -> String {
    let program = program.display().to_string();
    let detail = err.to_string();
    Text::DialogNotRun {
        program: &program,
        detail: &detail,
    }
    .text(lang)
}

/// Runs a dialog as a child process and returns its exit status. A dialog
/// that Exit ended returns [`EXIT_CANCELLED`]. The error is in the
/// invocation's language.
fn dialog_exit_code(shared: &Shared, invocation: &Invocation) -> Result<i32, String> {
    let options = &shared.options;
    let lang = invocation.lang;
    let child = dialog_command(options, invocation)
        .stdin(Stdio::null())
        .spawn()
        .map_err(|err| dialog_not_run(&options.dialog_program, &err, lang))?;
    register_dialog(shared, child);
    // Polls, so Exit can take the lock and end the dialog meanwhile.
    let status = loop {
        let polled = match shared.dialog.lock() {
            Ok(mut dialog) => match dialog.as_mut() {
                Some(child) => child.try_wait(),
                None => Err(std::io::Error::other("lost track of the dialog process")),
            },
            Err(_) => Err(std::io::Error::other("the dialog registry is unavailable")),
        };
        match polled {
            Ok(Some(status)) => break status,
            Ok(None) => std::thread::sleep(DIALOG_POLL_INTERVAL),
            Err(err) => {
                unregister_dialog(shared);
                let detail = err.to_string();
                return Err(Text::DialogWaitFailed { detail: &detail }.text(lang));
            }
        }
    };
    unregister_dialog(shared);
    if shared.exiting.load(Ordering::SeqCst) && status.code() != Some(0) {
        return Ok(i32::from(EXIT_CANCELLED));
    }
    status.code().ok_or_else(|| {
        let status = cpa_core::messages::exit_status_text(status, lang);
        Text::DialogExitStatus { status: &status }.text(lang)
    })
}

/// Creates the config from the template when it is missing.
fn ensure_config(home: &Home, lang: Lang) -> Result<(), String> {
    home.create_dirs().map_err(|err| err.to_string())?;
    match template::create_config(home.config_path()) {
        Ok(true) => {
            notify::notify(Level::Info, Text::ConfigCreated.text(lang));
            Ok(())
        }
        Ok(false) => Ok(()),
        Err(err) => Err(format!("{}: {err}", home.config_path().display())),
    }
}

/// Checks that the config can take the new password before the password
/// dialog opens, as `cpa-tray password set` does. Returns the notification text,
/// with the path and the OS error, when it cannot.
fn check_config_writable(home: &Home, lang: Lang) -> Result<(), String> {
    cpa_config::check_writable(home.config_path()).map_err(|err| {
        let detail = match &err.source {
            Some(source) => source.to_string(),
            None => err.message.clone(),
        };
        let path = home.config_path().display().to_string();
        notify::log(&format!("password change refused: {err}"));
        Text::ConfigNotWritable {
            path: &path,
            detail: &detail,
        }
        .text(lang)
    })
}

/// Returns the minimum password length the config requires: 12 bytes while
/// remote management is on, as `cpa-tray password set` enforces, else 8.
fn min_password_bytes(view: &cpa_config::ServerView) -> usize {
    if view.allow_remote.value.unwrap_or(false) {
        REMOTE_MIN_BYTES
    } else {
        cpa_core::password::MIN_BYTES
    }
}

/// Reads the server's view of the config at `path`; the error is in `lang`
/// and names the file and line.
pub(crate) fn load_view(path: &Path, lang: Lang) -> Result<cpa_config::ServerView, String> {
    let text = |err: cpa_config::ConfigError| cpa_core::messages::config_error_text(&err, lang);
    cpa_config::load(path)
        .and_then(|doc| doc.view())
        .map_err(text)
}

/// Returns where the server of `config` listens; the error is in `lang`
/// and names the file and the fix.
pub(crate) fn server_address(
    view: &cpa_config::ServerView,
    config: &Path,
    lang: Lang,
) -> Result<ServerAddress, String> {
    let path = config.display().to_string();
    let port = match view.port.value {
        None | Some(0) => return Err(Msg::PortNotSet { path: &path }.text(lang)),
        Some(port) => {
            u16::try_from(port).map_err(|_| Msg::PortInvalid { path: &path, port }.text(lang))?
        }
    };
    Ok(ServerAddress {
        host: view.host.value.clone().unwrap_or_default(),
        port,
        tls: view.tls_enable.value.unwrap_or(false),
    })
}

/// A server that [`start_flow`] started.
struct Started {
    server: ServerState,
    address: ServerAddress,
    /// Whether it responded before the readiness timeout.
    ready: bool,
}

/// Runs the whole start: config, password gate, stop of the previous server,
/// start, readiness. Returns the new server, or `None` when nothing changed.
fn start_flow(shared: &Arc<Shared>, lang: Lang) -> Option<Started> {
    let home = &shared.options.home;
    let fail = |detail: &str| {
        notify::notify(Level::Error, Msg::StartFailed { detail }.text(lang));
        None
    };
    if let Err(detail) = ensure_config(home, lang) {
        return fail(&detail);
    }
    let mut view = match load_view(home.config_path(), lang) {
        Ok(view) => view,
        Err(detail) => return fail(&detail),
    };
    if view.secret().is_empty() {
        if let Err(text) = check_config_writable(home, lang) {
            notify::notify(Level::Error, text);
            notify::notify(Level::Warning, Msg::PasswordNotSetStartCancelled.text(lang));
            return None;
        }
        let invocation = Invocation {
            request: Request::Password {
                mode: Mode::FirstRun,
                config: home.config_path().to_path_buf(),
                min_bytes: min_password_bytes(&view),
                check_key: false,
            },
            lang,
        };
        match run_password_child(shared, &invocation) {
            PasswordResult::Saved(_) => {
                notify::notify(Level::Info, Text::PasswordSaved.text(lang));
            }
            PasswordResult::Cancelled => {
                notify::notify(Level::Warning, Msg::PasswordNotSetStartCancelled.text(lang));
                return None;
            }
            PasswordResult::SaveFailed(detail) => {
                let text = Text::PasswordWriteFailed { detail: &detail };
                notify::notify(Level::Error, text.text(lang));
                notify::notify(Level::Warning, Msg::PasswordNotSetStartCancelled.text(lang));
                return None;
            }
            PasswordResult::Failed(detail) => {
                let text = Text::DialogFailed {
                    detail: &detail,
                    command: "cpa-tray password set",
                };
                notify::notify(Level::Error, text.text(lang));
                notify::notify(Level::Warning, Msg::PasswordNotSetStartCancelled.text(lang));
                return None;
            }
        }
        view = match load_view(home.config_path(), lang) {
            Ok(view) => view,
            Err(detail) => return fail(&detail),
        };
    }
    let address = match server_address(&view, home.config_path(), lang) {
        Ok(address) => address,
        Err(detail) => return fail(&detail),
    };
    let mut settings = shared.settings();
    if shared.options.offer_engine_choice && first_start::needed(home, &settings) {
        match first_start::offer(shared, lang) {
            first_start::Decision::Settings => settings = shared.settings(),
            first_start::Decision::BuiltinOnce => {
                // Only this start: the copy is not saved.
                settings.set("engine", EngineSetting::BUILTIN.into());
            }
            first_start::Decision::Cancelled => {
                notify::notify(Level::Info, Text::StartCancelled.text(lang));
                return None;
            }
        }
    }
    let engine = match (shared.options.engine)(&settings) {
        Ok(engine) => engine,
        Err(detail) => return fail(&detail),
    };

    let _lock = match home.lock() {
        Ok(lock) => lock,
        Err(err) => return fail(&err.to_string()),
    };
    if shared.exiting.load(Ordering::SeqCst) {
        notify::log("start abandoned: the tray is exiting");
        return None;
    }
    shared.expect_exit_of_owned();
    if let Err(err) = supervisor::stop(home, supervisor::DEFAULT_STOP_TIMEOUT) {
        return fail(&err.to_string());
    }
    // The stop can take seconds (a graceful stop, then a forced kill), and
    // an Exit chosen meanwhile must not get a new server.
    if shared.exiting.load(Ordering::SeqCst) {
        notify::log("start abandoned after the stop: the tray is exiting");
        return None;
    }
    let (ready, version) = match launch(shared, &engine, &address, lang) {
        Ok(launched) => launched,
        Err(detail) => return fail(&detail),
    };
    let (level, text) = if ready {
        (Level::Info, Text::Started)
    } else {
        (Level::Warning, Text::StartedNotReady)
    };
    notify::notify(level, text.text(lang));
    // The server reports safe mode and its WebUI page itself; one that is
    // not ready yet gets only the warnings the config allows.
    let checks = ready
        .then(|| supervisor::checks::check(address.probe(), address.tls))
        .flatten();
    let page = supervisor::checks::webui_page_path(home.config_path());
    for line in cpa_core::messages::server_check_lines(home.config_path(), &page, checks, lang) {
        notify::notify(Level::Warning, line);
    }
    if ready && settings.auto_open_webui() && desktop::has_display() {
        open_target(&format!("{}/management.html", address.local_url()), lang);
    }
    Some(Started {
        server: ServerState::Running {
            version,
            builtin: engine.kind == EngineKind::Builtin,
            port: address.port,
        },
        address,
        ready,
    })
}

/// Starts `engine` as the server this tray owns and watches its exit.
/// Returns whether it became ready and its version (the one a binary of
/// unknown version printed). The caller holds the home lock.
fn launch(
    shared: &Arc<Shared>,
    engine: &Engine,
    address: &ServerAddress,
    lang: Lang,
) -> Result<(bool, String), String> {
    let home = &shared.options.home;
    let options = supervisor::StartOptions::default();
    let mut started = supervisor::start(home, engine, address, &options)
        .map_err(|err| start_error_text(err, home, lang))?;
    let pid = started.record.pid;
    let version = started.record.version.clone();
    if let Ok(mut owned) = shared.owned.lock() {
        *owned = Some((pid, Instant::now()));
    }
    let watcher = shared.clone();
    spawn_worker("server-watch", move || {
        let status = match supervisor::wait_for_exit(&watcher.options.home, &mut started.child) {
            Ok(status) => status.to_string(),
            Err(err) => err.to_string(),
        };
        watcher.send(Event::ServerExited { pid, status });
    });
    Ok((started.ready_after.is_some(), version))
}

/// Renders a start failure as `cpa-tray start` does: for a taken port the
/// program that listens on it, for a server that exited the last
/// [`NOTIFIED_LOG_LINES`] lines of its log (a notification has little room).
fn start_error_text(err: supervisor::StartError, home: &Home, lang: Lang) -> String {
    let lines = cpa_core::messages::start_error_lines(err, home.config_path(), lang);
    let (log_tail, mut text): (Vec<String>, Vec<String>) =
        lines.into_iter().partition(|line| line.starts_with("  "));
    let skipped = log_tail.len().saturating_sub(NOTIFIED_LOG_LINES);
    text.extend(log_tail.into_iter().skip(skipped));
    text.join("\n")
}

/// Log lines a failed start shows in its notification.
const NOTIFIED_LOG_LINES: usize = 3;

/// Starts the size checks of `logs/engine.log`: one check per [`logfile::ROTATE_CHECK_INTERVAL`] (or the seconds
/// in [`LOG_CHECK_SECONDS_ENV`]), rotating the log past
/// [`logfile::ROTATE_BYTES`]. The checks end when the returned watch is
/// dropped. Failures go to the tray's log; the server keeps running.
fn watch_log_size(home: &Home) -> Option<logfile::RotationWatch> {
    let interval = std::env::var(LOG_CHECK_SECONDS_ENV)
        .ok()
        .and_then(|text| text.trim().parse::<f64>().ok())
        .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(logfile::ROTATE_CHECK_INTERVAL);
    let watch = logfile::RotationWatch::spawn(
        home.engine_log_path(),
        logfile::ROTATE_BYTES,
        interval,
        |err| notify::log(&format!("failed to rotate the server log: {err}")),
    );
    match watch {
        Ok(watch) => Some(watch),
        Err(err) => {
            notify::log(&format!("failed to start the server log checks: {err}"));
            None
        }
    }
}

/// Stops the recorded server and reports the outcome.
fn stop_flow(shared: &Shared, lang: Lang) {
    let home = &shared.options.home;
    let _lock = home.lock().ok();
    shared.expect_exit_of_owned();
    shared.restart_attempts.store(0, Ordering::SeqCst);
    match supervisor::stop(home, supervisor::DEFAULT_STOP_TIMEOUT) {
        Ok(StopOutcome::Stopped { pid, method }) => {
            notify::log(&format!("stopped server pid {pid} ({method:?})"));
            notify::notify(Level::Info, Text::Stopped.text(lang));
        }
        Ok(outcome) => {
            notify::log(&format!("stop: {outcome:?}"));
            notify::notify(Level::Info, Text::Stopped.text(lang));
        }
        Err(err) => {
            let detail = err.to_string();
            notify::notify(
                Level::Error,
                Text::StopFailed { detail: &detail }.text(lang),
            );
        }
    }
}

/// Asks for a new password, writes it, and offers a restart when the server
/// runs. After a restart to a ready server, the dialog process checks the
/// new key with one request and the tray reports the outcome.
fn reset_flow(shared: &Arc<Shared>, lang: Lang, running: bool) {
    let home = &shared.options.home;
    let finish = |reminder: bool| {
        shared.update(move |state| {
            state.busy = None;
            if reminder {
                state.restart_reminder = true;
            }
        });
    };
    if let Err(detail) = ensure_config(home, lang) {
        notify::log(&format!("reset password: {detail}"));
        notify::notify(Level::Error, Text::PasswordUpdateFailed.text(lang));
        finish(false);
        return;
    }
    if let Err(text) = check_config_writable(home, lang) {
        notify::notify(Level::Error, text);
        finish(false);
        return;
    }
    // A config that cannot be read is reported by the dialog's save.
    let min_bytes = load_view(home.config_path(), lang)
        .map(|view| min_password_bytes(&view))
        .unwrap_or(REMOTE_MIN_BYTES);
    let invocation = Invocation {
        request: Request::Password {
            mode: Mode::Reset,
            config: home.config_path().to_path_buf(),
            min_bytes,
            check_key: running,
        },
        lang,
    };
    let pending = match run_password_child(shared, &invocation) {
        PasswordResult::Saved(pending) => {
            notify::notify(Level::Info, Text::PasswordUpdated.text(lang));
            pending
        }
        PasswordResult::Cancelled => {
            finish(false);
            return;
        }
        PasswordResult::SaveFailed(detail) => {
            let text = Text::PasswordWriteFailed { detail: &detail };
            notify::notify(Level::Error, text.text(lang));
            finish(false);
            return;
        }
        PasswordResult::Failed(detail) => {
            let text = Text::DialogFailed {
                detail: &detail,
                command: "cpa-tray password set",
            };
            notify::notify(Level::Error, text.text(lang));
            finish(false);
            return;
        }
    };
    if !running {
        finish(false);
        return;
    }
    let question = Invocation {
        request: Request::Confirm(ConfirmQuestion::RestartNow),
        lang,
    };
    match run_dialog_child(shared, &question) {
        DialogResult::Accepted => {
            shared.update(|state| state.busy = Some(Busy::Starting));
            let started = start_flow(shared, lang);
            // A server that is not ready yet would only fail the request and
            // count it against the ban budget, so it gets none.
            if let (Some(started), Some(pending)) = (&started, pending)
                && started.ready
            {
                report_key_check(pending.check(&started.address), home, lang);
            }
            let server = started.map(|started| started.server);
            shared.update(move |state| {
                state.busy = None;
                if let Some(server) = server {
                    state.server = server;
                    state.restart_reminder = false;
                } else {
                    state.restart_reminder = true;
                }
            });
        }
        DialogResult::Cancelled => finish(true),
        DialogResult::Failed(detail) => {
            notify::log(&format!("restart question failed: {detail}"));
            finish(true);
        }
    }
}

/// Notifies "Password active", or why the server did not accept the key.
fn report_key_check(outcome: KeyCheck, home: &Home, lang: Lang) {
    let config = home.config_path().display().to_string();
    let level = if outcome.is_ok() {
        Level::Info
    } else {
        Level::Error
    };
    notify::log(&format!("key check after restart: {outcome:?}"));
    // The tray never passes MANAGEMENT_PASSWORD to its server (the default
    // of `StartOptions`), so it cannot be the cause of a 401.
    notify::notify(level, outcome.message(&config, false).text(lang));
}

/// Outcome of a password dialog child process.
enum PasswordResult {
    /// Saved; with a key check to serve when the dialog was asked for one.
    Saved(Option<PendingKeyCheck>),
    Cancelled,
    /// The password was entered but writing it failed; the dialog's reason.
    SaveFailed(String),
    /// The dialog could not run or open its window.
    Failed(String),
}

/// A password dialog process that saved the password and waits for the
/// request to check it. Dropping it ends the process without a request.
struct PendingKeyCheck {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    stdout: BufReader<std::process::ChildStdout>,
}

impl PendingKeyCheck {
    /// Asks the dialog process for the key check and returns its outcome.
    fn check(mut self, address: &ServerAddress) -> KeyCheck {
        if address.tls {
            return KeyCheck::SkippedTls;
        }
        let sent = match self.stdin.as_mut() {
            Some(stdin) => writeln!(stdin, "{CHECK_REQUEST}").and_then(|()| stdin.flush()),
            None => Err(std::io::Error::other("no pipe to the dialog process")),
        };
        if let Err(err) = sent {
            return KeyCheck::Failed {
                detail: format!("failed to ask the dialog process for the check: {err}"),
            };
        }
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(count) if count > 0 => decode_key_check(&line),
            Ok(_) => KeyCheck::Failed {
                detail: "the dialog process ended before it reported the check".into(),
            },
            Err(err) => KeyCheck::Failed {
                detail: format!("failed to read the check from the dialog process: {err}"),
            },
        }
    }
}

impl Drop for PendingKeyCheck {
    fn drop(&mut self) {
        // Closing stdin tells the dialog process to end without a request.
        drop(self.stdin.take());
        if let Err(err) = self.child.wait() {
            notify::log(&format!("failed to wait for the password dialog: {err}"));
        }
    }
}

/// Keeps `child` where Exit can end it while its window is open.
fn register_dialog(shared: &Shared, child: std::process::Child) {
    if let Ok(mut dialog) = shared.dialog.lock() {
        *dialog = Some(child);
    }
}

/// Takes back the dialog process that [`register_dialog`] kept.
fn unregister_dialog(shared: &Shared) -> Option<std::process::Child> {
    shared
        .dialog
        .lock()
        .ok()
        .and_then(|mut dialog| dialog.take())
}

/// Ends the open dialog process, if any, so that an Exit waiting for the
/// dialog's action does not wait for the user.
fn end_dialog(shared: &Shared) {
    if let Ok(mut dialog) = shared.dialog.lock()
        && let Some(child) = dialog.as_mut()
    {
        notify::log(&format!("exit: closing the dialog (pid {})", child.id()));
        if let Err(err) = child.kill() {
            notify::log(&format!("failed to close the dialog: {err}"));
        }
    }
}

/// Runs a password dialog child process and waits until it saved the
/// password (and, with `check_key`, waits for the check request) or ended.
fn run_password_child(shared: &Shared, invocation: &Invocation) -> PasswordResult {
    let options = &shared.options;
    let lang = invocation.lang;
    let check_key = matches!(
        invocation.request,
        Request::Password {
            check_key: true,
            ..
        }
    );
    let spawned = dialog_command(options, invocation)
        .stdin(if check_key {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(err) => {
            return PasswordResult::Failed(dialog_not_run(&options.dialog_program, &err, lang));
        }
    };
    let stderr = child.stderr.take().map(|mut stderr| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        })
    });
    let stdin = child.stdin.take();
    let Some(stdout) = child.stdout.take() else {
        return PasswordResult::Failed(Text::DialogLost.text(lang));
    };
    let mut stdout = BufReader::new(stdout);
    let mut line = String::new();
    register_dialog(shared, child);
    let saved = stdout.read_line(&mut line).is_ok_and(|count| count > 0)
        && line.trim() == crate::dialog::password::SAVED_LINE;
    let Some(mut child) = unregister_dialog(shared) else {
        return PasswordResult::Failed(Text::DialogLost.text(lang));
    };
    if saved {
        let pending = PendingKeyCheck {
            child,
            stdin,
            stdout,
        };
        return PasswordResult::Saved(check_key.then_some(pending));
    }
    drop(stdin);
    let status = child.wait();
    if shared.exiting.load(Ordering::SeqCst) {
        // Exit ended the dialog: nothing was saved and nothing failed.
        return PasswordResult::Cancelled;
    }
    // The dialog's last stderr line says why it failed.
    let reason = stderr
        .and_then(|reader| reader.join().ok())
        .and_then(|text| {
            text.lines()
                .rev()
                .find(|line| !line.trim().is_empty())
                .map(str::to_string)
        })
        .map(|line| line.trim_start_matches("cpa-tray ui: ").to_string());
    let code = match status {
        Ok(status) => status.code(),
        Err(err) => {
            let detail = err.to_string();
            return PasswordResult::Failed(Text::DialogWaitFailed { detail: &detail }.text(lang));
        }
    };
    match code.and_then(|code| u8::try_from(code).ok()) {
        Some(EXIT_ACCEPTED) => PasswordResult::Saved(None),
        Some(EXIT_CANCELLED) => PasswordResult::Cancelled,
        Some(EXIT_SAVE_FAILED) => {
            PasswordResult::SaveFailed(reason.unwrap_or_else(|| Text::DialogNoReason.text(lang)))
        }
        _ => PasswordResult::Failed(match (reason, code) {
            (Some(reason), _) => reason,
            (None, Some(code)) => unexpected_exit(code, lang),
            (None, None) => Text::DialogNoReason.text(lang),
        }),
    }
}

/// Runs the tray until Exit. See the crate documentation for how to call it.
///
/// When another tray already runs for the same home folder, this pokes it
/// (it shows a notification with its status), prints that it is already
/// running with its pid, and returns success.
pub fn run_tray(options: TrayOptions) -> ExitCode {
    let instance = match instance::acquire(&options.home) {
        Ok(Acquired::Primary(instance)) => Some(instance),
        Ok(Acquired::AlreadyRunning { pid, poke }) => {
            return report_already_running(&options, pid, poke);
        }
        Err(err) => {
            // Without the lock the tray still works, but a second tray could
            // then run beside it.
            notify::log(&format!(
                "failed to take the tray lock, running without it: {err}"
            ));
            None
        }
    };
    // Checks the server log for as long as the tray runs, whoever started
    // the server; a check while none runs finds a log that does not grow.
    let _rotation = watch_log_size(&options.home);
    crate::platform::run(options, instance)
}

fn report_already_running(
    options: &TrayOptions,
    pid: Option<u32>,
    poke: std::io::Result<()>,
) -> ExitCode {
    let mut store = SettingsStore::new(
        options.home.settings_path(),
        options.home.settings_fallback_path(),
    );
    let lang = Lang::resolve(options.lang, store.load().settings.language());
    println!("{}", Text::AlreadyRunningExit { pid }.text(lang));
    if let Err(err) = poke {
        eprintln!("cpa-tray: failed to notify the running tray: {err}");
    }
    ExitCode::SUCCESS
}
