//! The one owner of the server process: start, readiness, stop and status.
//!
//! A start checks the port, spawns the server in its own process group with
//! the home folder as working directory and its output appended to
//! `logs/engine.log`, records it in `run/engine.json`, and waits until it
//! responds to HTTP. A stop signals only a process whose pid, start time and
//! executable all match the record, first gracefully and then by force.
//!
//! Only this module spawns or kills processes.
//!
//! The server outlives the command that started it: `cpa-tray start` returns
//! while the server keeps running. So on Windows the server is not put in a
//! Job Object with kill-on-close, which would end it with the command.
//! Instead the record in `run/engine.json` lets the next `start`, `stop`,
//! `status` or tray find a server whose tray crashed, and act on it only when
//! pid, start time and executable still match.

pub mod checks;
pub mod http;
pub mod logfile;
pub mod port;
pub mod process;
pub mod readiness;
pub mod record;

use std::ffi::OsString;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::home::Home;
pub use port::{PortOwner, PortProblem};
pub use record::{EngineRecord, Liveness};

/// Default time a started server has to respond before `start` gives up waiting.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(12);

/// Default time a stopping server has between the graceful signal and the kill.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Number of log lines shown when the server exits during start-up.
pub const LOG_TAIL_LINES: usize = 20;

/// The environment variable that gives CLIProxyAPI a second management key and
/// forces remote management on; removed from the child's environment by default.
pub const MANAGEMENT_PASSWORD_ENV: &str = "MANAGEMENT_PASSWORD";

/// Tokens the user's shell may hold for other tools (GitHub's API and CLI).
/// The server never needs them, so they are always removed from its
/// environment rather than handed to a program that may log or forward them.
pub const REMOVED_SECRET_ENVS: [&str; 2] = ["GITHUB_TOKEN", "GH_TOKEN"];

/// The line upstream CLIProxyAPI logs (then exits with status 0) when it cannot
/// load its config.
pub const BAD_CONFIG_MARKER: &str = "failed to load config";

/// Kind of server program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// The engine built into cpa-tray (`cpa-tray engine ...`).
    Builtin,
    /// A CLIProxyAPI-compatible binary.
    External,
}

impl EngineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Builtin => "builtin",
            EngineKind::External => "external",
        }
    }
}

/// The program to run and the arguments that come before `--config`.
#[derive(Debug, Clone)]
pub struct Engine {
    pub program: PathBuf,
    pub leading_args: Vec<OsString>,
    pub kind: EngineKind,
    pub version: String,
}

/// Listening address of the server, as read from its config.
#[derive(Debug, Clone)]
pub struct ServerAddress {
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

impl ServerAddress {
    /// Returns the loopback (or configured) address used for probes.
    pub fn probe(&self) -> SocketAddr {
        port::probe_address(&self.host, self.port)
    }

    /// Returns the base URL a browser on this computer uses, e.g. `http://127.0.0.1:8317`.
    pub fn local_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.probe())
    }
}

/// Knobs of [`start`].
#[derive(Debug, Clone)]
pub struct StartOptions {
    pub ready_timeout: Duration,
    /// Pass `MANAGEMENT_PASSWORD` through to the server.
    pub keep_management_password_env: bool,
}

impl Default for StartOptions {
    fn default() -> Self {
        StartOptions {
            ready_timeout: DEFAULT_READY_TIMEOUT,
            keep_management_password_env: false,
        }
    }
}

/// A started server.
#[derive(Debug)]
pub struct Started {
    /// The child; dropping it leaves the server running.
    pub child: Child,
    pub record: EngineRecord,
    /// Time until the server responded, or `None` when the deadline passed
    /// first (the server keeps running and may still come up).
    pub ready_after: Option<Duration>,
}

/// Reason a start failed. Nothing keeps running after any of these.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("port {port} is already in use")]
    PortInUse { port: u16, owner: Option<PortOwner> },
    #[error("port {port} cannot be used: {reason}")]
    PortUnavailable { port: u16, reason: String },
    #[error("failed to run {}: {source}", program.display())]
    Spawn { program: PathBuf, source: io::Error },
    #[error("the server exited during start-up ({status})")]
    ExitedEarly {
        status: ExitStatus,
        /// The last lines the server wrote in this run.
        log_tail: Vec<String>,
        /// The server's `failed to load config` line, when it printed one.
        bad_config: Option<String>,
        log_path: PathBuf,
    },
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Starts the server and waits until it responds or `options.ready_timeout` passes.
///
/// The caller stops a previous instance first (see [`stop`]); a port that is
/// still taken is reported at once as [`StartError::PortInUse`].
pub fn start(
    home: &Home,
    engine: &Engine,
    address: &ServerAddress,
    options: &StartOptions,
) -> Result<Started, StartError> {
    home.create_dirs()?;
    sweep_stop_markers(home);
    match port::check_free(&address.host, address.port) {
        Ok(()) => {}
        Err(PortProblem::InUse { owner }) => {
            return Err(StartError::PortInUse {
                port: address.port,
                owner,
            });
        }
        Err(PortProblem::Unavailable { reason }) => {
            return Err(StartError::PortUnavailable {
                port: address.port,
                reason,
            });
        }
    }

    let config = home.config_path();
    let log_path = home.engine_log_path();
    let mut command_line = engine.program.display().to_string();
    for arg in &engine.leading_args {
        command_line.push(' ');
        command_line.push_str(&arg.to_string_lossy());
    }
    let header = format!(
        "cpa-tray: starting {} engine {}: {command_line} --config {} at unix time {}",
        engine.kind.as_str(),
        engine.version,
        config.display(),
        unix_seconds()
    );
    let log = logfile::open_for_run(&log_path, &header)?;
    let stderr = log.file.try_clone()?;

    let mut command = Command::new(&engine.program);
    command
        .args(&engine.leading_args)
        .arg("--config")
        .arg(config)
        .current_dir(home.root())
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.file))
        .stderr(Stdio::from(stderr));
    if !options.keep_management_password_env {
        command.env_remove(MANAGEMENT_PASSWORD_ENV);
    }
    for name in REMOVED_SECRET_ENVS {
        command.env_remove(name);
    }
    process::configure_command(&mut command);

    let mut child = command.spawn().map_err(|source| StartError::Spawn {
        program: engine.program.clone(),
        source,
    })?;
    let pid = child.id();
    // A note left by a stop of an earlier process with this pid must not
    // describe this server.
    let _ = std::fs::remove_file(stop_marker_path(home, pid));

    let Some(info) = process::inspect(pid) else {
        // The child exited before it could be inspected.
        let status = child.wait()?;
        return Err(exited_early(status, &log_path, log.start_offset));
    };
    // The identity is the process as the OS sees it, not the program started:
    // a wrapper script runs as its interpreter, and may `exec` the server later.
    let mut record = EngineRecord {
        pid,
        start_time: info.start_time,
        exe: record::canonical_or_same(info.exe.as_deref().unwrap_or(&engine.program)),
        program: Some(
            std::path::absolute(&engine.program).unwrap_or_else(|_| engine.program.clone()),
        ),
        config: config.to_path_buf(),
        port: address.port,
        engine: engine.kind.as_str().to_string(),
        version: engine.version.clone(),
        version_printed: false,
        webui_page: Some(checks::webui_page_path(config)),
        probe: address.probe().to_string(),
        tls: address.tls,
        started_at: unix_seconds(),
    };
    let pid_file = home.pid_file_path();
    if let Err(err) = record::write(&pid_file, &record) {
        // Without a record nothing could stop this server later.
        let _ = child.kill();
        let _ = child.wait();
        return Err(err.into());
    }

    match readiness::wait(
        &mut child,
        address.probe(),
        address.tls,
        options.ready_timeout,
    ) {
        readiness::Readiness::Ready { elapsed } => {
            refresh_identity(&pid_file, &mut record);
            learn_version(&pid_file, &mut record, &log_path, log.start_offset);
            Ok(Started {
                child,
                record,
                ready_after: Some(elapsed),
            })
        }
        readiness::Readiness::TimedOut => {
            refresh_identity(&pid_file, &mut record);
            Ok(Started {
                child,
                record,
                ready_after: None,
            })
        }
        readiness::Readiness::Exited(status) => {
            let _ = record::remove(&pid_file);
            Err(exited_early(status, &log_path, log.start_offset))
        }
    }
}

/// Records the executable the server process runs now.
///
/// A wrapper script that `exec`s the server changes the process's executable
/// but keeps its pid and start time, so the record made at spawn would no
/// longer match it. The start time must still match: otherwise the process
/// is not the one spawned and the record stays as it is.
fn refresh_identity(pid_file: &Path, record: &mut EngineRecord) {
    let Some(info) = process::inspect(record.pid) else {
        return;
    };
    let Some(exe) = info.exe else {
        return;
    };
    let exe = record::canonical_or_same(&exe);
    if info.start_time != record.start_time || exe == record.exe {
        return;
    }
    record.exe = exe;
    // On failure the old record stays, and status reports the server as not
    // ours rather than acting on a wrong identity.
    let _ = record::write(pid_file, record);
}

/// Start of upstream's start-up line `CLIProxyAPI Version: <v>, Commit: …`,
/// which names the version of a binary started by path.
pub const VERSION_LINE_PREFIX: &str = "CLIProxyAPI Version: ";

/// Records the version the server printed when the engine did not name one
/// (a binary started by path rather than installed under `versions/`).
fn learn_version(pid_file: &Path, record: &mut EngineRecord, log_path: &Path, offset: u64) {
    if !(record.version.is_empty() || record.version == UNKNOWN_VERSION) {
        return;
    }
    // The line comes first in upstream's output, and a server may write a
    // lot before it is ready.
    // NOTE: a wrapper script that prints more than 64 KiB before it starts
    // the server hides the line, and the version stays unknown.
    let head = logfile::read_head_since(log_path, offset, 64 * 1024);
    let Some(version) = version_from_output(&head) else {
        return;
    };
    record.version = version;
    record.version_printed = true;
    // On failure the record keeps `unknown`, which is still true.
    let _ = record::write(pid_file, record);
}

/// The version an engine has when nothing names it.
pub const UNKNOWN_VERSION: &str = "unknown";

/// Finds upstream's start-up version line in `output` and returns the version.
fn version_from_output(output: &str) -> Option<String> {
    let line = output
        .lines()
        .find_map(|line| line.trim_start().strip_prefix(VERSION_LINE_PREFIX))?;
    let version = line.split(',').next()?.trim();
    let plausible = !version.is_empty()
        && version.len() <= 64
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '_'));
    plausible.then(|| version.to_string())
}

fn exited_early(status: ExitStatus, log_path: &Path, offset: u64) -> StartError {
    let output = logfile::read_since(log_path, offset);
    let bad_config = output
        .lines()
        .find(|line| line.contains(BAD_CONFIG_MARKER))
        .map(|line| line.trim().to_string());
    StartError::ExitedEarly {
        status,
        log_tail: logfile::last_lines(&output, LOG_TAIL_LINES),
        bad_config,
        log_path: log_path.to_path_buf(),
    }
}

/// Outcome of a stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopOutcome {
    /// Our server stopped, in the way `method` says.
    Stopped { pid: u32, method: StopMethod },
    /// No server of ours was recorded.
    NotRunning,
    /// The recorded server had already exited; the record was removed.
    AlreadyExited { pid: u32 },
    /// The recorded pid now belongs to another process, which was left alone.
    PidReused { pid: u32 },
}

/// How a server was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMethod {
    /// It exited after the graceful request.
    Graceful,
    /// It was suspended (SIGSTOP); it was resumed and exited after the
    /// graceful request.
    GracefulWhileSuspended,
    /// It ignored the graceful request until the timeout and was killed.
    KilledAfterTimeout,
    /// The graceful request could not be delivered, so it was killed at once.
    KilledUndelivered,
}

/// Reason a stop failed.
#[derive(Debug, thiserror::Error)]
pub enum StopError {
    #[error("the server (pid {pid}) is still running after it was killed")]
    StillRunning { pid: u32 },
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Stops the server recorded in the home folder, if it is still ours.
///
/// Sends the graceful signal to its process group, waits up to `timeout`, then
/// kills the group. A record whose process is gone or was replaced by another
/// process (pid reuse) is removed without signalling anything.
pub fn stop(home: &Home, timeout: Duration) -> Result<StopOutcome, StopError> {
    let pid_file = home.pid_file_path();
    let Some(record) = record::read(&pid_file)? else {
        return Ok(StopOutcome::NotRunning);
    };
    match record.liveness() {
        // The recorded process, a wrapper, has exited, but the server it
        // started still runs in its process group.
        Liveness::Gone if process::group_alive(record.pid) => {
            return stop_leftover_group(&pid_file, &record, timeout);
        }
        Liveness::Gone => {
            record::remove(&pid_file)?;
            return Ok(StopOutcome::AlreadyExited { pid: record.pid });
        }
        Liveness::Foreign => {
            record::remove(&pid_file)?;
            return Ok(StopOutcome::PidReused { pid: record.pid });
        }
        Liveness::Ours => {}
    }

    let pid = record.pid;
    // Tells a foreground supervisor of this server that its exit was asked
    // for. Best effort: without it, that supervisor reports an exit.
    let _ = std::fs::write(stop_marker_path(home, pid), b"");
    let suspended = process::is_suspended(pid);
    let delivered = process::request_stop(pid);
    let mut method = if suspended {
        StopMethod::GracefulWhileSuspended
    } else {
        StopMethod::Graceful
    };
    if !(delivered && wait_until_gone(&record, timeout)) {
        // The graceful signal failed or was ignored. The identity is checked
        // again right before the kill, so a pid freed meanwhile is not hit.
        if record.liveness() == Liveness::Ours {
            method = if delivered {
                StopMethod::KilledAfterTimeout
            } else {
                StopMethod::KilledUndelivered
            };
            process::force_kill(pid);
        } else if process::group_alive(pid) {
            // The recorded process exited, but a child it started in its
            // group (the server under a wrapper script) did not.
            method = StopMethod::KilledAfterTimeout;
            process::kill_group(pid);
        }
        if !wait_until_gone(&record, Duration::from_secs(2)) {
            return Err(StopError::StillRunning { pid });
        }
    }
    record::remove(&pid_file)?;
    Ok(StopOutcome::Stopped { pid, method })
}

/// Stops what remains of the process group of a recorded process that has
/// exited: the graceful signal, then a kill after `timeout`. Only the group
/// is signalled. Its id cannot belong to another group while a member lives.
fn stop_leftover_group(
    pid_file: &Path,
    record: &EngineRecord,
    timeout: Duration,
) -> Result<StopOutcome, StopError> {
    let pid = record.pid;
    let delivered = process::request_group_stop(pid);
    let mut method = StopMethod::Graceful;
    if !(delivered && wait_until_gone(record, timeout)) {
        if process::group_alive(pid) {
            method = if delivered {
                StopMethod::KilledAfterTimeout
            } else {
                StopMethod::KilledUndelivered
            };
            process::kill_group(pid);
        }
        if !wait_until_gone(record, Duration::from_secs(2)) {
            return Err(StopError::StillRunning { pid });
        }
    }
    record::remove(pid_file)?;
    Ok(StopOutcome::Stopped { pid, method })
}

/// Returns the path of the note [`stop`] leaves for the supervisor of the
/// server with `pid`.
///
/// One file per pid, so a new server started right after a stop (a CLI
/// `restart`) cannot remove the note before the old server's supervisor, a
/// tray or a foreground `start`, has read it.
fn stop_marker_path(home: &Home, pid: u32) -> PathBuf {
    home.run_dir().join(format!("stop-requested-{pid}"))
}

/// How long a stop note waits for a supervisor to read it. A server started
/// in the background has no supervisor, so its note is removed by a later
/// start once this has passed.
const STOP_MARKER_LIFETIME: Duration = Duration::from_secs(120);

/// Removes stop notes that no supervisor read in time, and the single note
/// file of earlier versions.
fn sweep_stop_markers(home: &Home) {
    let run = home.run_dir();
    let _ = std::fs::remove_file(run.join("stop-requested"));
    let Ok(entries) = std::fs::read_dir(&run) else {
        return;
    };
    for entry in entries.flatten() {
        let is_marker = entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.starts_with("stop-requested-"));
        let old = entry
            .metadata()
            .and_then(|meta| meta.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age >= STOP_MARKER_LIFETIME);
        if is_marker && old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Returns whether [`stop`] was asked to stop the server with `pid`, and
/// clears that note. A supervisor waiting on the server calls this after its
/// exit to tell a requested stop from a crash.
pub fn stop_was_requested(home: &Home, pid: u32) -> bool {
    let path = stop_marker_path(home, pid);
    let requested = path.is_file();
    if requested {
        let _ = std::fs::remove_file(&path);
    }
    requested
}

/// A foreground supervisor waiting to restart a crashed server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingRestart {
    /// The process that will start the server again.
    pub supervisor_pid: u32,
    /// Unix seconds when it starts the server.
    pub due_at: u64,
}

fn pending_restart_path(home: &Home) -> PathBuf {
    home.run_dir().join("restart-pending")
}

fn restart_cancel_path(home: &Home) -> PathBuf {
    home.run_dir().join("restart-cancelled")
}

/// Returns the restart a live foreground supervisor has announced with
/// [`wait_to_restart`], if any.
pub fn pending_restart(home: &Home) -> Option<PendingRestart> {
    let text = std::fs::read_to_string(pending_restart_path(home)).ok()?;
    let (pid, due) = text.trim().split_once(' ')?;
    let pending = PendingRestart {
        supervisor_pid: pid.parse().ok()?,
        due_at: due.parse().ok()?,
    };
    // A supervisor that died while waiting restarts nothing.
    process::inspect(pending.supervisor_pid)?;
    Some(pending)
}

/// Cancels the announced restart and returns the pid of the supervisor
/// that announced it. Call it with the home lock held, which the supervisor takes before it
/// starts the server again.
pub fn cancel_pending_restart(home: &Home) -> io::Result<Option<u32>> {
    let Some(pending) = pending_restart(home) else {
        return Ok(None);
    };
    let path = restart_cancel_path(home);
    std::fs::write(&path, pending.supervisor_pid.to_string())
        .map_err(|err| crate::home::with_path(err, &path))?;
    Ok(Some(pending.supervisor_pid))
}

/// Announces a restart in `delay` and waits for it. Returns `false` when
/// [`cancel_pending_restart`] cancelled it meanwhile, or when
/// [`forward_interrupts`] received Ctrl+C or SIGTERM. The caller takes the
/// home lock, checks [`restart_cancelled`] again and then starts the server.
pub fn wait_to_restart(home: &Home, delay: Duration) -> bool {
    let own = std::process::id();
    let due_at = unix_seconds() + delay.as_secs();
    // Best effort: without the note the wait still runs, only `stop` cannot
    // cancel it.
    let _ = crate::home::create_private_dir(&home.run_dir());
    let _ = std::fs::write(pending_restart_path(home), format!("{own} {due_at}"));
    let started = Instant::now();
    while started.elapsed() < delay {
        // Ctrl+C forwarded by a foreground `start` ends the wait as well.
        if restart_cancelled(home) || interrupt_received() {
            finish_restart(home);
            return false;
        }
        std::thread::sleep(Duration::from_millis(50).min(delay - started.elapsed()));
    }
    !restart_cancelled(home)
}

/// Returns whether this process's announced restart was cancelled, and ends
/// the announcement when it was.
pub fn restart_cancelled(home: &Home) -> bool {
    let own = std::process::id().to_string();
    let cancelled =
        std::fs::read_to_string(restart_cancel_path(home)).is_ok_and(|text| text.trim() == own);
    if cancelled {
        let _ = std::fs::remove_file(restart_cancel_path(home));
        finish_restart(home);
    }
    cancelled
}

/// Ends this process's restart announcement (the server is being started).
pub fn finish_restart(home: &Home) {
    let own = std::process::id().to_string();
    let path = pending_restart_path(home);
    if std::fs::read_to_string(&path).is_ok_and(|text| text.split(' ').next() == Some(own.as_str()))
    {
        let _ = std::fs::remove_file(path);
    }
}

/// Polls every 10 ms until the recorded process has exited (see
/// [`EngineRecord::has_exited`]) and no other live process remains in its
/// process group (see [`process::group_alive`]).
fn wait_until_gone(record: &EngineRecord, timeout: Duration) -> bool {
    let started = Instant::now();
    loop {
        // The rest of the group is checked too, because the recorded process
        // may be a wrapper whose child, the server, still has the port open.
        if record.has_exited() && !process::group_alive(record.pid) {
            return true;
        }
        if started.elapsed() >= timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The server's state as seen from the home folder.
#[derive(Debug, Clone)]
pub struct Status {
    /// The record of a server of ours that is alive.
    pub running: Option<EngineRecord>,
    /// Whether the running server answered a health probe.
    pub serving: bool,
    /// Whether the running server is suspended (Linux only, see
    /// [`process::is_suspended`]). It cannot respond until resumed.
    pub suspended: bool,
    /// A record left behind by a server that exited without `stop`, or
    /// whose pid now belongs to another process.
    pub stale: Option<EngineRecord>,
    /// Whether processes that the stale record's process started still run
    /// in its process group (the server under a wrapper that has exited).
    /// [`stop`] ends them.
    pub stale_group_alive: bool,
}

/// Reads the record, checks the process identity and probes the server once.
///
/// The probe of a hung server takes up to the health request's timeout (2 s).
pub fn status(home: &Home) -> io::Result<Status> {
    let mut status = Status {
        running: None,
        serving: false,
        suspended: false,
        stale: None,
        stale_group_alive: false,
    };
    let Some(record) = record::read(&home.pid_file_path())? else {
        return Ok(status);
    };
    let liveness = record.liveness();
    if liveness != Liveness::Ours {
        status.stale_group_alive = liveness == Liveness::Gone && process::group_alive(record.pid);
        status.stale = Some(record);
        return Ok(status);
    }
    // A suspended process still has its socket accept connections, so the
    // probe would only wait for its timeout.
    status.suspended = process::is_suspended(record.pid);
    status.serving = !status.suspended
        && record
            .probe
            .parse::<SocketAddr>()
            .is_ok_and(|addr| readiness::probe(addr, record.tls));
    status.running = Some(record);
    Ok(status)
}

/// Returns the listener on `host:port` when something other than a server
/// of ours holds the port: `Some(owner)` with the process where the OS names
/// it, `Some(None)` when it does not, and `None` when the port is free.
///
/// Call it only when no server of ours runs on that port.
pub fn foreign_listener(host: &str, port: u16) -> Option<Option<PortOwner>> {
    match port::check_free(host, port) {
        Err(PortProblem::InUse { owner }) => Some(owner),
        _ => None,
    }
}

/// Blocks until `child` exits and returns its status.
///
/// Waiting on the child is event-driven (no polling), so a crash is noticed at
/// once. The record is removed when the child exits.
pub fn wait_for_exit(home: &Home, child: &mut Child) -> io::Result<ExitStatus> {
    let status = child.wait()?;
    if let Ok(Some(record)) = record::read(&home.pid_file_path())
        && record.pid == child.id()
    {
        let _ = record::remove(&home.pid_file_path());
    }
    Ok(status)
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or(0)
}

static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Returns whether [`forward_interrupts`] has forwarded a Ctrl+C or SIGTERM.
pub fn interrupt_received() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Forwards Ctrl+C and SIGTERM received by this process to the server's
/// process group as SIGTERM, so a foreground `start` stops the server it runs
/// instead of leaving it behind. The server runs in its own process group, so
/// the terminal's Ctrl+C does not reach it directly.
#[cfg(unix)]
pub fn forward_interrupts(pid: u32) {
    use std::sync::atomic::{AtomicI32, Ordering};
    static TARGET: AtomicI32 = AtomicI32::new(0);

    extern "C" fn forward(_signal: libc::c_int) {
        INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
        let pid = TARGET.load(Ordering::SeqCst);
        if pid > 1 {
            // SAFETY: kill is async-signal-safe and has no memory preconditions.
            unsafe { libc::kill(-pid, libc::SIGTERM) };
        }
    }

    TARGET.store(i32::try_from(pid).unwrap_or(0), Ordering::SeqCst);
    let handler = forward as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only reads an atomic and calls kill, both
    // async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

/// Forwards Ctrl+C, Ctrl+Break and closing the console to the server as the
/// console event the Go runtime understands (see [`process::request_stop`]),
/// or kills it when that event cannot be delivered. This process keeps
/// running and reports the server's exit. The server runs without a console
/// of its own, so the terminal's Ctrl+C does not reach it directly.
// NOTE: cross-compiled for Windows and not yet run there.
#[cfg(windows)]
pub fn forward_interrupts(pid: u32) {
    use std::sync::atomic::{AtomicU32, Ordering};
    static TARGET: AtomicU32 = AtomicU32::new(0);
    static REGISTER: std::sync::Once = std::sync::Once::new();

    /// Runs on a thread the console creates for each control event.
    unsafe extern "system" fn forward(_event: u32) -> windows_sys::core::BOOL {
        INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
        let pid = TARGET.load(Ordering::SeqCst);
        if pid != 0 && !process::request_stop(pid) {
            process::force_kill(pid);
        }
        // Handled: this process stays to report the server's exit.
        1
    }

    TARGET.store(pid, Ordering::SeqCst);
    // SAFETY: registers a handler function with the signature the API expects.
    REGISTER.call_once(|| unsafe {
        windows_sys::Win32::System::Console::SetConsoleCtrlHandler(Some(forward), 1);
    });
}

/// Forwards Ctrl+C to the server (not implemented on this platform).
#[cfg(not(any(unix, windows)))]
pub fn forward_interrupts(_pid: u32) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_comes_from_the_start_up_line() {
        let output = "cpa-tray: starting external engine unknown: /x --config /c\n\
                      CLIProxyAPI Version: 6.9.1, Commit: abc123, BuiltAt: 2026-06-01\n\
                      API server started successfully on: 127.0.0.1:8317\n";
        assert_eq!(version_from_output(output).as_deref(), Some("6.9.1"));
        assert_eq!(
            version_from_output("CLIProxyAPI Version: v7.2.0-rc1, Commit: x").as_deref(),
            Some("v7.2.0-rc1")
        );
    }

    #[test]
    fn odd_version_lines_are_ignored() {
        assert_eq!(version_from_output("no such line\n"), None);
        assert_eq!(
            version_from_output("CLIProxyAPI Version: , Commit: x"),
            None
        );
        assert_eq!(
            version_from_output("CLIProxyAPI Version: 1.0 <script>, Commit: x"),
            None
        );
    }
}
