//! How honest a model's intervals are on data it never saw: for each step ahead and level
//! asked for, the coverage, mean width and MSIS of its calibrated intervals over the
//! held-out part, with the pinball loss of their ends, beside the two naive-quantile
//! baselines of [`crate::intervals`] on the same targets; and one sentence that says whether
//! the intervals are calibrated and sharper than the baselines.
//!
//! Asked for ([`Sampling`]), the model's Monte Carlo dropout intervals
//! ([`crate::intervals::mc_dropout`]) are scored too, in rows of their own after the calibrated ones,
//! with one more sentence on whether they cover what they say. A model without a
//! calibration (written before gruf 1.5) can still score those.
//!
//! Every forecast is made from an origin inside the held-out part, from the values before
//! it: target `t` at `h` steps ahead is forecast from origin `t − h + 1`, so each row
//! scores the same targets for the model and for both baselines.

use std::ops::Range;

use serde::Serialize;

use crate::features::Columns;
use crate::forecast::Forecaster;
use crate::intervals::baselines::{Baseline, Changes, History, PastChanges};
use crate::intervals::conformal::Method;
use crate::intervals::mc_dropout::{sample_bands, Sampling};
use crate::intervals::scores::{pinball, score_intervals, IntervalScores, CALIBRATED_POINTS};
use crate::intervals::{Interval, Level};
use crate::rng::Rng64;
use crate::series::calendar::Calendar;

/// Who made a row's intervals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Maker {
    /// The model, with its calibration.
    Model,
    /// The model's Monte Carlo dropout intervals from `n` samples (not calibrated).
    Samples { n: usize },
    /// A naive-quantile baseline.
    Naive(Baseline),
}

impl Maker {
    /// A few words for tables: `model`, `naive, whole history`, `naive, last 90 days`.
    pub fn name(&self, calendar: &Calendar) -> String {
        match self {
            Maker::Model => "model".into(),
            Maker::Samples { n } => format!("model, MC dropout ({n} samples)"),
            Maker::Naive(b) => match b.history {
                History::Whole => "naive, whole history".into(),
                History::Rolling { steps } => match *calendar {
                    // Intraday: the window is ROLLING_DAYS days of steps.
                    Calendar::Fixed { seconds } if calendar.intraday() && seconds > 0 => {
                        format!("naive, last {} days", steps as i64 * seconds / 86_400)
                    }
                    _ => format!("naive, last {}", calendar.count(steps)),
                },
            },
        }
    }
}

/// One forecaster's intervals at one step ahead, every level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub source: Maker,
    /// Steps ahead (from 1).
    pub steps: usize,
    /// One per level, in the order of [`Coverage::levels`].
    pub scores: Vec<IntervalScores>,
    /// The mean pinball loss of the interval ends (the quantiles α/2 and 1 − α/2 of every
    /// level), scaled like the MSIS.
    pub pinball: f64,
}

/// A model's intervals on the held-out part, beside the baselines.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    /// How the model's calibrated intervals were made; `None` for a model without a
    /// calibration, scored on its MC dropout intervals alone.
    #[serde(serialize_with = "method_name")]
    pub method: Option<Method>,
    pub levels: Vec<Level>,
    /// For each step ahead asked for: the model's row, then each baseline's that could be
    /// built (one with too little history for a level is left out).
    pub rows: Vec<Row>,
    /// The calendar's names, for tables.
    #[serde(skip)]
    pub calendar: Calendar,
    /// For a panel: the number of series whose rows were pooled, each row then covering
    /// every series' targets at its `steps` ahead ([`Coverage::pool`]).
    pub pooled_series: Option<usize>,
}

fn method_name<S: serde::Serializer>(m: &Option<Method>, s: S) -> Result<S::Ok, S::Error> {
    match m {
        Some(m) => s.serialize_str(m.name()),
        None => s.serialize_none(),
    }
}

/// Scores the intervals of `forecaster` (calibrated) at each of `steps` ahead and each of
/// `levels`, over the targets in `held_out` (of `columns`), beside the naive baselines.
/// `scale` scales MSIS and the pinball loss (the MASE scale). Steps that no origin in the
/// held-out part reaches are left out.
pub fn score(
    forecaster: &Forecaster,
    columns: Columns<'_>,
    held_out: Range<usize>,
    steps: &[usize],
    levels: &[Level],
    scale: f64,
) -> anyhow::Result<Coverage> {
    score_with(forecaster, columns, held_out, steps, levels, scale, None)
}

/// Sampled rows per group of origins in [`score_with`]: bounds the paths held at once
/// (a long held-out part times 10,000 samples would not fit).
const SAMPLED_ROWS: usize = 16_384;

/// As [`score`], with `sampling` the model's MC dropout intervals scored too, after its
/// calibrated ones (a model without a calibration is scored on those alone). The origins
/// are sampled a group at a time from one generator seeded with `sampling.seed`, so the
/// same seed gives the same scores.
pub fn score_with(
    forecaster: &Forecaster,
    columns: Columns<'_>,
    held_out: Range<usize>,
    steps: &[usize],
    levels: &[Level],
    scale: f64,
    sampling: Option<Sampling>,
) -> anyhow::Result<Coverage> {
    let calibration = forecaster.calibration();
    if calibration.is_none() && sampling.is_none() {
        return Err(crate::intervals::conformal::CalibrationError::Missing.into());
    }
    let values = columns.values;
    let longest = steps.iter().copied().max().unwrap_or(0);
    let origins: Vec<usize> = held_out.clone().collect();
    let reach = longest.min(held_out.len());
    let paths = if reach > 0 && calibration.is_some() {
        forecaster.banded(columns, &origins, reach, levels)?
    } else {
        Vec::new()
    };
    // sampled[i][l][k]: origin i's MC dropout interval at level l, k + 1 steps ahead.
    let mut sampled: Vec<Vec<Vec<Interval>>> = Vec::new();
    if let Some(s) = sampling.filter(|_| reach > 0) {
        use rand::SeedableRng;
        let mut rng = Rng64::seed_from_u64(s.seed);
        let group = (SAMPLED_ROWS / s.samples).max(1);
        // Each band holds the forecast made without dropout, as `predict` shows it: the
        // calibrated paths' points when there are some, else those forecasts made here.
        let points: Vec<Vec<f64>> = match paths.is_empty() {
            true => forecaster.paths(columns, &origins, reach)?,
            false => paths.iter().map(|b| b.point.clone()).collect(),
        };
        for (some, points) in origins.chunks(group).zip(points.chunks(group)) {
            let samples =
                forecaster.sample_paths_with(columns, some, reach, s.samples, &mut rng)?;
            for (paths, point) in samples.iter().zip(points) {
                let mut bands = sample_bands(paths, levels)?;
                for band in &mut bands {
                    band.hold(point);
                }
                sampled.push(bands.into_iter().map(|b| b.intervals).collect());
            }
        }
    }
    let changes = Changes::for_values(&values[..held_out.start]);
    let baselines = [
        Baseline {
            changes,
            history: History::Whole,
        },
        Baseline {
            changes,
            history: History::rolling_for(&columns.calendar),
        },
    ];
    let mut rows = Vec::new();
    for &h in steps {
        // Targets t = o + h − 1 inside the held-out part, from origins inside it.
        let scored: Vec<usize> = (0..origins.len())
            .filter(|&i| h >= 1 && origins[i] + h - 1 < held_out.end)
            .collect();
        if scored.is_empty() {
            continue;
        }
        let truth: Vec<f64> = scored.iter().map(|&i| values[origins[i] + h - 1]).collect();
        if calibration.is_some() {
            // The model's interval at each level, for each target.
            let mut model: Vec<Vec<Interval>> =
                vec![Vec::with_capacity(scored.len()); levels.len()];
            for &i in &scored {
                for (l, band) in paths[i].bands.iter().enumerate() {
                    model[l].push(band.intervals[h - 1]);
                }
            }
            rows.push(row(Maker::Model, h, &truth, &model, levels, scale)?);
        }
        if let Some(s) = sampling {
            let mc: Vec<Vec<Interval>> = (0..levels.len())
                .map(|l| scored.iter().map(|&i| sampled[i][l][h - 1]).collect())
                .collect();
            let source = Maker::Samples { n: s.samples };
            rows.push(row(source, h, &truth, &mc, levels, scale)?);
        }
        'baseline: for baseline in baselines {
            let mut naive: Vec<Vec<Interval>> =
                vec![Vec::with_capacity(scored.len()); levels.len()];
            for &i in &scored {
                let Ok(past) = PastChanges::new(values, origins[i], h, baseline) else {
                    continue 'baseline;
                };
                for (l, &level) in levels.iter().enumerate() {
                    let Ok(interval) = past.interval(level) else {
                        continue 'baseline;
                    };
                    naive[l].push(interval);
                }
            }
            rows.push(row(
                Maker::Naive(baseline),
                h,
                &truth,
                &naive,
                levels,
                scale,
            )?);
        }
    }
    Ok(Coverage {
        method: calibration.map(|c| c.method),
        levels: levels.to_vec(),
        rows,
        calendar: columns.calendar,
        pooled_series: None,
    })
}

/// Scores one forecaster's intervals (`intervals[level][target]`).
fn row(
    source: Maker,
    steps: usize,
    truth: &[f64],
    intervals: &[Vec<Interval>],
    levels: &[Level],
    scale: f64,
) -> anyhow::Result<Row> {
    let scores = (levels.iter().zip(intervals))
        .map(|(&level, band)| score_intervals(truth, band, level, scale))
        .collect::<Result<Vec<_>, _>>()?;
    // Each interval's ends forecast its level's two quantiles.
    let quantiles: Vec<f64> = levels.iter().flat_map(|l| l.quantiles()).collect();
    let forecasts: Vec<Vec<f64>> = (0..truth.len())
        .map(|t| {
            (intervals.iter())
                .flat_map(|band| [band[t].lower(), band[t].upper()])
                .collect()
        })
        .collect();
    let pinball = pinball(truth, &quantiles, &forecasts, Some(scale))?;
    Ok(Row {
        source,
        steps,
        scores,
        pinball,
    })
}

impl Coverage {
    /// The steps ahead scored, in order.
    pub fn steps(&self) -> Vec<usize> {
        let mut steps: Vec<usize> = self.rows.iter().map(|r| r.steps).collect();
        steps.dedup();
        steps
    }

    /// One plain sentence per step ahead: whether the model's intervals are calibrated
    /// (coverage within ±[`CALIBRATED_POINTS`] of each level) and whether their MSIS is
    /// lower than each baseline's at every level.
    pub fn verdict(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for h in self.steps() {
            let rows: Vec<&Row> = self.rows.iter().filter(|r| r.steps == h).collect();
            let ahead = match self.pooled_series {
                Some(n) => format!(
                    "{h} step{} ahead, pooled over {n} series",
                    if h == 1 { "" } else { "s" }
                ),
                None => format!("{h} step{} ahead", if h == 1 { "" } else { "s" }),
            };
            let sampled = (rows.iter())
                .find_map(|r| match r.source {
                    Maker::Samples { n } => Some((n, r)),
                    _ => None,
                })
                .map(|(n, r)| {
                    format!(
                        "MC dropout's intervals ({n} samples) are {}.",
                        calibration_words(&r.scores)
                    )
                });
            let Some(model) = rows.iter().find(|r| r.source == Maker::Model) else {
                if let Some(sampled) = sampled {
                    lines.push(format!("{ahead}: {sampled}"));
                }
                continue;
            };
            let calibrated = format!("the intervals are {}", calibration_words(&model.scores));
            let baselines: Vec<&&Row> = (rows.iter())
                .filter(|r| matches!(r.source, Maker::Naive(_)))
                .collect();
            let beaten: Vec<bool> = (baselines.iter())
                .map(|b| (model.scores.iter().zip(&b.scores)).all(|(m, n)| m.msis < n.msis))
                .collect();
            let sharper = match (beaten.iter().filter(|&&b| b).count(), beaten.len()) {
                (_, 0) => "no baseline could be built to compare with".to_string(),
                (k, n) if k == n => format!(
                    "their MSIS is lower than {} at every level",
                    if n == 1 {
                        "the baseline's"
                    } else {
                        "both baselines'"
                    }
                ),
                (0, _) => "their MSIS is not lower than either baseline's at every level".into(),
                _ => {
                    let names: Vec<String> = (baselines.iter().zip(&beaten))
                        .filter(|(_, &b)| b)
                        .map(|(r, _)| r.source.name(&self.calendar))
                        .collect();
                    format!(
                        "their MSIS is lower than {}'s at every level, but not the other baseline's",
                        names.join(", ")
                    )
                }
            };
            let mut line = format!("{ahead}: {calibrated}; {sharper}.");
            if let Some(sampled) = sampled {
                line.push(' ');
                line.push_str(&sampled);
            }
            lines.push(line);
        }
        lines
    }
}

/// `calibrated (80 % covers 79.2 %, 95 % covers 94.1 %; within ±3 points)`, or `not
/// calibrated (…)` naming each level that is off, by how much and which way.
fn calibration_words(scores: &[IntervalScores]) -> String {
    let off: Vec<String> = (scores.iter())
        .filter(|s| !s.calibrated())
        .map(|s| {
            let gap = s.coverage - s.level.percent();
            format!(
                "{} % covers {:.1} % ({:.1} points {})",
                s.level.label(),
                s.coverage,
                gap.abs(),
                if gap < 0.0 { "under" } else { "over" }
            )
        })
        .collect();
    if off.is_empty() {
        let covers: Vec<String> = (scores.iter())
            .map(|s| format!("{} % covers {:.1} %", s.level.label(), s.coverage))
            .collect();
        format!(
            "calibrated ({}; within ±{CALIBRATED_POINTS} points)",
            covers.join(", ")
        )
    } else {
        format!("not calibrated ({})", off.join("; "))
    }
}

/// Rows of the same forecaster and steps pooled into one, in the order each first
/// appears: coverage, width, MSIS and the pinball loss as means over every target (each
/// row weighted by its targets).
pub fn pool_rows(rows: Vec<Row>) -> Vec<Row> {
    let mut groups: Vec<Vec<Row>> = Vec::new();
    for r in rows {
        match (groups.iter_mut()).find(|g| g[0].source == r.source && g[0].steps == r.steps) {
            Some(g) => g.push(r),
            None => groups.push(vec![r]),
        }
    }
    groups
        .into_iter()
        .map(|each| {
            let n: usize = each.iter().map(|r| r.scores[0].n).sum();
            let weigh = |f: &dyn Fn(&Row) -> f64| {
                each.iter()
                    .map(|r| f(r) * r.scores[0].n as f64)
                    .sum::<f64>()
                    / n as f64
            };
            let scores = (0..each[0].scores.len())
                .map(|l| IntervalScores {
                    level: each[0].scores[l].level,
                    n,
                    coverage: weigh(&|r| r.scores[l].coverage),
                    width: weigh(&|r| r.scores[l].width),
                    msis: weigh(&|r| r.scores[l].msis),
                })
                .collect();
            Row {
                source: each[0].source,
                steps: each[0].steps,
                scores,
                pinball: weigh(&|r| r.pinball),
            }
        })
        .collect()
}

impl Coverage {
    /// Several spans' scores (a backtest's folds) as one: each row pooled over the spans
    /// by its targets. `None` for none.
    pub fn pool(spans: &[Coverage]) -> Option<Coverage> {
        let first = spans.first()?;
        Some(Coverage {
            rows: pool_rows(spans.iter().flat_map(|c| c.rows.iter().cloned()).collect()),
            ..first.clone()
        })
    }
}
