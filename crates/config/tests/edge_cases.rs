//! Edge cases of editing the secret-key, numbered E01–E18 as in the project's
//! list of real-world failures: what is read, the exact bytes written for the
//! new password `N3w-pass`, and what the Go oracle reads back from them.
//!
//! Two deliberate differences from that list's sample output. A value
//! keeps the quoting style it had (`""` stays double-quoted), as the server's
//! own write-back does, and single quotes are used only where there was no
//! style to keep (null, empty, block scalars, new keys). A new
//! `remote-management` block gets only `secret-key`, not `allow-remote:
//! false`, because an absent `allow-remote` already reads as false and the
//! edit may change nothing but the key.

mod common;

use std::path::Path;

use cpa_config::{ConfigDocument, ErrorKind};

const NEW: &str = "N3w-pass";

fn doc(text: &str) -> ConfigDocument {
    ConfigDocument::parse(text.as_bytes().to_vec(), Path::new("config.yaml"))
        .unwrap_or_else(|err| panic!("{text:?} should parse: {err}"))
}

/// Sets `value`, checks the exact output, and has the oracle read it back.
fn set_and_check(input: &str, value: &str, expected: &str) {
    let out = doc(input)
        .with_secret_key(value)
        .unwrap_or_else(|err| panic!("{input:?}: {err}"));
    assert_eq!(String::from_utf8_lossy(&out), expected, "input {input:?}");
    oracle_reads(&out, value);
}

/// Checks that the oracle reads `value` as the effective secret-key of `bytes`.
fn oracle_reads(bytes: &[u8], value: &str) -> Option<serde_json::Value> {
    let oracle = cpa_testkit::oracle()?;
    let (_dir, path) = common::temp_config(bytes);
    let report = cpa_testkit::oracle_read(&oracle, &path);
    assert_eq!(
        report.get("error"),
        None,
        "oracle refused {:?}",
        String::from_utf8_lossy(bytes)
    );
    assert_eq!(
        report["secret_key"]["value"],
        value,
        "{:?}",
        String::from_utf8_lossy(bytes)
    );
    Some(report)
}

fn read_secret(input: &str) -> (Option<&'static str>, String) {
    let view = doc(input).view().expect("view");
    (view.secret_key.path, view.secret().to_string())
}

#[test]
fn e01_flow_mapping_edited_in_braces() {
    let input = "remote-management: {allow-remote: false, secret-key: \"\"}\n";
    assert_eq!(read_secret(input).1, "");
    set_and_check(
        input,
        NEW,
        "remote-management: {allow-remote: false, secret-key: \"N3w-pass\"}\n",
    );
    // JSON-style, over several lines and left of the key.
    set_and_check(
        "remote-management: {\nallow-remote: false,\nsecret-key: \"\"\n}\n",
        NEW,
        "remote-management: {\nallow-remote: false,\nsecret-key: \"N3w-pass\"\n}\n",
    );
    // A flow mapping without the key gets it inside the braces, not a second block.
    set_and_check(
        "remote-management: {allow-remote: false}\n",
        NEW,
        "remote-management: {allow-remote: false, secret-key: 'N3w-pass'}\n",
    );
}

#[test]
fn e02_inline_comment_kept() {
    let input = "remote-management:\n  secret-key: \"\" # set by tray\n";
    assert_eq!(read_secret(input).1, "");
    set_and_check(
        input,
        NEW,
        "remote-management:\n  secret-key: \"N3w-pass\" # set by tray\n",
    );
}

#[test]
fn e03_null_forms_replaced_on_their_line() {
    for form in ["", " ~", " null", " ''"] {
        let input = format!("remote-management:\n  secret-key:{form}\nport: 1\n");
        assert_eq!(
            read_secret(&input),
            (Some("remote-management.secret-key"), String::new())
        );
        set_and_check(
            &input,
            NEW,
            "remote-management:\n  secret-key: 'N3w-pass'\nport: 1\n",
        );
    }
    // A bare key with a comment keeps the comment.
    set_and_check(
        "remote-management:\n  secret-key: # empty\n",
        NEW,
        "remote-management:\n  secret-key: 'N3w-pass' # empty\n",
    );
}

#[test]
fn e04_crlf_kept_on_every_line() {
    let input = "remote-management:\r\n  allow-remote: false\r\n  secret-key: \"\"\r\n";
    assert_eq!(read_secret(input).1, "");
    set_and_check(
        input,
        NEW,
        "remote-management:\r\n  allow-remote: false\r\n  secret-key: \"N3w-pass\"\r\n",
    );
    // An inserted key takes the CRLF of its neighbours.
    set_and_check(
        "remote-management:\r\n  allow-remote: false\r\n",
        NEW,
        "remote-management:\r\n  allow-remote: false\r\n  secret-key: 'N3w-pass'\r\n",
    );
}

#[test]
fn e05_bom_kept() {
    let input = "\u{feff}remote-management:\n  secret-key: \"\"\n";
    assert_eq!(read_secret(input).1, "");
    set_and_check(
        input,
        NEW,
        "\u{feff}remote-management:\n  secret-key: \"N3w-pass\"\n",
    );
}

#[test]
fn e06_tab_indent_rejected_tab_separator_ok() {
    let err = ConfigDocument::parse(
        b"remote-management:\n\tsecret-key: \"\"\n".to_vec(),
        Path::new("c.yaml"),
    )
    .expect_err("tab indentation must be refused");
    assert_eq!(err.kind, ErrorKind::Syntax);
    assert_eq!(err.line, Some(2));
    assert!(err.to_string().starts_with("c.yaml:2:"), "{err}");
    assert!(err.to_string().contains("spaces, not tabs"), "{err}");
    let input = "remote-management:\n  secret-key:\t\"\"\n";
    assert_eq!(read_secret(input).1, "");
    set_and_check(
        input,
        NEW,
        "remote-management:\n  secret-key:\t\"N3w-pass\"\n",
    );
}

#[test]
fn e07_duplicate_keys_refused_with_both_lines() {
    for input in [
        "remote-management:\n  secret-key: \"\"\n  secret-key: \"old\"\n",
        "remote-management:\n  allow-remote: true\nremote-management:\n  secret-key: \"\"\n",
    ] {
        let err = ConfigDocument::parse(input.as_bytes().to_vec(), Path::new("c.yaml"))
            .expect_err("duplicate keys must be refused");
        assert_eq!(err.kind, ErrorKind::DuplicateKey);
        assert_eq!(err.line, Some(3), "{err}");
        let first = if input.contains("allow-remote") { 1 } else { 2 };
        assert!(
            err.to_string()
                .contains(&format!("already defined at line {first}")),
            "{err}"
        );
    }
}

#[test]
fn e08_alias_made_explicit_anchor_untouched() {
    let base = "base: &rm\n  allow-remote: false\n  secret-key: \"\"\n";
    let input = format!("{base}remote-management: *rm\n");
    assert_eq!(read_secret(&input).1, "");
    set_and_check(
        &input,
        NEW,
        &format!("{base}remote-management:\n  <<: *rm\n  secret-key: 'N3w-pass'\n"),
    );
    let merged = format!("{base}remote-management:\n  <<: *rm\n");
    set_and_check(&merged, NEW, &format!("{merged}  secret-key: 'N3w-pass'\n"));
    // A secret-key value that other keys alias is not edited under them.
    let shared = "remote-management:\n  secret-key: &s \"old\"\nother: *s\n";
    let err = doc(shared).with_secret_key(NEW).expect_err("shared anchor");
    assert_eq!(err.kind, ErrorKind::Verification);
    assert!(err.to_string().contains("anchor"), "{err}");
    // An aliased value is replaced by an explicit one.
    set_and_check(
        "k: &s \"shared\"\nremote-management:\n  secret-key: *s\n",
        NEW,
        "k: &s \"shared\"\nremote-management:\n  secret-key: 'N3w-pass'\n",
    );
}

#[test]
fn e09_only_the_real_path_changes() {
    let input = "# secret-key: \"old\"\nprovider:\n  secret-key: \"tok\"\nremote-management:\n  \"secret-key\": \"\"\n";
    assert_eq!(read_secret(input).1, "");
    set_and_check(
        input,
        NEW,
        "# secret-key: \"old\"\nprovider:\n  secret-key: \"tok\"\nremote-management:\n  \"secret-key\": \"N3w-pass\"\n",
    );
}

#[test]
fn e10_missing_parts_inserted() {
    // (a) No block at all, no final newline: one is added first.
    set_and_check(
        "port: 8317",
        NEW,
        "port: 8317\nremote-management:\n  secret-key: 'N3w-pass'\n",
    );
    // (b) 4-space children: inserted after the last child, before the next section's comment.
    set_and_check(
        "remote-management:\n    allow-remote: false\n# the port\nport: 8317\n",
        NEW,
        "remote-management:\n    allow-remote: false\n    secret-key: 'N3w-pass'\n# the port\nport: 8317\n",
    );
    // (c) A null or empty parent becomes a mapping.
    set_and_check(
        "remote-management:\nport: 1\n",
        NEW,
        "remote-management:\n  secret-key: 'N3w-pass'\nport: 1\n",
    );
    set_and_check(
        "remote-management: ~\n",
        NEW,
        "remote-management:\n  secret-key: 'N3w-pass'\n",
    );
    set_and_check(
        "remote-management: {}\n",
        NEW,
        "remote-management: {secret-key: 'N3w-pass'}\n",
    );
    // A v8 file gets the key under `management`.
    set_and_check(
        "config-version: 8\nserver:\n  port: 1\n",
        NEW,
        "config-version: 8\nserver:\n  port: 1\nmanagement:\n  secret-key: 'N3w-pass'\n",
    );
}

#[test]
fn e11_block_scalar_becomes_one_quoted_line() {
    let input = "remote-management:\n  secret-key: |\n    hunter2\nport: 1\n";
    assert_eq!(read_secret(input).1, "hunter2\n");
    set_and_check(
        input,
        NEW,
        "remote-management:\n  secret-key: 'N3w-pass'\nport: 1\n",
    );
    set_and_check(
        "remote-management:\n  secret-key: >- # note\n    hunter2\n    more\n\nport: 1\n",
        NEW,
        "remote-management:\n  secret-key: 'N3w-pass' # note\n\nport: 1\n",
    );
}

#[test]
fn e12_both_quote_types_and_backslashes() {
    let password = "O'Reilly \"x\" \\n\\";
    set_and_check(
        "remote-management:\n  secret-key: ''\n",
        password,
        "remote-management:\n  secret-key: 'O''Reilly \"x\" \\n\\'\n",
    );
    set_and_check(
        "remote-management:\n  secret-key: \"\"\n",
        password,
        "remote-management:\n  secret-key: \"O'Reilly \\\"x\\\" \\\\n\\\\\"\n",
    );
}

#[test]
fn e13_indicator_characters_always_quoted() {
    for password in [
        "pa#ss: word",
        "#lead",
        "-x",
        "?x",
        "&a",
        "*a",
        "!t",
        "%p",
        "@p",
        "`p",
        "{p}",
        "[p]",
        "|p",
        ">p",
        "p@ss:w0rd!#",
        "a\"b",
        "C:\\temp\\new",
        "it's",
        "#start",
        "-dash",
        "*star",
        "&amp",
        "{x}",
    ] {
        for style in ["", " \"\"", " ''", " plain"] {
            let input = format!("remote-management:\n  secret-key:{style}\n");
            let out = doc(&input).with_secret_key(password).expect("edit");
            let text = String::from_utf8(out.clone()).expect("utf-8");
            let line = text.lines().nth(1).expect("second line");
            assert!(
                line.ends_with('\'') || line.ends_with('"'),
                "{password:?} in {style:?}: {line}"
            );
            oracle_reads(&out, password);
        }
    }
}

#[test]
fn e14_leading_and_trailing_spaces_carried_exactly() {
    // The password rules (cpa-core) refuse such passwords; the writer must
    // still never lose the spaces of a value it is given.
    set_and_check(
        "remote-management:\n  secret-key: x\n",
        "  pw  ",
        "remote-management:\n  secret-key: '  pw  '\n",
    );
}

#[test]
fn e15_non_ascii_written_raw_and_read_back() {
    for password in ["пароль", "密码", "🔑key"] {
        set_and_check(
            "remote-management:\n  secret-key: \"\"\n",
            password,
            &format!("remote-management:\n  secret-key: \"{password}\"\n"),
        );
    }
}

#[test]
fn e16_over_72_bytes_cannot_be_hashed() {
    let long = format!("{}密码密", "a".repeat(64));
    assert_eq!(long.len(), 73);
    assert!(cpa_config::secret::hash_password_with_cost(&long, 4).is_err());
    assert!(cpa_config::secret::hash_password_with_cost(&"a".repeat(72), 4).is_ok());
}

#[test]
fn e17_hash_lookalike_plaintext_is_detected() {
    for value in ["$2a$mypassword", "$2b$x", "$2y$y"] {
        assert!(cpa_config::secret::looks_like_bcrypt(value), "{value}");
    }
    assert!(!cpa_config::secret::looks_like_bcrypt("$2a$"));
}

#[test]
fn e18_hashed_key_reset_with_a_new_hash() {
    let old = cpa_config::secret::hash_password_with_cost("old-password", 4).expect("hash");
    let input = format!("remote-management:\n  secret-key: \"{old}\"\n");
    assert_eq!(read_secret(&input).1, old);
    let new = cpa_config::secret::hash_password_with_cost(NEW, 4).expect("hash");
    set_and_check(
        &input,
        &new,
        &format!("remote-management:\n  secret-key: \"{new}\"\n"),
    );
    let Some(oracle) = cpa_testkit::oracle() else {
        return;
    };
    let out = doc(&input).with_secret_key(&new).expect("edit");
    let (_dir, path) = common::temp_config(&out);
    assert!(cpa_testkit::oracle_verify(&oracle, &path, NEW));
    assert!(!cpa_testkit::oracle_verify(&oracle, &path, "old-password"));
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    text.encode_utf16()
        .flat_map(|unit| {
            if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            }
        })
        .collect()
}

/// Windows PowerShell 5.1 redirects (`>`) in UTF-16; the server reads such a
/// file, so the tray reads it and writes it back in UTF-16.
#[test]
fn utf16_file_edited_in_utf16() {
    for big_endian in [false, true] {
        let input = utf16(
            "\u{feff}remote-management:\r\n  secret-key: \"\"\r\nport: 8317\r\n",
            big_endian,
        );
        let doc = ConfigDocument::parse(input.clone(), Path::new("c.yaml")).expect("UTF-16 parses");
        assert_eq!(doc.bytes(), input.as_slice());
        assert_eq!(doc.view().expect("view").port.value, Some(8317));
        let out = doc.with_secret_key("密码-N3w").expect("edit");
        let expected = utf16(
            "\u{feff}remote-management:\r\n  secret-key: \"密码-N3w\"\r\nport: 8317\r\n",
            big_endian,
        );
        assert_eq!(out, expected);
        oracle_reads(&out, "密码-N3w");
    }
}
