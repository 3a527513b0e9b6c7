//! The tray icon, its menu, the dialogs and the notifications of cpa-tray.
