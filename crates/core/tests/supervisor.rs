//! The supervisor against real child processes: the workspace's
//! `cpa-test-server`, which misbehaves on request.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cpa_core::home::Home;
use cpa_core::supervisor::{
    self, Engine, EngineKind, EngineRecord, ServerAddress, StartError, StartOptions, StopMethod,
    StopOutcome, process, record,
};

/// Returns the test server binary, building it when this test run did not.
fn test_server() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        // Test executables live in <target>/<profile>/deps/.
        let exe = std::env::current_exe().expect("test executable path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("<target>/<profile>/deps layout");
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
        assert!(path.is_file(), "{} missing after the build", path.display());
        path
    })
}

/// The line the test server prints once it listens (upstream's wording).
const LISTENING_LINE: &str = "API server started successfully on:";

struct Fixture {
    _dir: tempfile::TempDir,
    home: Home,
    port: u16,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path()).unwrap();
    let port = cpa_testkit::free_port();
    std::fs::write(
        home.config_path(),
        format!("host: \"127.0.0.1\"\nport: {port}\n"),
    )
    .unwrap();
    Fixture {
        _dir: dir,
        home,
        port,
    }
}

impl Fixture {
    fn address(&self) -> ServerAddress {
        ServerAddress {
            host: "127.0.0.1".to_string(),
            port: self.port,
            tls: false,
        }
    }

    fn engine(&self, flags: &[&str]) -> Engine {
        Engine {
            program: test_server().to_path_buf(),
            leading_args: flags.iter().map(Into::into).collect(),
            kind: EngineKind::External,
            version: "test".to_string(),
        }
    }

    fn start(
        &self,
        flags: &[&str],
        ready_timeout: Duration,
    ) -> Result<supervisor::Started, StartError> {
        let options = StartOptions {
            ready_timeout,
            keep_management_password_env: false,
        };
        supervisor::start(&self.home, &self.engine(flags), &self.address(), &options)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.home.engine_log_path()).unwrap_or_default()
    }
}

impl Drop for Fixture {
    /// Stops a server a failed test left running.
    fn drop(&mut self) {
        let _ = supervisor::stop(&self.home, Duration::from_secs(1));
    }
}

fn alive(pid: u32) -> bool {
    process::inspect(pid).is_some()
}

#[test]
fn late_listener_is_ready_then_stops_gracefully() {
    // The port is free when chosen but unbound for 300 ms, so another process
    // may take it meanwhile. Then the child fails to bind, or readiness sees
    // the other listener: the run is repeated on a new port.
    let (fixture, mut started) = (0..3)
        .find_map(|_| {
            let fixture = fixture();
            let mut started = fixture
                .start(&["--listen-after-ms", "300"], Duration::from_secs(12))
                .ok()?;
            if started.ready_after.is_some() && fixture.log().contains(LISTENING_LINE) {
                return Some((fixture, started));
            }
            let _ = supervisor::stop(&fixture.home, Duration::from_secs(5));
            let _ = started.child.wait();
            None
        })
        .expect("the late listener became ready on one of three ports");
    // The test server prints its line after binding and before it answers,
    // so readiness waited for this child's late listen, not another process.
    assert!(fixture.log().contains(LISTENING_LINE));

    let pid = started.child.id();
    let saved = record::read(&fixture.home.pid_file_path())
        .unwrap()
        .unwrap();
    assert_eq!(saved.pid, pid);
    assert_eq!(saved.port, fixture.port);
    assert_eq!(saved.liveness(), supervisor::Liveness::Ours);
    let log = fixture.log();
    let cwd = format!("cwd {}", fixture.home.root().display());
    assert!(
        log.contains(&cwd),
        "working directory is the home folder:\n{log}"
    );

    let outcome = supervisor::stop(&fixture.home, Duration::from_secs(5)).unwrap();
    assert_eq!(
        outcome,
        StopOutcome::Stopped {
            pid,
            method: StopMethod::Graceful
        }
    );
    started.child.wait().unwrap();
    assert!(!fixture.home.pid_file_path().exists(), "record removed");
}

#[test]
fn never_listening_server_times_out_and_keeps_running() {
    let fixture = fixture();
    let mut started = fixture
        .start(&["--never-listen"], Duration::from_millis(400))
        .unwrap();
    assert_eq!(started.ready_after, None);
    let pid = started.child.id();
    assert!(alive(pid));
    assert!(matches!(
        supervisor::stop(&fixture.home, Duration::from_secs(5)).unwrap(),
        StopOutcome::Stopped {
            method: StopMethod::Graceful,
            ..
        }
    ));
    started.child.wait().unwrap();
    assert!(!alive(pid));
}

#[test]
fn crash_during_startup_reports_status_and_log() {
    let fixture = fixture();
    let err = fixture
        .start(
            &["--never-listen", "--crash-after-ms", "100"],
            Duration::from_secs(12),
        )
        .unwrap_err();
    let StartError::ExitedEarly {
        status,
        log_tail,
        bad_config,
        log_path,
    } = err
    else {
        panic!("expected ExitedEarly, got {err:?}");
    };
    assert_eq!(status.code(), Some(3));
    assert_eq!(bad_config, None);
    assert_eq!(log_path, fixture.home.engine_log_path());
    assert!(
        log_tail
            .iter()
            .any(|line| line.contains("crashing on purpose")),
        "{log_tail:?}"
    );
    assert!(!fixture.home.pid_file_path().exists(), "no record left");
}

#[test]
fn bad_config_exit_zero_is_a_failure() {
    let fixture = fixture();
    let err = fixture
        .start(&["--bad-config"], Duration::from_secs(12))
        .unwrap_err();
    let StartError::ExitedEarly {
        status, bad_config, ..
    } = err
    else {
        panic!("expected ExitedEarly, got {err:?}");
    };
    assert!(status.success(), "upstream exits 0 on a bad config");
    let line = bad_config.expect("the failed to load config line is detected");
    assert!(line.contains("failed to load config"), "{line}");
}

#[test]
fn stubborn_server_is_killed_after_the_timeout() {
    let fixture = fixture();
    let mut started = fixture
        .start(&["--ignore-sigterm"], Duration::from_secs(12))
        .unwrap();
    assert!(started.ready_after.is_some());
    let pid = started.child.id();
    let outcome = supervisor::stop(&fixture.home, Duration::from_millis(300)).unwrap();
    assert_eq!(
        outcome,
        StopOutcome::Stopped {
            pid,
            method: StopMethod::KilledAfterTimeout
        }
    );
    started.child.wait().unwrap();
    assert!(!alive(pid));
}

#[test]
fn port_conflict_is_reported_before_spawning() {
    let fixture = fixture();
    let listener = TcpListener::bind(("127.0.0.1", fixture.port)).unwrap();
    let err = fixture.start(&[], Duration::from_secs(12)).unwrap_err();
    let StartError::PortInUse { port, owner } = err else {
        panic!("expected PortInUse, got {err:?}");
    };
    assert_eq!(port, fixture.port);
    if cfg!(target_os = "linux") {
        let owner = owner.expect("the listening process is found on Linux");
        assert_eq!(owner.pid, std::process::id());
    }
    assert!(
        !fixture.home.engine_log_path().exists(),
        "nothing was spawned"
    );
    assert!(!fixture.home.pid_file_path().exists());
    drop(listener);
}

#[test]
fn foreign_process_with_recorded_pid_is_left_alone() {
    let fixture = fixture();
    fixture.home.create_dirs().unwrap();
    let mut sleeper = Command::new("sleep").arg("1000").spawn().unwrap();
    let pid = sleeper.id();
    let info = process::inspect(pid).unwrap();

    // Same pid, different start time: a reused pid.
    let mut foreign = EngineRecord {
        pid,
        start_time: info.start_time + 1,
        exe: info.exe.clone().unwrap(),
        program: None,
        config: fixture.home.config_path().to_path_buf(),
        port: fixture.port,
        engine: "external".to_string(),
        version: "test".to_string(),
        version_printed: false,
        webui_page: None,
        probe: format!("127.0.0.1:{}", fixture.port),
        tls: false,
        started_at: 0,
    };
    record::write(&fixture.home.pid_file_path(), &foreign).unwrap();
    let outcome = supervisor::stop(&fixture.home, Duration::from_secs(1)).unwrap();
    assert_eq!(outcome, StopOutcome::PidReused { pid });
    assert!(alive(pid), "a foreign process was signalled");

    // Same pid and start time, another executable.
    foreign.start_time = info.start_time;
    foreign.exe = test_server().to_path_buf();
    record::write(&fixture.home.pid_file_path(), &foreign).unwrap();
    let outcome = supervisor::stop(&fixture.home, Duration::from_secs(1)).unwrap();
    assert_eq!(outcome, StopOutcome::PidReused { pid });
    assert!(alive(pid), "a foreign process was signalled");
    assert!(supervisor::status(&fixture.home).unwrap().running.is_none());

    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
}

/// A process on its way out loses its executable link before it closes its
/// sockets (Linux). `stop` must wait for the process itself, or a restart
/// finds the old server still holding the port. The record's wrong `exe`
/// stands in for that window: the process reads as foreign, not exited.
#[test]
fn process_without_its_executable_has_not_exited() {
    let mut sleeper = Command::new(test_server())
        .args(["--port", "0", "--never-listen"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = sleeper.id();
    let info = process::inspect(pid).expect("the sleeper runs");
    let record = EngineRecord {
        pid,
        start_time: info.start_time,
        exe: PathBuf::from("/nonexistent/cli-proxy-api"),
        program: None,
        config: PathBuf::from("/nonexistent/config.yaml"),
        port: 1,
        engine: "external".to_string(),
        version: "test".to_string(),
        version_printed: false,
        webui_page: None,
        probe: "127.0.0.1:1".to_string(),
        tls: false,
        started_at: 0,
    };
    assert_eq!(record.liveness(), supervisor::Liveness::Foreign);
    assert!(!record.has_exited(), "a running process has not exited");
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    assert!(record.has_exited(), "a reaped process has exited");
}

#[test]
fn stale_record_is_removed() {
    let fixture = fixture();
    fixture.home.create_dirs().unwrap();
    let mut exited = Command::new(test_server())
        .arg("--bad-config")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = exited.id();
    exited.wait().unwrap();
    let stale = EngineRecord {
        pid,
        start_time: 1,
        exe: test_server().to_path_buf(),
        program: None,
        config: fixture.home.config_path().to_path_buf(),
        port: fixture.port,
        engine: "external".to_string(),
        version: "test".to_string(),
        version_printed: false,
        webui_page: None,
        probe: format!("127.0.0.1:{}", fixture.port),
        tls: false,
        started_at: 0,
    };
    record::write(&fixture.home.pid_file_path(), &stale).unwrap();
    let status = supervisor::status(&fixture.home).unwrap();
    assert!(status.running.is_none());
    assert_eq!(status.stale.map(|record| record.pid), Some(pid));
    let outcome = supervisor::stop(&fixture.home, Duration::from_secs(1)).unwrap();
    assert_eq!(outcome, StopOutcome::AlreadyExited { pid });
    assert!(!fixture.home.pid_file_path().exists());
}

#[test]
fn large_log_is_rotated_before_start() {
    let fixture = fixture();
    fixture.home.create_dirs().unwrap();
    let old = vec![b'x'; (supervisor::logfile::ROTATE_BYTES + 1) as usize];
    std::fs::write(fixture.home.engine_log_path(), &old).unwrap();
    let mut started = fixture.start(&[], Duration::from_secs(12)).unwrap();
    let rotated = fixture.home.logs_dir().join("engine.log.1");
    assert_eq!(std::fs::metadata(&rotated).unwrap().len(), old.len() as u64);
    assert!(
        std::fs::metadata(fixture.home.engine_log_path())
            .unwrap()
            .len()
            < 4096
    );
    supervisor::stop(&fixture.home, Duration::from_secs(5)).unwrap();
    started.child.wait().unwrap();
}

#[test]
fn status_probes_the_running_server() {
    let fixture = fixture();
    let mut started = fixture.start(&[], Duration::from_secs(12)).unwrap();
    let status = supervisor::status(&fixture.home).unwrap();
    assert_eq!(
        status.running.map(|record| record.pid),
        Some(started.child.id())
    );
    assert!(status.serving);
    supervisor::stop(&fixture.home, Duration::from_secs(5)).unwrap();
    started.child.wait().unwrap();
    let status = supervisor::status(&fixture.home).unwrap();
    assert!(status.running.is_none());
    assert!(!status.serving);
}

/// Returns the numbers of the `tick K` lines in `text`, in order.
fn ticks(text: &str) -> Vec<u64> {
    text.lines()
        .filter_map(|line| line.strip_prefix("tick "))
        .filter_map(|count| count.trim().parse().ok())
        .collect()
}

#[test]
fn running_server_log_is_rotated_in_place() {
    use supervisor::logfile::{self, ROTATE_BYTES, RotationWatch};
    let fixture = fixture();
    // Six MiB of output right after listening, then a numbered line every 20 ms.
    let burst = (ROTATE_BYTES + 1024 * 1024).to_string();
    let mut started = fixture
        .start(
            &["--write-bytes", &burst, "--tick-ms", "20"],
            Duration::from_secs(12),
        )
        .unwrap();
    let log = fixture.home.engine_log_path();
    let rotated = logfile::rotated_path(&log);
    let errors = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = errors.clone();
    let watch = RotationWatch::spawn(
        log.clone(),
        ROTATE_BYTES,
        Duration::from_millis(100),
        move |err| sink.lock().unwrap().push(err.to_string()),
    )
    .unwrap();

    let deadline = Instant::now() + Duration::from_secs(20);
    while !rotated.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(rotated.exists(), "no rotation within 20 s");
    // Let the server append a few more ticks to the truncated file.
    std::thread::sleep(Duration::from_millis(400));
    drop(watch);
    supervisor::stop(&fixture.home, Duration::from_secs(5)).unwrap();
    started.child.wait().unwrap();

    assert!(
        errors.lock().unwrap().is_empty(),
        "{:?}",
        errors.lock().unwrap()
    );
    let old = std::fs::read(&rotated).unwrap();
    let new = std::fs::read(&log).unwrap();
    assert!(
        old.len() as u64 > ROTATE_BYTES,
        "rotated copy has {} bytes",
        old.len()
    );
    assert!(
        (new.len() as u64) < ROTATE_BYTES,
        "log still has {} bytes",
        new.len()
    );
    assert!(String::from_utf8_lossy(&old).contains(LISTENING_LINE));
    // With O_APPEND the server's next write lands at the new end, not at
    // its old offset behind a hole of zero bytes.
    assert_ne!(new.first(), Some(&0), "truncated log starts with a hole");
    assert!(!new.contains(&0), "truncated log contains zero bytes");
    let old_ticks = ticks(&String::from_utf8_lossy(&old));
    let new_ticks = ticks(&String::from_utf8_lossy(&new));
    assert!(
        !new_ticks.is_empty(),
        "server stopped writing after the rotation"
    );
    if let (Some(last_old), Some(first_new)) = (old_ticks.last(), new_ticks.first()) {
        assert!(
            first_new > last_old,
            "ticks out of order: {last_old} then {first_new}"
        );
    }
}

#[test]
fn small_log_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("engine.log");
    std::fs::write(&log, b"short\n").unwrap();
    assert!(!supervisor::logfile::rotate_if_larger(&log, 1024).unwrap());
    assert_eq!(std::fs::read(&log).unwrap(), b"short\n");
    assert!(!supervisor::logfile::rotated_path(&log).exists());
    let missing = dir.path().join("missing.log");
    assert!(!supervisor::logfile::rotate_if_larger(&missing, 0).unwrap());
}

#[test]
fn large_log_rotation_keeps_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("engine.log");
    let content: Vec<u8> = (0..10_000u32)
        .flat_map(|n| format!("line {n}\n").into_bytes())
        .collect();
    std::fs::write(&log, &content).unwrap();
    let rotated = supervisor::logfile::rotated_path(&log);
    std::fs::write(&rotated, b"older rotation").unwrap();
    assert!(supervisor::logfile::rotate_if_larger(&log, 1024).unwrap());
    assert_eq!(std::fs::read(&rotated).unwrap(), content);
    assert_eq!(std::fs::metadata(&log).unwrap().len(), 0);
}

#[cfg(target_os = "linux")]
#[test]
fn suspended_server_is_reported() {
    let fixture = fixture();
    let mut started = fixture.start(&[], Duration::from_secs(12)).unwrap();
    let pid = started.child.id().to_string();
    let signal = |name: &str| {
        let status = Command::new("kill").args([name, &pid]).status().unwrap();
        assert!(status.success(), "kill {name}");
    };
    signal("-STOP");
    // The kernel stops the process when it next handles the signal.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !supervisor::process::is_suspended(started.child.id()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = supervisor::status(&fixture.home).unwrap();
    assert!(status.running.is_some());
    assert!(status.suspended);
    assert!(!status.serving);

    signal("-CONT");
    let status = supervisor::status(&fixture.home).unwrap();
    assert!(!status.suspended);
    assert!(status.serving);
    supervisor::stop(&fixture.home, Duration::from_secs(5)).unwrap();
    started.child.wait().unwrap();
}

#[test]
fn rotation_in_progress_elsewhere_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("engine.log");
    std::fs::write(&log, vec![b'x'; 4096]).unwrap();
    let held = std::fs::File::create(dir.path().join("engine.log.1.lock")).unwrap();
    held.lock().unwrap();
    assert!(!supervisor::logfile::rotate_if_larger(&log, 1024).unwrap());
    assert_eq!(std::fs::metadata(&log).unwrap().len(), 4096);
    drop(held);
    assert!(supervisor::logfile::rotate_if_larger(&log, 1024).unwrap());
    assert_eq!(std::fs::metadata(&log).unwrap().len(), 0);
}

#[test]
fn stop_note_survives_the_next_start() {
    let fixture = fixture();
    let first = fixture
        .start(&[], Duration::from_secs(10))
        .expect("first start");
    let first_pid = first.record.pid;
    assert!(matches!(
        supervisor::stop(&fixture.home, Duration::from_secs(5)).unwrap(),
        StopOutcome::Stopped { .. }
    ));
    // A restart starts the next server before the old one's supervisor
    // has looked: the note for the old pid must still be there.
    let second = fixture
        .start(&[], Duration::from_secs(10))
        .expect("second start");
    assert_ne!(second.record.pid, first_pid);
    assert!(supervisor::stop_was_requested(&fixture.home, first_pid));
    // Read once: the note is cleared.
    assert!(!supervisor::stop_was_requested(&fixture.home, first_pid));
    assert!(!supervisor::stop_was_requested(
        &fixture.home,
        second.record.pid
    ));
    drop(first);
    drop(second);
}

#[test]
fn pending_restart_is_cancelled_once() {
    let fixture = fixture();
    assert_eq!(supervisor::pending_restart(&fixture.home), None);
    assert_eq!(
        supervisor::cancel_pending_restart(&fixture.home).unwrap(),
        None
    );

    let home = fixture.home.clone();
    let waiter =
        std::thread::spawn(move || supervisor::wait_to_restart(&home, Duration::from_secs(20)));
    let deadline = Instant::now() + Duration::from_secs(5);
    let pending = loop {
        if let Some(pending) = supervisor::pending_restart(&fixture.home) {
            break pending;
        }
        assert!(Instant::now() < deadline, "the wait was never announced");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(pending.supervisor_pid, std::process::id());
    let started = Instant::now();
    assert_eq!(
        supervisor::cancel_pending_restart(&fixture.home).unwrap(),
        Some(std::process::id())
    );
    assert!(!waiter.join().unwrap(), "the wait was not cancelled");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(supervisor::pending_restart(&fixture.home), None);
}

#[test]
fn record_without_program_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("engine.json");
    // A record as trays before the `program` field wrote it.
    std::fs::write(
        &path,
        r#"{"pid":7,"startTime":1,"exe":"/opt/cpa/cli-proxy-api","config":"/c.yaml","port":1,
        "engine":"external","version":"v1","probe":"127.0.0.1:1","tls":false,"startedAt":0}"#,
    )
    .unwrap();
    let record = cpa_core::supervisor::record::read(&path).unwrap().unwrap();
    assert_eq!(record.pid, 7);
    assert_eq!(record.program, None);
}
