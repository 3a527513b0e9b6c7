//! cpa-engine: a built-in server with upstream CLIProxyAPI's management
//! contract (v7.2.140, plus the v8 management prefix), for `cpa-tray`.
//!
//! It reads `config.yaml` through the `cpa-config` crate, hashes a plaintext
//! management key and writes the hash back in place. It serves `/healthz`,
//! `/`, a small embedded management page, and the management API with
//! upstream's key check, ban and error bodies. It reloads the config file
//! when it changes. The client-facing `/v1` API checks `api-keys` and then
//! replies 501, because there is no proxy core.
//!
//! [`run_cli`] is the whole command-line program; `cpa-tray engine` calls it
//! in process. [`Engine`] is the library entry for tests and embedding.
//!
//! Environment variables read at start:
//! - `MANAGEMENT_PASSWORD`: an extra plaintext management key that also
//!   enables remote management (upstream behaviour).
//! - `CPA_TRAY_RELEASES_API`: base URL of the releases API for
//!   `latest-version` (default `https://api.github.com`).
//! - `CPA_ENGINE_DISABLE_KEY_CACHE=1`: verify the key with bcrypt on every
//!   request, as upstream does; for benchmarks.

mod auth;
mod cli;
mod client_ip;
mod duration;
mod http;
mod latest;
mod management;
mod page;
mod reload;
mod routes;
mod server;
mod settings;
mod state;
mod v0_config;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

pub use server::{Engine, EngineOptions, StartError};
pub use state::{BUILD_DATE, COMMIT, VERSION};

/// Settings the engine reads from a config file, as [`check_config`] reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigCheck {
    pub host: String,
    pub port: u16,
    pub allow_remote: bool,
    pub tls_enabled: bool,
    /// Whether a management key is configured (management routes exist).
    pub management_key_set: bool,
    pub trusted_proxies: bool,
}

/// Loads `path` exactly as the engine does at start, without listening.
///
/// Like a start, this hashes a plaintext management key and writes the hash
/// back to the file. Blocking. The error is the one line the engine prints.
pub fn check_config(path: &std::path::Path) -> Result<ConfigCheck, String> {
    let loaded = settings::load(path)?;
    if let Some(Err(message)) = &loaded.tls {
        return Err(message.clone());
    }
    Ok(ConfigCheck {
        host: loaded.host.clone(),
        port: loaded.port,
        allow_remote: loaded.allow_remote,
        tls_enabled: loaded.tls.is_some(),
        management_key_set: !loaded.secret.is_empty(),
        trusted_proxies: loaded.trusted_proxies != client_ip::TrustedProxies::default(),
    })
}

/// Program name used in usage and error messages.
const PROGRAM: &str = "cpa-engine";

/// Runs the `cpa-engine` command line; `args` excludes the program name.
///
/// Prints upstream's version line, parses the flags with Go's rules, starts
/// the engine and prints `API server started successfully on: <host>:<port>`
/// once the listener is bound, then serves until SIGINT or SIGTERM (Ctrl+C or
/// Ctrl+Break on Windows). Exit status: 0 after a signal or `-h`, 2 for a bad
/// flag, 1 when the engine cannot start (upstream exits 0 there).
pub fn run_cli(args: Vec<OsString>) -> ExitCode {
    println!("CLIProxyAPI Version: {VERSION}, Commit: {COMMIT}, BuiltAt: {BUILD_DATE}");
    let _ = std::io::stdout().flush();

    let flags = match cli::parse(&args) {
        Ok(flags) => flags,
        Err(cli::ParseOutcome::Help) => {
            eprint!("{}", cli::usage(PROGRAM));
            return ExitCode::SUCCESS;
        }
        Err(cli::ParseOutcome::Error(message)) => {
            eprintln!("{message}");
            eprint!("{}", cli::usage(PROGRAM));
            return ExitCode::from(2);
        }
    };
    if let Some(flag) = flags.unsupported {
        eprintln!(
            "{PROGRAM}: -{flag} is not supported by the built-in engine; run upstream CLIProxyAPI for logins and imports"
        );
        return ExitCode::from(2);
    }

    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stdout)
        .with_ansi(false)
        .with_target(false)
        .with_max_level(tracing::Level::INFO)
        .try_init();

    // An empty `-config=` means the default, as upstream checks for "".
    let config_path = match flags.config.filter(|path| !path.as_os_str().is_empty()) {
        Some(path) => path,
        None => match std::env::current_dir() {
            Ok(dir) => dir.join("config.yaml"),
            Err(err) => {
                eprintln!(
                    "{PROGRAM}: failed to read the current directory for the default config path: {err}; pass -config FILE"
                );
                return ExitCode::FAILURE;
            }
        },
    };
    let mut options = EngineOptions::new(config_path);
    options.local_password = flags.password;
    options.env_password = std::env::var("MANAGEMENT_PASSWORD").ok();
    options.disable_key_cache = std::env::var("CPA_ENGINE_DISABLE_KEY_CACHE")
        .is_ok_and(|value| value == "1" || value.eq_ignore_ascii_case("true"));
    if let Some(api) = std::env::var("CPA_TRAY_RELEASES_API")
        .ok()
        .filter(|value| !value.trim().is_empty())
    {
        options.releases_api = api.trim().to_string();
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("{PROGRAM}: failed to start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(options))
}

async fn serve(options: EngineOptions) -> ExitCode {
    // Signal handlers go in before the port opens, so a stop request that
    // arrives right after the readiness line is handled gracefully.
    tracing::info!("CLIProxyAPI Version: {VERSION}, Commit: {COMMIT}, BuiltAt: {BUILD_DATE}");
    // A process without a console (a hidden child on Windows) may have no
    // signal to register; it still serves and is stopped by its parent.
    let signals = match Signals::install() {
        Ok(signals) => Some(signals),
        Err(err) => {
            tracing::warn!("failed to install stop signal handlers, serving without them: {err}");
            None
        }
    };
    let mut engine = match Engine::start(options).await {
        Ok(engine) => engine,
        Err(err) => {
            tracing::error!("{err}");
            eprintln!("{PROGRAM}: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "API server started successfully on: {}",
        engine.display_address()
    );
    let _ = std::io::stdout().flush();

    tokio::select! {
        _ = wait_for_signal(signals) => tracing::info!("stop signal received, shutting down"),
        _ = engine.stopped_by_itself() => {}
    }
    engine.shutdown().await;
    tracing::info!("server stopped");
    ExitCode::SUCCESS
}

async fn wait_for_signal(signals: Option<Signals>) {
    match signals {
        Some(signals) => signals.wait().await,
        None => std::future::pending().await,
    }
}

#[cfg(unix)]
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        // Keep the handlers registered while shutting down, so a second
        // signal does not kill the process mid-shutdown (upstream does the same).
        std::mem::forget(self);
    }
}

#[cfg(windows)]
struct Signals {
    ctrl_c: tokio::signal::windows::CtrlC,
    ctrl_break: tokio::signal::windows::CtrlBreak,
}

#[cfg(windows)]
impl Signals {
    fn install() -> std::io::Result<Self> {
        Ok(Self {
            ctrl_c: tokio::signal::windows::ctrl_c()?,
            ctrl_break: tokio::signal::windows::ctrl_break()?,
        })
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.ctrl_c.recv() => {}
            _ = self.ctrl_break.recv() => {}
        }
        std::mem::forget(self);
    }
}
