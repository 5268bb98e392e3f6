//! `gruf predict`: the recursive forecast past the end of the data, on its calendar.

use std::path::Path;

use crate::checkpoint::{Checkpoint, Meta};
use crate::cli::PredictArgs;
use crate::error::GrufError;
use crate::forecast::{Forecast, Forecaster};
use crate::intervals::conformal::CalibrationError;
use crate::intervals::mc_dropout::{sample_bands, Sampling};
use crate::intervals::Level;
use crate::io::output::print;
use crate::series::Series;

use super::open::Opened;
use super::{device, note, renderer, sampling};

pub(super) fn run(args: PredictArgs) -> anyhow::Result<()> {
    let device = device();
    let stored = Checkpoint::load(&args.source.model, &device)?;
    check_steps(&stored.meta, args.steps as usize)?;
    let levels = Level::sorted(&args.interval);
    if args.samples.is_some() && levels.is_empty() {
        return Err(GrufError::usage(
            "--samples needs --interval LEVEL (e.g. --interval 0.8): the samples give \
             intervals at the levels asked for; the forecast itself is made without dropout",
        )
        .into());
    }
    let sampling = sampling(args.samples, args.seed, &stored.meta, &args.source.model)?;
    match sampling {
        None => check_intervals(
            &args.source.model,
            &stored.meta,
            args.steps as usize,
            &levels,
        )?,
        Some(s) => note(&format!(
            "the intervals come from {} forecasts with dropout on (MC dropout, seed {}) and \
             are not calibrated: nothing checks that they hold the share of outcomes their \
             level says; `gruf evaluate{} --samples {}` measures their coverage",
            s.samples,
            s.seed,
            super::model_flag(&args.source.model),
            s.samples
        )),
    }
    let opened = Opened::open(&args.source, stored)?;
    let column = &opened.meta().data.column;
    let mut forecasts = Vec::new();
    for subject in opened.subjects(&args.source.series, &device)? {
        let mut forecast = forecast(
            &subject.forecaster,
            subject.series(),
            column,
            args.steps as usize,
            &levels,
            sampling,
        )?;
        forecast.id = subject.named_id();
        forecast.seen = subject.seen();
        forecasts.push(forecast);
    }
    print(renderer(args.format).forecasts(&forecasts)?.as_bytes())
}

/// The forecast of `steps` past the end of `series` with its bands at `levels`: the
/// calibrated ones, or with `sampling` those of MC dropout (from its own sampled paths;
/// the point forecast stays the one without dropout).
pub(super) fn forecast(
    forecaster: &Forecaster,
    series: &Series,
    column: &str,
    steps: usize,
    levels: &[Level],
    sampling: Option<Sampling>,
) -> anyhow::Result<Forecast> {
    let Some(s) = sampling.filter(|_| !levels.is_empty()) else {
        return forecaster.forecast_with_intervals(series, column, steps, levels);
    };
    let mut forecast = forecaster.forecast(series, column, steps)?;
    let origin = [series.len()];
    let mut paths = forecaster.sample_paths(series, &origin, steps, s.samples, s.seed)?;
    forecast.bands = sample_bands(&paths.remove(0), levels)?;
    for band in &mut forecast.bands {
        band.hold(&forecast.point);
    }
    Ok(forecast)
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
        .map_err(|e| GrufError::usage(format!("--interval: {e}")))?;
    super::warn_bias(calibration);
    Ok(())
}

/// Refuses more steps than a model with covariates forecasts: their future is unknown, so
/// it stops at its horizon.
fn check_steps(meta: &Meta, steps: usize) -> Result<(), GrufError> {
    let k = meta.model().framing.horizon;
    let inputs = &meta.first().inputs;
    if inputs.is_empty() || steps <= k {
        return Ok(());
    }
    Err(GrufError::usage(format!(
        "--steps {steps}: this model reads --inputs ({}), whose future is unknown, so it forecasts at most its horizon of {k}; pass --steps {k} or less, or train with a larger --horizon",
        inputs
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}
