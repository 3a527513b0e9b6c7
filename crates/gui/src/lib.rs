//! The tray icon, its menu, the dialogs and the notifications of cpa-tray.
//!
//! Two entry points, both called from the `cpa-tray` binary:
//!
//! - [`run_tray`] runs the tray until the user picks Exit. It needs the home
//!   folder, a function that chooses the server program from the settings
//!   (the same choice `cpa-tray start` makes), and the command that runs a
//!   dialog (normally the same executable with a hidden `ui` subcommand).
//! - [`run_dialog`] runs one dialog in the current process: the hidden
//!   subcommand hands it the arguments after `ui`. Each dialog is a separate
//!   process because winit allows one event loop per process.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # fn engine(_: &cpa_core::settings::Settings) -> Result<cpa_core::supervisor::Engine, String> {
//! #     Err("the caller chooses the engine".into())
//! # }
//! let exe = std::env::current_exe().unwrap();
//! let options = cpa_gui::TrayOptions {
//!     home: cpa_core::home::Home::resolve(None, None).unwrap(),
//!     lang: None,
//!     engine: Arc::new(engine),
//!     dialog_program: exe.clone(),
//!     dialog_args: vec!["ui".into()],
//!     login_command: Some(vec![exe.into_os_string()]),
//!     start_on_launch: true,
//!     offer_engine_choice: true,
//! };
//! let code = cpa_gui::run_tray(options);
//! ```

pub mod app;
pub mod autostart;
pub mod dialog;
pub mod icon;
pub mod model;
pub mod notify;
mod platform;
mod signals;
pub mod text;
mod tray_ui;
#[cfg(windows)]
mod windows;

pub use app::{EngineSelector, TrayOptions, run_tray};
pub use dialog::run_dialog;
