//! Domain types → the current format's records: what [`Meta::to_json`] writes. Infallible:
//! a domain value is already checked, and every file written says the current format and
//! version. When a domain type changes, this file and `into_domain.rs` change with it; the
//! records themselves (`v2.rs` … `v5.rs`) do not.

use crate::checkpoint::meta::{FittedSeries, Meta};
use crate::checkpoint::{FORMAT, FORMAT_VERSION};
use crate::config::{OptimizerKind, RunConfig};
use crate::features::scaler::{Scaler, TransformKind};
use crate::features::split::Split;
use crate::features::{Input, InputTransform};
use crate::intervals::conformal::Space;
use crate::model::Cell;
use crate::scores::{Evaluation, Metrics};
use crate::series::calendar::Calendar;
use crate::series::resample::Resample;
use crate::series::Provenance;
use crate::train::EpochRecord;

use super::{v3, v4, v5};

impl From<&Meta> for v5::Meta {
    fn from(m: &Meta) -> v5::Meta {
        let member = |s: &FittedSeries| v4::FittedSeries {
            id: s.id.clone(),
            scaler: s.scaler.into(),
            inputs: s.inputs.iter().map(v3::Input::from).collect(),
            split: v3::Split::from(&s.split),
            mase_scale: s.mase_scale,
            file: s.file.as_ref().map(|f| f.to_string_lossy().into_owned()),
            held_out_from: s.held_out_from,
        };
        // One series: its fitted parts at the top, as format 3 has them.
        let (one, series) = if m.is_global() {
            (None, m.series.iter().map(member).collect())
        } else {
            (Some(member(m.first())), Vec::new())
        };
        v5::Meta {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            gruf_version: m.gruf_version.clone(),
            created: m.created.clone(),
            config: v3::RunConfig::from(&m.config),
            seed: m.seed,
            scaler: one.as_ref().map(|o| o.scaler.clone()),
            inputs: one.as_ref().map_or(Vec::new(), |o| o.inputs.clone()),
            data: v3::Provenance::from(&m.data),
            split: one.as_ref().map(|o| o.split.clone()),
            history: m.history.iter().map(v3::Epoch::from).collect(),
            best_epoch: m.best_epoch,
            stopped_early: m.stopped_early,
            interrupted: m.interrupted,
            test: m.test.as_ref().map(v3::Evaluation::from),
            mase_scale: one.and_then(|o| o.mase_scale),
            series,
            ensemble: m
                .ensemble
                .iter()
                .map(|n| v5::Network {
                    seed: n.seed,
                    history: n.history.iter().map(v3::Epoch::from).collect(),
                    best_epoch: n.best_epoch,
                    stopped_early: n.stopped_early,
                })
                .collect(),
            calibration: m.calibration.as_ref().map(|c| v5::Calibration {
                method: c.method.name().into(),
                spread: c.spread,
                steps: c.steps(),
                levels: c.levels().iter().map(|l| l.get()).collect(),
                space: match c.space {
                    Space::Units => None,
                    Space::Log => Some("log".into()),
                },
            }),
        }
    }
}

impl From<&RunConfig> for v3::RunConfig {
    fn from(c: &RunConfig) -> v3::RunConfig {
        let (d, m, t) = (&c.data, &c.model, &c.train);
        v3::RunConfig {
            data: v3::DataConfig {
                column: d.column.clone(),
                date_column: d.date_column.clone(),
                date_format: d.date_format.clone(),
                resample: d.resample.map(|r| match r {
                    Resample::Hour => v3::Resample::Hour,
                    Resample::Day => v3::Resample::Day,
                }),
                season: d.season.map(|s| match s.periods() {
                    &[m] => v3::Season::One(m),
                    periods => v3::Season::Several(periods.to_vec()),
                }),
                delimiter: d.delimiter.to_string(),
                inputs: d.inputs.clone(),
                id_column: d.id_column.clone(),
                fill: match d.fill {
                    crate::series::fill::Fill::None => None,
                    crate::series::fill::Fill::Ffill => Some(v3::Fill::Ffill),
                    crate::series::fill::Fill::Linear => Some(v3::Fill::Linear),
                    crate::series::fill::Fill::Seasonal => Some(v3::Fill::Seasonal),
                },
            },
            model: v3::ModelConfig {
                cell: match m.network.cell {
                    Cell::Gru => v3::Cell::Gru,
                    Cell::Lstm => v3::Cell::Lstm,
                    Cell::Rnn => v3::Cell::Rnn,
                },
                layers: m.network.layers.clone(),
                dropout: m.network.dropout,
                window: m.framing.window,
                transform: match m.framing.transform {
                    TransformKind::Minmax => v3::Transform::Minmax,
                    TransformKind::Window => v3::Transform::Window,
                    TransformKind::Logret => v3::Transform::Logret,
                    TransformKind::Diff => v3::Transform::Diff,
                    TransformKind::Seasonal => v3::Transform::Seasonal,
                },
                horizon: m.framing.horizon,
                quantiles: m.framing.quantiles.clone(),
                features: m.input_width,
                calendar: (m.framing.calendar.iter())
                    .map(|c| c.name().to_string())
                    .collect(),
            },
            train: v3::TrainConfig {
                epochs: t.epochs,
                batch_size: t.batch_size,
                optimizer: match t.optimizer {
                    OptimizerKind::Rmsprop => v3::Optimizer::Rmsprop,
                    OptimizerKind::Adam => v3::Optimizer::Adam,
                },
                lr: t.lr,
                patience: t.patience,
                clip_norm: t.clip_norm,
                test_days: t.test_days,
                val_fraction: t.val_fraction,
                val_size: t.val_size,
                seed: t.seed,
                recent_windows: t.recent_windows,
                ensemble: t.ensemble,
                backprop_steps: t.backprop_steps,
            },
        }
    }
}

impl From<&Input> for v3::Input {
    fn from(i: &Input) -> v3::Input {
        v3::Input {
            name: i.name.clone(),
            transform: match i.transform {
                InputTransform::Price => v3::InputTransform::Price,
                InputTransform::Standard { log, mean, std } => {
                    v3::InputTransform::Standard { log, mean, std }
                }
            },
        }
    }
}

impl From<Scaler> for v3::Scaler {
    fn from(s: Scaler) -> v3::Scaler {
        match s {
            Scaler::Minmax { min, max } => v3::Scaler::Minmax { min, max },
            Scaler::Window { scale } => v3::Scaler::Window { scale },
            Scaler::Logret { scale } => v3::Scaler::Logret { scale },
            Scaler::Diff { scale } => v3::Scaler::Diff { scale },
            Scaler::Seasonal { seasons, scale } => match seasons.periods() {
                &[m] => v3::Scaler::Seasonal { m, scale },
                periods => v3::Scaler::Seasons {
                    periods: periods.to_vec(),
                    scale,
                },
            },
        }
    }
}

impl From<&Provenance> for v3::Provenance {
    fn from(p: &Provenance) -> v3::Provenance {
        v3::Provenance {
            path: p.path.clone(),
            sha256: p.sha256.clone(),
            rows: p.rows,
            first_date: p.first_date.clone(),
            last_date: p.last_date.clone(),
            step_seconds: p.step_seconds,
            calendar: p.calendar.map(v3::Calendar::from),
            column: p.column.clone(),
            date_column: p.date_column.clone(),
        }
    }
}

impl From<Calendar> for v3::Calendar {
    fn from(c: Calendar) -> v3::Calendar {
        match c {
            Calendar::Fixed { seconds } => v3::Calendar::Fixed { seconds },
            Calendar::BusinessDays => v3::Calendar::BusinessDays,
            Calendar::Months { every, end } => v3::Calendar::Months { every, end },
        }
    }
}

impl From<&Split> for v3::Split {
    fn from(s: &Split) -> v3::Split {
        let range = |r: &std::ops::Range<usize>| v3::Range {
            start: r.start,
            end: r.end,
        };
        v3::Split {
            lookback: s.lookback,
            train: range(&s.train),
            val: range(&s.val),
            test: range(&s.test),
        }
    }
}

impl From<&EpochRecord> for v3::Epoch {
    fn from(r: &EpochRecord) -> v3::Epoch {
        v3::Epoch {
            epoch: r.epoch,
            train_loss: r.train_loss,
            val_loss: r.val_loss,
            val_rmse: r.val_rmse,
            seconds: r.seconds,
        }
    }
}

impl From<&Evaluation> for v3::Evaluation {
    fn from(e: &Evaluation) -> v3::Evaluation {
        v3::Evaluation {
            n: e.n,
            first_date: e.first_date.clone(),
            last_date: e.last_date.clone(),
            held_out: e.held_out,
            rows: e
                .rows
                .iter()
                .map(|(who, m)| (who.to_string(), v3::Metrics::from(*m)))
                .collect(),
            calendar: e.calendar.map(v3::Calendar::from),
            season: e.season,
        }
    }
}

impl From<Metrics> for v3::Metrics {
    fn from(m: Metrics) -> v3::Metrics {
        v3::Metrics {
            mae: m.mae,
            rmse: m.rmse,
            mape: m.mape,
            smape: m.smape,
            mase: m.mase,
            directional: m.directional,
        }
    }
}
