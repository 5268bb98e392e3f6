//! `gruf predict`: the recursive forecast past the end of the data, on its calendar.

use crate::cli::PredictArgs;
use crate::error::GrufError;
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
    let k = forecaster.featurizer.horizon;
    if forecaster.featurizer.has_covariates() && args.days as usize > k {
        return Err(GrufError::usage(format!(
            "--days {}: this model reads --inputs ({}), whose future is unknown, so it forecasts at most its horizon of {k}; pass --days {k} or less, or train with a larger --horizon",
            args.days,
            forecaster
                .featurizer
                .inputs
                .iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .into());
    }
    let forecast =
        forecaster.forecast(&series, &checkpoint.meta.data.column, args.days as usize)?;
    print(renderer(args.format).forecast(&forecast)?.as_bytes())
}
