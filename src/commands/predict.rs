//! `gruf predict`: the recursive forecast past the end of the data, on its calendar.

use crate::cli::PredictArgs;
use crate::output::print;

use super::{device, open, renderer, Opened};

pub(super) fn run(args: PredictArgs) -> anyhow::Result<()> {
    let device = device();
    let Opened {
        checkpoint,
        series,
        forecaster,
        ..
    } = open(&args.source, &device)?;
    let forecast =
        forecaster.forecast(&series, &checkpoint.meta.data.column, args.days as usize)?;
    print(renderer(args.format).forecast(&forecast)?.as_bytes())
}
