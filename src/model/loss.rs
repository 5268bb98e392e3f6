//! The loss the training loop minimises, passed into it: one enum, so that a new loss is
//! one variant and its two arms here, with the loop untouched.
//!
//! Each loss has two forms that must agree: [`Loss::forward`] on candle tensors for
//! training (differentiable, f32), and [`Loss::mean`] on plain numbers in f64 for the
//! validation loss recorded after every epoch.
//!
//! A point model (the seed model) minimises the mean squared error; a quantile model
//! (`--quantiles`) the pinball loss, whose minimiser is the quantile: for each quantile q
//! and each target y with forecast ŷ, `max(q·(y − ŷ), (q − 1)·(y − ŷ))`, so that a forecast
//! below y costs q per unit and one above it 1 − q. [`Loss::for_head`] picks the one a
//! model's head calls for.

use candle_core::{Result, Tensor};

use super::Io;

#[derive(Debug, Clone, Default, PartialEq)]
pub enum Loss {
    /// Mean squared error (the seed model's).
    #[default]
    Mse,
    /// The pinball (quantile) loss averaged over the batch, the steps of the horizon and
    /// the quantiles, for a head of K·Q outputs, step-major: output `k·Q + j` is step `k`'s
    /// quantile `quantiles[j]`.
    Pinball { quantiles: Vec<f64> },
}

impl Loss {
    /// The loss a model's head is trained with: the pinball loss over its quantiles, or
    /// the MSE for a point model.
    pub fn for_head(io: &Io) -> Loss {
        if io.quantiles.is_empty() {
            Loss::Mse
        } else {
            Loss::Pinball {
                quantiles: io.quantiles.clone(),
            }
        }
    }

    /// Outputs per target: Q for the pinball loss, 1 for the MSE.
    pub fn outputs_per_target(&self) -> usize {
        match self {
            Loss::Mse => 1,
            Loss::Pinball { quantiles } => quantiles.len(),
        }
    }

    /// The mean loss of a batch: `targets` `[batch, K]` and `preds` `[batch, K]` (MSE) or
    /// `[batch, K·Q]` (pinball, step-major) → a scalar tensor.
    pub fn forward(&self, preds: &Tensor, targets: &Tensor) -> Result<Tensor> {
        match self {
            Loss::Mse => (preds - targets)?.sqr()?.mean_all(),
            Loss::Pinball { quantiles } => {
                let q = quantiles.len();
                let (batch, k) = targets.dims2()?;
                if preds.dims() != [batch, k * q] {
                    candle_core::bail!(
                        "pinball loss: preds {:?} for targets {:?} and {q} quantiles",
                        preds.dims(),
                        targets.dims()
                    );
                }
                // y − ŷ, [batch, K, Q]; ρ_q(e) = q·e + max(−e, 0) is max(q·e, (q − 1)·e).
                let e = targets
                    .reshape((batch, k, 1))?
                    .broadcast_sub(&preds.reshape((batch, k, q))?)?;
                let levels: Vec<f32> = quantiles.iter().map(|&v| v as f32).collect();
                let levels =
                    Tensor::from_vec(levels, (1, 1, q), preds.device())?.to_dtype(preds.dtype())?;
                (e.broadcast_mul(&levels)? + e.neg()?.relu()?)?.mean_all()
            }
        }
    }

    /// The same mean, accumulated in f64 (NaN when empty): `preds` holds
    /// [`Loss::outputs_per_target`] values per target, in the order of `targets`.
    pub fn mean(&self, preds: &[f32], targets: &[f32]) -> f64 {
        match self {
            Loss::Mse => {
                let n = preds.len() as f64;
                preds
                    .iter()
                    .zip(targets)
                    .map(|(p, y)| f64::from(p - y).powi(2))
                    .sum::<f64>()
                    / n
            }
            Loss::Pinball { quantiles } => {
                let n = (targets.len() * quantiles.len()) as f64;
                preds
                    .chunks(quantiles.len())
                    .zip(targets)
                    .flat_map(|(row, &y)| {
                        row.iter().zip(quantiles).map(move |(&p, &q)| {
                            let e = f64::from(y) - f64::from(p);
                            (q * e).max((q - 1.0) * e)
                        })
                    })
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

    /// Two windows, K = 2 steps, Q = 3 quantiles, step-major: each term by hand.
    #[test]
    fn pinball_both_forms_agree_with_the_definition() {
        let quantiles = vec![0.1, 0.5, 0.9];
        let loss = Loss::Pinball {
            quantiles: quantiles.clone(),
        };
        let targets = [1.0f32, 2.0, -1.0, 0.5];
        #[rustfmt::skip]
        let preds = [
            0.0f32, 1.0, 3.0,   1.5, 2.0, 2.5, // window 0: step 0, step 1
            -2.0, -1.5, 0.0,    0.5, 0.75, 1.0, // window 1
        ];
        let mut total = 0.0;
        for (t, &y) in targets.iter().enumerate() {
            for (j, &q) in quantiles.iter().enumerate() {
                let e = f64::from(y) - f64::from(preds[t * 3 + j]);
                total += if e >= 0.0 { q * e } else { (q - 1.0) * e };
            }
        }
        let want = total / 12.0;
        assert!((loss.mean(&preds, &targets) - want).abs() < 1e-15);
        // By hand: window 0 costs 0.1 + 0 + 0.1·2 and 0.1·0.5 + 0 + 0.1·0.5; window 1
        // 0.1 + 0.5·0.5 + 0.1 and 0 + 0.5·0.25 + 0.1·0.5.
        assert!((want - 1.025 / 12.0).abs() < 1e-12, "{want}");
        let dev = Device::Cpu;
        let got = loss
            .forward(
                &Tensor::from_slice(&preds, (2, 6), &dev).unwrap(),
                &Tensor::from_slice(&targets, (2, 2), &dev).unwrap(),
            )
            .unwrap();
        assert_eq!(got.dims(), &[] as &[usize]);
        let got = f64::from(got.to_scalar::<f32>().unwrap());
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        assert!(loss.mean(&[], &[]).is_nan());
        // A head of the wrong width is an error, not a silent broadcast.
        let short = Tensor::from_slice(&preds[..8], (2, 4), &dev).unwrap();
        let targets = Tensor::from_slice(&targets, (2, 2), &dev).unwrap();
        assert!(loss.forward(&short, &targets).is_err());
    }

    #[test]
    fn the_head_picks_the_loss() {
        let mut io = Io::point(1, 2);
        assert_eq!(Loss::for_head(&io), Loss::Mse);
        io.quantiles = vec![0.1, 0.5, 0.9];
        let loss = Loss::for_head(&io);
        assert_eq!(loss.outputs_per_target(), 3);
        assert_eq!(
            loss,
            Loss::Pinball {
                quantiles: vec![0.1, 0.5, 0.9]
            }
        );
    }
}
