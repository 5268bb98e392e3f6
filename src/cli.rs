//! Command-line types (clap derive) and nothing else: doc comments are the help text.
//! [`TrainArgs::overrides`] turns flags into a config layer; the library never sees clap.
//! Flags that pick a library enum parse into a mirror enum here ([`TransformArg`], …),
//! converted on the spot, so the library's types need no clap derive.

use std::path::PathBuf;

use clap::builder::{EnumValueParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{OptimizerKind, PartialConfig, PartialData, PartialModel, PartialTrain};
use crate::features::scaler::TransformKind;
use crate::model::Cell;
use crate::series::fill::Fill;
use crate::series::resample::Resample;
use crate::series::synth::SampleConfig;

/// gruf: a GRU forecaster for price series, in one binary.
#[derive(Debug, Parser)]
#[command(name = "gruf", version, about, max_term_width = 100, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "Examples:
  gruf train --csv BTC-USD.csv     train the seed model, report test accuracy, save it
  gruf predict --steps 7           forecast the next 7 steps (days here) from the saved model
  gruf plot                        write gruf-plot.png (test predictions, forecast, losses)
  gruf train --csv BTC-USD.csv --config configs/quick.toml   a small model in seconds
  gruf compare --csv BTC-USD.csv --config configs/quick.toml GRU, LSTM and RNN over 3 seeds";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a model on a CSV and save it (with its scaler, config and test metrics).
    Train(TrainArgs),
    /// Forecast the next steps (days, hours, …) from a trained model.
    Predict(PredictArgs),
    /// Draw true vs predicted prices, the forecast and the loss curves to a PNG.
    Plot(PlotArgs),
    /// Score the model against naive, seasonal naive, drift and moving-average baselines on held-out data.
    Evaluate(EvaluateArgs),
    /// Walk-forward evaluation: retrain on an expanding window and score each following fold.
    Backtest(BacktestArgs),
    /// Train each recurrent cell (GRU, LSTM, RNN) from the same seeds on the same data and
    /// compare them on the held-out part.
    Compare(CompareArgs),
    /// Search for the best settings of a series (or panel) on its validation part only:
    /// random trials, successive halving, a time budget, a resumable log; writes the
    /// winner's preset and model and scores its test part once.
    Tune(TuneArgs),
    /// Show what the gates of a trained model do over one input window (a heatmap per layer and gate).
    Inspect(InspectArgs),
    /// Write the model's forecaster as one ONNX file (featurizer, networks, intervals) for
    /// onnxruntime and other runtimes.
    Export(ExportArgs),
    /// Write the synthetic sample series (the generator behind data/btc-sample.csv).
    Sample(SampleArgs),
    /// Print a shell completion script to standard output (bash, zsh, fish, ...).
    Completions(CompletionsArgs),
}

impl Command {
    /// `-q`/`--quiet`, which every command takes.
    pub fn quiet(&self) -> bool {
        match self {
            Command::Train(a) => a.options.quiet,
            Command::Backtest(a) => a.options.quiet,
            Command::Compare(a) => a.options.quiet,
            Command::Tune(a) => a.options.quiet,
            Command::Predict(a) => a.source.quiet,
            Command::Plot(a) => a.source.quiet,
            Command::Evaluate(a) => a.source.quiet,
            Command::Inspect(a) => a.source.quiet,
            Command::Export(a) => a.quiet,
            Command::Sample(a) => a.quiet,
            Command::Completions(a) => a.quiet,
        }
    }
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// CSV with a date column and a price column (Yahoo Finance's layout works as is).
    /// Given several times, one global model over all the files, each one series named by
    /// its file's stem (eth.csv is 'eth').
    #[arg(long, value_name = "PATH", required = true)]
    pub csv: Vec<PathBuf>,

    /// Where to save the model.
    #[arg(long, value_name = "PATH", default_value = crate::checkpoint::DEFAULT_PATH)]
    pub model: PathBuf,

    #[command(flatten)]
    pub options: TrainOptions,
}

#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// CSV with a date column and a price column (Yahoo Finance's layout works as is).
    /// Given several times, one global model over all the files, each one series named by
    /// its file's stem (eth.csv is 'eth').
    #[arg(long, value_name = "PATH", required = true)]
    pub csv: Vec<PathBuf>,

    /// Folds the evaluation span (the last --test-size values) is cut into, in time order (1 to 100).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub folds: u32,

    /// Retrain every N folds; the folds between reuse the last model and its transform.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub refit_every: u32,

    /// Score each fold's calibrated intervals at this level (repeatable), 1 and 7 steps
    /// ahead, each fold's model calibrated on its own validation part [default: 0.8 and
    /// 0.95, as far as the validation parts support them].
    #[arg(long, value_name = "LEVEL")]
    pub interval: Vec<crate::intervals::Level>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    #[command(flatten)]
    pub options: TrainOptions,
}

#[derive(Debug, Args)]
pub struct TuneArgs {
    /// CSV with a date column and a price column; several times, or with --id-column, a
    /// panel searched as one global model (scores pooled over the series).
    #[arg(long, value_name = "PATH", required_unless_present_any = ["resume", "collect"])]
    pub csv: Vec<PathBuf>,

    /// Trials drawn from the space (the first is the configuration of --config and the
    /// flags); successive halving trains the best third of each rung three times longer.
    #[arg(long, value_name = "N", default_value_t = 27, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub trials: u32,

    /// Wall-clock limit for the whole search, e.g. 90s, 30m, 2h: trials still running then
    /// are stopped (and rerun by --resume), and the best so far wins [default: none].
    #[arg(long, value_name = "TIME")]
    pub budget: Option<Budget>,

    /// TOML file of choices replacing the default space's: cell, layers, dropout, window,
    /// transform, horizon, lr, batch_size, ensemble, recent_windows (lists) and epochs (the
    /// most a trial trains).
    /// A model flag (--cell, --window, ...) fixes that setting instead.
    #[arg(long, value_name = "FILE")]
    pub space: Option<PathBuf>,

    /// Forecast length trials are judged on: forecasts of N steps across each series'
    /// validation part [default: the configuration's --horizon, 1 without one].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=365))]
    pub steps: Option<u32>,

    /// Trials trained at once, each with its share of the cores [default: the cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: Option<u32>,

    /// The search's log, one JSON line per trial as it ends; never overwritten.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "gruf-tune.jsonl",
        conflicts_with = "resume"
    )]
    pub log: PathBuf,

    /// Continue the search this log records (after Ctrl-C, the budget or a crash),
    /// skipping the trials it holds; the data and space come from the log.
    #[arg(long, value_name = "LOG", conflicts_with_all = ["csv", "space", "trials", "steps"])]
    pub resume: Option<PathBuf>,

    /// Past one machine: write one `gruf train` job per trial into DIR (its config, and a
    /// line of DIR/commands.txt) for a scheduler to run (GNU parallel, a Slurm job array,
    /// Kubernetes Jobs), each to the last epoch, instead of training here.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["resume", "collect", "budget", "jobs"])]
    pub plan: Option<PathBuf>,

    /// Score the models a --plan's jobs saved in DIR on validation, rank them, and keep the
    /// best as --model and --out-config (its test part scored once, after the choice).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["csv", "resume", "space", "trials", "steps", "budget", "jobs"])]
    pub collect: Option<PathBuf>,

    /// Where to write the winner's settings as a config file for `train --config`.
    #[arg(long, value_name = "FILE", default_value = "gruf-tuned.toml")]
    pub out_config: PathBuf,

    /// Where to save the winner's model.
    #[arg(long, value_name = "PATH", default_value = crate::checkpoint::DEFAULT_PATH)]
    pub model: PathBuf,

    #[command(flatten)]
    pub options: TrainOptions,
}

/// A wall-clock budget: a number of seconds, or with a unit `s`, `m`, `h`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget(pub std::time::Duration);

impl std::str::FromStr for Budget {
    type Err = String;

    fn from_str(s: &str) -> Result<Budget, String> {
        let t = s.trim();
        let (number, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
            Some(i) => t.split_at(i),
            None => (t, "s"),
        };
        let seconds = match unit.trim() {
            "s" | "sec" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            _ => f64::NAN,
        };
        let value: f64 = number.trim().parse().unwrap_or(f64::NAN);
        let total = value * seconds;
        if total.is_finite() && total > 0.0 && total < 1e9 {
            Ok(Budget(std::time::Duration::from_secs_f64(total)))
        } else {
            Err(format!(
                "budget '{s}': give a positive time such as 600, 90s, 30m or 2h"
            ))
        }
    }
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// CSV with a date column and a price column (Yahoo Finance's layout works as is).
    /// Given several times, or with --id-column, a panel: each cell is one global model
    /// over its series, scored by their held-out parts pooled (mean MASE and sMAPE).
    #[arg(long, value_name = "PATH", required = true)]
    pub csv: Vec<PathBuf>,

    /// Cells to compare, comma-separated, each once; they replace the cell of --config
    /// [default: gru,lstm,rnn].
    #[arg(long, value_name = "CELL,CELL,..", value_delimiter = ',',
          value_parser = EnumValueParser::<CellArg>::new().map(Cell::from))]
    pub cells: Option<Vec<Cell>>,

    /// Seeds per cell, 1 to 100: every cell is trained from --seed S, S+1, …, S+N−1 (S drawn
    /// once when --seed is not given).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub seeds: u32,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Also draw the held-out part: the true values, the naive forecast and each cell's
    /// one-step predictions (from its seed with the lowest validation loss), to a PNG or an
    /// SVG by the extension. Of a panel, its first series (as series are listed).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,

    /// Save the model of the cell with the lowest mean validation loss (its seed with the
    /// lowest validation loss) here; never chosen on the held-out part.
    #[arg(long, value_name = "PATH")]
    pub save_best: Option<PathBuf>,

    #[command(flatten)]
    pub options: TrainOptions,
}

/// Data, model and training settings shared by `train`, `backtest` and `compare`.
#[derive(Debug, Args)]
pub struct TrainOptions {
    /// TOML config (see configs/); flags override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Price column, matched case-insensitively [default: Close, else y or value].
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,

    /// Input columns beside the price, comma-separated, e.g. 'Close,Volume,range': Open,
    /// High, Low are encoded like the price, others standardised (volumes after log1p);
    /// 'range' is (High − Low) / price. The price column is always the first input
    /// [default: the price alone].
    #[arg(long, value_name = "COL,COL,..", value_delimiter = ',')]
    pub inputs: Option<Vec<String>>,

    /// Calendar inputs from each step's date, comma-separated: hour (of the day), weekday,
    /// month (of the year), each as a sin/cos pair. Known for future dates, so they do not
    /// limit how far a model forecasts [default: none].
    #[arg(long, value_name = "hour,weekday,month", value_delimiter = ',')]
    pub calendar: Option<Vec<crate::series::calendar::CalendarInput>>,

    /// Column naming the series of a long CSV (one row per series and date): trains one
    /// global model over every series, each scaled on its own [default: the file is one
    /// series].
    #[arg(long, value_name = "NAME")]
    pub id_column: Option<String>,

    /// Date column [default: auto-detect Date, Datetime, Timestamp, Time, Open time, Month,
    /// Week, Period, Quarter or ds].
    #[arg(long, value_name = "NAME")]
    pub date_column: Option<String>,

    /// chrono format of the dates, e.g. '%d/%m/%Y', or '%s' for Unix seconds [default: ISO
    /// dates and datetimes, 2024-03, 2024-Q1, 2024-W13, 20240331 or Unix time].
    #[arg(long, value_name = "FORMAT")]
    pub date_format: Option<String>,

    /// Field separator: one character, or 'tab' [default: ,].
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<crate::series::csv::Delimiter>,

    /// Aggregate to one close per period first (e.g. minute bars to daily closes).
    #[arg(long, value_parser = EnumValueParser::<ResampleArg>::new().map(Resample::from))]
    pub resample: Option<crate::series::resample::Resample>,

    /// Fill the calendar steps missing between rows (each series on its own): ffill (the
    /// last value), linear (a straight line across the gap) or seasonal (the value one
    /// --season earlier, else linear); stored in the model, so predict, evaluate and plot
    /// fill the same way [default: none, rows either side of a gap read as consecutive].
    #[arg(long, value_name = "METHOD", value_parser = EnumValueParser::<FillArg>::new().map(Fill::from))]
    pub fill: Option<Fill>,

    /// Seasonal periods in steps, shortest first: the first is the seasonal naive
    /// baseline's, and --transform seasonal removes each (24,168: the daily and the weekly
    /// cycle of hourly data; needs --window of two cycles of the longest) [default: from the
    /// calendar: 24 for hourly data, 7 daily, 5 business days, 52 weekly, 12 monthly, 4
    /// quarterly].
    #[arg(long, value_name = "N[,N..]")]
    pub season: Option<crate::series::season::Seasons>,

    /// Recurrent cell of every layer: gru (the seed's), lstm or rnn (plain tanh), each with
    /// PyTorch's equations [default: gru].
    #[arg(long, value_parser = EnumValueParser::<CellArg>::new().map(Cell::from))]
    pub cell: Option<Cell>,

    /// Hidden sizes of the stacked recurrent layers [default: 50,100].
    #[arg(long, value_name = "H,H,..", value_delimiter = ',')]
    pub layers: Option<Vec<usize>>,

    /// Dropout after each recurrent layer [default: 0.2].
    #[arg(long, value_name = "P")]
    pub dropout: Option<f64>,

    /// Input transform: minmax (global, the seed's), window (each window relative to its
    /// last value), logret (log returns) or diff (each window minus its last value, for
    /// series that cross zero) [default: minmax].
    #[arg(long, value_parser = EnumValueParser::<TransformArg>::new().map(TransformKind::from))]
    pub transform: Option<TransformKind>,

    /// Past values per input window [default: 60].
    #[arg(long, value_name = "N")]
    pub window: Option<usize>,

    /// Steps the model predicts at once (a direct multi-step forecast, 1 to 365); longer
    /// forecasts continue in blocks of K [default: 1].
    #[arg(long, value_name = "K")]
    pub horizon: Option<usize>,

    /// Quantile levels to forecast at every step, comma-separated and increasing, each
    /// between 0 and 1, with 0.5 among them (e.g. 0.025,0.1,0.5,0.9,0.975): the head then
    /// forecasts each level, trained on the pinball loss, and the median is the point
    /// forecast. Each step's quantiles are sorted, so they never cross [default: none, a
    /// point forecast].
    #[arg(
        long,
        value_name = "Q,Q,..",
        value_delimiter = ',',
        allow_negative_numbers = true
    )]
    pub quantiles: Option<Vec<f64>>,

    /// Training epochs [default: 50].
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,

    /// Windows per mini-batch [default: 64].
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,

    /// Optimizer [default: rmsprop].
    #[arg(long, value_parser = EnumValueParser::<OptimizerArg>::new().map(OptimizerKind::from))]
    pub optimizer: Option<OptimizerKind>,

    /// Learning rate [default: 0.001].
    #[arg(long, value_name = "RATE")]
    pub lr: Option<f64>,

    /// Stop after N epochs without a better validation loss; 0 = off [default: 0].
    #[arg(long, value_name = "N")]
    pub patience: Option<usize>,

    /// Clip the gradient norm to this; 0 = off [default: 1.0].
    #[arg(long, value_name = "NORM")]
    pub clip_norm: Option<f64>,

    /// Hold out the last N values (steps of the series: days, hours, …) for testing;
    /// 0 trains on everything [default: 365].
    #[arg(long, visible_alias = "test-days", value_name = "N")]
    pub test_size: Option<usize>,

    /// Share of the pre-test windows (the latest) used for validation [default: 0.1].
    #[arg(long, value_name = "F")]
    pub val_fraction: Option<f64>,

    /// Validation targets per series, the latest before the test part, in place of
    /// --val-fraction (what `gruf tune` writes, so every trial is scored on the same part)
    /// [default: 0, the fraction].
    #[arg(long, value_name = "N")]
    pub val_size: Option<usize>,

    /// Train on each series' N most recent training windows only (the ones most like
    /// what comes next; with many series, also a shorter epoch) [default: 0, all].
    #[arg(long, value_name = "N")]
    pub recent_windows: Option<usize>,

    /// Backpropagate through each window's last N steps only (truncated backpropagation
    /// through time): the steps before still run forward, but the gradient stops there,
    /// so each batch's backward pass, the larger part of training, covers N steps instead
    /// of the window. Faster on long windows; whether it costs accuracy shows on
    /// validation. At least the window, or 0, is the whole window [default: 0].
    #[arg(long, value_name = "N")]
    pub backprop_steps: Option<usize>,

    /// Train N networks one after another, network i (from 0) with the seed --seed + i,
    /// and forecast their median (1 to 100) [default: 1].
    #[arg(long, value_name = "N")]
    pub ensemble: Option<usize>,

    /// Seed for initialisation, shuffling and dropout: same seed, same model
    /// [default: drawn at random and stored in the model].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Only results, warnings and errors: no progress, no summary lines, no notes.
    #[arg(long, short)]
    pub quiet: bool,
}

impl TrainOptions {
    /// The flags as the top configuration layer.
    pub fn overrides(&self) -> PartialConfig {
        PartialConfig {
            data: PartialData {
                column: self.column.clone(),
                date_column: self.date_column.clone(),
                date_format: self.date_format.clone(),
                resample: self.resample,
                season: self.season,
                delimiter: self.delimiter,
                inputs: self.inputs.clone(),
                id_column: self.id_column.clone(),
                fill: self.fill,
            },
            model: PartialModel {
                cell: self.cell,
                layers: self.layers.clone(),
                dropout: self.dropout,
                window: self.window,
                transform: self.transform,
                horizon: self.horizon,
                calendar: self.calendar.clone(),
                quantiles: self.quantiles.clone(),
            },
            train: PartialTrain {
                epochs: self.epochs,
                batch_size: self.batch_size,
                optimizer: self.optimizer,
                lr: self.lr,
                patience: self.patience,
                clip_norm: self.clip_norm,
                test_days: None,
                test_size: self.test_size,
                val_fraction: self.val_fraction,
                val_size: self.val_size,
                recent_windows: self.recent_windows,
                backprop_steps: self.backprop_steps,
                ensemble: self.ensemble,
                seed: self.seed,
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// Comma-separated with a header row, for spreadsheets and scripts (all tables in one).
    Csv,
    /// One JSON document.
    Json,
}

/// `--resample`'s values: [`Resample`] as the command line spells and explains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ResampleArg {
    /// Hourly closes.
    #[value(name = "1h")]
    Hour,
    /// Daily closes (UTC days).
    #[value(name = "1d")]
    Day,
}

impl From<ResampleArg> for Resample {
    fn from(arg: ResampleArg) -> Resample {
        match arg {
            ResampleArg::Hour => Resample::Hour,
            ResampleArg::Day => Resample::Day,
        }
    }
}

/// `--fill`'s values: [`Fill`] as the command line spells and explains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FillArg {
    /// Leave gaps: rows either side are read as consecutive.
    None,
    /// The last value before the gap.
    Ffill,
    /// A straight line across the gap.
    Linear,
    /// The value one season earlier, else linear.
    Seasonal,
}

impl From<FillArg> for Fill {
    fn from(arg: FillArg) -> Fill {
        match arg {
            FillArg::None => Fill::None,
            FillArg::Ffill => Fill::Ffill,
            FillArg::Linear => Fill::Linear,
            FillArg::Seasonal => Fill::Seasonal,
        }
    }
}

/// `--transform`'s values: [`TransformKind`] as the command line spells and explains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TransformArg {
    /// Global min-max scaling (the seed model's).
    Minmax,
    /// Each window relative to its last value.
    Window,
    /// Log returns.
    Logret,
    /// Each window minus its last value: for series that cross zero.
    Diff,
    /// Each window over a seasonal baseline (level × profile of each --season) estimated
    /// inside it, logged: for series with a strong cycle (--season, default from the
    /// calendar).
    Seasonal,
}

impl From<TransformArg> for TransformKind {
    fn from(arg: TransformArg) -> TransformKind {
        match arg {
            TransformArg::Minmax => TransformKind::Minmax,
            TransformArg::Window => TransformKind::Window,
            TransformArg::Logret => TransformKind::Logret,
            TransformArg::Diff => TransformKind::Diff,
            TransformArg::Seasonal => TransformKind::Seasonal,
        }
    }
}

/// `--cell`'s values: [`Cell`] as the command line spells and explains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CellArg {
    /// Gated recurrent unit (the seed model's).
    Gru,
    /// Long short-term memory.
    Lstm,
    /// Plain recurrent layer with tanh.
    Rnn,
}

impl From<CellArg> for Cell {
    fn from(arg: CellArg) -> Cell {
        match arg {
            CellArg::Gru => Cell::Gru,
            CellArg::Lstm => Cell::Lstm,
            CellArg::Rnn => Cell::Rnn,
        }
    }
}

/// `--optimizer`'s values: [`OptimizerKind`] as the command line spells and explains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OptimizerArg {
    /// PyTorch's RMSprop (alpha 0.99, eps 1e-8).
    Rmsprop,
    /// Adam (betas 0.9, 0.999, eps 1e-8).
    Adam,
}

impl From<OptimizerArg> for OptimizerKind {
    fn from(arg: OptimizerArg) -> OptimizerKind {
        match arg {
            OptimizerArg::Rmsprop => OptimizerKind::Rmsprop,
            OptimizerArg::Adam => OptimizerKind::Adam,
        }
    }
}

/// Which model and data a consumer of a checkpoint works on.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Model file written by `gruf train`.
    #[arg(long, value_name = "PATH", default_value = crate::checkpoint::DEFAULT_PATH)]
    pub model: PathBuf,

    /// Where to write the ONNX file, a name ending in .onnx (an existing one is replaced)
    /// [default: the model's path with the extension .onnx].
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,

    /// File format (ONNX is the only one).
    #[arg(long, value_enum, default_value_t = ExportFormat::Onnx)]
    pub format: ExportFormat,

    /// Export the calibrated interval at this level (repeatable: --interval 0.8 --interval
    /// 0.95) as the `intervals` output [default: 0.8 and 0.95, or a quantile model's
    /// levels, as far as the calibration gives them for every step of the horizon].
    #[arg(long, value_name = "LEVEL")]
    pub interval: Vec<crate::intervals::Level>,

    /// Only results, warnings and errors: no notes, no "wrote" lines.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `gruf export --format`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// ONNX (opset 17, IR version 8): onnxruntime 1.15 or later, and other runtimes.
    Onnx,
}

#[derive(Debug, Args)]
pub struct OpenArgs {
    /// Model file written by `gruf train`.
    #[arg(long, value_name = "PATH", default_value = crate::checkpoint::DEFAULT_PATH)]
    pub model: PathBuf,

    /// Newer data to use instead of the training CSV (same columns, or others named with
    /// --column, --date-column, --date-format, --id-column; scaled with the stored scaler).
    /// For a model trained on several files, repeatable: each file one series, named by its
    /// stem as in training. A global model also forecasts series it was not trained on (ids
    /// of a long --csv, or files) when its transform is window, diff, logret or seasonal:
    /// each new series is scaled on its own past before its last --test-size values, as a
    /// training series would be (minmax models refuse them).
    #[arg(long, value_name = "PATH")]
    pub csv: Vec<PathBuf>,

    /// For a global model: only this series (repeatable), one it was trained on or one of
    /// --csv [default: every series of --csv, else every series of the model].
    #[arg(long, value_name = "ID")]
    pub series: Vec<String>,

    #[command(flatten)]
    pub layout: CsvLayout,

    /// Only results, warnings and errors: no notes, no "wrote" lines.
    #[arg(long, short)]
    pub quiet: bool,
}

/// How to read a `--csv` laid out unlike the training CSV: each flag replaces what the
/// model stored, for reading that file only (the model keeps its own names).
#[derive(Debug, Clone, Default, Args)]
pub struct CsvLayout {
    /// Price column of --csv, matched case-insensitively [default: the training CSV's].
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,

    /// Date column of --csv [default: the training CSV's].
    #[arg(long, value_name = "NAME")]
    pub date_column: Option<String>,

    /// chrono format of --csv's dates, e.g. '%d/%m/%Y', or '%s' for Unix seconds
    /// [default: the training CSV's].
    #[arg(long, value_name = "FORMAT")]
    pub date_format: Option<String>,

    /// For a global model: the column naming the series of a long --csv [default: the
    /// training CSV's].
    #[arg(long, value_name = "NAME")]
    pub id_column: Option<String>,
}

impl CsvLayout {
    /// The flags given, as they are spelled, for messages: `--column price`.
    pub fn given(&self) -> Vec<String> {
        [
            ("--column", &self.column),
            ("--date-column", &self.date_column),
            ("--date-format", &self.date_format),
            ("--id-column", &self.id_column),
        ]
        .into_iter()
        .filter_map(|(flag, v)| v.as_ref().map(|v| format!("{flag} {v}")))
        .collect()
    }
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    #[command(flatten)]
    pub source: OpenArgs,

    /// Steps to forecast, in the series' own unit (days, hours, business days, months), 1 to 3650.
    #[arg(long, visible_alias = "days", value_name = "N", default_value_t = 1, allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub steps: u32,

    /// Adds a prediction interval at this level (between 0 and 1; repeatable:
    /// --interval 0.8 --interval 0.95) as lower_80/upper_80 columns. Calibrated on the
    /// validation part when the model was trained (conformal), so that about that share of
    /// outcomes falls inside; see `gruf evaluate` for the coverage measured on held-out data.
    #[arg(long, value_name = "LEVEL")]
    pub interval: Vec<crate::intervals::Level>,

    /// Take the --interval bands from N forecasts made with dropout on (Monte Carlo
    /// dropout; 2 to 10000, e.g. 100) instead of the calibration: each band runs between
    /// the samples' quantiles at each step. Not calibrated (`gruf evaluate --samples N`
    /// measures their coverage); needs a model trained with --dropout above 0. The
    /// forecast itself stays the one without dropout.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(2..=10_000))]
    pub samples: Option<u32>,

    /// Seed of the dropout masks of --samples: the same seed gives the same intervals.
    #[arg(long, value_name = "S", default_value_t = 0, requires = "samples")]
    pub seed: u64,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub source: OpenArgs,

    /// Also score the forecast at horizons 1..N (0 to 365 steps; 0 = off) from every origin,
    /// against the naive and seasonal naive forecasts [default: the model's horizon K when it
    /// predicts several steps at once, else 7].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=365))]
    pub horizon: Option<u32>,

    /// Period of the seasonal naive baseline, in steps [default: the one the model was
    /// trained with, else from the calendar].
    #[arg(long, value_name = "N")]
    pub season: Option<usize>,

    /// Score the model's calibrated intervals at this level (repeatable), beside naive
    /// baselines with intervals from past changes [default: 0.8 and 0.95 when the model
    /// has calibrated intervals].
    #[arg(long, value_name = "LEVEL")]
    pub interval: Vec<crate::intervals::Level>,

    /// Steps ahead at which the intervals are scored, from every origin in the held-out
    /// part [default: 1,7, as far as the calibration reaches].
    #[arg(long, value_name = "N,N..", value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..=365))]
    pub interval_steps: Vec<u32>,

    /// Also score Monte Carlo dropout intervals: from every origin, N forecasts made with
    /// dropout on (2 to 10000, e.g. 100), each interval between their quantiles, in rows
    /// of their own beside the calibrated intervals. Needs a model trained with --dropout
    /// above 0.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(2..=10_000))]
    pub samples: Option<u32>,

    /// Seed of the dropout masks of --samples: the same seed gives the same scores.
    #[arg(long, value_name = "S", default_value_t = 0, requires = "samples")]
    pub seed: u64,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct PlotArgs {
    #[command(flatten)]
    pub source: OpenArgs,

    /// Image file to write: a PNG or an SVG, by its extension (.png or .svg).
    #[arg(long, value_name = "PATH", default_value = "gruf-plot.png")]
    pub out: PathBuf,

    /// Steps of forecast drawn past the end of the data (days, hours, …), 1 to 3650
    /// [default: the model's horizon when it predicts several steps at once, else the
    /// length of its held-out part, else 30].
    #[arg(long, visible_alias = "days", value_name = "N", allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub steps: Option<u32>,

    /// Draw only the last N steps of the data before the forecast (1 to 1000000)
    /// [default: the held-out part, or the recent past].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub history: Option<u32>,

    /// Draw the calibrated intervals at this level (repeatable): a fan around the forecast,
    /// and the one-step intervals over the held-out part with the values outside the widest
    /// marked [default: 0.8 and 0.95 when the model has calibrated intervals].
    #[arg(long, value_name = "LEVEL")]
    pub interval: Vec<crate::intervals::Level>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    pub source: OpenArgs,

    /// The window whose last step is this date [default: the last window of the data, the
    /// one `predict` starts from].
    #[arg(long, value_name = "DATE")]
    pub at: Option<String>,

    /// Image file to write: a PNG or an SVG, by its extension (.png or .svg).
    #[arg(long, value_name = "PATH", default_value = "gruf-gates.png")]
    pub out: PathBuf,

    /// png: the picture, to --out; csv: the numbers instead, to standard output
    /// (layer,gate,unit,step,time,value).
    #[arg(long, value_enum, default_value_t = InspectFormat::Png)]
    pub format: InspectFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InspectFormat {
    /// The heatmaps, drawn to --out.
    Png,
    /// One row per layer, gate, unit and step, to standard output.
    Csv,
}

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// CSV file to write; '-' writes to standard output. An existing file is kept unless
    /// --force.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,

    /// Replace --out if it exists.
    #[arg(long)]
    pub force: bool,

    /// No "wrote" line.
    #[arg(long, short)]
    pub quiet: bool,

    /// Number of daily rows, 2 to 1000000.
    #[arg(long, default_value_t = SampleConfig::default().rows,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(2..=1_000_000))]
    pub rows: usize,

    /// Generator seed (the default makes data/btc-sample.csv).
    #[arg(long, default_value_t = SampleConfig::default().seed)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for, e.g. `gruf completions bash > /etc/bash_completion.d/gruf`
    /// or `gruf completions fish > ~/.config/fish/completions/gruf.fish`.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,

    /// Accepted as on every command; the script is all this prints.
    #[arg(long, short)]
    pub quiet: bool,
}

#[cfg(test)]
mod tests {
    use std::fmt::{Debug, Display};
    use std::str::FromStr;

    use serde::de::value::{Error, StrDeserializer};
    use serde::de::{DeserializeOwned, IntoDeserializer};

    use super::*;

    /// The flag values are the library's values, in its order, each spelled as the library
    /// parses and prints it and as a config file writes it.
    fn mirrors<A, T>(library: &[T])
    where
        A: ValueEnum + Copy,
        T: From<A> + FromStr + Display + DeserializeOwned + PartialEq + Debug + Copy,
        T::Err: Debug,
    {
        let flags = A::value_variants();
        assert_eq!(flags.len(), library.len(), "{library:?}");
        for (&flag, &value) in flags.iter().zip(library) {
            let name = flag.to_possible_value().unwrap().get_name().to_owned();
            assert_eq!(T::from(flag), value, "{name}");
            assert_eq!(name.parse::<T>().unwrap(), value, "{name}");
            assert_eq!(value.to_string(), name);
            let config: StrDeserializer<Error> = name.as_str().into_deserializer();
            assert_eq!(T::deserialize(config).unwrap(), value, "{name}");
        }
    }

    #[test]
    fn flag_values_mirror_the_library_enums() {
        mirrors::<ResampleArg, _>(&Resample::ALL);
        mirrors::<TransformArg, _>(&TransformKind::ALL);
        mirrors::<OptimizerArg, _>(&OptimizerKind::ALL);
        mirrors::<CellArg, _>(&Cell::ALL);
    }

    #[test]
    fn library_enums_refuse_other_names() {
        assert!("MINMAX".parse::<TransformKind>().is_err());
        assert!("sgd".parse::<OptimizerKind>().is_err());
        assert!("GRU".parse::<Cell>().is_err());
        assert!("2d".parse::<Resample>().is_err());
    }
}
