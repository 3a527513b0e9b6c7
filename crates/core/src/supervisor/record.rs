//! The pid file `run/engine.json`: which server this tray started.
//!
//! A pid alone is not enough to act on after the tray exits, because the OS
//! reuses pids. The record also stores the process start time and executable
//! path, and a recorded process is treated as ours only when all three match.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::process;

/// One started server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineRecord {
    pub pid: u32,
    /// Start time as the OS reports it (see [`process::ProcessInfo`]).
    pub start_time: u64,
    /// The executable the process runs, as the OS resolves it: the
    /// interpreter of a script, the target of a symlink. Used to recognise
    /// the process, not to run it again.
    pub exe: PathBuf,
    /// The program as it was started, made absolute but not resolved: a
    /// wrapper script or a symlink stays as named, so a restart runs what
    /// the user chose. Records written before this field existed lack it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<PathBuf>,
    /// The config file passed with `--config`.
    pub config: PathBuf,
    pub port: u16,
    /// `builtin` or `external`.
    pub engine: String,
    pub version: String,
    /// Whether `version` comes from the server's own start-up output rather
    /// than from the engine, so a restart reads it again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub version_printed: bool,
    /// Path of the WebUI page the server reads, from the environment it was
    /// started with. Records written before this field existed lack it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webui_page: Option<PathBuf>,
    /// Address probed for readiness and status, e.g. `127.0.0.1:8317`.
    pub probe: String,
    pub tls: bool,
    /// Unix seconds when the server was started.
    pub started_at: u64,
}

/// What a recorded pid refers to now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liveness {
    /// The recorded process is alive with the same start time and executable.
    Ours,
    /// No process with that pid is alive.
    Gone,
    /// A process with that pid is alive but is not the one recorded.
    Foreign,
}

impl EngineRecord {
    /// Returns the WebUI page the server reads: the path kept at start, or,
    /// for an older record, the one this process's environment gives.
    pub fn webui_page_path(&self) -> PathBuf {
        self.webui_page
            .clone()
            .unwrap_or_else(|| super::checks::webui_page_path(&self.config))
    }

    /// Checks whether the recorded process still runs.
    pub fn liveness(&self) -> Liveness {
        let Some(info) = process::inspect(self.pid) else {
            return Liveness::Gone;
        };
        if info.start_time != self.start_time {
            return Liveness::Foreign;
        }
        match info.exe {
            Some(exe) if same_file(&exe, &self.exe) => Liveness::Ours,
            _ => Liveness::Foreign,
        }
    }

    /// Returns whether the recorded process has ended: no process with its
    /// pid, a zombie, or a different process under a reused pid.
    ///
    /// Unlike [`Self::liveness`], this ignores the executable. While a process
    /// exits, Linux drops its executable link before it closes its files, so
    /// an exiting server can look foreign while its port is still open.
    pub fn has_exited(&self) -> bool {
        process::inspect(self.pid).is_none_or(|info| info.start_time != self.start_time)
    }

    /// Returns the program to run again for a restart or a rollback: the path
    /// as spawned, or the resolved executable for records without it.
    pub fn program_to_run(&self) -> PathBuf {
        self.program.clone().unwrap_or_else(|| self.exe.clone())
    }
}

fn same_file(left: &Path, right: &Path) -> bool {
    if left == right {
        return true;
    }
    match (left.canonicalize(), right.canonicalize()) {
        (Ok(left), Ok(right)) => left == right,
        _ => false,
    }
}

/// Reads the record; `Ok(None)` when there is none.
///
/// A record that does not parse is treated as absent, because it cannot name
/// a process safely.
pub fn read(path: &Path) -> io::Result<Option<EngineRecord>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(crate::home::with_path(err, path)),
    }
}

/// Writes the record through a temporary file and a rename.
pub fn write(path: &Path, record: &EngineRecord) -> io::Result<()> {
    let bytes = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
    let temp = path.with_extension(format!("json.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(|err| crate::home::with_path(err, path))
}

/// Removes the record; a missing file is not an error.
pub fn remove(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(crate::home::with_path(err, path)),
        _ => Ok(()),
    }
}

/// Returns the canonical form of `path`, or `path` itself when it cannot be resolved.
pub fn canonical_or_same(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}
