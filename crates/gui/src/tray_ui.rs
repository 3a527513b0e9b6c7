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
pub(crate) const TRAY_GUID: u128 = 0x6f1d_3c2a_8b47_4e0f_9a51_c3d2_7e64_b815;

enum Entry {
    Plain(MenuItem),
    Check(CheckMenuItem),
    Sub(Submenu),
}

impl Entry {
    fn set_text(&self, text: &str) {
        match self {
            Entry::Plain(entry) => entry.set_text(text),
            Entry::Check(entry) => entry.set_text(text),
            Entry::Sub(entry) => entry.set_text(text),
        }
    }

    fn set_enabled(&self, enabled: bool) {
        match self {
            Entry::Plain(entry) => entry.set_enabled(enabled),
            Entry::Check(entry) => entry.set_enabled(enabled),
            Entry::Sub(entry) => entry.set_enabled(enabled),
        }
    }

    fn set_checked(&self, checked: bool) {
        if let Entry::Check(entry) = self {
            entry.set_checked(checked);
        }
    }
}

/// The live tray icon and menu.
pub struct TrayUi {
    tray: TrayIcon,
    entries: HashMap<Item, Entry>,
    /// The state last applied. Every muda setter call makes ksni re-send the
    /// layout over D-Bus (and wakes two threads), so only changes are applied.
    shown: Option<MenuState>,
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
            shown: None,
        };
        ui.apply(state);
        Ok(ui)
    }

    /// Updates the labels, enabled flags, check marks, tooltip and icon that
    /// differ from the state shown.
    pub fn apply(&mut self, state: &MenuState) {
        if self.shown.as_ref() == Some(state) {
            return;
        }
        let shown = self.shown.take();
        for (item, entry) in &self.entries {
            let item = *item;
            let label = state.label(item);
            let enabled = state.enabled(item);
            let checked = state.checked(item).unwrap_or(false);
            let (old_label, old_enabled, old_checked) = match &shown {
                Some(old) => (
                    Some(old.label(item)),
                    Some(old.enabled(item)),
                    Some(old.checked(item).unwrap_or(false)),
                ),
                None => (None, None, None),
            };
            if old_label.as_deref() != Some(label.as_str()) {
                entry.set_text(&label);
            }
            if old_enabled != Some(enabled) {
                entry.set_enabled(enabled);
            }
            if old_checked != Some(checked) {
                entry.set_checked(checked);
            }
        }
        let tooltip = state.tooltip();
        if shown.as_ref().map(MenuState::tooltip) != Some(tooltip.clone()) {
            let _ = self.tray.set_tooltip(Some(tooltip));
        }
        let running = state.server.is_running();
        if shown.as_ref().map(|old| old.server.is_running()) != Some(running)
            && let Ok(icon) = make_icon(running)
        {
            let _ = self.tray.set_icon(Some(icon));
        }
        self.shown = Some(state.clone());
    }
}

impl TrayUi {
    /// Sets every check mark to the state's value. A check item toggles its
    /// own mark when clicked, even when the click is then ignored or the
    /// setting fails to save, so each click on one ends with this.
    pub fn reset_checks(&self, state: &MenuState) {
        for (item, entry) in &self.entries {
            if let Entry::Check(entry) = entry {
                entry.set_checked(state.checked(*item).unwrap_or(false));
            }
        }
    }
}

fn make_icon(running: bool) -> Result<Icon, String> {
    Icon::from_rgba(icon::rgba(running), icon::SIZE, icon::SIZE).map_err(|err| err.to_string())
}
