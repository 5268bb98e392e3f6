//! The `gruf` binary: parse, run, report. Exit codes are documented in the README.

use std::process::ExitCode;

use clap::Parser;
use gruf::error::{exit, GrufError};

fn main() -> ExitCode {
    gruf::model::configure_threads();
    std::panic::set_hook(Box::new(|info| {
        gruf::eprintln_lossy!(
            "gruf: internal error: {info}; this is a bug in gruf, please report it"
        );
    }));
    let cli = gruf::cli::Cli::parse();
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
