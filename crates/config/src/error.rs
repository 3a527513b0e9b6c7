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

/// The facts behind an error's English `message`, so that callers can word
/// the error in another language with the same details.
///
/// Every variant needs a wording in each language, so the enum is exhaustive:
/// a new variant fails to compile until the translations match it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Problem {
    /// Only the English message describes it: a YAML parser message, or the
    /// reason an edit was not written.
    #[default]
    Other,
    /// The file starts like UTF-16 but is not valid UTF-16.
    InvalidUtf16,
    /// A byte that is not UTF-8 (at the error's line and column).
    InvalidUtf8,
    /// `key` appears a second time; the first one is on `first_line`.
    DuplicateKey { key: String, first_line: usize },
    /// A tab where the YAML needs indentation spaces.
    TabIndentation,
    /// The whole document is not a mapping.
    RootNotMapping,
    /// `config-version` is present but not the integer 8.
    UnsupportedConfigVersion,
    /// The value at the dotted `key` is a YAML node of the wrong kind.
    WrongKind {
        key: String,
        expected: Expected,
        found: NodeKind,
    },
    /// The scalar `value` at the dotted `key` does not decode as `expected`.
    InvalidValue {
        key: String,
        value: String,
        expected: Expected,
    },
    /// An I/O operation failed; the I/O error is the `source`.
    Io { action: IoAction },
    /// The path is a folder, not a file.
    NotAFile,
    /// A recovery file that cpa-tray did not write.
    NotRecoveryFile,
    /// Another program kept rewriting the file during `attempts` tries.
    KeptChanging { attempts: usize },
}

/// The file operation that failed, shown before the I/O error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoAction {
    OpenForWriting,
    Lock,
    ReadRecovery,
    Restore,
    RemoveRecoveryAfterRestore,
    Read,
    CreateTempInFolder,
    WriteRecovery,
    CreateRecovery,
    Write,
    RemoveRecovery,
    CheckWritable,
    CheckFolderWritable,
}

impl std::fmt::Display for IoAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IoAction::OpenForWriting => "Failed to open config file for writing",
            IoAction::Lock => "Failed to lock config file",
            IoAction::ReadRecovery => "Failed to read recovery file",
            IoAction::Restore => "Failed to restore config file after an interrupted write",
            IoAction::RemoveRecoveryAfterRestore => "Failed to remove recovery file",
            IoAction::Read => "Failed to read config file",
            IoAction::CreateTempInFolder => {
                "Failed to create a recovery file in the config's folder"
            }
            IoAction::WriteRecovery => "Failed to write the recovery file",
            IoAction::CreateRecovery => "Failed to create the recovery file",
            IoAction::Write => "Failed to write config file",
            IoAction::RemoveRecovery => "Failed to remove the recovery file",
            IoAction::CheckWritable => "Cannot write config file",
            IoAction::CheckFolderWritable => "Cannot create the recovery file beside the config",
        })
    }
}

/// The type a config value must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    Mapping,
    String,
    Bool,
    Integer,
    List,
}

impl std::fmt::Display for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Expected::Mapping => "a mapping (indented `key: value` lines)",
            Expected::String => "a string",
            Expected::Bool => "true or false",
            Expected::Integer => "an integer",
            Expected::List => "a list",
        })
    }
}

/// The kind of a YAML node found where another was expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Mapping,
    List,
    Scalar,
}

impl std::fmt::Display for NodeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NodeKind::Mapping => "a mapping",
            NodeKind::List => "a list",
            NodeKind::Scalar => "a scalar",
        })
    }
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
    /// The facts of `message`, for other languages. Boxed so that results
    /// carrying this error stay small.
    pub problem: Box<Problem>,
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
            problem: Box::new(Problem::Other),
            source: None,
        }
    }

    /// Sets the facts behind the message.
    pub(crate) fn with_problem(mut self, problem: Problem) -> Self {
        self.problem = Box::new(problem);
        self
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
            problem: Box::new(Problem::Other),
            source,
        }
    }
}
