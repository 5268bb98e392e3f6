//! Run configuration: built-in defaults (the seed model) < a TOML file < command-line flags.
//!
//! Each default is written once, in a `Default` impl: below, and for a model's two parts
//! beside their owners ([`NetworkConfig`] in `model`, [`Framing`] in `features`). A config
//! file and the flags are both a [`PartialConfig`] (every field optional) laid over it by
//! [`PartialConfig::apply`]; [`RunConfig::validate`] then refuses values that cannot work.
//! The file's `[model]` keys stay flat (`cell`, `window`, ...); `apply` sends each to its
//! part.

use std::path::Path;

use serde::Deserialize;

use crate::error::GrufError;
use crate::features::scaler::TransformKind;
use crate::features::Framing;
use crate::model::{Cell, Io, NetworkConfig};
use crate::series::calendar::CalendarInput;
use crate::series::csv::DataConfig;
use crate::series::season::Seasons;

/// A model's configuration, stored in the checkpoint, from which `predict` and `plot`
/// rebuild it: the network's own settings, how the featurizer frames a series, and the
/// input width the featurizer then gives.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// The cell, the stacked layers' widths and dropout.
    pub network: NetworkConfig,
    /// The transform, window, horizon, calendar inputs and quantiles.
    pub framing: Framing,
    /// Values per time step of an input window (the first layer's input width). Set from
    /// the featurizer, never by hand: 1 while the price is the only input.
    pub input_width: usize,
}

impl ModelConfig {
    /// The network in a few words: `GRU 50,100`, or with quantiles
    /// `GRU 50,100, quantiles 0.1,0.5,0.9`.
    pub fn describe(&self) -> String {
        let mut words = self.network.describe();
        if !self.framing.quantiles.is_empty() {
            words.push_str(&format!(", quantiles {}", list(&self.framing.quantiles)));
        }
        words
    }

    /// The network's two ends: the input width, and the horizon and quantiles of its head.
    pub fn io(&self) -> Io {
        Io {
            input_width: self.input_width,
            horizon: self.framing.horizon,
            quantiles: self.framing.quantiles.clone(),
        }
    }
}

/// The most quantiles a head may forecast at each step.
pub const MAX_QUANTILES: usize = 99;

/// Where the median (0.5) is in `quantiles`; `None` for a point model.
pub fn median_index(quantiles: &[f64]) -> Option<usize> {
    quantiles.iter().position(|&q| q == 0.5)
}

/// Numbers as a user types them in a list: `0.1,0.5,0.9`.
fn list(values: &[f64]) -> String {
    let words: Vec<String> = values.iter().map(f64::to_string).collect();
    words.join(",")
}

/// Refuses a quantile list a head cannot forecast, naming the bad value and the fix: empty
/// (a point model) or at least two levels, each strictly between 0 and 1, strictly
/// increasing, with 0.5 among them.
pub fn check_quantiles(quantiles: &[f64]) -> Result<(), String> {
    if quantiles.is_empty() {
        return Ok(());
    }
    let shown = list(quantiles);
    if let Some(&q) = quantiles.iter().find(|&&q| !(q > 0.0 && q < 1.0)) {
        return Err(format!(
            "quantiles {shown}: {q} is not between 0 and 1 (both excluded); give levels such as 0.1,0.5,0.9"
        ));
    }
    if let Some(w) = quantiles.windows(2).find(|w| w[1] <= w[0]) {
        return Err(if w[1] == w[0] {
            format!(
                "quantiles {shown}: {} is listed twice; give each level once",
                w[0]
            )
        } else {
            let mut sorted = quantiles.to_vec();
            sorted.sort_by(f64::total_cmp);
            sorted.dedup();
            format!(
                "quantiles {shown}: {} comes after {}; list them in increasing order ({})",
                w[1],
                w[0],
                list(&sorted)
            )
        });
    }
    if quantiles.len() < 2 {
        return Err(format!(
            "quantiles {shown}: give at least two levels, e.g. 0.1,0.5,0.9 (none for a point forecast)"
        ));
    }
    if quantiles.len() > MAX_QUANTILES {
        return Err(format!(
            "quantiles: {} levels; give at most {MAX_QUANTILES}",
            quantiles.len()
        ));
    }
    if median_index(quantiles).is_none() {
        return Err(format!(
            "quantiles {shown}: the median is the point forecast; add 0.5"
        ));
    }
    Ok(())
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            network: NetworkConfig::default(),
            framing: Framing::default(),
            input_width: 1,
        }
    }
}

/// Spelled the same in config files (serde) and by `FromStr`/`Display`: `rmsprop`, `adam`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// PyTorch's RMSprop (alpha 0.99, eps 1e-8).
    Rmsprop,
    /// Adam (betas 0.9, 0.999, eps 1e-8).
    Adam,
}

impl OptimizerKind {
    /// Every optimizer, in the order help texts list them.
    pub const ALL: [OptimizerKind; 2] = [OptimizerKind::Rmsprop, OptimizerKind::Adam];

    /// The name in config files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Rmsprop => "rmsprop",
            OptimizerKind::Adam => "adam",
        }
    }
}

impl std::str::FromStr for OptimizerKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let names = OptimizerKind::ALL.map(OptimizerKind::name);
        OptimizerKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("optimizer '{s}': use one of {}", names.join(", ")))
    }
}

impl std::fmt::Display for OptimizerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub optimizer: OptimizerKind,
    pub lr: f64,
    /// Stop after this many epochs without a better validation loss; 0 = never.
    pub patience: usize,
    /// Largest gradient norm; larger gradients are scaled down to it. 0 = no clipping.
    pub clip_norm: f64,
    /// The last `test_days` values are held out for testing; 0 trains on everything.
    pub test_days: usize,
    /// Share of the pre-test windows (the latest ones) used for validation.
    pub val_fraction: f64,
    /// Validation targets per series, the latest before the test part, in place of
    /// `val_fraction`; 0 = use the fraction. A fixed count keeps the validation part the
    /// same whatever the window, which `gruf tune` needs to compare trials.
    pub val_size: usize,
    /// Train on each series' this many most recent training windows; 0 = all.
    pub recent_windows: usize,
    /// Backpropagate through each window's last this many steps only (truncated
    /// backpropagation through time); 0 = the whole window.
    pub backprop_steps: usize,
    /// Networks trained one after another, network `i` from the seed `seed + i`; their
    /// forecasts' median is the model's forecast. 1 is a single network.
    pub ensemble: usize,
    /// Seed of the one generator behind initialisation, shuffling and dropout;
    /// `None` draws one, which the checkpoint records.
    pub seed: Option<u64>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 50,
            batch_size: 64,
            optimizer: OptimizerKind::Rmsprop,
            lr: 1e-3,
            patience: 0,
            clip_norm: 1.0,
            test_days: 365,
            val_fraction: 0.1,
            val_size: 0,
            recent_windows: 0,
            backprop_steps: 0,
            ensemble: 1,
            seed: None,
        }
    }
}

/// The most networks an ensemble may have.
pub const MAX_ENSEMBLE: usize = 100;
/// The most steps a model predicts at once.
pub const MAX_HORIZON: usize = 365;
/// The longest window a model reads.
pub const MAX_WINDOW: usize = 10_000;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunConfig {
    pub data: DataConfig,
    pub model: ModelConfig,
    pub train: TrainConfig,
}

/// One layer of settings: a config file or the flags. `None` leaves the value below.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartialConfig {
    #[serde(default)]
    pub data: PartialData,
    #[serde(default)]
    pub model: PartialModel,
    #[serde(default)]
    pub train: PartialTrain,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartialData {
    pub column: Option<String>,
    pub date_column: Option<String>,
    pub date_format: Option<String>,
    pub resample: Option<crate::series::resample::Resample>,
    /// `season = 24` or `season = [24, 168]`.
    pub season: Option<Seasons>,
    /// One character, or `tab` (a TOML `"\t"` works too).
    pub delimiter: Option<crate::series::csv::Delimiter>,
    /// Input columns beside the price (`inputs = ["Close", "Volume", "range"]`).
    pub inputs: Option<Vec<String>>,
    /// The column naming the series of a long CSV (`id_column = "series"`).
    pub id_column: Option<String>,
    /// How missing calendar steps are filled (`fill = "linear"`).
    pub fill: Option<crate::series::fill::Fill>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartialModel {
    pub cell: Option<Cell>,
    pub layers: Option<Vec<usize>>,
    pub dropout: Option<f64>,
    pub window: Option<usize>,
    pub transform: Option<TransformKind>,
    pub horizon: Option<usize>,
    /// `calendar = ["hour", "weekday"]`.
    pub calendar: Option<Vec<CalendarInput>>,
    /// `quantiles = [0.1, 0.5, 0.9]`; `[]` for a point model.
    pub quantiles: Option<Vec<f64>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartialTrain {
    pub epochs: Option<usize>,
    pub batch_size: Option<usize>,
    pub optimizer: Option<OptimizerKind>,
    pub lr: Option<f64>,
    pub patience: Option<usize>,
    pub clip_norm: Option<f64>,
    pub test_days: Option<usize>,
    /// `test_size`: `test_days` by the name `--test-size` gives it (the steps need not be
    /// days); a file giving both is refused.
    pub test_size: Option<usize>,
    pub val_fraction: Option<f64>,
    pub val_size: Option<usize>,
    pub recent_windows: Option<usize>,
    pub backprop_steps: Option<usize>,
    pub ensemble: Option<usize>,
    pub seed: Option<u64>,
}

impl PartialConfig {
    /// Reads a TOML config file; unknown keys are errors (a typo must not pass silently).
    pub fn from_file(path: &Path) -> Result<PartialConfig, GrufError> {
        let partial: PartialConfig = read_toml(path, "; the shipped configs are in configs/")?;
        if let (Some(days), Some(size)) = (partial.train.test_days, partial.train.test_size) {
            return Err(GrufError::Config {
                path: path.into(),
                msg: format!(
                    "[train] gives both test_days = {days} and test_size = {size}, two names for one setting; keep one"
                ),
            });
        }
        Ok(partial)
    }

    /// Lays this layer over `config`.
    pub fn apply(self, config: &mut RunConfig) {
        fn set<T>(slot: &mut T, value: Option<T>) {
            if let Some(v) = value {
                *slot = v;
            }
        }
        let (d, m, t) = (self.data, self.model, self.train);
        if d.column.is_some() {
            config.data.column = d.column;
        }
        if d.date_column.is_some() {
            config.data.date_column = d.date_column;
        }
        if d.date_format.is_some() {
            config.data.date_format = d.date_format;
        }
        if d.resample.is_some() {
            config.data.resample = d.resample;
        }
        if d.season.is_some() {
            config.data.season = d.season;
        }
        set(&mut config.data.delimiter, d.delimiter);
        set(&mut config.data.fill, d.fill);
        if d.id_column.is_some() {
            config.data.id_column = d.id_column;
        }
        if let Some(inputs) = d.inputs {
            config.data.inputs = inputs
                .into_iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
        }
        let (network, framing) = (&mut config.model.network, &mut config.model.framing);
        set(&mut network.cell, m.cell);
        set(&mut network.layers, m.layers);
        set(&mut network.dropout, m.dropout);
        set(&mut framing.window, m.window);
        set(&mut framing.transform, m.transform);
        set(&mut framing.horizon, m.horizon);
        set(&mut framing.calendar, m.calendar);
        set(&mut framing.quantiles, m.quantiles);
        set(&mut config.train.epochs, t.epochs);
        set(&mut config.train.batch_size, t.batch_size);
        set(&mut config.train.optimizer, t.optimizer);
        set(&mut config.train.lr, t.lr);
        set(&mut config.train.patience, t.patience);
        set(&mut config.train.clip_norm, t.clip_norm);
        set(&mut config.train.test_days, t.test_days.or(t.test_size));
        set(&mut config.train.val_fraction, t.val_fraction);
        set(&mut config.train.val_size, t.val_size);
        set(&mut config.train.recent_windows, t.recent_windows);
        set(&mut config.train.backprop_steps, t.backprop_steps);
        set(&mut config.train.ensemble, t.ensemble);
        if t.seed.is_some() {
            config.train.seed = t.seed;
        }
    }
}

/// A TOML file read as `T`; unknown keys are errors where `T` denies them. `hint` follows
/// the message when the file cannot be read. An error names the file, the line, the key
/// and the problem.
pub fn read_toml<T: serde::de::DeserializeOwned>(path: &Path, hint: &str) -> Result<T, GrufError> {
    let bytes = crate::error::read_input(path, hint)?;
    let text = String::from_utf8(bytes).map_err(|_| GrufError::Config {
        path: path.into(),
        msg: "not valid UTF-8".into(),
    })?;
    toml::from_str(&text).map_err(|e| GrufError::Config {
        path: path.into(),
        msg: toml_problem(&text, &e),
    })
}

/// A TOML error in plain words: the line (its number and its text), the key, the problem;
/// not the parser's caret drawing squashed onto one line.
fn toml_problem(text: &str, err: &toml::de::Error) -> String {
    let problem = err.message().trim().replace('\n', " ");
    let Some(span) = err.span() else {
        return problem;
    };
    let start = span.start.min(text.len());
    let number = text[..start].matches('\n').count() + 1;
    let line = text.lines().nth(number - 1).unwrap_or("").trim();
    // The key is the line's left of `=`, within the nearest `[table]` above.
    let table = (text[..start].lines().rev())
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim());
    let key = match (line.split_once('='), table) {
        (Some((key, _)), Some(table)) => format!(", key {table}.{}", key.trim()),
        (Some((key, _)), None) => format!(", key {}", key.trim()),
        (None, _) => String::new(),
    };
    format!("line {number}{key}: {problem} (the line reads: {line})")
}

impl RunConfig {
    /// This configuration as a config file that `--config` reads back to the same
    /// configuration: every model and training setting, and the data settings that differ
    /// from the defaults (a preset written by `gruf tune`). `input_width` is not a setting.
    pub fn to_toml(&self) -> String {
        use toml::{Table, Value};
        fn text(s: impl ToString) -> Value {
            Value::String(s.to_string())
        }
        fn int(n: usize) -> Value {
            Value::Integer(n as i64)
        }
        fn ints(ns: &[usize]) -> Value {
            Value::Array(ns.iter().map(|&n| int(n)).collect())
        }
        let (d, n, f, t) = (
            &self.data,
            &self.model.network,
            &self.model.framing,
            &self.train,
        );
        let mut data = Table::new();
        let defaults = DataConfig::default();
        let strings = [
            ("column", &d.column),
            ("date_column", &d.date_column),
            ("date_format", &d.date_format),
            ("id_column", &d.id_column),
        ];
        for (key, value) in strings {
            if let Some(v) = value {
                data.insert(key.into(), text(v));
            }
        }
        if let Some(r) = d.resample {
            data.insert("resample".into(), text(r));
        }
        if let Some(s) = d.season {
            let value = match s.periods() {
                [one] => int(*one),
                many => ints(many),
            };
            data.insert("season".into(), value);
        }
        if d.delimiter != defaults.delimiter {
            data.insert("delimiter".into(), text(d.delimiter));
        }
        if !d.inputs.is_empty() {
            data.insert(
                "inputs".into(),
                Value::Array(d.inputs.iter().map(text).collect()),
            );
        }
        if d.fill != defaults.fill {
            data.insert("fill".into(), text(d.fill.name()));
        }
        let mut model = Table::new();
        model.insert("cell".into(), text(n.cell.name()));
        model.insert("layers".into(), ints(&n.layers));
        model.insert("dropout".into(), Value::Float(n.dropout));
        model.insert("window".into(), int(f.window));
        model.insert("transform".into(), text(f.transform.name()));
        model.insert("horizon".into(), int(f.horizon));
        let calendar = f.calendar.iter().map(|c| text(c.name())).collect();
        model.insert("calendar".into(), Value::Array(calendar));
        let quantiles = f.quantiles.iter().map(|&q| Value::Float(q)).collect();
        model.insert("quantiles".into(), Value::Array(quantiles));
        let mut train = Table::new();
        train.insert("epochs".into(), int(t.epochs));
        train.insert("batch_size".into(), int(t.batch_size));
        train.insert("optimizer".into(), text(t.optimizer.name()));
        train.insert("lr".into(), Value::Float(t.lr));
        train.insert("patience".into(), int(t.patience));
        train.insert("clip_norm".into(), Value::Float(t.clip_norm));
        train.insert("test_size".into(), int(t.test_days));
        train.insert("val_fraction".into(), Value::Float(t.val_fraction));
        train.insert("val_size".into(), int(t.val_size));
        train.insert("recent_windows".into(), int(t.recent_windows));
        if t.backprop_steps > 0 {
            train.insert("backprop_steps".into(), int(t.backprop_steps));
        }
        train.insert("ensemble".into(), int(t.ensemble));
        if let Some(seed) = t.seed {
            // TOML integers are signed 64-bit: a larger seed cannot be written.
            if let Ok(seed) = i64::try_from(seed) {
                train.insert("seed".into(), Value::Integer(seed));
            }
        }
        let mut file = Table::new();
        if !data.is_empty() {
            file.insert("data".into(), Value::Table(data));
        }
        file.insert("model".into(), Value::Table(model));
        file.insert("train".into(), Value::Table(train));
        toml::to_string(&file).expect("a TOML table always serialises")
    }

    /// Refuses settings that cannot work, naming the setting and the accepted range.
    pub fn validate(&self) -> Result<(), GrufError> {
        let (n, m) = (&self.model.network, &self.model.framing);
        let t = &self.train;
        let bad = |what: &str| Err(GrufError::usage(what.to_string()));
        if n.layers.is_empty() || n.layers.iter().any(|&h| h == 0 || h > 4096) {
            return bad(&format!(
                "layers {:?}: give 1 or more hidden sizes between 1 and 4096, e.g. 50,100",
                n.layers
            ));
        }
        if !(0.0..1.0).contains(&n.dropout) {
            return bad(&format!(
                "dropout {}: must be at least 0 and below 1",
                n.dropout
            ));
        }
        if let (TransformKind::Seasonal, Some(seasons)) = (m.transform, self.data.season) {
            seasons.check_window(m.window).map_err(GrufError::usage)?;
        }
        if !(1..=MAX_HORIZON).contains(&m.horizon) {
            return bad(&format!(
                "horizon {}: the model predicts between 1 and {MAX_HORIZON} steps at once",
                m.horizon
            ));
        }
        if let Some(twice) = m
            .calendar
            .iter()
            .enumerate()
            .find_map(|(i, c)| m.calendar[..i].contains(c).then_some(c))
        {
            return bad(&format!(
                "calendar lists '{twice}' twice: give each input once"
            ));
        }
        check_quantiles(&m.quantiles).map_err(GrufError::usage)?;
        if !m.quantiles.is_empty() && m.transform == TransformKind::Logret && m.horizon > 1 {
            return bad(&format!(
                "quantiles with the logret transform and a horizon of {}: log returns are decoded \
                 cumulatively, step after step, so quantiles of each step's log return are not \
                 quantiles of the price; use --transform window (or --horizon 1)",
                m.horizon
            ));
        }
        if !(1..=256).contains(&self.model.input_width) {
            return bad(&format!(
                "features {}: a model takes between 1 and 256 values per step",
                self.model.input_width
            ));
        }
        if m.window == 0 || m.window > MAX_WINDOW {
            return bad(&format!(
                "window {}: must be between 1 and {MAX_WINDOW}",
                m.window
            ));
        }
        if t.epochs == 0 {
            return bad("epochs 0: train for at least 1 epoch");
        }
        if !(1..=MAX_ENSEMBLE).contains(&t.ensemble) {
            return bad(&format!(
                "ensemble {}: give between 1 and {MAX_ENSEMBLE} networks (1 trains a single network)",
                t.ensemble
            ));
        }
        if t.batch_size == 0 {
            return bad("batch size 0: must be at least 1");
        }
        if !(t.lr.is_finite() && t.lr > 0.0) {
            return bad(&format!(
                "learning rate {}: must be a positive number such as 0.001",
                t.lr
            ));
        }
        if !(t.clip_norm.is_finite() && t.clip_norm >= 0.0) {
            return bad(&format!(
                "clip norm {}: must be 0 (off) or positive",
                t.clip_norm
            ));
        }
        if !(t.val_fraction > 0.0 && t.val_fraction <= 0.5) {
            return bad(&format!(
                "validation fraction {}: must be above 0 and at most 0.5",
                t.val_fraction
            ));
        }
        Ok(())
    }
}

/// A seasonal period must span at least two steps (one step is the naive forecast).
pub fn check_season(season: usize) -> Result<(), GrufError> {
    crate::series::season::check_period(season).map_err(GrufError::usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A preset written by `to_toml` reads back to the configuration it was written from.
    #[test]
    fn a_written_config_reads_back_the_same() {
        let mut config = RunConfig::default();
        config.data.column = Some("value".into());
        config.data.id_column = Some("series".into());
        config.data.season = Some(Seasons::new(&[24, 168]).unwrap());
        config.data.inputs = vec!["Volume".into()];
        config.data.fill = crate::series::fill::Fill::Linear;
        config.model.network.cell = Cell::Lstm;
        config.model.network.layers = vec![64, 32];
        config.model.network.dropout = 0.15;
        config.model.framing.window = 336;
        config.model.framing.transform = TransformKind::Seasonal;
        config.model.framing.horizon = 48;
        config.model.framing.calendar = vec![CalendarInput::Hour];
        config.model.framing.quantiles = vec![0.1, 0.5, 0.9];
        config.train.lr = 0.0003;
        config.train.test_days = 48;
        config.train.val_size = 96;
        config.train.seed = Some(42);
        let text = config.to_toml();
        let mut read = RunConfig::default();
        toml::from_str::<PartialConfig>(&text)
            .unwrap()
            .apply(&mut read);
        assert_eq!(read, config, "{text}");
        let plain = RunConfig::default();
        let mut read = RunConfig::default();
        toml::from_str::<PartialConfig>(&plain.to_toml())
            .unwrap()
            .apply(&mut read);
        assert_eq!(read, plain);
    }

    #[test]
    fn defaults_are_the_seed_model() {
        let c = RunConfig::default();
        assert_eq!(c.model.network.layers, vec![50, 100]);
        assert_eq!((c.model.network.dropout, c.model.framing.window), (0.2, 60));
        assert_eq!(
            (c.train.epochs, c.train.batch_size, c.train.lr),
            (50, 64, 1e-3)
        );
        assert_eq!(c.train.optimizer, OptimizerKind::Rmsprop);
        c.validate().unwrap();
    }

    #[test]
    fn layers_apply_in_order() {
        let mut c = RunConfig::default();
        let file: PartialConfig =
            toml::from_str("[model]\nlayers = [8]\n[train]\nepochs = 3\nlr = 0.01").unwrap();
        file.apply(&mut c);
        let flags = PartialConfig {
            train: PartialTrain {
                epochs: Some(5),
                ..Default::default()
            },
            ..Default::default()
        };
        flags.apply(&mut c);
        assert_eq!(c.model.network.layers, vec![8]);
        assert!(c.model.framing.quantiles.is_empty());
        let file: PartialConfig = toml::from_str("[model]\nquantiles = [0.1, 0.5, 0.9]").unwrap();
        file.apply(&mut c);
        assert_eq!(c.model.framing.quantiles, vec![0.1, 0.5, 0.9]);
        let flags = PartialConfig {
            model: PartialModel {
                quantiles: Some(vec![0.25, 0.5, 0.75]),
                ..Default::default()
            },
            ..Default::default()
        };
        flags.apply(&mut c);
        assert_eq!(c.model.framing.quantiles, vec![0.25, 0.5, 0.75]);
        assert_eq!((c.train.epochs, c.train.lr), (5, 0.01));
        assert_eq!(c.train.batch_size, 64);
    }

    /// Each way a quantile list can be wrong gets its own message naming the value.
    #[test]
    fn quantile_lists_are_checked() {
        assert_eq!(check_quantiles(&[]), Ok(()));
        assert_eq!(check_quantiles(&[0.025, 0.1, 0.5, 0.9, 0.975]), Ok(()));
        for (list, says) in [
            (vec![0.1, 0.5, 1.0], "1 is not between 0 and 1"),
            (vec![0.0, 0.5], "0 is not between 0 and 1"),
            (vec![-0.1, 0.5], "-0.1 is not between 0 and 1"),
            (vec![f64::NAN, 0.5], "NaN is not between 0 and 1"),
            (
                vec![0.9, 0.5, 0.1],
                "0.5 comes after 0.9; list them in increasing order (0.1,0.5,0.9)",
            ),
            (vec![0.1, 0.5, 0.5, 0.9], "0.5 is listed twice"),
            (vec![0.5], "give at least two levels"),
            (vec![0.1, 0.9], "the median is the point forecast; add 0.5"),
        ] {
            let err = check_quantiles(&list).unwrap_err();
            assert!(err.contains(says), "{list:?}: {err}");
        }
        let many: Vec<f64> = (1..=MAX_QUANTILES + 1)
            .map(|i| i as f64 / (MAX_QUANTILES + 2) as f64)
            .collect();
        assert!(check_quantiles(&many).unwrap_err().contains("at most 99"));

        let mut c = RunConfig::default();
        c.model.framing.quantiles = vec![0.1, 0.9];
        assert!(c.validate().unwrap_err().to_string().contains("add 0.5"));
        c.model.framing.quantiles = vec![0.1, 0.5, 0.9];
        c.validate().unwrap();
        assert_eq!(c.model.io().outputs(), 3);
        assert_eq!(c.model.describe(), "GRU 50,100, quantiles 0.1,0.5,0.9");
        assert_eq!(median_index(&c.model.framing.quantiles), Some(1));
        // Log returns are chained: refused beyond one step, where they are one step's.
        c.model.framing.transform = TransformKind::Logret;
        c.validate().unwrap();
        c.model.framing.horizon = 3;
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("use --transform window"), "{err}");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(toml::from_str::<PartialConfig>("[train]\nepoch = 3").is_err());
        let mut c = RunConfig::default();
        c.model.network.dropout = 1.0;
        assert!(c.validate().is_err());
    }

    #[test]
    fn a_config_file_sets_the_fill_and_refuses_an_unknown_one() {
        let layer: PartialConfig = toml::from_str("[data]\nfill = \"seasonal\"\n").unwrap();
        let mut config = RunConfig::default();
        assert_eq!(config.data.fill, crate::series::fill::Fill::None);
        layer.apply(&mut config);
        assert_eq!(config.data.fill, crate::series::fill::Fill::Seasonal);
        let err = toml::from_str::<PartialConfig>("[data]\nfill = \"spline\"\n").unwrap_err();
        assert!(err.to_string().contains("spline"), "{err}");
    }
}
