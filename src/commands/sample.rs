//! `gruf sample`: the synthetic series behind data/btc-sample.csv.

use crate::cli::SampleArgs;
use crate::error::GrufError;
use crate::io::output::{print, write_atomic};
use crate::series::synth::{self, SampleConfig};

pub(super) fn run(args: SampleArgs) -> anyhow::Result<()> {
    let config = SampleConfig {
        rows: args.rows,
        seed: args.seed,
        ..SampleConfig::default()
    };
    if args.out.as_os_str() == "-" {
        return print(synth::to_csv(&synth::generate(&config)).as_bytes());
    }
    // A file of the user's is kept: a sample is easily made again, their data may not be.
    if args.out.is_file() && !args.force {
        return Err(GrufError::usage(format!(
            "{} exists; pass --force to replace it, or choose another --out",
            args.out.display()
        ))
        .into());
    }
    let csv = synth::to_csv(&synth::generate(&config));
    write_atomic(&args.out, csv.as_bytes())?;
    super::wrote(&format!("{} rows to {}", config.rows, args.out.display()));
    Ok(())
}
