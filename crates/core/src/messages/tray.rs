//! Texts that only the tray shows (menu, notifications, dialogs), in English
//! and Simplified Chinese.
//!
//! A sentence that the command line also prints (a failed start, a failed
//! settings save, a cancelled first-run password) lives once, in [`Msg`],
//! and the tray renders that variant. [`TrayMsg::text`] matches exhaustively
//! per language, so a missing translation is a compile error.
//!
//! [`Msg`]: super::Msg

use super::Lang;

/// Title of every notification, as in the original tray.
pub const APP_TITLE: &str = "CLIProxyAPI Tray";

/// Project page opened from the About dialog.
pub const PROJECT_URL: &str = "https://github.com/kitephp/CLIProxyAPI-Tray";

/// One entry of the tray menu. Its id names it in the menu toolkit and in
/// logs, and stays the same in every language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MenuEntry {
    Status,
    Start,
    Restart,
    Stop,
    Open,
    OpenWebUi,
    OpenFolder,
    OpenConfig,
    OpenLogs,
    Settings,
    AutoOpenWebUi,
    AutoUpdate,
    AutoRestart,
    StartAtLogin,
    Language,
    LanguageEnglish,
    LanguageChinese,
    ResetPassword,
    Update,
    About,
    Exit,
}

impl MenuEntry {
    pub const ALL: [MenuEntry; 21] = [
        MenuEntry::Status,
        MenuEntry::Start,
        MenuEntry::Restart,
        MenuEntry::Stop,
        MenuEntry::Open,
        MenuEntry::OpenWebUi,
        MenuEntry::OpenFolder,
        MenuEntry::OpenConfig,
        MenuEntry::OpenLogs,
        MenuEntry::Settings,
        MenuEntry::AutoOpenWebUi,
        MenuEntry::AutoUpdate,
        MenuEntry::AutoRestart,
        MenuEntry::StartAtLogin,
        MenuEntry::Language,
        MenuEntry::LanguageEnglish,
        MenuEntry::LanguageChinese,
        MenuEntry::ResetPassword,
        MenuEntry::Update,
        MenuEntry::About,
        MenuEntry::Exit,
    ];

    pub fn id(self) -> &'static str {
        match self {
            MenuEntry::Status => "status",
            MenuEntry::Start => "start",
            MenuEntry::Restart => "restart",
            MenuEntry::Stop => "stop",
            MenuEntry::Open => "open",
            MenuEntry::OpenWebUi => "open-webui",
            MenuEntry::OpenFolder => "open-folder",
            MenuEntry::OpenConfig => "open-config",
            MenuEntry::OpenLogs => "open-logs",
            MenuEntry::Settings => "settings",
            MenuEntry::AutoOpenWebUi => "auto-open-webui",
            MenuEntry::AutoUpdate => "auto-update",
            MenuEntry::AutoRestart => "auto-restart",
            MenuEntry::StartAtLogin => "start-at-login",
            MenuEntry::Language => "language",
            MenuEntry::LanguageEnglish => "language-en",
            MenuEntry::LanguageChinese => "language-zh-CN",
            MenuEntry::ResetPassword => "reset-password",
            MenuEntry::Update => "update",
            MenuEntry::About => "about",
            MenuEntry::Exit => "exit",
        }
    }

    pub fn from_id(id: &str) -> Option<MenuEntry> {
        MenuEntry::ALL.into_iter().find(|item| item.id() == id)
    }

    /// Returns whether the item carries a check mark.
    pub fn is_check(self) -> bool {
        matches!(
            self,
            MenuEntry::AutoOpenWebUi
                | MenuEntry::AutoUpdate
                | MenuEntry::AutoRestart
                | MenuEntry::StartAtLogin
                | MenuEntry::LanguageEnglish
                | MenuEntry::LanguageChinese
        )
    }
}

/// A text with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum TrayMsg<'a> {
    // Menu.
    TooltipRunning,
    StatusRunning {
        version: &'a str,
        builtin: bool,
    },
    StatusNotRunning,
    StatusStarting,
    StatusStopping,
    StatusUpdating,
    StatusRestartReminder,
    /// The fixed label of a menu entry.
    Menu(MenuEntry),

    // Notifications.
    ConfigCreated,
    PasswordSaved,
    PasswordWriteFailed {
        detail: &'a str,
    },
    Started,
    StartedNotReady,
    Stopped,
    StopFailed {
        detail: &'a str,
    },
    NotListening,
    ConfigNotFound,
    PasswordUpdated,
    PasswordUpdateFailed,
    ServerExited {
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
    UpdateQuestion {
        installed: Option<&'a str>,
        latest: &'a str,
        asset: &'a str,
        megabytes: &'a str,
    },
    Updated {
        tag: &'a str,
    },
    UpdateFailed {
        detail: &'a str,
    },
    DialogFailed {
        detail: &'a str,
        command: &'a str,
    },
    /// Details of a dialog failure, shown inside `DialogFailed` and the
    /// other failure notifications; `detail` is the OS error.
    DialogNotRun {
        program: &'a str,
        detail: &'a str,
    },
    DialogExitStatus {
        status: &'a str,
    },
    DialogWaitFailed {
        detail: &'a str,
    },
    DialogLost,
    DialogNoReason,
    TrayUnavailable {
        detail: &'a str,
    },
    EngineChoiceQuestion,
    EngineChoiceDownload {
        tag: &'a str,
        platform: &'a str,
        megabytes: &'a str,
    },
    EngineChoiceBuiltin,
    /// A CLIProxyAPI binary found on `PATH`, e.g. from Homebrew or the AUR.
    EngineChoicePath {
        path: &'a str,
    },
    StartCancelled,
    AlreadyRunningNotice {
        status: &'a str,
    },
    /// The pid is missing when the running tray's record could not be read.
    AlreadyRunningExit {
        pid: Option<u32>,
    },
    StartAtLoginFailed {
        detail: &'a str,
    },

    // Dialogs.
    SetPasswordTitle,
    SetPasswordPrompt,
    ResetPasswordTitle,
    ResetPasswordPrompt,
    PasswordField,
    ConfirmField,
    ShowPassword,
    /// `min` is 8, or 12 while remote management is on.
    RuleLength {
        min: usize,
        bytes: usize,
    },
    RemotePasswordTooShort {
        min: usize,
    },
    AboutUnavailable {
        detail: &'a str,
    },
    /// `detail` is the OS error.
    ConfigNotWritable {
        path: &'a str,
        detail: &'a str,
    },
    RuleCharacters,
    RuleNoSurroundingSpace,
    RuleNotHashPrefix,
    RuleMatch,
    Ok,
    Cancel,
    Yes,
    No,
    RestartNowQuestion,
    DownloadTitle,
    DownloadPreparing,
    DownloadRunning,
    DownloadDetail {
        percent: u8,
        received_mb: f64,
        total_mb: f64,
    },
    DownloadDetailUnknownSize {
        received_mb: f64,
    },
    AboutTitle,
    AboutBody {
        tray_version: &'a str,
        server: &'a str,
    },
    AboutProjectLink,
    Close,
}

impl TrayMsg<'_> {
    /// Renders the text in `lang`.
    pub fn text(&self, lang: Lang) -> String {
        match lang {
            Lang::En => self.english(),
            Lang::ZhCn => super::os_text::localize(&self.chinese()).into_owned(),
        }
    }

    fn english(&self) -> String {
        use TrayMsg::*;
        match self {
            TooltipRunning => format!("{APP_TITLE} - Running"),
            StatusRunning { version, builtin } => {
                let version = display_version(version);
                if *builtin {
                    format!("Running ({version}, built-in engine)")
                } else {
                    format!("Running ({version})")
                }
            }
            StatusNotRunning => "Not Running".into(),
            StatusStarting => "Starting...".into(),
            StatusStopping => "Stopping...".into(),
            StatusUpdating => "Updating...".into(),
            StatusRestartReminder => "restart to use the new password".into(),
            Menu(entry) => match entry {
                // The tray shows the status line in this entry, not this name.
                MenuEntry::Status => "Status",
                MenuEntry::Start => "Start",
                MenuEntry::Restart => "Restart",
                MenuEntry::Stop => "Stop",
                MenuEntry::Open => "Open",
                MenuEntry::OpenWebUi => "WebUI",
                MenuEntry::OpenFolder => "Folder",
                MenuEntry::OpenConfig => "Config",
                MenuEntry::OpenLogs => "Logs",
                MenuEntry::Settings => "Settings",
                MenuEntry::AutoOpenWebUi => "Auto Open WebUI",
                MenuEntry::AutoUpdate => "Auto Update",
                MenuEntry::AutoRestart => "Auto Restart",
                MenuEntry::StartAtLogin => "Start at Login",
                MenuEntry::Language => "Language",
                MenuEntry::ResetPassword => "Reset Password",
                MenuEntry::Update => "Update",
                MenuEntry::About => "About",
                MenuEntry::Exit => "Exit",
                // Language names are written in their own language.
                MenuEntry::LanguageEnglish => "English",
                MenuEntry::LanguageChinese => "简体中文",
            }
            .into(),

            EngineChoiceQuestion => {
                "No CLIProxyAPI is installed yet. Which server should the tray start?".into()
            }
            EngineChoiceDownload {
                tag,
                platform,
                megabytes,
            } => format!("Download CLIProxyAPI {tag} ({platform}, {megabytes} MB)"),
            EngineChoiceBuiltin => "Use the built-in engine".into(),
            EngineChoicePath { path } => format!("Use {path} (found on PATH)"),
            StartCancelled => "Start cancelled".into(),
            AlreadyRunningNotice { status } => format!("{APP_TITLE} is already running: {status}"),
            AlreadyRunningExit { pid: Some(pid) } => {
                format!("{APP_TITLE} is already running (pid {pid}).")
            }
            AlreadyRunningExit { pid: None } => format!("{APP_TITLE} is already running."),
            ConfigCreated => "Created config.yaml from the built-in template".into(),
            PasswordSaved => "Password saved to config.yaml".into(),
            PasswordWriteFailed { detail } => {
                format!("Failed to write password to config.yaml: {detail}")
            }
            Started => "Started CLIProxyAPI".into(),
            StartedNotReady => "Started, but port not ready yet".into(),
            Stopped => "Stopped".into(),
            StopFailed { detail } => format!("Stop failed: {detail}"),
            NotListening => "Not running (port not listening)".into(),
            ConfigNotFound => "config.yaml not found".into(),
            PasswordUpdated => "Password updated".into(),
            PasswordUpdateFailed => "Failed to update password".into(),
            ServerExited { status, log } => {
                format!("CLIProxyAPI exited ({status}). Its output is in {log}")
            }
            AutoRestarting { seconds, attempt } => {
                format!("Restarting CLIProxyAPI in {seconds} s (attempt {attempt})")
            }
            AutoRestartGaveUp { attempts } => format!(
                "CLIProxyAPI keeps exiting: gave up after {attempts} restarts. Check the logs, then use Start."
            ),
            UpdateQuestion {
                installed: Some(installed),
                latest,
                asset,
                megabytes,
            } => format!(
                "Update CLIProxyAPI from {installed} to {latest}?\nDownload: {asset} ({megabytes} MB)"
            ),
            UpdateQuestion {
                installed: None,
                latest,
                asset,
                megabytes,
            } => format!("Download CLIProxyAPI {latest}?\nDownload: {asset} ({megabytes} MB)"),
            Updated { tag } => format!("Updated to CLIProxyAPI {tag}"),
            UpdateFailed { detail } => {
                format!("Update failed: {detail}\nRun `cpa-tray update` in a terminal for details.")
            }
            DialogFailed { detail, command } => format!(
                "Failed to open the dialog: {detail}. Run `{command}` in a terminal instead."
            ),
            DialogNotRun { program, detail } => format!("failed to run {program}: {detail}"),
            DialogExitStatus { status } => format!("the dialog process ended: {status}"),
            DialogWaitFailed { detail } => format!("failed to wait for the dialog: {detail}"),
            DialogLost => "lost track of the dialog process".into(),
            DialogNoReason => "the dialog gave no reason".into(),
            TrayUnavailable { detail } => format!(
                "No tray icon: {detail}. cpa-tray keeps running without one; use `cpa-tray status` and `cpa-tray stop` to control the server."
            ),
            StartAtLoginFailed { detail } => format!("Failed to change Start at Login: {detail}"),

            SetPasswordTitle => "Set Password".into(),
            SetPasswordPrompt => {
                "config.yaml secret-key is empty.\nPlease enter a password:".into()
            }
            ResetPasswordTitle => "Reset Password".into(),
            ResetPasswordPrompt => "Enter new password (secret-key):".into(),
            PasswordField => "Password".into(),
            ConfirmField => "Confirm".into(),
            ShowPassword => "Show".into(),
            RuleLength { min, bytes } => format!("{min} to 72 bytes (now {bytes})"),
            RemotePasswordTooShort { min } => format!(
                "Remote management is on in config.yaml, so the password needs at least {min} bytes."
            ),
            AboutUnavailable { detail } => format!(
                "Failed to open the About window: {detail}. Run `cpa-tray --version` and `cpa-tray status` in a terminal for the same facts."
            ),
            ConfigNotWritable { path, detail } => format!(
                "Cannot write the password to {path}: {detail}. Make the file writable (for example `chattr -i` or `chmod u+w`), then try again."
            ),
            RuleCharacters => {
                "Printable ASCII only: letters, digits, punctuation, inner spaces".into()
            }
            RuleNoSurroundingSpace => "No space at the start or end".into(),
            RuleNotHashPrefix => "Does not start with $2a$, $2b$ or $2y$".into(),
            RuleMatch => "Both entries match".into(),
            Ok => "OK".into(),
            Cancel => "Cancel".into(),
            Yes => "Yes".into(),
            No => "No".into(),
            RestartNowQuestion => "Restart CLIProxyAPI now to use the new password?".into(),
            DownloadTitle => "Downloading Updates".into(),
            DownloadPreparing => "Preparing download...".into(),
            DownloadRunning => "Downloading CLIProxyAPI...".into(),
            DownloadDetail {
                percent,
                received_mb,
                total_mb,
            } => format!("{percent}%  {received_mb:.1} MB / {total_mb:.1} MB"),
            DownloadDetailUnknownSize { received_mb } => {
                format!("{received_mb:.1} MB downloaded")
            }
            AboutTitle => "About CLIProxyAPI Tray".into(),
            AboutBody {
                tray_version,
                server,
            } => format!("cpa-tray {tray_version}\nServer: {server}"),
            AboutProjectLink => "Project page".into(),
            Close => "Close".into(),
        }
    }

    fn chinese(&self) -> String {
        use TrayMsg::*;
        match self {
            TooltipRunning => format!("{APP_TITLE} - 运行中"),
            StatusRunning { version, builtin } => {
                let version = display_version(version);
                if *builtin {
                    format!("运行中（{version}，内置引擎）")
                } else {
                    format!("运行中（{version}）")
                }
            }
            StatusNotRunning => "未运行".into(),
            StatusStarting => "正在启动...".into(),
            StatusStopping => "正在停止...".into(),
            StatusUpdating => "正在更新...".into(),
            StatusRestartReminder => "重启后新密码生效".into(),
            Menu(entry) => match entry {
                // The tray shows the status line in this entry, not this name.
                MenuEntry::Status => "状态",
                MenuEntry::Start => "启动",
                MenuEntry::Restart => "重启",
                MenuEntry::Stop => "停止",
                MenuEntry::Open => "打开",
                MenuEntry::OpenWebUi => "WebUI",
                MenuEntry::OpenFolder => "文件夹",
                MenuEntry::OpenConfig => "配置文件",
                MenuEntry::OpenLogs => "日志",
                MenuEntry::Settings => "设置",
                MenuEntry::AutoOpenWebUi => "自动打开 WebUI",
                MenuEntry::AutoUpdate => "自动更新",
                MenuEntry::AutoRestart => "自动重启",
                MenuEntry::StartAtLogin => "登录时启动",
                MenuEntry::Language => "语言",
                MenuEntry::ResetPassword => "重置密码",
                MenuEntry::Update => "更新",
                MenuEntry::About => "关于",
                MenuEntry::Exit => "退出",
                // Language names are written in their own language.
                MenuEntry::LanguageEnglish => "English",
                MenuEntry::LanguageChinese => "简体中文",
            }
            .into(),

            EngineChoiceQuestion => "尚未安装 CLIProxyAPI。托盘应启动哪个服务？".into(),
            EngineChoiceDownload {
                tag,
                platform,
                megabytes,
            } => format!("下载 CLIProxyAPI {tag}（{platform}，{megabytes} MB）"),
            EngineChoiceBuiltin => "使用内置引擎".into(),
            EngineChoicePath { path } => format!("使用 {path}（在 PATH 中找到）"),
            StartCancelled => "已取消启动".into(),
            AlreadyRunningNotice { status } => format!("{APP_TITLE} 已在运行：{status}"),
            AlreadyRunningExit { pid: Some(pid) } => {
                format!("{APP_TITLE} 已在运行（进程 {pid}）。")
            }
            AlreadyRunningExit { pid: None } => format!("{APP_TITLE} 已在运行。"),
            ConfigCreated => "已根据内置模板创建 config.yaml".into(),
            PasswordSaved => "密码已保存到 config.yaml".into(),
            PasswordWriteFailed { detail } => format!("无法将密码写入 config.yaml：{detail}"),
            Started => "CLIProxyAPI 已启动".into(),
            StartedNotReady => "已启动，但端口尚未就绪".into(),
            Stopped => "已停止".into(),
            StopFailed { detail } => format!("停止失败：{detail}"),
            NotListening => "未运行（端口未监听）".into(),
            ConfigNotFound => "未找到 config.yaml".into(),
            PasswordUpdated => "密码已更新".into(),
            PasswordUpdateFailed => "密码更新失败".into(),
            ServerExited { status, log } => {
                format!("CLIProxyAPI 已退出（{status}）。输出见 {log}")
            }
            AutoRestarting { seconds, attempt } => {
                format!("{seconds} 秒后重启 CLIProxyAPI（第 {attempt} 次）")
            }
            AutoRestartGaveUp { attempts } => {
                format!(
                    "CLIProxyAPI 反复退出：已重启 {attempts} 次，不再重试。请查看日志后再启动。"
                )
            }
            UpdateQuestion {
                installed: Some(installed),
                latest,
                asset,
                megabytes,
            } => format!(
                "将 CLIProxyAPI 从 {installed} 更新到 {latest}？\n下载：{asset}（{megabytes} MB）"
            ),
            UpdateQuestion {
                installed: None,
                latest,
                asset,
                megabytes,
            } => format!("下载 CLIProxyAPI {latest}？\n下载：{asset}（{megabytes} MB）"),
            Updated { tag } => format!("已更新到 CLIProxyAPI {tag}"),
            UpdateFailed { detail } => {
                format!("更新失败：{detail}\n请在终端运行 `cpa-tray update` 查看详情。")
            }
            DialogFailed { detail, command } => {
                format!("无法打开对话框：{detail}。请在终端中运行 `{command}`。")
            }
            DialogNotRun { program, detail } => format!("无法运行 {program}：{detail}"),
            DialogExitStatus { status } => format!("对话框进程已结束：{status}"),
            DialogWaitFailed { detail } => format!("无法等待对话框结束：{detail}"),
            DialogLost => "已无法跟踪对话框进程".into(),
            DialogNoReason => "对话框没有给出原因".into(),
            TrayUnavailable { detail } => format!(
                "没有托盘图标：{detail}。cpa-tray 会在无图标的情况下继续运行；请用 `cpa-tray status` 和 `cpa-tray stop` 控制服务。"
            ),
            StartAtLoginFailed { detail } => format!("无法更改“登录时启动”：{detail}"),

            SetPasswordTitle => "设置密码".into(),
            SetPasswordPrompt => "config.yaml 的 secret-key 为空。\n请输入密码：".into(),
            ResetPasswordTitle => "重置密码".into(),
            ResetPasswordPrompt => "输入新密码（secret-key）：".into(),
            PasswordField => "密码".into(),
            ConfirmField => "确认密码".into(),
            ShowPassword => "显示".into(),
            RuleLength { min, bytes } => format!("{min} 到 72 字节（当前 {bytes}）"),
            RemotePasswordTooShort { min } => {
                format!("config.yaml 已开启远程管理，密码至少需要 {min} 字节。")
            }
            AboutUnavailable { detail } => format!(
                "无法打开“关于”窗口：{detail}。请在终端中运行 `cpa-tray --version` 和 `cpa-tray status` 查看同样的信息。"
            ),
            ConfigNotWritable { path, detail } => format!(
                "无法把密码写入 {path}：{detail}。请让该文件可写（例如 `chattr -i` 或 `chmod u+w`），然后重试。"
            ),
            RuleCharacters => "仅限可打印 ASCII：字母、数字、标点、中间的空格".into(),
            RuleNoSurroundingSpace => "开头和结尾不能是空格".into(),
            RuleNotHashPrefix => "不能以 $2a$、$2b$ 或 $2y$ 开头".into(),
            RuleMatch => "两次输入一致".into(),
            Ok => "确定".into(),
            Cancel => "取消".into(),
            Yes => "是".into(),
            No => "否".into(),
            RestartNowQuestion => "现在重启 CLIProxyAPI 以使用新密码吗？".into(),
            DownloadTitle => "正在下载更新".into(),
            DownloadPreparing => "正在准备下载...".into(),
            DownloadRunning => "正在下载 CLIProxyAPI...".into(),
            DownloadDetail {
                percent,
                received_mb,
                total_mb,
            } => format!("{percent}%  {received_mb:.1} MB / {total_mb:.1} MB"),
            DownloadDetailUnknownSize { received_mb } => {
                format!("已下载 {received_mb:.1} MB")
            }
            AboutTitle => "关于 CLIProxyAPI Tray".into(),
            AboutBody {
                tray_version,
                server,
            } => format!("cpa-tray {tray_version}\n服务：{server}"),
            AboutProjectLink => "项目主页".into(),
            Close => "关闭".into(),
        }
    }
}

/// Formats a version for the status line: `v6.9.1`, or `v?` when unknown (as
/// the original tray showed a missing version).
fn display_version(version: &str) -> String {
    let version = version.trim();
    if version.is_empty() || version == "unknown" {
        "v?".to_string()
    } else if version.starts_with('v') {
        version.to_string()
    } else {
        format!("v{version}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One instance of every variant. The match below is exhaustive, so a
    /// new variant fails to compile until it is listed here.
    fn every_message() -> Vec<TrayMsg<'static>> {
        use TrayMsg::*;
        let mut messages = vec![
            EngineChoiceQuestion,
            EngineChoiceDownload {
                tag: "v1.0.0",
                platform: "linux/amd64",
                megabytes: "12.5",
            },
            EngineChoiceBuiltin,
            EngineChoicePath {
                path: "/usr/bin/cli-proxy-api",
            },
            StartCancelled,
            TooltipRunning,
            StatusRunning {
                version: "x",
                builtin: true,
            },
            StatusNotRunning,
            StatusStarting,
            StatusStopping,
            StatusUpdating,
            StatusRestartReminder,
            ConfigCreated,
            PasswordSaved,
            PasswordWriteFailed { detail: "x" },
            Started,
            StartedNotReady,
            Stopped,
            StopFailed { detail: "x" },
            NotListening,
            ConfigNotFound,
            PasswordUpdated,
            PasswordUpdateFailed,
            ServerExited {
                status: "x",
                log: "x",
            },
            AutoRestarting {
                seconds: 3,
                attempt: 3,
            },
            AutoRestartGaveUp { attempts: 3 },
            UpdateQuestion {
                installed: Some("v1.0.0"),
                latest: "x",
                asset: "x",
                megabytes: "x",
            },
            Updated { tag: "x" },
            UpdateFailed { detail: "x" },
            DialogFailed {
                detail: "x",
                command: "x",
            },
            DialogNotRun {
                program: "x",
                detail: "x",
            },
            DialogExitStatus { status: "x" },
            DialogWaitFailed { detail: "x" },
            DialogLost,
            DialogNoReason,
            TrayUnavailable { detail: "x" },
            AlreadyRunningNotice { status: "x" },
            AlreadyRunningExit { pid: Some(3) },
            AlreadyRunningExit { pid: None },
            StartAtLoginFailed { detail: "x" },
            SetPasswordTitle,
            SetPasswordPrompt,
            ResetPasswordTitle,
            ResetPasswordPrompt,
            PasswordField,
            ConfirmField,
            ShowPassword,
            RuleLength { min: 8, bytes: 3 },
            RemotePasswordTooShort { min: 12 },
            ConfigNotWritable {
                path: "x",
                detail: "x",
            },
            AboutUnavailable { detail: "x" },
            RuleCharacters,
            RuleNoSurroundingSpace,
            RuleNotHashPrefix,
            RuleMatch,
            Ok,
            Cancel,
            Yes,
            No,
            RestartNowQuestion,
            DownloadTitle,
            DownloadPreparing,
            DownloadRunning,
            DownloadDetail {
                percent: 42,
                received_mb: 1.5,
                total_mb: 1.5,
            },
            DownloadDetailUnknownSize { received_mb: 1.5 },
            AboutTitle,
            AboutBody {
                tray_version: "x",
                server: "x",
            },
            AboutProjectLink,
            Close,
        ];
        messages.extend(MenuEntry::ALL.map(Menu));
        for message in &messages {
            match message {
                EngineChoiceQuestion => {}
                EngineChoiceDownload { .. } => {}
                EngineChoiceBuiltin => {}
                EngineChoicePath { .. } => {}
                StartCancelled => {}
                TooltipRunning => {}
                StatusRunning { .. } => {}
                StatusNotRunning => {}
                StatusStarting => {}
                StatusStopping => {}
                StatusUpdating => {}
                StatusRestartReminder => {}
                Menu(_) => {}
                ConfigCreated => {}
                PasswordSaved => {}
                PasswordWriteFailed { .. } => {}
                Started => {}
                StartedNotReady => {}
                Stopped => {}
                StopFailed { .. } => {}
                NotListening => {}
                ConfigNotFound => {}
                PasswordUpdated => {}
                PasswordUpdateFailed => {}
                ServerExited { .. } => {}
                AutoRestarting { .. } => {}
                AutoRestartGaveUp { .. } => {}
                UpdateQuestion { .. } => {}
                Updated { .. } => {}
                UpdateFailed { .. } => {}
                DialogFailed { .. } => {}
                DialogNotRun { .. } => {}
                DialogExitStatus { .. } => {}
                DialogWaitFailed { .. } => {}
                DialogLost => {}
                DialogNoReason => {}
                TrayUnavailable { .. } => {}
                AlreadyRunningNotice { .. } => {}
                AlreadyRunningExit { .. } => {}
                StartAtLoginFailed { .. } => {}
                SetPasswordTitle => {}
                SetPasswordPrompt => {}
                ResetPasswordTitle => {}
                ResetPasswordPrompt => {}
                PasswordField => {}
                ConfirmField => {}
                ShowPassword => {}
                RuleLength { .. } => {}
                RemotePasswordTooShort { .. } => {}
                ConfigNotWritable { .. } => {}
                AboutUnavailable { .. } => {}
                RuleCharacters => {}
                RuleNoSurroundingSpace => {}
                RuleNotHashPrefix => {}
                RuleMatch => {}
                Ok => {}
                Cancel => {}
                Yes => {}
                No => {}
                RestartNowQuestion => {}
                DownloadTitle => {}
                DownloadPreparing => {}
                DownloadRunning => {}
                DownloadDetail { .. } => {}
                DownloadDetailUnknownSize { .. } => {}
                AboutTitle => {}
                AboutBody { .. } => {}
                AboutProjectLink => {}
                Close => {}
            }
        }
        messages
    }

    #[test]
    fn every_message_has_both_languages() {
        for message in every_message() {
            let english = message.text(Lang::En);
            let chinese = message.text(Lang::ZhCn);
            assert!(
                !english.trim().is_empty(),
                "{message:?}: empty English text"
            );
            assert!(
                !chinese.trim().is_empty(),
                "{message:?}: empty Chinese text"
            );
            // Numbers and product names read the same in both languages.
            let neutral = matches!(
                message,
                TrayMsg::Menu(
                    MenuEntry::OpenWebUi | MenuEntry::LanguageEnglish | MenuEntry::LanguageChinese
                ) | TrayMsg::DownloadDetail { .. }
            );
            if !neutral {
                assert_ne!(
                    english, chinese,
                    "{message:?}: Chinese text is not translated"
                );
            }
        }
    }

    #[test]
    fn status_line_names_version_and_engine() {
        let running = TrayMsg::StatusRunning {
            version: "6.9.1",
            builtin: false,
        };
        assert_eq!(running.text(Lang::En), "Running (v6.9.1)");
        let builtin = TrayMsg::StatusRunning {
            version: "v0.1.0",
            builtin: true,
        };
        assert_eq!(builtin.text(Lang::En), "Running (v0.1.0, built-in engine)");
        assert_eq!(builtin.text(Lang::ZhCn), "运行中（v0.1.0，内置引擎）");
        let unknown = TrayMsg::StatusRunning {
            version: "unknown",
            builtin: false,
        };
        assert_eq!(unknown.text(Lang::En), "Running (v?)");
    }

    #[test]
    fn download_detail_matches_original_layout() {
        let detail = TrayMsg::DownloadDetail {
            percent: 42,
            received_mb: 3.125,
            total_mb: 7.5,
        };
        assert_eq!(detail.text(Lang::En), "42%  3.1 MB / 7.5 MB");
    }
}
