//! `gruf predict`: the recursive forecast past the end of the data, on its calendar.

use std::path::Path;

use crate::checkpoint::{Checkpoint, Meta};
use crate::cli::PredictArgs;
use crate::conformal::CalibrationError;
use crate::error::GrufError;
use crate::interval::Level;
use crate::output::print;

use super::{device, open_with, renderer, Opened};

pub(super) fn run(args: PredictArgs) -> anyhow::Result<()> {
    let device = device();
    let stored = Checkpoint::load(&args.source.model, &device)?;
    check_steps(&stored.meta, args.days as usize)?;
    let levels = levels(&args.interval);
    check_intervals(
        &args.source.model,
        &stored.meta,
        args.days as usize,
        &levels,
    )?;
    if stored.meta.is_global() {
        return super::global::predict(&args, &levels, stored);
    }
    let Opened {
        checkpoint,
        series,
        forecaster,
        ..
    } = open_with(&args.source, stored, &device)?;
    let forecast = forecaster.forecast_with_intervals(
        &series,
        &checkpoint.meta.data.column,
        args.days as usize,
        &levels,
    )?;
    print(renderer(args.format).forecast(&forecast)?.as_bytes())
}

/// The levels asked for, lowest first, each once.
pub(super) fn levels(asked: &[Level]) -> Vec<Level> {
    let mut levels = asked.to_vec();
    levels.sort_by(|a, b| a.get().total_cmp(&b.get()));
    levels.dedup();
    levels
}

/// Refuses intervals the model cannot give, before any work: a model without a
/// calibration (the file named), more steps than it was calibrated for, a level its
/// validation forecasts are too few for.
pub(super) fn check_intervals(
    path: &Path,
    meta: &Meta,
    steps: usize,
    levels: &[Level],
) -> Result<(), GrufError> {
    if levels.is_empty() {
        return Ok(());
    }
    let Some(calibration) = &meta.calibration else {
        return Err(GrufError::model(
            path,
            CalibrationError::Missing.to_string(),
        ));
    };
    calibration
        .check(steps, levels)
        .map_err(|e| GrufError::usage(format!("--interval: {e}")))
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
