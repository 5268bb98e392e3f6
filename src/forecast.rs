//! Recursive N-step forecasts: predict the next value from the last window, append it,
//! slide, repeat. Dates continue the series' usual step.

use candle_core::Device;

use crate::model::Model;
use crate::scaler::MinMax;

/// Forecasts `days` values (price units) after the end of `values`.
/// `values` must hold at least `window` values.
pub fn recursive(
    model: &Model,
    scaler: &MinMax,
    values: &[f64],
    window: usize,
    days: usize,
    device: &Device,
) -> anyhow::Result<Vec<f64>> {
    let mut history = scaler.transform_all(&values[values.len() - window..]);
    let mut out = Vec::with_capacity(days);
    for _ in 0..days {
        let next = model.predict(&history[history.len() - window..], window, device)?[0];
        history.push(next);
        out.push(scaler.inverse(f64::from(next)));
    }
    Ok(out)
}

/// The `days` timestamps after `last`, `step` seconds apart.
pub fn future_dates(last: i64, step: i64, days: usize) -> Vec<i64> {
    (1..=days as i64).map(|i| last + i * step).collect()
}
