//! Fuzzes the editor: any input the reader accepts must either be refused by
//! the editor or give bytes that parse again and read back exactly the new
//! secret-key. The reader and editor must never panic.
//!
//! Input layout: the bytes up to the first NUL are the new value (lossy
//! UTF-8), the rest is the config file.
#![no_main]

use std::path::Path;

use cpa_config::ConfigDocument;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == 0).unwrap_or(0);
    let value = String::from_utf8_lossy(&data[..split]).into_owned();
    let file = data.get(split + 1..).unwrap_or_default().to_vec();
    let Ok(doc) = ConfigDocument::parse(file, Path::new("fuzz.yaml")) else {
        return;
    };
    if doc.view().is_err() {
        return;
    }
    let _ = doc.to_json();
    if let Ok(out) = doc.with_secret_key(&value) {
        let after = ConfigDocument::parse(out, Path::new("fuzz.yaml")).expect("an accepted edit re-parses");
        let view = after.view().expect("an accepted edit stays readable");
        assert_eq!(view.secret(), value);
    }
});
