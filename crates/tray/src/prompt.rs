//! Reading passwords: masked from the terminal (typed twice), or one line from
//! standard input with `--password-stdin` (typed once, for scripts).

use std::io::{self, BufRead};

use cpa_core::interrupt::ExitOnInterrupt;
use cpa_core::messages::{self, Msg};
use cpa_core::password;

use crate::context::{Context, Failure};

/// Number of interactive attempts before giving up on invalid entries.
const ATTEMPTS: usize = 3;

/// Reads a new password and checks it against the rules.
///
/// An empty entry (or end of input) fails with `cancelled`; nothing has been
/// written at that point. Ctrl+C prints `cancelled`, restores the terminal
/// and ends the process with status 130.
pub fn read_new_password(
    ctx: &Context,
    from_stdin: bool,
    cancelled: Msg<'static>,
) -> Result<String, Failure> {
    let _interrupt = ExitOnInterrupt::install(&ctx.text(cancelled.clone()));
    if from_stdin {
        let password = read_stdin_line(ctx)?;
        if password.is_empty() {
            return Err(ctx.fail(cancelled));
        }
        return match password::validate(&password) {
            Ok(()) => Ok(password),
            Err(problem) => Err(ctx.fail(messages::password_problem(problem))),
        };
    }

    ctx.warn(Msg::PasswordRules);
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            ctx.warn(Msg::PasswordTryAgain);
        }
        let Some(first) = read_terminal(ctx, Msg::PasswordPrompt)? else {
            return Err(ctx.fail(cancelled));
        };
        if let Err(problem) = password::validate(&first) {
            ctx.warn(messages::password_problem(problem));
            continue;
        }
        let Some(second) = read_terminal(ctx, Msg::PasswordConfirmPrompt)? else {
            return Err(ctx.fail(cancelled));
        };
        match password::validate_pair(&first, &second) {
            Ok(()) => return Ok(first),
            Err(problem) => {
                ctx.warn(messages::password_problem(problem));
            }
        }
    }
    // Each attempt's reason was printed when it happened: the failure states
    // the limit instead of repeating the last reason.
    let mut failure = ctx.fail(cancelled);
    failure.lines.insert(
        0,
        ctx.text(Msg::PasswordAttemptsUsed { attempts: ATTEMPTS }),
    );
    Err(failure)
}

/// Reads an existing password once; `None` when the entry is empty.
pub fn read_existing_password(ctx: &Context, from_stdin: bool) -> Result<Option<String>, Failure> {
    let _interrupt = ExitOnInterrupt::install(&ctx.text(Msg::PromptCancelled));
    let password = if from_stdin {
        read_stdin_line(ctx)?
    } else {
        read_terminal(ctx, Msg::PasswordVerifyPrompt)?.unwrap_or_default()
    };
    Ok((!password.is_empty()).then_some(password))
}

/// Reads one line from standard input without its line ending.
fn read_stdin_line(ctx: &Context) -> Result<String, Failure> {
    let mut line = String::new();
    if let Err(err) = io::stdin().lock().read_line(&mut line) {
        let detail = err.to_string();
        return Err(ctx.fail(Msg::PasswordStdinFailed { detail: &detail }));
    }
    // PowerShell pipes text with a UTF-8 byte order mark in front.
    let line = line.strip_prefix('\u{feff}').unwrap_or(&line);
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    Ok(line.to_string())
}

/// Terminal device that rpassword 7 writes its prompt to.
#[cfg(unix)]
const PROMPT_OUTPUT: &str = "/dev/tty";
#[cfg(windows)]
const PROMPT_OUTPUT: &str = "CONOUT$";

/// Reads a masked entry from the terminal; `None` for an empty entry or end of input.
fn read_terminal(ctx: &Context, prompt: Msg<'_>) -> Result<Option<String>, Failure> {
    match rpassword::prompt_password(ctx.text(prompt)) {
        Ok(entry) => Ok((!entry.is_empty()).then_some(entry)),
        Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => {
            end_prompt_line();
            Ok(None)
        }
        Err(_) => Err(ctx.fail(Msg::PasswordNoTerminal)),
    }
}

/// Ends the prompt's line after Ctrl+D. Enter echoes a line break, but end
/// of input does not, so the next message would follow the prompt on the
/// same line. Best effort: a terminal that cannot be written only costs the
/// line break.
fn end_prompt_line() {
    use std::io::Write;
    if let Ok(mut terminal) = std::fs::OpenOptions::new().write(true).open(PROMPT_OUTPUT) {
        let _ = terminal.write_all(b"\n");
        let _ = terminal.flush();
    }
}
