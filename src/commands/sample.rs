//! `gruf sample`: the synthetic series behind data/btc-sample.csv.

use crate::cli::SampleArgs;
use crate::output::{print, write_atomic};
use crate::synth::{self, SampleConfig};

pub(super) fn run(args: SampleArgs) -> anyhow::Result<()> {
    let config = SampleConfig {
        rows: args.rows,
        seed: args.seed,
        ..SampleConfig::default()
    };
    let csv = synth::to_csv(&synth::generate(&config));
    if args.out.as_os_str() == "-" {
        return print(csv.as_bytes());
    }
    write_atomic(&args.out, csv.as_bytes())?;
    print(format!("wrote {} rows to {}\n", config.rows, args.out.display()).as_bytes())
}
