//! Byte-splice edits of single leaves.

use crate::{ConfigDocument, ConfigError, ErrorKind};

/// The value written at a leaf.
#[derive(Debug, Clone)]
pub(crate) enum NewValue {
    Str(String),
    Bool(bool),
}

pub(crate) fn set_leaf(
    doc: &ConfigDocument,
    _v8: [&str; 2],
    _legacy: [&str; 2],
    _value: &NewValue,
) -> Result<Vec<u8>, ConfigError> {
    Err(ConfigError::file(
        ErrorKind::Verification,
        doc.origin(),
        "editing is not available yet".into(),
        None,
    ))
}

pub(crate) fn set_client_api_keys(
    doc: &ConfigDocument,
    _keys: &[String],
) -> Result<Vec<u8>, ConfigError> {
    Err(ConfigError::file(
        ErrorKind::Verification,
        doc.origin(),
        "editing is not available yet".into(),
        None,
    ))
}
