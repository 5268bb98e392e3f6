//! The chronological split.
//!
//! Index `t` of the series is a *target*; its input is built from the `lookback` values
//! before it (the window, or one more for log returns; see `features::scaler`). Targets are cut
//! in time order into training, validation (the last part of the pre-test targets) and test
//! (the last `test_days` values). The scaler is fitted on `values[..fit_end]`, the span the
//! training windows see, so neither validation nor test values shape it.

use crate::series::fill::{windows_across_gaps, GapCounts};
use crate::series::Series;
use std::ops::Range;

/// Why a series cannot be cut (or, in [`crate::train::prepare::prepare`], fitted): the reason,
/// and what the user can change, kept apart so that a caller who cannot change the
/// training flags (a model forecasting a series it never saw) words its own remedy.
/// Displayed as `{why}; {fix}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfit {
    pub why: String,
    /// Empty when there is nothing to suggest.
    pub fix: String,
}

impl std::fmt::Display for Unfit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.fix.as_str() {
            "" => f.write_str(&self.why),
            fix => write!(f, "{}; {fix}", self.why),
        }
    }
}

/// A message that already holds its remedy, if it has one.
impl From<String> for Unfit {
    fn from(why: String) -> Unfit {
        Unfit {
            why,
            fix: String::new(),
        }
    }
}

/// How much of the pre-test targets validation takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValPart {
    /// The latest share of them.
    Fraction(f64),
    /// The latest this many.
    Size(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Values of history each target needs: the first target is at this index.
    pub lookback: usize,
    /// Targets the model is fitted on.
    pub train: Range<usize>,
    /// Targets for validation loss, early stopping and picking the best epoch.
    pub val: Range<usize>,
    /// Held-out targets, used only to report test metrics.
    pub test: Range<usize>,
}

impl Split {
    /// How the gaps `filled` (rows inserted in `series` by `--fill`) fall in this split:
    /// windows spanning one, and filled rows among the held-out targets.
    pub fn gaps(&self, series: &Series, filled: &[usize]) -> GapCounts {
        let targets = self.train.start..self.test.end;
        GapCounts {
            windows: targets.len(),
            across: windows_across_gaps(&series.dates, &series.calendar, self.lookback, targets),
            held_out: self.test.len(),
            filled_held_out: filled.iter().filter(|i| self.test.contains(i)).count(),
        }
    }

    /// Cuts a series of `n` values, `val_fraction` of the pre-test targets for validation;
    /// `Err` says how many values are needed.
    pub fn new(
        n: usize,
        lookback: usize,
        test_days: usize,
        val_fraction: f64,
    ) -> Result<Split, Unfit> {
        Split::with_validation(n, lookback, test_days, ValPart::Fraction(val_fraction))
    }

    /// [`Split::new`] with the validation part as a fraction or a count of targets (at
    /// least one, and one training target left).
    pub fn with_validation(
        n: usize,
        lookback: usize,
        test_days: usize,
        val: ValPart,
    ) -> Result<Split, Unfit> {
        let needed = lookback + 2 + test_days;
        if lookback == 0 || n < needed {
            return Err(Unfit {
                why: format!(
                    "{n} rows are too few: {lookback} values of history per window, 2 \
                     training/validation windows and {test_days} held-out values need at least \
                     {needed}"
                ),
                fix: "lower --window or --test-size, or use a longer series".into(),
            });
        }
        let pre_test = n - test_days;
        let windows = pre_test - lookback;
        let n_val = match val {
            ValPart::Fraction(f) => (windows as f64 * f).round() as usize,
            ValPart::Size(size) => size,
        }
        .clamp(1, windows - 1);
        let val_start = pre_test - n_val;
        Ok(Split {
            lookback,
            train: lookback..val_start,
            val: val_start..pre_test,
            test: pre_test..n,
        })
    }

    /// End (exclusive) of the values the scaler is fitted on.
    pub fn fit_end(&self) -> usize {
        self.train.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_chronological_and_complete() {
        let s = Split::new(1000, 60, 365, 0.1).unwrap();
        assert_eq!(s.test, 635..1000);
        assert_eq!(s.train.start, 60);
        assert_eq!(s.train.end, s.val.start);
        assert_eq!(s.val.end, s.test.start);
        assert_eq!(s.val.len(), 58); // 10 % of the 575 pre-test windows
        assert_eq!(s.fit_end(), s.val.start);
    }

    #[test]
    fn too_short_says_how_many_are_needed() {
        let err = Split::new(426, 60, 365, 0.1).unwrap_err().to_string();
        assert!(err.contains("at least 427"), "{err}");
        assert!(Split::new(427, 60, 365, 0.1).is_ok());
        let s = Split::with_validation(100, 10, 20, ValPart::Size(30)).unwrap();
        assert_eq!((s.train, s.val, s.test), (10..50, 50..80, 80..100));
        // At most every pre-test target but one.
        let s = Split::with_validation(100, 10, 20, ValPart::Size(500)).unwrap();
        assert_eq!((s.train.len(), s.val.len()), (1, 69));
        let s = Split::new(62, 60, 0, 0.5).unwrap();
        assert_eq!((s.train.len(), s.val.len(), s.test.len()), (1, 1, 0));
    }
}
