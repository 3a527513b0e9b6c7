//! Checks a new management key against the running server with one request.
//!
//! After a password change and a restart, both `cpa-tray password set
//! --restart` and the tray's Reset Password send one authenticated
//! `GET /v0/management/config` and explain the response. The request is never
//! retried and never sent without the key: CLIProxyAPI counts every failed
//! management request against the client's address, and five failures ban
//! that address (loopback included) for 30 minutes.
//!
//! This module also holds the minimum password length while remote
//! management is on, which both front ends enforce before writing.

use std::time::Duration;

use crate::messages::Msg;
use crate::supervisor::{ServerAddress, http};

/// Minimum password length in bytes while `allow-remote: true`: remote
/// management exposes the key to guessing from the network.
pub const REMOTE_MIN_BYTES: usize = 12;

/// Time the one check request may take.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Management path the check requests; it needs the key and changes nothing.
pub const CHECK_PATH: &str = "/v0/management/config";

/// Classified response of the server to the check request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCheck {
    /// 200: the server accepts the new key.
    Active,
    /// 401: the server runs with another key.
    Rejected,
    /// 403 with "banned" in the body: too many failed attempts from this address.
    Banned,
    /// Another 403; `body` is the trimmed response body.
    Forbidden { body: String },
    /// 404: the server loaded no management key.
    Disabled,
    /// Any other status; `detail` is `HTTP <status>: <trimmed body>`.
    Unexpected { detail: String },
    /// The request failed (connect, timeout, malformed response).
    Failed { detail: String },
    /// The server uses TLS, which this plain HTTP client cannot speak, so no
    /// request was sent.
    SkippedTls,
}

impl KeyCheck {
    /// Returns whether the check found nothing wrong (active, or skipped for TLS).
    pub fn is_ok(&self) -> bool {
        matches!(self, KeyCheck::Active | KeyCheck::SkippedTls)
    }

    /// Returns the message that explains this outcome. `config` is the
    /// config file as shown to the user, named when the key is rejected.
    /// `env_password` is whether the server was given a non-empty
    /// `MANAGEMENT_PASSWORD`, which it accepts as a second key, so a 401
    /// names it as a possible cause.
    pub fn message<'a>(&'a self, config: &'a str, env_password: bool) -> Msg<'a> {
        match self {
            KeyCheck::Active => Msg::PasswordActive,
            KeyCheck::Rejected => Msg::PasswordRejected {
                config,
                env_password,
            },
            KeyCheck::Banned => Msg::ManagementBanned,
            // Upstream CLIProxyAPI names its two other 403s in the body: a
            // request it takes for a remote one while allow-remote is off,
            // and a server that loaded no key at all.
            KeyCheck::Forbidden { body } if body.contains("remote management disabled") => {
                Msg::ManagementNotLocal
            }
            KeyCheck::Forbidden { body } if body.contains("remote management key not set") => {
                Msg::ManagementKeyNotLoaded { config }
            }
            KeyCheck::Forbidden { body } => Msg::ManagementForbidden { body },
            KeyCheck::Disabled => Msg::ManagementDisabled,
            KeyCheck::Unexpected { detail } | KeyCheck::Failed { detail } => {
                Msg::PasswordCheckFailed { detail }
            }
            KeyCheck::SkippedTls => Msg::PasswordCheckSkippedTls,
        }
    }
}

/// Sends exactly one `GET /v0/management/config` with `Authorization: Bearer
/// <password>` to the server at `address` and classifies the response.
///
/// Sends nothing when `password` is empty (a request without the key would
/// only count as a failure) or when the server uses TLS.
pub fn check_management_key(address: &ServerAddress, password: &str) -> KeyCheck {
    if address.tls {
        return KeyCheck::SkippedTls;
    }
    if password.is_empty() {
        return KeyCheck::Failed {
            detail: "no password to check".to_string(),
        };
    }
    let bearer = format!("Bearer {password}");
    let response = http::get(
        address.probe(),
        CHECK_PATH,
        &[("Authorization", bearer.as_str())],
        CHECK_TIMEOUT,
    );
    match response {
        Ok(response) => classify(response.status, &response.body),
        Err(err) => KeyCheck::Failed {
            detail: err.to_string(),
        },
    }
}

/// Classifies a response to the check request by status and body.
pub fn classify(status: u16, body: &str) -> KeyCheck {
    match status {
        200 => KeyCheck::Active,
        401 => KeyCheck::Rejected,
        403 if body.contains("banned") => KeyCheck::Banned,
        403 => KeyCheck::Forbidden {
            body: body.trim().to_string(),
        },
        404 => KeyCheck::Disabled,
        other => KeyCheck::Unexpected {
            detail: format!("HTTP {other}: {}", body.trim()),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::messages::Lang;

    /// Serves `status` and `body` to every connection on a free port and
    /// records each request's head.
    fn serve(status: u16, body: &'static str) -> (u16, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { break };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                seen.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&head).into_owned());
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        (port, requests)
    }

    fn address(port: u16) -> ServerAddress {
        ServerAddress {
            host: "127.0.0.1".into(),
            port,
            tls: false,
        }
    }

    /// The two 403s upstream words in its body get their causes, not the
    /// server's JSON.
    #[test]
    fn worded_403s_name_their_cause() {
        let not_local = KeyCheck::Forbidden {
            body: "{\"error\":\"remote management disabled\"}".into(),
        };
        let no_key = KeyCheck::Forbidden {
            body: "{\"error\":\"remote management key not set\"}".into(),
        };
        let other = KeyCheck::Forbidden {
            body: "{\"error\":\"nope\"}".into(),
        };

        let not_local = not_local.message("/h/config.yaml", false).text(Lang::En);
        let no_key = no_key.message("/h/config.yaml", false).text(Lang::En);
        let other = other.message("/h/config.yaml", false).text(Lang::En);

        assert!(not_local.contains("another computer"), "{not_local}");
        assert!(!not_local.contains("{\""), "{not_local}");
        assert!(no_key.contains("/h/config.yaml"), "{no_key}");
        assert!(no_key.contains("cpa-tray status"), "{no_key}");
        assert!(other.contains("nope"), "{other}");
    }

    #[test]
    fn each_status_is_classified() {
        let cases = [
            (200, "{}", KeyCheck::Active),
            (401, "{\"error\":\"invalid\"}", KeyCheck::Rejected),
            (
                403,
                "{\"error\":\"IP banned due to too many failures\"}",
                KeyCheck::Banned,
            ),
            (
                403,
                " remote management disabled \n",
                KeyCheck::Forbidden {
                    body: "remote management disabled".into(),
                },
            ),
            (404, "404 page not found", KeyCheck::Disabled),
            (
                500,
                "boom\n",
                KeyCheck::Unexpected {
                    detail: "HTTP 500: boom".into(),
                },
            ),
        ];
        for (status, body, expected) in cases {
            let (port, requests) = serve(status, body);
            let outcome = check_management_key(&address(port), "Long-enough-p1");
            assert_eq!(outcome, expected, "status {status}");
            let requests = requests.lock().unwrap();
            assert_eq!(requests.len(), 1, "status {status}: one request only");
            assert!(requests[0].starts_with("GET /v0/management/config HTTP/1.1\r\n"));
            assert!(
                requests[0].contains("\r\nAuthorization: Bearer Long-enough-p1\r\n"),
                "{}",
                requests[0]
            );
        }
    }

    #[test]
    fn refused_connection_is_failed() {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let outcome = check_management_key(&address(port), "Long-enough-p1");
        assert!(
            matches!(outcome, KeyCheck::Failed { .. }),
            "expected a failure, got {outcome:?}"
        );
        assert!(!outcome.is_ok());
    }

    #[test]
    fn tls_and_empty_key_send_nothing() {
        let (port, requests) = serve(200, "{}");
        let mut tls = address(port);
        tls.tls = true;
        assert_eq!(
            check_management_key(&tls, "Long-enough-p1"),
            KeyCheck::SkippedTls
        );
        assert!(check_management_key(&tls, "x").is_ok());
        let empty = check_management_key(&address(port), "");
        assert!(matches!(empty, KeyCheck::Failed { .. }));
        std::thread::sleep(Duration::from_millis(100));
        assert!(requests.lock().unwrap().is_empty(), "no request was due");
    }

    #[test]
    fn messages_match_the_catalogue() {
        let config = "/home/u/.cli-proxy-api/config.yaml";
        assert_eq!(
            KeyCheck::Active.message(config, false).text(Lang::En),
            "Password active"
        );
        assert_eq!(
            KeyCheck::Unexpected {
                detail: "HTTP 500: boom".into()
            }
            .message(config, false)
            .text(Lang::En),
            "Failed to check the new password: HTTP 500: boom"
        );
        let rejected = KeyCheck::Rejected.message(config, false).text(Lang::En);
        assert!(rejected.contains(config), "{rejected}");
        assert!(!rejected.contains("MANAGEMENT_PASSWORD"), "{rejected}");
        let rejected = KeyCheck::Rejected.message(config, true).text(Lang::En);
        assert!(rejected.contains("MANAGEMENT_PASSWORD"), "{rejected}");
    }
}
