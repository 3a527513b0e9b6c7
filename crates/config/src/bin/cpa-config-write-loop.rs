//! Test helper, not a user tool: rewrites a config file with two contents in
//! turn, forever, through `cpa_config::write`.
//!
//! The crash-safety test kills this process at random points and checks that
//! the file then always loads as one of the two contents.
//!
//! Usage: `cpa-config-write-loop CONFIG CONTENT_A CONTENT_B`

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [config, a, b] = args.as_slice() else {
        eprintln!("usage: cpa-config-write-loop CONFIG CONTENT_A CONTENT_B");
        return ExitCode::from(2);
    };
    let contents = match (std::fs::read(a), std::fs::read(b)) {
        (Ok(a), Ok(b)) => [a, b],
        (Err(err), _) | (_, Err(err)) => {
            eprintln!("cpa-config-write-loop: failed to read a content file: {err}");
            return ExitCode::from(2);
        }
    };
    for content in contents.iter().cycle() {
        if let Err(err) = cpa_config::write(config, content) {
            eprintln!("cpa-config-write-loop: {err}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
