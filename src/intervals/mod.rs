//! Prediction intervals: how they are built, stored and scored, and the baselines they
//! must beat.
//!
//! A central interval at level 1 − α forecasts two quantiles of the target, α/2 and
//! 1 − α/2. Contract, as in [`crate::scores`]: nothing is scored that cannot be scored.
//! Empty input, a non-finite value, an interval whose ends cross, a scale that is not a
//! positive number and a quantile that too few past changes support are errors
//! ([`IntervalError`], worded for the user), never a figure made up to fill a table.
//!
//! What is where, each file using only those listed before it:
//!
//! ```text
//! level       Level, Interval, Band, IntervalError; ranks, the order-statistic rule
//! scores      coverage, width, MSIS and the pinball loss of a band (IntervalScores)
//! baselines   the naive forecast with intervals from the series' own past changes
//! conformal   the conformal calibration a model file stores, and the bands it gives
//! mc_dropout  Monte Carlo dropout bands, to compare with the calibrated ones
//! ```
//!
//! The vocabulary every stage after this one speaks (`Level`, `Interval`, `Band`,
//! `IntervalError`) is re-exported here; scores and baselines are named by their module.

pub mod baselines;
pub mod conformal;
pub mod level;
pub mod mc_dropout;
pub mod scores;

pub use level::{Band, Interval, IntervalError, Level};

/// What the unit tests of these modules build their cases from.
#[cfg(test)]
mod testing {
    use super::{Interval, Level};

    pub fn level(p: f64) -> Level {
        Level::new(p).unwrap()
    }

    pub fn iv(lower: f64, upper: f64) -> Interval {
        Interval::new(lower, upper).unwrap()
    }

    /// Equal to 1e-12, relative to `b` (absolute below 1).
    pub fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }
}
