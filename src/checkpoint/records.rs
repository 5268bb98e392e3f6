//! The metadata JSON's own types: one family of serde records per format version, and the
//! conversions between them and the domain types.
//!
//! Why: the domain types change as the program grows (a field of `Metrics` renamed, an
//! enum spelled differently); the files people keep must not change with them. Only these
//! records decide what the JSON says, and nothing outside the checkpoint module sees them.
//!
//! Rules:
//! - A version's records are frozen once files of that version exist. Field order is the
//!   key order in the file. `tests/checkpoint.rs` holds formats 8 to 3 to their bytes
//!   (`tests/fixtures/v8/meta.jsonl`, …, `tests/fixtures/v3/meta.jsonl`); format 2 is held
//!   by gruf 1.0's own files (`tests/compat.rs`).
//! - A change to the JSON is a new format version: new records for what changed (reusing
//!   the unchanged ones), [`v5::Meta`]'s place as the written version, and an upgrade from
//!   the previous version's records, as [`v4::Meta`] has into [`v5::Meta`], [`v3::Meta`]
//!   into [`v4::Meta`] and [`v2::Meta`] into [`v3::Meta`]. Optional keys that are absent
//!   unless a feature is used (`calendar`, `id_column`, `ensemble`, `cell`,
//!   `quantiles`, `fill`) sit in the shared records.
//! - Writing always writes the current version. Reading parses the file's version, upgrades
//!   it record by record to the current one, and only then converts to domain types,
//!   checking what serde cannot: the configuration's ranges, the delimiter, the scaler
//!   against the transform, the calendar's step, each split's order, each kept epoch
//!   against its history, and the calibration's size, method and levels against the head
//!   (before its steps are allocated).
//! - Each record accepts what the serde derives on the domain types accepted when they were
//!   the format, defaults included; format 2 records read only what gruf 1.0 wrote.

use std::sync::Arc;

use crate::config::{Cell, ModelConfig, OptimizerKind, RunConfig, TrainConfig, MAX_WINDOW};
use crate::features::scaler::{Scaler, TransformKind};
use crate::features::split::Split;
use crate::features::{Input, InputTransform};
use crate::intervals::conformal::{
    quantile_levels, Calibration, ErrorSet, Method, Space, MAX_STEPS,
};
use crate::intervals::Level;
use crate::scores::{Evaluation, Metrics};
use crate::series::calendar::Calendar;
use crate::series::csv::{DataConfig, Provenance, Resample};
use crate::series::season::Seasons;
use crate::train::EpochRecord;

use super::{Member, Meta, Network, FORMAT, FORMAT_VERSION};

/// Parses metadata of format `version` (already checked to be one this gruf reads) into
/// the current format's record; `Err` is serde's message. The tests' way in; files are
/// read by [`read_str`].
#[cfg(test)]
pub fn read(value: serde_json::Value, version: u64) -> Result<v5::Meta, serde_json::Error> {
    match version {
        2 => serde_json::from_value::<v2::Meta>(value)
            .map(v3::Meta::from)
            .map(v4::Meta::from)
            .map(v5::Meta::from),
        3 => serde_json::from_value::<v3::Meta>(value)
            .map(v4::Meta::from)
            .map(v5::Meta::from),
        4 => serde_json::from_value::<v4::Meta>(value).map(v5::Meta::from),
        _ => serde_json::from_value::<v5::Meta>(value).map(|m| before_fill(m, version)),
    }
}

/// Formats 5 to 8, the current one, share these records. Format 5 is format 4 plus
/// the further networks of an ensemble
/// (`--ensemble N`). A model of one network writes what format 4 wrote (only the version
/// differs); an ensemble's top-level `seed`, `history`, `best_epoch` and `stopped_early`
/// are its first network's, and `ensemble` lists the others in order, network `i` (from
/// 1) with its tensors named `ensemble.{i}.` + the first network's names.
///
/// Format 6 adds `config.model.cell` (`lstm`, `rnn`; absent for a GRU), and the tensors of
/// an LSTM or RNN are named `lstm.` or `rnn.` where a GRU's are `gru.`. A GRU model writes
/// what format 5 wrote but for the version number; the version is new so that gruf 1.3,
/// which reads format 5, refuses an LSTM file with its upgrade message rather than failing
/// on a missing tensor.
///
/// Format 7 adds `config.model.quantiles` (the levels of a quantile head, after
/// `horizon`; absent for a point model), whose `dense.weight` and `dense.bias` then have
/// K·Q rows, step-major. A point model writes what format 6 wrote but for the version
/// number; the version is new so that gruf 1.4, which reads format 6, refuses a quantile
/// model with its upgrade message rather than reading its head as K point forecasts.
///
/// Format 8 adds `config.data.fill` (`ffill`, `linear`, `seasonal`, after `id_column`;
/// absent for none): the series were filled at their missing calendar steps, and every
/// consumer fills the CSV it reads the same way. A model that fills nothing writes what
/// format 7 wrote but for the version number; the version is new so that gruf 1.5, which
/// reads format 7, refuses a filled model with its upgrade message rather than reading
/// its CSV unfilled.
pub mod v5 {
    use serde::{Deserialize, Serialize};

    use super::v3::{Epoch, Evaluation, Input, Provenance, RunConfig, Scaler, Split};
    use super::v4::{self, Member};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Meta {
        pub format: String,
        pub format_version: u32,
        pub gruf_version: String,
        pub created: String,
        pub config: RunConfig,
        pub seed: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub scaler: Option<Scaler>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub inputs: Vec<Input>,
        pub data: Provenance,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub split: Option<Split>,
        pub history: Vec<Epoch>,
        pub best_epoch: usize,
        pub stopped_early: bool,
        #[serde(default)]
        pub interrupted: Option<(usize, usize)>,
        pub test: Option<Evaluation>,
        #[serde(default)]
        pub mase_scale: Option<f64>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub series: Vec<Member>,
        /// The networks of an ensemble after the first, in order; absent for one network.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub ensemble: Vec<Network>,
        /// How the intervals are calibrated (format 7); absent before.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub calibration: Option<Calibration>,
    }

    /// The conformal calibration: its method and how many steps ahead it holds errors for,
    /// in tensors `calibration.step1` … `calibration.step{steps}`.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Calibration {
        pub method: String,
        /// Steps of history whose mean absolute change divides each error (0: none).
        pub spread: usize,
        pub steps: usize,
        /// The levels of a quantile model's sets, lowest first (tensors
        /// `calibration.{label}.step{k}`); absent for residuals (one set, tensors
        /// `calibration.step{k}`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub levels: Vec<f64>,
        /// Where the errors are measured: "log" for logs of ratios (gruf 1.6, transforms
        /// that need positive values); absent for the network's units (gruf 1.5).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub space: Option<String>,
    }

    /// A further network of an ensemble: its seed and its training.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Network {
        pub seed: u64,
        pub history: Vec<Epoch>,
        pub best_epoch: usize,
        pub stopped_early: bool,
    }

    /// A format 4 file is a model of one network.
    impl From<v4::Meta> for Meta {
        fn from(m: v4::Meta) -> Meta {
            Meta {
                format: m.format,
                format_version: m.format_version,
                gruf_version: m.gruf_version,
                created: m.created,
                config: m.config,
                seed: m.seed,
                scaler: m.scaler,
                inputs: m.inputs,
                data: m.data,
                split: m.split,
                history: m.history,
                best_epoch: m.best_epoch,
                stopped_early: m.stopped_early,
                interrupted: m.interrupted,
                test: m.test,
                mase_scale: m.mase_scale,
                series: m.series,
                ensemble: Vec::new(),
                calibration: None,
            }
        }
    }
}

/// Parses metadata of format `version` (already checked to be one this gruf reads) from
/// its JSON text into the current format's record, without a [`serde_json::Value`] tree in
/// between; `Err` is serde's message.
pub fn read_str(json: &str, version: u64) -> Result<v5::Meta, serde_json::Error> {
    match version {
        2 => serde_json::from_str::<v2::Meta>(json)
            .map(v3::Meta::from)
            .map(v4::Meta::from)
            .map(v5::Meta::from),
        3 => serde_json::from_str::<v3::Meta>(json)
            .map(v4::Meta::from)
            .map(v5::Meta::from),
        4 => serde_json::from_str::<v4::Meta>(json).map(v5::Meta::from),
        _ => serde_json::from_str::<v5::Meta>(json).map(|m| before_fill(m, version)),
    }
}

/// Files before format 8 fill nothing, whatever keys they hold.
fn before_fill(mut m: v5::Meta, version: u64) -> v5::Meta {
    if version < 8 {
        m.config.data.fill = None;
    }
    m
}

/// Format 4: format 3 plus the series of a global model. A model of one
/// series writes what format 3 wrote (only the version differs); a global model writes no
/// top-level scaler, inputs or split, and lists each series with what was fitted on it
/// under `series`.
pub mod v4 {
    use serde::{Deserialize, Serialize};

    use super::v3::{self, Epoch, Evaluation, Input, Provenance, RunConfig, Scaler, Split};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Meta {
        pub format: String,
        pub format_version: u32,
        pub gruf_version: String,
        pub created: String,
        pub config: RunConfig,
        pub seed: u64,
        /// The series' scaler (one series); absent for a global model.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub scaler: Option<Scaler>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub inputs: Vec<Input>,
        pub data: Provenance,
        /// The series' split (one series); absent for a global model.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub split: Option<Split>,
        pub history: Vec<Epoch>,
        pub best_epoch: usize,
        pub stopped_early: bool,
        #[serde(default)]
        pub interrupted: Option<(usize, usize)>,
        pub test: Option<Evaluation>,
        #[serde(default)]
        pub mase_scale: Option<f64>,
        /// Every series of a global model, in the order trained; absent for one series.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub series: Vec<Member>,
    }

    /// One series of a global model and what was fitted on its training part.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Member {
        pub id: String,
        pub scaler: Scaler,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub inputs: Vec<Input>,
        pub split: Split,
        pub mase_scale: Option<f64>,
        /// The series' own file, for a model trained on several `--csv` files.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub file: Option<String>,
        /// Unix seconds where the series' held-out part begins (see the domain `Member`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub held_out_from: Option<i64>,
    }

    /// A format 3 file is a model of one series.
    impl From<v3::Meta> for Meta {
        fn from(m: v3::Meta) -> Meta {
            Meta {
                format: m.format,
                format_version: m.format_version,
                gruf_version: m.gruf_version,
                created: m.created,
                config: m.config,
                seed: m.seed,
                scaler: Some(m.scaler),
                inputs: m.inputs,
                data: m.data,
                split: Some(m.split),
                history: m.history,
                best_epoch: m.best_epoch,
                stopped_early: m.stopped_early,
                interrupted: m.interrupted,
                test: m.test,
                mase_scale: m.mase_scale,
                series: Vec::new(),
            }
        }
    }
}

/// Format 3: format 2 plus the series' calendar, the MASE scale, the seasonal
/// period and the field delimiter.
pub mod v3 {
    use std::path::PathBuf;

    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Meta {
        pub format: String,
        /// The version the file was written in (2 for upgraded format 2 records).
        pub format_version: u32,
        pub gruf_version: String,
        pub created: String,
        pub config: RunConfig,
        pub seed: u64,
        pub scaler: Scaler,
        /// The covariates after the price (`--inputs`), each with its fitted transform;
        /// absent (and written absent) for the price alone.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub inputs: Vec<Input>,
        pub data: Provenance,
        pub split: Split,
        pub history: Vec<Epoch>,
        pub best_epoch: usize,
        pub stopped_early: bool,
        #[serde(default)]
        pub interrupted: Option<(usize, usize)>,
        pub test: Option<Evaluation>,
        #[serde(default)]
        pub mase_scale: Option<f64>,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct RunConfig {
        pub data: DataConfig,
        pub model: ModelConfig,
        pub train: TrainConfig,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct DataConfig {
        pub column: Option<String>,
        pub date_column: Option<String>,
        pub date_format: Option<String>,
        #[serde(default)]
        pub resample: Option<Resample>,
        #[serde(default)]
        pub season: Option<Season>,
        /// One character, or `tab`; checked when converted.
        #[serde(default = "comma")]
        pub delimiter: String,
        /// Input columns beside the price as configured; absent for the price alone.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub inputs: Vec<String>,
        /// The column naming the series of a long CSV (format 4); absent for one series.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub id_column: Option<String>,
        /// How missing calendar steps were filled (format 8); absent for none, so models
        /// that fill nothing keep the JSON they had before `--fill`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub fill: Option<Fill>,
    }

    /// `--fill`'s methods but `none` (format 8).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Fill {
        Ffill,
        Linear,
        Seasonal,
    }

    /// The configured seasonal periods: a number as before, a list only for several
    /// (which a gruf of one period refuses: it reads a number). Checked when converted.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(untagged)]
    pub enum Season {
        One(usize),
        Several(Vec<usize>),
    }

    /// A covariate and its fitted transform.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Input {
        pub name: String,
        pub transform: InputTransform,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "kind", rename_all = "lowercase")]
    pub enum InputTransform {
        /// The price's transform, relative to the price's anchor.
        Price,
        /// `(f(v) − mean) / std`, `f = ln(1 + v)` when `log`.
        Standard { log: bool, mean: f64, std: f64 },
    }

    fn comma() -> String {
        ",".into()
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum Resample {
        #[serde(rename = "1h")]
        Hour,
        #[serde(rename = "1d")]
        Day,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct ModelConfig {
        /// The recurrent cell (format 6); absent (and written absent) for a GRU, so GRU
        /// models keep the JSON they had before other cells.
        #[serde(default, skip_serializing_if = "Cell::is_gru")]
        pub cell: Cell,
        pub layers: Vec<usize>,
        pub dropout: f64,
        pub window: usize,
        #[serde(default)]
        pub transform: Transform,
        /// Steps predicted at once; absent (and written absent) for one step, so models of
        /// one step keep the JSON they had before direct multi-step forecasts.
        #[serde(default = "one", skip_serializing_if = "is_one")]
        pub horizon: usize,
        /// The quantile levels of the head (format 7), increasing; absent (and written
        /// absent) for a point model, so point models keep the JSON they had before
        /// quantile heads. Checked when converted, as the flag is.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub quantiles: Vec<f64>,
        /// Values per input step; absent (and written absent) for the price alone.
        #[serde(default = "one", skip_serializing_if = "is_one")]
        pub features: usize,
        /// Calendar inputs by name (`hour`, `weekday`, `month`), in order; absent (and
        /// written absent) without them.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub calendar: Vec<String>,
    }

    fn one() -> usize {
        1
    }

    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Cell {
        #[default]
        Gru,
        /// Format 6.
        Lstm,
        /// Format 6.
        Rnn,
    }

    impl Cell {
        fn is_gru(&self) -> bool {
            *self == Cell::Gru
        }
    }

    fn is_one(n: &usize) -> bool {
        *n == 1
    }

    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Transform {
        #[default]
        Minmax,
        Window,
        Logret,
        Diff,
        /// Format 4.
        Seasonal,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct TrainConfig {
        pub epochs: usize,
        pub batch_size: usize,
        pub optimizer: Optimizer,
        pub lr: f64,
        pub patience: usize,
        pub clip_norm: f64,
        pub test_days: usize,
        pub val_fraction: f64,
        pub seed: Option<u64>,
        /// Each series' most recent training windows only (format 4); absent for all.
        #[serde(default, skip_serializing_if = "is_zero")]
        pub recent_windows: usize,
        /// Networks of an ensemble (format 5); absent for one.
        #[serde(default = "one", skip_serializing_if = "is_one")]
        pub ensemble: usize,
    }

    fn is_zero(n: &usize) -> bool {
        *n == 0
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Optimizer {
        Rmsprop,
        Adam,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "kind", rename_all = "lowercase")]
    pub enum Scaler {
        Minmax {
            min: f64,
            max: f64,
        },
        Window {
            scale: f64,
        },
        Logret {
            scale: f64,
        },
        Diff {
            scale: f64,
        },
        /// Format 4.
        Seasonal {
            m: usize,
            scale: f64,
        },
        /// `seasonal` with several periods, shortest first: a kind of its own, so a gruf
        /// that knows one period refuses the file instead of forecasting with the first.
        Seasons {
            periods: Vec<usize>,
            scale: f64,
        },
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Provenance {
        pub path: PathBuf,
        pub sha256: String,
        pub rows: usize,
        pub first_date: String,
        pub last_date: String,
        pub step_seconds: i64,
        #[serde(default)]
        pub calendar: Option<Calendar>,
        pub column: String,
        pub date_column: String,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(tag = "kind", rename_all = "snake_case")]
    pub enum Calendar {
        Fixed { seconds: i64 },
        BusinessDays,
        Months { every: u32, end: bool },
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Split {
        pub lookback: usize,
        pub train: Range,
        pub val: Range,
        pub test: Range,
    }

    /// A span of target indices, spelled as serde spells `std::ops::Range` (which refuses
    /// other fields).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Range {
        pub start: usize,
        pub end: usize,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Epoch {
        pub epoch: usize,
        pub train_loss: f64,
        pub val_loss: f64,
        pub val_rmse: f64,
        pub seconds: f64,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Evaluation {
        pub n: usize,
        pub first_date: String,
        pub last_date: String,
        pub held_out: bool,
        pub rows: Vec<(String, Metrics)>,
        #[serde(default)]
        pub calendar: Option<Calendar>,
        #[serde(default)]
        pub season: Option<usize>,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
    pub struct Metrics {
        pub mae: f64,
        pub rmse: f64,
        /// `null` when undefined (a true value of zero); a number as before otherwise.
        pub mape: Option<f64>,
        pub smape: f64,
        pub mase: f64,
        pub directional: Option<f64>,
    }
}

/// Format 2 (gruf 1.0): read only. What it shares with format 3 is format 3's records.
pub mod v2 {
    use std::path::PathBuf;

    use serde::Deserialize;

    use super::v3::{self, Epoch, Metrics, ModelConfig, Resample, Scaler, Split, TrainConfig};

    #[derive(Debug, Clone, PartialEq, Deserialize)]
    pub struct Meta {
        pub format: String,
        pub format_version: u32,
        pub gruf_version: String,
        pub created: String,
        pub config: RunConfig,
        pub seed: u64,
        pub scaler: Scaler,
        pub data: Provenance,
        pub split: Split,
        pub history: Vec<Epoch>,
        pub best_epoch: usize,
        pub stopped_early: bool,
        #[serde(default)]
        pub interrupted: Option<(usize, usize)>,
        pub test: Option<Evaluation>,
    }

    #[derive(Debug, Clone, PartialEq, Deserialize)]
    pub struct RunConfig {
        pub data: DataConfig,
        pub model: ModelConfig,
        pub train: TrainConfig,
    }

    #[derive(Debug, Clone, PartialEq, Deserialize)]
    pub struct DataConfig {
        pub column: Option<String>,
        pub date_column: Option<String>,
        pub date_format: Option<String>,
        #[serde(default)]
        pub resample: Option<Resample>,
    }

    #[derive(Debug, Clone, PartialEq, Deserialize)]
    pub struct Provenance {
        pub path: PathBuf,
        pub sha256: String,
        pub rows: usize,
        pub first_date: String,
        pub last_date: String,
        pub step_seconds: i64,
        pub column: String,
        pub date_column: String,
    }

    #[derive(Debug, Clone, PartialEq, Deserialize)]
    pub struct Evaluation {
        pub n: usize,
        pub first_date: String,
        pub last_date: String,
        pub held_out: bool,
        pub rows: Vec<(String, Metrics)>,
    }

    /// What format 2 lacks stays unknown: no calendar (detected from the CSV in use), no
    /// MASE scale (recovered from the test metrics), no season, a comma delimiter.
    impl From<Meta> for v3::Meta {
        fn from(m: Meta) -> v3::Meta {
            let d = m.config.data;
            let p = m.data;
            v3::Meta {
                format: m.format,
                format_version: m.format_version,
                gruf_version: m.gruf_version,
                created: m.created,
                config: v3::RunConfig {
                    data: v3::DataConfig {
                        column: d.column,
                        date_column: d.date_column,
                        date_format: d.date_format,
                        resample: d.resample,
                        season: None,
                        delimiter: ",".into(),
                        inputs: Vec::new(),
                        id_column: None,
                        fill: None,
                    },
                    model: m.config.model,
                    train: m.config.train,
                },
                seed: m.seed,
                scaler: m.scaler,
                inputs: Vec::new(),
                data: v3::Provenance {
                    path: p.path,
                    sha256: p.sha256,
                    rows: p.rows,
                    first_date: p.first_date,
                    last_date: p.last_date,
                    step_seconds: p.step_seconds,
                    calendar: None,
                    column: p.column,
                    date_column: p.date_column,
                },
                split: m.split,
                history: m.history,
                best_epoch: m.best_epoch,
                stopped_early: m.stopped_early,
                interrupted: m.interrupted,
                test: m.test.map(|e| v3::Evaluation {
                    n: e.n,
                    first_date: e.first_date,
                    last_date: e.last_date,
                    held_out: e.held_out,
                    rows: e.rows,
                    calendar: None,
                    season: None,
                }),
                mase_scale: None,
            }
        }
    }
}

// Domain → current record. Written files always say the current format and version.

impl From<&Meta> for v5::Meta {
    fn from(m: &Meta) -> v5::Meta {
        let member = |s: &Member| v4::Member {
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
            (None, m.members.iter().map(member).collect())
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
                cell: match m.cell {
                    Cell::Gru => v3::Cell::Gru,
                    Cell::Lstm => v3::Cell::Lstm,
                    Cell::Rnn => v3::Cell::Rnn,
                },
                layers: m.layers.clone(),
                dropout: m.dropout,
                window: m.window,
                transform: match m.transform {
                    TransformKind::Minmax => v3::Transform::Minmax,
                    TransformKind::Window => v3::Transform::Window,
                    TransformKind::Logret => v3::Transform::Logret,
                    TransformKind::Diff => v3::Transform::Diff,
                    TransformKind::Seasonal => v3::Transform::Seasonal,
                },
                horizon: m.horizon,
                quantiles: m.quantiles.clone(),
                features: m.features,
                calendar: m.calendar.iter().map(|c| c.name().to_string()).collect(),
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
                seed: t.seed,
                recent_windows: t.recent_windows,
                ensemble: t.ensemble,
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

// Current record → domain, checking what the domain types promise.

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
        let members = if self.series.is_empty() {
            let (Some(scaler), Some(split)) = (self.scaler, self.split) else {
                return Err(
                    "the gruf metadata is incomplete: it has neither a scaler and a split (a model of one series) nor a list of series".into(),
                );
            };
            vec![v4::Member {
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
        let global = members.len() > 1 || !members[0].id.is_empty();
        let members = members
            .into_iter()
            .map(|m| {
                if global && (m.id.is_empty() || !ids.insert(m.id.clone())) {
                    return Err(format!(
                        "series id '{}' is empty or listed twice in the file",
                        m.id
                    ));
                }
                member(m, &config, self.format_version < super::SERIES_CLOCK_FORMAT)
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
            members,
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
    let head = if model.quantiles.is_empty() {
        Method::Residuals
    } else {
        Method::Quantiles
    };
    if method != head {
        return Err(format!(
            "the calibration's method '{}' does not fit a {} head",
            c.method,
            if model.quantiles.is_empty() {
                "point".to_string()
            } else {
                format!("quantile ({})", words(&model.quantiles))
            }
        ));
    }
    let given: Vec<f64> = (quantile_levels(&model.quantiles).iter())
        .map(|(l, _, _)| l.get())
        .collect();
    let same = given.len() == c.levels.len()
        && (given.iter().zip(&c.levels)).all(|(a, b)| (a - b).abs() < 1e-9);
    if method == Method::Quantiles && !same {
        return Err(format!(
            "the calibration's levels ({}) are not those the model's quantiles ({}) give ({})",
            words(&c.levels),
            words(&model.quantiles),
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

/// A series' record as a domain [`Member`], checked against the model's configuration.
fn member(m: v4::Member, config: &RunConfig, in_utc: bool) -> Result<Member, String> {
    let whose = if m.id.is_empty() {
        String::new()
    } else {
        format!(" of series '{}'", m.id)
    };
    let scaler =
        Scaler::try_from(m.scaler).map_err(|e| format!("stored scaler{whose} is invalid: {e}"))?;
    if !scaler.is_valid() || scaler.kind() != config.model.transform {
        return Err(format!(
            "stored scaler{whose} is invalid ({scaler:?}): it must match the model's transform, \
             with finite parameters, min below max and a positive scale"
        ));
    }
    if let Scaler::Seasonal { seasons, .. } = scaler {
        seasons
            .check_window(config.model.window)
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
    let calendar = config.model.calendar.len();
    if config.model.features != 1 + inputs.len() + 2 * calendar {
        return Err(format!(
            "the model takes {} values per step but the file lists {} input{}{whose} beside the \
             price and {calendar} calendar input{} (two values each)",
            config.model.features,
            inputs.len(),
            if inputs.len() == 1 { "" } else { "s" },
            if calendar == 1 { "" } else { "s" }
        ));
    }
    Ok(Member {
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
                cell: match m.cell {
                    v3::Cell::Gru => Cell::Gru,
                    v3::Cell::Lstm => Cell::Lstm,
                    v3::Cell::Rnn => Cell::Rnn,
                },
                layers: m.layers,
                dropout: m.dropout,
                window: m.window,
                transform: match m.transform {
                    v3::Transform::Minmax => TransformKind::Minmax,
                    v3::Transform::Window => TransformKind::Window,
                    v3::Transform::Logret => TransformKind::Logret,
                    v3::Transform::Diff => TransformKind::Diff,
                    v3::Transform::Seasonal => TransformKind::Seasonal,
                },
                horizon: m.horizon,
                features: m.features,
                calendar: m
                    .calendar
                    .iter()
                    .map(|c| c.parse())
                    .collect::<Result<_, String>>()
                    .map_err(|e| format!("stored configuration is invalid: {e}"))?,
                quantiles: m.quantiles,
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
                seed: t.seed,
                recent_windows: t.recent_windows,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The data config of a gruf 1.0 file, and the metadata around it.
    fn format_2(data: &str) -> serde_json::Value {
        serde_json::from_str(&format!(
            r#"{{"format":"gruf-checkpoint","format_version":2,"gruf_version":"1.0.0",
            "created":"2026-11-25T21:53:28Z","config":{{"data":{data},
            "model":{{"layers":[8],"dropout":0.2,"window":12,"transform":"minmax"}},
            "train":{{"epochs":2,"batch_size":64,"optimizer":"rmsprop","lr":0.001,"patience":0,
            "clip_norm":1.0,"test_days":0,"val_fraction":0.1,"seed":2}}}},"seed":2,
            "scaler":{{"kind":"minmax","min":3098.227816,"max":8190.432045}},
            "data":{{"path":"/tmp/fx/prices.csv","sha256":"0f3d","rows":400,
            "first_date":"2019-01-01","last_date":"2020-02-04","step_seconds":86400,
            "column":"Close","date_column":"Date"}},"split":{{"lookback":12,
            "train":{{"start":12,"end":361}},"val":{{"start":361,"end":400}},
            "test":{{"start":400,"end":400}}}},"history":[{{"epoch":1,"train_loss":0.34,
            "val_loss":1.66,"val_rmse":6560.9,"seconds":0.0027}}],"best_epoch":1,
            "stopped_early":false,"interrupted":null,"test":null}}"#
        ))
        .unwrap()
    }

    #[test]
    fn format_2_reads_with_what_it_lacks_left_unknown() {
        let json = r#"{"column":"Close","date_column":null,"date_format":null,"resample":null}"#;
        let meta = read(format_2(json), 2).unwrap().into_domain().unwrap();
        assert_eq!(meta.format_version, 2);
        assert_eq!(meta.config.data.column.as_deref(), Some("Close"));
        assert_eq!(meta.config.data.delimiter, Default::default());
        assert_eq!(meta.config.data.season, None);
        assert_eq!(meta.data.calendar, None);
        assert_eq!(meta.first().mase_scale, None);
        assert_eq!(meta.first().split.train, 12..361);
        // Fields format 2 never had are not read from a format 2 file.
        let json = r#"{"column":"Close","date_column":null,"date_format":null,"resample":null,
            "season":7,"delimiter":";"}"#;
        let meta = read(format_2(json), 2).unwrap().into_domain().unwrap();
        assert_eq!(meta.config.data.season, None);
        assert_eq!(meta.config.data.delimiter, Default::default());
    }

    #[test]
    fn a_stored_delimiter_is_checked_as_the_flag_is() {
        let mut record = read(
            format_2(r#"{"column":null,"date_column":null,"date_format":null}"#),
            2,
        )
        .unwrap();
        record.config.data.delimiter = "tab".into();
        let meta = record.clone().into_domain().unwrap();
        assert_eq!(meta.config.data.delimiter.byte(), b'\t');
        assert_eq!(v5::Meta::from(&meta).config.data.delimiter, "tab");
        record.config.data.delimiter = "ab".into();
        let err = record.into_domain().unwrap_err();
        assert!(
            err.starts_with("stored configuration is invalid: delimiter 'ab'"),
            "{err}"
        );
    }

    #[test]
    fn ranges_refuse_other_fields_as_serde_did() {
        let range = |json: &str| serde_json::from_str::<v3::Range>(json);
        assert_eq!(
            range(r#"{"start":1,"end":4}"#).unwrap(),
            v3::Range { start: 1, end: 4 }
        );
        assert!(range(r#"{"start":1,"end":4,"step":2}"#).is_err());
        assert!(range(r#"{"start":1}"#).is_err());
    }

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
