//! The steps shared by `train` and `backtest` before the training loop: check that the
//! values suit the transform, cut the series in time order and fit the transform on the
//! training part only. No terminal code.

use crate::config::RunConfig;
use crate::features::scaler::TransformKind;
use crate::features::split::{Split, Unfit, ValPart};
use crate::features::{Columns, Featurizer};
use crate::series::dates::format_time;
use crate::series::season::Seasons;
use crate::series::{first_non_positive, Series};

/// Who chose the transform a value check is made for: the flags of this run, or a stored
/// model (which must be retrained to change it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chosen {
    ThisRun,
    Model,
}

/// Refuses a series with a zero or negative value when `kind` needs positive values
/// (`window` divides by the window's last value, `logret` takes logs of ratios); any
/// finite value suits `minmax` and `diff`. `lines[i]` is the file line of `values[i]`.
/// `Err` is one line for the user naming the first such value, its line and date, and
/// what to use instead; the caller names the file.
pub fn check_values(
    kind: TransformKind,
    chosen: Chosen,
    series: &Series,
    lines: &[usize],
) -> Result<(), String> {
    if !kind.needs_positive() {
        return Ok(());
    }
    let Some((i, count)) = first_non_positive(&series.values) else {
        return Ok(());
    };
    let why = match kind {
        TransformKind::Logret => "takes logs of ratios of values",
        TransformKind::Seasonal => "divides each window by its seasonal baseline and takes logs",
        _ => "divides each window by its last value",
    };
    let (whose, fix) = match chosen {
        Chosen::ThisRun => (
            format!("--transform {kind}"),
            "use --transform diff (or minmax)",
        ),
        Chosen::Model => (
            format!("the model's transform ({kind})"),
            "retrain it with --transform diff (or minmax)",
        ),
    };
    let line = lines
        .get(i)
        .map_or(String::new(), |l| format!("line {l}: "));
    Err(format!(
        "{line}value {} ({}) is not positive, and {whose} {why}, so every value must be positive \
         ({count} of {} are zero or negative); for a series that crosses zero, {fix}",
        series.values[i],
        format_time(series.dates[i], series.is_daily()),
        series.len()
    ))
}

/// A split and the featurizer fitted on its training part.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub split: Split,
    pub featurizer: Featurizer,
}

/// Splits `values` (the last `test_days` held out) and fits the configured transform on
/// the training windows' span. `Err` says why, and what to change.
pub fn prepare<'a>(
    config: &RunConfig,
    columns: impl Into<Columns<'a>>,
    test_days: usize,
) -> Result<Prepared, Unfit> {
    let columns = columns.into();
    let values = columns.values;
    // `seasonal` divides each window by the seasons inside it: it needs a season, and a
    // window holding one (two cycles of the longest of several).
    let seasons = Seasons::or_calendar(config.data.season, &columns.calendar);
    if config.model.framing.transform == TransformKind::Seasonal {
        let Some(seasons) = seasons else {
            return Err(Unfit::from(format!(
                "--transform seasonal needs the length of the season and this {} data has no usual one: pass --season N",
                columns.calendar.describe()
            )));
        };
        seasons.check_window(config.model.framing.window)?;
    }
    let lookback = config
        .model
        .framing
        .transform
        .lookback(config.model.framing.window);
    let val = match config.train.val_size {
        0 => ValPart::Fraction(config.train.val_fraction),
        size => ValPart::Size(size),
    };
    let mut split = Split::with_validation(values.len(), lookback, test_days, val)?;
    // The validation part holds at least one whole horizon, taken from the end of the
    // training part while that keeps a horizon of its own (else the error below).
    let k = config.model.framing.horizon;
    if split.val.len() < k && split.train.len() >= 2 * k + split.val.len() {
        split.val.start = split.val.end - k;
        split.train.end = split.val.start;
    }
    let fit = &values[..split.fit_end()];
    let featurizer = Featurizer::fit(&config.model.framing, fit, seasons).ok_or_else(|| {
        if fit.iter().all(|&v| v == fit[0]) {
            Unfit::from(format!("the training part is constant (every value is {}); a forecaster needs values that move", fit[0]))
        } else {
            Unfit {
                why: format!(
                    "every step of the training part is the same change, so --transform {} has \
                     nothing to scale by",
                    config.model.framing.transform
                ),
                fix: "use --transform minmax".into(),
            }
        }
    })?;
    let featurizer = featurizer
        .with_inputs(columns.covariates, split.fit_end())?
        .with_calendar(
            &config.model.framing.calendar,
            &columns.dates[..split.fit_end().min(columns.dates.len())],
        )?;
    if featurizer.within(&split.train).is_empty() || featurizer.within(&split.val).is_empty() {
        return Err(Unfit {
            why: format!(
                "--horizon {k} needs at least {k} values in both the training and the validation \
                 part (they have {} and {})",
                split.train.len(),
                split.val.len()
            ),
            fix: "lower --horizon, raise --val-fraction, or use a longer series".into(),
        });
    }
    Ok(Prepared { split, featurizer })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tenth of the windows is fewer than a horizon of 48: the validation part takes a
    /// whole horizon from the end of the training part instead of refusing the series.
    #[test]
    fn the_validation_part_holds_a_whole_horizon() {
        let values: Vec<f64> = (0..600).map(|i| 100.0 + (i as f64 * 0.3).sin()).collect();
        let mut config = RunConfig::default();
        config.model.framing.window = 168;
        config.model.framing.horizon = 48;
        config.model.framing.transform = TransformKind::Window;
        let p = prepare(&config, &values, 48).unwrap();
        assert_eq!(p.split.test, 552..600);
        assert_eq!(p.split.val, 504..552);
        assert_eq!(p.split.train, 168..504);
        assert_eq!(p.featurizer.within(&p.split.val), 504..505);
        // A short series still cannot give both parts a horizon.
        assert!(prepare(&config, &values[..300], 48).is_err());
    }

    /// `seasonal` needs a window of one season of one period, of two cycles of the
    /// longest of several, and says how long.
    #[test]
    fn seasonal_windows_hold_their_seasons() {
        let values: Vec<f64> = (0..900)
            .map(|i| 100.0 + (i as f64 * 0.3).sin() * 5.0 + (i % 24) as f64)
            .collect();
        let mut config = RunConfig::default();
        config.model.framing.transform = TransformKind::Seasonal;
        config.model.framing.horizon = 48;
        config.data.season = Some("24,168".parse().unwrap());
        config.model.framing.window = 168;
        let err = prepare(&config, &values, 48).unwrap_err().to_string();
        assert!(
            err.starts_with("--transform seasonal with seasons 24,168 needs --window 336 or more"),
            "{err}"
        );
        assert!(
            err.ends_with("not 168; pass --window 336, or --season 24"),
            "{err}"
        );
        config.model.framing.window = 336;
        let p = prepare(&config, &values, 48).unwrap();
        assert!(matches!(
            p.featurizer.scaler,
            crate::features::scaler::Scaler::Seasonal { seasons, .. } if seasons.periods() == [24, 168]
        ));
        config.data.season = Some(Seasons::single(24).unwrap());
        config.model.framing.window = 20;
        let err = prepare(&config, &values, 48).unwrap_err().to_string();
        assert!(
            err.contains("season of 24 steps needs --window 24 or more"),
            "{err}"
        );
        // Other transforms do not read the seasons.
        config.model.framing.transform = TransformKind::Window;
        config.data.season = Some("24,168".parse().unwrap());
        assert!(prepare(&config, &values, 48).is_ok());
    }
}
