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
}
