//! `gruf predict`: the recursive forecast past the end of the data, on its calendar.

use crate::checkpoint::{Checkpoint, Meta};
use crate::cli::PredictArgs;
use crate::error::GrufError;
use crate::output::print;

use super::{device, open_with, renderer, Opened};

pub(super) fn run(args: PredictArgs) -> anyhow::Result<()> {
    let device = device();
    let stored = Checkpoint::load(&args.source.model, &device)?;
    check_steps(&stored.meta, args.days as usize)?;
    if stored.meta.is_global() {
        return super::global::predict(&args, stored);
    }
    let Opened {
        checkpoint,
        series,
        forecaster,
        ..
    } = open_with(&args.source, stored, &device)?;
    let forecast =
        forecaster.forecast(&series, &checkpoint.meta.data.column, args.days as usize)?;
    print(renderer(args.format).forecast(&forecast)?.as_bytes())
}

/// Refuses more steps than a model with covariates forecasts: their future is unknown, so
/// it stops at its horizon.
fn check_steps(meta: &Meta, steps: usize) -> Result<(), GrufError> {
    let k = meta.model().horizon;
    let inputs = &meta.first().inputs;
    if inputs.is_empty() || steps <= k {
        return Ok(());
    }
    Err(GrufError::usage(format!(
        "--days {steps}: this model reads --inputs ({}), whose future is unknown, so it forecasts at most its horizon of {k}; pass --days {k} or less, or train with a larger --horizon",
        inputs
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}
