//! Property tests with the Go oracle as the judge: random passwords (quotes,
//! backslashes, `#`, `: `, YAML indicators, non-ASCII, line breaks, empty)
//! written into random fixtures and random small documents must read back
//! exactly through the server's YAML library.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cpa_config::{ConfigDocument, ErrorKind};
use proptest::prelude::*;

const ATOMS: &[&str] = &[
    "a", "Z", "9", "pass", " ", "  ", "'", "''", "\"", "\\", "\\n", "#", " #", ": ", ":", "-", "?",
    ",", "[", "]", "{", "}", "&", "*", "!", "|", ">", "%", "@", "`", "~", "null", "true", "0x1F",
    "1e3", "$2a$", "é", "密码", "🔑", "\u{85}", "\u{2028}", "\u{a0}", "\t", "\n", "\r\n", "\u{7}",
    "---", "...", "<<",
];

fn password() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ATOMS), 0..10).prop_map(|parts| parts.concat())
}

/// Fixture configs the server loads.
fn loadable_fixtures() -> &'static [PathBuf] {
    static FILES: OnceLock<Vec<PathBuf>> = OnceLock::new();
    FILES.get_or_init(|| {
        cpa_testkit::yaml_files(&cpa_testkit::fixture_configs_dir())
            .into_iter()
            .filter(|f| cpa_config::load(f).and_then(|d| d.view()).is_ok())
            .collect()
    })
}

/// Fragments of real-world shapes, combined at random into small documents.
const FRAGMENTS: &[&str] = &[
    "port: 8317\n",
    "host: \"127.0.0.1\"\n",
    "# a comment\n",
    "remote-management:\n  allow-remote: false\n  secret-key: \"\"\n",
    "remote-management:\n    secret-key: 'old' # keep\n",
    "remote-management:\n  secret-key:\n",
    "remote-management: {allow-remote: true, secret-key: x}\n",
    "remote-management: {}\n",
    "remote-management: ~\n",
    "remote-management:\n  panel-github-repository: \"x\"\n# trailing\n",
    "remote-management:\n  secret-key: |-\n    block\n",
    "base: &rm\n  secret-key: \"anchored\"\n",
    "management:\n  secret-key: v8\n",
    "config-version: 8\n",
    "server:\n  port: 1\n",
    "api-keys:\n- k1\n- k2\n",
    "tls:\n  enable: false\n",
];

fn document() -> impl Strategy<Value = (Vec<u8>, bool, bool)> {
    (
        prop::collection::vec(prop::sample::select(FRAGMENTS), 0..5),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(parts, crlf, bom)| {
            let mut text = parts.concat();
            if crlf {
                text = text.replace('\n', "\r\n");
            }
            let mut bytes = if bom {
                b"\xEF\xBB\xBF".to_vec()
            } else {
                Vec::new()
            };
            bytes.extend_from_slice(text.as_bytes());
            (bytes, crlf, bom)
        })
}

fn oracle_value(oracle: &Path, bytes: &[u8]) -> serde_json::Value {
    let (_dir, path) = common::temp_config(bytes);
    cpa_testkit::oracle_read(oracle, &path)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any password in any loadable fixture reads back exactly through the oracle,
    /// also when a first edit already changed the value's style.
    #[test]
    fn random_passwords_in_fixtures_read_back(index in any::<prop::sample::Index>(), first in password(), second in password(), twice in any::<bool>()) {
        let Some(oracle) = cpa_testkit::oracle() else { return Ok(()) };
        let file = index.get(loadable_fixtures());
        let mut doc = cpa_config::load(file).expect("loadable fixture");
        if twice {
            let bytes = doc.with_secret_key(&first).expect("first edit");
            doc = ConfigDocument::parse(bytes, file).expect("re-parse");
        }
        let bytes = doc.with_secret_key(&second).expect("edit");
        let report = oracle_value(&oracle, &bytes);
        prop_assert_eq!(report.get("error"), None);
        prop_assert_eq!(report["secret_key"]["value"].as_str(), Some(second.as_str()), "{}", file.display());
    }

    /// Random small documents (block, flow, null, alias, v8, CRLF, BOM): when the
    /// server loads one, the edit succeeds or is refused as unverifiable, and
    /// what is written reads back exactly through the oracle.
    #[test]
    fn random_documents_edit_or_refuse((bytes, crlf, bom) in document(), value in password()) {
        let Some(oracle) = cpa_testkit::oracle() else { return Ok(()) };
        let before = oracle_value(&oracle, &bytes);
        let ours = ConfigDocument::parse(bytes.clone(), Path::new("c.yaml")).and_then(|d| d.view().map(|_| d));
        prop_assert_eq!(ours.is_err(), before.get("error").is_some(), "{:?}", String::from_utf8_lossy(&bytes));
        let Ok(doc) = ours else { return Ok(()) };
        match doc.with_secret_key(&value) {
            Ok(out) => {
                let report = oracle_value(&oracle, &out);
                prop_assert_eq!(report.get("error"), None, "{:?}", String::from_utf8_lossy(&out));
                prop_assert_eq!(report["secret_key"]["value"].as_str(), Some(value.as_str()), "{:?}", String::from_utf8_lossy(&out));
                prop_assert_eq!(out.starts_with(b"\xEF\xBB\xBF"), bom);
                if crlf && bytes.contains(&b'\n') {
                    let text = String::from_utf8_lossy(&out).replace("\r\n", "");
                    prop_assert!(!text.contains('\n') || value.contains('\n'), "LF line in a CRLF file: {:?}", String::from_utf8_lossy(&out));
                }
            }
            Err(err) => prop_assert_eq!(&err.kind, &ErrorKind::Verification, "{}", err),
        }
    }
}
