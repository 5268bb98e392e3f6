//! The `gruf` binary: parse, run, report. Exit codes are documented in the README.

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use gruf::error::{exit, GrufError};

fn main() -> ExitCode {
    gruf::model::configure_threads();
    std::panic::set_hook(Box::new(|info| {
        gruf::eprintln_lossy!(
            "gruf: internal error: {info}; this is a bug in gruf, please report it"
        );
    }));
    let cli = match gruf::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return clap_error(err),
    };
    match gruf::commands::run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A closed stdout (`gruf predict | head`) is not an error worth a message.
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            gruf::eprintln_lossy!("gruf: error: {err:#}");
            let code = err
                .chain()
                .find_map(|e| e.downcast_ref::<GrufError>())
                .map_or(exit::INTERNAL, GrufError::exit_code);
            ExitCode::from(code)
        }
    }
}

/// Clap's own errors as the README promises them: one line, `gruf: error: …`, with clap's
/// tip (a similar flag or value) on the same line and where to read more, and clap's exit
/// code (2). Help and version print as clap prints them.
fn clap_error(err: clap::Error) -> ExitCode {
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        err.exit();
    }
    gruf::eprintln_lossy!("gruf: error: {}", one_line(&err));
    ExitCode::from(err.exit_code().clamp(1, 255) as u8)
}

/// Clap's message without its `error:` prefix, usage block and closing advice: the
/// problem, then each tip, joined by "; ", then the help of the command it concerns.
fn one_line(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let mut parts: Vec<&str> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if !line.is_empty() {
            parts.push(line.strip_prefix("error:").map_or(line, str::trim));
        }
    }
    // The subcommand the user typed, if any: the first argument that names one.
    let cli = gruf::cli::Cli::command();
    let command = (std::env::args_os().skip(1))
        .filter_map(|a| a.into_string().ok())
        .find(|a| cli.get_subcommands().any(|c| c.get_name() == a))
        .map_or_else(|| "gruf".to_string(), |c| format!("gruf {c}"));
    format!("{} (see {command} --help)", parts.join("; "))
}
