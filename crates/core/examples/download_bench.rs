//! Download benchmark: `releases::download_asset` against `curl`, both
//! fetching the same asset from the fake GitHub on 127.0.0.1, plus the
//! process's peak resident memory for each asset size.
//!
//! Run: `cargo run -p cpa-core --release --example download_bench [MB ...]`
//! (default sizes: 10 100 300). Each size runs in a fresh child process
//! (`--single MB`), so its peak resident memory (VmHWM from
//! /proc/self/status, Linux only) covers only that size. Each size is
//! downloaded three times by each client, alternating, and the best time of
//! each is reported. The fake server runs in the same process as cpa-core
//! and streams the asset from a file, so its memory is counted too.

#[path = "../tests/releases_support/mod.rs"]
mod releases_support;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use cpa_core::releases::{self, Asset, ProxySetting, ReleaseSource};
use releases_support::{Body, FakeGithub, Route};

const ROUNDS: usize = 3;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--single") {
        let megabytes = args
            .get(1)
            .and_then(|a| a.parse().ok())
            .expect("--single MB");
        run(&[megabytes]);
        return;
    }
    let mut sizes: Vec<u64> = args.iter().filter_map(|a| a.parse().ok()).collect();
    if sizes.is_empty() {
        sizes = vec![10, 100, 300];
    }
    let me = std::env::current_exe().expect("path of this benchmark");
    for megabytes in sizes {
        let status = Command::new(&me)
            .arg("--single")
            .arg(megabytes.to_string())
            .status()
            .expect("run the benchmark child");
        assert!(status.success(), "the {megabytes} MB run failed");
    }
}

fn run(sizes: &[u64]) {
    let work = tempfile::tempdir().expect("temporary folder");
    let server = FakeGithub::start();
    let source = ReleaseSource {
        api_base: server.url(),
        proxy: ProxySetting::Direct,
        ..ReleaseSource::default()
    };
    let curl = Command::new("curl").arg("--version").output().is_ok();
    if !curl {
        eprintln!("curl is not installed; only cpa-core is measured");
    }

    for &megabytes in sizes {
        let size = megabytes * 1024 * 1024;
        let name = format!("CLIProxyAPI_0.0.{megabytes}_linux_amd64.tar.gz");
        let asset_path = work.path().join(&name);
        write_asset(&asset_path, size);
        let url_path = format!("/bench/{name}");
        server.route(
            &url_path,
            Route::Respond {
                status: 200,
                headers: vec![("Content-Type".into(), "application/gzip".into())],
                body: Body::File(asset_path.clone()),
            },
        );
        let asset = Asset {
            name: name.clone(),
            size,
            browser_download_url: format!("{}{url_path}", server.url()),
            digest: None,
        };
        let out_dir = work.path().join("versions");
        fs::create_dir_all(&out_dir).expect("versions folder");

        let mut ours = Duration::MAX;
        let mut theirs = Duration::MAX;
        for _ in 0..ROUNDS {
            let never = AtomicBool::new(false);
            let started = Instant::now();
            let downloaded =
                releases::download_asset(&source, &asset, &out_dir, &mut |_| {}, &never)
                    .expect("download");
            ours = ours.min(started.elapsed());
            assert_eq!(fs::metadata(downloaded.path()).expect("file").len(), size);
            drop(downloaded);

            if curl {
                let target = out_dir.join("curl.out");
                let started = Instant::now();
                let status = Command::new("curl")
                    .args(["--silent", "--show-error", "--noproxy", "*", "-o"])
                    .arg(&target)
                    .arg(&asset.browser_download_url)
                    .status()
                    .expect("run curl");
                theirs = theirs.min(started.elapsed());
                assert!(status.success());
                let _ = fs::remove_file(&target);
            }
        }
        let hwm = vm_hwm_kib().unwrap_or(0);
        let rate = |d: Duration| size as f64 / d.as_secs_f64() / (1024.0 * 1024.0);
        print!(
            "{megabytes:>5} MB: cpa-core {:>7.1} MiB/s ({:.3} s)",
            rate(ours),
            ours.as_secs_f64()
        );
        if curl {
            print!(
                ", curl {:>7.1} MiB/s ({:.3} s), ratio {:.0}%",
                rate(theirs),
                theirs.as_secs_f64(),
                100.0 * theirs.as_secs_f64() / ours.as_secs_f64()
            );
        }
        println!(", peak RSS of the process {hwm} KiB");
        let _ = fs::remove_file(&asset_path);
    }
}

/// Writes `size` bytes of incompressible data behind a gzip magic number,
/// through a fixed buffer.
fn write_asset(path: &Path, size: u64) {
    let mut file = std::io::BufWriter::new(fs::File::create(path).expect("create asset"));
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut buffer = vec![0u8; 1024 * 1024];
    let mut written = 0u64;
    while written < size {
        for chunk in buffer.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes());
        }
        if written == 0 {
            buffer[0] = 0x1f;
            buffer[1] = 0x8b;
        }
        let take = (size - written).min(buffer.len() as u64) as usize;
        file.write_all(&buffer[..take]).expect("write asset");
        written += take as u64;
    }
    file.flush().expect("flush asset");
}

/// Returns the peak resident set size (VmHWM) in KiB.
fn vm_hwm_kib() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
