//! settings.json as the original tray writes it, and our writes.

use std::path::Path;
use std::time::{Duration, SystemTime};

use cpa_core::settings::{Settings, SettingsStore, SettingsWarning};
use serde_json::json;

/// What Windows PowerShell 5.1's `Set-Content -Encoding UTF8` produces: BOM + CRLF.
const ORIGINAL: &[u8] = b"\xef\xbb\xbf{\"version\":\"v6.7.37\",\"arch\":\"amd64\",\"autoOpenWebUI\":true,\"autoUpdate\":false,\"updatedAt\":\"2026-01-02T03:04:05.1234567+08:00\",\"lastChannel\":\"plus\"}\r\n";

fn set_mtime(path: &Path, time: SystemTime) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(time).unwrap();
}

#[test]
fn original_file_with_bom_and_crlf_is_read() {
    let settings = Settings::parse(ORIGINAL).unwrap();
    assert_eq!(settings.version(), Some("v6.7.37"));
    assert_eq!(settings.arch(), Some("amd64"));
    assert!(settings.auto_open_webui());
    assert!(!settings.auto_update());
    assert_eq!(settings.language(), None);
    assert!(!settings.auto_restart());
}

#[test]
fn save_keeps_unknown_fields_and_drops_the_bom() {
    let dir = tempfile::tempdir().unwrap();
    let primary = dir.path().join("settings.json");
    std::fs::write(&primary, ORIGINAL).unwrap();

    let mut store = SettingsStore::new(primary.clone(), None);
    let loaded = store.load();
    assert_eq!(loaded.source.as_deref(), Some(primary.as_path()));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let mut settings = loaded.settings;
    settings.set("language", json!("zh-CN"));
    let written = store.save(&settings).unwrap();
    assert_eq!(written, primary);

    let bytes = std::fs::read(&primary).unwrap();
    assert!(!bytes.starts_with(b"\xef\xbb\xbf"), "BOM written");
    assert!(!bytes.contains(&b'\r'), "CR written");
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(value["lastChannel"], "plus");
    assert_eq!(value["version"], "v6.7.37");
    assert_eq!(value["arch"], "amd64");
    assert_eq!(value["autoOpenWebUI"], true);
    assert_eq!(value["autoUpdate"], false);
    assert_eq!(value["language"], "zh-CN");
    assert_ne!(value["updatedAt"], "2026-01-02T03:04:05.1234567+08:00");
    // No temporary file is left beside it.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("settings.json")]);
}

#[test]
fn newer_of_primary_and_fallback_wins() {
    let dir = tempfile::tempdir().unwrap();
    let primary = dir.path().join("home/settings.json");
    let fallback = dir.path().join("data/CLIProxyAPI_Tray/settings.json");
    std::fs::create_dir_all(primary.parent().unwrap()).unwrap();
    std::fs::create_dir_all(fallback.parent().unwrap()).unwrap();
    std::fs::write(&primary, br#"{"version":"v1.0.0"}"#).unwrap();
    std::fs::write(&fallback, b"\xef\xbb\xbf{\"version\":\"v2.0.0\"}\r\n").unwrap();
    let now = SystemTime::now();
    set_mtime(&primary, now - Duration::from_secs(60));
    set_mtime(&fallback, now);

    let mut store = SettingsStore::new(primary.clone(), Some(fallback.clone()));
    let loaded = store.load();
    assert_eq!(loaded.settings.version(), Some("v2.0.0"));
    assert_eq!(loaded.source.as_deref(), Some(fallback.as_path()));
    // Like the original, writes then go to the copy that was read.
    assert_eq!(store.save(&loaded.settings).unwrap(), fallback);

    set_mtime(&primary, now + Duration::from_secs(60));
    let mut store = SettingsStore::new(primary.clone(), Some(fallback));
    assert_eq!(store.load().settings.version(), Some("v1.0.0"));
}

#[test]
fn fallback_written_when_primary_is_not_writable() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the primary file's parent should be makes it unwritable
    // for every user, root included.
    let blocker = dir.path().join("home");
    std::fs::write(&blocker, b"not a folder").unwrap();
    let primary = blocker.join("settings.json");
    let fallback = dir.path().join("data/CLIProxyAPI_Tray/settings.json");

    let mut store = SettingsStore::new(primary, Some(fallback.clone()));
    let settings = store.load().settings;
    assert_eq!(store.save(&settings).unwrap(), fallback);
    assert!(fallback.is_file());
}

#[test]
fn corrupt_file_is_kept_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let primary = dir.path().join("settings.json");
    std::fs::write(&primary, b"{\"version\": \"v1\",").unwrap();

    let mut store = SettingsStore::new(primary.clone(), None);
    let loaded = store.load();
    assert!(matches!(
        loaded.warnings.as_slice(),
        [SettingsWarning::Unreadable { .. }]
    ));
    assert_eq!(loaded.settings, Settings::default());
    store.save(&loaded.settings).unwrap();

    let kept: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("settings.json.corrupt-"))
        .collect();
    assert_eq!(kept.len(), 1, "corrupt copy kept");
    let copy = std::fs::read(dir.path().join(&kept[0])).unwrap();
    assert_eq!(copy, b"{\"version\": \"v1\",");
}

#[test]
fn string_booleans_are_not_true() {
    // The original tray cast "false" to true; a string is a type error here.
    let settings = Settings::parse(br#"{"autoOpenWebUI":"false","autoUpdate":"true"}"#).unwrap();
    assert!(settings.auto_open_webui(), "default applies");
    assert!(!settings.auto_update(), "default applies");
    assert_eq!(settings.type_errors(), vec!["autoOpenWebUI", "autoUpdate"]);
}

#[cfg(unix)]
fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[test]
fn save_creates_private_file_and_keeps_mode() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("new/home");
    let primary = folder.join("settings.json");
    let mut store = SettingsStore::new(primary.clone(), None);
    let mut settings = Settings::default();
    settings.set("githubToken", json!("ghp_example"));
    store.save(&settings).unwrap();
    assert_eq!(mode_of(&primary), 0o600, "new settings.json");
    assert_eq!(mode_of(&folder), 0o700, "created folder");
    assert_eq!(mode_of(&dir.path().join("new")), 0o700, "created parent");

    // A mode the user chose survives the next save.
    std::fs::set_permissions(&primary, std::fs::Permissions::from_mode(0o640)).unwrap();
    store.save(&settings).unwrap();
    assert_eq!(mode_of(&primary), 0o640, "existing settings.json");
}

#[test]
fn unknown_language_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let primary = dir.path().join("settings.json");
    std::fs::write(&primary, br#"{"language":"de","autoRestart":"yes"}"#).unwrap();
    let loaded = SettingsStore::new(primary.clone(), None).load();
    assert!(
        loaded.warnings.contains(&SettingsWarning::UnknownValue {
            path: primary.clone(),
            field: "language",
            value: "de".to_string(),
            accepted: &["en", "zh-CN"],
        }),
        "{:?}",
        loaded.warnings
    );
    assert!(
        loaded.warnings.contains(&SettingsWarning::WrongType {
            path: primary.clone(),
            field: "autoRestart",
        }),
        "{:?}",
        loaded.warnings
    );

    // Known spellings, as `--lang` and the locale accept them, are not reported.
    for language in ["en", "zh-CN", "zh_CN", "en-US"] {
        std::fs::write(&primary, format!(r#"{{"language":"{language}"}}"#)).unwrap();
        let loaded = SettingsStore::new(primary.clone(), None).load();
        assert!(
            loaded.warnings.is_empty(),
            "{language}: {:?}",
            loaded.warnings
        );
    }
}
