//! Writing in place: identity kept, unwritable files refused with a clear
//! error, interrupted writes repaired, concurrent changes re-applied.

mod common;

use std::path::Path;

use cpa_config::{ConfigDocument, ErrorKind};

const BASE: &str = "port: 8317\nremote-management:\n  allow-remote: false\n  secret-key: \"\"\n";

#[cfg(unix)]
#[test]
fn write_keeps_inode_mode_and_hard_links() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let (dir, path) = common::temp_config(BASE.as_bytes());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let link = dir.path().join("hard-link.yaml");
    std::fs::hard_link(&path, &link).expect("hard link");
    let before = std::fs::metadata(&path).expect("metadata");
    let doc = cpa_config::update(&path, |doc| {
        doc.with_secret_key("$2a$04$abcdefghijklmnopqrstuv")
    })
    .expect("update");
    let after = std::fs::metadata(&path).expect("metadata");
    assert_eq!(after.ino(), before.ino(), "inode changed");
    assert_eq!(after.mode() & 0o7777, 0o640);
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
    assert_eq!(after.nlink(), 2);
    assert_eq!(
        std::fs::read(&link).expect("read link"),
        doc.bytes(),
        "the hard link must see the new content"
    );
    assert!(!cpa_config::recovery_path(&path).exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "stray files: {leftovers:?}");
}

#[test]
fn directory_is_refused_with_its_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.yaml");
    std::fs::create_dir(&path).expect("mkdir");
    for err in [
        cpa_config::check_writable(&path).expect_err("directory"),
        cpa_config::load(&path).expect_err("directory"),
        cpa_config::write(&path, b"port: 1\n").expect_err("directory"),
    ] {
        assert!(matches!(err.kind, ErrorKind::Write | ErrorKind::Read));
        let text = err.to_string();
        assert!(
            text.contains(&path.display().to_string()) && text.contains("folder"),
            "{text}"
        );
    }
    assert!(path.is_dir());
}

#[test]
fn missing_file_and_missing_parent_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    for path in [
        dir.path().join("config.yaml"),
        dir.path().join("no-such-dir/config.yaml"),
    ] {
        let err = cpa_config::check_writable(&path).expect_err("missing");
        assert_eq!(err.kind, ErrorKind::Write);
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        assert!(cpa_config::write(&path, b"port: 1\n").is_err());
        assert!(!path.exists(), "write must not create the file");
    }
}

/// Makes a file unwritable even for root: the immutable attribute when
/// `chattr` works (root on ext4/tmpfs/overlay), else mode 0444 for a normal user.
#[cfg(unix)]
struct Unwritable<'a>(&'a Path, bool);

#[cfg(unix)]
impl<'a> Unwritable<'a> {
    fn new(path: &'a Path) -> Option<Self> {
        use std::os::unix::fs::PermissionsExt;
        let immutable = std::process::Command::new("chattr")
            .arg("+i")
            .arg(path)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if immutable {
            return Some(Unwritable(path, true));
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o444)).ok()?;
        // Root ignores permission bits; then this check cannot be made here.
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .is_err()
            .then_some(Unwritable(path, false))
    }
}

#[cfg(unix)]
impl Drop for Unwritable<'_> {
    fn drop(&mut self) {
        if self.1 {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(self.0)
                .status();
        }
    }
}

#[cfg(unix)]
#[test]
fn read_only_file_is_refused_and_left_alone() {
    let (_dir, path) = common::temp_config(BASE.as_bytes());
    let Some(_guard) = Unwritable::new(&path) else {
        cpa_testkit::missing_tool::<()>(
            "a way to make a file unwritable (chattr +i as root, or a non-root user)",
        );
        return;
    };
    let err = cpa_config::check_writable(&path).expect_err("read-only");
    assert_eq!(err.kind, ErrorKind::Write);
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(
        text.contains("--config") || text.contains("writable") || text.contains("permission"),
        "{text}"
    );
    let err = cpa_config::update(&path, |doc| doc.with_secret_key("x")).expect_err("read-only");
    assert_eq!(err.kind, ErrorKind::Write);
    assert_eq!(std::fs::read(&path).expect("read"), BASE.as_bytes());
    assert!(!cpa_config::recovery_path(&path).exists());
}

#[test]
fn interrupted_write_is_rolled_back() {
    let (_dir, path) = common::temp_config(b"port: 1\n# partial wri");
    let header = format!("cpa-config-recovery 1 {} {}\n", 10, "00".repeat(32));
    let mut recovery = header.into_bytes();
    recovery.extend_from_slice(BASE.as_bytes());
    std::fs::write(cpa_config::recovery_path(&path), recovery).expect("write recovery");
    let doc = cpa_config::load(&path).expect("load repairs");
    assert_eq!(doc.bytes(), BASE.as_bytes());
    assert_eq!(std::fs::read(&path).expect("read"), BASE.as_bytes());
    assert!(!cpa_config::recovery_path(&path).exists());
}

#[test]
fn completed_write_keeps_new_content() {
    use sha2::Digest;
    let new = b"port: 2\n";
    let (_dir, path) = common::temp_config(new);
    let header = format!(
        "cpa-config-recovery 1 {} {}\n",
        new.len(),
        hex::encode(sha2::Sha256::digest(new))
    );
    let mut recovery = header.into_bytes();
    recovery.extend_from_slice(BASE.as_bytes());
    std::fs::write(cpa_config::recovery_path(&path), recovery).expect("write recovery");
    let doc = cpa_config::load(&path).expect("load");
    assert_eq!(doc.bytes(), new);
    assert!(!cpa_config::recovery_path(&path).exists());
}

#[test]
fn update_reapplies_the_edit_after_a_concurrent_change() {
    let (_dir, path) = common::temp_config(BASE.as_bytes());
    let calls = std::cell::Cell::new(0);
    let doc = cpa_config::update(&path, |doc| {
        calls.set(calls.get() + 1);
        if calls.get() == 1 {
            // Another program (a panel save) rewrites the file meanwhile.
            std::fs::write(&path, BASE.replace("port: 8317", "port: 9000"))
                .expect("concurrent write");
        }
        doc.with_secret_key("N3w-pass")
    })
    .expect("update");
    assert_eq!(calls.get(), 2);
    let view = doc.view().expect("view");
    assert_eq!(
        view.port.value,
        Some(9000),
        "the concurrent change must survive"
    );
    assert_eq!(view.secret(), "N3w-pass");
    assert_eq!(std::fs::read(&path).expect("read"), doc.bytes());
}

#[test]
fn update_gives_up_when_the_file_keeps_changing() {
    let (_dir, path) = common::temp_config(BASE.as_bytes());
    let calls = std::cell::Cell::new(0u16);
    let err = cpa_config::update(&path, |doc| {
        calls.set(calls.get() + 1);
        std::fs::write(&path, format!("{BASE}# change {}\n", calls.get()))
            .expect("concurrent write");
        doc.with_secret_key("N3w-pass")
    })
    .expect_err("conflict");
    assert_eq!(err.kind, ErrorKind::Conflict);
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(
        !text.contains("N3w-pass"),
        "nothing of ours may be written: {text}"
    );
}

#[test]
fn refused_edit_writes_nothing() {
    let input = "remote-management:\n  secret-key: \"\"\nport: \"${PORT}\"\n";
    let (_dir, path) = common::temp_config(input.as_bytes());
    let err = cpa_config::update(&path, |doc| doc.with_secret_key("N3w-pass"))
        .expect_err("server refuses the file");
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(err.line, Some(3), "{err}");
    assert_eq!(std::fs::read(&path).expect("read"), input.as_bytes());
}

#[test]
fn allow_remote_set_at_the_server_path() {
    let Some(oracle) = cpa_testkit::oracle() else {
        return;
    };
    for (input, expected) in [
        (
            BASE,
            BASE.replace("allow-remote: false", "allow-remote: true"),
        ),
        (
            "port: 1\n",
            "port: 1\nremote-management:\n  allow-remote: true\n".to_string(),
        ),
        (
            "config-version: 8\nmanagement:\n  secret-key: x\n",
            "config-version: 8\nmanagement:\n  secret-key: x\n  allow-remote: true\n".to_string(),
        ),
        (
            "remote-management: {allow-remote: no}\n",
            "remote-management: {allow-remote: true}\n".to_string(),
        ),
    ] {
        let doc =
            ConfigDocument::parse(input.as_bytes().to_vec(), Path::new("c.yaml")).expect("parse");
        let out = doc.with_allow_remote(true).expect("edit");
        assert_eq!(String::from_utf8_lossy(&out), expected);
        let (_dir, path) = common::temp_config(&out);
        assert_eq!(
            cpa_testkit::oracle_read(&oracle, &path)["allow_remote"]["value"],
            true
        );
    }
}

#[test]
fn client_api_keys_replaced_as_a_list() {
    let keys = vec!["sk-one".to_string(), "it's #2".to_string()];
    for (input, expected) in [
        (
            "api-keys:\n  - \"old\"\n  - other\nport: 1\n",
            "api-keys:\n  - 'sk-one'\n  - 'it''s #2'\nport: 1\n",
        ),
        ("api-keys: [a, b]\n", "api-keys: ['sk-one', 'it''s #2']\n"),
        (
            "port: 1\n",
            "port: 1\napi-keys:\n  - 'sk-one'\n  - 'it''s #2'\n",
        ),
        (
            "config-version: 8\naccess:\n  api-keys:\n  - a\n",
            "config-version: 8\naccess:\n  api-keys:\n  - 'sk-one'\n  - 'it''s #2'\n",
        ),
        (
            "api-keys:\n  gemini:\n    - base-url: x\nport: 1\n",
            "api-keys:\n  gemini:\n    - base-url: x\nport: 1\naccess:\n  api-keys:\n    - 'sk-one'\n    - 'it''s #2'\n",
        ),
    ] {
        let doc =
            ConfigDocument::parse(input.as_bytes().to_vec(), Path::new("c.yaml")).expect("parse");
        let out = doc
            .with_client_api_keys(&keys)
            .unwrap_or_else(|err| panic!("{input:?}: {err}"));
        assert_eq!(String::from_utf8_lossy(&out), expected, "{input:?}");
        let after = ConfigDocument::parse(out, Path::new("c.yaml")).expect("re-parse");
        assert_eq!(
            after.view().expect("view").client_api_keys.value.as_ref(),
            Some(&keys)
        );
    }
    let doc = ConfigDocument::parse(b"api-keys:\n  - a\nport: 1\n".to_vec(), Path::new("c.yaml"))
        .expect("parse");
    let out = doc.with_client_api_keys(&[]).expect("empty list");
    assert_eq!(String::from_utf8_lossy(&out), "api-keys: []\nport: 1\n");
}

#[test]
fn debug_output_never_shows_the_key() {
    let doc = ConfigDocument::parse(
        b"remote-management:\n  secret-key: \"hunter2-plain\"\napi-keys: [sk-client-1]\n".to_vec(),
        Path::new("c.yaml"),
    )
    .expect("parse");
    let view = doc.view().expect("view");
    for text in [format!("{doc:?}"), format!("{view:?}")] {
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("sk-client-1"), "{text}");
    }
    assert!(format!("{view:?}").contains("remote-management.secret-key"));
}

#[test]
fn check_writable_changes_nothing() {
    let (_dir, path) = common::temp_config(BASE.as_bytes());
    let before = std::fs::metadata(&path)
        .expect("metadata")
        .modified()
        .expect("mtime");
    std::thread::sleep(std::time::Duration::from_millis(20));
    cpa_config::check_writable(&path).expect("a normal file is writable");
    let after = std::fs::metadata(&path)
        .expect("metadata")
        .modified()
        .expect("mtime");
    assert_eq!(before, after);
    assert_eq!(std::fs::read(&path).expect("read"), BASE.as_bytes());
    assert!(!cpa_config::recovery_path(&path).exists());
}
