//! The tray's texts, kept in `cpa_core::messages::tray` next to the
//! command-line catalogue so each sentence exists once.

pub use cpa_core::messages::tray::{APP_TITLE, PROJECT_URL, TrayMsg as Text};
