//! What a trial is judged by: its forecasts of each series' validation part, never its
//! test part. From origins `steps` apart across the part, each forecast `steps` ahead
//! (one step: every validation target from the true past), scored as forecasting
//! competitions score a forecast: sMAPE, and MASE scaled by the seasonal naive forecast's
//! error on the history before the origin (the naive forecast's without a season). Each
//! series' mean over its origins, then the mean over the series, each counting the same.

use std::ops::Range;

use crate::features::Columns;
use crate::forecast::Forecaster;
use crate::scores::{score_ahead, Contender};

use super::log::{Beats, Score};

/// The origins of forecasts of `steps` across `part`: its start, then every `steps`
/// while a whole forecast fits; just the start, for a part shorter than one forecast.
pub fn origins(part: &Range<usize>, steps: usize) -> Vec<usize> {
    let steps = steps.max(1);
    let mut origins: Vec<usize> = part
        .clone()
        .step_by(steps)
        .take_while(|o| o + steps <= part.end)
        .collect();
    if origins.is_empty() && !part.is_empty() {
        origins.push(part.start);
    }
    origins
}

/// One series' validation scores: the model's, the naive forecast's and (with a season
/// of history before the part) the seasonal naive's; pooled, the means over the series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesScore {
    pub model: Score,
    pub naive: Score,
    pub seasonal: Option<Score>,
    /// Whether the model's MASE is below both baselines' (the naive's and, where there is
    /// one, the seasonal naive's): 0 or 1 of 1 for a series, the count over the series
    /// pooled.
    pub beats: Beats,
}

/// Scores `forecaster` on `part` of a series (`columns`, which it reads only up to the
/// part's end) by forecasts of `steps` (fewer for a part shorter than that). `season`:
/// the seasonal naive's period and the MASE scale's; `None` scales by the naive error.
pub fn score<'a>(
    forecaster: &Forecaster,
    columns: impl Into<Columns<'a>>,
    part: Range<usize>,
    steps: usize,
    season: Option<usize>,
) -> anyhow::Result<SeriesScore> {
    let columns = columns.into();
    let steps = steps.min(part.len()).max(1);
    let origins = origins(&part, steps);
    let paths = forecaster.paths(columns, &origins, steps)?;
    // Only what comes before the part's end is read: the test part never is.
    Ok(score_paths(
        &columns.values[..part.end],
        &origins,
        &paths,
        season,
    ))
}

/// The naive forecast scored as [`score`] scores a model (its `model` is the naive's
/// own score): what every trial is measured against.
pub fn baselines(
    values: &[f64],
    part: Range<usize>,
    steps: usize,
    season: Option<usize>,
) -> SeriesScore {
    let steps = steps.min(part.len()).max(1);
    let origins = origins(&part, steps);
    let paths: Vec<Vec<f64>> = origins
        .iter()
        .map(|&o| vec![values[o - 1]; steps])
        .collect();
    score_paths(&values[..part.end], &origins, &paths, season)
}

/// `paths[i]`, forecast at `origins[i]`, scored on `values` (which end with the part).
fn score_paths(
    values: &[f64],
    origins: &[usize],
    paths: &[Vec<f64>],
    season: Option<usize>,
) -> SeriesScore {
    let first = origins.first().copied().unwrap_or(0);
    let season = season.filter(|&m| m > 1 && m < first);
    let mut sums = [Score::default(); 3];
    let mut seasonal_origins = 0;
    for (&origin, path) in origins.iter().zip(paths) {
        let ahead = score_ahead(values, origin, path, season);
        for (who, e) in &ahead.rows {
            let slot = match who {
                Contender::Model => 0,
                Contender::Naive => 1,
                Contender::SeasonalNaive(_) => {
                    seasonal_origins += 1;
                    2
                }
                _ => continue,
            };
            sums[slot].mase += e.mase;
            sums[slot].smape += e.smape;
        }
    }
    let mean = |s: Score, n: usize| Score {
        mase: s.mase / n as f64,
        smape: s.smape / n as f64,
    };
    let n = origins.len();
    let (model, naive) = (mean(sums[0], n), mean(sums[1], n));
    let seasonal = (seasonal_origins == n).then(|| mean(sums[2], n));
    // The better of the two baselines on this series.
    let bar = seasonal.map_or(naive.mase, |s| s.mase.min(naive.mase));
    SeriesScore {
        model,
        naive,
        seasonal,
        beats: Beats {
            series: usize::from(model.mase < bar),
            of: 1,
        },
    }
}

/// The series' scores pooled: each score's mean over the series (the seasonal naive's only
/// when every series has one).
pub fn pool(series: &[SeriesScore]) -> Option<SeriesScore> {
    if series.is_empty() {
        return None;
    }
    let n = series.len() as f64;
    let mean = |get: &dyn Fn(&SeriesScore) -> Score| Score {
        mase: series.iter().map(|s| get(s).mase).sum::<f64>() / n,
        smape: series.iter().map(|s| get(s).smape).sum::<f64>() / n,
    };
    let seasonal = series
        .iter()
        .all(|s| s.seasonal.is_some())
        .then(|| mean(&|s| s.seasonal.unwrap_or_default()));
    Some(SeriesScore {
        model: mean(&|s| s.model),
        naive: mean(&|s| s.naive),
        seasonal,
        beats: series.iter().fold(Beats::default(), |sum, s| sum + s.beats),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_tile_the_part_with_whole_forecasts() {
        assert_eq!(origins(&(100..110), 1), (100..110).collect::<Vec<_>>());
        assert_eq!(origins(&(100..200), 48), vec![100, 148]);
        assert_eq!(origins(&(100..120), 48), vec![100]);
        assert!(origins(&(100..100), 48).is_empty());
    }

    /// The naive baseline scores as the naive row of a model's score, and MASE is the
    /// model's error over the seasonal naive's in-sample error.
    #[test]
    fn baselines_score_the_naive_and_the_seasonal_naive() {
        // A pure season of 4 plus a trend: the seasonal naive is off by the trend only.
        let values: Vec<f64> = (0..40)
            .map(|t| 10.0 + [0.0, 3.0, 1.0, 2.0][t % 4] + 0.1 * t as f64)
            .collect();
        let b = baselines(&values, 32..40, 4, Some(4));
        assert_eq!(b.model, b.naive);
        // The naive does not beat the seasonal naive on a pure season (nor itself).
        assert_eq!(b.beats, Beats { series: 0, of: 1 });
        let seasonal = b.seasonal.unwrap();
        assert!((seasonal.mase - 1.0).abs() < 1e-9, "{seasonal:?}");
        assert!((b.naive.mase - 2.625).abs() < 1e-9, "{:?}", b.naive);
        // Without a season, MASE is scaled by the naive error.
        let plain = baselines(&values, 32..40, 1, None);
        assert!(plain.seasonal.is_none());
        assert!((plain.naive.mase - 1.0).abs() < 0.5);
    }

    #[test]
    fn pooling_counts_each_series_the_same() {
        let s = |m: f64, seasonal: Option<f64>| SeriesScore {
            model: Score {
                mase: m,
                smape: 10.0 * m,
            },
            naive: Score {
                mase: 1.0,
                smape: 10.0,
            },
            seasonal: seasonal.map(|x| Score { mase: x, smape: x }),
            beats: Beats {
                series: usize::from(m < seasonal.map_or(1.0, |x| x.min(1.0))),
                of: 1,
            },
        };
        let pooled = pool(&[s(0.5, Some(1.0)), s(1.5, Some(3.0))]).unwrap();
        assert_eq!(
            pooled.model,
            Score {
                mase: 1.0,
                smape: 10.0
            }
        );
        assert_eq!(
            pooled.seasonal,
            Some(Score {
                mase: 2.0,
                smape: 2.0
            })
        );
        // The second series beats its seasonal naive (3.0) but not its naive (1.0).
        assert_eq!(pooled.beats, Beats { series: 1, of: 2 });
        let mixed = pool(&[s(0.5, Some(1.0)), s(1.5, None)]).unwrap();
        assert_eq!(mixed.seasonal, None);
        // The second series loses to its naive forecast (MASE 1.0).
        assert_eq!(mixed.beats, Beats { series: 1, of: 2 });
        assert!(pool(&[]).is_none());
    }
}
