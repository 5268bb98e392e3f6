//! The input contract of a model: which values go in, through which fitted transform, how
//! many steps a window holds and how many steps come out.
//!
//! A [`Featurizer`] exists only once fitted (on the training part only) and is rebuilt from
//! the checkpoint; training, evaluation and forecasting all go through it, so the shapes
//! the network sees are decided in one place: inputs `x: [n, window, features]`, targets
//! `y: [n, horizon]`. Today one column goes in (the price); wider inputs extend this type,
//! not its callers. With a horizon of K the targets of input `t` are the K values from `t`
//! on, each relative to the last input value (`window`), each minus it (`diff`), scaled
//! alike (`minmax`), or the K next log returns (`logret`), decoded cumulatively.

use std::ops::Range;

use crate::config::ModelConfig;
use crate::scaler::Scaler;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Featurizer {
    /// The price transform, fitted on the training part.
    pub scaler: Scaler,
    /// Steps per input window.
    pub window: usize,
    /// Steps predicted at once.
    pub horizon: usize,
}

impl Featurizer {
    /// Fits the configured transform on `train` (the values the training windows span);
    /// `None` when they are constant.
    pub fn fit(config: &ModelConfig, train: &[f64]) -> Option<Featurizer> {
        Some(Featurizer {
            scaler: Scaler::fit(config.transform, train)?,
            window: config.window,
            horizon: config.horizon,
        })
    }

    /// Past values one input needs (the window; one more for log returns).
    pub fn lookback(&self) -> usize {
        self.scaler.lookback(self.window)
    }

    /// Values per step of an input window.
    pub fn features(&self) -> usize {
        1
    }

    /// The targets `t` of `span` whose whole horizon `t..t + horizon` lies inside it, so
    /// training targets never reach into validation, nor validation into test.
    pub fn within(&self, span: &Range<usize>) -> Range<usize> {
        span.start..(span.end + 1).saturating_sub(self.horizon).max(span.start)
    }

    /// Appends to `out` the input (`[window, features]`) for predicting what follows
    /// `history`, of which the last [`Featurizer::lookback`] values are used.
    pub fn encode(&self, history: &[f64], out: &mut Vec<f32>) {
        self.scaler.encode(history, self.window, out);
    }

    /// Inputs (`[n, window, features]`, flat) for predicting what follows `values[..t]`,
    /// for each target `t`.
    pub fn inputs(&self, values: &[f64], targets: &[usize]) -> Vec<f32> {
        let mut xs = Vec::with_capacity(targets.len() * self.window * self.features());
        for &t in targets {
            self.encode(&values[..t], &mut xs);
        }
        xs
    }

    /// Inputs (as [`Featurizer::inputs`]) and targets (`[n, horizon]`, flat) for
    /// predicting `values[t..t + horizon]` from the values before `t`, for each target `t`
    /// (which must have its horizon inside `values`).
    pub fn batch(&self, values: &[f64], targets: &[usize]) -> (Vec<f32>, Vec<f32>) {
        let xs = self.inputs(values, targets);
        let mut ys = Vec::with_capacity(targets.len() * self.horizon);
        for &t in targets {
            for k in 0..self.horizon {
                let anchor = self.anchor(values[t - 1], values, t + k);
                ys.push(self.scaler.target(anchor, values[t + k]));
            }
        }
        (xs, ys)
    }

    /// The value step `t` of a target path is relative to: the one before it for a chained
    /// transform (log returns), else the last known value.
    fn anchor(&self, last_known: f64, path: &[f64], t: usize) -> f64 {
        if self.scaler.chained() {
            path[t - 1]
        } else {
            last_known
        }
    }

    /// The prices a network output `y` (`[horizon]`, or its first steps) stands for, after
    /// the last known value `last`: each relative to `last`, or, for log returns, each to
    /// the one decoded before it.
    pub fn decode(&self, last: f64, y: &[f32]) -> Vec<f64> {
        let mut path = Vec::with_capacity(y.len());
        let mut previous = last;
        for &v in y {
            let anchor = if self.scaler.chained() {
                previous
            } else {
                last
            };
            previous = self.scaler.decode(anchor, v);
            path.push(previous);
        }
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scaler::TransformKind;

    fn fitted(transform: TransformKind, horizon: usize, values: &[f64]) -> Featurizer {
        let config = ModelConfig {
            window: 4,
            transform,
            horizon,
            ..ModelConfig::default()
        };
        Featurizer::fit(&config, values).unwrap()
    }

    /// The targets of input `t` are exactly `values[t..t + K]`: decoding them from the last
    /// input value gives those values back, for every transform (no off-by-one, and log
    /// returns accumulate).
    #[test]
    fn targets_are_the_next_k_values_and_decode_back() {
        let values: Vec<f64> = (0..40)
            .map(|i| 100.0 + (i as f64 * 0.7).sin() * 9.0 + i as f64)
            .collect();
        for transform in TransformKind::ALL {
            let f = fitted(transform, 5, &values[..30]);
            let targets = [10, 20, 35];
            let (xs, ys) = f.batch(&values, &targets);
            assert_eq!(xs.len(), targets.len() * 4);
            assert_eq!(ys.len(), targets.len() * 5);
            for (i, &t) in targets.iter().enumerate() {
                let path = f.decode(values[t - 1], &ys[i * 5..(i + 1) * 5]);
                for (k, p) in path.iter().enumerate() {
                    assert!(
                        (p - values[t + k]).abs() < 1e-3 * values[t + k],
                        "{transform:?} t={t} k={k}: {p} vs {}",
                        values[t + k]
                    );
                }
            }
        }
    }

    /// One step ahead, the targets are today's (the seed model's) targets.
    #[test]
    fn a_horizon_of_one_is_the_one_step_target() {
        // Not a straight line: its one-step changes must vary for `diff` to have a scale.
        let values: Vec<f64> = (0..30)
            .map(|i| 50.0 + i as f64 * 1.5 + (i as f64).sin())
            .collect();
        for transform in TransformKind::ALL {
            let f = fitted(transform, 1, &values);
            let (xs, ys) = f.batch(&values, &[10, 11]);
            let (xs0, ys0) = f.scaler.gather(&values, &[10, 11], 4);
            assert_eq!((xs, ys), (xs0, ys0), "{transform:?}");
        }
    }

    /// `diff` with K > 1 on a series that crosses zero: every target of a window is
    /// anchored at its last value (not chained), and decodes back to the next K values.
    #[test]
    fn diff_targets_are_anchored_and_decode_back_across_zero() {
        let values: Vec<f64> = (0..50)
            .map(|i| (i as f64 * 0.4).sin() * 3.0 + (i as f64 * 1.7).cos() * 0.3)
            .collect();
        assert!(values.iter().any(|&v| v < 0.0) && values.iter().any(|&v| v > 0.0));
        let f = fitted(TransformKind::Diff, 6, &values[..30]);
        let Scaler::Diff { scale } = f.scaler else {
            panic!("{:?}", f.scaler)
        };
        let targets = [4, 17, 33, 44];
        let (xs, ys) = f.batch(&values, &targets);
        assert_eq!((xs.len(), ys.len()), (4 * 4, 4 * 6));
        for (i, &t) in targets.iter().enumerate() {
            let last = values[t - 1];
            assert_eq!(xs[i * 4 + 3], 0.0); // the last input value minus itself
            for k in 0..6 {
                assert_eq!(ys[i * 6 + k], ((values[t + k] - last) / scale) as f32);
            }
            let path = f.decode(last, &ys[i * 6..(i + 1) * 6]);
            for (k, p) in path.iter().enumerate() {
                assert!((p - values[t + k]).abs() < 1e-5, "t={t} k={k}: {p}");
            }
        }
    }

    #[test]
    fn targets_keep_their_horizon_inside_their_part() {
        let f = fitted(TransformKind::Window, 7, &[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(f.within(&(10..30)), 10..24); // 23 + 6 = 29, the last value of the part
        assert_eq!(f.within(&(10..15)), 10..10);
        let one = fitted(TransformKind::Window, 1, &[1.0, 2.0, 3.0]);
        assert_eq!(one.within(&(10..30)), 10..30);
    }
}
