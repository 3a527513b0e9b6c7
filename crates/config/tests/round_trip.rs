//! Round trip over every fixture: set a password (as its bcrypt hash) on a
//! copy, write it, then the Go oracle must read the new hash at the path the
//! server uses and accept the password, and the byte diff must be only the
//! value (or the inserted lines). Files the server refuses are refused too,
//! with nothing written.

mod common;

use std::path::Path;

use cpa_config::secret::hash_password_with_cost;

/// Returns the bytes that differ, (old middle, new middle), after the common prefix and suffix.
fn diff<'a>(old: &'a [u8], new: &'a [u8]) -> (&'a [u8], &'a [u8]) {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let max_suffix = old.len().min(new.len()) - prefix;
    let suffix = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    (
        &old[prefix..old.len() - suffix],
        &new[prefix..new.len() - suffix],
    )
}

/// Checks that the change is only the value, or only inserted key lines.
fn assert_minimal_diff(file: &Path, old: &[u8], new: &[u8], hash: &str) {
    let (old_mid, new_mid) = diff(old, new);
    let new_mid = String::from_utf8_lossy(new_mid);
    assert!(
        new_mid.contains(hash) || hash.contains(new_mid.as_ref()),
        "{}: new bytes {new_mid:?}",
        file.display()
    );
    // Only a multi-line value's continuation lines may go, never another key.
    let old_text = String::from_utf8_lossy(old_mid);
    for line in old_text.lines().skip(1) {
        assert!(
            !line.contains(": ") && !line.trim_end().ends_with(':'),
            "{}: another line was changed: {old_text:?}",
            file.display()
        );
    }
    let mut rest = new_mid.replace(hash, "");
    for allowed in [
        "remote-management:",
        "management:",
        "secret-key:",
        "'",
        "\"",
        " ",
        "\r",
        "\n",
    ] {
        rest = rest.replace(allowed, "");
    }
    // What is left must be part of the hash (the diff can cut into it) or
    // moved old text (a block scalar's header comment).
    let old_compact: String = old_text.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(
        hash.contains(&rest) || old_compact.contains(&rest),
        "{}: unexpected inserted text {rest:?} in {new_mid:?}",
        file.display()
    );
}

#[test]
fn every_fixture_round_trips_a_new_password() {
    let Some(oracle) = cpa_testkit::oracle() else {
        return;
    };
    let files = common::all_fixtures();
    assert!(files.len() >= 190, "only {} fixtures found", files.len());
    let (mut written, mut refused) = (0, 0);
    for (index, file) in files.iter().enumerate() {
        let (_dir, path) = cpa_testkit::copy_fixture(file);
        let original = std::fs::read(&path).expect("read copy");
        let before = cpa_testkit::oracle_read(&oracle, &path);
        let password = format!("Round-trip-{index}!");
        let cost = if index % 25 == 0 { 10 } else { 4 };
        let hash = hash_password_with_cost(&password, cost).expect("hash");
        let result = cpa_config::update(&path, |doc| doc.with_secret_key(&hash));
        if before.get("error").is_some() {
            assert!(
                result.is_err(),
                "{}: the server refuses this file, so must we",
                file.display()
            );
            assert_eq!(
                std::fs::read(&path).expect("read"),
                original,
                "{}: refused but written",
                file.display()
            );
            refused += 1;
            continue;
        }
        let doc = result.unwrap_or_else(|err| panic!("{}: {err}", file.display()));
        let new = std::fs::read(&path).expect("read result");
        assert_eq!(doc.bytes(), new.as_slice());
        let after = cpa_testkit::oracle_read(&oracle, &path);
        assert_eq!(after.get("error"), None, "{}", file.display());
        assert_eq!(
            after["secret_key"]["value"],
            hash.as_str(),
            "{}",
            file.display()
        );
        let expected_path = match before["secret_key"]["path"].as_str() {
            Some(path) => path,
            None if before["layout"] == "legacy"
                && !String::from_utf8_lossy(&original).contains("\nmanagement:") =>
            {
                "remote-management.secret-key"
            }
            None => "management.secret-key",
        };
        assert_eq!(
            after["secret_key"]["path"],
            expected_path,
            "{}",
            file.display()
        );
        for field in ["allow_remote", "host", "port", "tls_enable", "layout"] {
            assert_eq!(
                after[field],
                before[field],
                "{}: {field} changed",
                file.display()
            );
        }
        assert!(
            cpa_testkit::oracle_verify(&oracle, &path, &password),
            "{}: password not accepted",
            file.display()
        );
        assert_minimal_diff(file, &original, &new, &hash);
        assert!(!cpa_config::recovery_path(&path).exists());
        written += 1;
    }
    eprintln!(
        "{written} fixtures written and verified by the oracle, {refused} refused like the server"
    );
    assert!(
        refused >= 2 && written >= 190,
        "{written} written, {refused} refused"
    );
}
