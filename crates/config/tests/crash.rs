//! Crash safety: a writer killed (SIGKILL) at random points always leaves a
//! file that loads as the old or the new content, and no recovery file after
//! the load.
#![cfg(unix)]

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
    for round in 0..200 {
        let mut child = cpa_testkit::binary_command(
            "cpa-config-write-loop",
            env!("CARGO_BIN_EXE_cpa-config-write-loop"),
        )
        .arg(&config)
        .arg(&a_path)
        .arg(&b_path)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the write loop");
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
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["a.yaml", "b.yaml", "config.yaml"],
        "stray files after the kills"
    );
    eprintln!(
        "200 kills: {saw_a}x old, {saw_b}x new, {saw_recovery} interrupted mid-write and repaired"
    );
    assert!(
        saw_a > 0 && saw_b > 0,
        "the kills never landed on both contents"
    );
}
