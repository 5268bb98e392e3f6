//! Walk-forward evaluation's arithmetic: where the folds lie, and each forecaster's error
//! over all of them. Training and scoring each fold is the caller's (it owns the progress
//! and the Ctrl-C handling); this module only cuts and sums.

use std::ops::Range;

use serde::Serialize;

use crate::coverage::Coverage;

use crate::evaluate::{Evaluation, HorizonError, PanelScores};

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

/// One fold: where it lies and how every forecaster did on it.
#[derive(Debug, Clone, Serialize)]
pub struct Fold {
    /// 1-based.
    pub fold: usize,
    /// The last date the fold's model was fitted on.
    pub trained_to: String,
    /// False when the fold reused the previous fold's model (`--refit-every`).
    pub refit: bool,
    pub evaluation: Evaluation,
    /// Errors at each horizon 1..K from every origin of the fold, for a model that
    /// predicts K > 1 steps at once (empty otherwise).
    pub horizons: Vec<HorizonError>,
    /// The fold's calibrated intervals (its model calibrated on its own validation part),
    /// scored beside the baselines; `None` when none were asked for or could be given.
    #[serde(skip)]
    pub intervals: Option<Coverage>,
}

/// Every fold, and each forecaster's MAE over all of them.
#[derive(Debug, Clone)]
pub struct Summary {
    pub folds: Vec<Fold>,
    /// Targets scored over all folds.
    pub n: usize,
    /// `(forecaster, MAE over all folds)`, model first: each fold weighted by the targets it
    /// scored, so the total is the MAE over every target of the span.
    pub totals: Vec<(String, f64)>,
    /// Errors at each horizon over all folds, each fold weighted by its origins at that
    /// horizon (empty for one-step models).
    pub horizons: Vec<HorizonError>,
    /// The folds' interval scores pooled over their targets.
    pub intervals: Option<Coverage>,
}

impl Summary {
    /// Sums `folds` (at least one).
    pub fn new(folds: Vec<Fold>) -> Summary {
        let n: usize = folds.iter().map(|f| f.evaluation.n).sum();
        let names = folds
            .first()
            .map(|f| f.evaluation.rows.iter().map(|(name, _)| name.clone()))
            .into_iter()
            .flatten();
        let totals = names
            .map(|name| {
                let sum: f64 = folds
                    .iter()
                    .map(|f| {
                        f.evaluation.get(&name).map_or(f64::NAN, |m| m.mae) * f.evaluation.n as f64
                    })
                    .sum();
                (name, sum / n as f64)
            })
            .collect();
        let horizons = pool_horizons(&folds);
        let spans: Vec<Coverage> = folds.iter().filter_map(|f| f.intervals.clone()).collect();
        Summary {
            intervals: Coverage::pool(&spans),
            folds,
            n,
            totals,
            horizons,
        }
    }

    /// A forecaster's MAE over all folds (NaN if there is no such forecaster).
    pub fn total(&self, name: &str) -> f64 {
        self.totals
            .iter()
            .find(|(n, _)| n == name)
            .map_or(f64::NAN, |t| t.1)
    }

    /// The seasonal naive baseline's period and MAE over all folds, if it was scored.
    pub fn seasonal(&self) -> Option<(usize, f64)> {
        let m = self.folds.first()?.evaluation.season?;
        Some((m, self.total(&crate::evaluate::seasonal_name(m))))
    }
}

/// Every fold's horizon errors pooled: at each horizon, the mean over all origins of all
/// folds (a fold's MAE weighted by its origins there).
fn pool_horizons(folds: &[Fold]) -> Vec<HorizonError> {
    let steps = folds.iter().map(|f| f.horizons.len()).max().unwrap_or(0);
    (1..=steps)
        .filter_map(|h| {
            let rows: Vec<&HorizonError> =
                folds.iter().filter_map(|f| f.horizons.get(h - 1)).collect();
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
    use crate::evaluate::Metrics;

    #[test]
    fn folds_tile_the_span_in_order() {
        let f = fold_bounds(100, 30, 4).unwrap();
        assert_eq!(f, [70..77, 77..85, 85..92, 92..100]);
        assert_eq!(fold_bounds(100, 3, 4), Err(Cut::TooManyFolds));
        assert_eq!(fold_bounds(10, 30, 4), Err(Cut::SpanTooLong));
    }

    #[test]
    fn totals_weigh_each_fold_by_its_targets() {
        let fold = |n: usize, mae: f64| Fold {
            fold: 1,
            trained_to: String::new(),
            refit: true,
            evaluation: Evaluation {
                n,
                first_date: String::new(),
                last_date: String::new(),
                held_out: true,
                rows: vec![(
                    "model".into(),
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
            horizons: Vec::new(),
            intervals: None,
        };
        let s = Summary::new(vec![fold(10, 1.0), fold(30, 3.0)]);
        assert_eq!(s.n, 40);
        assert_eq!(s.total("model"), 2.5);
        assert!(s.total("naive").is_nan());
        assert_eq!(s.seasonal(), None);
    }
}

/// One fold of a global model's walk-forward evaluation: each series' fold, scored like
/// `evaluate` scores a held-out part, and pooled.
#[derive(Debug, Clone, Serialize)]
pub struct PanelFold {
    /// 1-based.
    pub fold: usize,
    /// False when the fold reused the previous fold's model (`--refit-every`).
    pub refit: bool,
    pub scores: PanelScores,
}

/// Every fold of a global model's backtest, and all of them pooled: each (series, fold)
/// counts the same.
#[derive(Debug, Clone, Serialize)]
pub struct PanelSummary {
    pub folds: Vec<PanelFold>,
    pub all: PanelScores,
}

impl PanelSummary {
    /// Pools `folds`; `None` when no fold scored a series.
    pub fn new(folds: Vec<PanelFold>) -> Option<PanelSummary> {
        let every = folds
            .iter()
            .flat_map(|f| f.scores.series.iter().cloned())
            .collect();
        Some(PanelSummary {
            all: PanelScores::new(every)?,
            folds,
        })
    }
}
