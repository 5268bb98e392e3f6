//! One JSON document per command, pretty-printed: full-precision numbers, dates as
//! `2024-03-31` or RFC 3339 in UTC.

use serde_json::{json, Value};

use crate::evaluation::backtest::Summary;
use crate::evaluation::compare::{Comparison, Measure, Pooled, Verdict};
use crate::evaluation::coverage::Coverage;
use crate::evaluation::evaluate::PanelScores;
use crate::forecast::Forecast;

use super::Renderer;

pub struct Json;

fn pretty(doc: &serde_json::Value) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(doc)? + "\n")
}

/// The intervals' scores: `{method, levels, verdict, pooled_series, rows: [{forecaster,
/// steps, scores, pinball}]}`.
fn coverage_json(c: &Coverage) -> serde_json::Value {
    json!({
        "method": c.method.map(|m| m.name()),
        "levels": c.levels,
        "verdict": c.verdict(),
        "pooled_series": c.pooled_series,
        "rows": c.rows.iter().map(|r| json!({
            "forecaster": r.source.name(&c.calendar),
            "steps": r.steps,
            "scores": r.scores,
            "pinball": r.pinball,
        })).collect::<Vec<_>>(),
    })
}

/// A forecast's steps: `{date, forecast}` and the ends of each band.
fn rows(f: &Forecast) -> Vec<serde_json::Value> {
    let names = f.end_names();
    (f.dates.iter().zip(&f.point).enumerate())
        .map(|(i, (d, v))| {
            let mut row = serde_json::Map::new();
            row.insert("date".into(), json!(f.zone.iso(*d, f.daily)));
            row.insert("forecast".into(), json!(v));
            for (name, end) in names.iter().zip(f.ends(i)) {
                row.insert(name.clone(), json!(end));
            }
            serde_json::Value::Object(row)
        })
        .collect()
}

/// A named panel's backtest: `{folds: [{fold, refit, scores: PanelScores, horizons:
/// [HorizonError], intervals: Coverage}], all: {one_step: Pooled, ahead: [PooledAhead],
/// horizons, intervals}}`: every series of every fold, and all folds pooled. Horizon errors
/// are pooled over the series as MASE (each series' MAE over its one-step MASE scale);
/// `intervals` only when scored.
fn panel_backtest(s: &Summary) -> anyhow::Result<String> {
    let folds: Vec<_> = (s.folds.iter())
        .map(|f| {
            let mut fold = json!({
                "fold": f.fold,
                "refit": f.refit,
                "scores": f.pooled,
                "horizons": f.horizons,
            });
            if let Some(c) = &f.intervals {
                fold["intervals"] = coverage_json(c);
            }
            fold
        })
        .collect();
    let mut all = json!({
        "one_step": s.all.one_step,
        "ahead": s.all.ahead,
        "horizons": s.horizons,
    });
    if let Some(c) = &s.intervals {
        all["intervals"] = coverage_json(c);
    }
    pretty(&json!({ "folds": folds, "all": all }))
}

impl Renderer for Json {
    /// One series: `{column, step, last_date, last_value, forecast: [{date, forecast,
    /// lower_80, upper_80, …}]}` (the ends of each band asked for); a panel's: `{series:
    /// [{id, seen, column, step, last_date, last_value, forecast}]}`.
    fn forecasts(&self, forecasts: &[Forecast]) -> anyhow::Result<String> {
        if let [f] = forecasts {
            if f.id.is_none() {
                let rows = rows(f);
                return pretty(&json!({
                    "column": f.column,
                    "step": f.calendar.unit(),
                    "last_date": f.zone.iso(f.last_date, f.daily),
                    "last_value": f.last_value,
                    "forecast": rows,
                }));
            }
        }
        let series: Vec<_> = forecasts
            .iter()
            .map(|f| {
                let rows = rows(f);
                json!({
                    "id": f.id,
                    "seen": f.seen,
                    "column": f.column,
                    "step": f.calendar.unit(),
                    "last_date": f.zone.iso(f.last_date, f.daily),
                    "last_value": f.last_value,
                    "forecast": rows,
                })
            })
            .collect();
        pretty(&json!({ "series": series }))
    }

    /// One series alone: `{one_step: Evaluation, horizons: [HorizonError], intervals:
    /// Coverage}` (`intervals` only when scored; its `method` null for a model without a
    /// calibration, scored on its MC dropout intervals alone). A panel: `{series: [{id,
    /// seen, one_step, ahead, horizons, mase_scale, intervals}], one_step: Pooled, ahead:
    /// [PooledAhead], horizons: [PooledHorizon], intervals}`.
    fn evaluation(&self, scores: &PanelScores) -> anyhow::Result<String> {
        if let Some(one) = scores.alone() {
            let mut doc = json!({ "one_step": one.one_step, "horizons": one.horizons });
            if let Some(c) = &one.intervals {
                doc["intervals"] = coverage_json(c);
            }
            return pretty(&doc);
        }
        let mut doc = serde_json::to_value(scores)?;
        for (i, s) in scores.series.iter().enumerate() {
            if let Some(c) = &s.intervals {
                doc["series"][i]["intervals"] = coverage_json(c);
            }
        }
        if let Some(c) = &scores.intervals {
            doc["intervals"] = coverage_json(c);
        }
        pretty(&doc)
    }

    /// `{n, totals: [{forecaster, mae}], horizons: [HorizonError], folds: [{fold,
    /// trained_to, refit, evaluation, horizons}], intervals: Coverage}` for one series; a
    /// named panel's is [`panel_backtest`]'s.
    fn backtest(&self, s: &Summary) -> anyhow::Result<String> {
        if s.named() {
            return panel_backtest(s);
        }
        let folds: Vec<_> = (s.folds.iter())
            .map(|f| {
                let one = f.only();
                json!({
                    "fold": f.fold,
                    "trained_to": one.trained_to,
                    "refit": f.refit,
                    "evaluation": one.scores.one_step,
                    "horizons": one.scores.horizons,
                })
            })
            .collect();
        let totals: Vec<_> = s
            .totals
            .iter()
            .map(|(n, mae)| json!({ "forecaster": n, "mae": mae }))
            .collect();
        let mut doc = json!({
            "n": s.n,
            "totals": totals,
            "horizons": s.horizons,
            "folds": folds,
        });
        if let Some(c) = &s.intervals {
            doc["intervals"] = coverage_json(c);
        }
        pretty(&doc)
    }

    /// `{held_out: {unit, n, first_date, last_date, naive_mae}, cells: [{cell, parameters,
    /// seeds, seconds_per_epoch, kept_epoch_min, kept_epoch_max, val_loss, test_mae,
    /// test_mae_sd, mae_over_naive, best_seed}], runs: [{cell, seed, parameters, epochs,
    /// kept_epoch, stopped_early, seconds_per_epoch, val_loss, val_rmse, test_mae,
    /// mae_over_naive}], verdict: {best, others: [{cell, gap, spread, beyond_spread}],
    /// sentence}}`. Means are over seeds; `test_mae_sd` (and `spread`, `beyond_spread`) are
    /// `null` with one seed. On a panel the score is the mean one-step MASE over the
    /// series (`naive_mase`, `test_mase`, `test_mase_sd`, `mase_over_naive`), `held_out`
    /// says how many `series`, and cells and runs add `test_smape`, `ahead_smape` and
    /// `ahead_mase` (pooled over the series).
    fn comparison(&self, c: &Comparison) -> anyhow::Result<String> {
        let h = &c.held_out;
        let name = h.measure.name().to_lowercase();
        let (test, sd, over) = (
            format!("test_{name}"),
            format!("test_{name}_sd"),
            format!("{name}_over_naive"),
        );
        let panel = h.measure == Measure::MeanMase;
        let add_pooled = |doc: &mut Value, p: Option<Pooled>| {
            if let (true, Some(p)) = (panel, p) {
                doc["test_smape"] = json!(p.smape);
                doc["ahead_smape"] = json!(p.ahead_smape);
                doc["ahead_mase"] = json!(p.ahead_mase);
            }
        };
        let cells: Vec<_> = (c.cells.iter())
            .map(|s| {
                let mut doc = json!({
                    "cell": s.cell.name(),
                    "parameters": s.parameters,
                    "seeds": s.seeds,
                    "seconds_per_epoch": s.seconds_per_epoch,
                    "kept_epoch_min": s.kept_epochs.0,
                    "kept_epoch_max": s.kept_epochs.1,
                    "val_loss": s.val_loss,
                    test.as_str(): s.test,
                    sd.as_str(): s.test_sd,
                    over.as_str(): c.over_naive(s.test),
                    "best_seed": s.best_seed,
                });
                add_pooled(&mut doc, s.pooled);
                doc
            })
            .collect();
        let runs: Vec<_> = (c.runs.iter())
            .map(|r| {
                let mut doc = json!({
                    "cell": r.cell.name(),
                    "seed": r.seed,
                    "parameters": r.parameters,
                    "epochs": r.epochs,
                    "kept_epoch": r.kept_epoch,
                    "stopped_early": r.stopped_early,
                    "seconds_per_epoch": r.seconds_per_epoch,
                    "val_loss": r.val_loss,
                    "val_rmse": r.val_rmse,
                    test.as_str(): r.test,
                    over.as_str(): c.over_naive(r.test),
                });
                add_pooled(&mut doc, r.pooled);
                if !r.series.is_empty() {
                    doc["series"] = (r.series.iter())
                        .map(|(id, mase)| json!({ "id": id, "test_mase": mase }))
                        .collect();
                }
                doc
            })
            .collect();
        let (best, others) = match &c.verdict {
            Verdict::OneCell(cell) => (cell, Vec::new()),
            Verdict::Compared { best, others } => (best, others.clone()),
        };
        let others: Vec<_> = (others.iter())
            .map(|g| {
                json!({
                    "cell": g.cell.name(),
                    "gap": g.gap,
                    "spread": g.spread,
                    "beyond_spread": g.beyond_spread(),
                })
            })
            .collect();
        let mut held_out = json!({
            "unit": h.calendar.unit(),
            "n": h.n,
            "first_date": h.first_date,
            "last_date": h.last_date,
            format!("naive_{name}"): h.naive,
        });
        if panel {
            held_out["series"] = json!(h.series);
        }
        pretty(&json!({
            "held_out": held_out,
            "cells": cells,
            "runs": runs,
            "verdict": {
                "best": best.name(),
                "others": others,
                "sentence": c.sentence(),
            },
        }))
    }
}
