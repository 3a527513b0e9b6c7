//! Reading and crash-safe in-place writing of config files.

use std::path::Path;

use crate::{ConfigDocument, ConfigError, ErrorKind};

/// Suffix of the recovery file kept beside the config during a write.
pub const RECOVERY_SUFFIX: &str = ".cpa-recovery";

/// Loads and parses `path`, first repairing an interrupted write.
pub fn load(path: &Path) -> Result<ConfigDocument, ConfigError> {
    let bytes = std::fs::read(path).map_err(|err| {
        ConfigError::file(
            ErrorKind::Read,
            path,
            format!("Failed to read config file: {err}"),
            Some(err),
        )
    })?;
    ConfigDocument::parse(bytes, path)
}

/// Applies `edit` to the current content of `path` and writes the result.
pub fn update<F>(path: &Path, edit: F) -> Result<ConfigDocument, ConfigError>
where
    F: Fn(&ConfigDocument) -> Result<Vec<u8>, ConfigError>,
{
    let doc = load(path)?;
    let bytes = edit(&doc)?;
    write(path, &bytes)?;
    ConfigDocument::parse(bytes, path)
}

/// Replaces the content of `path` in place, crash-safely.
pub fn write(path: &Path, _bytes: &[u8]) -> Result<(), ConfigError> {
    Err(ConfigError::file(
        ErrorKind::Write,
        path,
        "writing is not available yet".into(),
        None,
    ))
}

/// Checks that `path` is a regular file this process can write, without changing it.
pub fn check_writable(path: &Path) -> Result<(), ConfigError> {
    Err(ConfigError::file(
        ErrorKind::Write,
        path,
        "writing is not available yet".into(),
        None,
    ))
}
