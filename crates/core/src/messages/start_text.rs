//! Start failures and the warnings about a started server, in the user's
//! language, shared by the command line and the tray so both name the same
//! port, program, file and next step.

use std::path::Path;

use super::{Lang, Msg, exit_status_text};
use crate::supervisor::StartError;
use crate::supervisor::checks::{ServerChecks, WebUi};

/// Describes a failed start as lines in `lang`: the reason with its next
/// step, then for a server that exited during start-up its config error
/// line and the last lines of its log, indented. `config` is the config
/// file the server was to use; a port message names it only when it exists.
pub fn start_error_lines(err: StartError, config: &Path, lang: Lang) -> Vec<String> {
    let config_text = config.display().to_string();
    let config_shown = config.exists().then_some(config_text.as_str());
    match err {
        StartError::PortInUse { port, owner } => {
            let msg = match &owner {
                Some(owner) => Msg::PortInUseBy {
                    port,
                    pid: owner.pid,
                    name: &owner.name,
                    config: config_shown,
                },
                None => Msg::PortInUse {
                    port,
                    config: config_shown,
                },
            };
            vec![msg.text(lang)]
        }
        StartError::PortUnavailable { port, reason } => {
            vec![
                Msg::PortUnavailable {
                    port,
                    reason: &reason,
                }
                .text(lang),
            ]
        }
        StartError::Spawn { program, source } => {
            let detail = source.to_string();
            vec![
                Msg::SpawnFailed {
                    program: &program.display().to_string(),
                    detail: &detail,
                }
                .text(lang),
            ]
        }
        StartError::ExitedEarly {
            status,
            log_tail,
            bad_config,
            log_path,
        } => {
            let status = exit_status_text(status, lang);
            let log = log_path.display().to_string();
            let mut lines = Vec::new();
            if let Some(line) = bad_config {
                lines.push(Msg::BadConfigLine { line: &line }.text(lang));
            }
            let msg = if log_tail.is_empty() {
                Msg::ExitedEarlyNoOutput {
                    status: &status,
                    log: &log,
                }
            } else {
                Msg::ExitedEarly {
                    status: &status,
                    log: &log,
                }
            };
            lines.push(msg.text(lang));
            lines.extend(log_tail.into_iter().map(|line| format!("  {line}")));
            lines
        }
        StartError::Io(err) => {
            let detail = err.to_string();
            vec![Msg::StartFailed { detail: &detail }.text(lang)]
        }
    }
}

/// Returns lines in `lang` that explain what a started server does not
/// offer: its proxy API (safe mode) or its WebUI page. `config` is the
/// config file the server runs with, and `page` the WebUI page it reads.
///
/// Upstream's example client keys in the config are always named. When the
/// server is in safe mode, the line confirms it. Otherwise, for example when
/// `checks` is `None` (a TLS server, or one not ready yet), the line warns
/// about newer CLIProxyAPI versions. Empty when all is well.
pub fn server_check_lines(
    config: &Path,
    page: &Path,
    checks: Option<ServerChecks>,
    lang: Lang,
) -> Vec<String> {
    let path = config.display().to_string();
    let view = cpa_config::load(config)
        .ok()
        .and_then(|doc| doc.view().ok());
    let keys = view
        .as_ref()
        .and_then(|view| view.client_api_keys.value.clone())
        .unwrap_or_default();
    let separator = if lang == Lang::ZhCn { "、" } else { ", " };
    let examples = crate::password::example_api_keys(&keys).join(separator);
    let mut lines = Vec::new();
    match checks.and_then(|checks| checks.safe_mode) {
        Some(true) if !examples.is_empty() => lines.push(
            Msg::SafeModeActive {
                path: &path,
                keys: &examples,
            }
            .text(lang),
        ),
        // The file has no example key left, but the server did not take up
        // the change (a reload that failed, or an edit it did not see).
        Some(true) => lines.push(Msg::SafeModeWithoutExampleKeys { path: &path }.text(lang)),
        _ if !examples.is_empty() => lines.push(
            Msg::ExampleApiKeys {
                path: &path,
                keys: &examples,
            }
            .text(lang),
        ),
        _ => {}
    }
    if checks.is_some_and(|checks| checks.webui == WebUi::Missing) {
        // A config that turns the page off gets the same 404.
        let switched_off = view
            .as_ref()
            .is_some_and(|view| view.disable_control_panel.value == Some(true));
        lines.push(if switched_off {
            Msg::WebUiDisabled { path: &path }.text(lang)
        } else {
            let page = page.display().to_string();
            Msg::WebUiPageMissing { page: &page }.text(lang)
        });
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port_taken() -> StartError {
        StartError::PortInUse {
            port: 8317,
            owner: None,
        }
    }

    #[test]
    fn taken_port_names_an_existing_config() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.yaml");
        std::fs::write(&config, "port: 8317\n").unwrap();

        let lines = start_error_lines(port_taken(), &config, Lang::En);

        assert_eq!(lines.len(), 1);
        let expected = format!("change `port` in {}", config.display());
        assert!(lines[0].contains(&expected), "{lines:?}");
    }

    /// Before a first start writes its template there is no file to edit,
    /// so the next step is `--config`, in both languages.
    #[test]
    fn taken_port_without_config_suggests_config_flag() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.yaml");

        let english = start_error_lines(port_taken(), &config, Lang::En);
        let chinese = start_error_lines(port_taken(), &config, Lang::ZhCn);

        assert!(!english[0].contains("config.yaml"), "{english:?}");
        assert!(english[0].contains("--config FILE"), "{english:?}");
        assert!(!chinese[0].contains("config.yaml"), "{chinese:?}");
        assert!(chinese[0].contains("--config 文件"), "{chinese:?}");
    }
}
