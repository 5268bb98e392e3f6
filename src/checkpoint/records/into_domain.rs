//! The current format's records → domain types: what [`Meta::from_json`] returns once a
//! file's records are upgraded to the current ones. Here the metadata is checked for what
//! serde cannot see and the domain types promise: the configuration's ranges, the
//! delimiter, the scaler against the transform, the calendar's step, each split's order,
//! each kept epoch against its history, the calibration's size, method and levels against
//! the head (before its steps are allocated), and series ids listed once.

use std::sync::Arc;

use crate::checkpoint::meta::{FittedSeries, Meta, Network};
use crate::checkpoint::SERIES_CLOCK_FORMAT;
use crate::config::{ModelConfig, OptimizerKind, RunConfig, TrainConfig, MAX_WINDOW};
use crate::features::scaler::{Scaler, TransformKind};
use crate::features::split::Split;
use crate::features::{Framing, Input, InputTransform};
use crate::intervals::conformal::{
    quantile_levels, Calibration, ErrorSet, Method, Space, MAX_STEPS,
};
use crate::intervals::Level;
use crate::model::{Cell, NetworkConfig};
use crate::scores::{Evaluation, Metrics};
use crate::series::calendar::Calendar;
use crate::series::csv::DataConfig;
use crate::series::resample::Resample;
use crate::series::season::Seasons;
use crate::series::Provenance;
use crate::train::EpochRecord;

use super::{v3, v4, v5};

impl v5::Meta {
    /// The domain metadata, or why the record cannot be one: an invalid configuration or
    /// delimiter, a scaler that is broken or does not match the model's transform, inputs
    /// that do not add up to the model's input width, series without ids or listed twice,
    /// a calendar without a positive step, or more networks than the ensemble configured.
    pub fn into_domain(self) -> Result<Meta, String> {
        let config = self.config.into_domain()?;
        config
            .validate()
            .map_err(|e| format!("stored configuration is invalid: {e}"))?;
        let series = if self.series.is_empty() {
            let (Some(scaler), Some(split)) = (self.scaler, self.split) else {
                return Err(
                    "the gruf metadata is incomplete: it has neither a scaler and a split (a model of one series) nor a list of series".into(),
                );
            };
            vec![v4::FittedSeries {
                id: String::new(),
                scaler,
                inputs: self.inputs,
                split,
                mase_scale: self.mase_scale,
                file: None,
                held_out_from: None,
            }]
        } else {
            if self.scaler.is_some() || self.split.is_some() || !self.inputs.is_empty() {
                return Err(
                    "the file has both a top-level scaler, split or inputs and a list of series"
                        .into(),
                );
            }
            self.series
        };
        let mut ids = std::collections::HashSet::new();
        let global = series.len() > 1 || !series[0].id.is_empty();
        let series = series
            .into_iter()
            .map(|m| {
                if global && (m.id.is_empty() || !ids.insert(m.id.clone())) {
                    return Err(format!(
                        "series id '{}' is empty or listed twice in the file",
                        m.id
                    ));
                }
                member(m, &config, self.format_version < SERIES_CLOCK_FORMAT)
            })
            .collect::<Result<_, String>>()?;
        check_best_epoch(self.best_epoch, &self.history, "")?;
        for (i, n) in self.ensemble.iter().enumerate() {
            check_best_epoch(n.best_epoch, &n.history, &format!(" of network {}", i + 2))?;
        }
        let calibration = (self.calibration)
            .map(|c| calibration(c, &config.model))
            .transpose()?;
        let networks = 1 + self.ensemble.len();
        if networks > config.train.ensemble {
            return Err(format!(
                "the file holds {networks} networks but its configuration says an ensemble of {}",
                config.train.ensemble
            ));
        }
        let mut meta = Meta {
            format: self.format,
            format_version: self.format_version,
            gruf_version: self.gruf_version,
            created: self.created,
            config,
            seed: self.seed,
            series,
            data: self.data.try_into()?,
            history: self.history.into_iter().map(EpochRecord::from).collect(),
            best_epoch: self.best_epoch,
            stopped_early: self.stopped_early,
            interrupted: self.interrupted,
            test: self.test.map(Evaluation::try_from).transpose()?,
            ensemble: self
                .ensemble
                .into_iter()
                .map(|n| Network {
                    seed: n.seed,
                    history: n.history.into_iter().map(EpochRecord::from).collect(),
                    best_epoch: n.best_epoch,
                    stopped_early: n.stopped_early,
                })
                .collect(),
            calibration,
        };
        meta.date_held_out();
        Ok(meta)
    }
}

/// The calibration's record as a domain [`Calibration`] whose steps are still empty: the
/// loader reads each step's errors from its tensor. Checked against the model's head
/// before anything is allocated: at most [`MAX_STEPS`] steps, residuals for a point
/// model, and for a quantile model exactly the levels its quantiles give (the ones
/// `train` calibrated), so that no consumer meets a level without its quantiles. How the
/// steps and the spread fit the model's window, horizon and series is checked by the
/// loader, beside the tensors.
fn calibration(c: v5::Calibration, model: &ModelConfig) -> Result<Arc<Calibration>, String> {
    let method = Method::from_name(&c.method).ok_or_else(|| {
        format!(
            "calibration method '{}' is unknown to this gruf ({}): upgrade gruf, or retrain",
            c.method,
            env!("CARGO_PKG_VERSION")
        )
    })?;
    if c.steps == 0 {
        return Err("the calibration holds no steps".into());
    }
    let space = match c.space.as_deref() {
        None => Space::Units,
        Some("log") => Space::Log,
        Some(other) => {
            return Err(format!(
            "calibration space '{other}' is unknown to this gruf ({}): upgrade gruf, or retrain",
            env!("CARGO_PKG_VERSION")
        ))
        }
    };
    if c.steps > MAX_STEPS {
        return Err(format!(
            "the calibration claims {} steps ahead; gruf calibrates at most {MAX_STEPS}",
            c.steps
        ));
    }
    let spread_fits = match method {
        Method::Residuals => c.spread <= MAX_WINDOW,
        Method::Quantiles => c.spread == 0,
    };
    if !spread_fits {
        return Err(format!(
            "the calibration's spread of {} steps does not fit its method '{}' (at most \
             {MAX_WINDOW} for residuals, 0 for quantiles)",
            c.spread, c.method
        ));
    }
    let head = if model.framing.quantiles.is_empty() {
        Method::Residuals
    } else {
        Method::Quantiles
    };
    if method != head {
        return Err(format!(
            "the calibration's method '{}' does not fit a {} head",
            c.method,
            if model.framing.quantiles.is_empty() {
                "point".to_string()
            } else {
                format!("quantile ({})", words(&model.framing.quantiles))
            }
        ));
    }
    let given: Vec<f64> = (quantile_levels(&model.framing.quantiles).iter())
        .map(|(l, _, _)| l.get())
        .collect();
    let same = given.len() == c.levels.len()
        && (given.iter().zip(&c.levels)).all(|(a, b)| (a - b).abs() < 1e-9);
    if method == Method::Quantiles && !same {
        return Err(format!(
            "the calibration's levels ({}) are not those the model's quantiles ({}) give ({})",
            words(&c.levels),
            words(&model.framing.quantiles),
            words(&given)
        ));
    }
    let steps = vec![Vec::new(); c.steps];
    let sets = match method {
        Method::Residuals if c.levels.is_empty() => vec![ErrorSet { level: None, steps }],
        Method::Quantiles if !c.levels.is_empty() => (c.levels.iter())
            .map(|&l| {
                let level = Level::new(l).map_err(|e| format!("stored calibration: {e}"))?;
                Ok(ErrorSet {
                    level: Some(level),
                    steps: steps.clone(),
                })
            })
            .collect::<Result<_, String>>()?,
        _ => {
            return Err(format!(
                "the calibration's levels ({:?}) do not fit its method '{}'",
                c.levels, c.method
            ))
        }
    };
    Ok(Arc::new(Calibration {
        method,
        space,
        spread: c.spread,
        sets,
    }))
}

/// `0.1, 0.5, 0.9`.
fn words(values: &[f64]) -> String {
    let words: Vec<String> = values.iter().map(f64::to_string).collect();
    words.join(", ")
}

/// `Err` unless the kept epoch of a network (`which`: "" or " of network 2") is one of
/// the epochs its history records: consumers read `history[best_epoch - 1]`.
fn check_best_epoch(best_epoch: usize, history: &[v3::Epoch], which: &str) -> Result<(), String> {
    if (1..=history.len()).contains(&best_epoch) {
        return Ok(());
    }
    Err(format!(
        "the kept epoch{which} is {best_epoch} but its history records {} epoch{}",
        history.len(),
        if history.len() == 1 { "" } else { "s" }
    ))
}

/// `Err` unless a series' split is what [`Split::new`] cuts: the first target after its
/// history, then training, validation and test targets in time order, each part starting
/// where the one before it ends.
fn check_split(s: &v3::Split, whose: &str) -> Result<(), String> {
    let (train, val, test) = (s.train, s.val, s.test);
    let ordered = s.lookback >= 1
        && s.lookback <= train.start
        && train.start <= train.end
        && train.end == val.start
        && val.start <= val.end
        && val.end == test.start
        && test.start <= test.end;
    if ordered {
        return Ok(());
    }
    Err(format!(
        "stored split{whose} is invalid (lookback {}, training {}..{}, validation {}..{}, \
         test {}..{}): the parts must follow each other in time order after the lookback",
        s.lookback, train.start, train.end, val.start, val.end, test.start, test.end
    ))
}

/// A series' record as a domain [`FittedSeries`], checked against the model's configuration.
fn member(m: v4::FittedSeries, config: &RunConfig, in_utc: bool) -> Result<FittedSeries, String> {
    let whose = if m.id.is_empty() {
        String::new()
    } else {
        format!(" of series '{}'", m.id)
    };
    let scaler =
        Scaler::try_from(m.scaler).map_err(|e| format!("stored scaler{whose} is invalid: {e}"))?;
    if !scaler.is_valid() || scaler.kind() != config.model.framing.transform {
        return Err(format!(
            "stored scaler{whose} is invalid ({scaler:?}): it must match the model's transform, \
             with finite parameters, min below max and a positive scale"
        ));
    }
    if let Scaler::Seasonal { seasons, .. } = scaler {
        seasons
            .check_window(config.model.framing.window)
            .map_err(|e| format!("stored scaler{whose} does not fit the model's window: {e}"))?;
    }
    check_split(&m.split, &whose)?;
    if let Some(scale) = m.mase_scale.filter(|s| !(s.is_finite() && *s >= 0.0)) {
        return Err(format!(
            "stored MASE scale{whose} is {scale}: a mean absolute change is never negative"
        ));
    }
    let inputs: Vec<Input> = m.inputs.into_iter().map(Input::from).collect();
    if let Some(bad) = inputs.iter().find(|i| match i.transform {
        InputTransform::Price => false,
        InputTransform::Standard { mean, std, .. } => {
            !(mean.is_finite() && std.is_finite() && std > 0.0)
        }
    }) {
        return Err(format!(
            "stored input '{}'{whose} has an invalid transform ({:?}): it needs a finite mean and a positive standard deviation",
            bad.name, bad.transform
        ));
    }
    let calendar = config.model.framing.calendar.len();
    if config.model.input_width != 1 + inputs.len() + 2 * calendar {
        return Err(format!(
            "the model takes {} values per step but the file lists {} input{}{whose} beside the \
             price and {calendar} calendar input{} (two values each)",
            config.model.input_width,
            inputs.len(),
            if inputs.len() == 1 { "" } else { "s" },
            if calendar == 1 { "" } else { "s" }
        ));
    }
    Ok(FittedSeries {
        id: m.id,
        scaler,
        inputs,
        split: m.split.into(),
        mase_scale: m.mase_scale,
        file: m.file.map(std::path::PathBuf::from),
        held_out_from: m.held_out_from,
        held_out_in_utc: in_utc,
    })
}

impl v3::RunConfig {
    fn into_domain(self) -> Result<RunConfig, String> {
        let (d, m, t) = (self.data, self.model, self.train);
        let delimiter = d
            .delimiter
            .parse()
            .map_err(|e| format!("stored configuration is invalid: {e}"))?;
        Ok(RunConfig {
            data: DataConfig {
                column: d.column,
                date_column: d.date_column,
                date_format: d.date_format,
                resample: d.resample.map(|r| match r {
                    v3::Resample::Hour => Resample::Hour,
                    v3::Resample::Day => Resample::Day,
                }),
                season: d
                    .season
                    .map(|s| match s {
                        v3::Season::One(m) => Seasons::single(m),
                        v3::Season::Several(periods) => Seasons::new(&periods),
                    })
                    .transpose()
                    .map_err(|e| format!("stored configuration is invalid: {e}"))?,
                delimiter,
                inputs: d.inputs,
                id_column: d.id_column,
                fill: match d.fill {
                    None => crate::series::fill::Fill::None,
                    Some(v3::Fill::Ffill) => crate::series::fill::Fill::Ffill,
                    Some(v3::Fill::Linear) => crate::series::fill::Fill::Linear,
                    Some(v3::Fill::Seasonal) => crate::series::fill::Fill::Seasonal,
                },
            },
            model: ModelConfig {
                network: NetworkConfig {
                    cell: match m.cell {
                        v3::Cell::Gru => Cell::Gru,
                        v3::Cell::Lstm => Cell::Lstm,
                        v3::Cell::Rnn => Cell::Rnn,
                    },
                    layers: m.layers,
                    dropout: m.dropout,
                },
                framing: Framing {
                    window: m.window,
                    transform: match m.transform {
                        v3::Transform::Minmax => TransformKind::Minmax,
                        v3::Transform::Window => TransformKind::Window,
                        v3::Transform::Logret => TransformKind::Logret,
                        v3::Transform::Diff => TransformKind::Diff,
                        v3::Transform::Seasonal => TransformKind::Seasonal,
                    },
                    horizon: m.horizon,
                    calendar: m
                        .calendar
                        .iter()
                        .map(|c| c.parse())
                        .collect::<Result<_, String>>()
                        .map_err(|e| format!("stored configuration is invalid: {e}"))?,
                    quantiles: m.quantiles,
                },
                input_width: m.features,
            },
            train: TrainConfig {
                epochs: t.epochs,
                batch_size: t.batch_size,
                optimizer: match t.optimizer {
                    v3::Optimizer::Rmsprop => OptimizerKind::Rmsprop,
                    v3::Optimizer::Adam => OptimizerKind::Adam,
                },
                lr: t.lr,
                patience: t.patience,
                clip_norm: t.clip_norm,
                test_days: t.test_days,
                val_fraction: t.val_fraction,
                val_size: t.val_size,
                seed: t.seed,
                recent_windows: t.recent_windows,
                backprop_steps: t.backprop_steps,
                ensemble: t.ensemble,
            },
        })
    }
}

/// `Err` for seasonal periods that are out of range or out of order.
impl TryFrom<v3::Scaler> for Scaler {
    type Error = String;

    fn try_from(s: v3::Scaler) -> Result<Scaler, String> {
        Ok(match s {
            v3::Scaler::Minmax { min, max } => Scaler::Minmax { min, max },
            v3::Scaler::Window { scale } => Scaler::Window { scale },
            v3::Scaler::Logret { scale } => Scaler::Logret { scale },
            v3::Scaler::Diff { scale } => Scaler::Diff { scale },
            v3::Scaler::Seasonal { m, scale } => Scaler::Seasonal {
                seasons: Seasons::single(m)?,
                scale,
            },
            v3::Scaler::Seasons { periods, scale } => Scaler::Seasonal {
                seasons: Seasons::new(&periods)?,
                scale,
            },
        })
    }
}

impl TryFrom<v3::Provenance> for Provenance {
    type Error = String;

    fn try_from(p: v3::Provenance) -> Result<Provenance, String> {
        Ok(Provenance {
            path: p.path,
            sha256: p.sha256,
            rows: p.rows,
            first_date: p.first_date,
            last_date: p.last_date,
            step_seconds: p.step_seconds,
            calendar: p.calendar.map(Calendar::try_from).transpose()?,
            column: p.column,
            date_column: p.date_column,
        })
    }
}

/// A calendar steps forward: at least one second, or at least one month (a zero step
/// would divide by zero when dates are counted).
impl TryFrom<v3::Calendar> for Calendar {
    type Error = String;

    fn try_from(c: v3::Calendar) -> Result<Calendar, String> {
        let calendar = match c {
            v3::Calendar::Fixed { seconds } => Calendar::Fixed { seconds },
            v3::Calendar::BusinessDays => Calendar::BusinessDays,
            v3::Calendar::Months { every, end } => Calendar::Months { every, end },
        };
        match calendar {
            Calendar::Fixed { seconds } if seconds < 1 => {}
            Calendar::Months { every: 0, .. } => {}
            _ => return Ok(calendar),
        }
        Err(format!(
            "stored calendar is invalid ({calendar:?}): a step must be at least one second or one month"
        ))
    }
}

impl From<v3::Split> for Split {
    fn from(s: v3::Split) -> Split {
        Split {
            lookback: s.lookback,
            train: s.train.start..s.train.end,
            val: s.val.start..s.val.end,
            test: s.test.start..s.test.end,
        }
    }
}

impl From<v3::Epoch> for EpochRecord {
    fn from(r: v3::Epoch) -> EpochRecord {
        EpochRecord {
            epoch: r.epoch,
            train_loss: r.train_loss,
            val_loss: r.val_loss,
            val_rmse: r.val_rmse,
            seconds: r.seconds,
        }
    }
}

impl TryFrom<v3::Evaluation> for Evaluation {
    type Error = String;

    fn try_from(e: v3::Evaluation) -> Result<Evaluation, String> {
        Ok(Evaluation {
            n: e.n,
            first_date: e.first_date,
            last_date: e.last_date,
            held_out: e.held_out,
            rows: e
                .rows
                .into_iter()
                .map(|(name, m)| {
                    let who = name
                        .parse()
                        .map_err(|e| format!("test scores: {e}: upgrade gruf, or retrain"))?;
                    Ok((who, Metrics::from(m)))
                })
                .collect::<Result<_, String>>()?,
            calendar: e.calendar.map(Calendar::try_from).transpose()?,
            season: e.season,
        })
    }
}

impl From<v3::Metrics> for Metrics {
    fn from(m: v3::Metrics) -> Metrics {
        Metrics {
            mae: m.mae,
            rmse: m.rmse,
            mape: m.mape,
            smape: m.smape,
            mase: m.mase,
            directional: m.directional,
        }
    }
}

impl From<v3::Input> for Input {
    fn from(i: v3::Input) -> Input {
        Input {
            name: i.name,
            transform: match i.transform {
                v3::InputTransform::Price => InputTransform::Price,
                v3::InputTransform::Standard { log, mean, std } => {
                    InputTransform::Standard { log, mean, std }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendars_without_a_step_are_refused() {
        let good = v3::Calendar::Months {
            every: 3,
            end: true,
        };
        assert_eq!(
            Calendar::try_from(good),
            Ok(Calendar::Months {
                every: 3,
                end: true
            })
        );
        for (bad, shown) in [
            (v3::Calendar::Fixed { seconds: 0 }, "Fixed { seconds: 0 }"),
            (
                v3::Calendar::Fixed { seconds: -60 },
                "Fixed { seconds: -60 }",
            ),
            (
                v3::Calendar::Months {
                    every: 0,
                    end: false,
                },
                "Months { every: 0, end: false }",
            ),
        ] {
            let err = Calendar::try_from(bad).unwrap_err();
            assert!(
                err.starts_with(&format!("stored calendar is invalid ({shown})")),
                "{err}"
            );
        }
    }
}
