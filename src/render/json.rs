//! One JSON document per command, pretty-printed: full-precision numbers, dates as
//! `2024-03-31` or RFC 3339 in UTC.

use serde_json::json;

use crate::backtest::{PanelSummary, Summary};
use crate::data::format_iso;
use crate::evaluate::{Evaluation, HorizonError, PanelScores};
use crate::forecast::Forecast;

use super::Renderer;

pub struct Json;

fn pretty(doc: &serde_json::Value) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(doc)? + "\n")
}

impl Renderer for Json {
    /// `{column, step, last_date, last_value, forecast: [{date, forecast}]}`.
    fn forecast(&self, f: &Forecast) -> anyhow::Result<String> {
        let rows: Vec<_> = f
            .dates
            .iter()
            .zip(&f.point)
            .map(|(d, v)| json!({ "date": format_iso(*d, f.daily), "forecast": v }))
            .collect();
        pretty(&json!({
            "column": f.column,
            "step": f.calendar.unit(),
            "last_date": format_iso(f.last_date, f.daily),
            "last_value": f.last_value,
            "forecast": rows,
        }))
    }

    /// `{series: [{id, column, step, last_date, last_value, forecast}]}`.
    fn forecasts(&self, forecasts: &[Forecast]) -> anyhow::Result<String> {
        let series: Vec<_> = forecasts
            .iter()
            .map(|f| {
                let rows: Vec<_> = f
                    .dates
                    .iter()
                    .zip(&f.point)
                    .map(|(d, v)| json!({ "date": format_iso(*d, f.daily), "forecast": v }))
                    .collect();
                json!({
                    "id": f.id,
                    "column": f.column,
                    "step": f.calendar.unit(),
                    "last_date": format_iso(f.last_date, f.daily),
                    "last_value": f.last_value,
                    "forecast": rows,
                })
            })
            .collect();
        pretty(&json!({ "series": series }))
    }

    /// `{one_step: Evaluation, horizons: [HorizonError]}`.
    fn evaluation(&self, e: &Evaluation, horizons: &[HorizonError]) -> anyhow::Result<String> {
        pretty(&json!({ "one_step": e, "horizons": horizons }))
    }

    /// `{n, totals: [{forecaster, mae}], horizons: [HorizonError], folds: [Fold]}`.
    fn backtest(&self, s: &Summary) -> anyhow::Result<String> {
        let totals: Vec<_> = s
            .totals
            .iter()
            .map(|(n, mae)| json!({ "forecaster": n, "mae": mae }))
            .collect();
        pretty(&json!({
            "n": s.n,
            "totals": totals,
            "horizons": s.horizons,
            "folds": s.folds,
        }))
    }

    /// `{series: [{id, one_step: Evaluation, ahead: {steps, m, rows}}], one_step: Pooled,
    /// ahead: [PooledAhead]}`.
    fn panel(&self, scores: &PanelScores) -> anyhow::Result<String> {
        pretty(&serde_json::to_value(scores)?)
    }

    /// `{folds: [{fold, refit, scores: PanelScores}], all: {one_step: Pooled, ahead:
    /// [PooledAhead]}}`: every series of every fold, and all folds pooled.
    fn panel_backtest(&self, s: &PanelSummary) -> anyhow::Result<String> {
        pretty(&json!({
            "folds": s.folds,
            "all": { "one_step": s.all.one_step, "ahead": s.all.ahead },
        }))
    }
}
