//! One renderer per output format, serving every command: a command computes its results
//! (a [`Forecast`], an [`Evaluation`] with its horizon errors, a backtest [`Summary`], a
//! [`Comparison`] of cells) and
//! hands them to the renderer the user chose with `--format`. Each format's choices (how
//! numbers look, which columns a CSV has, the JSON layout) live in its own module, written
//! once for all commands, as hyperfine's exporters do.

mod csv;
mod json;
pub mod table;

use crate::evaluation::backtest::Summary;
use crate::evaluation::compare::Comparison;
use crate::evaluation::evaluate::PanelScores;
use crate::forecast::Forecast;

pub use self::csv::Csv;
pub use self::json::Json;
pub use self::table::Table;

/// Turns a command's results into the text printed on stdout.
pub trait Renderer {
    /// Forecasts, one per series: the one series of a plain CSV alone, the series of a
    /// panel each with its id and whether the model was trained on it.
    fn forecasts(&self, forecasts: &[Forecast]) -> anyhow::Result<String>;
    /// Held-out parts scored: one series alone (its one-step evaluation and, when asked
    /// for, the errors by horizon and the intervals' scores), or each series of a panel
    /// and the pooled scores.
    fn evaluation(&self, scores: &PanelScores) -> anyhow::Result<String>;
    /// A backtest's folds: one series' folds and totals, or a named panel's folds pooled
    /// over the series, then all folds.
    fn backtest(&self, summary: &Summary) -> anyhow::Result<String>;
    /// `compare`: each cell over its seeds, each run, and whether the cells differ by more
    /// than the seeds do.
    fn comparison(&self, c: &Comparison) -> anyhow::Result<String>;
}
