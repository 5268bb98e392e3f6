//! The deterministic generator behind `data/btc-sample.csv`.
//!
//! A synthetic daily price in Yahoo's BTC-USD layout: log-returns with a slow boom-and-bust
//! drift cycle, GARCH(1,1)-style volatility clustering and fat-ish tails, from a ChaCha8
//! stream, so the same seed gives the same file on every machine. It looks and behaves
//! like a crypto price (trends, crashes, quiet and wild spells) without being anyone's data.
//! Remake the sample with `gruf sample --out data/btc-sample.csv` (defaults are the sample's).

use std::f64::consts::PI;

use chrono::NaiveDate;
use rand::{Rng, SeedableRng};

use crate::rng::Rng64;

#[derive(Debug, Clone, PartialEq)]
pub struct SampleConfig {
    pub rows: usize,
    pub seed: u64,
    /// First date (the series is daily).
    pub start: NaiveDate,
    pub start_price: f64,
}

impl Default for SampleConfig {
    fn default() -> Self {
        SampleConfig {
            rows: 1_600,
            seed: 20_140_917,
            start: NaiveDate::from_ymd_opt(2019, 1, 1).unwrap_or_default(),
            start_price: 3_800.0,
        }
    }
}

/// One row of the Yahoo layout.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub date: NaiveDate,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: u64,
}

pub fn generate(config: &SampleConfig) -> Vec<Bar> {
    let mut rng = Rng64::seed_from_u64(config.seed);
    let mut normal = move || {
        // Box–Muller from two uniforms in (0, 1].
        let u1: f64 = 1.0 - rng.random::<f64>();
        let u2: f64 = rng.random::<f64>();
        (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
    };
    let mut log_price = config.start_price.ln();
    let mut variance: f64 = 0.035f64.powi(2);
    let mut last_return: f64 = 0.0;
    let mut bars = Vec::with_capacity(config.rows);
    let mut date = config.start;
    for t in 0..config.rows {
        // Drift: a four-year boom-and-bust cycle plus a small long-run rise.
        let drift = 0.0004 + 0.0035 * (2.0 * PI * t as f64 / 1_460.0).sin();
        variance = 0.000_02 + 0.10 * last_return.powi(2) + 0.87 * variance;
        let shock = normal();
        // A rare jump gives the fat left tail of a crash day.
        let jump = if shock < -2.6 { -0.05 } else { 0.0 };
        last_return = drift + variance.sqrt() * shock + jump;
        let open = log_price.exp() * (1.0 + 0.002 * normal());
        log_price += last_return;
        let close = log_price.exp();
        let high = open.max(close) * (1.0 + 0.012 * normal().abs());
        let low = open.min(close) * (1.0 - 0.012 * normal().abs());
        let volume = (2.0e10 * (0.35 * normal() + 8.0 * last_return.abs()).exp()) as u64;
        bars.push(Bar {
            date,
            open,
            high,
            low,
            close,
            volume,
        });
        date = date.succ_opt().unwrap_or(date);
    }
    bars
}

/// The CSV text, exactly as Yahoo lays it out (`Adj Close` equals `Close` for crypto).
pub fn to_csv(bars: &[Bar]) -> String {
    let mut out = String::from("Date,Open,High,Low,Close,Adj Close,Volume\n");
    for b in bars {
        out.push_str(&format!(
            "{},{:.6},{:.6},{:.6},{:.6},{:.6},{}\n",
            b.date.format("%Y-%m-%d"),
            b.open,
            b.high,
            b.low,
            b.close,
            b.close,
            b.volume
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_well_formed() {
        let c = SampleConfig {
            rows: 300,
            ..Default::default()
        };
        let a = generate(&c);
        assert_eq!(a, generate(&c));
        assert_eq!(a.len(), 300);
        for b in &a {
            assert!(b.low <= b.open.min(b.close) && b.high >= b.open.max(b.close) && b.low > 0.0);
        }
        assert_ne!(a, generate(&SampleConfig { seed: 1, ..c }));
    }
}
