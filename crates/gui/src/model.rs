//! Menu contents for a given state: labels, enabled items and check marks.
//!
//! Pure data, so the rules ("Stop only while running", "one long action at a
//! time") are unit-tested without a tray. The tray applies a [`MenuState`] to
//! its real menu items after every change and consults [`MenuState::enabled`]
//! again before acting on a click, because a D-Bus client can send a click for
//! a disabled item.

use cpa_core::messages::Lang;

use crate::text::Text;

/// Menu entries, defined next to their labels in the message catalogue.
pub use cpa_core::messages::tray::MenuEntry as Item;

/// Server state shown in the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerState {
    Stopped,
    Running {
        version: String,
        builtin: bool,
        port: u16,
    },
}

impl ServerState {
    pub fn is_running(&self) -> bool {
        matches!(self, ServerState::Running { .. })
    }
}

/// A long action in progress; while one runs, no other may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    Starting,
    Stopping,
    Password,
    Updating,
}

/// Everything the menu depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuState {
    pub lang: Lang,
    pub server: ServerState,
    pub busy: Option<Busy>,
    pub auto_open_webui: bool,
    pub auto_update: bool,
    pub auto_restart: bool,
    /// `None` where Start at Login is not implemented for this system.
    pub start_at_login: Option<bool>,
    pub config_exists: bool,
    /// The password changed while the server kept running with the old one.
    pub restart_reminder: bool,
}

impl MenuState {
    /// Returns the label of `item` in the current language.
    pub fn label(&self, item: Item) -> String {
        match item {
            Item::Status => self.status_line(),
            entry => Text::Menu(entry).text(self.lang),
        }
    }

    /// Returns the read-only status line, e.g. `Running (v6.9.1)`.
    pub fn status_line(&self) -> String {
        let base = match (self.busy, &self.server) {
            (Some(Busy::Starting), _) => Text::StatusStarting.text(self.lang),
            (Some(Busy::Stopping), _) => Text::StatusStopping.text(self.lang),
            (Some(Busy::Updating), _) => Text::StatusUpdating.text(self.lang),
            (
                _,
                ServerState::Running {
                    version, builtin, ..
                },
            ) => Text::StatusRunning {
                version,
                builtin: *builtin,
            }
            .text(self.lang),
            (_, ServerState::Stopped) => Text::StatusNotRunning.text(self.lang),
        };
        if self.restart_reminder && self.server.is_running() {
            format!("{base} - {}", Text::StatusRestartReminder.text(self.lang))
        } else {
            base
        }
    }

    /// Returns whether `item` may be used now.
    pub fn enabled(&self, item: Item) -> bool {
        let idle = self.busy.is_none();
        let running = self.server.is_running();
        match item {
            Item::Status => false,
            Item::Start => idle && !running,
            Item::Restart | Item::Stop => idle && running,
            Item::OpenWebUi => running,
            Item::OpenConfig => self.config_exists,
            Item::StartAtLogin => self.start_at_login.is_some(),
            // A password change while starting would race the start's own
            // password gate.
            Item::ResetPassword => idle,
            // One update at a time, and never during a start or stop.
            Item::Update => idle,
            Item::Open
            | Item::OpenFolder
            | Item::OpenLogs
            | Item::Settings
            | Item::AutoOpenWebUi
            | Item::AutoUpdate
            | Item::AutoRestart
            | Item::Language
            | Item::LanguageEnglish
            | Item::LanguageChinese
            | Item::About
            | Item::Exit => true,
        }
    }

    /// Returns the check state of a check item, `None` for other items.
    pub fn checked(&self, item: Item) -> Option<bool> {
        match item {
            Item::AutoOpenWebUi => Some(self.auto_open_webui),
            Item::AutoUpdate => Some(self.auto_update),
            Item::AutoRestart => Some(self.auto_restart),
            Item::StartAtLogin => Some(self.start_at_login.unwrap_or(false)),
            Item::LanguageEnglish => Some(self.lang == Lang::En),
            Item::LanguageChinese => Some(self.lang == Lang::ZhCn),
            _ => None,
        }
    }

    /// Returns the icon tooltip, as in the original tray.
    pub fn tooltip(&self) -> String {
        if self.server.is_running() {
            Text::TooltipRunning.text(self.lang)
        } else {
            crate::text::APP_TITLE.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stopped() -> MenuState {
        MenuState {
            lang: Lang::En,
            server: ServerState::Stopped,
            busy: None,
            auto_open_webui: true,
            auto_update: false,
            auto_restart: false,
            start_at_login: Some(false),
            config_exists: true,
            restart_reminder: false,
        }
    }

    fn running() -> MenuState {
        MenuState {
            server: ServerState::Running {
                version: "6.9.1".into(),
                builtin: false,
                port: 8317,
            },
            ..stopped()
        }
    }

    #[test]
    fn stopped_offers_start_only() {
        let state = stopped();
        assert!(state.enabled(Item::Start));
        assert!(!state.enabled(Item::Restart));
        assert!(!state.enabled(Item::Stop));
        assert!(!state.enabled(Item::OpenWebUi));
        assert!(!state.enabled(Item::Status));
        assert_eq!(state.status_line(), "Not Running");
        assert_eq!(state.tooltip(), "CLIProxyAPI Tray");
    }

    #[test]
    fn running_offers_restart_and_stop() {
        let state = running();
        assert!(!state.enabled(Item::Start));
        assert!(state.enabled(Item::Restart));
        assert!(state.enabled(Item::Stop));
        assert!(state.enabled(Item::OpenWebUi));
        assert_eq!(state.status_line(), "Running (v6.9.1)");
        assert_eq!(state.tooltip(), "CLIProxyAPI Tray - Running");
    }

    #[test]
    fn busy_blocks_every_server_action() {
        for busy in [
            Busy::Starting,
            Busy::Stopping,
            Busy::Password,
            Busy::Updating,
        ] {
            for base in [stopped(), running()] {
                let state = MenuState {
                    busy: Some(busy),
                    ..base
                };
                assert!(!state.enabled(Item::Start), "{busy:?}");
                assert!(!state.enabled(Item::Restart), "{busy:?}");
                assert!(!state.enabled(Item::Stop), "{busy:?}");
                assert!(!state.enabled(Item::ResetPassword), "{busy:?}");
                assert!(!state.enabled(Item::Update), "{busy:?}");
                assert!(state.enabled(Item::Exit), "{busy:?}");
            }
        }
        let starting = MenuState {
            busy: Some(Busy::Starting),
            ..stopped()
        };
        assert_eq!(starting.status_line(), "Starting...");
    }

    #[test]
    fn missing_config_disables_open_config() {
        let state = MenuState {
            config_exists: false,
            ..stopped()
        };
        assert!(!state.enabled(Item::OpenConfig));
        assert!(state.enabled(Item::OpenFolder));
    }

    #[test]
    fn checks_follow_settings_and_language() {
        let state = MenuState {
            lang: Lang::ZhCn,
            auto_restart: true,
            ..stopped()
        };
        assert_eq!(state.checked(Item::AutoOpenWebUi), Some(true));
        assert_eq!(state.checked(Item::AutoUpdate), Some(false));
        assert_eq!(state.checked(Item::AutoRestart), Some(true));
        assert_eq!(state.checked(Item::LanguageChinese), Some(true));
        assert_eq!(state.checked(Item::LanguageEnglish), Some(false));
        assert_eq!(state.checked(Item::Start), None);
        assert_eq!(state.label(Item::Stop), "停止");
        assert_eq!(state.label(Item::LanguageEnglish), "English");
    }

    #[test]
    fn reminder_shows_only_while_running() {
        let reminded = MenuState {
            restart_reminder: true,
            ..running()
        };
        assert_eq!(
            reminded.status_line(),
            "Running (v6.9.1) - restart to use the new password"
        );
        let stopped = MenuState {
            restart_reminder: true,
            ..stopped()
        };
        assert_eq!(stopped.status_line(), "Not Running");
    }

    #[test]
    fn ids_round_trip() {
        for item in Item::ALL {
            assert_eq!(Item::from_id(item.id()), Some(item));
        }
        assert_eq!(Item::from_id("nope"), None);
    }
}
