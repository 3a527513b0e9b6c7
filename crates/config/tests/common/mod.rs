//! Helpers shared by this crate's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use cpa_config::{Layout, Leaf, ServerView};
use serde_json::{Value, json};

fn leaf<T: Into<Value> + Clone>(leaf: &Leaf<T>) -> Value {
    match &leaf.path {
        Some(path) => {
            json!({ "present": true, "path": path, "value": leaf.value.clone().map(Into::into) })
        }
        None => json!({ "present": false, "value": null }),
    }
}

/// Converts a `ServerView` to the JSON shape `cpa-config-oracle read` prints.
pub fn view_report(view: &ServerView) -> Value {
    json!({
        "layout": match view.layout {
            Layout::Legacy => "legacy",
            Layout::V8 => "v8",
            Layout::Mixed => "mixed",
        },
        "secret_key": leaf(&view.secret_key),
        "secret_key_hashed": cpa_config::secret::looks_like_bcrypt(view.secret()),
        "allow_remote": leaf(&view.allow_remote),
        "host": leaf(&view.host),
        "port": leaf(&view.port),
        "tls_enable": leaf(&view.tls_enable),
    })
}

/// Runs the oracle's `read` on a file.
pub fn oracle_report(oracle: &Path, file: &Path) -> Value {
    cpa_testkit::oracle_read(oracle, file)
}

/// Returns whether two reports agree: both errors, or every field equal.
pub fn reports_agree(ours: &Value, theirs: &Value) -> bool {
    let ours_err = ours.get("error").is_some();
    let theirs_err = theirs.get("error").is_some_and(|e| !e.is_null());
    if ours_err || theirs_err {
        return ours_err == theirs_err;
    }
    [
        "layout",
        "secret_key",
        "secret_key_hashed",
        "allow_remote",
        "host",
        "port",
        "tls_enable",
    ]
    .iter()
    .all(|field| ours.get(field) == theirs.get(field))
}

/// Lists every fixture file: the real configs and the upstream examples.
pub fn all_fixtures() -> Vec<PathBuf> {
    let mut files = cpa_testkit::yaml_files(&cpa_testkit::fixture_configs_dir());
    files.extend(cpa_testkit::yaml_files(
        &cpa_testkit::upstream_examples_dir(),
    ));
    files
}

/// Writes `bytes` to a fresh temporary `config.yaml`.
pub fn temp_config(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("create a temporary folder");
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, bytes).expect("write temporary config");
    (dir, path)
}
