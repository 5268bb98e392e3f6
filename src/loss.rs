//! The loss the training loop minimises, passed into it: one enum, so that a new loss
//! (a pinball loss for quantiles, say) is one variant and its two arms here, with the loop
//! untouched.
//!
//! Each loss has two forms that must agree: [`Loss::forward`] on candle tensors for
//! training (differentiable, f32), and [`Loss::mean`] on plain numbers in f64 for the
//! validation loss recorded after every epoch.

use candle_core::{Result, Tensor};

#[derive(Debug, Clone, Default, PartialEq)]
pub enum Loss {
    /// Mean squared error (the seed model's).
    #[default]
    Mse,
}

impl Loss {
    /// The mean loss of a batch: `preds` and `targets` `[batch, 1]` → a scalar tensor.
    pub fn forward(&self, preds: &Tensor, targets: &Tensor) -> Result<Tensor> {
        match self {
            Loss::Mse => (preds - targets)?.sqr()?.mean_all(),
        }
    }

    /// The same mean over `preds` and `targets` of equal length, accumulated in f64
    /// (NaN when empty).
    pub fn mean(&self, preds: &[f32], targets: &[f32]) -> f64 {
        let n = preds.len() as f64;
        match self {
            Loss::Mse => {
                preds
                    .iter()
                    .zip(targets)
                    .map(|(p, y)| f64::from(p - y).powi(2))
                    .sum::<f64>()
                    / n
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn mse_both_forms_agree_with_the_definition() {
        let (preds, targets) = ([0.5f32, -1.0, 2.0], [1.0f32, -1.0, -2.0]);
        let want = (0.25 + 0.0 + 16.0) / 3.0;
        assert_eq!(Loss::Mse.mean(&preds, &targets), want);
        let t = |v: &[f32]| Tensor::from_slice(v, (3, 1), &Device::Cpu).unwrap();
        let got = Loss::Mse.forward(&t(&preds), &t(&targets)).unwrap();
        assert_eq!(got.dims(), &[] as &[usize]);
        let got = f64::from(got.to_scalar::<f32>().unwrap());
        assert!((got - want).abs() < 1e-6, "{got}");
        assert!(Loss::Mse.mean(&[], &[]).is_nan());
    }
}
