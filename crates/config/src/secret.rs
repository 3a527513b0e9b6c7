//! The management key as the server stores it: plaintext or a bcrypt hash.

/// bcrypt cost the server uses (Go's `bcrypt.DefaultCost`).
pub const SERVER_BCRYPT_COST: u32 = 10;

/// Returns whether the server treats `value` as an already-hashed key.
///
/// CLIProxyAPI checks only the prefix: more than four bytes, starting with
/// `$2a$`, `$2b$` or `$2y$`. Anything else non-empty is hashed at load.
pub fn looks_like_bcrypt(value: &str) -> bool {
    value.len() > 4
        && (value.starts_with("$2a$") || value.starts_with("$2b$") || value.starts_with("$2y$"))
}

/// Hashes `password` like the server does: bcrypt, cost 10, `$2a$` prefix.
///
/// Fails for passwords over 72 bytes, which the server also rejects.
pub fn hash_password(password: &str) -> Result<String, bcrypt::BcryptError> {
    hash_password_with_cost(password, SERVER_BCRYPT_COST)
}

/// Hashes `password` with an explicit cost (tests use the minimum, 4).
pub fn hash_password_with_cost(password: &str, cost: u32) -> Result<String, bcrypt::BcryptError> {
    if password.len() > 72 {
        return Err(bcrypt::BcryptError::Truncation(password.len()));
    }
    let parts = bcrypt::hash_with_result(password, cost)?;
    Ok(parts.format_for_version(bcrypt::Version::TwoA))
}

/// Checks `password` against a stored key the way the server does.
///
/// A bcrypt-looking key is verified with bcrypt (only the first 72 bytes of the
/// password count, as in Go); any other non-empty key is compared as plaintext.
pub fn verify_password(password: &str, stored: &str) -> bool {
    if stored.is_empty() {
        return false;
    }
    if looks_like_bcrypt(stored) {
        bcrypt::verify(password, stored).unwrap_or(false)
    } else {
        password == stored
    }
}
