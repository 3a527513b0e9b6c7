//! `settings.json`, shared with the original tray.
//!
//! The original (PowerShell) tray writes `version`, `arch`, `autoOpenWebUI`,
//! `autoUpdate` and `updatedAt` as one-line JSON, with a UTF-8 BOM and CRLF under
//! Windows PowerShell 5.1. This module reads that file as it is and keeps every
//! field it does not know. It adds its own fields (`language`, `autoRestart`,
//! `engine`). It writes UTF-8 without a BOM through a temporary file and a
//! rename, so a crash leaves either the old or the new file.
//!
//! Like the original, a fallback copy lives in the per-user data directory
//! (`CLIProxyAPI_Tray/settings.json`). When both exist, the one modified last is
//! read; writes go to the primary file unless it cannot be written.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

/// The settings, with unknown fields preserved.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    fields: Map<String, Value>,
}

/// Something wrong with a settings file that did not stop loading.
#[derive(Debug, Clone, PartialEq)]
pub enum SettingsWarning {
    /// The file is not valid JSON (or not an object) and was skipped. It is
    /// renamed to `<name>.corrupt-<unix seconds>` before it is overwritten.
    Unreadable { path: PathBuf, reason: String },
    /// A field has the wrong type and its default is used instead.
    WrongType { path: PathBuf, field: &'static str },
    /// A field has a value outside `accepted` and its default is used instead.
    UnknownValue {
        path: PathBuf,
        field: &'static str,
        value: String,
        accepted: &'static [&'static str],
    },
}

/// The values the `language` field accepts.
pub const LANGUAGES: &[&str] = &["en", "zh-CN"];

impl Settings {
    /// Parses settings from bytes, tolerating a UTF-8 BOM and CRLF line ends.
    pub fn parse(bytes: &[u8]) -> Result<Settings, String> {
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Settings::default());
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(fields)) => Ok(Settings { fields }),
            Ok(_) => Err("the top level is not a JSON object".to_string()),
            Err(err) => Err(err.to_string()),
        }
    }

    /// Serialises the settings as compact one-line JSON without a BOM.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec(&self.fields).unwrap_or_else(|_| b"{}".to_vec());
        bytes.push(b'\n');
        bytes
    }

    /// Returns the raw value of a field, known or not.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.fields.get(field)
    }

    /// The installed CLIProxyAPI release tag (e.g. `v6.7.37`).
    pub fn version(&self) -> Option<&str> {
        self.string("version")
    }

    /// `amd64` or `arm64`.
    pub fn arch(&self) -> Option<&str> {
        self.string("arch")
    }

    /// Whether `start` opens the WebUI in a browser (default on).
    pub fn auto_open_webui(&self) -> bool {
        self.boolean("autoOpenWebUI").unwrap_or(true)
    }

    /// Whether the tray checks for updates at startup (default off).
    pub fn auto_update(&self) -> bool {
        self.boolean("autoUpdate").unwrap_or(false)
    }

    /// The message language (`en` or `zh-CN`); the system locale when unset.
    pub fn language(&self) -> Option<&str> {
        self.string("language")
    }

    /// Whether a crashed server is restarted automatically (default off).
    pub fn auto_restart(&self) -> bool {
        self.boolean("autoRestart").unwrap_or(false)
    }

    /// The server program: `builtin` or the path of a CLIProxyAPI-compatible binary.
    pub fn engine(&self) -> Option<&str> {
        self.string("engine")
    }

    pub fn set(&mut self, field: &str, value: Value) {
        self.fields.insert(field.to_string(), value);
    }

    /// Lists the known fields whose value has the wrong type. Strings such as
    /// `"false"` are not booleans: the original tray read them as `true`.
    pub fn type_errors(&self) -> Vec<&'static str> {
        let mut fields = Vec::new();
        for field in ["version", "arch", "language", "engine"] {
            if self
                .fields
                .get(field)
                .is_some_and(|v| !v.is_string() && !v.is_null())
            {
                fields.push(field);
            }
        }
        for field in ["autoOpenWebUI", "autoUpdate", "autoRestart"] {
            if self.fields.get(field).is_some_and(|v| !v.is_boolean()) {
                fields.push(field);
            }
        }
        fields
    }

    /// Returns the `language` value when it is set but not one of
    /// [`LANGUAGES`]. The comparison ignores case and accepts `_` for `-`,
    /// as the message catalogue does.
    pub fn unknown_language(&self) -> Option<&str> {
        let value = self.language()?;
        let known = crate::messages::Lang::from_tag(value).is_some();
        (!known).then_some(value)
    }

    fn string(&self, field: &str) -> Option<&str> {
        self.fields
            .get(field)
            .and_then(Value::as_str)
            .filter(|value| !value.is_empty())
    }

    fn boolean(&self, field: &str) -> Option<bool> {
        self.fields.get(field).and_then(Value::as_bool)
    }
}

/// The primary and fallback locations of `settings.json`.
#[derive(Debug, Clone)]
pub struct SettingsStore {
    primary: PathBuf,
    fallback: Option<PathBuf>,
    write_target: PathBuf,
}

/// Settings as loaded, with the file they came from and any warnings.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub settings: Settings,
    /// The file the settings were read from; `None` when neither exists.
    pub source: Option<PathBuf>,
    pub warnings: Vec<SettingsWarning>,
}

impl SettingsStore {
    pub fn new(primary: PathBuf, fallback: Option<PathBuf>) -> SettingsStore {
        SettingsStore {
            write_target: primary.clone(),
            primary,
            fallback,
        }
    }

    /// Reads the primary and the fallback file and keeps the one modified last.
    ///
    /// A file that does not parse is skipped with a warning and left in place.
    /// When the fallback wins, later writes go to the fallback, as in the
    /// original tray.
    pub fn load(&mut self) -> Loaded {
        let mut warnings = Vec::new();
        let mut best: Option<(SystemTime, PathBuf, Settings)> = None;
        let candidates = std::iter::once(self.primary.clone()).chain(self.fallback.clone());
        for path in candidates {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let modified = std::fs::metadata(&path)
                .and_then(|meta| meta.modified())
                .unwrap_or(UNIX_EPOCH);
            match Settings::parse(&bytes) {
                Ok(settings) => {
                    for field in settings.type_errors() {
                        warnings.push(SettingsWarning::WrongType {
                            path: path.clone(),
                            field,
                        });
                    }
                    if let Some(value) = settings.unknown_language() {
                        warnings.push(SettingsWarning::UnknownValue {
                            path: path.clone(),
                            field: "language",
                            value: value.to_string(),
                            accepted: LANGUAGES,
                        });
                    }
                    if best.as_ref().is_none_or(|(time, _, _)| modified > *time) {
                        best = Some((modified, path, settings));
                    }
                }
                Err(reason) => warnings.push(SettingsWarning::Unreadable { path, reason }),
            }
        }
        match best {
            Some((_, path, settings)) => {
                self.write_target = path.clone();
                Loaded {
                    settings,
                    source: Some(path),
                    warnings,
                }
            }
            None => Loaded {
                settings: Settings::default(),
                source: None,
                warnings,
            },
        }
    }

    /// Writes `settings` with a fresh `updatedAt`, atomically.
    ///
    /// Tries the current write target, then the fallback. Returns the file
    /// written; later writes go there too.
    pub fn save(&mut self, settings: &Settings) -> io::Result<PathBuf> {
        let mut settings = settings.clone();
        settings.set("updatedAt", Value::String(iso8601_utc(SystemTime::now())));
        let bytes = settings.to_bytes();

        let mut targets = vec![self.write_target.clone()];
        if let Some(fallback) = &self.fallback
            && *fallback != self.write_target
        {
            targets.push(fallback.clone());
        }
        let mut first_error = None;
        for target in targets {
            match write_atomic(&target, &bytes) {
                Ok(()) => {
                    self.write_target = target.clone();
                    return Ok(target);
                }
                Err(err) => {
                    first_error.get_or_insert(err);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| io::Error::other("no settings location")))
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder.
///
/// A file at `path` that does not parse as settings is kept as
/// `<name>.corrupt-<unix seconds>` instead of being overwritten.
fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other(format!("{}: no parent folder", path.display())))?;
    crate::home::create_private_dir(dir)?;

    if let Ok(existing) = std::fs::read(path)
        && Settings::parse(&existing).is_err()
    {
        let seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut keep = path.as_os_str().to_owned();
        keep.push(format!(".corrupt-{seconds}"));
        std::fs::rename(path, &keep).map_err(|err| crate::home::with_path(err, path))?;
    }

    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "settings.json".to_string());
    let temp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    // The file may contain `githubToken`. A new file is readable by its owner
    // only (0600 on Unix). A file that exists keeps its mode, so a mode the
    // user chose survives the rename.
    #[cfg(unix)]
    let existing_permissions = std::fs::metadata(path).ok().map(|meta| meta.permissions());
    let result = (|| {
        let _ = std::fs::remove_file(&temp);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temp)?;
        #[cfg(unix)]
        if let Some(permissions) = existing_permissions {
            file.set_permissions(permissions)?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(|err| crate::home::with_path(err, path))
}

/// Formats `time` as ISO-8601 in UTC with milliseconds, e.g. `2026-12-04T20:25:09.123Z`.
pub fn iso8601_utc(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since.as_secs();
    let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
    let rest = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// Converts days since 1970-01-01 to a proleptic Gregorian date (Howard
/// Hinnant's `civil_from_days` algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_known_dates() {
        assert_eq!(iso8601_utc(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap = UNIX_EPOCH + std::time::Duration::from_millis(951_782_400_250);
        assert_eq!(iso8601_utc(leap), "2000-02-29T00:00:00.250Z");
    }
}
