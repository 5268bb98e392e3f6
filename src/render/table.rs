//! Aligned text for people: sentences that say what the numbers mean, then the numbers in
//! price units with thousands separators.

use crate::evaluation::backtest::Summary;
use crate::evaluation::compare::{Comparison, Measure};
use crate::evaluation::coverage::Coverage;
use crate::evaluation::evaluate::PanelScores;
use crate::forecast::Forecast;
use crate::scores::{Contender, Evaluation, HorizonError};
use crate::series::calendar::Calendar;
use crate::series::dates::{format_time, human_date, Zone};
use crate::text::plural;
use crate::text::Money;

use super::Renderer;

pub struct Table;

impl Table {
    /// A global model's held-out parts: each series' scores, then the pooled ones.
    fn panel_scores(&self, scores: &PanelScores) -> String {
        let (steps, m) = scores.ahead_steps();
        let ids = (scores.series.iter())
            .map(|s| s.id.chars().count() + usize::from(!s.seen))
            .max()
            .unwrap_or(0)
            .max(6);
        let has_seasonal = (scores.one_step.rows.iter())
            .any(|r| matches!(r.forecaster, Contender::SeasonalNaive(_)));
        let m_name = if has_seasonal {
            format!("seas. {m}")
        } else {
            String::new()
        };
        let mut out = format!(
            "each series' held-out part: one-step MASE (scaled by the naive error on its training part), and the part forecast in one go from its start ({steps} steps; MASE scaled by the seasonal naive error, m = {m})\n"
        );
        let groups = format!(
            "{:<ids$}  {:>7}  {:^29}  {:^19}  {:^19}",
            "", "", "one-step MASE", "in one go: sMAPE %", "in one go: MASE"
        );
        out.push_str(groups.trim_end());
        out.push('\n');
        out.push_str(&format!(
            "{:<ids$}  {:>7}  {:>9} {:>9} {:>9}  {:>9} {:>9}  {:>9} {:>9}\n",
            "series", "targets", "model", "naive", m_name, "model", "seas.", "model", "seas."
        ));
        let cell = |v: Option<f64>| v.map_or(format!("{:>9}", "-"), |v| format!("{v:>9.3}"));
        for s in &scores.series {
            let one = |who: Contender| s.one_step.get(who).map(|m| m.mase);
            let go = |seasonal: bool| {
                (s.ahead.iter().flat_map(|a| a.rows.iter()))
                    .find(|(who, _)| {
                        if seasonal {
                            matches!(who, Contender::SeasonalNaive(_))
                        } else {
                            *who == Contender::Model
                        }
                    })
                    .map(|(_, e)| *e)
            };
            let (model, snaive) = (go(false), go(true));
            let seasonal_one = if has_seasonal {
                cell(s.one_step.seasonal().map(|m| m.mase))
            } else {
                format!("{:>9}", "")
            };
            out.push_str(&format!(
                "{:<ids$}  {:>7}  {} {} {}  {} {}  {} {}\n",
                if s.seen {
                    s.id.clone()
                } else {
                    format!("{}*", s.id)
                },
                s.one_step.n,
                cell(one(Contender::Model)),
                cell(one(Contender::Naive)),
                seasonal_one,
                cell(model.map(|e| e.smape)),
                cell(snaive.map(|e| e.smape)),
                cell(model.map(|e| e.mase)),
                cell(snaive.map(|e| e.mase)),
            ));
        }
        if scores.series.iter().any(|s| !s.seen) {
            out.push_str("* not trained on: scaled on its own past before its held-out part\n");
        }
        out.push('\n');
        out.push_str(&pooled(scores, "series"));
        out
    }

    /// One series' evaluation: the one-step table, the horizon table and the intervals'
    /// scores (those asked for: `train` shows the one-step table alone).
    pub fn one_evaluation(
        &self,
        e: &Evaluation,
        horizons: &[HorizonError],
        intervals: Option<&Coverage>,
    ) -> String {
        let mut out = self.point_evaluation(e, horizons);
        if let Some(c) = intervals {
            out.push('\n');
            out.push_str(&coverage(c));
        }
        out
    }

    /// The one-step table and the horizon table.
    fn point_evaluation(&self, e: &Evaluation, horizons: &[HorizonError]) -> String {
        let cal = e.calendar.unwrap_or_default();
        let mut out = format!("{}\n{}", verdict(e), metrics(e));
        let Some(first) = horizons.first() else {
            return out;
        };
        let seasonal = first.seasonal_naive_mae.is_some();
        out.push_str(&format!("\n{}\n", horizon_verdict(horizons, e, cal)));
        let direct = horizons.iter().filter(|h| h.direct).count();
        let how = match direct {
            1 => "recursive forecast".to_string(),
            k if k == horizons.len() => format!("direct forecast ({k} steps predicted at once)"),
            k => format!("forecast in blocks of {k} (direct up to {k}, then fed back)"),
        };
        out.push_str(&format!(
            "{how} by horizon ({}s ahead; origins = forecasts scored at that horizon)\n",
            cal.unit()
        ));
        out.push_str(&format!(
            "{:>7} {:>7} {:>12} {:>12} {:>13}",
            "horizon", "origins", "model MAE", "naive MAE", "model / naive"
        ));
        if seasonal {
            out.push_str(&format!(
                " {:>19} {:>16}",
                "seasonal naive MAE", "model / seasonal"
            ));
        }
        out.push('\n');
        let money = horizon_money(horizons);
        for r in horizons {
            out.push_str(&format!(
                "{:>7} {:>7} {:>12} {:>12} {:>13}",
                r.horizon,
                r.origins,
                money.format(r.model_mae),
                money.format(r.naive_mae),
                ratio(r.model_mae, r.naive_mae)
            ));
            if let Some(s) = r.seasonal_naive_mae {
                out.push_str(&format!(
                    " {:>19} {:>16}",
                    money.format(s),
                    ratio(r.model_mae, s)
                ));
            }
            out.push('\n');
        }
        out
    }
}

impl Renderer for Table {
    fn forecasts(&self, forecasts: &[Forecast]) -> anyhow::Result<String> {
        match forecasts {
            [f] if f.id.is_none() => Ok(one_forecast(f)),
            _ => Ok(panel_forecasts(forecasts)),
        }
    }

    /// One series alone: [`Table::one_evaluation`]. A panel: a line per series (its
    /// one-step MASE beside the baselines', then its held-out part forecast in one go),
    /// the pooled tables, the errors by horizon and the intervals pooled over the series.
    fn evaluation(&self, scores: &PanelScores) -> anyhow::Result<String> {
        if let Some(one) = scores.alone() {
            return Ok(self.one_evaluation(&one.one_step, &one.horizons, one.intervals.as_ref()));
        }
        let mut out = self.panel_scores(scores);
        if !scores.horizons.is_empty() {
            out.push('\n');
            out.push_str(&pooled_horizons(scores));
        }
        if let Some(c) = &scores.intervals {
            out.push('\n');
            out.push_str(&coverage(c));
        }
        Ok(out)
    }
    /// A named panel's folds pooled over the series; one series' folds and totals.
    fn backtest(&self, s: &Summary) -> anyhow::Result<String> {
        if s.named() {
            return Ok(panel_backtest(s));
        }
        let cal = s.folds[0]
            .only()
            .scores
            .one_step
            .calendar
            .unwrap_or_default();
        let (model, naive) = (s.total(Contender::Model), s.total(Contender::Naive));
        let folds = s.folds.len();
        let seasonal = s.seasonal();
        // One scale for the totals and the folds' errors, another for the horizons'.
        let money = Money::for_values(s.totals.iter().map(|(_, mae)| *mae).chain(
            (s.folds.iter()).flat_map(|f| f.only().scores.one_step.rows.iter().map(|(_, m)| m.mae)),
        ));
        let mut out = format!(
            "walk-forward MAE over {} in {folds} fold{}: model {}, naive {} ({} of naive)",
            cal.count(s.n),
            plural(folds),
            money.format(model),
            money.format(naive),
            ratio(model, naive),
        );
        if let Some((m, mae)) = seasonal {
            out.push_str(&format!(
                ", seasonal naive ({}) {}",
                cal.seasonal_words(m),
                money.format(mae)
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
        for (name, mae) in &s.totals {
            out.push_str(&format!(
                "{:<19} {:>12} {:>14}\n",
                name,
                money.format(*mae),
                ratio(*mae, naive)
            ));
        }
        let first = s.folds[0].only();
        let width = human_date(&first.scores.one_step.first_date).len() * 2 + 4;
        let trained = human_date(&first.trained_to).len().max(10) + 1;
        out.push_str(&format!(
            "\n{:>4}  {:<width$}  {:<trained$} {:>5} {:>12} {:>12} {:>8}\n",
            "fold", "span", "trained to", "n", "model MAE", "naive MAE", "ratio"
        ));
        for f in &s.folds {
            let e = &f.only().scores.one_step;
            let (m, n) = (
                e.get(Contender::Model).map_or(f64::NAN, |m| m.mae),
                e.get(Contender::Naive).map_or(f64::NAN, |m| m.mae),
            );
            out.push_str(&format!(
                "{:>4}  {:<width$}  {:<trained$} {:>5} {:>12} {:>12} {:>8}\n",
                f.fold,
                format!(
                    "{} to {}",
                    human_date(&e.first_date),
                    human_date(&e.last_date)
                ),
                format!(
                    "{}{}",
                    human_date(&f.only().trained_to),
                    if f.refit { "" } else { "*" }
                ),
                e.n,
                money.format(m),
                money.format(n),
                ratio(m, n)
            ));
        }
        if s.folds.iter().any(|f| !f.refit) {
            out.push_str("* reused the previous fold's model (--refit-every)\n");
        }
        if !s.horizons.is_empty() {
            out.push_str(&format!(
                "\ndirect forecast by horizon over all folds ({}s ahead)\n{:>7} {:>7} {:>12} {:>12} {:>13}\n",
                cal.unit(),
                "horizon",
                "origins",
                "model MAE",
                "naive MAE",
                "model / naive"
            ));
            let money = horizon_money(&s.horizons);
            for r in &s.horizons {
                out.push_str(&format!(
                    "{:>7} {:>7} {:>12} {:>12} {:>13}\n",
                    r.horizon,
                    r.origins,
                    money.format(r.model_mae),
                    money.format(r.naive_mae),
                    ratio(r.model_mae, r.naive_mae)
                ));
            }
        }
        if let Some(c) = &s.intervals {
            out.push_str("\nintervals over all folds, each fold's model calibrated on its own validation part\n");
            out.push_str(&coverage(c));
        }
        Ok(out)
    }

    /// A line on the held-out part, a row per cell (means over its seeds), the sentence.
    /// On a panel the score is the mean one-step MASE over the series, and each cell's
    /// other pooled scores follow it.
    fn comparison(&self, c: &Comparison) -> anyhow::Result<String> {
        let h = &c.held_out;
        let seeds = c.cells.first().map_or(0, |s| s.seeds);
        let measure = h.measure;
        let money =
            Money::for_values(std::iter::once(h.naive).chain(c.cells.iter().map(|s| s.test)));
        let amount = |x: f64| match measure {
            Measure::Mae => money.format(x),
            Measure::MeanMase => measure.amount(x),
        };
        let mut out = match measure {
            Measure::Mae => format!(
                "held-out {} to {} ({}): one-step MAE, mean ± standard deviation over {seeds} seed{}; naive forecast ({}) MAE {}\n",
                human_date(&h.first_date),
                human_date(&h.last_date),
                h.calendar.count(h.n),
                plural(seeds),
                h.calendar.naive_words(),
                amount(h.naive)
            ),
            Measure::MeanMase => format!(
                "held-out parts of {} series, {} to {} ({} one-step targets): one-step MASE averaged over the series, mean ± standard deviation over {seeds} seed{}; naive forecast ({}) mean MASE {}\n",
                h.series,
                human_date(&h.first_date),
                human_date(&h.last_date),
                h.n,
                plural(seeds),
                h.calendar.naive_words(),
                amount(h.naive)
            ),
        };
        let score = |s: &crate::evaluation::compare::CellSummary| match s.test_sd {
            Some(sd) => format!("{} ± {}", amount(s.test), amount(sd)),
            None => amount(s.test),
        };
        let width = c
            .cells
            .iter()
            .map(|s| score(s).chars().count())
            .max()
            .unwrap_or(0)
            .max(12)
            .max(measure.name().len() + 9);
        let over = (measure.name().len() + 8).max(11);
        let pooled = |s: &crate::evaluation::compare::CellSummary| {
            let cell = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
            s.pooled.map_or(String::new(), |p| {
                format!(
                    " {:>9.3} {:>12} {:>11}",
                    p.smape,
                    cell(p.ahead_smape),
                    cell(p.ahead_mase)
                )
            })
        };
        let mut head = format!(
            "{:<5} {:>10} {:>9} {:>10} {:>15}  {:>width$} {:>over$}",
            "cell",
            "parameters",
            "s / epoch",
            "kept epoch",
            "validation loss",
            format!("held-out {}", measure.name()),
            format!("{} / naive", measure.name())
        );
        if measure == Measure::MeanMase {
            head.push_str(&format!(
                " {:>9} {:>12} {:>11}",
                "sMAPE %", "one go sMAPE", "one go MASE"
            ));
        }
        out.push_str(&head);
        out.push('\n');
        for s in &c.cells {
            let kept = match s.kept_epochs {
                (a, b) if a == b => a.to_string(),
                (a, b) => format!("{a}–{b}"),
            };
            out.push_str(&format!(
                "{:<5} {:>10} {:>9.3} {:>10} {:>15.3e}  {:>width$} {:>over$.3}{}\n",
                s.cell.label(),
                Money::for_values([])
                    .format(s.parameters as f64)
                    .trim_end_matches(".00"),
                s.seconds_per_epoch,
                kept,
                s.val_loss,
                score(s),
                c.over_naive(s.test),
                pooled(s)
            ));
        }
        if measure == Measure::MeanMase {
            out.push_str("sMAPE %: one-step, averaged over the series; one go: each series' held-out part forecast in one go from its start, as forecasting competitions score it (MASE scaled by the seasonal naive error), averaged over the series\n");
        }
        out.push_str(&c.sentence());
        out.push_str(".\n");
        Ok(out)
    }
}

/// One plain sentence: better or worse than naive (and than seasonal naive), and by how much.
pub fn verdict(e: &Evaluation) -> String {
    let (Some(model), Some(naive)) = (e.get(Contender::Model), e.get(Contender::Naive)) else {
        return String::new();
    };
    let cal = e.calendar.unwrap_or_default();
    let span = if e.held_out {
        "held-out"
    } else {
        "in-sample (not held out)"
    };
    let money = evaluation_money(e);
    let mut s = format!(
        "{span} MAE {} over {} ({} to {}) is {} the naive forecast's {} ({})",
        money.format(model.mae),
        cal.count(e.n),
        human_date(&e.first_date),
        human_date(&e.last_date),
        compare(model.mae, naive.mae),
        money.format(naive.mae),
        cal.naive_words()
    );
    let seasonal = e.season.zip(e.seasonal());
    if let Some((m, seasonal)) = seasonal {
        s.push_str(&format!(
            " and {} the seasonal naive forecast's {} ({})",
            compare(model.mae, seasonal.mae),
            money.format(seasonal.mae),
            cal.seasonal_words(m)
        ));
    }
    if model.mae > naive.mae {
        s.push_str(": the model is worse than doing nothing");
    } else if let Some((m, _)) = seasonal.filter(|(_, x)| model.mae > x.mae) {
        s.push_str(&format!(
            ": the model is worse than the seasonal naive forecast ({})",
            cal.seasonal_words(m)
        ));
    }
    s
}

/// Every forecaster's one-step metrics, aligned.
pub fn metrics(e: &Evaluation) -> String {
    let mut out = format!(
        "{:<19} {:>12} {:>12} {:>8} {:>8} {:>6} {:>11}\n",
        "forecaster", "MAE", "RMSE", "MAPE %", "sMAPE %", "MASE", "direction %"
    );
    let money = evaluation_money(e);
    for (name, m) in &e.rows {
        out.push_str(&format!(
            "{:<19} {:>12} {:>12} {:>8} {:>8.3} {:>6.3} {:>11}\n",
            name,
            money.format(m.mae),
            money.format(m.rmse),
            m.mape.map_or("-".to_string(), |p| format!("{p:.3}")),
            m.smape,
            m.mase,
            m.directional.map_or("-".to_string(), |d| format!("{d:.1}"))
        ));
    }
    out
}

/// The decimals of an evaluation's errors (every forecaster's MAE and RMSE), shown
/// together in its sentence and its table.
fn evaluation_money(e: &Evaluation) -> Money {
    Money::for_values(e.rows.iter().flat_map(|(_, m)| [m.mae, m.rmse]))
}

/// The decimals of the errors by horizon, shown together.
fn horizon_money(horizons: &[HorizonError]) -> Money {
    Money::for_values(horizons.iter().flat_map(|h| {
        [
            h.model_mae,
            h.naive_mae,
            h.seasonal_naive_mae.unwrap_or(0.0),
        ]
    }))
}

/// `a / b` to three decimals, or `-` when `b` is zero (a baseline without error: there is
/// no ratio to show).
fn ratio(a: f64, b: f64) -> String {
    if b == 0.0 {
        "-".to_string()
    } else {
        format!("{:.3}", a / b)
    }
}

/// "12.3 % lower than", "4.0 % higher than"; against a baseline without error, "as
/// exact as" or "higher than" (a percentage of zero means nothing).
fn compare(model: f64, baseline: f64) -> String {
    if baseline == 0.0 {
        return if model == 0.0 {
            "as exact as".to_string()
        } else {
            "higher than".to_string()
        };
    }
    let ratio = model / baseline;
    if ratio <= 1.0 {
        format!("{:.1} % lower than", (1.0 - ratio) * 100.0)
    } else {
        format!("{:.1} % higher than", (ratio - 1.0) * 100.0)
    }
}

/// One sentence over all horizons: the mean MAE of each forecaster (horizons weighted
/// alike) and whether the recursive forecast beats the baselines.
fn horizon_verdict(horizons: &[HorizonError], e: &Evaluation, cal: Calendar) -> String {
    let mean = |f: &dyn Fn(&HorizonError) -> f64| {
        horizons.iter().map(f).sum::<f64>() / horizons.len() as f64
    };
    let (model, naive) = (mean(&|h| h.model_mae), mean(&|h| h.naive_mae));
    let last = horizons.len();
    let money = horizon_money(horizons);
    let mut s = format!(
        "over horizons 1 to {last}, the model's mean MAE is {}; naive {}",
        money.format(model),
        money.format(naive)
    );
    let seasonal = e
        .season
        .filter(|_| horizons.iter().all(|h| h.seasonal_naive_mae.is_some()))
        .map(|m| (m, mean(&|h| h.seasonal_naive_mae.unwrap_or(f64::NAN))));
    if let Some((m, mae)) = seasonal {
        s.push_str(&format!(
            ", seasonal naive ({}) {}",
            cal.seasonal_words(m),
            money.format(mae)
        ));
    }
    let best = seasonal.map_or(naive, |(_, mae)| mae.min(naive));
    s.push_str(if model <= best {
        ": better than every baseline here"
    } else if model <= naive {
        ": better than naive, worse than the seasonal naive forecast"
    } else {
        ": worse than doing nothing"
    });
    s
}

/// The width and heading of a forecast table's time column: dates for daily data, else
/// times in UTC.
/// The intervals' scores: how they were made, the verdict, then one row per step ahead,
/// level and forecaster, and each forecaster's pinball loss.
fn coverage(c: &Coverage) -> String {
    let unit = c.calendar.unit();
    let mut out = match c.method {
        Some(method) => format!("intervals: {}\n", method.describe()),
        None => "intervals: MC dropout only (this model has no calibrated intervals)\n".into(),
    };
    for line in c.verdict() {
        out.push_str(&line);
        out.push('\n');
    }
    let names: Vec<String> = c.rows.iter().map(|r| r.source.name(&c.calendar)).collect();
    let w = names.iter().map(|n| n.chars().count()).max().unwrap_or(10);
    let money = Money::for_values((c.rows.iter()).flat_map(|r| r.scores.iter().map(|s| s.width)));
    if let Some(n) = c.pooled_series {
        out.push_str(&format!(
            "pooled over {n} series: every target of each, MSIS and pinball loss over its own scale\n"
        ));
    }
    let ahead = |h: usize| h.to_string();
    out.push_str(&format!(
        "{:>5}  {:>6}  {:<w$}  {:>7}  {:>8}  {:>12}  {:>7}\n",
        format!("{unit}s"),
        "level",
        "forecaster",
        "targets",
        "coverage",
        "mean width",
        "MSIS"
    ));
    for h in c.steps() {
        for l in 0..c.levels.len() {
            for (r, name) in c.rows.iter().zip(&names).filter(|(r, _)| r.steps == h) {
                let s = &r.scores[l];
                out.push_str(&format!(
                    "{:>5}  {:>6}  {name:<w$}  {:>7}  {:>8}  {:>12}  {:>7.3}\n",
                    ahead(h),
                    format!("{} %", s.level.label()),
                    s.n,
                    format!("{:.1} %", s.coverage),
                    money.format(s.width),
                    s.msis
                ));
            }
        }
    }
    out.push_str("mean pinball loss of the interval ends (every level, scaled like MSIS):\n");
    for h in c.steps() {
        let each: Vec<String> = (c.rows.iter().zip(&names))
            .filter(|(r, _)| r.steps == h)
            .map(|(r, name)| format!("{name} {:.4}", r.pinball))
            .collect();
        out.push_str(&format!("{:>5}  {}\n", ahead(h), each.join(", ")));
    }
    out
}

/// Width of an interval end's column.
const END: usize = 14;

/// The heads of the interval columns: `   lower 80 %   upper 80 %` for each band.
fn band_heads(f: &Forecast) -> String {
    (f.bands.iter())
        .map(|b| {
            let l = b.level.label();
            format!(
                "  {:>END$}  {:>END$}",
                format!("lower {l} %"),
                format!("upper {l} %")
            )
        })
        .collect()
}

/// Step `i`'s interval ends, aligned under [`band_heads`].
fn band_cells(f: &Forecast, i: usize, money: Money) -> String {
    (f.ends(i).iter())
        .map(|&e| format!("  {:>END$}", money.format(e)))
        .collect()
}

/// The decimals of a forecast's values and interval ends, shown together.
fn forecast_money(f: &Forecast) -> Money {
    Money::for_values(
        (0..f.point.len())
            .flat_map(|i| f.ends(i))
            .chain(f.point.iter().copied()),
    )
}

/// The width and heading of a forecast's date column: `time (UTC)`, `time (+05:00)`, or
/// `time` for times written without a zone.
fn time_column(f: &Forecast) -> (usize, String) {
    match f.zone {
        _ if f.daily => (10, "date".into()),
        Zone::Naive => (19, "time".into()),
        zone => (19, format!("time ({})", zone.name())),
    }
}

/// A named panel's backtest: each fold pooled over the series (with its intervals, when
/// scored), then every series' folds pooled (with the errors by horizon and intervals).
fn panel_backtest(s: &Summary) -> String {
    let unit = (s.folds[0].series[0].scores.one_step.calendar)
        .unwrap_or_default()
        .unit();
    let extras = |out: &mut String, horizons: &[HorizonError], intervals: Option<&Coverage>| {
        if !horizons.is_empty() {
            out.push_str(&format!(
                "\nerrors by horizon over all folds, each series' MAE over its naive forecast's one-step error on its training part (as MASE), pooled over every origin ({unit}s ahead)\n{:>7} {:>7} {:>10} {:>10} {:>13}\n",
                "horizon", "origins", "model", "naive", "model / naive"
            ));
            for r in horizons {
                out.push_str(&format!(
                    "{:>7} {:>7} {:>10.3} {:>10.3} {:>13}\n",
                    r.horizon,
                    r.origins,
                    r.model_mae,
                    r.naive_mae,
                    ratio(r.model_mae, r.naive_mae)
                ));
            }
        }
        if let Some(c) = intervals {
            out.push('\n');
            out.push_str(&coverage(c));
        }
    };
    let mut out = String::new();
    for f in &s.folds {
        out.push_str(&format!(
            "fold {} of {}{}:\n",
            f.fold,
            s.folds.len(),
            if f.refit {
                ""
            } else {
                " (the previous fold's model)"
            }
        ));
        out.push_str(&Table.panel_scores(&f.pooled));
        // Errors by horizon over all folds only, as for one series (each fold's are in
        // the CSV and JSON).
        extras(&mut out, &[], f.intervals.as_ref());
        out.push('\n');
    }
    out.push_str(&format!("all {} folds:\n", s.folds.len()));
    out.push_str(&pooled(&s.all, "series' folds"));
    extras(&mut out, &s.horizons, None);
    if let Some(c) = &s.intervals {
        out.push_str("\nintervals over all folds and series, each fold's model calibrated on every series' validation part\n");
        out.push_str(&coverage(c));
    }
    out
}

/// The pooled tables of a global model's held-out parts: each forecaster's mean one-step
/// MASE and sMAPE over the series, then the parts forecast in one go, each with the
/// series the model beats it on.
pub fn pooled(scores: &PanelScores, unit: &str) -> String {
    let p = &scores.one_step;
    let mut out = format!(
        "held out: {} one-step targets over {} {unit}; each counts the same\n",
        p.targets, p.series
    );
    out.push_str(&format!(
        "{:<22} {:>10} {:>12} {:>22}\n",
        "forecaster",
        "mean MASE",
        "mean sMAPE %",
        format!("{unit} the model beats")
    ));
    let beats = |b: Option<usize>, n: usize| b.map_or("-".to_string(), |b| format!("{b} of {n}"));
    for r in &p.rows {
        out.push_str(&format!(
            "{:<22} {:>10.3} {:>12.3} {:>22}\n",
            r.forecaster,
            r.mase,
            r.smape,
            beats(r.model_better, r.series)
        ));
    }
    if scores.ahead.is_empty() {
        return out;
    }
    let (steps, m) = scores.ahead_steps();
    out.push_str(&format!(
        "each series' held-out part forecast in one go from its start ({steps} steps), as forecasting competitions score it (MASE scaled by the seasonal naive error, m = {m}):\n"
    ));
    out.push_str(&format!(
        "{:<22} {:>12} {:>10} {:>22}\n",
        "forecaster",
        "mean sMAPE %",
        "mean MASE",
        format!("{unit} the model beats")
    ));
    for r in &scores.ahead {
        out.push_str(&format!(
            "{:<22} {:>12.3} {:>10.3} {:>22}\n",
            r.forecaster,
            r.smape,
            r.mase,
            beats(r.model_better, r.series)
        ));
    }
    out
}

/// The errors by horizon pooled over a panel's series: each forecaster's MAE at each
/// horizon over the series' naive error on its training part (a MASE), averaged.
fn pooled_horizons(scores: &PanelScores) -> String {
    let h = &scores.horizons;
    let direct = h.iter().filter(|r| r.direct).count();
    let how = match direct {
        1 => "recursive forecast".to_string(),
        k if k == h.len() => format!("direct forecast ({k} steps predicted at once)"),
        k => format!("forecast in blocks of {k} (direct up to {k}, then fed back)"),
    };
    let seasonal = h.first().is_some_and(|r| r.seasonal_naive_mase.is_some());
    let mut out = format!(
        "{how} by horizon, pooled over series: each MAE over the series' naive one-step error on its training part, averaged\n"
    );
    out.push_str(&format!(
        "{:>7} {:>7} {:>8} {:>11} {:>11} {:>13}",
        "horizon", "series", "origins", "model MASE", "naive MASE", "model / naive"
    ));
    if seasonal {
        out.push_str(&format!(
            " {:>15} {:>16}",
            "seas. naive MASE", "model / seasonal"
        ));
    }
    out.push('\n');
    for r in h {
        out.push_str(&format!(
            "{:>7} {:>7} {:>8} {:>11.3} {:>11.3} {:>13}",
            r.horizon,
            r.series,
            r.origins,
            r.model_mase,
            r.naive_mase,
            ratio(r.model_mase, r.naive_mase)
        ));
        if let Some(s) = r.seasonal_naive_mase {
            out.push_str(&format!(" {:>15.3} {:>16}", s, ratio(r.model_mase, s)));
        }
        out.push('\n');
    }
    out
}

/// One series' forecast: a column of dates, the forecast and its bands.
fn one_forecast(f: &Forecast) -> String {
    let (width, head) = time_column(f);
    let mut out = format!(
        "{head:<width$}  {:>14}{}\n",
        format!("{} forecast", f.column),
        band_heads(f)
    );
    forecast_lines(&mut out, f, None);
    out
}

/// One line per step of `f`: its date, value and bands, after the series' id padded to
/// its column's width when given. Each series on its own scale: a global model may mix
/// prices and fractions.
fn forecast_lines(out: &mut String, f: &Forecast, id: Option<(&str, usize)>) {
    let (width, _) = time_column(f);
    let money = forecast_money(f);
    for (i, (d, v)) in f.dates.iter().zip(&f.point).enumerate() {
        if let Some((id, ids)) = id {
            out.push_str(&format!("{id:<ids$}  "));
        }
        out.push_str(&format!(
            "{:<width$}  {:>14}{}\n",
            format_time(*d, f.daily),
            money.format(*v),
            band_cells(f, i, money)
        ));
    }
}

/// The forecasts of a panel's series, the id first; the series the model never saw named
/// after them.
fn panel_forecasts(forecasts: &[Forecast]) -> String {
    let Some(first) = forecasts.first() else {
        return String::new();
    };
    let (width, head) = time_column(first);
    let ids = forecasts
        .iter()
        .map(|f| f.id.as_deref().unwrap_or("").chars().count())
        .max()
        .unwrap_or(0)
        .max(6);
    let mut out = format!(
        "{:<ids$}  {head:<width$}  {:>14}{}\n",
        "series",
        format!("{} forecast", first.column),
        band_heads(first)
    );
    for f in forecasts {
        forecast_lines(&mut out, f, Some((f.id.as_deref().unwrap_or(""), ids)));
    }
    let unseen: Vec<&str> = (forecasts.iter())
        .filter(|f| !f.seen)
        .map(|f| f.id.as_deref().unwrap_or(""))
        .collect();
    if !unseen.is_empty() {
        out.push_str(&format!(
            "not trained on: {} (scaled on their own past)\n",
            crate::text::name_some(&unseen, 10)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::coverage::{Maker, Row};
    use crate::intervals::scores::IntervalScores;
    use crate::intervals::Level;

    #[test]
    fn a_baseline_without_error_gets_words_not_infinity() {
        assert_eq!(compare(1.0, 0.0), "higher than");
        assert_eq!(compare(0.0, 0.0), "as exact as");
        assert_eq!(compare(1.0, 2.0), "50.0 % lower than");
        assert_eq!(compare(3.0, 2.0), "50.0 % higher than");
        assert_eq!(ratio(1.0, 0.0), "-");
        assert_eq!(ratio(1.0, 4.0), "0.250");
    }

    /// A coverage table of one model row at `steps` ahead, pooled over `pooled` series.
    fn one_row(steps: usize, pooled: Option<usize>) -> String {
        let level = Level::new(0.8).unwrap();
        coverage(&Coverage {
            method: None,
            levels: vec![level],
            rows: vec![Row {
                source: Maker::Model,
                steps,
                scores: vec![IntervalScores {
                    level,
                    n: 10,
                    coverage: 80.0,
                    width: 3.5e-6,
                    msis: 1.0,
                }],
                pinball: 0.1,
            }],
            calendar: Calendar::default(),
            pooled_series: pooled,
        })
    }

    #[test]
    fn pooled_interval_rows_say_how_many_series_they_pool() {
        let pooled = one_row(48, Some(3));
        assert!(pooled.contains("pooled over 3 series"), "{pooled}");
        let rows: Vec<&str> = pooled.lines().filter(|l| l.contains("  model  ")).collect();
        assert!(rows[0].trim_start().starts_with("48 "), "{pooled}");
        // One series' rows say nothing of pooling.
        let one = one_row(7, None);
        assert!(!one.contains("pooled"), "{one}");
        let rows: Vec<&str> = one.lines().filter(|l| l.contains("  model  ")).collect();
        assert!(rows[0].trim_start().starts_with("7 "), "{one}");
        // Widths of a tiny series keep their digits.
        assert!(one.contains("0.000003500"), "{one}");
    }
}
