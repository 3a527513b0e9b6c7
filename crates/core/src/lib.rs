//! The domain of cpa-tray: the home folder and its settings, the supervisor of
//! the server process, the password rules, the first-run config template,
//! releases, and the user-facing message catalogue in English and Simplified
//! Chinese.
//!
//! Nothing here knows about the command line, the tray toolkit or HTTP serving.

pub mod desktop;
pub mod home;
pub mod instance;
pub mod interrupt;
pub mod messages;
pub mod password;
pub mod password_check;
pub mod releases;
pub mod settings;
pub mod supervisor;
pub mod template;
