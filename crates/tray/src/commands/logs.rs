//! `cpa-tray logs [--follow]`: the server's stdout and stderr.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::time::Duration;

use cpa_core::messages::Msg;
use cpa_core::supervisor::logfile;

use crate::cli::LogsArgs;
use crate::context::{CommandResult, Context, display};

/// How often `--follow` checks the file for new output.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(500);

pub fn run(ctx: &Context, args: &LogsArgs) -> CommandResult {
    let path = ctx.home.engine_log_path();
    let path_text = display(&path);
    let read_failed = |err: std::io::Error| {
        let detail = err.to_string();
        ctx.fail(Msg::LogReadFailed {
            path: &path_text,
            detail: &detail,
        })
    };
    if !path.exists() {
        if !args.follow {
            return Err(ctx.fail(Msg::LogMissing { path: &path_text }));
        }
        ctx.warn(Msg::LogMissing { path: &path_text });
    }

    let text = logfile::read_since(&path, 0);
    let mut stdout = std::io::stdout().lock();
    for line in logfile::last_lines(&text, args.lines) {
        if writeln!(stdout, "{line}").is_err() {
            return Ok(());
        }
    }
    if stdout.flush().is_err() {
        return Ok(());
    }
    if !args.follow {
        return Ok(());
    }

    // Follow: print what is appended; start over when the file shrinks
    // (rotated to engine.log.1 at a start, or copied there and truncated
    // while the server runs) or appears.
    let mut offset = std::fs::metadata(&path).map(|meta| meta.len()).unwrap_or(0);
    loop {
        std::thread::sleep(FOLLOW_INTERVAL);
        let Ok(mut file) = File::open(&path) else {
            offset = 0;
            continue;
        };
        let length = file.metadata().map_err(read_failed)?.len();
        if length < offset {
            offset = 0;
        }
        if length == offset {
            continue;
        }
        file.seek(SeekFrom::Start(offset)).map_err(read_failed)?;
        let mut chunk = Vec::new();
        file.take(length - offset)
            .read_to_end(&mut chunk)
            .map_err(read_failed)?;
        offset = length;
        // A reader that went away (`cpa-tray logs -f | head`) ends the follow.
        if stdout
            .write_all(&chunk)
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return Ok(());
        }
    }
}
