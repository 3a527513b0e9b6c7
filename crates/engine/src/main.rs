//! The `cpa-engine` binary; everything lives in [`cpa_engine::run_cli`].

fn main() -> std::process::ExitCode {
    cpa_engine::run_cli(std::env::args_os().skip(1).collect())
}
