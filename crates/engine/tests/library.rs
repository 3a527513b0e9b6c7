//! The library entry point: `Engine::start` in process, the bound port, and
//! `shutdown`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use cpa_engine::{Engine, EngineOptions};

fn get_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).ok()?;
    reply.split(' ').nth(1)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_starts_serves_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, "host: \"127.0.0.1\"\nport: 0\n").unwrap();

    let engine = Engine::start(EngineOptions::new(&config))
        .await
        .expect("engine starts");
    let port = engine.local_addr().port();
    assert_ne!(port, 0);
    assert_eq!(engine.display_address(), format!("127.0.0.1:{port}"));

    let status = tokio::task::spawn_blocking(move || get_status(port, "/healthz"))
        .await
        .unwrap();
    assert_eq!(status, Some(200));

    engine.shutdown().await;
    let after =
        tokio::task::spawn_blocking(move || TcpStream::connect(("127.0.0.1", port)).is_ok())
            .await
            .unwrap();
    assert!(!after, "the port is closed after shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_error_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("missing.yaml");
    let error = match Engine::start(EngineOptions::new(&config)).await {
        Ok(_) => panic!("a missing file must not start"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("missing.yaml"), "{error}");
}

#[test]
fn check_config_reports_settings_without_listening() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        "host: \"127.0.0.1\"\nport: 8317\nremote-management:\n  allow-remote: true\n  secret-key: \"check-config-key\"\n",
    )
    .unwrap();
    let check = cpa_engine::check_config(&config).unwrap();
    assert_eq!(check.port, 8317);
    assert_eq!(check.host, "127.0.0.1");
    assert!(check.allow_remote);
    assert!(check.management_key_set);
    assert!(!check.tls_enabled);
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("$2a$10$"),
        "the key was hashed like a start: {text}"
    );
}
