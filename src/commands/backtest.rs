//! `gruf backtest`: walk-forward folds on an expanding window, each scored like `evaluate`.

use crate::backtest::{fold_bounds, Cut, Fold, Summary};
use crate::cli::{BacktestArgs, Format};
use crate::data::{format_iso, format_time, human_date, load_csv};
use crate::error::GrufError;
use crate::evaluate::{money, naive_scale, Scoring};
use crate::forecast::Predictor;
use crate::output::{plural, print};
use crate::pipeline::{self, Prepared};

use super::{
    device, mae_cells, metric_cells, random_seed, report_loaded, resolve, run_training, season_for,
};

pub(super) fn run(args: BacktestArgs) -> anyhow::Result<()> {
    let mut config = resolve(&args.options)?;
    let quiet = args.options.quiet;
    let seed = config.train.seed.unwrap_or_else(random_seed);
    config.train.seed = Some(seed);
    let csv = &args.csv;
    let loaded = load_csv(csv, &config.data)?;
    report_loaded(csv, &loaded, quiet);
    let series = loaded.series;
    let cal = series.calendar;
    let span = config.train.test_days;
    let folds = args.folds as usize;
    let bounds = fold_bounds(series.len(), span, folds).map_err(|cut| -> anyhow::Error {
        match cut {
            Cut::TooManyFolds => GrufError::usage(format!(
                "--test-size {span} cannot be cut into {folds} folds; pass a larger --test-size or fewer --folds"
            ))
            .into(),
            Cut::SpanTooLong => GrufError::data(
                csv,
                format!(
                    "{} rows, fewer than the {} to backtest on",
                    series.len(),
                    cal.count(span)
                ),
            )
            .into(),
        }
    })?;
    let eval_start = bounds[0].start;
    let device = device();
    let daily = series.is_daily();
    let season = season_for(None, config.data.season, &series);
    if !quiet {
        crate::eprintln_lossy!(
            "gruf: backtest over {} to {} ({}), {folds} fold{}, retraining every {}; seed {seed}",
            format_time(series.dates[eval_start], daily),
            format_time(series.dates[series.len() - 1], daily),
            cal.count(span),
            plural(folds),
            if args.refit_every == 1 {
                "fold".to_string()
            } else {
                format!("{} folds", args.refit_every)
            }
        );
    }

    let mut results = Vec::with_capacity(folds);
    let mut current: Option<(Predictor, usize)> = None;
    for (i, fold) in bounds.iter().enumerate() {
        let (start, end) = (fold.start, fold.end);
        let refit = i % args.refit_every as usize == 0 || current.is_none();
        if refit {
            // Everything before the fold is history: an expanding window.
            let history = &series.values[..end];
            let Prepared { split, scaler } = pipeline::prepare(&config, history, end - start)
                .map_err(|m| GrufError::data(csv, format!("fold {}: {m}", i + 1)))?;
            if !quiet {
                crate::eprintln_lossy!(
                    "gruf: fold {}/{folds}: training on {} values",
                    i + 1,
                    split.fit_end()
                );
            }
            let outcome = run_training(&config, seed, history, &scaler, &split, &device, quiet)?;
            if let Some((epoch, batch)) = outcome.interrupted {
                return Err(GrufError::Interrupted(format!(
                    "backtest interrupted in fold {}, epoch {epoch}, batch {batch}; nothing was written",
                    i + 1
                ))
                .into());
            }
            let predictor = Predictor {
                model: crate::model::Model::new(&config.model, &outcome.weights)?,
                scaler,
                window: config.model.window,
                device: device.clone(),
            };
            current = Some((predictor, split.fit_end()));
        }
        let Some((predictor, fit_end)) = &current else {
            unreachable!("a model was trained above")
        };
        let scoring = Scoring {
            mase_scale: naive_scale(&series.values[..*fit_end]),
            season,
            held_out: true,
        };
        let start = start.max(predictor.lookback()).max(scoring.first_target());
        if start >= end {
            return Err(GrufError::data(
                csv,
                format!(
                    "fold {} has nothing to score: each fold needs more than the model's {} of history; pass fewer --folds or a larger --test-size",
                    i + 1,
                    cal.count(predictor.lookback().max(scoring.first_target()))
                ),
            )
            .into());
        }
        let evaluation = crate::evaluate::evaluate(predictor, &series, start..end, scoring)?;
        results.push(Fold {
            fold: i + 1,
            trained_to: format_iso(series.dates[*fit_end - 1], daily),
            refit,
            evaluation,
        });
    }
    let report = Summary::new(results);
    let out = match args.format {
        Format::Table => report.table(cal),
        Format::Csv => report.csv()?,
        Format::Json => report.json()?,
    };
    print(out.as_bytes())
}

/// The three renderings of a backtest [`Summary`].
trait Render {
    fn table(&self, cal: crate::calendar::Calendar) -> String;
    fn csv(&self) -> anyhow::Result<String>;
    fn json(&self) -> anyhow::Result<String>;
}

impl Render for Summary {
    fn table(&self, cal: crate::calendar::Calendar) -> String {
        let (model, naive) = (self.total("model"), self.total("naive"));
        let folds = self.folds.len();
        let seasonal = self.seasonal();
        let mut out = format!(
            "walk-forward MAE over {} in {folds} fold{}: model {}, naive {} ({:.3} of naive)",
            cal.count(self.n),
            plural(folds),
            money(model),
            money(naive),
            model / naive,
        );
        if let Some((m, mae)) = seasonal {
            out.push_str(&format!(
                ", seasonal naive ({}) {}",
                cal.seasonal_words(m),
                money(mae)
            ));
        }
        if model > naive {
            out.push_str(": the model is worse than doing nothing");
        } else if seasonal.is_some_and(|(_, mae)| model > mae) {
            out.push_str(": the model is worse than the seasonal naive forecast");
        }
        out.push('\n');
        out.push_str(&format!(
            "{:<19} {:>12} {:>14}\n",
            "forecaster", "MAE", "MAE / naive"
        ));
        for (name, mae) in &self.totals {
            out.push_str(&format!(
                "{:<19} {:>12} {:>14.3}\n",
                name,
                money(*mae),
                mae / naive
            ));
        }
        let width = human_date(&self.folds[0].evaluation.first_date).len() * 2 + 4;
        let trained = human_date(&self.folds[0].trained_to).len().max(10) + 1;
        out.push_str(&format!(
            "\n{:>4}  {:<width$}  {:<trained$} {:>5} {:>12} {:>12} {:>8}\n",
            "fold", "span", "trained to", "n", "model MAE", "naive MAE", "ratio"
        ));
        for f in &self.folds {
            let e = &f.evaluation;
            let (m, n) = (
                e.get("model").map_or(f64::NAN, |m| m.mae),
                e.get("naive").map_or(f64::NAN, |m| m.mae),
            );
            out.push_str(&format!(
                "{:>4}  {:<width$}  {:<trained$} {:>5} {:>12} {:>12} {:>8.3}\n",
                f.fold,
                format!(
                    "{} to {}",
                    human_date(&e.first_date),
                    human_date(&e.last_date)
                ),
                format!(
                    "{}{}",
                    human_date(&f.trained_to),
                    if f.refit { "" } else { "*" }
                ),
                e.n,
                money(m),
                money(n),
                m / n
            ));
        }
        if self.folds.iter().any(|f| !f.refit) {
            out.push_str("* reused the previous fold's model (--refit-every)\n");
        }
        out
    }

    /// One row per fold and forecaster, then one per forecaster over all folds (`fold` =
    /// `all`), with every metric.
    fn csv(&self) -> anyhow::Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "fold",
            "first_date",
            "last_date",
            "trained_to",
            "refit",
            "n",
            "forecaster",
            "mae",
            "rmse",
            "mape",
            "smape",
            "mase",
            "directional",
        ])?;
        for f in &self.folds {
            let e = &f.evaluation;
            for (name, m) in &e.rows {
                let mut row = vec![
                    f.fold.to_string(),
                    e.first_date.clone(),
                    e.last_date.clone(),
                    f.trained_to.clone(),
                    f.refit.to_string(),
                    e.n.to_string(),
                    name.clone(),
                ];
                row.extend(metric_cells(m));
                w.write_record(&row)?;
            }
        }
        let (first, last) = (
            self.folds[0].evaluation.first_date.clone(),
            self.folds[self.folds.len() - 1]
                .evaluation
                .last_date
                .clone(),
        );
        for (name, mae) in &self.totals {
            let mut row = vec![
                "all".to_string(),
                first.clone(),
                last.clone(),
                String::new(),
                String::new(),
                self.n.to_string(),
                name.clone(),
            ];
            row.extend(mae_cells(*mae));
            w.write_record(&row)?;
        }
        Ok(String::from_utf8(w.into_inner()?)?)
    }

    fn json(&self) -> anyhow::Result<String> {
        let totals: Vec<_> = self
            .totals
            .iter()
            .map(|(n, mae)| serde_json::json!({ "forecaster": n, "mae": mae }))
            .collect();
        let doc = serde_json::json!({ "n": self.n, "totals": totals, "folds": self.folds });
        Ok(serde_json::to_string_pretty(&doc)? + "\n")
    }
}
