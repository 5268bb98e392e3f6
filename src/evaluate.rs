//! One-step predictions over a span of the series and their errors, in price units,
//! beside the naive forecast ("tomorrow = today") that every model must beat.

use std::ops::Range;

use candle_core::Device;
use serde::{Deserialize, Serialize};

use crate::model::Model;
use crate::scaler::Scaler;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub mae: f64,
    pub rmse: f64,
    /// Mean absolute percentage error, in percent.
    pub mape: f64,
}

/// Errors of `pred` against `truth` (same length, non-empty).
pub fn metrics(pred: &[f64], truth: &[f64]) -> Metrics {
    let n = truth.len() as f64;
    let (mut abs, mut sq, mut pct) = (0.0, 0.0, 0.0);
    for (p, t) in pred.iter().zip(truth) {
        let e = p - t;
        abs += e.abs();
        sq += e * e;
        pct += (e / t).abs();
    }
    Metrics {
        mae: abs / n,
        rmse: (sq / n).sqrt(),
        mape: 100.0 * pct / n,
    }
}

/// Test-set errors of the model and of the naive forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestReport {
    /// Number of test targets.
    pub n: usize,
    pub first_date: String,
    pub last_date: String,
    pub model: Metrics,
    pub naive: Metrics,
}

impl TestReport {
    /// One plain sentence: better or worse than naive, and by how much.
    pub fn verdict(&self) -> String {
        let ratio = self.model.mae / self.naive.mae;
        let comparison = if ratio <= 1.0 {
            format!("{:.1} % lower than", (1.0 - ratio) * 100.0)
        } else {
            format!("{:.1} % higher than", (ratio - 1.0) * 100.0)
        };
        format!(
            "test MAE {} over {} days ({} to {}) is {comparison} the naive forecast's {} (tomorrow = today)",
            money(self.model.mae),
            self.n,
            self.first_date,
            self.last_date,
            money(self.naive.mae)
        )
    }
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

/// The naive forecasts for `targets`: each is the value before it.
pub fn naive(values: &[f64], targets: Range<usize>) -> Vec<f64> {
    targets.map(|t| values[t - 1]).collect()
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
        let m = metrics(&[110.0, 90.0], &[100.0, 100.0]);
        assert_eq!((m.mae, m.rmse, m.mape), (10.0, 10.0, 10.0));
        assert_eq!(naive(&[1.0, 2.0, 3.0], 1..3), vec![1.0, 2.0]);
        assert_eq!(money(1234567.891), "1,234,567.89");
        assert_eq!(money(12.5), "12.50");
    }
}
