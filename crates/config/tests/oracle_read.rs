//! Differential test: what `ConfigDocument` reads from every fixture equals what
//! the Go oracle (gopkg.in/yaml.v3, as the server) reads.

mod common;

use std::path::Path;

use serde_json::{Value, json};

/// Our reading in the oracle's JSON shape.
fn our_report(path: &Path) -> Value {
    let bytes = std::fs::read(path).expect("read fixture");
    let doc = match cpa_config::ConfigDocument::parse(bytes, path) {
        Ok(doc) => doc,
        Err(err) => return json!({ "error": err.to_string() }),
    };
    let view = match doc.view() {
        Ok(view) => view,
        Err(err) => return json!({ "error": err.to_string() }),
    };
    common::view_report(&view)
}

fn compare_dir(dir: &Path) -> (usize, Vec<String>) {
    let Some(oracle) = cpa_testkit::oracle() else {
        return (0, Vec::new());
    };
    let mut failures = Vec::new();
    let files = cpa_testkit::yaml_files(dir);
    for file in &files {
        let theirs = common::oracle_report(&oracle, file);
        let ours = our_report(file);
        if !common::reports_agree(&ours, &theirs) {
            failures.push(format!(
                "{}:\n  ours:   {ours}\n  oracle: {theirs}",
                file.display()
            ));
        }
    }
    (files.len(), failures)
}

#[test]
fn fixture_configs_read_like_the_oracle() {
    let (count, failures) = compare_dir(&cpa_testkit::fixture_configs_dir());
    assert!(
        failures.is_empty(),
        "{} of {count} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{count}/{count} fixture configs agree with the oracle");
}

#[test]
fn upstream_examples_read_like_the_oracle() {
    let (count, failures) = compare_dir(&cpa_testkit::upstream_examples_dir());
    assert!(
        failures.is_empty(),
        "{} of {count} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{count}/{count} upstream examples agree with the oracle");
}

/// `expected.json` records the oracle's reading of each fixture; ours must match it too.
#[test]
fn fixture_configs_match_expected_json() {
    let dir = cpa_testkit::fixture_configs_dir();
    let expected: Value = serde_json::from_slice(
        &std::fs::read(dir.join("expected.json")).expect("read expected.json"),
    )
    .expect("expected.json is JSON");
    let entries: Vec<(String, Value)> = match &expected {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                let name = item["file"]
                    .as_str()
                    .expect("entry names its file")
                    .to_string();
                (name, item.clone())
            })
            .collect(),
        _ => panic!("unexpected expected.json shape"),
    };
    assert!(
        entries.len() >= 40,
        "expected.json lists {} files",
        entries.len()
    );
    let mut failures = Vec::new();
    for (name, theirs) in &entries {
        let ours = our_report(&dir.join(name));
        if !common::reports_agree(&ours, theirs) {
            failures.push(format!("{name}:\n  ours:     {ours}\n  expected: {theirs}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Small inputs covering each YAML form the reader must handle, each checked
/// against the oracle (acceptance, values and paths).
pub const SNIPPETS: &[&str] = &[
    "",
    "# only a comment\n",
    "---\n",
    "---\n...\n",
    "~\n",
    "- a\n",
    "plain scalar\n",
    "remote-management: {allow-remote: true, secret-key: \"a\\\"b\"}\n",
    "remote-management: {allow-remote: yes, secret-key: 'it''s'}\n",
    "remote-management:\n  secret-key: \"\" # set by tray\n",
    "remote-management:\n  secret-key:\n",
    "remote-management:\n  secret-key: ~\n",
    "remote-management:\n  secret-key: null\n",
    "remote-management:\n  secret-key: ''\n",
    "remote-management:\r\n  allow-remote: false\r\n  secret-key: \"x\"\r\n",
    "\u{feff}remote-management:\n  secret-key: \"\"\n",
    "remote-management:\n\tsecret-key: \"\"\n",
    "remote-management:\n  secret-key:\t\"tab-sep\"\n",
    "remote-management:\n  secret-key: \"\"\n  secret-key: \"old\"\n",
    "remote-management:\n  a: 1\nremote-management:\n  b: 2\n",
    "base: &rm\n  allow-remote: false\n  secret-key: \"anch\"\nremote-management: *rm\n",
    "base: &rm\n  allow-remote: true\n  secret-key: \"anch\"\nremote-management:\n  <<: *rm\n",
    "base: &rm\n  secret-key: \"anch\"\nremote-management:\n  <<: *rm\n  secret-key: own\n",
    "provider:\n  secret-key: \"tok\"\nremote-management:\n  \"secret-key\": \"\"\n",
    "remote-management:\n  secret-key: |\n    hunter2\n",
    "remote-management:\n  secret-key: >-\n    hunter2\n    more\n",
    "remote-management:\n  secret-key: |- # note\n    a\n\n    b\n\nport: 5\n",
    "remote-management:\n  secret-key: !!str 12345\n",
    "remote-management:\n  secret-key: 12345\n",
    "remote-management:\n  secret-key: 1.50\n",
    "remote-management:\n  secret-key: [a]\n",
    "remote-management:\n  secret-key: \"bad \\q escape\"\n",
    "remote-management:\n  secret-key: \"\\x41\\u00e9\\t\"\n",
    "remote-management:\n  secret-key: plain value with # not comment\n",
    "remote-management:\n  secret-key: multi\n    line plain\n",
    "remote-management:\n  secret-key: \"multi\n    line quoted\"\n",
    "remote-management:\n  allow-remote: \"true\"\n",
    "remote-management:\n  allow-remote: on\n",
    "remote-management:\n  allow-remote: 1\n",
    "remote-management:\n  allow-remote:\n",
    "port: \"8317\"\n",
    "port: 8317.9\n",
    "port: 0x1F\n",
    "port: 017\n",
    "port: 08\n",
    "port: 1_000\n",
    "port: !!int \"12\"\n",
    "port: ${PORT}\n",
    "port: .inf\n",
    "port: 99999999999999999999\n",
    "config-version: 8\nmanagement:\n  secret-key: v8\nremote-management:\n  secret-key: legacy\n",
    "config-version: \"8\"\n",
    "config-version: 9\n",
    "config-version: 8.0\n",
    "config-version:\n",
    "config-version: !!int \"8\"\n",
    "management:\n  secret-key: \"\"\nremote-management:\n  secret-key: legacy\n",
    "server:\n  port: 1\n  tls:\n    enable: true\nport: 2\ntls:\n  enable: false\n",
    "server:\n  host: \"h\"\nhost: other\n",
    "tls: null\nserver:\n  tls:\n    enable: true\n",
    "remote-management:\n  secret-key: \"x\"\n\t\n",
    "remote-management:\n  secret-key: \"x\"\n  \t# comment\n",
    "remote-management:\n  secret-key: x\t# comment\n",
    "list:\n- a\n-\tb\n",
    "a: {b: [1,\n\t2]}\n",
    "a: 1\n---\nb: 2\n",
    "a: 1\n1: x\n\"1\": y\n",
    "remote-management:\n  secret-key: &s \"shared\"\nother: *s\n",
    "? complex\n: value\n",
    "remote-management: !!map\n  secret-key: t\n",
    "remote-management:\n  secret-key: !custom val\n",
    "remote-management:\n  secret-key: 2001-12-14\n",
    "port: 1\r\nhost: \"h\"\nremote-management:\r\n  secret-key: 'm'\n",
    "port: 1",
    "remote-management:\n  secret-key: 'no final newline'",
    "remote-management:\n    secret-key: four\n    allow-remote: true\n",
];

#[test]
fn snippets_read_like_the_oracle() {
    let Some(oracle) = cpa_testkit::oracle() else {
        return;
    };
    let mut failures = Vec::new();
    let mut refused = 0;
    for snippet in SNIPPETS {
        let (_dir, path) = common::temp_config(snippet.as_bytes());
        let theirs = common::oracle_report(&oracle, &path);
        let ours = our_report(&path);
        refused += usize::from(theirs.get("error").is_some());
        if !common::reports_agree(&ours, &theirs) {
            failures.push(format!(
                "{snippet:?}:\n  ours:   {ours}\n  oracle: {theirs}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        SNIPPETS.len(),
        failures.join("\n")
    );
    // Both outcomes must be exercised, or the comparison proves little.
    assert!(
        refused >= 10 && refused + 10 <= SNIPPETS.len(),
        "{refused} refused"
    );
    eprintln!(
        "{} snippets agree with the oracle ({refused} refused by both)",
        SNIPPETS.len()
    );
}

/// Forms where saphyr and the server's libyaml scanner differ, each checked
/// against the oracle.
#[test]
fn scanner_differences_read_like_the_oracle() {
    let Some(oracle) = cpa_testkit::oracle() else {
        return;
    };
    let cases: &[&str] = &[
        "remote-management:\n  secret-key: \"a\\'b\"\n",
        "remote-management:\n  secret-key: \"a\\/b\"\n",
        "remote-management:\n  secret-key: \"x\"# comment right after the quote\n",
        "remote-management: {secret-key: 'x'}# comment\n",
        "remote-management:\n  secret-key: \"multi\nline  \n\n  folded\"\n",
        "x: 1\n# comment with a \u{feff} mark\nremote-management:\n  secret-key: \"a\u{feff}b\"\n",
        "remote-management:\n  secret-key: x\n<<: ~\n",
        "remote-management:\n  secret-key: x\n: orphan value\n",
        "remote-management: {: b}\n",
        "remote-management: {secret-key: !!str}x\n",
        "remote-management: {secret-key: !!#str x}\n",
        "remote-management: {secret-key: |x}\n",
        "remote-management: {s\n  ecret-key: x}\n",
        "remote-management: {secret-key: :x}\n",
        "  host: x\nport: 1\nremote-management:\n  secret-key: y\n",
        "remote-management:\n  secret-key: y\n---\nport: [\n",
        "remote-management:\n  secret-key: @x\n",
    ];
    let mut failures = Vec::new();
    for case in cases {
        let (_dir, path) = common::temp_config(case.as_bytes());
        let theirs = common::oracle_report(&oracle, &path);
        let ours = our_report(&path);
        if !common::reports_agree(&ours, &theirs) {
            failures.push(format!("{case:?}:\n  ours:   {ours}\n  oracle: {theirs}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// JSON-style flow collections whose lines start left of their key.
#[test]
fn unindented_flow_collections_read_like_the_oracle() {
    let Some(oracle) = cpa_testkit::oracle() else {
        return;
    };
    let cases: &[&str] = &[
        "remote-management: {\n  allow-remote: true,\n  secret-key: \"x\"\n}\nport: 1\n",
        "remote-management: {\nallow-remote: true, # a comment\nsecret-key: \"a\nb\"\n}\n",
        "remote-management: {\nsecret-key: plain\n  folded,\nallow-remote: yes}\n",
        "api-keys: [\n\"a\",\n\"b\"]\nremote-management: {\r\nsecret-key: 'c'\r\n}\r\n",
        "remote-management:\n  secret-key: x\nport:\n1\n",
    ];
    let mut failures = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let (_dir, path) = common::temp_config(case.as_bytes());
        let theirs = common::oracle_report(&oracle, &path);
        let ours = our_report(&path);
        // The JSON-style cases load on the server; the last one does not.
        assert_eq!(
            theirs.get("error").is_none(),
            index < 4,
            "{case:?}: {theirs}"
        );
        if !common::reports_agree(&ours, &theirs) {
            failures.push(format!("{case:?}:\n  ours:   {ours}\n  oracle: {theirs}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
