//! Measures the time to set the management key in the 851-line upstream
//! example and in 10x and 100x larger files built from it, so the cost can be
//! checked to grow linearly. Each iteration parses, edits, re-parses and
//! verifies; there is no disk write and no bcrypt.
//!
//! Run: `cargo bench -p cpa-config --bench set_secret_key`
//! (add `-- --measurement-time 2 --warm-up-time 1` for a quick run).

use std::path::Path;

use cpa_config::ConfigDocument;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// A fixed bcrypt hash, so the benchmark measures editing and not hashing.
const HASH: &str = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";

/// Builds the example followed by `copies - 1` copies of itself, each indented
/// under its own top-level key (`copy-1:`, ...), so the result stays valid
/// YAML with one `remote-management` block.
fn scaled(example: &str, copies: usize) -> Vec<u8> {
    let mut out = String::with_capacity(example.len() * copies + copies * 16);
    out.push_str(example);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    for copy in 1..copies {
        out.push_str(&format!("copy-{copy}:\n"));
        for line in example.lines() {
            if !line.trim().is_empty() {
                out.push_str("  ");
                out.push_str(line);
            }
            out.push('\n');
        }
    }
    out.into_bytes()
}

fn set_secret_key(c: &mut Criterion) {
    let path = cpa_testkit::fixture_configs_dir().join("01-upstream-example-head.yaml");
    let example = std::fs::read_to_string(&path).expect("read the upstream example");
    let mut group = c.benchmark_group("set_secret_key");
    for copies in [1, 10, 100] {
        let bytes = scaled(&example, copies);
        // The scaled file must itself be a valid config the edit works on.
        let doc = ConfigDocument::parse(bytes.clone(), Path::new("bench.yaml"))
            .expect("scaled file parses");
        let edited = doc.with_secret_key(HASH).expect("edit");
        assert_eq!(edited.len(), bytes.len() + HASH.len());
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{copies}x")),
            &bytes,
            |b, bytes| {
                b.iter(|| {
                    let doc = ConfigDocument::parse(bytes.clone(), Path::new("bench.yaml"))
                        .expect("parse");
                    doc.with_secret_key(HASH).expect("edit")
                });
            },
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = set_secret_key
}
criterion_main!(benches);
