//! Errors of reading and writing config files.

use std::path::PathBuf;

/// What went wrong, without the file name (which [`ConfigError`] carries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The YAML cannot be parsed by the server (tab indentation, bad escape, ...).
    Syntax,
    /// A mapping key appears twice (the server rejects the file).
    DuplicateKey,
    /// The YAML parses but the server refuses it (bad `config-version`, a port
    /// that is not an integer, a root that is not a mapping).
    Invalid,
    /// Reading failed (missing file, permission, a directory).
    Read,
    /// Writing failed or is not possible (read-only file or mount, permission).
    Write,
    /// The edit was computed but the result would not read back as intended.
    Verification,
    /// The file kept changing while it was being edited.
    Conflict,
}

/// An error about one config file, naming the file and, where known, the line
/// and column (1-based).
#[derive(Debug, thiserror::Error)]
#[error("{}", self.render())]
pub struct ConfigError {
    pub kind: ErrorKind,
    pub path: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    #[source]
    pub source: Option<std::io::Error>,
}

impl ConfigError {
    fn render(&self) -> String {
        let mut text = self.path.display().to_string();
        if let Some(line) = self.line {
            text.push_str(&format!(":{line}"));
            if let Some(column) = self.column {
                text.push_str(&format!(":{column}"));
            }
        }
        text.push_str(": ");
        text.push_str(&self.message);
        text
    }
}

impl ConfigError {
    /// An error at a line and column of `path`.
    pub(crate) fn at(
        kind: ErrorKind,
        path: &std::path::Path,
        line: usize,
        column: usize,
        message: String,
    ) -> Self {
        ConfigError {
            kind,
            path: path.to_path_buf(),
            line: Some(line),
            column: Some(column),
            message,
            source: None,
        }
    }

    /// An error about the whole file, optionally caused by an I/O error.
    pub(crate) fn file(
        kind: ErrorKind,
        path: &std::path::Path,
        message: String,
        source: Option<std::io::Error>,
    ) -> Self {
        ConfigError {
            kind,
            path: path.to_path_buf(),
            line: None,
            column: None,
            message,
            source,
        }
    }
}
