//! Comma-separated values with a header row, for spreadsheets and scripts. Every number at
//! full precision: scores as the shortest text that reads back as the same f64, forecasts
//! with six decimals (a price to a millionth, as gruf always wrote them) or, below 1, seven
//! significant digits (as many as the network's f32 arithmetic carries: 3.5e-6 keeps its
//! digits); dates as `2024-03-31` or RFC 3339 in UTC. A command with several tables
//! writes them as one CSV with a column that says which table a row belongs to, so nothing
//! is dropped.

use std::fmt::Display;

use crate::evaluation::backtest::Summary;
use crate::evaluation::compare::{Comparison, Measure, Pooled};
use crate::evaluation::coverage::Coverage;
use crate::evaluation::evaluate::PanelScores;
use crate::forecast::Forecast;
use crate::scores::{Contender, Evaluation, HorizonError, Metrics};

use super::Renderer;

pub struct Csv;

/// A forecast value: six decimals, or seven significant digits below 1 (a rate of 3.5e-6
/// prints as 0.000003512346, not 0.000004).
fn value(v: f64) -> String {
    let decimals = if v == 0.0 || !v.is_finite() {
        6
    } else {
        (6.0 - v.abs().log10().floor()).clamp(6.0, 20.0) as usize
    };
    format!("{v:.decimals$}")
}

/// The metric columns every evaluation row carries.
const METRICS: [&str; 6] = ["mae", "rmse", "mape", "smape", "mase", "directional"];

/// The columns of an interval row: its level (0.8), coverage (%), mean width, MSIS, and
/// the pinball loss of every level's ends (the same on each level's row).
const INTERVALS: [&str; 5] = ["level", "coverage", "width", "msis", "pinball"];

impl Renderer for Csv {
    /// One series: `date,forecast,<band ends>`; a panel's: `series,date,forecast,<band
    /// ends>,seen`, `seen` false for a series the model was not trained on.
    fn forecasts(&self, forecasts: &[Forecast]) -> anyhow::Result<String> {
        if let [f] = forecasts {
            if f.id.is_none() {
                let mut w = csv::Writer::from_writer(Vec::new());
                let mut header = vec!["date".to_string(), "forecast".into()];
                header.extend(f.end_names());
                w.write_record(&header)?;
                for (i, (d, v)) in f.dates.iter().zip(&f.point).enumerate() {
                    let mut row = vec![f.zone.iso(*d, f.daily), value(*v)];
                    row.extend(f.ends(i).iter().map(|&e| value(e)));
                    w.write_record(&row)?;
                }
                return Ok(String::from_utf8(w.into_inner()?)?);
            }
        }
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["series".to_string(), "date".into(), "forecast".into()];
        header.extend(
            forecasts
                .first()
                .map(Forecast::end_names)
                .unwrap_or_default(),
        );
        header.push("seen".into());
        w.write_record(&header)?;
        for f in forecasts {
            let id = f.id.as_deref().unwrap_or("");
            for (i, (d, v)) in f.dates.iter().zip(&f.point).enumerate() {
                let mut row = vec![id.to_string(), f.zone.iso(*d, f.daily), value(*v)];
                row.extend(f.ends(i).iter().map(|&e| value(e)));
                row.push(f.seen.to_string());
                w.write_record(&row)?;
            }
        }
        Ok(String::from_utf8(w.into_inner()?)?)
    }

    /// One series alone: [`one_evaluation`]. A panel: [`panel_evaluation`].
    fn evaluation(&self, scores: &PanelScores) -> anyhow::Result<String> {
        match scores.alone() {
            Some(one) => one_evaluation(&one.one_step, &one.horizons, one.intervals.as_ref()),
            None => panel_evaluation(scores),
        }
    }

    /// One row per fold and forecaster (one-step, every metric), then for a model that
    /// predicts K > 1 steps one per fold, horizon and forecaster (`model at horizon 3`, MAE
    /// only, `n` = origins), then one per forecaster over all folds (`fold` = `all`, MAE
    /// only). A named panel's rows are [`panel_backtest`]'s.
    fn backtest(&self, s: &Summary) -> anyhow::Result<String> {
        if s.named() {
            return panel_backtest(s);
        }
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = vec![
            "fold",
            "first_date",
            "last_date",
            "trained_to",
            "refit",
            "n",
            "forecaster",
        ];
        header.extend(METRICS);
        let pad = if s.intervals.is_some() {
            INTERVALS.len()
        } else {
            0
        };
        header.extend(&INTERVALS[..pad]);
        let width = header.len();
        let padded = |mut row: Vec<String>| {
            row.resize(width, String::new());
            row
        };
        w.write_record(&header)?;
        for f in &s.folds {
            let e = &f.only().scores.one_step;
            for (name, m) in &e.rows {
                let mut row = vec![
                    f.fold.to_string(),
                    e.first_date.clone(),
                    e.last_date.clone(),
                    f.only().trained_to.clone(),
                    f.refit.to_string(),
                    e.n.to_string(),
                    name.to_string(),
                ];
                row.extend(metric_cells(m));
                w.write_record(padded(row))?;
            }
        }
        for f in &s.folds {
            let (e, trained_to) = (&f.only().scores.one_step, &f.only().trained_to);
            for r in &f.only().scores.horizons {
                for (name, mae) in [
                    (Contender::Model, r.model_mae),
                    (Contender::Naive, r.naive_mae),
                ] {
                    let mut row = vec![
                        f.fold.to_string(),
                        e.first_date.clone(),
                        e.last_date.clone(),
                        trained_to.clone(),
                        f.refit.to_string(),
                        r.origins.to_string(),
                        format!("{name} at horizon {}", r.horizon),
                    ];
                    row.extend(mae_cells(mae));
                    w.write_record(padded(row))?;
                }
            }
        }
        let first = s.folds[0].only().scores.one_step.first_date.clone();
        let last = (s.folds[s.folds.len() - 1].only().scores.one_step.last_date).clone();
        for (name, mae) in &s.totals {
            let mut row = vec![
                "all".to_string(),
                first.clone(),
                last.clone(),
                String::new(),
                String::new(),
                s.n.to_string(),
                name.to_string(),
            ];
            row.extend(mae_cells(*mae));
            w.write_record(padded(row))?;
        }
        // Interval rows over all folds: `fold` = `all`, `forecaster` and `n`, then the
        // interval columns.
        for r in s
            .intervals
            .iter()
            .flat_map(|c| c.rows.iter().map(move |r| (c, r)))
        {
            let (c, r) = r;
            for sc in &r.scores {
                let mut row = vec![String::new(); width - pad];
                row[0] = "all".into();
                row[5] = sc.n.to_string();
                row[6] = format!(
                    "{}, {} steps ahead, intervals",
                    r.source.name(&c.calendar),
                    r.steps
                );
                row.extend(interval_cells(r, sc));
                w.write_record(&row)?;
            }
        }
        Ok(String::from_utf8(w.into_inner()?)?)
    }

    /// One row per cell (`table` = `cell`: means over its seeds; `seed`, `epochs` and
    /// `kept_epoch` empty, `test_mae_sd` too with one seed), then one per run (`table` =
    /// `run`, `test_mae_sd` empty). On a panel the score is the mean one-step MASE over
    /// the series (`test_mase`, `test_mase_sd`, `mase_over_naive`), followed by the other
    /// pooled scores (`test_smape`, `ahead_smape`, `ahead_mase`); then one row per run and
    /// series (`table` = `series`: that series' one-step MASE in `test_mase`, its id in the
    /// last column, `series`).
    fn comparison(&self, c: &Comparison) -> anyhow::Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let measure = c.held_out.measure;
        let name = measure.name().to_lowercase();
        let (test, sd, over) = (
            format!("test_{name}"),
            format!("test_{name}_sd"),
            format!("{name}_over_naive"),
        );
        let mut header = vec![
            "table",
            "cell",
            "seed",
            "parameters",
            "epochs",
            "kept_epoch",
            "seconds_per_epoch",
            "val_loss",
            &test,
            &sd,
            &over,
        ];
        let panel = measure == Measure::MeanMase;
        if panel {
            header.extend(["test_smape", "ahead_smape", "ahead_mase", "series"]);
        }
        w.write_record(&header)?;
        let num = |x: f64| format!("{x}");
        let pooled = |p: Option<Pooled>| -> Vec<String> {
            let cell = |v: Option<f64>| v.map_or(String::new(), num);
            match (panel, p) {
                (false, _) => Vec::new(),
                (true, None) => vec![String::new(); 4],
                (true, Some(p)) => vec![
                    num(p.smape),
                    cell(p.ahead_smape),
                    cell(p.ahead_mase),
                    String::new(),
                ],
            }
        };
        for s in &c.cells {
            let mut row = vec![
                "cell".to_string(),
                s.cell.name().into(),
                String::new(),
                s.parameters.to_string(),
                String::new(),
                String::new(),
                num(s.seconds_per_epoch),
                num(s.val_loss),
                num(s.test),
                s.test_sd.map_or(String::new(), num),
                num(c.over_naive(s.test)),
            ];
            row.extend(pooled(s.pooled));
            w.write_record(&row)?;
        }
        for r in &c.runs {
            let mut row = vec![
                "run".to_string(),
                r.cell.name().into(),
                r.seed.to_string(),
                r.parameters.to_string(),
                r.epochs.to_string(),
                r.kept_epoch.to_string(),
                num(r.seconds_per_epoch),
                num(r.val_loss),
                num(r.test),
                String::new(),
                num(c.over_naive(r.test)),
            ];
            row.extend(pooled(r.pooled));
            w.write_record(&row)?;
        }
        // A panel's runs, series by series: the one-step MASE of each.
        for r in &c.runs {
            for (id, mase) in &r.series {
                let mut row = vec![
                    "series".to_string(),
                    r.cell.name().into(),
                    r.seed.to_string(),
                ];
                row.resize(8, String::new());
                row.push(num(*mase));
                row.resize(header.len() - 1, String::new());
                row.push(id.clone());
                w.write_record(&row)?;
            }
        }
        Ok(String::from_utf8(w.into_inner()?)?)
    }
}

/// The [`METRICS`] cells of one forecaster (MAPE empty when undefined, directional empty
/// when it never moves).
fn metric_cells(m: &Metrics) -> Vec<String> {
    let cell = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    [
        Some(m.mae),
        Some(m.rmse),
        m.mape,
        Some(m.smape),
        Some(m.mase),
        m.directional,
    ]
    .into_iter()
    .map(cell)
    .collect()
}

/// The [`METRICS`] cells where only the MAE is known: the others empty.
fn mae_cells(mae: f64) -> Vec<String> {
    let mut cells = vec![String::new(); METRICS.len()];
    cells[0] = mae.to_string();
    cells
}

/// The [`METRICS`] cells where only sMAPE and MASE are known: the others empty.
fn smape_mase_cells(smape: f64, mase: f64) -> Vec<String> {
    let mut cells = vec![String::new(); METRICS.len()];
    cells[3] = smape.to_string();
    cells[4] = mase.to_string();
    cells
}

/// The [`METRICS`] cells where only the MASE is known: the others empty.
fn mase_cells(mase: f64) -> Vec<String> {
    let mut cells = vec![String::new(); METRICS.len()];
    cells[4] = mase.to_string();
    cells
}

/// An interval row's cells under [`INTERVALS`]: level `s` of row `r`.
fn interval_cells(
    r: &crate::evaluation::coverage::Row,
    s: &crate::intervals::scores::IntervalScores,
) -> [String; 5] {
    [
        s.level.get().to_string(),
        s.coverage.to_string(),
        s.width.to_string(),
        s.msis.to_string(),
        r.pinball.to_string(),
    ]
}

/// One series' evaluation: the one-step rows (`table` = `one_step`, every metric) and the horizon rows
/// (`table` = `horizon`, the MAE of each forecaster at each horizon).
/// With intervals, `table` = `interval` rows (one per step ahead, forecaster and
/// level) fill the columns `level` to `pinball`, which the other rows leave empty.
fn one_evaluation(
    e: &Evaluation,
    horizons: &[HorizonError],
    intervals: Option<&Coverage>,
) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["table", "forecaster", "horizon", "n"];
    header.extend(METRICS);
    let interval_columns = if intervals.is_some() {
        INTERVALS.len()
    } else {
        0
    };
    header.extend(&INTERVALS[..interval_columns]);
    let w_row = |w: &mut csv::Writer<Vec<u8>>, mut row: Vec<String>| {
        row.resize(header.len(), String::new());
        w.write_record(&row)
    };
    w.write_record(&header)?;
    for (name, m) in &e.rows {
        let mut row = vec![
            "one_step".to_string(),
            name.to_string(),
            "1".into(),
            e.n.to_string(),
        ];
        row.extend(metric_cells(m));
        w_row(&mut w, row)?;
    }
    for r in horizons {
        for (name, mae) in horizon_maes(r, e.season) {
            let mut row = vec![
                "horizon".to_string(),
                name.to_string(),
                r.horizon.to_string(),
                r.origins.to_string(),
            ];
            row.extend(mae_cells(mae));
            w_row(&mut w, row)?;
        }
    }
    if let Some(c) = intervals {
        for r in &c.rows {
            for s in &r.scores {
                let mut row = vec![
                    "interval".to_string(),
                    r.source.name(&c.calendar),
                    r.steps.to_string(),
                    s.n.to_string(),
                ];
                row.resize(4 + METRICS.len(), String::new());
                row.extend(interval_cells(r, s));
                w_row(&mut w, row)?;
            }
        }
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// A panel's scores: per series, then pooled (`series` empty): `series,table,forecaster,n`,
/// the metrics, `model_better` (pooled rows: the series where the model's MASE is lower),
/// `horizon` (steps ahead; empty for `in_one_go`), `seen` (false for a series the model was
/// not trained on; empty on pooled rows), then with intervals their columns. `table` is `one_step` (every metric; pooled: sMAPE and MASE
/// means), `horizon` (a series': MAE, `n` origins; pooled: MASE, the MAE over each
/// series' training naive error, `n` series), `in_one_go` (the held-out part forecast from
/// its start: sMAPE and MASE scaled by the seasonal naive error; `n` steps, pooled: series)
/// or `interval` (each series', then pooled over the series: `n` targets).
pub fn panel_evaluation(scores: &PanelScores) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["series", "table", "forecaster", "n"];
    header.extend(METRICS);
    header.extend(["model_better", "horizon", "seen"]);
    let intervals = scores.intervals.is_some();
    if intervals {
        header.extend(INTERVALS);
    }
    w.write_record(&header)?;
    let width = header.len();
    let mut write = |lead: [String; 6],
                     cells: Vec<String>,
                     better: Option<usize>,
                     tail: Option<[String; 5]>| {
        let [series, seen, table, forecaster, horizon, n] = lead;
        let mut row = vec![series, table, forecaster, n];
        row.extend(cells);
        row.extend([
            better.map_or(String::new(), |b| b.to_string()),
            horizon,
            seen,
        ]);
        if let Some(tail) = tail {
            row.extend(tail);
        }
        row.resize(width, String::new());
        w.write_record(&row)
    };
    let lead = |series: &str, seen: &str, table: &str, name: &dyn Display, h: String, n: usize| {
        [
            series.to_string(),
            seen.to_string(),
            table.to_string(),
            name.to_string(),
            h,
            n.to_string(),
        ]
    };
    let season = scores.series.first().and_then(|s| s.one_step.season);
    for s in &scores.series {
        let (id, seen) = (s.id.as_str(), s.seen.to_string());
        for (name, m) in &s.one_step.rows {
            let l = lead(id, &seen, "one_step", name, "1".into(), s.one_step.n);
            write(l, metric_cells(m), None, None)?;
        }
        for r in &s.horizons {
            for (name, mae) in horizon_maes(r, s.one_step.season) {
                let l = lead(
                    id,
                    &seen,
                    "horizon",
                    &name,
                    r.horizon.to_string(),
                    r.origins,
                );
                write(l, mae_cells(mae), None, None)?;
            }
        }
        for (name, e) in s.ahead.iter().flat_map(|a| a.rows.iter()) {
            let steps = s.ahead.as_ref().map_or(0, |a| a.steps);
            let l = lead(id, &seen, "in_one_go", name, String::new(), steps);
            write(l, smape_mase_cells(e.smape, e.mase), None, None)?;
        }
        for (c, r) in s
            .intervals
            .iter()
            .flat_map(|c| c.rows.iter().map(move |r| (c, r)))
        {
            for sc in &r.scores {
                let name = r.source.name(&c.calendar);
                let l = lead(id, &seen, "interval", &name, r.steps.to_string(), sc.n);
                write(
                    l,
                    vec![String::new(); METRICS.len()],
                    None,
                    Some(interval_cells(r, sc)),
                )?;
            }
        }
    }
    for r in &scores.one_step.rows {
        let l = lead("", "", "one_step", &r.forecaster, "1".into(), r.series);
        write(l, smape_mase_cells(r.smape, r.mase), r.model_better, None)?;
    }
    for r in &scores.horizons {
        let mut rows = vec![
            (Contender::Model, r.model_mase),
            (Contender::Naive, r.naive_mase),
        ];
        if let (Some(mase), Some(m)) = (r.seasonal_naive_mase, season) {
            rows.push((Contender::SeasonalNaive(m), mase));
        }
        for (name, mase) in rows {
            let l = lead("", "", "horizon", &name, r.horizon.to_string(), r.series);
            write(l, mase_cells(mase), None, None)?;
        }
    }
    for r in &scores.ahead {
        let l = lead("", "", "in_one_go", &r.forecaster, String::new(), r.series);
        write(l, smape_mase_cells(r.smape, r.mase), r.model_better, None)?;
    }
    for (c, r) in (scores.intervals.iter()).flat_map(|c| c.rows.iter().map(move |r| (c, r))) {
        for sc in &r.scores {
            let name = r.source.name(&c.calendar);
            let l = lead("", "", "interval", &name, r.steps.to_string(), sc.n);
            write(
                l,
                vec![String::new(); METRICS.len()],
                None,
                Some(interval_cells(r, sc)),
            )?;
        }
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// A horizon row's MAEs by forecaster: the model's, naive's and, with a season `m`, the
/// seasonal naive's.
fn horizon_maes(r: &HorizonError, season: Option<usize>) -> Vec<(Contender, f64)> {
    let mut maes = vec![
        (Contender::Model, r.model_mae),
        (Contender::Naive, r.naive_mae),
    ];
    if let (Some(s), Some(m)) = (r.seasonal_naive_mae, season) {
        maes.push((Contender::SeasonalNaive(m), s));
    }
    maes
}

/// A named panel's backtest: the pooled rows of each fold, then the pooled rows
/// of all folds, behind a `fold` column (empty for all folds). For a model that predicts
/// K > 1 steps, `table` = `horizon` rows pool the series' errors by horizon (`model at
/// horizon 3`: each series' MAE over its one-step MASE scale, in the `mase` column; `n` =
/// origins); with intervals, `table` = `interval` rows (one per forecaster, steps ahead
/// and level, pooled over the series: `n` targets) fill the columns `level` to `pinball`.
fn panel_backtest(s: &Summary) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = panel_header(&["fold"]);
    let pad = if s.intervals.is_some() {
        INTERVALS.len()
    } else {
        0
    };
    header.extend(&INTERVALS[..pad]);
    let width = header.len();
    w.write_record(&header)?;
    let extras = |w: &mut csv::Writer<Vec<u8>>,
                  fold: String,
                  horizons: &[HorizonError],
                  intervals: Option<&Coverage>|
     -> anyhow::Result<()> {
        for r in horizons {
            for (name, mase) in [
                (Contender::Model, r.model_mae),
                (Contender::Naive, r.naive_mae),
            ] {
                let mut row = vec![
                    fold.clone(),
                    String::new(),
                    "horizon".into(),
                    format!("{name} at horizon {}", r.horizon),
                    r.origins.to_string(),
                ];
                row.resize(width, String::new());
                // After fold, series, table, forecaster and n: the `mase` metric.
                row[5 + 4] = mase.to_string();
                w.write_record(&row)?;
            }
        }
        for (c, r) in intervals
            .iter()
            .flat_map(|c| c.rows.iter().map(move |r| (c, r)))
        {
            for sc in &r.scores {
                let mut row = vec![
                    fold.clone(),
                    String::new(),
                    "interval".into(),
                    format!(
                        "{}, {} step{} ahead",
                        r.source.name(&c.calendar),
                        r.steps,
                        crate::text::plural(r.steps)
                    ),
                    sc.n.to_string(),
                ];
                row.resize(width - pad, String::new());
                row.extend(interval_cells(r, sc));
                w.write_record(&row)?;
            }
        }
        Ok(())
    };
    for f in &s.folds {
        panel_rows(&mut w, &[f.fold.to_string()], &f.pooled, pad)?;
        extras(
            &mut w,
            f.fold.to_string(),
            &f.horizons,
            f.intervals.as_ref(),
        )?;
    }
    let all = crate::evaluation::evaluate::PanelScores {
        series: Vec::new(),
        ..s.all.clone()
    };
    panel_rows(&mut w, &[String::new()], &all, pad)?;
    extras(&mut w, String::new(), &s.horizons, s.intervals.as_ref())?;
    Ok(String::from_utf8(w.into_inner()?)?)
}

fn panel_header<'a>(first: &[&'a str]) -> Vec<&'a str> {
    let mut header = first.to_vec();
    header.extend(["series", "table", "forecaster", "n"]);
    header.extend(METRICS);
    header.push("model_better");
    header
}

/// A global model's scores as CSV rows behind `first`: per series and table, then pooled
/// (`series` empty). `n` is the targets (`one_step`) or steps (`in_one_go`) of a series'
/// row, and the series a pooled row averages over.
/// The rows of a global model's scores after the `first` cells, each padded with `pad`
/// empty cells (the columns of the interval rows that follow).
fn panel_rows(
    w: &mut csv::Writer<Vec<u8>>,
    first: &[String],
    scores: &PanelScores,
    pad: usize,
) -> anyhow::Result<()> {
    let mut write = |series: &str,
                     table: &str,
                     forecaster: &Contender,
                     n: usize,
                     cells: Vec<String>,
                     better: Option<usize>| {
        let mut row = first.to_vec();
        row.extend([
            series.to_string(),
            table.into(),
            forecaster.to_string(),
            n.to_string(),
        ]);
        row.extend(cells);
        row.push(better.map_or(String::new(), |b| b.to_string()));
        row.extend(std::iter::repeat_n(String::new(), pad));
        w.write_record(&row)
    };
    for s in &scores.series {
        for (name, m) in &s.one_step.rows {
            write(&s.id, "one_step", name, s.one_step.n, metric_cells(m), None)?;
        }
        for (a, (name, e)) in s
            .ahead
            .iter()
            .flat_map(|a| a.rows.iter().map(move |r| (a, r)))
        {
            write(
                &s.id,
                "in_one_go",
                name,
                a.steps,
                smape_mase_cells(e.smape, e.mase),
                None,
            )?;
        }
    }
    for r in &scores.one_step.rows {
        write(
            "",
            "one_step",
            &r.forecaster,
            r.series,
            smape_mase_cells(r.smape, r.mase),
            r.model_better,
        )?;
    }
    for r in &scores.ahead {
        write(
            "",
            "in_one_go",
            &r.forecaster,
            r.series,
            smape_mase_cells(r.smape, r.mase),
            r.model_better,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::value;

    #[test]
    fn forecast_values_keep_six_decimals_and_seven_significant_digits() {
        assert_eq!(value(10200.228705878331), "10200.228706");
        assert_eq!(value(123.456789), "123.456789");
        assert_eq!(value(0.0), "0.000000");
        assert_eq!(value(0.5), "0.5000000");
        assert_eq!(value(3.512345678912e-6), "0.000003512346");
        assert_eq!(value(-2.5e-9), "-0.000000002500000");
    }
}
