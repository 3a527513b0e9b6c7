//! The domain of cpa-tray: the home folder and its settings, the supervisor of
//! the server process, the password flow, releases, and the user-facing
//! message catalogue in English and Simplified Chinese.
//!
//! Nothing here knows about the command line, the tray toolkit or HTTP serving.

pub mod releases;
