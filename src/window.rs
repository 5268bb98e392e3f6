//! The chronological split.
//!
//! Index `t` of the series is a *target*; its input is built from the `lookback` values
//! before it (the window, or one more for log returns; see `scaler.rs`). Targets are cut
//! in time order into training, validation (the last part of the pre-test targets) and test
//! (the last `test_days` values). The scaler is fitted on `values[..fit_end]`, the span the
//! training windows see, so neither validation nor test values shape it.

use std::ops::Range;

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
    /// Cuts a series of `n` values; `Err` says how many values are needed.
    pub fn new(
        n: usize,
        lookback: usize,
        test_days: usize,
        val_fraction: f64,
    ) -> Result<Split, String> {
        let needed = lookback + 2 + test_days;
        if lookback == 0 || n < needed {
            return Err(format!(
                "{n} rows are too few: {lookback} values of history per window, 2 training/validation \
                 windows and {test_days} held-out values need at least {needed}; lower --window or \
                 --test-size, or use a longer series"
            ));
        }
        let pre_test = n - test_days;
        let windows = pre_test - lookback;
        let n_val = ((windows as f64 * val_fraction).round() as usize).clamp(1, windows - 1);
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
        let err = Split::new(426, 60, 365, 0.1).unwrap_err();
        assert!(err.contains("at least 427"), "{err}");
        assert!(Split::new(427, 60, 365, 0.1).is_ok());
        let s = Split::new(62, 60, 0, 0.5).unwrap();
        assert_eq!((s.train.len(), s.val.len(), s.test.len()), (1, 1, 0));
    }
}
