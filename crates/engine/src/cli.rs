//! Command-line flags, parsed by the rules of Go's `flag` package so scripts
//! written for upstream CLIProxyAPI work unchanged.
//!
//! `-name` and `--name` are the same flag. Values are given as `-name value`
//! or `-name=value`, booleans only as `-name` or `-name=true|false`. Parsing
//! stops at the first argument that is not a flag, or after `--`.

use std::ffi::OsString;
use std::path::PathBuf;

/// Flags upstream registers that start a login or import instead of the
/// server. The built-in engine has no OAuth flows, so these are rejected with
/// a clear message instead of being reported as unknown.
const LOGIN_BOOL_FLAGS: &[&str] = &[
    "codex-login",
    "codex-device-login",
    "claude-login",
    "antigravity-login",
    "kimi-login",
    "xai-login",
];
const LOGIN_VALUE_FLAGS: &[&str] = &["vertex-import"];
/// Upstream flags accepted and ignored because they change nothing here.
const IGNORED_BOOL_FLAGS: &[&str] = &["no-browser", "local-model", "tui", "standalone"];
const IGNORED_VALUE_FLAGS: &[&str] = &["oauth-callback-port", "vertex-import-prefix"];

/// Settings taken from the command line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Flags {
    /// `-config`: the config file; `None` means `<cwd>/config.yaml`.
    pub config: Option<PathBuf>,
    /// `-password`: a runtime-only local management password (hidden flag).
    pub password: Option<String>,
    /// A login or import flag that this engine does not implement.
    pub unsupported: Option<String>,
}

/// Outcome of a parse that yields no flags to run with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseOutcome {
    /// `-h` or `-help`: print usage, exit 0.
    Help,
    /// A bad flag: print the message and usage to stderr, exit 2.
    Error(String),
}

/// Parses `args` (without the program name).
pub fn parse(args: &[OsString]) -> Result<Flags, ParseOutcome> {
    let mut flags = Flags::default();
    let mut index = 0;
    while index < args.len() {
        let Some(arg) = args[index].to_str() else {
            // A non-UTF-8 argument cannot be a flag name; Go stops at non-flags.
            if args[index].to_string_lossy().starts_with('-') {
                return Err(ParseOutcome::Error(format!(
                    "bad flag syntax: {}",
                    args[index].to_string_lossy()
                )));
            }
            break;
        };
        if arg.len() < 2 || !arg.starts_with('-') {
            break;
        }
        index += 1;
        let body = if let Some(rest) = arg.strip_prefix("--") {
            if rest.is_empty() {
                break;
            }
            rest
        } else {
            &arg[1..]
        };
        if body.starts_with('-') || body.starts_with('=') {
            return Err(ParseOutcome::Error(format!("bad flag syntax: {arg}")));
        }
        let (name, inline_value) = match body.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (body, None),
        };

        if name == "h" || name == "help" {
            return Err(ParseOutcome::Help);
        }
        let is_bool = LOGIN_BOOL_FLAGS.contains(&name) || IGNORED_BOOL_FLAGS.contains(&name);
        let is_value = matches!(name, "config" | "password")
            || LOGIN_VALUE_FLAGS.contains(&name)
            || IGNORED_VALUE_FLAGS.contains(&name)
            || matches!(name, "home-jwt");
        if is_bool {
            let enabled = match inline_value.as_deref() {
                None => true,
                Some(text) => parse_go_bool(text).ok_or_else(|| {
                    ParseOutcome::Error(format!(
                        "invalid boolean value {text:?} for -{name}: parse error"
                    ))
                })?,
            };
            if enabled && LOGIN_BOOL_FLAGS.contains(&name) && flags.unsupported.is_none() {
                flags.unsupported = Some(name.to_string());
            }
            continue;
        }
        if !is_value {
            return Err(ParseOutcome::Error(format!(
                "flag provided but not defined: -{name}"
            )));
        }
        let value = match inline_value {
            Some(value) => OsString::from(value),
            None => {
                let Some(next) = args.get(index) else {
                    return Err(ParseOutcome::Error(format!(
                        "flag needs an argument: -{name}"
                    )));
                };
                index += 1;
                next.clone()
            }
        };
        match name {
            "config" => flags.config = Some(PathBuf::from(value)),
            "password" => flags.password = Some(value.to_string_lossy().into_owned()),
            "home-jwt" | "vertex-import" if !value.is_empty() && flags.unsupported.is_none() => {
                flags.unsupported = Some(name.to_string());
            }
            _ => {}
        }
    }
    Ok(flags)
}

fn parse_go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Returns the usage text in the layout of Go's flag package. `-password` is
/// hidden, as upstream hides it.
pub fn usage(program: &str) -> String {
    let mut text = format!("Usage of {program}:\n");
    let entries: &[(&str, &str, &str)] = &[
        (
            "antigravity-login",
            "",
            "Login to Antigravity using OAuth (not supported by the built-in engine)",
        ),
        (
            "claude-login",
            "",
            "Login to Claude using OAuth (not supported by the built-in engine)",
        ),
        (
            "codex-device-login",
            "",
            "Login to Codex using device code flow (not supported by the built-in engine)",
        ),
        (
            "codex-login",
            "",
            "Login to Codex using OAuth (not supported by the built-in engine)",
        ),
        (
            "config",
            " string",
            "Configure File Path (default: config.yaml in the current directory)",
        ),
        (
            "kimi-login",
            "",
            "Login to Kimi using OAuth (not supported by the built-in engine)",
        ),
        (
            "local-model",
            "",
            "Accepted for compatibility; has no effect",
        ),
        (
            "no-browser",
            "",
            "Accepted for compatibility; has no effect",
        ),
        (
            "oauth-callback-port",
            " int",
            "Accepted for compatibility; has no effect",
        ),
        (
            "vertex-import",
            " string",
            "Import Vertex service account key JSON file (not supported by the built-in engine)",
        ),
        (
            "xai-login",
            "",
            "Login to xAI using OAuth (not supported by the built-in engine)",
        ),
    ];
    for (name, kind, help) in entries {
        text.push_str(&format!("  -{name}{kind}\n    \t{help}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(items: &[&str]) -> Vec<OsString> {
        items.iter().map(OsString::from).collect()
    }

    #[test]
    fn config_accepts_all_four_spellings() {
        for form in [
            args(&["-config", "a.yaml"]),
            args(&["--config", "a.yaml"]),
            args(&["-config=a.yaml"]),
            args(&["--config=a.yaml"]),
        ] {
            let flags = parse(&form).unwrap();
            assert_eq!(flags.config, Some(PathBuf::from("a.yaml")), "{form:?}");
        }
    }

    #[test]
    fn no_flags_means_default_config() {
        assert_eq!(parse(&[]).unwrap(), Flags::default());
    }

    #[test]
    fn unknown_flag_is_an_error() {
        assert_eq!(
            parse(&args(&["-nope"])),
            Err(ParseOutcome::Error(
                "flag provided but not defined: -nope".into()
            ))
        );
        assert_eq!(
            parse(&args(&["--version"])),
            Err(ParseOutcome::Error(
                "flag provided but not defined: -version".into()
            ))
        );
    }

    #[test]
    fn missing_value_is_an_error() {
        assert_eq!(
            parse(&args(&["-config"])),
            Err(ParseOutcome::Error(
                "flag needs an argument: -config".into()
            ))
        );
    }

    #[test]
    fn help_flags() {
        assert_eq!(parse(&args(&["-h"])), Err(ParseOutcome::Help));
        assert_eq!(parse(&args(&["--help"])), Err(ParseOutcome::Help));
    }

    #[test]
    fn parsing_stops_at_first_non_flag() {
        let flags = parse(&args(&["serve", "-nope"])).unwrap();
        assert_eq!(flags, Flags::default());
        let flags = parse(&args(&["--", "-nope"])).unwrap();
        assert_eq!(flags, Flags::default());
    }

    #[test]
    fn value_may_start_with_dash() {
        let flags = parse(&args(&["-password", "-abc"])).unwrap();
        assert_eq!(flags.password.as_deref(), Some("-abc"));
    }

    #[test]
    fn booleans_take_no_separate_value() {
        let flags = parse(&args(&["-no-browser", "false", "-config", "x"])).unwrap();
        assert_eq!(flags.config, None, "parsing stops at the non-flag `false`");
        assert!(matches!(
            parse(&args(&["-no-browser=maybe"])),
            Err(ParseOutcome::Error(_))
        ));
    }

    #[test]
    fn login_flags_are_reported_unsupported() {
        let flags = parse(&args(&["-codex-login"])).unwrap();
        assert_eq!(flags.unsupported.as_deref(), Some("codex-login"));
        let flags = parse(&args(&["-codex-login=false"])).unwrap();
        assert_eq!(flags.unsupported, None);
    }

    #[test]
    fn usage_hides_password() {
        let text = usage("cpa-engine");
        assert!(text.starts_with("Usage of cpa-engine:\n"));
        assert!(text.contains("-config string"));
        assert!(!text.contains("password"));
    }
}
