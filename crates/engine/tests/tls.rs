//! TLS from `tls.enable`, `tls.cert` and `tls.key`, with a self-signed
//! certificate made by the `openssl` command for this test.

mod common;

use std::process::Command;
use std::sync::Arc;

use common::*;

/// Writes a self-signed certificate for 127.0.0.1 into `dir`; `None` without openssl.
fn self_signed(dir: &std::path::Path) -> Option<()> {
    let output = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
        ])
        .current_dir(dir)
        .output();
    match output {
        Ok(output) if output.status.success() => Some(()),
        Ok(output) => panic!(
            "openssl failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(_) => cpa_testkit::missing_tool("openssl (to make a test certificate)"),
    }
}

fn tls_agent(cert_pem: &[u8]) -> ureq::Agent {
    let cert = ureq::tls::Certificate::from_pem(cert_pem).expect("parse the test certificate");
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![cert])))
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .build()
        .into()
}

#[test]
fn tls_serves_https_only() {
    let dir = tempfile::tempdir().unwrap();
    if self_signed(dir.path()).is_none() {
        return;
    }
    let key = "tls-key-1";
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        legacy_config(
            &fast_hash(key),
            "tls:\n  enable: true\n  cert: \"cert.pem\"\n  key: \"key.pem\"\n",
        ),
    )
    .unwrap();
    let cert_pem = std::fs::read(dir.path().join("cert.pem")).unwrap();
    let server = Server::start_at(dir, config, Launch::default());

    let agent = tls_agent(&cert_pem);
    let base = format!("https://127.0.0.1:{}", server.port);
    let mut health = agent
        .get(format!("{base}/healthz"))
        .call()
        .expect("HTTPS request");
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(
        health.body_mut().read_to_string().unwrap(),
        r#"{"status":"ok"}"#
    );

    let mut config = agent
        .get(format!("{base}/v0/management/config"))
        .header("Authorization", &bearer(key))
        .call()
        .unwrap();
    assert_eq!(config.status().as_u16(), 200);
    assert!(config.body_mut().read_to_string().unwrap().starts_with('{'));

    // Plain HTTP on the TLS port gets no HTTP reply.
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    use std::io::{Read, Write};
    let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    assert!(
        !reply.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&reply)
    );
}

#[test]
fn tls_with_mismatched_key_fails_startup() {
    let dir = tempfile::tempdir().unwrap();
    if self_signed(dir.path()).is_none() {
        return;
    }
    std::fs::write(
        dir.path().join("key.pem"),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("config.yaml"),
        legacy_config(
            "",
            "tls:\n  enable: true\n  cert: \"cert.pem\"\n  key: \"key.pem\"\n",
        ),
    )
    .unwrap();
    let output = engine_command()
        .args(["-config", "config.yaml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("key.pem"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn tls_enabled_without_files_fails_like_upstream() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.yaml"),
        legacy_config("", "tls:\n  enable: true\n"),
    )
    .unwrap();
    let output = engine_command()
        .args(["-config", "config.yaml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("tls.cert or tls.key is empty"), "{stderr}");
}
