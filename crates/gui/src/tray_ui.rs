//! The tray icon and its menu items, kept in step with a [`MenuState`].
//!
//! muda menu items are not `Send`, so this lives on the thread that runs the
//! event loop; worker threads change the state only through events.

use std::collections::HashMap;

use tray_icon::menu::{CheckMenuItem, IsMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
use tray_icon::{Icon, TrayIcon, TrayIconBuilder};

use crate::icon;
use crate::model::{Item, MenuState};

/// Fixed id of the icon, so Windows remembers the user's "always show" choice
/// across updates.
const TRAY_GUID: u128 = 0x6f1d_3c2a_8b47_4e0f_9a51_c3d2_7e64_b815;

enum Entry {
    Plain(MenuItem),
    Check(CheckMenuItem),
    Sub(Submenu),
}

/// The live tray icon and menu.
pub struct TrayUi {
    tray: TrayIcon,
    entries: HashMap<Item, Entry>,
    shown_running: Option<bool>,
}

impl TrayUi {
    /// Builds the icon and the full menu for `state`.
    pub fn build(state: &MenuState) -> Result<TrayUi, String> {
        let mut entries = HashMap::new();
        let plain = |entries: &mut HashMap<Item, Entry>, item: Item| {
            let entry = MenuItem::with_id(item.id(), state.label(item), state.enabled(item), None);
            entries.insert(item, Entry::Plain(entry.clone()));
            entry
        };
        let check = |entries: &mut HashMap<Item, Entry>, item: Item| {
            let entry = CheckMenuItem::with_id(
                item.id(),
                state.label(item),
                state.enabled(item),
                state.checked(item).unwrap_or(false),
                None,
            );
            entries.insert(item, Entry::Check(entry.clone()));
            entry
        };

        let status = plain(&mut entries, Item::Status);
        let start = plain(&mut entries, Item::Start);
        let restart = plain(&mut entries, Item::Restart);
        let stop = plain(&mut entries, Item::Stop);

        let webui = plain(&mut entries, Item::OpenWebUi);
        let folder = plain(&mut entries, Item::OpenFolder);
        let config = plain(&mut entries, Item::OpenConfig);
        let logs = plain(&mut entries, Item::OpenLogs);
        let open = Submenu::with_id_and_items(
            Item::Open.id(),
            state.label(Item::Open),
            true,
            &[&webui as &dyn IsMenuItem, &folder, &config, &logs],
        )
        .map_err(|err| err.to_string())?;
        entries.insert(Item::Open, Entry::Sub(open.clone()));

        let auto_open = check(&mut entries, Item::AutoOpenWebUi);
        let auto_update = check(&mut entries, Item::AutoUpdate);
        let auto_restart = check(&mut entries, Item::AutoRestart);
        let login = check(&mut entries, Item::StartAtLogin);
        let english = check(&mut entries, Item::LanguageEnglish);
        let chinese = check(&mut entries, Item::LanguageChinese);
        let language = Submenu::with_id_and_items(
            Item::Language.id(),
            state.label(Item::Language),
            true,
            &[&english as &dyn IsMenuItem, &chinese],
        )
        .map_err(|err| err.to_string())?;
        entries.insert(Item::Language, Entry::Sub(language.clone()));
        let reset = plain(&mut entries, Item::ResetPassword);
        let settings = Submenu::with_id_and_items(
            Item::Settings.id(),
            state.label(Item::Settings),
            true,
            &[
                &auto_open as &dyn IsMenuItem,
                &auto_update,
                &auto_restart,
                &login,
                &language,
                &PredefinedMenuItem::separator(),
                &reset,
            ],
        )
        .map_err(|err| err.to_string())?;
        entries.insert(Item::Settings, Entry::Sub(settings.clone()));

        let update = plain(&mut entries, Item::Update);
        let about = plain(&mut entries, Item::About);
        let exit = plain(&mut entries, Item::Exit);

        let menu = Menu::new();
        menu.append_items(&[
            &status as &dyn IsMenuItem,
            &PredefinedMenuItem::separator(),
            &start,
            &restart,
            &stop,
            &PredefinedMenuItem::separator(),
            &open,
            &settings,
            &PredefinedMenuItem::separator(),
            &update,
            &about,
            &exit,
        ])
        .map_err(|err| err.to_string())?;

        let tray = TrayIconBuilder::new()
            .with_id("cpa-tray")
            .with_title(crate::text::APP_TITLE)
            .with_tooltip(state.tooltip())
            .with_icon(make_icon(state.server.is_running())?)
            .with_menu(Box::new(menu))
            .with_menu_on_left_click(false);
        #[cfg(windows)]
        let tray = tray.with_guid(TRAY_GUID);
        let _ = TRAY_GUID;
        let tray = tray.build().map_err(|err| err.to_string())?;
        let mut ui = TrayUi {
            tray,
            entries,
            shown_running: None,
        };
        ui.apply(state);
        Ok(ui)
    }

    /// Updates labels, enabled flags, check marks, tooltip and icon.
    pub fn apply(&mut self, state: &MenuState) {
        for (item, entry) in &self.entries {
            let label = state.label(*item);
            let enabled = state.enabled(*item);
            match entry {
                Entry::Plain(entry) => {
                    entry.set_text(label);
                    entry.set_enabled(enabled);
                }
                Entry::Check(entry) => {
                    entry.set_text(label);
                    entry.set_enabled(enabled);
                    entry.set_checked(state.checked(*item).unwrap_or(false));
                }
                Entry::Sub(entry) => {
                    entry.set_text(label);
                    entry.set_enabled(enabled);
                }
            }
        }
        let _ = self.tray.set_tooltip(Some(state.tooltip()));
        let running = state.server.is_running();
        if self.shown_running != Some(running) {
            if let Ok(icon) = make_icon(running) {
                let _ = self.tray.set_icon(Some(icon));
            }
            self.shown_running = Some(running);
        }
    }
}

fn make_icon(running: bool) -> Result<Icon, String> {
    Icon::from_rgba(icon::rgba(running), icon::SIZE, icon::SIZE).map_err(|err| err.to_string())
}
