//! Monte Carlo dropout (Gal & Ghahramani 2016): intervals read off the spread of forecasts
//! made with dropout left on, an alternative to the calibrated intervals of
//! [`crate::intervals::conformal`] to compare them with. Nothing calibrates these: they cover what
//! the network's dropout happens to spread, which `gruf evaluate --samples N` measures.
//!
//! Each sample is a whole path ([`crate::forecast::Forecaster::sample_paths`]): every
//! network forward runs with the training-time dropout after each recurrent layer (a fresh
//! mask per forward), and a recursive path feeds back its own sampled values, so each
//! sample is its own trajectory and later steps spread as their errors compound. A
//! quantile model's path follows its median output. An ensemble's sample `i` is drawn
//! from network `i mod N` alone (the networks in turn), so the samples hold both the
//! spread within each network and the spread between them; the ensemble's point forecast
//! stays the median of its networks without dropout.
//!
//! The masks come from one generator seeded with the seed given ([`Sampling::seed`]): the
//! same seed, model and data give the same samples bit for bit on one machine (the draw
//! order is fixed: block after block of steps, network after network, chunk after chunk
//! of windows).
//!
//! An interval at level 1 − α runs from the empirical α/2 to the 1 − α/2 quantile of the
//! samples at each step, each by linear interpolation between order statistics (Hyndman
//! and Fan's type 7, the default of R's `quantile` and NumPy's `quantile`): with n sorted
//! samples x₁ ≤ … ≤ xₙ, quantile p is x at the fractional rank 1 + (n − 1)p.
//!
//! A network trained without dropout has no spread to sample: it is refused
//! ([`SampleError::NoDropout`]), never shown as an interval of width zero.

use crate::intervals::Band;
use crate::intervals::{Interval, IntervalError, Level};

/// The fewest samples: one sample has no spread.
pub const MIN_SAMPLES: usize = 2;

/// The most samples the command line accepts.
pub const MAX_SAMPLES: usize = 10_000;

/// How many paths to sample, and the seed of their dropout masks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sampling {
    pub samples: usize,
    pub seed: u64,
}

/// Why MC dropout cannot be used. Messages say what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SampleError {
    #[error(
        "this model was trained without dropout (--dropout 0), so every MC dropout sample \
         is the same forecast and gives no interval; retrain with --dropout above 0 (e.g. \
         0.2), or use the calibrated intervals (--interval without --samples)"
    )]
    NoDropout,

    #[error("MC dropout needs at least {MIN_SAMPLES} samples, not {0}")]
    TooFew(usize),
}

/// The quantile `p` (in [0, 1]) of `sorted` (ascending, not empty), by linear
/// interpolation between order statistics (type 7): x at the fractional 0-based rank
/// (n − 1)p.
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The intervals at each of `levels` from the sampled paths of one origin (`paths[s][k]`:
/// sample `s`, step `k`, all of one length): at each step, the [`quantile`]s α/2 and
/// 1 − α/2 of the samples. `Err` for no paths, or a sample that is not a finite number (a
/// path that overflowed).
pub fn sample_bands(paths: &[Vec<f64>], levels: &[Level]) -> Result<Vec<Band>, IntervalError> {
    let steps = paths.first().ok_or(IntervalError::Empty)?.len();
    let mut bands: Vec<Band> = (levels.iter())
        .map(|&level| Band {
            level,
            intervals: Vec::with_capacity(steps),
        })
        .collect();
    let mut column = Vec::with_capacity(paths.len());
    for k in 0..steps {
        column.clear();
        column.extend(paths.iter().map(|p| p[k]));
        if let Some(index) = column.iter().position(|v| !v.is_finite()) {
            return Err(IntervalError::NotFinite {
                what: "MC dropout sample",
                index,
                value: column[index],
            });
        }
        column.sort_by(f64::total_cmp);
        for band in &mut bands {
            let [lo, hi] = band.level.quantiles();
            let interval = Interval::new(quantile(&column, lo), quantile(&column, hi))?;
            band.intervals.push(interval);
        }
    }
    Ok(bands)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intervals::testing::level;

    #[test]
    fn quantiles_interpolate_between_order_statistics_as_r_and_numpy_do() {
        let x = [1.0, 2.0, 4.0, 8.0, 16.0];
        assert_eq!(quantile(&x, 0.0), 1.0);
        assert_eq!(quantile(&x, 1.0), 16.0);
        assert_eq!(quantile(&x, 0.5), 4.0);
        // numpy.quantile([1, 2, 4, 8, 16], [0.1, 0.9]) = [1.4, 12.8]: ranks 0.4 and 3.6.
        assert!((quantile(&x, 0.1) - 1.4).abs() < 1e-12);
        assert!((quantile(&x, 0.9) - 12.8).abs() < 1e-12);
        assert_eq!(quantile(&[3.0], 0.25), 3.0);
    }

    #[test]
    fn bands_take_each_steps_quantiles_of_the_samples() {
        // 11 samples of 2 steps: step 0 holds 0..=10, step 1 twice that, in no order.
        let paths: Vec<Vec<f64>> = [7, 2, 10, 0, 5, 1, 9, 3, 6, 4, 8]
            .iter()
            .map(|&v| vec![v as f64, 2.0 * v as f64])
            .collect();
        let bands = sample_bands(&paths, &[level(0.8), level(0.5)]).unwrap();
        assert_eq!(bands.len(), 2);
        // 80 %: quantiles 0.1 and 0.9 of 0..=10 are 1 and 9 (ranks 1 and 9 exactly).
        let b80: Vec<(f64, f64)> = (bands[0].intervals.iter())
            .map(|i| (i.lower(), i.upper()))
            .collect();
        assert_eq!(b80.len(), 2);
        assert!((b80[0].0 - 1.0).abs() < 1e-12 && (b80[0].1 - 9.0).abs() < 1e-12);
        assert!((b80[1].0 - 2.0).abs() < 1e-12 && (b80[1].1 - 18.0).abs() < 1e-12);
        assert_eq!(bands[1].level, level(0.5));
        assert!((bands[1].intervals[0].lower() - 2.5).abs() < 1e-12);
        assert!((bands[1].intervals[0].upper() - 7.5).abs() < 1e-12);
    }

    #[test]
    fn bands_refuse_no_samples_and_samples_that_are_not_numbers() {
        assert_eq!(sample_bands(&[], &[level(0.8)]), Err(IntervalError::Empty));
        let bad = vec![vec![1.0], vec![f64::INFINITY]];
        assert!(matches!(
            sample_bands(&bad, &[level(0.8)]),
            Err(IntervalError::NotFinite { index: 1, .. })
        ));
        // Identical samples: an interval of width zero, not an error.
        let same = vec![vec![5.0]; 3];
        assert_eq!(
            sample_bands(&same, &[level(0.8)]).unwrap()[0].intervals[0].width(),
            0.0
        );
    }
}
