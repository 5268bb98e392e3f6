//! `gruf completions`: shell completion scripts from the clap definitions.

use crate::io::output::print;

pub(super) fn run(args: crate::cli::CompletionsArgs) -> anyhow::Result<()> {
    let mut script = Vec::new();
    let mut command = <crate::cli::Cli as clap::CommandFactory>::command();
    clap_complete::generate(args.shell, &mut command, "gruf", &mut script);
    print(&script)
}
