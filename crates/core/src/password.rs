//! Rules for a new management password.
//!
//! Each rule exists because of how CLIProxyAPI or a browser treats the key:
//! - at most 72 UTF-8 bytes, because bcrypt ignores the rest and the Go server
//!   refuses to hash a longer plaintext key (it then fails to load its config);
//! - printable ASCII only, because the WebUI sends the key in an HTTP header and
//!   browsers reject header values outside ISO-8859-1;
//! - no leading or trailing space, because header values lose surrounding
//!   whitespace on the way in, so such a key could never match;
//! - no `$2a$`, `$2b$` or `$2y$` prefix, because the server would take the value
//!   for an existing bcrypt hash and never accept the typed password;
//! - at least 8 bytes, a floor against trivially guessed keys.

/// Minimum password length in bytes.
pub const MIN_BYTES: usize = 8;

/// Maximum password length in bytes (bcrypt's input limit).
pub const MAX_BYTES: usize = 72;

/// Why a password was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordProblem {
    /// Fewer than [`MIN_BYTES`] bytes.
    TooShort { bytes: usize },
    /// More than [`MAX_BYTES`] UTF-8 bytes.
    TooLong { bytes: usize },
    /// Contains a character outside printable ASCII (0x20..=0x7E).
    NotPrintableAscii,
    /// Starts or ends with a space.
    SurroundingSpace,
    /// Starts with a bcrypt prefix the server treats as an existing hash.
    LooksLikeHash,
    /// The confirmation differs from the first entry.
    Mismatch,
}

/// Checks `password` against every rule and returns the first one it breaks.
///
/// Rules are checked from the most to the least fundamental, so a 100-byte
/// non-ASCII string reports its length before its characters.
pub fn validate(password: &str) -> Result<(), PasswordProblem> {
    let bytes = password.len();
    if bytes > MAX_BYTES {
        return Err(PasswordProblem::TooLong { bytes });
    }
    if !password.bytes().all(|byte| (0x20..=0x7e).contains(&byte)) {
        return Err(PasswordProblem::NotPrintableAscii);
    }
    if password.starts_with(' ') || password.ends_with(' ') {
        return Err(PasswordProblem::SurroundingSpace);
    }
    if ["$2a$", "$2b$", "$2y$"]
        .iter()
        .any(|prefix| password.starts_with(prefix))
    {
        return Err(PasswordProblem::LooksLikeHash);
    }
    if bytes < MIN_BYTES {
        return Err(PasswordProblem::TooShort { bytes });
    }
    Ok(())
}

/// Checks `password` and that `confirmation` repeats it exactly.
pub fn validate_pair(password: &str, confirmation: &str) -> Result<(), PasswordProblem> {
    validate(password)?;
    if password != confirmation {
        return Err(PasswordProblem::Mismatch);
    }
    Ok(())
}

/// Why a key already stored in the config can never be accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredKeyProblem {
    /// Ends with a line break (a `|` block scalar keeps it), which no HTTP
    /// header can carry.
    TrailingNewline,
    /// Starts with a bcrypt prefix but is not a bcrypt hash: the server skips
    /// hashing it and then every bcrypt comparison fails.
    FakeHash,
    /// Starts or ends with a space, which header values lose on the way in.
    SurroundingSpace,
    /// A plaintext key over [`MAX_BYTES`] bytes: the server fails to hash it
    /// and does not start.
    TooLong { bytes: usize },
}

/// Checks a stored management key (plaintext or hash) for a form that no
/// typed password can ever match; `None` for an empty or usable key.
pub fn stored_key_problem(stored: &str) -> Option<StoredKeyProblem> {
    if stored.is_empty() {
        return None;
    }
    if stored.ends_with('\n') || stored.ends_with('\r') {
        return Some(StoredKeyProblem::TrailingNewline);
    }
    let hash_prefix = ["$2a$", "$2b$", "$2y$"]
        .iter()
        .any(|prefix| stored.starts_with(prefix));
    if hash_prefix {
        return (!is_bcrypt_hash(stored)).then_some(StoredKeyProblem::FakeHash);
    }
    if stored.starts_with([' ', '\t']) || stored.ends_with([' ', '\t']) {
        return Some(StoredKeyProblem::SurroundingSpace);
    }
    if stored.len() > MAX_BYTES {
        return Some(StoredKeyProblem::TooLong {
            bytes: stored.len(),
        });
    }
    None
}

/// Returns whether `value` has the shape of a bcrypt hash: `$2x$`, a two-digit
/// cost, `$`, then 53 characters of bcrypt's base64 alphabet (60 in all).
fn is_bcrypt_hash(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() == 60
        && bytes[4].is_ascii_digit()
        && bytes[5].is_ascii_digit()
        && bytes[6] == b'$'
        && bytes[7..]
            .iter()
            .all(|byte| byte.is_ascii_alphanumeric() || *byte == b'.' || *byte == b'/')
}

/// Returns the client API keys that are upstream's example values
/// (`your-api-key-1` to `your-api-key-3`). Recent CLIProxyAPI versions run in
/// a restricted safe mode while one is configured: proxy requests get 403.
pub fn example_api_keys(keys: &[String]) -> Vec<&str> {
    keys.iter()
        .map(String::as_str)
        .filter(|key| {
            key.strip_prefix("your-api-key-")
                .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_bytes_not_characters() {
        assert_eq!(validate(&"a".repeat(72)), Ok(()));
        assert_eq!(
            validate(&"a".repeat(73)),
            Err(PasswordProblem::TooLong { bytes: 73 })
        );
        // 25 CJK characters are 75 bytes.
        assert_eq!(
            validate(&"密".repeat(25)),
            Err(PasswordProblem::TooLong { bytes: 75 })
        );
        assert_eq!(
            validate("密码1234567"),
            Err(PasswordProblem::NotPrintableAscii)
        );
    }

    #[test]
    fn interior_space_is_allowed() {
        assert_eq!(validate("correct horse"), Ok(()));
    }

    #[test]
    fn stored_keys_that_never_match() {
        let hash = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
        assert_eq!(stored_key_problem(hash), None);
        assert_eq!(stored_key_problem("plain-password"), None);
        assert_eq!(stored_key_problem(""), None);
        assert_eq!(
            stored_key_problem("hunter22\n"),
            Some(StoredKeyProblem::TrailingNewline)
        );
        assert_eq!(
            stored_key_problem("$2a$mypassword"),
            Some(StoredKeyProblem::FakeHash)
        );
        assert_eq!(
            stored_key_problem("  pw-with-spaces  "),
            Some(StoredKeyProblem::SurroundingSpace)
        );
        assert_eq!(
            stored_key_problem(&"k".repeat(73)),
            Some(StoredKeyProblem::TooLong { bytes: 73 })
        );
    }

    #[test]
    fn example_keys_are_found() {
        let keys = ["your-api-key-1", "sk-real", "your-api-key-x"].map(String::from);
        assert_eq!(example_api_keys(&keys), vec!["your-api-key-1"]);
    }
}
