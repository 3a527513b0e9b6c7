//! Release check and install against a fake GitHub on 127.0.0.1.
//!
//! Every failure test starts from a `versions/` folder that already contains
//! v8.0.9 and asserts afterwards that the folder is byte-for-byte what it was
//! (no temporary entries, previous version intact) and that the error names
//! the failure.

mod releases_support;

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cpa_core::releases::{
    self, Arch, InstallOptions, InstallOutcome, MissingChecksum, Os, Platform, ProxySetting,
    ReleaseError, ReleaseSource, TEMP_PREFIX, Timeouts, UpdateStatus, Verification, VersionStore,
};
use releases_support::*;

const REPO: &str = "router-for-me/CLIProxyAPI";
const LATEST_PATH: &str = "/repos/router-for-me/CLIProxyAPI/releases/latest";
const LINUX_AMD64: Platform = Platform {
    os: Os::Linux,
    arch: Arch::Amd64,
};

fn source(server: &FakeGithub) -> ReleaseSource {
    ReleaseSource {
        api_base: server.url(),
        proxy: ProxySetting::Direct,
        timeouts: Timeouts {
            connect: Duration::from_secs(2),
            read: Duration::from_secs(5),
            api_total: Duration::from_secs(10),
        },
        ..ReleaseSource::default()
    }
}

/// A home folder whose path has spaces, brackets and non-ASCII letters, with
/// v8.0.9 already installed in `versions/`.
struct Home {
    _temp: tempfile::TempDir,
    versions: PathBuf,
}

impl Home {
    fn new() -> Home {
        let temp = tempfile::tempdir().unwrap();
        let versions = temp.path().join("home [test] ü 目录").join("versions");
        let previous = versions.join("v8.0.9");
        fs::create_dir_all(&previous).unwrap();
        write_executable(&previous.join("cli-proxy-api"), &stand_in_binary("v8.0.9"));
        Home {
            _temp: temp,
            versions,
        }
    }

    fn store(&self, platform: Platform) -> VersionStore {
        VersionStore::for_platform(&self.versions, platform)
    }
}

fn write_executable(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
    }
}

fn options(platform: Platform) -> InstallOptions {
    InstallOptions {
        recorded_version: Some("v8.0.9".to_string()),
        ..InstallOptions::new(platform)
    }
}

fn install_latest(
    _server: &FakeGithub,
    home: &Home,
    source: &ReleaseSource,
    options: &InstallOptions,
) -> Result<InstallOutcome, ReleaseError> {
    let store = home.store(options.platform);
    let checked = releases::check(
        source,
        &store,
        options.recorded_version.as_deref(),
        options.platform,
    )?;
    let never = AtomicBool::new(false);
    releases::install(
        source,
        &checked.latest,
        &store,
        options,
        &mut |_| {},
        &never,
    )
}

/// Runs an install that must fail and checks that `versions/` is unchanged.
fn expect_failure(
    server: &FakeGithub,
    home: &Home,
    source: &ReleaseSource,
    options: &InstallOptions,
) -> ReleaseError {
    let before = snapshot(&home.versions);
    let err = install_latest(server, home, source, options).expect_err("the install must fail");
    assert_unchanged(home, &before);
    err
}

fn assert_unchanged(home: &Home, before: &[(String, String)]) {
    let after = snapshot(&home.versions);
    assert_eq!(after, before, "versions/ changed after a failed install");
    let leftovers: Vec<String> = after
        .iter()
        .map(|(name, _)| name.clone())
        .filter(|name| name.contains(TEMP_PREFIX))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary entries left: {leftovers:?}"
    );
    let store = home.store(LINUX_AMD64);
    let active = store.resolve_active(Some("v8.0.9")).unwrap().unwrap();
    assert_eq!(active.installed.tag, "v8.0.9");
}

/// Formats an error like the CLI does: message, causes, hint.
fn full_message(err: &ReleaseError) -> String {
    let mut text = err.to_string();
    let mut cause = std::error::Error::source(err);
    while let Some(inner) = cause {
        text.push_str(&format!("\nCaused by: {inner}"));
        cause = inner.source();
    }
    if let Some(hint) = err.hint() {
        text.push_str(&format!("\nhint: {hint}"));
    }
    text
}

fn linux_release(tag: &str) -> FakeAsset {
    platform_archive(tag, "linux", "amd64")
}

// ---------------------------------------------------------------------------
// Check

#[test]
fn check_sends_one_request_with_headers() {
    let server = FakeGithub::start();
    publish_with_checksums(&server, REPO, "v8.0.10", &all_platform_assets("v8.0.10"));
    let home = Home::new();
    let mut source = source(&server);
    source.token = Some("ghp_test_token_value".into());

    let checked = releases::check(
        &source,
        &home.store(LINUX_AMD64),
        Some("v8.0.9"),
        LINUX_AMD64,
    )
    .unwrap();

    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{:?}", server.request_paths());
    let request = &requests[0];
    assert_eq!(request.path, LATEST_PATH);
    assert_eq!(
        request.header("accept"),
        Some("application/vnd.github+json")
    );
    let agent = request.header("user-agent").unwrap();
    assert!(agent.starts_with("cpa-tray/"), "{agent}");
    assert_eq!(
        request.header("authorization"),
        Some("Bearer ghp_test_token_value")
    );
    assert_eq!(checked.latest.tag, "v8.0.10");
    assert_eq!(checked.status, UpdateStatus::UpdateAvailable);
    assert_eq!(checked.active.unwrap().tag, "v8.0.9");
    assert_eq!(
        checked.asset.unwrap().name,
        "CLIProxyAPI_8.0.10_linux_amd64.tar.gz"
    );
    assert!(!checked.latest_installed);
}

#[test]
fn check_compares_semantically() {
    let server = FakeGithub::start();
    let home = Home::new();
    let store = home.store(LINUX_AMD64);
    let source = source(&server);

    // v8.0.10 > v8.0.9 although "v8.0.10" < "v8.0.9" as strings.
    publish(&server, REPO, "v8.0.10", &[linux_release("v8.0.10")]);
    let checked = releases::check(&source, &store, Some("v8.0.9"), LINUX_AMD64).unwrap();
    assert_eq!(checked.status, UpdateStatus::UpdateAvailable);

    publish(&server, REPO, "v8.0.9", &[linux_release("v8.0.9")]);
    let checked = releases::check(&source, &store, Some("v8.0.9"), LINUX_AMD64).unwrap();
    assert_eq!(checked.status, UpdateStatus::UpToDate);
    assert!(checked.latest_installed);

    // An older "latest" is never offered as an update.
    publish(&server, REPO, "v8.0.8", &[linux_release("v8.0.8")]);
    let checked = releases::check(&source, &store, Some("v8.0.9"), LINUX_AMD64).unwrap();
    assert_eq!(checked.status, UpdateStatus::ActiveIsNewer);

    let empty = tempfile::tempdir().unwrap();
    let empty_store = VersionStore::for_platform(empty.path().join("versions"), LINUX_AMD64);
    let checked = releases::check(&source, &empty_store, None, LINUX_AMD64).unwrap();
    assert_eq!(checked.status, UpdateStatus::NotInstalled);
}

#[test]
fn check_reports_missing_asset_before_download() {
    let server = FakeGithub::start();
    publish(
        &server,
        REPO,
        "v8.0.10",
        &[platform_archive("v8.0.10", "windows", "amd64")],
    );
    let home = Home::new();
    let checked = releases::check(
        &source(&server),
        &home.store(LINUX_AMD64),
        None,
        LINUX_AMD64,
    )
    .unwrap();
    let message = checked.asset.unwrap_err().to_string();
    assert!(message.contains("linux/amd64"), "{message}");
    assert!(
        message.contains("CLIProxyAPI_8.0.10_windows_amd64.zip"),
        "{message}"
    );
}

#[test]
fn rate_limit_names_reset_time() {
    let server = FakeGithub::start();
    server.route(
        LATEST_PATH,
        Route::Respond {
            status: 403,
            headers: vec![
                ("X-RateLimit-Remaining".into(), "0".into()),
                ("X-RateLimit-Reset".into(), "1893456000".into()),
            ],
            body: Body::Bytes(br#"{"message":"API rate limit exceeded for 127.0.0.1."}"#.to_vec()),
        },
    );
    let home = Home::new();
    let mut source = source(&server);
    source.token = Some("ghp_secret_token".into());

    let err = expect_failure(&server, &home, &source, &options(LINUX_AMD64));
    assert!(
        matches!(err, ReleaseError::RateLimited { status: 403, .. }),
        "{err:?}"
    );
    let message = full_message(&err);
    assert!(message.contains("2030-01-01 00:00:00 UTC"), "{message}");
    assert!(message.contains("API rate limit exceeded"), "{message}");
    assert!(
        message.contains("hint: wait until the reset time"),
        "{message}"
    );
    assert!(!message.contains("ghp_secret_token"), "{message}");
    assert!(!format!("{err:?}").contains("ghp_secret_token"));
}

#[test]
fn rate_limit_429_and_plain_403() {
    let server = FakeGithub::start();
    let home = Home::new();
    let store = home.store(LINUX_AMD64);
    server.route(
        LATEST_PATH,
        Route::Respond {
            status: 429,
            headers: vec![("Retry-After".into(), "60".into())],
            body: Body::Bytes(br#"{"message":"secondary rate limit"}"#.to_vec()),
        },
    );
    let err = releases::check(&source(&server), &store, None, LINUX_AMD64).unwrap_err();
    assert!(
        matches!(err, ReleaseError::RateLimited { status: 429, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("60 s from now"), "{err}");

    // A 403 with quota left is not a rate limit (for example a blocked token).
    server.route(
        LATEST_PATH,
        Route::Respond {
            status: 403,
            headers: vec![("X-RateLimit-Remaining".into(), "42".into())],
            body: Body::Bytes(br#"{"message":"Resource not accessible"}"#.to_vec()),
        },
    );
    let err = releases::check(&source(&server), &store, None, LINUX_AMD64).unwrap_err();
    assert!(
        matches!(err, ReleaseError::HttpStatus { status: 403, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("Resource not accessible"), "{err}");
}

#[test]
fn not_found_names_url_and_message() {
    let server = FakeGithub::start();
    let home = Home::new();
    let mut source = source(&server);
    source.repository = "luispater/CLIProxyAPI".into();
    let err = expect_failure(&server, &home, &source, &options(LINUX_AMD64));
    assert!(matches!(err, ReleaseError::NotFound { .. }), "{err:?}");
    let message = full_message(&err);
    assert!(
        message.contains("/repos/luispater/CLIProxyAPI/releases/latest"),
        "{message}"
    );
    assert!(message.contains("Not Found"), "{message}");
    assert!(
        message.contains("hint: check the repository name"),
        "{message}"
    );
}

#[test]
fn truncated_json_is_invalid_json() {
    let server = FakeGithub::start();
    server.route(
        LATEST_PATH,
        Route::json(200, r#"{"tag_name":"v8.0.10","assets":[{"na"#),
    );
    let home = Home::new();
    let err = expect_failure(&server, &home, &source(&server), &options(LINUX_AMD64));
    assert!(matches!(err, ReleaseError::InvalidJson { .. }), "{err:?}");
    assert!(full_message(&err).contains("EOF"), "{}", full_message(&err));
}

#[test]
fn unsafe_tag_in_release_is_rejected() {
    let server = FakeGithub::start();
    server.route(
        LATEST_PATH,
        Route::json(200, r#"{"tag_name":"../../evil","assets":[]}"#),
    );
    let home = Home::new();
    let err = expect_failure(&server, &home, &source(&server), &options(LINUX_AMD64));
    assert!(matches!(err, ReleaseError::InvalidTag { .. }), "{err:?}");
}

#[test]
fn api_timeout_is_reported() {
    let server = FakeGithub::start();
    server.route(LATEST_PATH, Route::Hang);
    let home = Home::new();
    let mut source = source(&server);
    source.timeouts.read = Duration::from_millis(300);
    source.timeouts.api_total = Duration::from_millis(800);

    let started = Instant::now();
    let err = expect_failure(&server, &home, &source, &options(LINUX_AMD64));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(matches!(err, ReleaseError::Timeout { .. }), "{err:?}");
    let message = full_message(&err);
    assert!(message.contains("Timed out"), "{message}");
    assert!(message.contains(LATEST_PATH), "{message}");
}

// ---------------------------------------------------------------------------
// Successful installs

#[cfg(unix)]
#[test]
fn install_verified_release_and_run_it() {
    let server = FakeGithub::start();
    publish_with_checksums(&server, REPO, "v8.0.10", &all_platform_assets("v8.0.10"));
    let home = Home::new();
    let store = home.store(LINUX_AMD64);
    let source = source(&server);
    let checked = releases::check(&source, &store, Some("v8.0.9"), LINUX_AMD64).unwrap();
    server.clear_log();

    let mut reports: Vec<releases::Progress> = Vec::new();
    let never = AtomicBool::new(false);
    let outcome = releases::install(
        &source,
        &checked.latest,
        &store,
        &options(LINUX_AMD64),
        &mut |progress| reports.push(progress),
        &never,
    )
    .unwrap();

    // No second API request: the check's release is reused.
    let paths = server.request_paths();
    assert_eq!(
        paths,
        vec![
            "/download/v8.0.10/checksums.txt".to_string(),
            "/download/v8.0.10/CLIProxyAPI_8.0.10_linux_amd64.tar.gz".to_string(),
        ]
    );
    assert_eq!(outcome.installed.tag, "v8.0.10");
    assert_eq!(outcome.installed.dir, home.versions.join("v8.0.10"));
    assert_eq!(outcome.previous_active.unwrap().tag, "v8.0.9");
    assert!(matches!(
        outcome.verification,
        Verification::ChecksumsFile { .. }
    ));

    let total = checked.asset.unwrap().size;
    let last = reports.last().unwrap();
    assert_eq!(last.received, total);
    assert_eq!(last.total, Some(total));

    // The installed file is the stand-in script, executable, and it runs.
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(&outcome.installed.binary)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    let output = std::process::Command::new(&outcome.installed.binary)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "CLIProxyAPI stand-in v8.0.10"
    );

    // Only the binary was extracted, and the previous version is untouched.
    let names: Vec<String> = fs::read_dir(&outcome.installed.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["cli-proxy-api"]);
    assert_eq!(
        fs::read(home.versions.join("v8.0.9/cli-proxy-api")).unwrap(),
        stand_in_binary("v8.0.9")
    );
    let top: Vec<String> = fs::read_dir(&home.versions)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(!top.iter().any(|n| n.starts_with(TEMP_PREFIX)), "{top:?}");

    // A second install finds the version and downloads nothing.
    server.clear_log();
    let again = releases::install(
        &source,
        &checked.latest,
        &store,
        &options(LINUX_AMD64),
        &mut |_| {},
        &never,
    )
    .unwrap();
    assert_eq!(again.verification, Verification::AlreadyInstalled);
    assert!(server.requests().is_empty(), "{:?}", server.request_paths());
}

#[test]
fn install_every_platform_shape() {
    let server = FakeGithub::start();
    publish_with_checksums(&server, REPO, "v8.0.10", &all_platform_assets("v8.0.10"));
    let source = source(&server);
    for os in [Os::Windows, Os::Linux, Os::Darwin] {
        for arch in [Arch::Amd64, Arch::Aarch64] {
            let platform = Platform { os, arch };
            let home = Home::new();
            let outcome = install_latest(&server, &home, &source, &options(platform))
                .unwrap_or_else(|err| panic!("{platform}: {}", full_message(&err)));
            let expected_binary = if os == Os::Windows {
                "cli-proxy-api.exe"
            } else {
                "cli-proxy-api"
            };
            assert_eq!(
                outcome.installed.binary,
                home.versions.join("v8.0.10").join(expected_binary),
                "{platform}"
            );
            assert_eq!(
                fs::read(&outcome.installed.binary).unwrap(),
                stand_in_binary("v8.0.10"),
                "{platform}: the full build, not the _no-plugin twin"
            );
        }
    }
}

#[test]
fn github_digest_verifies_without_checksums_file() {
    let server = FakeGithub::start();
    let mut asset = linux_release("v8.0.10");
    asset.digest = Some(format!("sha256:{}", sha256_hex(&asset.bytes)));
    publish(&server, REPO, "v8.0.10", &[asset]);
    let home = Home::new();
    let outcome = install_latest(&server, &home, &source(&server), &options(LINUX_AMD64)).unwrap();
    assert!(matches!(
        outcome.verification,
        Verification::GithubDigest { .. }
    ));
}

// ---------------------------------------------------------------------------
// Download failures

#[test]
fn truncated_download_installs_nothing() {
    let server = FakeGithub::start();
    let mut asset = linux_release("v8.0.10");
    let half = asset.bytes[..asset.bytes.len() / 2].to_vec();
    asset.route = Some(Route::Truncated {
        body: half.clone(),
        claimed_len: asset.bytes.len() as u64,
    });
    publish_with_checksums(&server, REPO, "v8.0.10", std::slice::from_ref(&asset));
    let home = Home::new();
    let err = expect_failure(&server, &home, &source(&server), &options(LINUX_AMD64));
    match &err {
        ReleaseError::Truncated {
            received, expected, ..
        } => {
            assert_eq!(*received, half.len() as u64);
            assert_eq!(*expected, asset.bytes.len() as u64);
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
    assert!(
        full_message(&err).contains("truncated"),
        "{}",
        full_message(&err)
    );
}

#[test]
fn listed_size_mismatch_is_rejected() {
    let server = FakeGithub::start();
    let mut asset = linux_release("v8.0.10");
    asset.listed_size = Some(asset.bytes.len() as u64 - 10);
    publish(&server, REPO, "v8.0.10", &[asset]);
    let home = Home::new();
    let mut opts = options(LINUX_AMD64);
    opts.allow_unverified = true;
    let err = expect_failure(&server, &home, &source(&server), &opts);
    assert!(matches!(err, ReleaseError::TooLarge { .. }), "{err:?}");
}

#[test]
fn stalled_download_times_out() {
    let server = FakeGithub::start();
    let mut asset = linux_release("v8.0.10");
    asset.route = Some(Route::Stall {
        body: asset.bytes.clone(),
        sent: 100,
    });
    publish_with_checksums(&server, REPO, "v8.0.10", &[asset]);
    let home = Home::new();
    let mut source = source(&server);
    source.timeouts.read = Duration::from_millis(300);
    let err = expect_failure(&server, &home, &source, &options(LINUX_AMD64));
    assert!(matches!(err, ReleaseError::Timeout { .. }), "{err:?}");
}

#[test]
fn wrong_checksum_installs_nothing() {
    let server = FakeGithub::start();
    let asset = linux_release("v8.0.10");
    let wrong = format!("{}  {}\n", "ab".repeat(32), asset.name);
    publish(
        &server,
        REPO,
        "v8.0.10",
        &[
            asset.clone(),
            FakeAsset::new("checksums.txt", wrong.into_bytes()),
        ],
    );
    let home = Home::new();
    let err = expect_failure(&server, &home, &source(&server), &options(LINUX_AMD64));
    match &err {
        ReleaseError::ChecksumMismatch {
            expected,
            actual,
            name,
        } => {
            assert_eq!(expected, &"ab".repeat(32));
            assert_eq!(actual, &sha256_hex(&asset.bytes));
            assert_eq!(name, &asset.name);
        }
        other => panic!("expected ChecksumMismatch, got {other:?}"),
    }
}

#[test]
fn wrong_github_digest_installs_nothing() {
    let server = FakeGithub::start();
    let mut asset = linux_release("v8.0.10");
    asset.digest = Some(format!("sha256:{}", "cd".repeat(32)));
    publish_with_checksums(&server, REPO, "v8.0.10", &[asset]);
    let home = Home::new();
    let err = expect_failure(&server, &home, &source(&server), &options(LINUX_AMD64));
    assert!(
        matches!(err, ReleaseError::ChecksumMismatch { .. }),
        "{err:?}"
    );
}

#[test]
fn missing_checksums_needs_allow_unverified() {
    let server = FakeGithub::start();
    publish(&server, REPO, "v8.0.10", &[linux_release("v8.0.10")]);
    let home = Home::new();
    let source = source(&server);

    server.clear_log();
    let err = expect_failure(&server, &home, &source, &options(LINUX_AMD64));
    assert!(
        matches!(
            err,
            ReleaseError::ChecksumMissing {
                reason: MissingChecksum::NoChecksumsFile,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        full_message(&err).contains("--allow-unverified"),
        "{}",
        full_message(&err)
    );
    // Refused before the archive was downloaded.
    assert_eq!(server.request_paths(), vec![LATEST_PATH.to_string()]);

    let mut opts = options(LINUX_AMD64);
    opts.allow_unverified = true;
    let outcome = install_latest(&server, &home, &source, &opts).unwrap();
    assert!(matches!(
        outcome.verification,
        Verification::Unverified { .. }
    ));
    assert!(outcome.installed.binary.is_file());
}

#[test]
fn checksums_without_entry_needs_allow_unverified() {
    let server = FakeGithub::start();
    let asset = linux_release("v8.0.10");
    let other = platform_archive("v8.0.10", "darwin", "amd64");
    publish(
        &server,
        REPO,
        "v8.0.10",
        &[
            asset,
            FakeAsset::new("checksums.txt", checksums_text(&[other]).into_bytes()),
        ],
    );
    let home = Home::new();
    let err = expect_failure(&server, &home, &source(&server), &options(LINUX_AMD64));
    assert!(
        matches!(
            err,
            ReleaseError::ChecksumMissing {
                reason: MissingChecksum::NoEntry,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn html_page_instead_of_archive() {
    for (os, arch) in [("linux", "amd64"), ("windows", "amd64")] {
        let server = FakeGithub::start();
        let real = platform_archive("v8.0.10", os, arch);
        let html = b"<html><body>Access blocked by proxy</body></html>".to_vec();
        let mut asset = FakeAsset::new(&real.name, html.clone());
        asset.route = Some(Route::ok(html, "text/html"));
        publish_with_checksums(&server, REPO, "v8.0.10", &[asset]);
        let home = Home::new();
        let platform =
            Platform::from_rust(if os == "linux" { "linux" } else { "windows" }, "x86_64").unwrap();
        let err = expect_failure(&server, &home, &source(&server), &options(platform));
        assert!(matches!(err, ReleaseError::NotAnArchive { .. }), "{err:?}");
        let message = full_message(&err);
        assert!(
            message.contains("not a zip/tar.gz; check proxy settings"),
            "{message}"
        );
        assert!(message.contains("text/html"), "{message}");
    }
}

#[test]
fn cancel_stops_download_and_cleans_up() {
    let server = FakeGithub::start();
    // A large, incompressible binary so the download spans many chunks.
    let mut noise = vec![0u8; 2 * 1024 * 1024];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for byte in noise.iter_mut() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state as u8;
    }
    let bytes = tar_gz_archive(&[Entry::file("cli-proxy-api", &noise)]);
    let asset = FakeAsset::new("CLIProxyAPI_8.0.10_linux_amd64.tar.gz", bytes);
    publish_with_checksums(&server, REPO, "v8.0.10", &[asset]);
    let home = Home::new();
    let store = home.store(LINUX_AMD64);
    let source = source(&server);
    let checked = releases::check(&source, &store, Some("v8.0.9"), LINUX_AMD64).unwrap();

    let before = snapshot(&home.versions);
    let cancel = AtomicBool::new(false);
    let chunks = AtomicU64::new(0);
    let err = releases::install(
        &source,
        &checked.latest,
        &store,
        &options(LINUX_AMD64),
        &mut |_| {
            chunks.fetch_add(1, Ordering::SeqCst);
            cancel.store(true, Ordering::SeqCst);
        },
        &cancel,
    )
    .unwrap_err();
    assert!(matches!(err, ReleaseError::Cancelled), "{err:?}");
    assert_eq!(err.to_string(), "Update cancelled");
    assert_eq!(chunks.load(Ordering::SeqCst), 1);
    assert_unchanged(&home, &before);
}

// ---------------------------------------------------------------------------
// Archive content failures

fn publish_archive(server: &FakeGithub, name: &str, bytes: Vec<u8>) {
    publish_with_checksums(server, REPO, "v8.0.10", &[FakeAsset::new(name, bytes)]);
}

#[test]
fn archive_without_binary() {
    for (name, bytes) in [
        (
            "CLIProxyAPI_8.0.10_linux_amd64.tar.gz",
            tar_gz_archive(&[
                Entry::file("LICENSE", b"MIT"),
                Entry::file("cli-proxy-api-other", b"x"),
            ]),
        ),
        (
            "CLIProxyAPI_8.0.10_windows_amd64.zip",
            // Any other .exe must not be installed under the binary's name.
            zip_archive(&[
                Entry::file("LICENSE", b"MIT"),
                Entry::file("setup.exe", b"MZ"),
            ]),
        ),
        (
            "CLIProxyAPI_8.0.10_linux_amd64.tar.gz",
            // The binary in a subfolder is not the flat release layout.
            tar_gz_archive(&[
                Entry::Dir {
                    name: "bin/".into(),
                },
                Entry::file("bin/cli-proxy-api", b"x"),
            ]),
        ),
    ] {
        let server = FakeGithub::start();
        publish_archive(&server, name, bytes);
        let home = Home::new();
        let platform = Platform::from_rust(
            if name.contains("windows") {
                "windows"
            } else {
                "linux"
            },
            "x86_64",
        )
        .unwrap();
        let err = expect_failure(&server, &home, &source(&server), &options(platform));
        assert!(
            matches!(err, ReleaseError::BinaryMissing { .. }),
            "{name}: {err:?}"
        );
        assert!(
            full_message(&err).contains("does not contain"),
            "{}",
            full_message(&err)
        );
    }
}

#[test]
fn traversal_and_absolute_entries_are_rejected() {
    let binary = stand_in_binary("v8.0.10");
    let cases: Vec<(&str, Vec<Entry>, &str)> = vec![
        (
            "dotdot",
            vec![
                Entry::file("cli-proxy-api", &binary),
                Entry::file("../x", b"evil"),
            ],
            "'..'",
        ),
        (
            "nested dotdot",
            vec![
                Entry::file("a/../../x", b"evil"),
                Entry::file("cli-proxy-api", &binary),
            ],
            "'..'",
        ),
        (
            "absolute",
            vec![
                Entry::file("cli-proxy-api", &binary),
                Entry::file("/tmp/x", b"evil"),
            ],
            "absolute",
        ),
        (
            "backslash dotdot",
            vec![
                Entry::file("..\\x", b"evil"),
                Entry::file("cli-proxy-api", &binary),
            ],
            "'..'",
        ),
        (
            "drive letter",
            vec![
                Entry::file("C:/x", b"evil"),
                Entry::file("cli-proxy-api", &binary),
            ],
            "absolute",
        ),
    ];
    for (label, entries, reason) in cases {
        for format in ["tar.gz", "zip"] {
            let (name, bytes, platform) = if format == "zip" {
                let entries: Vec<Entry> = entries
                    .iter()
                    .map(|e| match e {
                        Entry::File { name, data } if name == "cli-proxy-api" => {
                            Entry::file("cli-proxy-api.exe", data)
                        }
                        other => other.clone(),
                    })
                    .collect();
                (
                    "CLIProxyAPI_8.0.10_windows_amd64.zip",
                    zip_archive(&entries),
                    Platform {
                        os: Os::Windows,
                        arch: Arch::Amd64,
                    },
                )
            } else {
                (
                    "CLIProxyAPI_8.0.10_linux_amd64.tar.gz",
                    tar_gz_archive(&entries),
                    LINUX_AMD64,
                )
            };
            let server = FakeGithub::start();
            publish_archive(&server, name, bytes);
            let home = Home::new();
            let err = expect_failure(&server, &home, &source(&server), &options(platform));
            assert!(
                matches!(err, ReleaseError::UnsafeArchive { .. }),
                "{label} ({format}): {err:?}"
            );
            assert!(
                err.to_string().contains(reason),
                "{label} ({format}): {err}"
            );
            // Nothing escaped next to versions/ either.
            assert!(!home.versions.parent().unwrap().join("x").exists());
        }
    }
}

#[test]
fn link_entries_are_rejected() {
    let binary = stand_in_binary("v8.0.10");
    let cases = [
        (
            "tar symlink",
            "CLIProxyAPI_8.0.10_linux_amd64.tar.gz",
            tar_gz_archive(&[Entry::Symlink {
                name: "cli-proxy-api".into(),
                target: "/bin/sh".into(),
            }]),
            "symbolic link",
        ),
        (
            "tar hard link",
            "CLIProxyAPI_8.0.10_linux_amd64.tar.gz",
            tar_gz_archive(&[
                Entry::file("LICENSE", &binary),
                Entry::HardLink {
                    name: "cli-proxy-api".into(),
                    target: "LICENSE".into(),
                },
            ]),
            "hard link",
        ),
        (
            "zip symlink",
            "CLIProxyAPI_8.0.10_windows_amd64.zip",
            zip_archive(&[
                Entry::file("cli-proxy-api.exe", &binary),
                Entry::Symlink {
                    name: "LICENSE".into(),
                    target: "/etc/passwd".into(),
                },
            ]),
            "symbolic link",
        ),
    ];
    for (label, name, bytes, reason) in cases {
        let server = FakeGithub::start();
        publish_archive(&server, name, bytes);
        let home = Home::new();
        let platform = Platform::from_rust(
            if name.contains("windows") {
                "windows"
            } else {
                "linux"
            },
            "x86_64",
        )
        .unwrap();
        let err = expect_failure(&server, &home, &source(&server), &options(platform));
        assert!(
            matches!(err, ReleaseError::UnsafeArchive { .. }),
            "{label}: {err:?}"
        );
        assert!(err.to_string().contains(reason), "{label}: {err}");
    }
}

#[test]
fn empty_binary_is_rejected() {
    let server = FakeGithub::start();
    publish_archive(
        &server,
        "CLIProxyAPI_8.0.10_linux_amd64.tar.gz",
        tar_gz_archive(&[Entry::file("cli-proxy-api", b"")]),
    );
    let home = Home::new();
    let err = expect_failure(&server, &home, &source(&server), &options(LINUX_AMD64));
    assert!(err.to_string().contains("is empty"), "{err}");
}

// ---------------------------------------------------------------------------
// Disk full

/// A writer that fails with "No space left on device" once `limit` bytes
/// have been written. This machine has no small tmpfs or quota-limited
/// folder for tests, so the fault is injected at the file layer.
struct FullDisk {
    inner: fs::File,
    written: u64,
    limit: u64,
}

impl Write for FullDisk {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written + buf.len() as u64 > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "No space left on device",
            ));
        }
        self.written += buf.len() as u64;
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[test]
fn disk_full_during_download() {
    let server = FakeGithub::start();
    publish_with_checksums(&server, REPO, "v8.0.10", &[linux_release("v8.0.10")]);
    let home = Home::new();
    let mut opts = options(LINUX_AMD64);
    opts.wrap_writer = Some(Arc::new(|_path: &Path, file: fs::File| {
        Box::new(FullDisk {
            inner: file,
            written: 0,
            limit: 64,
        }) as Box<dyn Write + Send>
    }));
    let err = expect_failure(&server, &home, &source(&server), &opts);
    assert!(
        matches!(
            err,
            ReleaseError::Io {
                action: "write",
                ..
            }
        ),
        "{err:?}"
    );
    let message = full_message(&err);
    assert!(message.contains("No space left on device"), "{message}");
    assert!(message.contains("hint: free some disk space"), "{message}");
}

#[test]
fn disk_full_during_extraction() {
    let server = FakeGithub::start();
    publish_with_checksums(&server, REPO, "v8.0.10", &[linux_release("v8.0.10")]);
    let home = Home::new();
    let mut opts = options(LINUX_AMD64);
    let wrapped = Arc::new(std::sync::Mutex::new(Vec::<PathBuf>::new()));
    let seen = Arc::clone(&wrapped);
    opts.wrap_writer = Some(Arc::new(move |path: &Path, file: fs::File| {
        seen.lock().unwrap().push(path.to_path_buf());
        let limit = if path.ends_with("cli-proxy-api") {
            8
        } else {
            u64::MAX
        };
        Box::new(FullDisk {
            inner: file,
            written: 0,
            limit,
        }) as Box<dyn Write + Send>
    }));
    let err = expect_failure(&server, &home, &source(&server), &opts);
    assert!(
        matches!(
            err,
            ReleaseError::Io {
                action: "write",
                ..
            }
        ),
        "{err:?}"
    );
    let paths = wrapped.lock().unwrap();
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert!(paths[1].ends_with("cli-proxy-api"), "{paths:?}");
}

// ---------------------------------------------------------------------------
// Mirrors and proxies

#[test]
fn mirror_is_tried_first() {
    let server = FakeGithub::start();
    let asset = linux_release("v8.0.10");
    publish_with_checksums(&server, REPO, "v8.0.10", std::slice::from_ref(&asset));
    // The mirror serves the same bytes under prefix + original URL.
    let original = format!("{}/download/v8.0.10/{}", server.url(), asset.name);
    let sums_original = format!("{}/download/v8.0.10/checksums.txt", server.url());
    server.route(
        &format!("/mirror/{original}"),
        Route::ok(asset.bytes.clone(), "application/gzip"),
    );
    server.route(
        &format!("/mirror/{sums_original}"),
        Route::ok(checksums_text(&[asset]).into_bytes(), "text/plain"),
    );
    let home = Home::new();
    let mut source = source(&server);
    source.mirrors = vec![format!("{}/mirror/", server.url())];

    server.clear_log();
    let outcome = install_latest(&server, &home, &source, &options(LINUX_AMD64)).unwrap();
    assert_eq!(
        outcome.downloaded_from.as_deref(),
        Some(format!("{}/mirror/{original}", server.url()).as_str())
    );
    let downloads: Vec<String> = server
        .request_paths()
        .into_iter()
        .filter(|p| p != LATEST_PATH)
        .collect();
    assert_eq!(
        downloads,
        vec![
            format!("/mirror/{sums_original}"),
            format!("/mirror/{original}")
        ]
    );
}

#[test]
fn mirror_failure_falls_back_to_plain_url() {
    let server = FakeGithub::start();
    let asset = linux_release("v8.0.10");
    publish_with_checksums(&server, REPO, "v8.0.10", std::slice::from_ref(&asset));
    let original = format!("{}/download/v8.0.10/{}", server.url(), asset.name);
    // The first mirror is down (502); the second serves a login page.
    server.route(
        &format!("/bad/{original}"),
        Route::json(502, r#"{"message":"bad gateway"}"#),
    );
    server.route(
        &format!("/portal/{original}"),
        Route::ok(b"<html>login</html>".to_vec(), "text/html"),
    );
    let home = Home::new();
    let mut source = source(&server);
    source.mirrors = vec![
        format!("{}/bad/", server.url()),
        format!("{}/portal", server.url()),
    ];

    server.clear_log();
    let outcome = install_latest(&server, &home, &source, &options(LINUX_AMD64)).unwrap();
    assert_eq!(outcome.downloaded_from.as_deref(), Some(original.as_str()));
    let archive_requests: Vec<String> = server
        .request_paths()
        .into_iter()
        .filter(|p| p.ends_with(".tar.gz"))
        .collect();
    assert_eq!(
        archive_requests,
        vec![
            format!("/bad/{original}"),
            format!("/portal/{original}"),
            format!("/download/v8.0.10/{}", asset.name),
        ]
    );
}

#[test]
fn every_source_failing_lists_attempts() {
    let server = FakeGithub::start();
    let mut asset = linux_release("v8.0.10");
    asset.route = Some(Route::json(500, r#"{"message":"boom"}"#));
    publish_with_checksums(&server, REPO, "v8.0.10", &[asset]);
    let home = Home::new();
    let mut source = source(&server);
    source.mirrors = vec![format!("{}/nowhere/", server.url())];
    let err = expect_failure(&server, &home, &source, &options(LINUX_AMD64));
    // checksums.txt is fetched first and falls back to the plain URL, so the
    // archive is the one that fails at every source.
    match &err {
        ReleaseError::AllSourcesFailed { attempts, last, .. } => {
            assert_eq!(attempts.len(), 2, "{attempts:?}");
            assert!(attempts[0].contains("/nowhere/"), "{attempts:?}");
            assert!(
                matches!(**last, ReleaseError::HttpStatus { status: 500, .. }),
                "{last:?}"
            );
        }
        other => panic!("expected AllSourcesFailed, got {other:?}"),
    }
}

#[test]
fn explicit_proxy_url_is_used() {
    let server = FakeGithub::start();
    publish_with_checksums(&server, REPO, "v8.0.10", &[linux_release("v8.0.10")]);
    let mut source = source(&server);
    // Unresolvable name: the request only succeeds through the proxy.
    source.api_base = "http://releases.invalid".into();
    source.proxy = ProxySetting::from_proxy_url(Some(&server.url()));
    let home = Home::new();
    let checked = releases::check(&source, &home.store(LINUX_AMD64), None, LINUX_AMD64).unwrap();
    assert_eq!(checked.latest.tag, "v8.0.10");
    let requests = server.requests();
    assert_eq!(requests[0].method, "CONNECT");
    assert_eq!(requests[0].path, "releases.invalid:80");
}

#[test]
fn invalid_proxy_url_hides_credentials() {
    let server = FakeGithub::start();
    let mut source = source(&server);
    source.proxy = ProxySetting::Url("ftp://user:hunter2@proxy.example:21".into());
    let home = Home::new();
    let err = releases::check(&source, &home.store(LINUX_AMD64), None, LINUX_AMD64).unwrap_err();
    assert!(matches!(err, ReleaseError::InvalidProxy { .. }), "{err:?}");
    assert!(
        !full_message(&err).contains("hunter2"),
        "{}",
        full_message(&err)
    );
}

// ---------------------------------------------------------------------------
// Offline installs

fn offline_archive(dir: &Path, with_checksums: Option<&str>) -> (PathBuf, FakeAsset) {
    let asset = linux_release("v8.0.11");
    let path = dir.join(&asset.name);
    fs::write(&path, &asset.bytes).unwrap();
    if let Some(text) = with_checksums {
        fs::write(dir.join("checksums.txt"), text).unwrap();
    }
    (path, asset)
}

#[test]
fn install_from_file_with_checksums() {
    let home = Home::new();
    let downloads = tempfile::tempdir().unwrap();
    let dir = downloads.path().join("Downloads (2) [x]");
    fs::create_dir_all(&dir).unwrap();
    let asset = linux_release("v8.0.11");
    let text = checksums_text(&[asset]);
    let (path, _) = offline_archive(&dir, Some(&text));
    let outcome =
        releases::install_from_file(&path, &home.store(LINUX_AMD64), &options(LINUX_AMD64))
            .unwrap();
    assert_eq!(outcome.installed.tag, "v8.0.11");
    assert!(matches!(
        outcome.verification,
        Verification::ChecksumsFile { .. }
    ));
    assert_eq!(outcome.previous_active.unwrap().tag, "v8.0.9");
    assert_eq!(
        fs::read(&outcome.installed.binary).unwrap(),
        stand_in_binary("v8.0.11")
    );
}

#[test]
fn install_from_file_failures_change_nothing() {
    let home = Home::new();
    let store = home.store(LINUX_AMD64);
    let before = snapshot(&home.versions);
    let downloads = tempfile::tempdir().unwrap();

    // No checksums.txt beside the archive.
    let (path, asset) = offline_archive(downloads.path(), None);
    let err = releases::install_from_file(&path, &store, &options(LINUX_AMD64)).unwrap_err();
    assert!(
        matches!(err, ReleaseError::ChecksumMissing { .. }),
        "{err:?}"
    );
    assert_unchanged(&home, &before);

    // A checksum that does not match.
    fs::write(
        downloads.path().join("checksums.txt"),
        format!("{}  {}\n", "0".repeat(64), asset.name),
    )
    .unwrap();
    let err = releases::install_from_file(&path, &store, &options(LINUX_AMD64)).unwrap_err();
    assert!(
        matches!(err, ReleaseError::ChecksumMismatch { .. }),
        "{err:?}"
    );
    assert_unchanged(&home, &before);

    // An archive for another platform.
    let windows = platform_archive("v8.0.11", "windows", "aarch64");
    let other = downloads.path().join(&windows.name);
    fs::write(&other, &windows.bytes).unwrap();
    let err = releases::install_from_file(&other, &store, &options(LINUX_AMD64)).unwrap_err();
    assert!(err.to_string().contains("windows_aarch64"), "{err}");
    assert_unchanged(&home, &before);

    // A renamed file.
    let renamed = downloads.path().join("cliproxy.tar.gz");
    fs::write(&renamed, &asset.bytes).unwrap();
    let err = releases::install_from_file(&renamed, &store, &options(LINUX_AMD64)).unwrap_err();
    assert!(
        matches!(err, ReleaseError::InvalidArchiveName { .. }),
        "{err:?}"
    );
    assert!(full_message(&err).contains("CLIProxyAPI_8.0.10_linux_amd64.tar.gz"));
    assert_unchanged(&home, &before);

    // An HTML page saved under the archive's name.
    let html_dir = downloads.path().join("html");
    fs::create_dir_all(&html_dir).unwrap();
    let html = html_dir.join(&asset.name);
    fs::write(&html, b"<!DOCTYPE html><html>sign in</html>").unwrap();
    let mut unverified = options(LINUX_AMD64);
    unverified.allow_unverified = true;
    let err = releases::install_from_file(&html, &store, &unverified).unwrap_err();
    assert!(matches!(err, ReleaseError::NotAnArchive { .. }), "{err:?}");
    assert_unchanged(&home, &before);

    // Without checksums but allowed.
    fs::remove_file(downloads.path().join("checksums.txt")).unwrap();
    let outcome = releases::install_from_file(&path, &store, &unverified).unwrap();
    assert!(matches!(
        outcome.verification,
        Verification::Unverified { .. }
    ));
}

#[test]
fn incomplete_version_folder_is_replaced() {
    let server = FakeGithub::start();
    publish_with_checksums(&server, REPO, "v8.0.10", &[linux_release("v8.0.10")]);
    let home = Home::new();
    // A folder left by an antivirus program that removed the binary.
    let broken = home.versions.join("v8.0.10");
    fs::create_dir_all(&broken).unwrap();
    fs::write(broken.join("notes.txt"), b"left over").unwrap();
    let outcome = install_latest(&server, &home, &source(&server), &options(LINUX_AMD64)).unwrap();
    assert!(outcome.installed.binary.is_file());
    assert!(!broken.join("notes.txt").exists());
    let top: Vec<String> = fs::read_dir(&home.versions)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(!top.iter().any(|n| n.starts_with(TEMP_PREFIX)), "{top:?}");
}

#[test]
fn redirected_download_gets_no_token() {
    let server = FakeGithub::start();
    let asset = linux_release("v8.0.10");
    let mut redirected = asset.clone();
    let cdn_path = format!("/cdn/{}", asset.name);
    // GitHub responds to asset URLs with a redirect to its storage host.
    redirected.route = Some(Route::Respond {
        status: 302,
        headers: vec![("Location".into(), format!("{}{cdn_path}", server.url()))],
        body: Body::Bytes(Vec::new()),
    });
    server.route(
        &cdn_path,
        Route::ok(asset.bytes.clone(), "application/octet-stream"),
    );
    publish_with_checksums(&server, REPO, "v8.0.10", &[redirected]);
    let home = Home::new();
    let mut source = source(&server);
    source.token = Some("ghp_only_for_the_api".into());

    let outcome = install_latest(&server, &home, &source, &options(LINUX_AMD64)).unwrap();
    assert!(outcome.installed.binary.is_file());
    let requests = server.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert!(paths.contains(&cdn_path.as_str()), "{paths:?}");
    for request in &requests {
        let expected = (request.path == LATEST_PATH).then_some("Bearer ghp_only_for_the_api");
        assert_eq!(
            request.header("authorization"),
            expected,
            "{}",
            request.path
        );
    }
}

#[test]
fn download_asset_checks_digest_and_cleans_up() {
    let server = FakeGithub::start();
    let asset = linux_release("v8.0.10");
    server.route(
        "/a.tar.gz",
        Route::ok(asset.bytes.clone(), "application/gzip"),
    );
    let mut listed = releases::Asset {
        name: asset.name.clone(),
        size: asset.bytes.len() as u64,
        browser_download_url: format!("{}/a.tar.gz", server.url()),
        digest: Some(format!("sha256:{}", sha256_hex(&asset.bytes))),
    };
    let dir = tempfile::tempdir().unwrap();
    let never = AtomicBool::new(false);

    let downloaded =
        releases::download_asset(&source(&server), &listed, dir.path(), &mut |_| {}, &never)
            .unwrap();
    assert_eq!(downloaded.sha256, sha256_hex(&asset.bytes));
    assert_eq!(fs::read(downloaded.path()).unwrap(), asset.bytes);
    let path = downloaded.path().to_path_buf();
    drop(downloaded);
    assert!(!path.exists(), "the temporary file is deleted on drop");

    listed.digest = Some(format!("sha256:{}", "00".repeat(32)));
    let err = releases::download_asset(&source(&server), &listed, dir.path(), &mut |_| {}, &never)
        .unwrap_err();
    assert!(
        matches!(err, ReleaseError::ChecksumMismatch { .. }),
        "{err:?}"
    );
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// Creates the entries a killed install leaves: a partial download and a
/// staging folder.
fn leave_temporary_entries(versions: &Path, suffix: &str) -> [PathBuf; 2] {
    let download = versions.join(format!("{TEMP_PREFIX}download-{suffix}"));
    fs::write(&download, b"partial archive").unwrap();
    let staging = versions.join(format!("{TEMP_PREFIX}staging-{suffix}"));
    fs::create_dir(&staging).unwrap();
    fs::write(staging.join("cli-proxy-api"), b"partial binary").unwrap();
    [download, staging]
}

#[test]
fn install_sweeps_leftovers_of_a_killed_install() {
    let server = FakeGithub::start();
    publish_with_checksums(&server, REPO, "v8.0.10", &all_platform_assets("v8.0.10"));
    let home = Home::new();
    let leftovers = leave_temporary_entries(&home.versions, "killed");

    let outcome = install_latest(&server, &home, &source(&server), &options(LINUX_AMD64)).unwrap();
    assert_eq!(outcome.installed.tag, "v8.0.10");
    for path in &leftovers {
        assert!(!path.exists(), "{} was not swept", path.display());
    }
}

/// An install running in another process holds a shared lock on `versions/`,
/// so its fresh temporary entries are not swept until it ends.
#[cfg(unix)]
#[test]
fn install_keeps_entries_of_a_running_install() {
    let server = FakeGithub::start();
    publish_with_checksums(&server, REPO, "v8.0.10", &all_platform_assets("v8.0.10"));
    let home = Home::new();
    let running = fs::File::open(&home.versions).unwrap();
    running.lock_shared().unwrap();
    let in_use = leave_temporary_entries(&home.versions, "running");

    install_latest(&server, &home, &source(&server), &options(LINUX_AMD64)).unwrap();
    for path in &in_use {
        assert!(path.exists(), "{} was swept while in use", path.display());
    }

    // Once that install has ended, the next one (here: of a version that is
    // already installed) deletes them.
    drop(running);
    let outcome = install_latest(&server, &home, &source(&server), &options(LINUX_AMD64)).unwrap();
    assert_eq!(outcome.verification, Verification::AlreadyInstalled);
    for path in &in_use {
        assert!(!path.exists(), "{} was not swept", path.display());
    }
}
