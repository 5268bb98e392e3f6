//! Min-max scaling of prices to [0, 1], fitted on the training part only.
//!
//! A [`MinMax`] exists only once fitted, so nothing can be transformed by an unfitted
//! scaler. It is stored in the checkpoint and never refitted on later data: values above
//! the training maximum scale above 1, and [`MinMax::coverage`] says so.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MinMax {
    pub min: f64,
    pub max: f64,
}

impl MinMax {
    /// Fits on `values`; `None` when they are empty, non-finite or constant (min = max).
    pub fn fit(values: &[f64]) -> Option<MinMax> {
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (min.is_finite() && max.is_finite() && max > min).then_some(MinMax { min, max })
    }

    /// A stored scaler, checked: both bounds finite and min < max.
    pub fn checked(min: f64, max: f64) -> Option<MinMax> {
        (min.is_finite() && max.is_finite() && max > min).then_some(MinMax { min, max })
    }

    pub fn transform(&self, x: f64) -> f64 {
        (x - self.min) / (self.max - self.min)
    }

    pub fn inverse(&self, z: f64) -> f64 {
        z * (self.max - self.min) + self.min
    }

    /// Scales a whole series to f32, the network's input type.
    pub fn transform_all(&self, values: &[f64]) -> Vec<f32> {
        values.iter().map(|&v| self.transform(v) as f32).collect()
    }

    /// How many of `values` fall outside the fitted range, and the largest of them.
    pub fn coverage(&self, values: &[f64]) -> (usize, f64) {
        let outside: Vec<f64> = values
            .iter()
            .copied()
            .filter(|&v| v < self.min || v > self.max)
            .collect();
        (
            outside.len(),
            outside.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_range() {
        let s = MinMax::fit(&[10.0, 30.0, 20.0]).unwrap();
        assert_eq!((s.min, s.max), (10.0, 30.0));
        assert_eq!(s.transform(10.0), 0.0);
        assert_eq!(s.transform(30.0), 1.0);
        for x in [10.0, 17.25, 30.0, 45.0, 1e6] {
            assert!((s.inverse(s.transform(x)) - x).abs() <= 1e-9 * x.abs().max(1.0));
        }
        assert_eq!(s.coverage(&[5.0, 15.0, 40.0]), (2, 40.0));
    }

    #[test]
    fn constant_or_empty_cannot_be_fitted() {
        assert!(MinMax::fit(&[3.0, 3.0]).is_none());
        assert!(MinMax::fit(&[]).is_none());
        assert!(
            MinMax::fit(&[1.0, f64::NAN]).is_none()
                || MinMax::fit(&[1.0, f64::NAN]).is_some_and(|s| s.max > s.min)
        );
        assert!(MinMax::checked(2.0, 1.0).is_none());
    }
}
