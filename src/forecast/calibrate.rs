//! Fitting the conformal calibration of [`crate::intervals::conformal`]: after training,
//! the model forecasts every origin of the validation part (data it was never fitted on;
//! the test part is never read) as many steps ahead as it will be asked for, and each
//! forecast's error is kept per step ahead. What the errors mean, and how an interval is
//! read off them, is the calibration's own business; this module runs the forecasts.

use crate::features::{Columns, Framing};
use crate::forecast::Forecaster;
use crate::intervals::conformal::{
    quantile_levels, spread, steps_for, Calibration, ErrorSet, Measure, Method, Space,
};

/// One series to calibrate on: its columns, its forecaster (the trained networks with the
/// series' own featurizer) and its validation targets.
pub struct Validation<'a> {
    pub columns: Columns<'a>,
    pub forecaster: &'a Forecaster,
    pub val: std::ops::Range<usize>,
}

/// Calibrates a model framed by `framing` on `parts`: CQR for a quantile model, else
/// residuals over the spread of the window the network reads; for [`steps_for`] steps.
/// `None` when no part has a validation target.
pub fn calibrate(
    parts: &[Validation<'_>],
    framing: &Framing,
) -> anyhow::Result<Option<Calibration>> {
    let covariates = (parts.iter()).any(|p| p.forecaster.featurizer().has_covariates());
    let steps = steps_for(framing.horizon, covariates);
    let space = Space::for_transform(framing.transform);
    if framing.quantiles.is_empty() {
        residuals(parts, steps, framing.window, space)
    } else {
        quantiles(parts, steps, space)
    }
}

/// Split-conformal calibration on point forecasts: every origin of every part's validation
/// targets forecast up to `steps` ahead (as far as its validation part reaches), each
/// error measured in `space` and divided by the spread over the `spread` steps before its
/// origin, the errors pooled over the parts per step. `None` when no part has a
/// validation target.
pub fn residuals(
    parts: &[Validation<'_>],
    steps: usize,
    spread: usize,
    space: Space,
) -> anyhow::Result<Option<Calibration>> {
    let mut errors: Vec<Vec<f32>> = vec![Vec::new(); steps];
    for part in parts {
        let values = part.columns.values;
        let origins: Vec<usize> = part.val.clone().collect();
        let reach = steps.min(part.val.len());
        if origins.is_empty() || reach == 0 {
            continue;
        }
        let paths = part.forecaster.paths(part.columns, &origins, reach)?;
        let featurizer = part.forecaster.featurizer();
        for (&o, path) in origins.iter().zip(&paths) {
            let measure = Measure::new(featurizer, &values[..o], space);
            let spread = self::spread(featurizer, &values[..o], spread);
            for (k, &p) in path.iter().enumerate().take(part.val.end - o) {
                let error = (measure.of(k, values[o + k]) - measure.of(k, p)) / spread;
                if error.is_finite() {
                    errors[k].push(error as f32);
                }
            }
        }
    }
    Ok(finish(errors).map(|steps| Calibration {
        method: Method::Residuals,
        space,
        spread,
        sets: vec![ErrorSet { level: None, steps }],
    }))
}

/// Conformalised quantile regression: for each level the head's quantile pairs give and
/// every origin of every part's validation targets up to `steps` ahead, how far the
/// truth fell outside the band (max(lower − truth, truth − upper), in units), pooled over
/// the parts per step. `None` when the head gives no level (no symmetric pair) or no part
/// has a validation target.
pub fn quantiles(
    parts: &[Validation<'_>],
    steps: usize,
    space: Space,
) -> anyhow::Result<Option<Calibration>> {
    let Some(first) = parts.first() else {
        return Ok(None);
    };
    let levels = quantile_levels(first.forecaster.quantiles());
    let mut errors: Vec<Vec<Vec<f32>>> = vec![vec![Vec::new(); steps]; levels.len()];
    for part in parts {
        let values = part.columns.values;
        let origins: Vec<usize> = part.val.clone().collect();
        let reach = steps.min(part.val.len());
        if origins.is_empty() || reach == 0 || levels.is_empty() {
            continue;
        }
        let paths = part
            .forecaster
            .quantile_paths(part.columns, &origins, reach)?;
        let featurizer = part.forecaster.featurizer();
        for (&o, path) in origins.iter().zip(&paths) {
            let measure = Measure::new(featurizer, &values[..o], space);
            for (k, qs) in path.iter().enumerate().take(part.val.end - o) {
                let y = measure.of(k, values[o + k]);
                for (l, &(_, i, j)) in levels.iter().enumerate() {
                    let error = (measure.of(k, qs[i]) - y).max(y - measure.of(k, qs[j]));
                    if error.is_finite() {
                        errors[l][k].push(error as f32);
                    }
                }
            }
        }
    }
    let sets: Option<Vec<ErrorSet>> = (levels.iter().zip(errors))
        .map(|(&(level, _, _), e)| {
            finish(e).map(|steps| ErrorSet {
                level: Some(level),
                steps,
            })
        })
        .collect();
    Ok(sets.filter(|s| !s.is_empty()).map(|sets| {
        // Every level has the same forecasts, so the same steps.
        Calibration {
            method: Method::Quantiles,
            space,
            spread: 0,
            sets,
        }
    }))
}

/// Errors per step, sorted, without the steps no validation forecast reached; `None` if
/// none did.
fn finish(mut errors: Vec<Vec<f32>>) -> Option<Vec<Vec<f32>>> {
    while errors.last().is_some_and(Vec::is_empty) {
        errors.pop();
    }
    if errors.is_empty() {
        return None;
    }
    for e in &mut errors {
        e.sort_by(f32::total_cmp);
    }
    Some(errors)
}
