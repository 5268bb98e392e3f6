//! The one model file every subcommand shares: safetensors tensors plus gruf's JSON
//! metadata under the header key `gruf`.
//!
//! The metadata carries everything needed to rebuild the model and use it honestly:
//! format version, model config (with the window), the fitted scaler, data provenance,
//! training config and seed, the split, the loss history and the test metrics. Its JSON is
//! spelled by the versioned records in `records.rs`, never by the domain types, so the
//! program can change without changing the files. Files are written atomically and read
//! whole into memory (never memory-mapped), and every way a file can be wrong — not
//! safetensors, not ours, a newer format, missing, extra, misshapen or non-finite tensors,
//! an invalid stored configuration, scaler, calendar, split or kept epoch, a calibration
//! that does not fit its model or its tensors — is refused with a clear error. Every count
//! and cross-reference in the metadata is checked before anything is allocated from it:
//! a file is untrusted input, and a number in it must not decide how much memory gruf asks
//! for.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::{Device, Tensor};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;

use crate::config::{ModelConfig, RunConfig};
use crate::error::{read_input, GrufError};
use crate::features::scaler::Scaler;
use crate::features::split::Split;
use crate::features::{Columns, Featurizer, Input};
use crate::forecast::calibrate::Part;
use crate::forecast::Forecaster;
use crate::intervals::conformal::{self, Calibration, ErrorSet};
use crate::intervals::Level;
use crate::io::output::write_atomic;
use crate::model::{param_shapes, Model, Weights};
use crate::scores::{Contender, Evaluation};
use crate::series::csv::{Provenance, Series};
use crate::train::EpochRecord;

mod records;

/// The metadata key holding gruf's JSON.
pub const META_KEY: &str = "gruf";
pub const FORMAT: &str = "gruf-checkpoint";
/// Bumped whenever the metadata JSON changes, so that no gruf misreads a file written by
/// another; each version's JSON is spelled by its records in `records.rs`, and the bytes
/// of versions 3 to 8 are pinned by `tests/fixtures/v{3,4,5,6,7,8}/meta.jsonl`. Version 8
/// added the fill of missing calendar steps (`config.data.fill`; a model that fills
/// nothing writes what version 7 wrote, and files before it load as filling nothing), the
/// calibration's error space (`"space":"log"`; absent: units, as in every version 7 file)
/// and dates on each series' own clock ([`SERIES_CLOCK_FORMAT`]). Version 7
/// added the quantile head (`config.model.quantiles`, a dense head of K·Q outputs) and the
/// conformal calibration (`calibration` in the metadata, its errors in tensors
/// `calibration.step{k}`); a point model without a calibration writes what version 6
/// wrote. Version 6 added
/// the recurrent cell (LSTM and RNN; a GRU model writes what version 5 wrote). Version 5
/// added the further networks of an ensemble (a model of one network writes what version 4
/// wrote); version 4 added the series of a global model (a model of
/// one series writes what version 3 wrote); version 3 added the calendar and the MASE
/// scale; version 2 files (gruf 1.0) still load: the calendar is then detected from the CSV
/// in use, the scale recovered from the stored test metrics.
pub const FORMAT_VERSION: u32 = 8;
/// The first format whose dates are on each series' own clock (a series at +05:00 keeps
/// its local times); earlier files kept every date in UTC ([`Meta::dates_in_utc`]).
pub const SERIES_CLOCK_FORMAT: u32 = 8;
/// The oldest format this gruf reads.
pub const OLDEST_FORMAT_VERSION: u32 = 2;
/// Where `train` writes and the other subcommands read when `--model` is not given.
pub const DEFAULT_PATH: &str = "gruf-model.safetensors";

/// A checkpoint's metadata, in domain types; the file holds it as `records::v5::Meta`.
///
/// `seed`, `history`, `best_epoch`, `stopped_early` and `interrupted` describe the first
/// (for a single model, the only) network; an ensemble's further networks are in
/// `ensemble`.
#[derive(Debug, Clone, PartialEq)]
pub struct Meta {
    /// [`FORMAT`]. As read; [`Checkpoint::save`] always writes [`FORMAT`].
    pub format: String,
    /// The format version the file was written in. As read; [`Checkpoint::save`] always
    /// writes [`FORMAT_VERSION`].
    pub format_version: u32,
    pub gruf_version: String,
    /// When training finished (UTC, RFC 3339).
    pub created: String,
    /// The resolved run configuration (data columns, model, training).
    pub config: RunConfig,
    /// The seed actually used (drawn when none was given).
    pub seed: u64,
    /// What was fitted on each series the model was trained on: one for a model of one
    /// series, one per id (in the order trained) for a global model. Never empty.
    pub members: Vec<Member>,
    pub data: Provenance,
    pub history: Vec<EpochRecord>,
    pub best_epoch: usize,
    pub stopped_early: bool,
    /// `(epoch, batch)` where the user interrupted training (Ctrl-C), if they did.
    pub interrupted: Option<(usize, usize)>,
    /// `None` when trained with `--test-size 0`.
    pub test: Option<Evaluation>,
    /// An ensemble's networks after the first, in order; empty for a single network.
    /// Network `i` (from 1) has its tensors under [`network_prefix`]`(i)`.
    pub ensemble: Vec<Network>,
    /// What the intervals are calibrated from; `None` in files before format 7. Its errors
    /// are tensors ([`calibration_tensor`]): metadata read alone ([`Meta::from_json`]) has
    /// the right number of steps, each empty.
    pub calibration: Option<Arc<Calibration>>,
}

/// The tensor holding the calibration errors `k` steps ahead (from 1) of the set for
/// `level` (`None`: every level): `calibration.step1`, `calibration.80.step1`.
pub fn calibration_tensor(level: Option<Level>, k: usize) -> String {
    match level {
        None => format!("calibration.step{k}"),
        Some(l) => format!("calibration.{}.step{k}", l.label()),
    }
}

/// A further network of an ensemble: its seed and how its training went.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    pub seed: u64,
    pub history: Vec<EpochRecord>,
    pub best_epoch: usize,
    pub stopped_early: bool,
}

/// What names network `i` (from 0) of an ensemble's tensors in the file: the first's are
/// PyTorch's names as they are (so a file of one network is what it always was); network
/// `i` ≥ 1 prefixes them with `ensemble.{i}.`.
pub fn network_prefix(i: usize) -> String {
    if i == 0 {
        String::new()
    } else {
        format!("ensemble.{i}.")
    }
}

/// One series of a model and what was fitted on its training part alone.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The series' id (a value of `--id-column`); empty for a model of one series.
    pub id: String,
    pub scaler: Scaler,
    /// The covariates after the price, each with its fitted transform (empty: the price
    /// alone).
    pub inputs: Vec<Input>,
    pub split: Split,
    /// The naive forecast's MAE on the training part: the MASE denominator for every
    /// later evaluation, whatever CSV it reads. `None` in format 2 files.
    pub mase_scale: Option<f64>,
    /// The file the series was alone in, for a model trained on several `--csv` files;
    /// `None` for a series of a long CSV or a model of one series.
    pub file: Option<PathBuf>,
    /// The date (Unix seconds) where the series' held-out part begins: its first test
    /// row's, or just after its last row's when nothing was held out. Consumers find the
    /// part by date in whatever CSV they read ([`Member::held_out_origin`]). A model of one
    /// series keeps it in `Meta::test` and `Meta::data`, read into here on load
    /// ([`Meta::date_held_out`]); `None` only for the series of a global model written
    /// before gruf 1.3, found by row index.
    pub held_out_from: Option<i64>,
    /// True when `held_out_from` is on the UTC clock ([`Meta::dates_in_utc`]: a member
    /// knows it without its model's metadata), not on the series' own.
    pub held_out_in_utc: bool,
}

impl Member {
    /// Where the series' held-out part begins in `series` (the CSV in use): its first row
    /// on or after the stored date (moved onto the series' clock for a file that kept
    /// dates in UTC); in a global model's file from before gruf 1.3, the stored row index
    /// (its first test row, or for a model trained on every row, the first row after
    /// them), exact for the training CSV. `series.len()` when no row is held out.
    pub fn held_out_origin(&self, series: &Series) -> usize {
        match (self.held_out_from, &self.split.test) {
            (Some(from), _) => {
                let from = match self.held_out_in_utc {
                    true => series.zone.from_utc(from),
                    false => from,
                };
                series.dates.partition_point(|&d| d < from)
            }
            (None, test) if test.is_empty() => test.end,
            (None, test) => test.start,
        }
    }
}

impl Meta {
    /// Gives the series of a model of one series the date its held-out part begins, which
    /// its file keeps as the first test date (`test.first_date`), or for a model trained on
    /// every row as the last training date (`data.last_date`, the part then beginning just
    /// after it): one rule then finds every series' part ([`Member::held_out_origin`]).
    pub fn date_held_out(&mut self) {
        if self.is_global() || self.members[0].held_out_from.is_some() {
            return;
        }
        let parse = |date: &str| crate::series::csv::parse_date(date, None).ok();
        // A date gruf wrote always reads; were one not to, the stored split's row index
        // stands in, as for the oldest global files.
        self.members[0].held_out_from = match &self.test {
            Some(test) => parse(&test.first_date),
            None => parse(&self.data.last_date).map(|t| t + 1),
        };
    }

    /// True for a file that kept every date in UTC (before [`SERIES_CLOCK_FORMAT`]):
    /// consumers move its dates onto the series' clock ([`crate::series::csv::Zone::from_utc`]).
    pub fn dates_in_utc(&self) -> bool {
        self.format_version < SERIES_CLOCK_FORMAT
    }

    /// The metadata JSON as a file of the current format holds it under [`META_KEY`].
    pub fn to_json(&self) -> anyhow::Result<String> {
        Ok(serde_json::to_string(&records::v5::Meta::from(self))?)
    }

    /// Metadata JSON of any format version this gruf reads, checked as [`Checkpoint::load`]
    /// checks it; `path` only names the file in messages.
    pub fn from_json(json: &str, path: &Path) -> Result<Meta, GrufError> {
        parse_meta(json).map_err(|msg| GrufError::model(path, msg))
    }

    pub fn model(&self) -> &ModelConfig {
        &self.config.model
    }

    /// True for a global model: one network over several series, each with its own id.
    pub fn is_global(&self) -> bool {
        self.members.len() > 1 || self.members.iter().any(|m| !m.id.is_empty())
    }

    /// How many networks the model holds: 1, or an ensemble's N.
    pub fn networks(&self) -> usize {
        1 + self.ensemble.len()
    }

    /// Each network's seed, in order.
    pub fn seeds(&self) -> Vec<u64> {
        std::iter::once(self.seed)
            .chain(self.ensemble.iter().map(|n| n.seed))
            .collect()
    }

    /// Each network's training: its seed, history, kept epoch and early stop, in order.
    pub fn trainings(&self) -> Vec<Network> {
        let first = Network {
            seed: self.seed,
            history: self.history.clone(),
            best_epoch: self.best_epoch,
            stopped_early: self.stopped_early,
        };
        std::iter::once(first)
            .chain(self.ensemble.iter().cloned())
            .collect()
    }

    /// "an ensemble of 3 networks (seeds 0, 1, 2)", or `None` for a single network.
    pub fn ensemble_words(&self) -> Option<String> {
        (self.networks() > 1).then(|| {
            let seeds: Vec<String> = self.seeds().iter().map(u64::to_string).collect();
            format!(
                "an ensemble of {} networks (seeds {})",
                self.networks(),
                seeds.join(", ")
            )
        })
    }

    /// The first series' member: the only one of a model of one series.
    pub fn first(&self) -> &Member {
        &self.members[0]
    }

    /// The member of the series `id`, if the model was trained on it.
    pub fn member(&self, id: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }

    /// The MASE denominator of `member`: stored, or for format 2 files (one series)
    /// recovered from the stored test metrics (the naive forecast's MAE over its MASE).
    /// `None` if neither is there.
    pub fn mase_scale(&self, member: &Member) -> Option<f64> {
        member.mase_scale.or_else(|| {
            let naive = self.test.as_ref()?.get(Contender::Naive)?;
            let scale = naive.mae / naive.mase;
            (scale.is_finite() && scale > 0.0 && !self.is_global()).then_some(scale)
        })
    }
}

#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub meta: Meta,
    /// Every tensor of the file by name: the first network's under PyTorch's names, an
    /// ensemble's further networks' under [`network_prefix`].
    pub weights: Weights,
}

impl Checkpoint {
    /// The checkpoint of a training run that just finished: the current format, this
    /// gruf's version, now as the creation time, and no test metrics yet. `seed` is the
    /// run's, which the first network was trained from; `trained` holds one network or an
    /// ensemble's.
    pub fn trained(
        config: RunConfig,
        seed: u64,
        members: Vec<Member>,
        data: Provenance,
        trained: crate::train::Ensemble,
    ) -> Checkpoint {
        let mut networks = trained.networks.into_iter().enumerate();
        let (_, first) = networks
            .next()
            .expect("an ensemble has at least one network");
        let mut weights = first.weights;
        let mut ensemble = Vec::new();
        for (i, outcome) in networks {
            let prefix = network_prefix(i);
            weights.extend(
                (outcome.weights.into_iter()).map(|(name, t)| (format!("{prefix}{name}"), t)),
            );
            ensemble.push(Network {
                seed: crate::train::network_seed(seed, i),
                history: outcome.history,
                best_epoch: outcome.best_epoch,
                stopped_early: outcome.stopped_early,
            });
        }
        Checkpoint {
            meta: Meta {
                format: FORMAT.into(),
                format_version: FORMAT_VERSION,
                gruf_version: env!("CARGO_PKG_VERSION").into(),
                created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                config,
                seed,
                members,
                data,
                history: first.history,
                best_epoch: first.best_epoch,
                stopped_early: first.stopped_early,
                interrupted: first.interrupted,
                test: None,
                ensemble,
                calibration: None,
            },
            weights,
        }
    }

    /// The first (for a single model, the only) network, rebuilt from the stored config
    /// and weights.
    pub fn model(&self) -> anyhow::Result<Model> {
        Ok(Model::new(self.meta.model(), &self.weights)?)
    }

    /// Every network, in order: one, or an ensemble's N.
    pub fn models(&self) -> anyhow::Result<Vec<Model>> {
        let mut models = vec![self.model()?];
        for i in 1..self.meta.networks() {
            let prefix = network_prefix(i);
            let weights: Weights = (self.weights.iter())
                .filter_map(|(name, t)| Some((name.strip_prefix(&prefix)?.to_string(), t.clone())))
                .collect();
            models.push(Model::new(self.meta.model(), &weights)?);
        }
        Ok(models)
    }

    /// The network (or an ensemble's networks) with the first (for a model of one series,
    /// the only) series' stored transforms, ready to predict on `device`.
    pub fn forecaster(&self, device: &Device) -> anyhow::Result<Forecaster> {
        self.forecaster_for(self.meta.first(), device)
    }

    /// The network (or an ensemble's networks) with `member`'s stored transforms, ready to
    /// predict its series on `device`.
    pub fn forecaster_for(&self, member: &Member, device: &Device) -> anyhow::Result<Forecaster> {
        Forecaster::ensemble(self.models()?, self.featurizer(member), device.clone())?
            .calibrated(self.meta.calibration.clone())
    }

    /// Calibrates the intervals ([`crate::intervals::conformal`]) on each member's validation part:
    /// `columns[i]` are the values of `meta.members[i]`'s series, as trained on. Leaves the
    /// model uncalibrated when no series has a validation target.
    pub fn calibrate(&mut self, columns: &[Columns<'_>], device: &Device) -> anyhow::Result<()> {
        anyhow::ensure!(
            columns.len() == self.meta.members.len(),
            "internal: {} series to calibrate a model of {} on",
            columns.len(),
            self.meta.members.len()
        );
        self.meta.calibration = None;
        let forecasters = (self.meta.members.iter())
            .map(|m| self.forecaster_for(m, device))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let parts: Vec<Part> = (columns.iter().zip(&forecasters).zip(&self.meta.members))
            .map(|((&columns, forecaster), member)| Part {
                columns,
                forecaster,
                val: member.split.val.clone(),
            })
            .collect();
        let calibration = crate::forecast::calibrate::calibrate(&parts, self.meta.model())?;
        self.meta.calibration = calibration.map(Arc::new);
        Ok(())
    }

    /// The input contract of `member`'s series: its fitted transforms and the model's shape.
    pub fn featurizer(&self, member: &Member) -> Featurizer {
        let model = self.meta.model();
        Featurizer {
            scaler: member.scaler,
            window: model.window,
            horizon: model.horizon,
            inputs: member.inputs.clone(),
            calendar: model.calendar.clone(),
        }
    }

    /// Serialises and writes atomically: the previous file survives any failure.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let meta = self.meta.to_json()?;
        let mut data: Vec<(String, Vec<u8>, Vec<usize>)> = Vec::with_capacity(self.weights.len());
        for (name, t) in &self.weights {
            let values = t.flatten_all()?.to_vec1::<f32>()?;
            let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            data.push((name.clone(), bytes, t.dims().to_vec()));
        }
        for set in self.meta.calibration.iter().flat_map(|c| &c.sets) {
            for (k, scores) in set.steps.iter().enumerate() {
                let bytes = scores.iter().flat_map(|v| v.to_le_bytes()).collect();
                data.push((
                    calibration_tensor(set.level, k + 1),
                    bytes,
                    vec![scores.len()],
                ));
            }
        }
        let views = data
            .iter()
            .map(|(name, bytes, shape)| {
                Ok((
                    name.as_str(),
                    TensorView::new(Dtype::F32, shape.clone(), bytes)?,
                ))
            })
            .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()?;
        let bytes =
            safetensors::serialize(views, Some(HashMap::from([(META_KEY.to_string(), meta)])))?;
        write_atomic(path, &bytes)?;
        Ok(())
    }

    /// Reads and checks a checkpoint; every failure is a [`GrufError`] naming the file.
    pub fn load(path: &Path, device: &Device) -> Result<Checkpoint, GrufError> {
        let bytes = read_input(path, "; run `gruf train --csv FILE` first, or pass --model")?;
        Checkpoint::from_bytes(&bytes, path, device)
    }

    /// [`Checkpoint::load`] on bytes already read; `path` only names the file in messages.
    pub fn from_bytes(bytes: &[u8], path: &Path, device: &Device) -> Result<Checkpoint, GrufError> {
        parse(bytes, device).map_err(|msg| GrufError::model(path, msg))
    }
}

/// Recognises files that are some other framework's format, to refuse them by name.
fn foreign_format(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"PK\x03\x04") {
        Some("a zip archive (a PyTorch .pt/.pth or a Keras .keras file?)")
    } else if bytes.starts_with(b"\x89HDF\r\n\x1a\n") {
        Some("an HDF5 file (a Keras .h5 model?)")
    } else if bytes.first() == Some(&0x80) && bytes.get(1).is_some_and(|&p| (2..=5).contains(&p)) {
        Some("a Python pickle (never loaded: unpickling runs code)")
    } else {
        None
    }
}

/// Reads and checks the metadata JSON: ours, a known version, complete, a valid config
/// and a scaler that fits it. Every version is read through its own records.
fn parse_meta(json: &str) -> Result<Meta, String> {
    // The two fields that say how to read the rest, the rest skipped: a JSON tree of a
    // global model's metadata would take about 19 times the text (380 MB for 100,000
    // series).
    #[derive(serde::Deserialize)]
    struct Head {
        format: Option<serde_json::Value>,
        format_version: Option<serde_json::Value>,
    }
    let head = serde_json::from_str::<Head>(json).map_err(|e| {
        match serde_json::from_str::<serde::de::IgnoredAny>(json) {
            // JSON, but not an object with one `format` and one `format_version`.
            Ok(_) => "a safetensors file, but not a gruf model (unknown metadata format)".into(),
            Err(_) => format!("the gruf metadata is not valid JSON ({e})"),
        }
    })?;
    if head.format.as_ref().and_then(|f| f.as_str()) != Some(FORMAT) {
        return Err("a safetensors file, but not a gruf model (unknown metadata format)".into());
    }
    let known = u64::from(OLDEST_FORMAT_VERSION)..=u64::from(FORMAT_VERSION);
    let version = match head.format_version.as_ref().and_then(|v| v.as_u64()) {
        Some(v) if known.contains(&v) => v,
        found => {
            let advice = if found.is_some_and(|v| v > u64::from(FORMAT_VERSION)) {
                "a newer gruf wrote it: upgrade gruf, or retrain with this one"
            } else {
                "retrain it with this gruf"
            };
            let found = found.map_or("missing".to_string(), |v| v.to_string());
            return Err(format!(
                "format version {found}; this gruf ({}) reads versions {OLDEST_FORMAT_VERSION} to {FORMAT_VERSION}: {advice}",
                env!("CARGO_PKG_VERSION")
            ));
        }
    };
    records::read_str(json, version)
        .map_err(|e| format!("the gruf metadata is incomplete or malformed ({e})"))?
        .into_domain()
}

/// The calibration errors in tensor `name`: F32, one non-empty dimension, finite; sorted.
fn calibration_errors(st: &SafeTensors, name: &str) -> Result<Vec<f32>, String> {
    let view = st
        .tensor(name)
        .map_err(|_| format!("tensor '{name}' is missing"))?;
    if view.dtype() != Dtype::F32 {
        return Err(format!(
            "tensor '{name}' is {:?}, expected F32",
            view.dtype()
        ));
    }
    if view.shape().len() != 1 || view.shape()[0] == 0 {
        return Err(format!(
            "tensor '{name}' has shape {:?}, expected one non-empty dimension",
            view.shape()
        ));
    }
    let mut values: Vec<f32> = (view.data().chunks_exact(4))
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(format!(
            "tensor '{name}' holds a non-finite value ({}) at index {i}",
            values[i]
        ));
    }
    values.sort_by(f32::total_cmp);
    Ok(values)
}

/// The calibration against the model it was made for and the tensors holding it, before
/// any error is read: no more steps ahead than `train` calibrates such a model for
/// ([`conformal::steps_for`]), residuals divided by the spread over the model's window,
/// and no step with more errors than its series have validation targets (every error is
/// one validation forecast's).
fn check_calibration(meta: &Meta, st: &SafeTensors) -> Result<(), String> {
    let Some(calibration) = &meta.calibration else {
        return Ok(());
    };
    let model = meta.model();
    let covariates = meta.members.iter().any(|m| !m.inputs.is_empty());
    let most = conformal::steps_for(model.horizon, covariates);
    let steps = calibration.steps();
    if steps > most {
        return Err(format!(
            "the calibration claims {steps} steps ahead; a model of horizon {}{} is calibrated \
             for at most {most}",
            model.horizon,
            if covariates { " with inputs" } else { "" }
        ));
    }
    if calibration.method == conformal::Method::Residuals && calibration.spread != model.window {
        return Err(format!(
            "the calibration divides its errors by the spread over {} steps, but the model's \
             window is {}",
            calibration.spread, model.window
        ));
    }
    let targets: usize = meta.members.iter().map(|m| m.split.val.len()).sum();
    for set in &calibration.sets {
        for k in 1..=set.steps.len() {
            let name = calibration_tensor(set.level, k);
            let Ok(view) = st.tensor(&name) else {
                return Err(format!("tensor '{name}' is missing"));
            };
            let errors: usize = view.shape().iter().product();
            if errors > targets {
                return Err(format!(
                    "tensor '{name}' holds {errors} calibration errors, but the model's series \
                     have {targets} validation target{}",
                    if targets == 1 { "" } else { "s" }
                ));
            }
        }
    }
    Ok(())
}

fn parse(bytes: &[u8], device: &Device) -> Result<Checkpoint, String> {
    if let Some(kind) = foreign_format(bytes) {
        return Err(format!(
            "this is {kind}, not a gruf model; train one with `gruf train`"
        ));
    }
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| format!("not a valid safetensors file ({e}); it may be truncated or corrupt: retrain or restore it"))?;
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| e.to_string())?;
    let json = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get(META_KEY))
        .ok_or("a safetensors file, but not a gruf model (no gruf metadata)")?;
    let mut meta = parse_meta(json)?;
    let shapes = param_shapes(meta.model());
    let expected = (0..meta.networks()).flat_map(|i| {
        let prefix = network_prefix(i);
        (shapes.iter()).map(move |(name, shape)| (format!("{prefix}{name}"), shape))
    });
    let mut weights = Weights::new();
    for (name, shape) in expected {
        let view = st
            .tensor(&name)
            .map_err(|_| format!("tensor '{name}' is missing"))?;
        if view.dtype() != Dtype::F32 {
            return Err(format!(
                "tensor '{name}' is {:?}, expected F32",
                view.dtype()
            ));
        }
        if view.shape() != shape.as_slice() {
            return Err(format!(
                "tensor '{name}' has shape {:?}, expected {shape:?}",
                view.shape()
            ));
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(format!(
                "tensor '{name}' holds a non-finite value ({}) at index {i}",
                values[i]
            ));
        }
        let tensor =
            Tensor::from_vec(values, shape.as_slice(), device).map_err(|e| e.to_string())?;
        weights.insert(name.clone(), tensor);
    }
    check_calibration(&meta, &st)?;
    let mut calibrated = Vec::new();
    if let Some(calibration) = &meta.calibration {
        let mut sets = Vec::with_capacity(calibration.sets.len());
        for set in &calibration.sets {
            let mut steps = Vec::with_capacity(set.steps.len());
            for k in 1..=set.steps.len() {
                let name = calibration_tensor(set.level, k);
                steps.push(calibration_errors(&st, &name)?);
                calibrated.push(name);
            }
            sets.push(ErrorSet {
                level: set.level,
                steps,
            });
        }
        meta.calibration = Some(Arc::new(Calibration {
            method: calibration.method,
            space: calibration.space,
            spread: calibration.spread,
            sets,
        }));
    }
    if let Some(extra) = (st.names().into_iter())
        .find(|n| !weights.contains_key(*n) && !calibrated.iter().any(|c| c == *n))
    {
        let networks = match meta.networks() {
            1 => String::new(),
            n => format!(" ensemble of {n}"),
        };
        return Err(format!(
            "unexpected tensor '{extra}' for a {:?} model{networks}",
            meta.model().layers
        ));
    }
    Ok(Checkpoint { meta, weights })
}
