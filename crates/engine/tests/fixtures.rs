//! The engine loads every real-world config fixture the way the Go server
//! does (the stored reading of the Go oracle in `expected.json`), or rejects
//! it with the same error.

use std::path::Path;

#[test]
fn every_fixture_loads_like_the_go_server() {
    let dir = cpa_testkit::fixture_configs_dir();
    let expected: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("expected.json")).expect("read expected.json"),
    )
    .expect("parse expected.json");
    let oracle = cpa_testkit::oracle();
    let files = cpa_testkit::yaml_files(&dir);
    assert!(files.len() >= 40, "fixtures missing in {}", dir.display());

    for fixture in files {
        let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
        let want = &expected[&name];
        let (_temp, copy) = cpa_testkit::copy_fixture(&fixture);
        let result = cpa_engine::check_config(&copy);

        if let Some(error) = want.get("error").and_then(|e| e.as_str()) {
            let message = result.expect_err(&format!("{name}: the Go server rejects this file"));
            assert!(
                message.contains(&copy.display().to_string()),
                "{name}: {message}"
            );
            let line = error
                .split("line ")
                .nth(1)
                .and_then(|rest| rest.split(':').next());
            if let Some(line) = line {
                assert!(
                    message.contains(&format!(":{line}")),
                    "{name}: line {line} in {message}"
                );
            }
            continue;
        }

        let check = result.unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(
            i64::from(check.port),
            want["port"]["value"].as_i64().unwrap_or(0),
            "{name} port"
        );
        assert_eq!(
            check.host,
            want["host"]["value"].as_str().unwrap_or(""),
            "{name} host"
        );
        assert_eq!(
            check.allow_remote,
            want["allow_remote"]["value"].as_bool().unwrap_or(false),
            "{name} allow-remote"
        );
        assert_eq!(
            check.tls_enabled,
            want["tls_enable"]["value"].as_bool().unwrap_or(false),
            "{name} tls"
        );
        let secret = want["secret_key"]["value"].as_str().unwrap_or("");
        assert_eq!(
            check.management_key_set,
            !secret.is_empty(),
            "{name} key set"
        );

        if !secret.is_empty() && !want["secret_key_hashed"].as_bool().unwrap_or(false) {
            assert_plaintext_hashed(&name, &copy, secret, oracle.as_deref());
        }
    }
}

/// Asserts that the plaintext key was replaced by a cost-10 `$2a$` hash that accepts it.
fn assert_plaintext_hashed(name: &str, copy: &Path, secret: &str, oracle: Option<&Path>) {
    let document = cpa_config::load(copy).unwrap_or_else(|err| panic!("{name}: {err}"));
    let view = document.view().unwrap();
    let stored = view.secret();
    assert!(stored.starts_with("$2a$10$"), "{name}: stored {stored:?}");
    assert!(
        cpa_config::secret::verify_password(secret, stored),
        "{name}"
    );
    let text = String::from_utf8_lossy(document.bytes()).into_owned();
    assert!(
        !text.contains(&format!("secret-key: {secret}")),
        "{name}: plaintext left"
    );
    if let Some(oracle) = oracle {
        assert!(
            cpa_testkit::oracle_verify(oracle, copy, secret),
            "{name}: the Go oracle rejects the written hash"
        );
    }
}
