//! One-step predictions over a span of the series and their errors, in price units,
//! beside the baselines every model must beat: naive ("tomorrow = today"), drift (the
//! average step so far, continued) and a 7-day moving average.

use std::ops::Range;

use candle_core::Device;
use serde::{Deserialize, Serialize};

use crate::data::{format_time, Series};
use crate::model::Model;
use crate::scaler::Scaler;

/// Days in the moving-average baseline.
pub const MOVING_AVERAGE_DAYS: usize = 7;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub mae: f64,
    pub rmse: f64,
    /// Mean absolute percentage error, in percent.
    pub mape: f64,
    /// Symmetric MAPE, in percent: mean of 2|p − t| / (|p| + |t|).
    pub smape: f64,
    /// Mean absolute scaled error: MAE over the naive forecast's MAE on the training part.
    pub mase: f64,
    /// Share of steps, in percent, whose predicted move (up or down from the last known
    /// value) has the sign of the true move; `None` for a forecast that never moves.
    pub directional: Option<f64>,
}

/// Errors of `pred` against `truth`, where `prev` is the last known value before each
/// step and `mase_scale` the naive forecast's MAE on the training part.
pub fn metrics(pred: &[f64], truth: &[f64], prev: &[f64], mase_scale: f64) -> Metrics {
    let n = truth.len() as f64;
    let (mut abs, mut sq, mut pct, mut sym) = (0.0, 0.0, 0.0, 0.0);
    let (mut moved, mut right) = (0usize, 0usize);
    for ((p, t), q) in pred.iter().zip(truth).zip(prev) {
        let e = p - t;
        abs += e.abs();
        sq += e * e;
        pct += (e / t).abs();
        sym += 2.0 * e.abs() / (p.abs() + t.abs());
        if p != q {
            moved += 1;
            right += usize::from((p - q).signum() == (t - q).signum());
        }
    }
    Metrics {
        mae: abs / n,
        rmse: (sq / n).sqrt(),
        mape: 100.0 * pct / n,
        smape: 100.0 * sym / n,
        mase: abs / n / mase_scale,
        directional: (moved > 0).then(|| 100.0 * right as f64 / moved as f64),
    }
}

/// The naive forecast's MAE over `values` (the MASE denominator).
pub fn naive_scale(values: &[f64]) -> f64 {
    let steps: Vec<f64> = values.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    steps.iter().sum::<f64>() / steps.len().max(1) as f64
}

/// Every forecaster's errors over one span, model first, then the baselines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Number of one-step targets.
    pub n: usize,
    pub first_date: String,
    pub last_date: String,
    /// True when the span was held out from training (the test part or newer data).
    pub held_out: bool,
    /// `(name, metrics)`: "model", "naive", "drift", "moving average 7".
    pub rows: Vec<(String, Metrics)>,
}

impl Evaluation {
    pub fn get(&self, name: &str) -> Option<&Metrics> {
        self.rows.iter().find(|(n, _)| n == name).map(|(_, m)| m)
    }

    /// One plain sentence: better or worse than naive, and by how much.
    pub fn verdict(&self) -> String {
        let (Some(model), Some(naive)) = (self.get("model"), self.get("naive")) else {
            return String::new();
        };
        let ratio = model.mae / naive.mae;
        let comparison = if ratio <= 1.0 {
            format!("{:.1} % lower than", (1.0 - ratio) * 100.0)
        } else {
            format!("{:.1} % higher than", (ratio - 1.0) * 100.0)
        };
        let span = if self.held_out {
            "held-out"
        } else {
            "in-sample (not held out)"
        };
        format!(
            "{span} MAE {} over {} days ({} to {}) is {comparison} the naive forecast's {} (tomorrow = today){}",
            money(model.mae),
            self.n,
            self.first_date,
            self.last_date,
            money(naive.mae),
            if ratio > 1.0 { ": the model is worse than doing nothing" } else { "" }
        )
    }

    /// An aligned table for people.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<18} {:>12} {:>12} {:>8} {:>8} {:>6} {:>11}\n",
            "forecaster", "MAE", "RMSE", "MAPE %", "sMAPE %", "MASE", "direction %"
        );
        for (name, m) in &self.rows {
            out.push_str(&format!(
                "{:<18} {:>12} {:>12} {:>8.3} {:>8.3} {:>6.3} {:>11}\n",
                name,
                money(m.mae),
                money(m.rmse),
                m.mape,
                m.smape,
                m.mase,
                m.directional.map_or("-".to_string(), |d| format!("{d:.1}"))
            ));
        }
        out
    }
}

/// Evaluates the model's one-step predictions and the baselines on `targets` of `series`.
/// `train_end` bounds the training part (for MASE's scale and the drift's start).
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    model: &Model,
    scaler: &Scaler,
    series: &Series,
    targets: Range<usize>,
    window: usize,
    train_end: usize,
    held_out: bool,
    device: &Device,
) -> anyhow::Result<Evaluation> {
    let model_pred = one_step(
        model,
        scaler,
        &series.values,
        targets.clone(),
        window,
        device,
    )?;
    Ok(score(series, targets, model_pred, train_end, held_out))
}

/// [`evaluate`] for model predictions already made (`model_pred[i]` for `targets.start + i`).
pub fn score(
    series: &Series,
    targets: Range<usize>,
    model_pred: Vec<f64>,
    train_end: usize,
    held_out: bool,
) -> Evaluation {
    let values = &series.values;
    let truth = &values[targets.clone()];
    let prev = &values[targets.start - 1..targets.end - 1];
    let scale = naive_scale(&values[..train_end.max(2)]);
    let forecasters: [(&str, Vec<f64>); 4] = [
        ("model", model_pred),
        ("naive", prev.to_vec()),
        (
            "drift",
            targets
                .clone()
                .map(|t| values[t - 1] + (values[t - 1] - values[0]) / (t - 1).max(1) as f64)
                .collect(),
        ),
        (
            "moving average 7",
            targets
                .clone()
                .map(|t| {
                    let past = &values[t.saturating_sub(MOVING_AVERAGE_DAYS)..t];
                    past.iter().sum::<f64>() / past.len() as f64
                })
                .collect(),
        ),
    ];
    let daily = series.is_daily();
    Evaluation {
        n: truth.len(),
        first_date: format_time(series.dates[targets.start], daily),
        last_date: format_time(series.dates[targets.end - 1], daily),
        held_out,
        rows: forecasters
            .into_iter()
            .map(|(n, p)| (n.to_string(), metrics(&p, truth, prev, scale)))
            .collect(),
    }
}

/// Mean absolute error of the recursive forecast at each horizon, beside the naive forecast
/// (the last known value, held flat) at the same horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HorizonError {
    /// Steps ahead, from 1.
    pub horizon: usize,
    pub model_mae: f64,
    pub naive_mae: f64,
    /// Forecast origins averaged over.
    pub origins: usize,
}

/// Recursive forecasts of `days` steps from every origin `o` in `origins` (the forecast
/// starts after `values[..o]`) whose horizon stays inside the data, scored per horizon.
/// All origins advance together, one batched prediction per step.
pub fn horizon_errors(
    model: &Model,
    scaler: &Scaler,
    values: &[f64],
    origins: Range<usize>,
    window: usize,
    days: usize,
    device: &Device,
) -> anyhow::Result<Vec<HorizonError>> {
    let origins: Vec<usize> = origins.filter(|&o| o + days <= values.len()).collect();
    let lookback = scaler.lookback(window);
    let mut histories: Vec<Vec<f64>> = origins
        .iter()
        .map(|&o| values[o - lookback..o].to_vec())
        .collect();
    let mut rows = Vec::with_capacity(days);
    let mut input = Vec::with_capacity(origins.len() * window);
    for h in 0..days {
        input.clear();
        for hist in &histories {
            scaler.encode(hist, window, &mut input);
        }
        let preds = model.predict(&input, window, device)?;
        let (mut model_err, mut naive_err) = (0.0, 0.0);
        for ((hist, &o), y) in histories.iter_mut().zip(&origins).zip(preds) {
            let next = scaler.decode(hist[hist.len() - 1], y);
            hist.push(next);
            let truth = values[o + h];
            model_err += (next - truth).abs();
            naive_err += (values[o - 1] - truth).abs();
        }
        let n = origins.len().max(1) as f64;
        rows.push(HorizonError {
            horizon: h + 1,
            model_mae: model_err / n,
            naive_mae: naive_err / n,
            origins: origins.len(),
        });
    }
    Ok(rows)
}

/// One-step predictions (price units) for `targets`, each from the true values before it.
pub fn one_step(
    model: &Model,
    scaler: &Scaler,
    values: &[f64],
    targets: Range<usize>,
    window: usize,
    device: &Device,
) -> anyhow::Result<Vec<f64>> {
    let targets: Vec<usize> = targets.collect();
    let (xs, _) = scaler.gather(values, &targets, window);
    let preds = model.predict(&xs, window, device)?;
    Ok(preds
        .into_iter()
        .zip(&targets)
        .map(|(p, &t)| scaler.decode(values[t - 1], p))
        .collect())
}

/// A price with thousands separators and two decimals: `61,234.56`.
pub fn money(x: f64) -> String {
    let s = format!("{:.2}", x.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{}{grouped}.{frac}", if x < 0.0 { "-" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_by_hand() {
        // Truth 100 → 110 → 100; prediction 105 then 104, from last values 100 and 110.
        let m = metrics(&[105.0, 104.0], &[110.0, 100.0], &[100.0, 110.0], 5.0);
        assert_eq!((m.mae, m.rmse), (4.5, (20.5f64).sqrt()));
        assert!((m.mape - 100.0 * (5.0 / 110.0 + 4.0 / 100.0) / 2.0).abs() < 1e-12);
        assert!((m.smape - 100.0 * (10.0 / 215.0 + 8.0 / 204.0) / 2.0).abs() < 1e-12);
        assert_eq!(m.mase, 0.9);
        assert_eq!(m.directional, Some(100.0)); // up then down, both right
        let naive = metrics(&[100.0, 110.0], &[110.0, 100.0], &[100.0, 110.0], 5.0);
        assert_eq!(naive.directional, None);
        assert_eq!(naive.mase, 2.0);
        assert_eq!(naive_scale(&[1.0, 3.0, 2.0]), 1.5);
        assert_eq!(money(1234567.891), "1,234,567.89");
        assert_eq!(money(12.5), "12.50");
    }
}
