//! The steps shared by `train` and `backtest` before the training loop: cut the series in
//! time order and fit the transform on the training part only. No terminal code.

use crate::config::RunConfig;
use crate::features::Featurizer;
use crate::window::Split;

/// A split and the featurizer fitted on its training part.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub split: Split,
    pub featurizer: Featurizer,
}

/// Splits `values` (the last `test_days` held out) and fits the configured transform on
/// the training windows' span. `Err` is a message for the user.
pub fn prepare(config: &RunConfig, values: &[f64], test_days: usize) -> Result<Prepared, String> {
    let lookback = config.model.transform.lookback(config.model.window);
    let split = Split::new(values.len(), lookback, test_days, config.train.val_fraction)?;
    let fit = &values[..split.fit_end()];
    let featurizer = Featurizer::fit(&config.model, fit).ok_or_else(|| {
        format!("the training part is constant (every value is {}); a forecaster needs prices that move", fit[0])
    })?;
    let k = featurizer.horizon;
    if featurizer.within(&split.train).is_empty() || featurizer.within(&split.val).is_empty() {
        return Err(format!(
            "--horizon {k} needs at least {k} values in both the training and the validation part \
             (they have {} and {}); lower --horizon, raise --val-fraction, or use a longer series",
            split.train.len(),
            split.val.len()
        ));
    }
    Ok(Prepared { split, featurizer })
}
