//! Every user-visible text of cpa-tray, in English and Simplified Chinese.
//!
//! One typed catalogue: each message is a variant of [`Msg`] with its
//! parameters (paths, ports, versions), and [`Msg::text`] matches exhaustively
//! per language, so a missing translation is a compile error.

use std::fmt;

// GUI area: the texts only the tray shows.
pub mod tray;

// The OS's English reasons inside Chinese messages.
pub mod os_text;

// ZH area: process exit statuses and config errors in Chinese.
pub mod config_text;
pub mod exit_text;
pub mod start_text;
pub use config_text::config_error_text;
pub use exit_text::{exit_code_text, exit_status_text};
pub use start_text::{server_check_lines, start_error_lines};

/// A supported language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    ZhCn,
}

impl Lang {
    /// Parses a language tag: `en*` is English; `zh`, `zh-Hans*`, `zh-CN` and
    /// `zh-SG` (also with `_`, as in `LANG=zh_CN.UTF-8`) are Simplified
    /// Chinese. Returns `None` for anything else.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let tag = tag.trim().split('.').next().unwrap_or("").replace('_', "-");
        let lower = tag.to_ascii_lowercase();
        if lower == "en" || lower.starts_with("en-") {
            return Some(Lang::En);
        }
        let simplified = lower == "zh"
            || lower.starts_with("zh-hans")
            || lower == "zh-cn"
            || lower.starts_with("zh-cn-")
            || lower == "zh-sg"
            || lower.starts_with("zh-sg-");
        simplified.then_some(Lang::ZhCn)
    }

    /// Chooses the language: the explicit choice (`--lang`), then the
    /// `language` setting, then the system locale; English when none matches.
    pub fn resolve(explicit: Option<Lang>, setting: Option<&str>) -> Lang {
        explicit
            .or_else(|| setting.and_then(Lang::from_tag))
            .or_else(|| sys_locale::get_locale().and_then(|tag| Lang::from_tag(&tag)))
            .unwrap_or(Lang::En)
    }

    /// Returns the tag written to settings and accepted by `--lang`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }
}

/// A message with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg<'a> {
    // Configuration and home folder.
    ConfigCreated {
        path: &'a str,
    },
    ConfigUnusable {
        detail: &'a str,
    },
    ConfigMissing {
        path: &'a str,
        explicit: bool,
    },
    ConfigDiffersFromRunning {
        pid: u32,
        running: &'a str,
        given: &'a str,
    },
    AlreadyRunning {
        pid: u32,
        port: u16,
    },
    StoredKeyUnusable {
        path: &'a str,
        problem: crate::password::StoredKeyProblem,
    },
    ExampleApiKeys {
        path: &'a str,
        keys: &'a str,
    },
    ConfigNotWritable {
        path: &'a str,
        detail: &'a str,
    },
    ConfigCreateFailed {
        path: &'a str,
        detail: &'a str,
    },
    HomeUnusable {
        detail: &'a str,
    },
    PortNotSet {
        path: &'a str,
    },
    PortInvalid {
        path: &'a str,
        port: i64,
    },
    SettingsUnreadable {
        path: &'a str,
        reason: &'a str,
    },
    SettingsWrongType {
        path: &'a str,
        field: &'a str,
    },
    SettingsSaveFailed {
        detail: &'a str,
    },

    // Password entry and rules.
    PasswordPrompt,
    PasswordConfirmPrompt,
    PasswordVerifyPrompt,
    PasswordRules,
    PasswordTooShort {
        bytes: usize,
    },
    PasswordTooLong {
        bytes: usize,
    },
    PasswordNotPrintableAscii,
    PasswordSurroundingSpace,
    PasswordLooksLikeHash,
    PasswordMismatch,
    PasswordTryAgain,
    PasswordAttemptsUsed {
        attempts: usize,
    },
    PasswordNoTerminal,
    PasswordStdinFailed {
        detail: &'a str,
    },
    PasswordNotSetStartCancelled,
    PasswordNotSetNothingChanged,
    PasswordSaved {
        path: &'a str,
    },
    PasswordWriteFailed {
        detail: &'a str,
    },
    PasswordRestartHint,
    PasswordNotRunningNoRestart,
    PasswordActive,
    PasswordRejected {
        config: &'a str,
        env_password: bool,
    },
    ManagementBanned,
    ManagementForbidden {
        body: &'a str,
    },
    ManagementNotLocal,
    ManagementKeyNotLoaded {
        config: &'a str,
    },
    ManagementDisabled,
    PasswordCheckFailed {
        detail: &'a str,
    },
    PasswordCheckSkippedTls,
    PasswordMatches {
        path: &'a str,
    },
    PasswordDoesNotMatch {
        path: &'a str,
    },
    PasswordNotConfigured {
        path: &'a str,
    },
    EnvPasswordKept,
    EnvPasswordRemoved,

    // Start.
    StoppedPrevious {
        pid: u32,
    },
    /// The previous server ignored the graceful stop and was killed.
    StoppedPreviousForced {
        pid: u32,
        seconds: u64,
    },
    StartedServer {
        pid: u32,
        port: u16,
        engine: &'a str,
        version: &'a str,
        millis: u128,
    },
    StartedNotReady {
        port: u16,
        log: &'a str,
    },
    WebUiAt {
        url: &'a str,
    },
    ManagementApiAt {
        url: &'a str,
    },
    OpenWebUiFailed {
        detail: &'a str,
    },
    /// `config` is `None` while the config file does not exist yet (a
    /// first start that has not written its template).
    PortInUse {
        port: u16,
        config: Option<&'a str>,
    },
    PortInUseBy {
        port: u16,
        pid: u32,
        name: &'a str,
        config: Option<&'a str>,
    },
    PortUnavailable {
        port: u16,
        reason: &'a str,
    },
    SpawnFailed {
        program: &'a str,
        detail: &'a str,
    },
    EngineNotFound {
        path: &'a str,
        /// Source of the path: `--engine`, a variable or the setting.
        origin: &'a str,
    },
    ExitedEarly {
        status: &'a str,
        log: &'a str,
    },
    BadConfigLine {
        line: &'a str,
    },
    StartFailed {
        detail: &'a str,
    },
    ForegroundWaiting,
    ServerExited {
        status: &'a str,
        log: &'a str,
    },
    ServerExitedNoOutput {
        status: &'a str,
        log: &'a str,
    },
    ExitedEarlyNoOutput {
        status: &'a str,
        log: &'a str,
    },
    AutoRestarting {
        seconds: u64,
        attempt: u32,
    },
    AutoRestartGaveUp {
        attempts: u32,
    },

    // Stop.
    Stopped {
        pid: u32,
    },
    StoppedForced {
        pid: u32,
        seconds: u64,
    },
    StoppedKilled {
        pid: u32,
    },
    NotRunning,
    StaleRecordRemoved {
        pid: u32,
    },
    PidReusedLeftAlone {
        pid: u32,
    },
    StopFailed {
        detail: &'a str,
    },
    RecordUnreadable {
        detail: &'a str,
    },

    // Status.
    StatusRunning {
        pid: u32,
        port: u16,
        engine: &'a str,
        version: &'a str,
    },
    StatusNotServing,
    StatusNotRunning,
    StatusExited {
        pid: u32,
    },
    EngineUnknown {
        value: &'a str,
    },
    NoReleaseInstalled {
        path: &'a str,
    },
    StatusHome {
        path: &'a str,
    },
    StatusConfig {
        path: &'a str,
    },
    StatusLog {
        path: &'a str,
    },
    StatusApiKey {
        key: &'a str,
    },
    StatusNoApiKey,

    // Remote management.
    RemoteEnabled {
        path: &'a str,
    },
    RemoteDisabled {
        path: &'a str,
    },
    RemoteNeedsLongKey,
    RemoteWarning {
        port: u16,
    },
    RemoteLocalHostOnly {
        host: &'a str,
        path: &'a str,
    },

    // Open and logs.
    NotListening {
        port: u16,
    },
    Opened {
        target: &'a str,
    },
    OpenFailed {
        target: &'a str,
        detail: &'a str,
    },
    NoDisplay {
        target: &'a str,
    },
    LogMissing {
        path: &'a str,
    },
    LogReadFailed {
        path: &'a str,
        detail: &'a str,
    },
    WaitingForLock {
        pid: Option<u32>,
    },
    LockFailed {
        detail: &'a str,
    },

    // Command line.
    InvalidLanguage {
        value: &'a str,
    },

    // CLIProxyAPI releases.
    ReleaseFailed {
        detail: &'a str,
    },
    ReleaseCausedBy {
        detail: &'a str,
    },
    ReleaseHint {
        hint: &'a str,
    },
    ReleaseAlreadyLatest {
        tag: &'a str,
    },
    ReleaseUpdateAvailable {
        installed: &'a str,
        latest: &'a str,
    },
    ReleaseNotInstalled {
        latest: &'a str,
    },
    ReleaseActiveIsNewer {
        active: &'a str,
        latest: &'a str,
    },
    ReleaseConfirm {
        tag: &'a str,
        asset: &'a str,
        megabytes: &'a str,
    },
    ReleaseNeedsYes,
    ReleaseUpdateCancelled,
    ReleaseDownloadProgress {
        asset: &'a str,
        percent: u64,
        received: &'a str,
        total: &'a str,
    },
    ReleaseInstalled {
        tag: &'a str,
        dir: &'a str,
    },
    ReleaseVerifiedChecksums {
        sha256: &'a str,
    },
    ReleaseVerifiedDigest {
        sha256: &'a str,
    },
    ReleaseUnverified {
        sha256: &'a str,
    },
    ReleaseAlreadyInstalled {
        tag: &'a str,
    },
    ReleaseRecorded {
        tag: &'a str,
        path: &'a str,
    },
    ReleaseRestarting {
        tag: &'a str,
    },
    ReleaseNotRestarted {
        engine: &'a str,
        version: &'a str,
        tag: &'a str,
    },
    ReleaseRolledBack {
        tag: &'a str,
        previous: &'a str,
        log: &'a str,
    },
    ReleaseRollbackFailed {
        tag: &'a str,
        previous: &'a str,
        detail: &'a str,
    },
    VersionsEmpty {
        path: &'a str,
    },
    VersionsEntry {
        tag: &'a str,
        active: bool,
    },
    VersionsPruned {
        tag: &'a str,
    },
    VersionsPruneNothing {
        keep: usize,
    },

    // Releases: first-start engine choice, PATH binaries, cancelled downloads.
    EngineChoicePrompt {
        /// `None` when no download can be offered.
        tag: Option<&'a str>,
        platform: &'a str,
        megabytes: &'a str,
        on_path: Option<&'a str>,
    },
    EngineChoiceInvalid {
        keys: &'a str,
    },
    EngineChoiceNoDownload {
        detail: &'a str,
    },
    EngineBuiltinNotice,
    EngineChoiceRecorded {
        value: &'a str,
        path: &'a str,
    },
    EngineChoiceCancelled,
    EngineOfficialInstalling,
    VersionsOnPath {
        path: &'a str,
    },
    ReleaseCancelling,

    // Service control: home folder, status and interrupts.
    HomeIsFile {
        path: &'a str,
    },
    StatusExitedUnexpectedly {
        pid: u32,
        log: &'a str,
    },
    StatusPortServedBy {
        port: u16,
        pid: u32,
        name: &'a str,
        config: &'a str,
    },
    StatusPortServed {
        port: u16,
        config: &'a str,
    },
    StatusNotResponding {
        pid: u32,
        port: u16,
    },
    /// The recorded process exited, but processes it started still run.
    StatusExitedGroupRunning {
        pid: u32,
    },
    /// The running server returns upstream's safe-mode page for `/`.
    SafeModeActive {
        path: &'a str,
        keys: &'a str,
    },
    /// The running server is in safe mode although the config lists no
    /// example key.
    SafeModeWithoutExampleKeys {
        path: &'a str,
    },
    /// The running server returns 404 for `/management.html`.
    WebUiPageMissing {
        page: &'a str,
    },
    /// The WebUI page is switched off in the config.
    WebUiDisabled {
        path: &'a str,
    },
    StatusSuspended {
        pid: u32,
    },
    PromptCancelled,
    LogRotationFailed {
        detail: &'a str,
    },

    // Stops of suspended servers, pending restarts, races with other commands.
    StoppedWhileSuspended {
        pid: u32,
    },
    PendingRestartCancelled {
        supervisor: u32,
    },
    ForegroundRestartCancelled,
    StatusRestartPending {
        supervisor: u32,
        seconds: u64,
    },
    PasswordSetMeanwhile {
        path: &'a str,
    },
    StartedNotReadyStillRunning {
        pid: u32,
    },
    DownloadCancelled,
    PasswordTooShortForRemote {
        path: &'a str,
        min: usize,
    },
    ConfigUnreadable {
        path: &'a str,
        detail: &'a str,
    },
    EngineIsFolder {
        path: &'a str,
        origin: &'a str,
    },
    StatusExitedNoLog {
        pid: u32,
        log: &'a str,
    },
    ReleaseOlderActivated {
        tag: &'a str,
        previous: &'a str,
    },
    ForegroundRestartInterrupted,

    // Service: restarts, status and prompts.
    RelaunchProgramMissing {
        program: &'a str,
        pid: u32,
    },
    RelaunchProgramUnrecorded {
        exe: &'a str,
        pid: u32,
    },
    StatusConfigMissing {
        path: &'a str,
        explicit: bool,
        /// The port of the built-in template.
        port: u16,
    },

    // Settings values.
    SettingsUnknownValue {
        path: &'a str,
        field: &'a str,
        value: &'a str,
        accepted: &'a str,
    },
}

impl Msg<'_> {
    /// Renders the message in `lang`.
    pub fn text(&self, lang: Lang) -> String {
        match lang {
            Lang::En => self.english(),
            Lang::ZhCn => os_text::localize(&self.chinese()).into_owned(),
        }
    }

    fn english(&self) -> String {
        use Msg::*;
        match self {
            ConfigCreated { path } => format!("Created {path} from the built-in template."),
            ConfigMissing { path, explicit: true } => format!(
                "The config file {path} given with --config does not exist; nothing was created. Check the path, or leave out --config to use the home folder's config.yaml."
            ),
            ConfigMissing { path, explicit: false } => format!(
                "The config file {path} does not exist. Run `cpa-tray start` to create it from the built-in template."
            ),
            ConfigDiffersFromRunning { pid, running, given } => format!(
                "The running server (pid {pid}) uses {running}, not {given}. Pass --config {running}, or stop it first with `cpa-tray stop`."
            ),
            StoredKeyUnusable { path, problem } => {
                use crate::password::StoredKeyProblem as P;
                let why = match problem {
                    P::TrailingNewline => "ends with a line break (a `|` block scalar keeps it), which no request can send".to_string(),
                    P::FakeHash => "starts like a bcrypt hash ($2a$, $2b$ or $2y$) but is not one, so the server never hashes it and no password matches".to_string(),
                    P::SurroundingSpace => "starts or ends with a space, which requests lose on the way in".to_string(),
                    P::TooLong { bytes } => format!("is longer than 72 bytes ({bytes}), which bcrypt cannot hash, so the server does not start"),
                };
                format!("The management key stored in {path} {why}. Run `cpa-tray password set` to replace it.")
            }
            ExampleApiKeys { path, keys } => format!(
                "{path} still lists upstream's example client API keys ({keys}). Recent CLIProxyAPI versions then run in safe mode and answer 403 on /v1. Replace them in api-keys with keys of your own."
            ),
            AlreadyRunning { pid, port } => format!(
                "Already running (pid {pid}, port {port}). Use `cpa-tray restart` to restart it."
            ),
            ConfigUnusable { detail } => {
                format!("Cannot use the config file: {detail}. Correct it, then run the command again.")
            }
            ConfigNotWritable { path, detail } => format!(
                "Cannot write the password to {path}: {detail}. Make the file writable, or copy it to a folder you own and pass --config FILE."
            ),
            ConfigCreateFailed { path, detail } => format!(
                "Failed to create {path}: {detail}. Choose a writable home folder with --home DIR."
            ),
            HomeUnusable { detail } => format!(
                "Cannot use the home folder: {detail}. Choose a writable folder with --home DIR or CPA_TRAY_HOME."
            ),
            PortNotSet { path } => format!(
                "{path} sets no port (or port 0), so the server would pick a random one. Add a line such as `port: 8317`."
            ),
            PortInvalid { path, port } => {
                format!("{path} sets port {port}, which is not a valid TCP port (1-65535).")
            }
            SettingsUnreadable { path, reason } => format!(
                "Ignoring {path}: {reason}. It is kept as a .corrupt copy when settings are next saved."
            ),
            SettingsWrongType { path, field } => {
                format!("Ignoring `{field}` in {path}: wrong type; the default is used.")
            }
            SettingsSaveFailed { detail } => format!("Failed to save settings: {detail}"),

            PasswordPrompt => "New management password: ".to_string(),
            PasswordConfirmPrompt => "Type the password again: ".to_string(),
            PasswordVerifyPrompt => "Management password: ".to_string(),
            PasswordRules => "The management password protects the WebUI and the management API. It needs 8 to 72 printable ASCII characters (letters, digits, punctuation, inner spaces).".to_string(),
            PasswordTooShort { bytes } => format!(
                "The password is too short ({bytes} character{}): use at least 8.",
                if *bytes == 1 { "" } else { "s" }
            ),
            PasswordTooLong { bytes } => format!(
                "The password is too long ({bytes} bytes): bcrypt uses at most 72 bytes, and the server refuses to start with a longer key."
            ),
            PasswordNotPrintableAscii => "The password contains characters other than printable ASCII: browsers cannot send them in the header the WebUI uses, so you could not log in.".to_string(),
            PasswordSurroundingSpace => "The password starts or ends with a space: HTTP strips spaces around header values, so such a key could never match.".to_string(),
            PasswordLooksLikeHash => "The password starts with $2a$, $2b$ or $2y$: the server would take it for a bcrypt hash and never accept it.".to_string(),
            PasswordMismatch => "The two passwords differ.".to_string(),
            PasswordTryAgain => "Try again.".to_string(),
            PasswordAttemptsUsed { attempts } => {
                format!("All {attempts} attempts were invalid.")
            }
            PasswordNoTerminal => "There is no terminal to ask for the password. Pass --password-stdin and write the password to standard input.".to_string(),
            PasswordStdinFailed { detail } => format!("Failed to read the password from standard input: {detail}"),
            PasswordNotSetStartCancelled => "Password not set. Start cancelled.".to_string(),
            PasswordNotSetNothingChanged => "Password not set. Nothing was changed.".to_string(),
            PasswordSaved { path } => format!(
                "Password saved to {path} as a bcrypt hash (the password itself is not stored)."
            ),
            PasswordWriteFailed { detail } => format!("Failed to write the password: {detail}"),
            PasswordRestartHint => "The running server reloads the config file when it changes, so the new password is active within a second; use it from now on. For a full restart and a check of the new password, run `cpa-tray password set --restart`.".to_string(),
            PasswordNotRunningNoRestart => "The server is not running; it uses the new password at its next start.".to_string(),
            PasswordActive => "Password active".to_string(),
            PasswordRejected { config, env_password } => {
                let mut text = format!(
                    "The server rejected the new password (401). It may be running with another config file than {config}"
                );
                if *env_password {
                    text.push_str(", or MANAGEMENT_PASSWORD is set in its environment");
                }
                text.push_str(". Check with `cpa-tray status`. The password was not retried.");
                text
            }
            ManagementBanned => "The server refuses management requests from this address (403) after too many failed attempts. Restarting the server clears the ban; the password was not retried.".to_string(),
            ManagementForbidden { body } => format!("The server refused the management request (403): {body}"),
            ManagementNotLocal => "The server treated the check as a request from another computer (403 remote management disabled), so the password was not checked. It allows management from this computer only, unless `cpa-tray remote enable` is run; check that no proxy or port forward sits between cpa-tray and the server.".to_string(),
            ManagementKeyNotLoaded { config } => format!(
                "The server has no management key (403 remote management key not set): it does not use {config}, or has not loaded it. Check the config path with `cpa-tray status`, then run `cpa-tray restart`."
            ),
            ManagementDisabled => "The server answered 404 for the management API: it did not load a management key. Check that it runs with the config file shown by `cpa-tray status`.".to_string(),
            PasswordCheckFailed { detail } => format!("Failed to check the new password: {detail}"),
            PasswordCheckSkippedTls => "The server uses TLS; the password was not checked with a request.".to_string(),
            PasswordMatches { path } => format!("The password matches the key in {path}."),
            PasswordDoesNotMatch { path } => format!("The password does not match the key in {path}."),
            PasswordNotConfigured { path } => format!(
                "No management password is set in {path}. Set one with `cpa-tray password set`."
            ),
            EnvPasswordKept => "MANAGEMENT_PASSWORD is passed to the server: it is a second management key, and it forces remote management on.".to_string(),
            EnvPasswordRemoved => "MANAGEMENT_PASSWORD is set here but not passed to the server, because it would add a second management key and force remote management on. Set CPA_TRAY_KEEP_MANAGEMENT_PASSWORD=1 to pass it.".to_string(),

            StoppedPrevious { pid } => format!("Stopped the previous server (pid {pid})."),
            StoppedPreviousForced { pid, seconds } => format!(
                "Stopped the previous server (pid {pid}); it ignored the request to shut down for {seconds} s and was killed."
            ),
            StartedServer { pid, port, engine, version, millis } => format!(
                "Started CLIProxyAPI ({}, pid {pid}) on port {port}; ready after {millis} ms.",
                engine_label(engine, version, Lang::En)
            ),
            StartedNotReady { port, log } => format!(
                "Started, but port not ready yet: nothing answered on port {port} within the wait. The server keeps starting; see {log} and `cpa-tray status`."
            ),
            WebUiAt { url } => format!("WebUI:          {url}"),
            ManagementApiAt { url } => format!("Management API: {url}"),
            OpenWebUiFailed { detail } => format!("Failed to open the WebUI in a browser: {detail}"),
            PortInUse { port, config } => format!(
                "Port {port} is already in use by another program. {}",
                port_next_step_en(*config)
            ),
            PortInUseBy { port, pid, name, config } => format!(
                "Port {port} is already in use by {name} (pid {pid}). {}",
                port_next_step_en(*config)
            ),
            PortUnavailable { port, reason } => format!(
                "Port {port} cannot be used ({reason}). Choose another port in the config file."
            ),
            SpawnFailed { program, detail } => format!("Start failed: cannot run {program}: {detail}"),
            EngineNotFound { path, origin } => format!(
                "Start failed: the server program {path} does not exist. Check {origin}."
            ),
            ExitedEarly { status, log } => format!(
                "The server exited during start-up ({status}). Last lines of {log}:"
            ),
            BadConfigLine { line } => format!("The server could not load its config: {line}"),
            StartFailed { detail } => format!("Start failed: {detail}"),
            ForegroundWaiting => "Running in the foreground; press Ctrl+C to stop the server.".to_string(),
            ServerExited { status, log } => format!("The server exited ({status}). Last lines of {log}:"),
            ServerExitedNoOutput { status, log } => {
                format!("The server exited ({status}) and wrote nothing more to {log}.")
            }
            ExitedEarlyNoOutput { status, log } => format!(
                "The server exited during start-up ({status}) and wrote nothing to {log}. Check that the engine is a CLIProxyAPI-compatible server."
            ),
            AutoRestarting { seconds, attempt } => {
                format!("Restarting the server in {seconds} s (attempt {attempt}).")
            }
            AutoRestartGaveUp { attempts } => format!(
                "The server kept exiting; gave up after {attempts} restarts."
            ),

            Stopped { pid } => format!("Stopped (pid {pid})."),
            StoppedForced { pid, seconds: 0 } => format!(
                "Stopped (pid {pid}); it was killed at once, as `--timeout 0` asks."
            ),
            StoppedForced { pid, seconds } => format!(
                "Stopped (pid {pid}); it ignored the request to shut down for {seconds} s and was killed."
            ),
            StoppedKilled { pid } => format!(
                "Stopped (pid {pid}); the request to shut down could not be delivered, so it was killed."
            ),
            NotRunning => "Not running: no server started by cpa-tray is recorded in this home folder.".to_string(),
            StaleRecordRemoved { pid } => format!(
                "Not running: the recorded server (pid {pid}) had already exited."
            ),
            PidReusedLeftAlone { pid } => format!(
                "Not running: pid {pid} now belongs to another program, which was left alone."
            ),
            StopFailed { detail } => format!("Failed to stop the server: {detail}"),
            RecordUnreadable { detail } => format!("Failed to read the server record: {detail}"),

            StatusRunning { pid, port, engine, version } => format!(
                "Running: pid {pid}, port {port}, {}",
                engine_label(engine, version, Lang::En)
            ),
            StatusNotServing => "The server does not answer HTTP yet.".to_string(),
            StatusNotRunning => "Not running".to_string(),
            StatusExited { pid } => format!(
                "The server this tray started (pid {pid}) has exited. See why with `cpa-tray logs`, then run `cpa-tray start`."
            ),
            EngineUnknown { value } => format!(
                "Unknown engine `{value}`: use builtin, cliproxyapi or official (the installed CLIProxyAPI release), or the path of a CLIProxyAPI-compatible program file."
            ),
            NoReleaseInstalled { path } => format!(
                "No CLIProxyAPI release is installed in {path}. Run `cpa-tray install` (or start with --engine official to download one), or use --engine builtin."
            ),
            StatusHome { path } => format!("Home:    {path}"),
            StatusConfig { path } => format!("Config:  {path}"),
            StatusLog { path } => format!("Log:     {path}"),
            StatusApiKey { key } => format!("API key: {key}"),
            StatusNoApiKey => "API key: none in the config file".to_string(),

            RemoteEnabled { path } => format!("Remote management enabled in {path}."),
            RemoteDisabled { path } => format!("Remote management disabled in {path}."),
            RemoteLocalHostOnly { host, path } => format!(
                "The server listens on {host}, so other computers still cannot reach it. To allow them, set `host` in {path} to this computer's address or \"\" (every interface), behind TLS or a reverse proxy, and run `cpa-tray restart`."
            ),
            RemoteNeedsLongKey => "Remote management needs a password of at least 12 characters. Set one with `cpa-tray password set` first.".to_string(),
            RemoteWarning { port } => format!(
                "Other computers can now reach the management API if port {port} is open to them. Use TLS or a reverse proxy. A running server reloads the file, no restart needed."
            ),

            NotListening { port } => format!(
                "Not running (port {port} not listening). Start the server with `cpa-tray start`."
            ),
            Opened { target } => format!("Opened {target}"),
            OpenFailed { target, detail } => format!("Failed to open {target}: {detail}"),
            NoDisplay { target } => {
                format!("No graphical session to open it in; open it yourself: {target}")
            }
            LogMissing { path } => format!("No server log yet: {path} does not exist."),
            LogReadFailed { path, detail } => format!("Failed to read {path}: {detail}"),
            WaitingForLock { pid: Some(pid) } => {
                format!("Waiting for another cpa-tray command (pid {pid}) to finish…")
            }
            WaitingForLock { pid: None } => {
                "Waiting for another cpa-tray command to finish…".to_string()
            }
            LockFailed { detail } => format!(
                "Failed to lock the home folder: {detail}. Another cpa-tray command may be stuck; check it or remove the lock file."
            ),
            InvalidLanguage { value } => {
                format!("Unknown language `{value}`: use en or zh-CN.")
            }
            ReleaseFailed { detail } => format!("error: {detail}"),
            ReleaseCausedBy { detail } => format!("  Caused by: {detail}"),
            ReleaseHint { hint } => format!("hint: {hint}"),
            ReleaseAlreadyLatest { tag } => format!("Already latest: {tag}"),
            ReleaseUpdateAvailable { installed, latest } => format!(
                "Update available: {installed} -> {latest}. Run `cpa-tray update` to install it."
            ),
            ReleaseNotInstalled { latest } => format!(
                "Latest CLIProxyAPI release: {latest}; none is installed. Run `cpa-tray install` to install it."
            ),
            ReleaseActiveIsNewer { active, latest } => format!(
                "The active version {active} is newer than the latest release {latest}; nothing to update."
            ),
            ReleaseConfirm {
                tag,
                asset,
                megabytes,
            } => format!("Install CLIProxyAPI {tag} ({asset}, {megabytes} MB)? [y/N] "),
            ReleaseNeedsYes => {
                "Not asking on a non-interactive input: pass --yes to install without asking.".to_string()
            }
            ReleaseUpdateCancelled => "Update cancelled".to_string(),
            ReleaseDownloadProgress {
                asset,
                percent,
                received,
                total,
            } => format!("Downloading {asset}: {percent:>3}% ({received} / {total} MB)"),
            ReleaseInstalled { tag, dir } => format!("Installed CLIProxyAPI {tag} in {dir}."),
            ReleaseVerifiedChecksums { sha256 } => {
                format!("Verified: SHA-256 {sha256} matches checksums.txt.")
            }
            ReleaseVerifiedDigest { sha256 } => {
                format!("Verified: SHA-256 {sha256} matches GitHub's digest of the asset.")
            }
            ReleaseUnverified { sha256 } => format!(
                "Not verified: no checksum was published (SHA-256 of the archive: {sha256})."
            ),
            ReleaseAlreadyInstalled { tag } => {
                format!("CLIProxyAPI {tag} is already installed; nothing was downloaded.")
            }
            ReleaseRecorded { tag, path } => format!("Active version: {tag} (recorded in {path})."),
            ReleaseRestarting { tag } => format!("Restarting the server on CLIProxyAPI {tag}..."),
            ReleaseNotRestarted {
                engine,
                version,
                tag,
            } => format!(
                "The running server ({engine} {version}) was left as it is. Run `cpa-tray restart --engine official` to run {tag}."
            ),
            ReleaseRolledBack { tag, previous, log } => format!(
                "CLIProxyAPI {tag} did not become ready, so the server was switched back to {previous}, which is running again. Settings are unchanged; {tag} stays installed. See {log}."
            ),
            ReleaseRollbackFailed {
                tag,
                previous,
                detail,
            } => format!(
                "CLIProxyAPI {tag} did not become ready, and restarting {previous} failed: {detail}. Settings are unchanged; run `cpa-tray start` to try again."
            ),
            VersionsEmpty { path } => format!(
                "No CLIProxyAPI version is installed in {path}. Run `cpa-tray install` to install the latest."
            ),
            VersionsEntry { tag, active } => {
                if *active {
                    format!("* {tag} (active)")
                } else {
                    format!("  {tag}")
                }
            }
            VersionsPruned { tag } => format!("Removed {tag}."),
            VersionsPruneNothing { keep } => {
                format!("Nothing to remove: {keep} or fewer versions besides the active one.")
            }

            // Releases: first-start engine choice, PATH binaries, cancelled downloads.
            EngineChoicePrompt {
                tag,
                platform,
                megabytes,
                on_path,
            } => {
                let mut choices = Vec::new();
                if let Some(tag) = tag {
                    choices.push(format!(
                        "[d]ownload CLIProxyAPI {tag} for {platform} ({megabytes} MB)"
                    ));
                }
                choices.push("[b]uilt-in engine".to_string());
                if let Some(path) = on_path {
                    choices.push(format!("[p] use {path} (found on PATH)"));
                }
                choices.push("[c]ancel".to_string());
                format!("Choose the server program: {}: ", choices.join(", "))
            }
            EngineChoiceInvalid { keys } => format!("Type one of {keys}."),
            EngineChoiceNoDownload { detail } => {
                format!("No CLIProxyAPI download to offer: {detail}")
            }
            EngineBuiltinNotice => "Using the built-in engine. To run the official CLIProxyAPI later, run `cpa-tray install`, then `cpa-tray restart --engine official`.".to_string(),
            EngineChoiceRecorded { value, path } => format!(
                "Engine `{value}` recorded in {path}; change the `engine` setting there to choose again."
            ),
            EngineChoiceCancelled => "Start cancelled: no server program was chosen.".to_string(),
            EngineOfficialInstalling => {
                "No CLIProxyAPI release is installed yet; installing the latest one.".to_string()
            }
            VersionsOnPath { path } => {
                format!("  {path} (found on PATH; run it with --engine {path})")
            }
            ReleaseCancelling => {
                "Cancelling the download... (press Ctrl+C again to quit at once)".to_string()
            }

            // Service control: home folder, status and interrupts.
            HomeIsFile { path } => format!(
                "The home folder {path} is a file, not a folder. Remove or rename that file, or choose another folder with --home DIR or CPA_TRAY_HOME."
            ),
            StatusExitedUnexpectedly { pid, log } => format!(
                "The server this tray started (pid {pid}) exited unexpectedly: it was not stopped with `cpa-tray stop`. The last lines of {log} follow; run `cpa-tray start` to start it again."
            ),
            StatusPortServedBy { port, pid, name, config } => format!(
                "Port {port} is served by another process, {name} (pid {pid}), which cpa-tray did not start and does not control. Stop that program, or change `port` in {config}."
            ),
            StatusPortServed { port, config } => format!(
                "Port {port} is served by another process, which cpa-tray did not start and does not control. Stop that program, or change `port` in {config}."
            ),
            StatusExitedGroupRunning { pid } => format!(
                "Processes that it started still run in its process group (pid {pid}), for example the server under a wrapper script. Run `cpa-tray stop` to end them."
            ),
            SafeModeActive { path, keys } => format!(
                "The server runs in safe mode: its proxy API answers 403 because api-keys in {path} still lists upstream's example keys ({keys}). Replace them with keys of your own; the server picks up the change without a restart."
            ),
            SafeModeWithoutExampleKeys { path } => format!(
                "The server still runs in safe mode, although api-keys in {path} lists no example key. It may not have reloaded the file: check `cpa-tray logs`, or run `cpa-tray restart`."
            ),
            WebUiPageMissing { page } => format!(
                "The WebUI page is missing: the server answers 404 on /management.html because {page} does not exist and could not be downloaded. The management API still works. Check the network and proxy-url in the config, or put management.html at that path."
            ),
            WebUiDisabled { path } => format!(
                "The WebUI page is switched off: {path} sets remote-management.disable-control-panel to true."
            ),
            StatusNotResponding { pid, port } => format!(
                "The server (pid {pid}) is running but not responding on port {port}. Run `cpa-tray restart` to replace it, or `cpa-tray stop` to end it."
            ),
            StatusSuspended { pid } => format!(
                "The server (pid {pid}) is suspended (stopped by a signal such as SIGSTOP). Resume it with `kill -CONT {pid}`, or run `cpa-tray restart`."
            ),
            PromptCancelled => "Cancelled. Nothing was changed.".to_string(),
            LogRotationFailed { detail } => format!(
                "Failed to rotate the server log: {detail}. The log keeps growing; check free space and permissions in the logs folder."
            ),
            // Stops of suspended servers, pending restarts, races with other commands.
            StoppedWhileSuspended { pid } => format!(
                "Stopped (pid {pid}). It was suspended, so it was resumed to shut down."
            ),
            PendingRestartCancelled { supervisor } => format!(
                "No server is running. Cancelled the restart that cpa-tray (pid {supervisor}, the tray or `start --foreground`) was waiting to do."
            ),
            ForegroundRestartCancelled => {
                "Restart cancelled by `cpa-tray stop`. Nothing is running.".to_string()
            }
            StatusRestartPending { supervisor, seconds } => format!(
                "Restart pending: cpa-tray (pid {supervisor}, the tray or `start --foreground`) starts the server again in {seconds} s. Run `cpa-tray stop` to cancel it."
            ),
            PasswordSetMeanwhile { path } => format!(
                "Another command set the management key in {path} while you typed. Your password was not saved and the server was not started. Run `cpa-tray start` again to use the key now stored, or `cpa-tray password set` to replace it."
            ),
            StartedNotReadyStillRunning { pid } => format!(
                "The server (pid {pid}) keeps running and is recorded. Check it with `cpa-tray status` and `cpa-tray logs`, or end it with `cpa-tray stop`."
            ),
            DownloadCancelled => "Download cancelled".to_string(),
            ForegroundRestartInterrupted => {
                "Restart cancelled by Ctrl+C. Nothing is running.".to_string()
            }
            ReleaseOlderActivated { tag, previous } => format!(
                "{tag} is older than the active {previous} and becomes the active version. Run `cpa-tray versions use {previous}` to switch back."
            ),
            StatusExitedNoLog { pid, log } => format!(
                "The server this tray started (pid {pid}) exited unexpectedly: it was not stopped with `cpa-tray stop`. {log} is empty. Run `cpa-tray start` to start it again."
            ),
            EngineIsFolder { path, origin } => format!(
                "Start failed: {path}, given with {origin}, is a folder, not a program. Name the server program file itself, for example {path}/cli-proxy-api."
            ),
            ConfigUnreadable { path, detail } => format!(
                "Failed to read {path}: {detail}. Give your user read permission on the file, or pass --config with a copy you can read."
            ),
            PasswordTooShortForRemote { path, min } => format!(
                "Remote management is on in {path}, and it needs a password of at least {min} characters. Nothing was changed. Choose a longer password, or run `cpa-tray remote disable` first."
            ),

            // Service: restarts, status and prompts.
            RelaunchProgramMissing { program, pid } => format!(
                "Restart failed: the server program {program} does not exist, is not a file or cannot be run. The running server (pid {pid}) was left running. Name the program with `cpa-tray restart --engine PATH`, or run `cpa-tray install` to install the official release."
            ),
            RelaunchProgramUnrecorded { exe, pid } => format!(
                "Restart failed: the server (pid {pid}) was started by an earlier cpa-tray, which recorded only the running executable {exe}. For a wrapper script that is the interpreter, not your program, so it is not run again. The server was left running. Run `cpa-tray stop`, then `cpa-tray start --engine PATH`."
            ),
            StatusConfigMissing { path, explicit: false, port } => format!(
                "The config file {path} does not exist. `cpa-tray start` creates it from the built-in template (port {port}) and asks for a management password."
            ),
            StatusConfigMissing { path, explicit: true, .. } => format!(
                "The config file {path} given with --config does not exist, so `cpa-tray start` with it would fail. Check the path, or leave out --config: `cpa-tray start` then creates the home folder's config.yaml from the built-in template."
            ),
            // Settings values.
            SettingsUnknownValue {
                path,
                field,
                value,
                accepted,
            } => format!(
                "Ignoring `{field}` in {path}: unknown value {value:?}; the accepted values are {accepted}, and the default is used."
            ),
        }
    }

    fn chinese(&self) -> String {
        use Msg::*;
        match self {
            ConfigCreated { path } => format!("已根据内置模板创建 {path}。"),
            ConfigMissing { path, explicit: true } => format!(
                "用 --config 指定的配置文件 {path} 不存在，未创建任何文件。请检查路径，或去掉 --config 以使用主文件夹中的 config.yaml。"
            ),
            ConfigMissing { path, explicit: false } => format!(
                "配置文件 {path} 不存在。请运行 `cpa-tray start`，根据内置模板创建它。"
            ),
            ConfigDiffersFromRunning { pid, running, given } => format!(
                "正在运行的服务（pid {pid}）使用 {running}，而不是 {given}。请使用 --config {running}，或先运行 `cpa-tray stop` 停止它。"
            ),
            StoredKeyUnusable { path, problem } => {
                use crate::password::StoredKeyProblem as P;
                let why = match problem {
                    P::TrailingNewline => "以换行结尾（`|` 块标量会保留换行），任何请求都无法发送这样的值".to_string(),
                    P::FakeHash => "以 bcrypt 哈希的前缀（$2a$、$2b$ 或 $2y$）开头却不是哈希，服务不会对它做哈希，任何密码都无法匹配".to_string(),
                    P::SurroundingSpace => "以空格开头或结尾，请求中的空格会被去掉".to_string(),
                    P::TooLong { bytes } => format!("超过 72 字节（{bytes} 字节），bcrypt 无法对它做哈希，服务因此无法启动"),
                };
                format!("{path} 中保存的管理密钥{why}。请运行 `cpa-tray password set` 替换它。")
            }
            ExampleApiKeys { path, keys } => format!(
                "{path} 中仍有上游的示例客户端 API 密钥（{keys}）。较新的 CLIProxyAPI 会因此进入安全模式，对 /v1 返回 403。请在 api-keys 中把它们换成你自己的密钥。"
            ),
            AlreadyRunning { pid, port } => format!(
                "已在运行（pid {pid}，端口 {port}）。如需重启，请运行 `cpa-tray restart`。"
            ),
            ConfigUnusable { detail } => format!("无法使用配置文件：{detail}。请更正后重新运行该命令。"),
            ConfigNotWritable { path, detail } => format!(
                "无法把密码写入 {path}：{detail}。请让该文件可写，或把它复制到你有权限的文件夹并使用 --config FILE。"
            ),
            ConfigCreateFailed { path, detail } => {
                format!("无法创建 {path}：{detail}。请用 --home DIR 指定一个可写的主文件夹。")
            }
            HomeUnusable { detail } => format!(
                "无法使用主文件夹：{detail}。请用 --home DIR 或 CPA_TRAY_HOME 指定一个可写的文件夹。"
            ),
            PortNotSet { path } => format!(
                "{path} 没有设置端口（或端口为 0），服务会随机选择端口。请添加一行，例如 `port: 8317`。"
            ),
            PortInvalid { path, port } => {
                format!("{path} 中的端口 {port} 不是有效的 TCP 端口（1-65535）。")
            }
            SettingsUnreadable { path, reason } => format!(
                "已忽略 {path}：{reason}。下次保存设置时会将其保留为 .corrupt 副本。"
            ),
            SettingsWrongType { path, field } => {
                format!("已忽略 {path} 中的 `{field}`：类型错误，改用默认值。")
            }
            SettingsSaveFailed { detail } => format!("保存设置失败：{detail}"),

            PasswordPrompt => "新的管理密码：".to_string(),
            PasswordConfirmPrompt => "再次输入密码：".to_string(),
            PasswordVerifyPrompt => "管理密码：".to_string(),
            PasswordRules => "管理密码用于保护 WebUI 和管理 API，需要 8 到 72 个可打印 ASCII 字符（字母、数字、标点，中间可有空格）。".to_string(),
            PasswordTooShort { bytes } => format!("密码太短（{bytes} 个字符）：至少需要 8 个。"),
            PasswordTooLong { bytes } => format!(
                "密码太长（{bytes} 字节）：bcrypt 最多使用 72 字节，密钥更长时服务无法启动。"
            ),
            PasswordNotPrintableAscii => "密码包含可打印 ASCII 以外的字符：浏览器无法在 WebUI 使用的请求头中发送这些字符，你将无法登录。".to_string(),
            PasswordSurroundingSpace => "密码以空格开头或结尾：HTTP 会去掉请求头值两端的空格，这样的密钥永远无法匹配。".to_string(),
            PasswordLooksLikeHash => "密码以 $2a$、$2b$ 或 $2y$ 开头：服务会把它当作 bcrypt 哈希，永远不会接受它。".to_string(),
            PasswordMismatch => "两次输入的密码不一致。".to_string(),
            PasswordTryAgain => "请重试。".to_string(),
            PasswordAttemptsUsed { attempts } => format!("{attempts} 次输入均无效。"),
            PasswordNoTerminal => "没有可用于输入密码的终端。请使用 --password-stdin 并通过标准输入提供密码。".to_string(),
            PasswordStdinFailed { detail } => format!("从标准输入读取密码失败：{detail}"),
            PasswordNotSetStartCancelled => "未设置密码，已取消启动。".to_string(),
            PasswordNotSetNothingChanged => "未设置密码，未做任何更改。".to_string(),
            PasswordSaved { path } => format!("密码已以 bcrypt 哈希形式保存到 {path}（不保存密码本身）。"),
            PasswordWriteFailed { detail } => format!("写入密码失败：{detail}"),
            PasswordRestartHint => "正在运行的服务会在配置文件变化时重新加载，新密码在一秒内生效，从现在起请使用新密码。如需完整重启并检查新密码，请运行 `cpa-tray password set --restart`。".to_string(),
            PasswordNotRunningNoRestart => "服务未在运行；下次启动时将使用新密码。".to_string(),
            PasswordActive => "密码已生效".to_string(),
            PasswordRejected { config, env_password } => {
                let mut text = format!(
                    "服务拒绝了新密码（401）。它可能使用的是 {config} 以外的配置文件"
                );
                if *env_password {
                    text.push_str("，或其环境中设置了 MANAGEMENT_PASSWORD");
                }
                text.push_str("。请用 `cpa-tray status` 检查。未重试该密码。");
                text
            }
            ManagementBanned => "由于失败次数过多，服务拒绝来自本地址的管理请求（403）。重启服务即可解除封禁；未重试该密码。".to_string(),
            ManagementForbidden { body } => format!("服务拒绝了管理请求（403）：{body}"),
            ManagementNotLocal => "服务把这次检查当作来自其他计算机的请求（403 remote management disabled），因此没有检查密码。除非运行 `cpa-tray remote enable`，服务只允许本机管理；请确认 cpa-tray 与服务之间没有代理或端口转发。".to_string(),
            ManagementKeyNotLoaded { config } => format!(
                "服务没有管理密钥（403 remote management key not set）：它没有使用 {config}，或尚未加载它。请用 `cpa-tray status` 查看配置路径，然后运行 `cpa-tray restart`。"
            ),
            ManagementDisabled => "服务对管理 API 返回 404：它没有加载管理密钥。请确认它使用的是 `cpa-tray status` 显示的配置文件。".to_string(),
            PasswordCheckFailed { detail } => format!("检查新密码失败：{detail}"),
            PasswordCheckSkippedTls => "服务使用 TLS；未通过请求检查密码。".to_string(),
            PasswordMatches { path } => format!("密码与 {path} 中的密钥匹配。"),
            PasswordDoesNotMatch { path } => format!("密码与 {path} 中的密钥不匹配。"),
            PasswordNotConfigured { path } => {
                format!("{path} 中没有设置管理密码。请用 `cpa-tray password set` 设置。")
            }
            EnvPasswordKept => "MANAGEMENT_PASSWORD 会传给服务：它是第二个管理密钥，并会强制开启远程管理。".to_string(),
            EnvPasswordRemoved => "此处设置了 MANAGEMENT_PASSWORD，但不会传给服务，因为它会增加第二个管理密钥并强制开启远程管理。如需传递，请设置 CPA_TRAY_KEEP_MANAGEMENT_PASSWORD=1。".to_string(),

            StoppedPrevious { pid } => format!("已停止之前的服务（pid {pid}）。"),
            StoppedPreviousForced { pid, seconds } => format!(
                "已停止之前的服务（pid {pid}）；它在 {seconds} 秒内未响应关闭请求，已被强制结束。"
            ),
            StartedServer { pid, port, engine, version, millis } => format!(
                "已启动 CLIProxyAPI（{}，pid {pid}），端口 {port}；{millis} 毫秒后就绪。",
                engine_label(engine, version, Lang::ZhCn)
            ),
            StartedNotReady { port, log } => format!(
                "已启动，但端口尚未就绪：端口 {port} 在等待时间内没有响应。服务仍在启动中；请查看 {log} 和 `cpa-tray status`。"
            ),
            WebUiAt { url } => format!("WebUI：   {url}"),
            ManagementApiAt { url } => format!("管理 API：{url}"),
            OpenWebUiFailed { detail } => format!("无法在浏览器中打开 WebUI：{detail}"),
            PortInUse { port, config } => {
                format!("端口 {port} 已被其他程序占用。{}", port_next_step_zh(*config))
            }
            PortInUseBy { port, pid, name, config } => format!(
                "端口 {port} 已被 {name}（pid {pid}）占用。{}",
                port_next_step_zh(*config)
            ),
            PortUnavailable { port, reason } => {
                format!("无法使用端口 {port}（{reason}）。请在配置文件中换一个端口。")
            }
            SpawnFailed { program, detail } => format!("启动失败：无法运行 {program}：{detail}"),
            EngineNotFound { path, origin } => format!(
                "启动失败：服务程序 {path} 不存在。请检查 {origin}。"
            ),
            ExitedEarly { status, log } => format!("服务在启动过程中退出（{status}）。{log} 的最后几行："),
            BadConfigLine { line } => format!("服务无法加载配置：{line}"),
            StartFailed { detail } => format!("启动失败：{detail}"),
            ForegroundWaiting => "正在前台运行；按 Ctrl+C 停止服务。".to_string(),
            ServerExited { status, log } => format!("服务已退出（{status}）。{log} 的最后几行："),
            ServerExitedNoOutput { status, log } => {
                format!("服务已退出（{status}），之后没有再向 {log} 写入内容。")
            }
            ExitedEarlyNoOutput { status, log } => format!(
                "服务在启动过程中退出（{status}），没有向 {log} 写入任何内容。请确认该引擎是与 CLIProxyAPI 兼容的服务。"
            ),
            AutoRestarting { seconds, attempt } => {
                format!("将在 {seconds} 秒后重启服务（第 {attempt} 次）。")
            }
            AutoRestartGaveUp { attempts } => format!("服务反复退出；重启 {attempts} 次后放弃。"),

            Stopped { pid } => format!("已停止（pid {pid}）。"),
            StoppedForced { pid, seconds: 0 } => {
                format!("已停止（pid {pid}）；按 `--timeout 0` 的要求，已立即强制结束。")
            }
            StoppedForced { pid, seconds } => {
                format!("已停止（pid {pid}）；它在 {seconds} 秒内未响应关闭请求，已被强制结束。")
            }
            StoppedKilled { pid } => {
                format!("已停止（pid {pid}）；无法发送关闭请求，已被强制结束。")
            }
            NotRunning => "未在运行：此主文件夹中没有 cpa-tray 启动的服务记录。".to_string(),
            StaleRecordRemoved { pid } => format!("未在运行：记录的服务（pid {pid}）已经退出。"),
            PidReusedLeftAlone { pid } => {
                format!("未在运行：pid {pid} 现在属于另一个程序，未对其做任何操作。")
            }
            StopFailed { detail } => format!("停止服务失败：{detail}"),
            RecordUnreadable { detail } => format!("读取服务记录失败：{detail}"),

            StatusRunning { pid, port, engine, version } => format!(
                "运行中：pid {pid}，端口 {port}，{}",
                engine_label(engine, version, Lang::ZhCn)
            ),
            StatusNotServing => "服务尚未响应 HTTP 请求。".to_string(),
            StatusNotRunning => "未在运行".to_string(),
            StatusExited { pid } => format!(
                "此托盘启动的服务（pid {pid}）已退出。请用 `cpa-tray logs` 查看原因，然后运行 `cpa-tray start`。"
            ),
            EngineUnknown { value } => format!(
                "未知的引擎 `{value}`：请使用 builtin、cliproxyapi 或 official（已安装的 CLIProxyAPI 版本），或与 CLIProxyAPI 兼容的程序文件路径。"
            ),
            NoReleaseInstalled { path } => format!(
                "{path} 中没有安装 CLIProxyAPI 版本。请运行 `cpa-tray install`（或用 --engine official 启动以下载），或使用 --engine builtin。"
            ),
            StatusHome { path } => format!("主文件夹：{path}"),
            StatusConfig { path } => format!("配置文件：{path}"),
            StatusLog { path } => format!("日志：    {path}"),
            StatusApiKey { key } => format!("API 密钥：{key}"),
            StatusNoApiKey => "API 密钥：配置文件中没有".to_string(),

            RemoteEnabled { path } => format!("已在 {path} 中启用远程管理。"),
            RemoteDisabled { path } => format!("已在 {path} 中禁用远程管理。"),
            RemoteLocalHostOnly { host, path } => format!(
                "服务只监听 {host}，其他计算机仍无法访问。如需允许访问，请把 {path} 中的 `host` 设为本机地址或 \"\"（所有网卡），配合 TLS 或反向代理，然后运行 `cpa-tray restart`。"
            ),
            RemoteNeedsLongKey => "远程管理需要至少 12 个字符的密码。请先用 `cpa-tray password set` 设置。".to_string(),
            RemoteWarning { port } => format!(
                "如果端口 {port} 对其他计算机开放，它们现在可以访问管理 API。请使用 TLS 或反向代理。正在运行的服务会重新加载该文件，无需重启。"
            ),

            NotListening { port } => {
                format!("未在运行（端口 {port} 未监听）。请用 `cpa-tray start` 启动服务。")
            }
            Opened { target } => format!("已打开 {target}"),
            OpenFailed { target, detail } => format!("无法打开 {target}：{detail}"),
            NoDisplay { target } => format!("没有图形界面可用于打开；请自行打开：{target}"),
            LogMissing { path } => format!("还没有服务日志：{path} 不存在。"),
            LogReadFailed { path, detail } => format!("读取 {path} 失败：{detail}"),
            WaitingForLock { pid: Some(pid) } => {
                format!("正在等待另一个 cpa-tray 命令（pid {pid}）完成…")
            }
            WaitingForLock { pid: None } => "正在等待另一个 cpa-tray 命令完成…".to_string(),
            LockFailed { detail } => format!(
                "无法锁定主文件夹：{detail}。可能有另一个 cpa-tray 命令卡住了；请检查它或删除锁文件。"
            ),
            InvalidLanguage { value } => format!("未知语言 `{value}`：请使用 en 或 zh-CN。"),
            ReleaseFailed { detail } => format!("错误：{detail}"),
            ReleaseCausedBy { detail } => format!("  原因：{detail}"),
            ReleaseHint { hint } => format!("提示：{hint}"),
            ReleaseAlreadyLatest { tag } => format!("已是最新版本：{tag}"),
            ReleaseUpdateAvailable { installed, latest } => {
                format!("有可用更新：{installed} -> {latest}。运行 `cpa-tray update` 进行安装。")
            }
            ReleaseNotInstalled { latest } => format!(
                "CLIProxyAPI 最新版本：{latest}；尚未安装任何版本。运行 `cpa-tray install` 进行安装。"
            ),
            ReleaseActiveIsNewer { active, latest } => {
                format!("当前版本 {active} 比最新发布版本 {latest} 更新；无需更新。")
            }
            ReleaseConfirm {
                tag,
                asset,
                megabytes,
            } => format!("安装 CLIProxyAPI {tag}（{asset}，{megabytes} MB）？[y/N] "),
            ReleaseNeedsYes => "输入不是终端，无法询问：请加上 --yes 直接安装。".to_string(),
            ReleaseUpdateCancelled => "已取消更新".to_string(),
            ReleaseDownloadProgress {
                asset,
                percent,
                received,
                total,
            } => format!("正在下载 {asset}：{percent:>3}%（{received} / {total} MB）"),
            ReleaseInstalled { tag, dir } => format!("已将 CLIProxyAPI {tag} 安装到 {dir}。"),
            ReleaseVerifiedChecksums { sha256 } => {
                format!("已校验：SHA-256 {sha256} 与 checksums.txt 一致。")
            }
            ReleaseVerifiedDigest { sha256 } => {
                format!("已校验：SHA-256 {sha256} 与 GitHub 提供的摘要一致。")
            }
            ReleaseUnverified { sha256 } => {
                format!("未校验：发布中没有校验和（压缩包的 SHA-256：{sha256}）。")
            }
            ReleaseAlreadyInstalled { tag } => {
                format!("CLIProxyAPI {tag} 已安装；未下载任何内容。")
            }
            ReleaseRecorded { tag, path } => format!("当前版本：{tag}（记录在 {path}）。"),
            ReleaseRestarting { tag } => format!("正在用 CLIProxyAPI {tag} 重启服务……"),
            ReleaseNotRestarted {
                engine,
                version,
                tag,
            } => format!(
                "正在运行的服务（{engine} {version}）保持不变。运行 `cpa-tray restart --engine official` 以使用 {tag}。"
            ),
            ReleaseRolledBack { tag, previous, log } => format!(
                "CLIProxyAPI {tag} 未能就绪，服务已切换回 {previous} 并重新运行。设置未更改；{tag} 仍保留在已安装版本中。详见 {log}。"
            ),
            ReleaseRollbackFailed {
                tag,
                previous,
                detail,
            } => format!(
                "CLIProxyAPI {tag} 未能就绪，重新启动 {previous} 也失败了：{detail}。设置未更改；请运行 `cpa-tray start` 重试。"
            ),
            VersionsEmpty { path } => format!(
                "{path} 中没有已安装的 CLIProxyAPI 版本。运行 `cpa-tray install` 安装最新版本。"
            ),
            VersionsEntry { tag, active } => {
                if *active {
                    format!("* {tag}（当前）")
                } else {
                    format!("  {tag}")
                }
            }
            VersionsPruned { tag } => format!("已删除 {tag}。"),
            VersionsPruneNothing { keep } => {
                format!("无需删除：除当前版本外不超过 {keep} 个版本。")
            }

            // Releases: first-start engine choice, PATH binaries, cancelled downloads.
            EngineChoicePrompt {
                tag,
                platform,
                megabytes,
                on_path,
            } => {
                let mut choices = Vec::new();
                if let Some(tag) = tag {
                    choices.push(format!(
                        "[d] 下载 CLIProxyAPI {tag}（{platform}，{megabytes} MB）"
                    ));
                }
                choices.push("[b] 内置引擎".to_string());
                if let Some(path) = on_path {
                    choices.push(format!("[p] 使用 {path}（在 PATH 中找到）"));
                }
                choices.push("[c] 取消".to_string());
                format!("请选择服务程序：{}：", choices.join("，"))
            }
            EngineChoiceInvalid { keys } => format!("请输入 {keys} 之一。"),
            EngineChoiceNoDownload { detail } => format!("无法提供 CLIProxyAPI 下载：{detail}"),
            EngineBuiltinNotice => "正在使用内置引擎。以后如需运行官方 CLIProxyAPI，请运行 `cpa-tray install`，然后运行 `cpa-tray restart --engine official`。".to_string(),
            EngineChoiceRecorded { value, path } => format!(
                "已将引擎 `{value}` 记录在 {path}；如需重新选择，请修改其中的 `engine` 设置。"
            ),
            EngineChoiceCancelled => "已取消启动：没有选择服务程序。".to_string(),
            EngineOfficialInstalling => {
                "尚未安装 CLIProxyAPI 版本；正在安装最新版本。".to_string()
            }
            VersionsOnPath { path } => {
                format!("  {path}（在 PATH 中找到；用 --engine {path} 运行它）")
            }
            ReleaseCancelling => "正在取消下载……（再按一次 Ctrl+C 立即退出）".to_string(),

            // Service control: home folder, status and interrupts.
            HomeIsFile { path } => format!(
                "主文件夹 {path} 是一个文件，而不是文件夹。请删除或重命名该文件，或用 --home DIR 或 CPA_TRAY_HOME 指定其他文件夹。"
            ),
            StatusExitedUnexpectedly { pid, log } => format!(
                "此托盘启动的服务（pid {pid}）意外退出：它不是通过 `cpa-tray stop` 停止的。以下是 {log} 的最后几行；运行 `cpa-tray start` 可再次启动。"
            ),
            StatusPortServedBy { port, pid, name, config } => format!(
                "端口 {port} 由另一个进程 {name}（pid {pid}）提供服务，它不是 cpa-tray 启动的，cpa-tray 也无法控制它。请停止该程序，或修改 {config} 中的 `port`。"
            ),
            StatusPortServed { port, config } => format!(
                "端口 {port} 由另一个进程提供服务，它不是 cpa-tray 启动的，cpa-tray 也无法控制它。请停止该程序，或修改 {config} 中的 `port`。"
            ),
            StatusExitedGroupRunning { pid } => format!(
                "它启动的进程仍在其进程组（pid {pid}）中运行，例如包装脚本启动的服务。请运行 `cpa-tray stop` 结束它们。"
            ),
            SafeModeActive { path, keys } => format!(
                "服务正以安全模式运行：{path} 的 api-keys 中仍有上游的示例密钥（{keys}），所以代理 API 一律返回 403。请把它们换成你自己的密钥；服务会自动读取改动，无需重启。"
            ),
            SafeModeWithoutExampleKeys { path } => format!(
                "服务仍以安全模式运行，但 {path} 的 api-keys 中已没有示例密钥。服务可能没有重新加载该文件：请查看 `cpa-tray logs`，或运行 `cpa-tray restart`。"
            ),
            WebUiPageMissing { page } => format!(
                "WebUI 页面缺失：{page} 不存在，也无法下载，所以服务对 /management.html 返回 404。管理 API 仍可使用。请检查网络和配置中的 proxy-url，或把 management.html 放到该路径。"
            ),
            WebUiDisabled { path } => format!(
                "WebUI 页面已关闭：{path} 把 remote-management.disable-control-panel 设为 true。"
            ),
            StatusNotResponding { pid, port } => format!(
                "服务（pid {pid}）正在运行，但在端口 {port} 上没有响应。请运行 `cpa-tray restart` 替换它，或运行 `cpa-tray stop` 结束它。"
            ),
            StatusSuspended { pid } => format!(
                "服务（pid {pid}）已被挂起（被 SIGSTOP 等信号暂停）。请用 `kill -CONT {pid}` 恢复它，或运行 `cpa-tray restart`。"
            ),
            PromptCancelled => "已取消，未做任何更改。".to_string(),
            LogRotationFailed { detail } => format!(
                "轮转服务日志失败：{detail}。日志会继续增长；请检查 logs 文件夹的可用空间和权限。"
            ),
            // Stops of suspended servers, pending restarts, races with other commands.
            StoppedWhileSuspended { pid } => {
                format!("已停止（pid {pid}）。它处于挂起状态，已先恢复运行再关闭。")
            }
            PendingRestartCancelled { supervisor } => format!(
                "没有正在运行的服务。已取消 cpa-tray（pid {supervisor}，托盘或 `start --foreground`）等待执行的重启。"
            ),
            ForegroundRestartCancelled => {
                "重启已被 `cpa-tray stop` 取消，没有正在运行的服务。".to_string()
            }
            StatusRestartPending { supervisor, seconds } => format!(
                "等待重启：cpa-tray（pid {supervisor}，托盘或 `start --foreground`）将在 {seconds} 秒后重新启动服务。运行 `cpa-tray stop` 可取消。"
            ),
            PasswordSetMeanwhile { path } => format!(
                "在你输入期间，另一个命令已在 {path} 中设置了管理密钥。你的密码没有保存，服务也没有启动。请再次运行 `cpa-tray start` 以使用已保存的密钥，或运行 `cpa-tray password set` 替换它。"
            ),
            StartedNotReadyStillRunning { pid } => format!(
                "服务（pid {pid}）仍在运行并已记录。可用 `cpa-tray status` 和 `cpa-tray logs` 查看，或用 `cpa-tray stop` 结束它。"
            ),
            DownloadCancelled => "已取消下载".to_string(),
            ForegroundRestartInterrupted => "已按 Ctrl+C 取消重启，没有正在运行的服务。".to_string(),
            ReleaseOlderActivated { tag, previous } => format!(
                "{tag} 比当前使用的 {previous} 旧，现在成为当前版本。运行 `cpa-tray versions use {previous}` 可切换回去。"
            ),
            StatusExitedNoLog { pid, log } => format!(
                "此托盘启动的服务（pid {pid}）意外退出：它不是通过 `cpa-tray stop` 停止的。{log} 是空的。运行 `cpa-tray start` 可再次启动。"
            ),
            EngineIsFolder { path, origin } => format!(
                "启动失败：通过 {origin} 指定的 {path} 是文件夹，不是程序。请指定服务程序文件本身，例如 {path}/cli-proxy-api。"
            ),
            ConfigUnreadable { path, detail } => format!(
                "读取 {path} 失败：{detail}。请让你的用户有权读取该文件，或用 --config 指定一份你能读取的副本。"
            ),
            PasswordTooShortForRemote { path, min } => format!(
                "{path} 中已开启远程管理，它需要至少 {min} 个字符的密码。未做任何更改。请选择更长的密码，或先运行 `cpa-tray remote disable`。"
            ),

            // Service: restarts, status and prompts.
            RelaunchProgramMissing { program, pid } => format!(
                "重启失败：服务程序 {program} 不存在、不是文件或无法运行。正在运行的服务（pid {pid}）未被停止。请用 `cpa-tray restart --engine 路径` 指定程序，或运行 `cpa-tray install` 安装官方版本。"
            ),
            RelaunchProgramUnrecorded { exe, pid } => format!(
                "重启失败：该服务（pid {pid}）由较早版本的 cpa-tray 启动，它只记录了正在运行的可执行文件 {exe}。如果你用的是包装脚本，这会是解释器而不是你的程序，因此不会再次运行它。服务未被停止。请运行 `cpa-tray stop`，然后运行 `cpa-tray start --engine 路径`。"
            ),
            StatusConfigMissing { path, explicit: false, port } => format!(
                "配置文件 {path} 不存在。`cpa-tray start` 会用内置模板（端口 {port}）创建它，并要求设置管理密码。"
            ),
            StatusConfigMissing { path, explicit: true, .. } => format!(
                "通过 --config 指定的配置文件 {path} 不存在，因此用它运行 `cpa-tray start` 会失败。请检查路径，或去掉 --config：这样 `cpa-tray start` 会用内置模板创建主文件夹中的 config.yaml。"
            ),
            // Settings values.
            SettingsUnknownValue {
                path,
                field,
                value,
                accepted,
            } => format!(
                "已忽略 {path} 中的 `{field}`：未知的值 {value:?}；可用的值为 {accepted}，改用默认值。"
            ),
        }
    }
}

/// A message bound to a language, for `{}` formatting.
pub struct Localized<'a>(pub &'a Msg<'a>, pub Lang);

impl fmt::Display for Localized<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.text(self.1))
    }
}

/// Names a server program for people: the built-in engine, a CLIProxyAPI
/// release by its tag, or another program, whose version is often unknown.
/// `engine` is the record's `builtin` or `external`.
fn engine_label(engine: &str, version: &str, lang: Lang) -> String {
    let zh = lang == Lang::ZhCn;
    match (engine, version) {
        ("builtin", version) if zh => format!("内置引擎 {version}"),
        ("builtin", version) => format!("built-in engine {version}"),
        ("external", "unknown") if zh => "外部程序，版本未知".to_string(),
        ("external", "unknown") => "external program, version unknown".to_string(),
        ("external", tag) if tag.starts_with('v') && zh => format!("发布版本 {tag}"),
        ("external", tag) if tag.starts_with('v') => format!("release {tag}"),
        ("external", version) if zh => format!("外部程序 {version}"),
        ("external", version) => format!("external program {version}"),
        (engine, version) => format!("{engine} {version}"),
    }
}

/// Returns the next step after a taken port: edit `port` in the config, or,
/// before the config exists, name one with another port through `--config`.
fn port_next_step_en(config: Option<&str>) -> String {
    match config {
        Some(config) => format!("Stop it, or change `port` in {config}."),
        None => "Stop it, or start with `--config FILE` naming a config file with another `port`."
            .to_string(),
    }
}

fn port_next_step_zh(config: Option<&str>) -> String {
    match config {
        Some(config) => format!("请停止该程序，或修改 {config} 中的 `port`。"),
        None => {
            "请停止该程序，或用 `--config 文件` 指定一个使用其他 `port` 的配置文件。".to_string()
        }
    }
}

/// Returns the message for a password rule violation.
pub fn password_problem(problem: crate::password::PasswordProblem) -> Msg<'static> {
    use crate::password::PasswordProblem as P;
    match problem {
        P::TooShort { bytes } => Msg::PasswordTooShort { bytes },
        P::TooLong { bytes } => Msg::PasswordTooLong { bytes },
        P::NotPrintableAscii => Msg::PasswordNotPrintableAscii,
        P::SurroundingSpace => Msg::PasswordSurroundingSpace,
        P::LooksLikeHash => Msg::PasswordLooksLikeHash,
        P::Mismatch => Msg::PasswordMismatch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_map_to_languages() {
        for tag in [
            "zh",
            "zh-CN",
            "zh_CN.UTF-8",
            "zh-Hans",
            "zh-Hans-CN",
            "zh-SG",
        ] {
            assert_eq!(Lang::from_tag(tag), Some(Lang::ZhCn), "{tag}");
        }
        for tag in ["en", "en-US", "en_GB.UTF-8"] {
            assert_eq!(Lang::from_tag(tag), Some(Lang::En), "{tag}");
        }
        for tag in ["C", "POSIX", "zh-TW", "zh-Hant-HK", "fr-FR", ""] {
            assert_eq!(Lang::from_tag(tag), None, "{tag}");
        }
    }

    #[test]
    fn explicit_language_wins() {
        assert_eq!(Lang::resolve(Some(Lang::ZhCn), Some("en")), Lang::ZhCn);
        assert_eq!(Lang::resolve(None, Some("zh-CN")), Lang::ZhCn);
    }

    #[test]
    fn engines_are_named_for_people() {
        let status = |engine, version| {
            Msg::StatusRunning {
                pid: 1,
                port: 2,
                engine,
                version,
            }
            .text(Lang::En)
        };
        assert!(status("builtin", "0.1.0").ends_with(", built-in engine 0.1.0"));
        assert!(status("external", "v9.9.9").ends_with(", release v9.9.9"));
        assert!(status("external", "unknown").ends_with(", external program, version unknown"));
        assert!(status("external", "6.9.1").ends_with(", external program 6.9.1"));
        let zh = Msg::StatusRunning {
            pid: 1,
            port: 2,
            engine: "external",
            version: "6.9.1",
        }
        .text(Lang::ZhCn);
        assert!(zh.contains("外部程序 6.9.1"), "{zh}");
    }

    #[test]
    fn zero_timeout_kill_is_not_called_ignoring() {
        let text = Msg::StoppedForced { pid: 7, seconds: 0 }.text(Lang::En);
        assert!(text.contains("killed at once"), "{text}");
        assert!(!text.contains("ignored"), "{text}");
        let text = Msg::StoppedForced { pid: 7, seconds: 5 }.text(Lang::En);
        assert!(
            text.contains("ignored the request to shut down for 5 s"),
            "{text}"
        );
    }

    #[test]
    fn one_character_is_singular() {
        assert!(
            Msg::PasswordTooShort { bytes: 1 }
                .text(Lang::En)
                .contains("(1 character):")
        );
        assert!(
            Msg::PasswordTooShort { bytes: 5 }
                .text(Lang::En)
                .contains("(5 characters):")
        );
    }

    #[test]
    fn cancel_message_is_literal() {
        assert_eq!(
            Msg::PasswordNotSetStartCancelled.text(Lang::En),
            "Password not set. Start cancelled."
        );
        assert_eq!(
            Msg::PasswordNotSetStartCancelled.text(Lang::ZhCn),
            "未设置密码，已取消启动。"
        );
        assert!(
            Msg::StartedNotReady { port: 1, log: "x" }
                .text(Lang::En)
                .starts_with("Started, but port not ready yet")
        );
    }
}
