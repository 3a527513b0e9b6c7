//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Install, run and password-protect CLIProxyAPI.
#[derive(Debug, Parser)]
#[command(name = "cpa-tray", version, about, propagate_version = true)]
pub struct Cli {
    /// Home folder holding config.yaml, settings.json, versions/, logs/ and run/
    /// [default: ~/.cli-proxy-api-tray]
    #[arg(long, global = true, env = "CPA_TRAY_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,

    /// Config file to use instead of <home>/config.yaml
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Language of messages: en or zh-CN [default: the `language` setting, then the system locale]
    #[arg(long, global = true, env = "CPA_TRAY_LANG", value_name = "LANG")]
    pub lang: Option<String>,

    /// Without a command, cpa-tray runs the tray icon.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the server, asking for a management password first if none is set
    Start(StartArgs),
    /// Stop the server this tray started
    Stop(StopArgs),
    /// Stop the server if it runs, then start it
    Restart(StartArgs),
    /// Show whether the server runs, with pid, port, engine and version
    Status(StatusArgs),
    /// Set or check the management password
    #[command(subcommand)]
    Password(PasswordCommand),
    /// Allow or forbid management from other computers (allow-remote)
    #[command(subcommand)]
    Remote(RemoteCommand),
    /// Open the WebUI, the config file, the home folder or the logs folder
    Open(OpenArgs),
    /// Print the server log
    Logs(LogsArgs),
    /// Check for a new CLIProxyAPI release and install it
    Update(UpdateArgs),
    /// Install the latest CLIProxyAPI release, or a release archive you already have
    Install(InstallArgs),
    /// List, switch between and remove installed CLIProxyAPI versions
    #[command(subcommand)]
    Versions(VersionsCommand),
}

#[derive(Debug, Subcommand)]
pub enum RemoteCommand {
    /// Allow remote management; needs the current password, at least 12 characters
    Enable(RemoteEnableArgs),
    /// Allow management from this computer only
    Disable,
}

#[derive(Debug, Args)]
pub struct RemoteEnableArgs {
    /// Read the password (one line) from standard input instead of the terminal
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct OpenArgs {
    /// Target to open
    #[arg(value_enum)]
    pub target: OpenTarget,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum OpenTarget {
    /// The management WebUI in a browser
    Webui,
    /// config.yaml
    Config,
    /// The home folder
    Folder,
    /// The logs folder
    Logs,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Number of lines to print from the end
    #[arg(long, short = 'n', value_name = "N", default_value_t = 50)]
    pub lines: usize,

    /// Keep printing new lines as the server writes them
    #[arg(long, short = 'f')]
    pub follow: bool,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Server program: `builtin`, `official` (the CLIProxyAPI release installed
    /// under versions/, downloaded first when none is; `cliproxyapi` is the
    /// earlier spelling and never downloads), or the path of a
    /// CLIProxyAPI-compatible binary [default: the `engine` setting, then the
    /// installed release, then a question on the first start (the built-in
    /// engine without a terminal)]
    #[arg(long, value_name = "ENGINE")]
    pub engine: Option<String>,

    /// Read the password (one line) from standard input instead of the terminal
    #[arg(long)]
    pub password_stdin: bool,

    /// Do not open the WebUI in a browser
    #[arg(long)]
    pub no_open: bool,

    /// Stay attached: report when the server exits, stop it on Ctrl+C
    #[arg(long)]
    pub foreground: bool,

    /// Seconds to wait for the server to respond before giving up waiting
    #[arg(long, value_name = "SECONDS", default_value_t = 12.0)]
    pub ready_timeout: f64,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Seconds between the request to shut down and the forced kill
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub timeout: f64,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print the status as one JSON object
    #[arg(long)]
    pub json: bool,

    /// Also show the client API keys from the config file
    #[arg(long)]
    pub show_api_key: bool,
}

#[derive(Debug, Subcommand)]
pub enum PasswordCommand {
    /// Set a new management password (stored as a bcrypt hash)
    Set(PasswordSetArgs),
    /// Check a password against the stored management key
    Verify(PasswordVerifyArgs),
}

#[derive(Debug, Args)]
pub struct PasswordSetArgs {
    /// Read the password (one line) from standard input instead of the terminal
    #[arg(long)]
    pub password_stdin: bool,

    /// Restart a running server and check that it accepts the new password
    #[arg(long)]
    pub restart: bool,
}

#[derive(Debug, Args)]
pub struct PasswordVerifyArgs {
    /// Read the password (one line) from standard input instead of the terminal
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Only compare the latest release with the installed version (one API request)
    #[arg(long)]
    pub check: bool,

    /// Install without asking
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Seconds a restarted server has to respond before the previous version is restored
    #[arg(long, value_name = "SECONDS", default_value_t = 12.0)]
    pub ready_timeout: f64,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Install this release archive (CLIProxyAPI_<version>_<os>_<arch>.zip or .tar.gz);
    /// a checksums.txt beside it is used when present
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,

    /// Install without asking
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Install even when no checksum is published for the archive
    #[arg(long)]
    pub allow_unverified: bool,

    /// Seconds a restarted server has to respond before the previous version is restored
    #[arg(long, value_name = "SECONDS", default_value_t = 12.0)]
    pub ready_timeout: f64,
}

#[derive(Debug, Subcommand)]
pub enum VersionsCommand {
    /// List installed versions, newest first; `*` marks the active one
    List,
    /// Make an installed version the active one and restart a running release on it
    Use(VersionsUseArgs),
    /// Delete all but the newest N versions (the active one is always kept)
    Prune(VersionsPruneArgs),
}

#[derive(Debug, Args)]
pub struct VersionsUseArgs {
    /// Release tag, e.g. v6.7.37
    pub tag: String,

    /// Seconds a restarted server has to respond before the previous version is restored
    #[arg(long, value_name = "SECONDS", default_value_t = 12.0)]
    pub ready_timeout: f64,
}

#[derive(Debug, Args)]
pub struct VersionsPruneArgs {
    /// Number of newest versions to keep
    #[arg(long, value_name = "N")]
    pub keep: usize,
}
