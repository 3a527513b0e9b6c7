//! The home folder and the files in it.
//!
//! Layout (every path relative to the home folder):
//! - `config.yaml`: the server configuration (unless `--config` names another file);
//! - `settings.json`: the tray's own settings, compatible with the original tray;
//! - `versions/<tag>/`: installed CLIProxyAPI releases;
//! - `logs/engine.log`: the server's stdout and stderr;
//! - `run/engine.json`: the record of the running server (see [`crate::supervisor`]).
//!
//! The home folder is chosen in this order: an explicit folder (`--home` or
//! `CPA_TRAY_HOME`), portable mode (the executable's own folder when it contains a
//! `config.yaml` or `settings.json`, as the original tray did), then
//! `~/.cli-proxy-api-tray`.

use std::io;
use std::path::{Path, PathBuf};

/// Name of the default home folder inside the user's home directory.
pub const DEFAULT_DIR_NAME: &str = ".cli-proxy-api-tray";

/// Folder name of the settings fallback inside the per-user data directory,
/// the same as the original tray's.
pub const FALLBACK_DIR_NAME: &str = "CLIProxyAPI_Tray";

/// Source of the home folder choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HomeSource {
    /// `--home` or `CPA_TRAY_HOME`.
    Explicit,
    /// The executable's folder contains `config.yaml` or `settings.json`.
    Portable,
    /// `~/.cli-proxy-api-tray`.
    Default,
}

/// The home folder and the paths derived from it.
#[derive(Debug, Clone)]
pub struct Home {
    root: PathBuf,
    config: PathBuf,
    source: HomeSource,
}

impl Home {
    /// Resolves the home folder.
    ///
    /// `explicit` is the folder from `--home`/`CPA_TRAY_HOME`; `config` is a
    /// config file from `--config`, used instead of `<home>/config.yaml`.
    /// Relative paths are made absolute against the current directory, because
    /// the server runs with the home folder as its working directory.
    pub fn resolve(explicit: Option<&Path>, config: Option<&Path>) -> io::Result<Home> {
        let (root, source) = match explicit {
            Some(dir) => (absolute(dir)?, HomeSource::Explicit),
            None => match portable_root() {
                Some(dir) => (dir, HomeSource::Portable),
                None => (default_root()?, HomeSource::Default),
            },
        };
        let config = match config {
            Some(file) => absolute(file)?,
            None => root.join("config.yaml"),
        };
        Ok(Home {
            root,
            config,
            source,
        })
    }

    /// Uses `root` as the home folder as it is (for tests and embedding).
    pub fn at(root: &Path) -> io::Result<Home> {
        Home::resolve(Some(root), None)
    }

    /// Returns the same home folder with `config` (absolute) as the config
    /// file, e.g. the file a running server was started with.
    pub fn with_config(&self, config: &Path) -> Home {
        Home {
            root: self.root.clone(),
            config: config.to_path_buf(),
            source: self.source,
        }
    }

    /// Creates the home folder and its `logs/` and `run/` subfolders.
    ///
    /// A file in the place of one of them fails with an error naming it,
    /// instead of the OS's bare "File exists" or "Not a directory".
    pub fn create_dirs(&self) -> io::Result<()> {
        create_checked(&[self.root.clone(), self.logs_dir(), self.run_dir()])
    }

    /// Creates the home folder and `run/`, which [`Home::lock`] needs, but
    /// not `logs/`: a command that fails before it starts a server then
    /// leaves no empty log folder behind.
    pub fn create_lock_dirs(&self) -> io::Result<()> {
        create_checked(&[self.root.clone(), self.run_dir()])
    }

    /// Returns the existing file (or other non-folder) that stands where the
    /// home folder or one of its parent folders should be.
    pub fn file_in_place_of_root(&self) -> Option<PathBuf> {
        file_in_place_of(&self.root)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn source(&self) -> HomeSource {
        self.source
    }

    /// Returns the config file the server is started with (absolute).
    pub fn config_path(&self) -> &Path {
        &self.config
    }

    pub fn settings_path(&self) -> PathBuf {
        self.root.join("settings.json")
    }

    /// Returns the settings fallback used when the primary location is not writable.
    pub fn settings_fallback_path(&self) -> Option<PathBuf> {
        user_data_dir().map(|dir| dir.join(FALLBACK_DIR_NAME).join("settings.json"))
    }

    pub fn versions_dir(&self) -> PathBuf {
        self.root.join("versions")
    }

    pub fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    pub fn engine_log_path(&self) -> PathBuf {
        self.logs_dir().join("engine.log")
    }

    pub fn run_dir(&self) -> PathBuf {
        self.root.join("run")
    }

    /// Returns the path of the record of the server this tray started.
    pub fn pid_file_path(&self) -> PathBuf {
        self.run_dir().join("engine.json")
    }

    /// Takes the home folder's exclusive lock, waiting while another cpa-tray
    /// process (CLI or tray) holds it.
    ///
    /// Commands that start, stop or reconfigure the server hold it, so two of
    /// them never interleave. The OS releases the lock when the returned file
    /// is dropped or the process exits, so a crash cannot leave it held.
    /// The `run/` folder must exist (see [`Home::create_dirs`]).
    pub fn lock(&self) -> io::Result<std::fs::File> {
        self.lock_or_wait(|_| {})
    }

    /// Takes the lock like [`Home::lock`], calling `on_wait` with the pid of
    /// the holder (when the lock file names one) before it starts waiting.
    ///
    /// The holder's pid is written into the lock file once the lock is taken.
    /// Where the OS locks the file's bytes (Windows), the pid cannot be read
    /// while the lock is held, and `on_wait` receives `None`.
    pub fn lock_or_wait(&self, on_wait: impl FnOnce(Option<u32>)) -> io::Result<std::fs::File> {
        let path = self.run_dir().join("cpa-tray.lock");
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|err| with_path(err, &path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|text| text.trim().parse::<u32>().ok());
                on_wait(holder);
                file.lock().map_err(|err| with_path(err, &path))?;
            }
            Err(std::fs::TryLockError::Error(err)) => return Err(with_path(err, &path)),
        }
        // Best effort: the pid only improves the waiting message.
        let _ = write_pid(&mut file);
        Ok(file)
    }
}

/// Creates each folder of `dirs` in order, private to the user; a file in
/// the place of one fails with an error naming it.
fn create_checked(dirs: &[PathBuf]) -> io::Result<()> {
    for dir in dirs {
        if let Some(file) = file_in_place_of(dir) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} is a file, not a folder", file.display()),
            ));
        }
        create_private_dir(dir)?;
    }
    Ok(())
}

fn write_pid(file: &mut std::fs::File) -> io::Result<()> {
    use std::io::{Seek, Write};
    file.set_len(0)?;
    file.rewind()?;
    write!(file, "{}", std::process::id())?;
    file.flush()
}

/// Returns `dir` or its nearest existing ancestor when that is not a folder.
fn file_in_place_of(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|path| path.symlink_metadata().is_ok())
        .filter(|path| !path.is_dir())
        .map(Path::to_path_buf)
}

/// Creates `dir` and any missing parents. On Unix the folders it creates are
/// readable by their owner only (mode 0700), because the home contains the
/// config with its keys, the tray's poke token and the server's logs.
/// Existing folders keep their mode.
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    private_dir_builder(true)
        .create(dir)
        .map_err(|err| with_path(err, dir))
}

/// Returns a folder builder that creates folders with mode 0700 on Unix
/// (other systems use their defaults). `recursive` also creates missing
/// parents, with the same mode.
pub(crate) fn private_dir_builder(recursive: bool) -> std::fs::DirBuilder {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(recursive);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
}

/// Adds `path` to an I/O error's message, keeping its kind.
pub(crate) fn with_path(err: io::Error, path: &Path) -> io::Error {
    io::Error::new(err.kind(), format!("{}: {err}", path.display()))
}

fn absolute(path: &Path) -> io::Result<PathBuf> {
    std::path::absolute(path)
}

fn portable_root() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    let marked = dir.join("config.yaml").is_file() || dir.join("settings.json").is_file();
    marked.then(|| dir.to_path_buf())
}

fn default_root() -> io::Result<PathBuf> {
    user_home()
        .map(|home| home.join(DEFAULT_DIR_NAME))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "cannot find the user's home directory (HOME or USERPROFILE is not set)",
            )
        })
}

fn user_home() -> Option<PathBuf> {
    let variable = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
    std::env::var_os(variable)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
}

/// Returns the per-user data directory: `%LOCALAPPDATA%` (then `%APPDATA%`) on Windows,
/// `~/Library/Application Support` on macOS, `$XDG_DATA_HOME` or
/// `~/.local/share` elsewhere.
pub fn user_data_dir() -> Option<PathBuf> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    if cfg!(windows) {
        non_empty("LOCALAPPDATA")
            .or_else(|| non_empty("APPDATA"))
            .map(PathBuf::from)
    } else if cfg!(target_os = "macos") {
        user_home().map(|home| home.join("Library/Application Support"))
    } else {
        non_empty("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| user_home().map(|home| home.join(".local/share")))
    }
}
