//! One renderer per output format, serving every command: a command computes its results
//! (a [`Forecast`], an [`Evaluation`] with its horizon errors, a backtest [`Summary`], a
//! [`Comparison`] of cells) and
//! hands them to the renderer the user chose with `--format`. Each format's choices (how
//! numbers look, which columns a CSV has, the JSON layout) live in its own module, written
//! once for all commands, as hyperfine's exporters do.

mod csv;
mod json;
pub mod table;

use crate::backtest::Summary;
use crate::compare::Comparison;
use crate::coverage::Coverage;
use crate::evaluate::{Evaluation, HorizonError, PanelScores};
use crate::forecast::Forecast;

pub use self::csv::Csv;
pub use self::json::Json;
pub use self::table::Table;

/// Turns a command's results into the text printed on stdout.
pub trait Renderer {
    fn forecast(&self, forecast: &Forecast) -> anyhow::Result<String>;
    /// The forecasts of several series of a global model, the series' id first.
    fn forecasts(&self, forecasts: &[Forecast]) -> anyhow::Result<String>;
    /// The one-step evaluation and, when asked for, the errors by horizon and the
    /// intervals' scores.
    fn evaluation(
        &self,
        e: &Evaluation,
        horizons: &[HorizonError],
        intervals: Option<&Coverage>,
    ) -> anyhow::Result<String>;
    /// A backtest's folds: one series' folds and totals, or a named panel's folds pooled
    /// over the series, then all folds.
    fn backtest(&self, summary: &Summary) -> anyhow::Result<String>;
    /// A global model's held-out parts: each series' scores, then the pooled ones, and the
    /// intervals' scores pooled over the series when there are some.
    fn panel(&self, scores: &PanelScores, intervals: Option<&Coverage>) -> anyhow::Result<String>;
    /// `compare`: each cell over its seeds, each run, and whether the cells differ by more
    /// than the seeds do.
    fn comparison(&self, c: &Comparison) -> anyhow::Result<String>;
}
