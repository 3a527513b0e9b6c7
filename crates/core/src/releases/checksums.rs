//! `checksums.txt` as CLIProxyAPI releases publish it.
//!
//! Upstream writes it with `sha256sum`: one line per archive,
//! `<64 lowercase hex><two spaces><file name>`. This parser also accepts
//! uppercase hex, a single space, the `*` binary-mode marker before the
//! name, CRLF line ends, blank lines and `#` comments.

use super::ReleaseError;

/// Length of a SHA-256 digest in hex.
const SHA256_HEX_LEN: usize = 64;

/// Parsed checksum lines: file name and lowercase hex SHA-256.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checksums {
    entries: Vec<(String, String)>,
}

impl Checksums {
    /// Parses the file's text. `source_name` labels errors (a URL or path).
    pub fn parse(source_name: &str, text: &str) -> Result<Checksums, ReleaseError> {
        let mut entries: Vec<(String, String)> = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line_number = index + 1;
            let invalid = |reason: &str| ReleaseError::InvalidChecksums {
                source_name: source_name.to_string(),
                line: line_number,
                reason: reason.to_string(),
            };

            let line = raw.trim_end_matches('\r').trim_start_matches('\u{feff}');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let digest = line.get(..SHA256_HEX_LEN).ok_or_else(|| {
                invalid("expected a 64-digit hex SHA-256 followed by a file name")
            })?;
            if !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid("the SHA-256 is not 64 hex digits"));
            }
            let rest = &line[SHA256_HEX_LEN..];
            let name = rest
                .strip_prefix(' ')
                .ok_or_else(|| invalid("expected a space between the SHA-256 and the file name"))?;
            // sha256sum writes " " (text mode) or "*" (binary mode) before the name.
            let name = name
                .strip_prefix(' ')
                .or_else(|| name.strip_prefix('*'))
                .unwrap_or(name);
            if name.is_empty() {
                return Err(invalid("the file name is missing"));
            }
            let digest = digest.to_ascii_lowercase();

            match entries.iter().find(|(existing, _)| existing == name) {
                Some((_, previous)) if *previous != digest => {
                    return Err(invalid(&format!(
                        "{name} is listed twice with different checksums"
                    )));
                }
                Some(_) => {}
                None => entries.push((name.to_string(), digest)),
            }
        }
        Ok(Checksums { entries })
    }

    /// Returns the lowercase hex SHA-256 listed for `file_name`.
    pub fn get(&self, file_name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(name, _)| name == file_name)
            .map(|(_, digest)| digest.as_str())
    }

    /// Returns the number of files listed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Returns true when no file is listed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn sha256sum_format() {
        let text = format!(
            "{A}  CLIProxyAPI_8.0.1_linux_amd64.tar.gz\n{}  CLIProxyAPI_8.0.1_windows_amd64.zip\n",
            "f".repeat(64)
        );
        let sums = Checksums::parse("checksums.txt", &text).unwrap();
        assert_eq!(sums.len(), 2);
        assert_eq!(sums.get("CLIProxyAPI_8.0.1_linux_amd64.tar.gz"), Some(A));
        assert_eq!(
            sums.get("CLIProxyAPI_8.0.1_windows_amd64.zip"),
            Some("f".repeat(64).as_str())
        );
        assert_eq!(sums.get("CLIProxyAPI_8.0.1_linux_amd64"), None);
    }

    #[test]
    fn binary_marker_crlf_and_uppercase() {
        let text = format!("# generated\r\n\r\n{} *a b.zip\r\n", A.to_uppercase());
        let sums = Checksums::parse("checksums.txt", &text).unwrap();
        assert_eq!(sums.get("a b.zip"), Some(A));
    }

    #[test]
    fn malformed_lines_name_the_line() {
        for (text, line) in [
            ("abc  x.zip\n", 1),
            (&format!("{A}  ok.zip\n{}  bad.zip\n", "g".repeat(64)), 2),
            (&format!("{A}\n"), 1),
            (&format!("{A}x.zip\n"), 1),
            (&format!("{A}  \n"), 1),
        ] {
            match Checksums::parse("checksums.txt", text) {
                Err(ReleaseError::InvalidChecksums { line: got, .. }) => {
                    assert_eq!(got, line, "{text:?}")
                }
                other => panic!("{text:?}: expected an error, got {other:?}"),
            }
        }
    }

    #[test]
    fn conflicting_duplicates_are_rejected() {
        let text = format!("{A}  x.zip\n{}  x.zip\n", "e".repeat(64));
        assert!(Checksums::parse("checksums.txt", &text).is_err());
        let same = format!("{A}  x.zip\n{A}  x.zip\n");
        assert_eq!(Checksums::parse("checksums.txt", &same).unwrap().len(), 1);
    }
}
