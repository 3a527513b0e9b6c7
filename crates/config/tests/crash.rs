//! Crash safety: a writer killed (SIGKILL) at random points always leaves a
//! file that loads as the old or the new content, and no recovery file after
//! the load.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// A small deterministic generator, so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Starts the write-loop helper on `config`, alternating two content files.
fn spawn_writer(config: &Path, first: &Path, second: &Path) -> std::process::Child {
    cpa_testkit::binary_command(
        "cpa-config-write-loop",
        env!("CARGO_BIN_EXE_cpa-config-write-loop"),
    )
    .arg(config)
    .arg(first)
    .arg(second)
    .stdout(Stdio::null())
    .stderr(Stdio::inherit())
    .spawn()
    .expect("spawn the write loop")
}

#[test]
fn concurrent_writers_never_mix_contents() {
    let dir = tempfile::tempdir().expect("tempdir");
    let contents: Vec<Vec<u8>> = (0..4)
        .map(|i| {
            format!(
                "port: {i}\n{}",
                format!("# line of writer content {i}\n").repeat(2000)
            )
            .into_bytes()
        })
        .collect();
    let paths: Vec<PathBuf> = (0..4)
        .map(|i| dir.path().join(format!("{i}.yaml")))
        .collect();
    for (path, content) in paths.iter().zip(&contents) {
        std::fs::write(path, content).expect("write content");
    }
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, &contents[0]).expect("write config");
    let mut rng = Lcg(7);
    for round in 0..40 {
        let mut one = spawn_writer(&config, &paths[0], &paths[1]);
        let mut two = spawn_writer(&config, &paths[2], &paths[3]);
        std::thread::sleep(Duration::from_micros(1_000 + rng.next() % 8_000));
        one.kill().expect("kill");
        two.kill().expect("kill");
        one.wait().expect("reap");
        two.wait().expect("reap");
        let doc = cpa_config::load(&config).unwrap_or_else(|err| panic!("round {round}: {err}"));
        assert!(
            contents.iter().any(|c| c.as_slice() == doc.bytes()),
            "round {round}: mixed content"
        );
        assert!(!cpa_config::recovery_path(&config).exists());
    }
}

#[test]
fn killed_writer_leaves_old_or_new_content() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixture =
        std::fs::read(cpa_testkit::fixture_configs_dir().join("01-upstream-example-head.yaml"))
            .expect("fixture");
    // Large contents make a kill during the write itself likely.
    let a: Vec<u8> = fixture.repeat(1);
    let mut b = fixture.clone();
    for i in 0..40 {
        b.extend_from_slice(format!("# padding line {i} {}\n", "x".repeat(2000)).as_bytes());
    }
    let (a_path, b_path) = (dir.path().join("a.yaml"), dir.path().join("b.yaml"));
    std::fs::write(&a_path, &a).expect("write a");
    std::fs::write(&b_path, &b).expect("write b");
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, &a).expect("write config");
    let recovery = cpa_config::recovery_path(&config);

    let seed = std::env::var("CPA_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed);
    let mut rng = Lcg(seed);
    let (mut saw_recovery, mut saw_a, mut saw_b) = (0, 0, 0);
    let under_runner = std::env::var_os("CPA_TEST_RUNNER").is_some_and(|runner| !runner.is_empty());
    for round in 0..200 {
        let mut child = spawn_writer(&config, &a_path, &b_path);
        if under_runner {
            // A Windows program under Wine needs 60 to 130 ms to start, longer
            // than the kill window, so wait for its first write.
            wait_for_first_write(&config);
        }
        std::thread::sleep(Duration::from_micros(500 + rng.next() % 12_000));
        child.kill().expect("SIGKILL the writer");
        child.wait().expect("reap the writer");
        saw_recovery += usize::from(recovery.exists());
        let doc = cpa_config::load(&config)
            .unwrap_or_else(|err| panic!("round {round} (seed {seed}): {err}"));
        let bytes = doc.bytes();
        assert!(
            bytes == a.as_slice() || bytes == b.as_slice(),
            "round {round} (seed {seed}): torn content of {} bytes",
            bytes.len()
        );
        saw_a += usize::from(bytes == a.as_slice());
        saw_b += usize::from(bytes == b.as_slice());
        assert!(
            !recovery.exists(),
            "round {round}: recovery file left after load"
        );
        assert_eq!(std::fs::read(&config).expect("read"), bytes);
    }
    // A writer killed before renaming its temporary file leaves it behind
    // until the next write cleans up; nothing else may be left.
    for entry in std::fs::read_dir(dir.path()).expect("list") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        assert!(
            ["a.yaml", "b.yaml", "config.yaml"].contains(&name.as_str())
                || name.starts_with(".config.yaml.cpa-tmp-"),
            "stray file after the kills: {name}"
        );
    }
    eprintln!(
        "200 kills: {saw_a}x old, {saw_b}x new, {saw_recovery} interrupted mid-write and repaired"
    );
    assert!(
        saw_a > 0 && saw_b > 0,
        "the kills never landed on both contents"
    );
}

/// A writer waits for another writer's lock (`flock` on the config) instead of
/// interleaving its recovery file with the other's.
#[test]
fn writer_waits_for_the_lock() {
    use std::os::unix::io::AsRawFd;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, b"port: 1\n").expect("write config");
    let holder = std::fs::File::open(&config).expect("open");
    // SAFETY: the descriptor belongs to `holder`, alive for the whole test.
    assert_eq!(unsafe { libc::flock(holder.as_raw_fd(), libc::LOCK_EX) }, 0);
    let writer = {
        let config = config.clone();
        std::thread::spawn(move || cpa_config::write(&config, b"port: 2\n"))
    };
    std::thread::sleep(Duration::from_millis(200));
    assert!(!writer.is_finished(), "the write did not wait for the lock");
    assert_eq!(std::fs::read(&config).expect("read"), b"port: 1\n");
    drop(holder);
    writer
        .join()
        .expect("join")
        .expect("write after the lock is released");
    assert_eq!(std::fs::read(&config).expect("read"), b"port: 2\n");
}

/// A reader waits while a writer holds the lock, so it never sees a file
/// that is being rewritten.
#[test]
fn reader_waits_for_a_writer() {
    use std::os::unix::io::AsRawFd;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, b"port: 1\n").expect("write config");
    let holder = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&config)
        .expect("open");
    // SAFETY: the descriptor belongs to `holder`, alive for the whole test.
    assert_eq!(unsafe { libc::flock(holder.as_raw_fd(), libc::LOCK_EX) }, 0);
    // Simulate a write in progress: the file is truncated and half written.
    holder.set_len(0).expect("truncate");
    std::fs::write(&config, b"por").expect("partial write");
    let reader = {
        let config = config.clone();
        std::thread::spawn(move || cpa_config::load(&config).map(|doc| doc.bytes().to_vec()))
    };
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !reader.is_finished(),
        "the read did not wait for the writer"
    );
    std::fs::write(&config, b"port: 2\n").expect("finish the write");
    drop(holder);
    let bytes = reader.join().expect("join").expect("load after the write");
    assert_eq!(bytes, b"port: 2\n");
}

/// Waits up to 5 s until `path` has been modified since this call.
fn wait_for_first_write(path: &std::path::Path) {
    let modified = || {
        std::fs::metadata(path)
            .and_then(|meta| meta.modified())
            .ok()
    };
    let before = modified();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while modified() == before && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
}
