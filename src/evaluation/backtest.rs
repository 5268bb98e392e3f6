//! Walk-forward evaluation's arithmetic: where the folds lie, and each forecaster's error
//! over all of them. Training and scoring each fold is the caller's (it owns the progress
//! and the Ctrl-C handling); this module only cuts and sums.

use std::ops::Range;

use crate::evaluation::coverage::Coverage;

use crate::evaluation::evaluate::{PanelScores, SeriesScores};
use crate::scores::{Contender, HorizonError};

/// The last `span` of `len` values cut into `folds` consecutive ranges of near-equal size,
/// in time order. `Err` says why it cannot be done, for the caller to word.
pub fn fold_bounds(len: usize, span: usize, folds: usize) -> Result<Vec<Range<usize>>, Cut> {
    if folds == 0 || span < folds {
        return Err(Cut::TooManyFolds);
    }
    let start = len.checked_sub(span).ok_or(Cut::SpanTooLong)?;
    Ok((0..folds)
        .map(|i| start + span * i / folds..start + span * (i + 1) / folds)
        .collect())
}

/// Why a span cannot be cut into folds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// More folds than values in the span (or none).
    TooManyFolds,
    /// The span is longer than the series.
    SpanTooLong,
}

/// One series' fold: where its model was fitted to and how every forecaster did on it.
#[derive(Debug, Clone)]
pub struct SeriesFold {
    /// The last date the fold's model was fitted on, in this series.
    pub trained_to: String,
    /// The series' scores over the fold: its id ("" for the one series of a plain CSV),
    /// one-step errors, the fold forecast in one go from its start, errors at each horizon
    /// 1..K for a model that predicts K > 1 steps at once, the calibrated intervals (its
    /// model calibrated on the validation parts of every series), and the naive error on
    /// its training part (the MASE scale, by which its horizon errors are divided to be
    /// pooled with other series').
    pub scores: SeriesScores,
}

/// One fold: each series' fold scored by the one model trained before it, and (for a
/// panel) those scores pooled over the series.
#[derive(Debug, Clone)]
pub struct Fold {
    /// 1-based.
    pub fold: usize,
    /// False when the fold reused the previous fold's model (`--refit-every`).
    pub refit: bool,
    /// Each series scored, in id order: one, unnamed, for a plain CSV.
    pub series: Vec<SeriesFold>,
    /// The series' scores pooled, each series counting the same.
    pub pooled: PanelScores,
    /// Errors by horizon pooled over the series: one series' own MAE, several series'
    /// MAE scaled by each one's MASE scale (so a MASE by horizon).
    pub horizons: Vec<HorizonError>,
    /// The series' interval scores pooled over their targets.
    pub intervals: Option<Coverage>,
}

impl Fold {
    /// Pools `series` (in id order); `None` when no series was scored.
    pub fn new(fold: usize, refit: bool, series: Vec<SeriesFold>) -> Option<Fold> {
        let pooled = PanelScores::new(series.iter().map(|s| s.scores.clone()).collect())?;
        let named = is_named(&series);
        let horizons = match series.as_slice() {
            [one] if !named => one.scores.horizons.clone(),
            _ => pool_horizons(&horizon_rows(series.iter(), named)),
        };
        let spans: Vec<Coverage> = (series.iter())
            .filter_map(|s| s.scores.intervals.clone())
            .collect();
        Some(Fold {
            fold,
            refit,
            pooled,
            horizons,
            intervals: pool_intervals(&spans, named.then_some(series.len())),
            series,
        })
    }

    /// The one series of a backtest of an unnamed series.
    pub fn only(&self) -> &SeriesFold {
        &self.series[0]
    }
}

/// Interval scores pooled over their targets; for a named panel, saying over how many
/// series (`series`).
fn pool_intervals(spans: &[Coverage], series: Option<usize>) -> Option<Coverage> {
    let pooled = Coverage::pool(spans)?;
    Some(Coverage {
        pooled_series: series,
        ..pooled
    })
}

/// Whether `series` are of a named panel (`--id-column` or several files): any id
/// non-empty. Only then do results show ids and pooled rows.
fn is_named(series: &[SeriesFold]) -> bool {
    series.iter().any(|s| !s.scores.id.is_empty())
}

/// Each series' horizon errors, divided by its scale when `scaled` (series of several
/// scales), for [`pool_horizons`].
fn horizon_rows<'a>(
    series: impl Iterator<Item = &'a SeriesFold>,
    scaled: bool,
) -> Vec<Vec<HorizonError>> {
    series
        .map(|s| {
            let by = if scaled { s.scores.mase_scale } else { 1.0 };
            (s.scores.horizons.iter())
                .map(|h| HorizonError {
                    model_mae: h.model_mae / by,
                    naive_mae: h.naive_mae / by,
                    seasonal_naive_mae: h.seasonal_naive_mae.map(|m| m / by),
                    ..h.clone()
                })
                .collect()
        })
        .collect()
}

/// Every fold, and each forecaster's scores over all of them.
#[derive(Debug, Clone)]
pub struct Summary {
    pub folds: Vec<Fold>,
    /// Targets scored over all folds and series.
    pub n: usize,
    /// `(forecaster, MAE over all folds)`, model first: each fold weighted by the targets it
    /// scored, so the total is the MAE over every target of the span (of one series: MAEs
    /// of series on different scales do not add up).
    pub totals: Vec<(Contender, f64)>,
    /// Errors at each horizon over all folds (and series, scaled as in [`Fold::horizons`]),
    /// each weighted by its origins at that horizon (empty for one-step models).
    pub horizons: Vec<HorizonError>,
    /// The folds' interval scores pooled over their targets.
    pub intervals: Option<Coverage>,
    /// Every (series, fold) pooled, each counting the same.
    pub all: PanelScores,
}

impl Summary {
    /// Sums `folds` (at least one, each with a series).
    pub fn new(folds: Vec<Fold>) -> Summary {
        let each = || folds.iter().flat_map(|f| f.series.iter());
        let n: usize = each().map(|s| s.scores.one_step.n).sum();
        let contenders = each()
            .next()
            .map(|s| s.scores.one_step.rows.iter().map(|&(who, _)| who))
            .into_iter()
            .flatten();
        let totals = contenders
            .map(|who| {
                let sum: f64 = each()
                    .map(|s| {
                        let e = &s.scores.one_step;
                        e.get(who).map_or(f64::NAN, |m| m.mae) * e.n as f64
                    })
                    .sum();
                (who, sum / n as f64)
            })
            .collect();
        let named = folds.iter().any(|f| is_named(&f.series));
        let horizons = pool_horizons(&horizon_rows(each(), named));
        let spans: Vec<Coverage> = each().filter_map(|s| s.scores.intervals.clone()).collect();
        let all = PanelScores::new(each().map(|s| s.scores.clone()).collect())
            .expect("every fold scored a series");
        let ids: std::collections::BTreeSet<&str> = each().map(|s| s.scores.id.as_str()).collect();
        Summary {
            intervals: pool_intervals(&spans, named.then_some(ids.len())),
            folds,
            n,
            totals,
            horizons,
            all,
        }
    }

    /// Whether the backtest was of a named panel: the renderers then show series and
    /// pooled scores; otherwise the one series' folds.
    pub fn named(&self) -> bool {
        self.folds.iter().any(|f| is_named(&f.series))
    }

    /// A forecaster's MAE over all folds (NaN if there is no such forecaster).
    pub fn total(&self, who: Contender) -> f64 {
        self.totals
            .iter()
            .find(|(c, _)| *c == who)
            .map_or(f64::NAN, |t| t.1)
    }

    /// The seasonal naive baseline's period and MAE over all folds, if it was scored.
    pub fn seasonal(&self) -> Option<(usize, f64)> {
        let m = self.folds.first()?.only().scores.one_step.season?;
        Some((m, self.total(Contender::SeasonalNaive(m))))
    }
}

/// Several spans' horizon errors (folds, series) pooled: at each horizon, the mean over all
/// origins of all spans (a span's MAE weighted by its origins there).
fn pool_horizons(spans: &[Vec<HorizonError>]) -> Vec<HorizonError> {
    let steps = spans.iter().map(Vec::len).max().unwrap_or(0);
    (1..=steps)
        .filter_map(|h| {
            let rows: Vec<&HorizonError> = spans.iter().filter_map(|s| s.get(h - 1)).collect();
            let origins: usize = rows.iter().map(|r| r.origins).sum();
            if origins == 0 {
                return None;
            }
            let mean = |f: &dyn Fn(&HorizonError) -> f64| {
                rows.iter().map(|r| f(r) * r.origins as f64).sum::<f64>() / origins as f64
            };
            let seasonal = rows
                .iter()
                .all(|r| r.seasonal_naive_mae.is_some())
                .then(|| mean(&|r| r.seasonal_naive_mae.unwrap_or(f64::NAN)));
            Some(HorizonError {
                horizon: h,
                model_mae: mean(&|r| r.model_mae),
                naive_mae: mean(&|r| r.naive_mae),
                seasonal_naive_mae: seasonal,
                origins,
                direct: rows.iter().all(|r| r.direct),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scores::{Evaluation, Metrics};

    #[test]
    fn folds_tile_the_span_in_order() {
        let f = fold_bounds(100, 30, 4).unwrap();
        assert_eq!(f, [70..77, 77..85, 85..92, 92..100]);
        assert_eq!(fold_bounds(100, 3, 4), Err(Cut::TooManyFolds));
        assert_eq!(fold_bounds(10, 30, 4), Err(Cut::SpanTooLong));
    }

    /// A series' fold with the model's one-step MAE `mae` over `n` targets and its
    /// horizon-1 MAE `h1` from `n` origins, on scale `scale`.
    fn series(id: &str, n: usize, mae: f64, h1: f64, scale: f64) -> SeriesFold {
        SeriesFold {
            trained_to: String::new(),
            scores: SeriesScores {
                id: id.into(),
                one_step: Evaluation {
                    n,
                    first_date: String::new(),
                    last_date: String::new(),
                    held_out: true,
                    rows: vec![(
                        Contender::Model,
                        Metrics {
                            mae,
                            rmse: mae,
                            mape: Some(0.0),
                            smape: 0.0,
                            mase: 0.0,
                            directional: None,
                        },
                    )],
                    calendar: None,
                    season: None,
                },
                seen: true,
                ahead: None,
                horizons: vec![HorizonError {
                    horizon: 1,
                    model_mae: h1,
                    naive_mae: 2.0 * scale,
                    seasonal_naive_mae: None,
                    origins: n,
                    direct: true,
                }],
                mase_scale: scale,
                intervals: None,
            },
        }
    }

    #[test]
    fn totals_weigh_each_fold_by_its_targets() {
        let fold = |n: usize, mae: f64| Fold::new(1, true, vec![series("", n, mae, mae, 10.0)]);
        let s = Summary::new(vec![fold(10, 1.0).unwrap(), fold(30, 3.0).unwrap()]);
        assert!(!s.named());
        assert_eq!(s.n, 40);
        assert_eq!(s.total(Contender::Model), 2.5);
        assert!(s.total(Contender::Naive).is_nan());
        assert_eq!(s.seasonal(), None);
        // One series' horizon errors stay in its units.
        assert_eq!(s.folds[0].horizons[0].model_mae, 1.0);
        assert_eq!(s.horizons[0].model_mae, 2.5);
        assert_eq!(s.horizons[0].naive_mae, 20.0);
    }

    /// Series on scales 1 and 1,000 pool their horizon errors as MASE (each over its own
    /// scale), each origin counting the same; every (series, fold) counts once in `all`.
    #[test]
    fn a_panel_pools_horizon_errors_over_each_series_scale() {
        let fold = Fold::new(
            1,
            true,
            vec![
                series("a", 10, 1.0, 1.0, 1.0),
                series("b", 30, 3000.0, 3000.0, 1000.0),
            ],
        )
        .unwrap();
        assert_eq!(fold.horizons[0].model_mae, 2.5);
        assert_eq!(fold.horizons[0].naive_mae, 2.0);
        assert_eq!(fold.horizons[0].origins, 40);
        assert!(Fold::new(2, true, Vec::new()).is_none());
        let s = Summary::new(vec![fold.clone(), fold]);
        assert!(s.named());
        assert_eq!(s.all.one_step.series, 4);
        assert_eq!(s.horizons[0].model_mae, 2.5);
    }
}
