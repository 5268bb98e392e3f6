//! Recursive N-step forecasts: predict the next value from the last window, append it,
//! slide, repeat. Dates continue the series' usual step.

use candle_core::Device;

use crate::model::Model;
use crate::scaler::Scaler;

/// Forecasts `days` values (price units) after the end of `values`, which must hold at
/// least the scaler's lookback.
pub fn recursive(
    model: &Model,
    scaler: &Scaler,
    values: &[f64],
    window: usize,
    days: usize,
    device: &Device,
) -> anyhow::Result<Vec<f64>> {
    let mut history = values[values.len() - scaler.lookback(window)..].to_vec();
    let mut input = Vec::with_capacity(window);
    for _ in 0..days {
        input.clear();
        scaler.encode(&history, window, &mut input);
        let y = model.predict(&input, window, device)?[0];
        let last = history[history.len() - 1];
        history.push(scaler.decode(last, y));
    }
    Ok(history.split_off(history.len() - days))
}

/// The `days` timestamps after `last`, `step` seconds apart.
pub fn future_dates(last: i64, step: i64, days: usize) -> Vec<i64> {
    (1..=days as i64).map(|i| last + i * step).collect()
}
