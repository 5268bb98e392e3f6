//! How a band of intervals is scored, as forecasting competitions (M4) score one: how
//! often it holds the truth (coverage, to compare with the level), how wide it is
//! (sharpness), and the mean scaled interval score (MSIS), which rewards a narrow interval
//! and charges 2/α per unit of each miss, so neither "always wide" nor "always narrow"
//! wins. The pinball loss scores any set of quantile forecasts the same way a quantile
//! head is trained.

use serde::Serialize;

use super::level::{Interval, IntervalError, Level};

/// Coverage within this many percentage points of the nominal level counts as calibrated.
pub const CALIBRATED_POINTS: f64 = 3.0;

/// One band of intervals at one level, scored against the truth.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct IntervalScores {
    pub level: Level,
    /// Targets scored.
    pub n: usize,
    /// Share of targets inside their interval, in percent (like evaluate's MAPE and
    /// directional accuracy), to compare with [`Level::percent`].
    pub coverage: f64,
    /// Mean width, in price units.
    pub width: f64,
    /// Mean scaled interval score: the mean [`Interval::score`] over the scale passed in
    /// (like MASE, 1 is the scale's own error; lower is better).
    pub msis: f64,
}

impl IntervalScores {
    /// Coverage within [`CALIBRATED_POINTS`] of the level.
    pub fn calibrated(&self) -> bool {
        (self.coverage - self.level.percent()).abs() <= CALIBRATED_POINTS
    }
}

/// Scores `intervals` at `level` against `truth` (one interval per true value).
///
/// `scale` divides the mean interval score into the MSIS, as MASE's denominator divides
/// the MAE; pass the same one as the point scores use, so that MSIS and MASE read alike:
/// [`crate::scores::naive_scale`] on the training part for one-step scores, or
/// [`crate::scores::seasonal_scale`] on the values before the origin for M4-style
/// scores of a forecast made in one go. `Err` for empty or unpaired input, a non-finite
/// true value, or a scale that is not a positive finite number (a flat training part).
pub fn score_intervals(
    truth: &[f64],
    intervals: &[Interval],
    level: Level,
    scale: f64,
) -> Result<IntervalScores, IntervalError> {
    check_pairs(truth, intervals.len())?;
    check_scale(scale)?;
    let n = truth.len() as f64;
    let (mut inside, mut width, mut score) = (0usize, 0.0, 0.0);
    for (&y, &i) in truth.iter().zip(intervals) {
        inside += usize::from(i.contains(y));
        width += i.width();
        score += i.score(y, level);
    }
    Ok(IntervalScores {
        level,
        n: truth.len(),
        coverage: 100.0 * inside as f64 / n,
        width: width / n,
        msis: score / n / scale,
    })
}

/// The pinball loss of quantile forecasts: for quantile level q and forecast f of truth y,
/// ρ_q(y − f) = max(q (y − f), (q − 1)(y − f)), averaged over every target and quantile.
/// `forecasts[t][j]` forecasts quantile `quantiles[j]` of `truth[t]`. Price units with
/// `scale` `None`; divided by the scale (as [`score_intervals`] takes it) with `Some`.
///
/// The ends of an interval at level 1 − α are forecasts of its [`Level::quantiles`], and
/// their two losses sum to α/2 times its interval score: the pinball loss over the
/// quantiles of several levels ranks bands as their interval scores do, in one figure.
/// `Err` for empty or unpaired input, a row with another number of forecasts than
/// quantiles, a quantile level outside (0, 1), a non-finite value, or a bad scale.
pub fn pinball(
    truth: &[f64],
    quantiles: &[f64],
    forecasts: &[Vec<f64>],
    scale: Option<f64>,
) -> Result<f64, IntervalError> {
    check_pairs(truth, forecasts.len())?;
    if quantiles.is_empty() {
        return Err(IntervalError::Empty);
    }
    if let Some(&q) = quantiles.iter().find(|&&q| !(q > 0.0 && q < 1.0)) {
        return Err(IntervalError::Quantile(q));
    }
    if let Some(s) = scale {
        check_scale(s)?;
    }
    let mut total = 0.0;
    for (t, (&y, row)) in truth.iter().zip(forecasts).enumerate() {
        if row.len() != quantiles.len() {
            return Err(IntervalError::Lengths {
                truth: quantiles.len(),
                forecasts: row.len(),
            });
        }
        for (&q, &f) in quantiles.iter().zip(row) {
            if !f.is_finite() {
                return Err(IntervalError::NotFinite {
                    what: "quantile forecast for target",
                    index: t,
                    value: f,
                });
            }
            let e = y - f;
            total += (q * e).max((q - 1.0) * e);
        }
    }
    let mean = total / (truth.len() * quantiles.len()) as f64;
    Ok(mean / scale.unwrap_or(1.0))
}

/// Non-empty, one forecast per true value, every true value finite.
fn check_pairs(truth: &[f64], forecasts: usize) -> Result<(), IntervalError> {
    if truth.is_empty() {
        return Err(IntervalError::Empty);
    }
    if truth.len() != forecasts {
        return Err(IntervalError::Lengths {
            truth: truth.len(),
            forecasts,
        });
    }
    match truth.iter().position(|y| !y.is_finite()) {
        Some(index) => Err(IntervalError::NotFinite {
            what: "true value",
            index,
            value: truth[index],
        }),
        None => Ok(()),
    }
}

fn check_scale(scale: f64) -> Result<(), IntervalError> {
    if scale > 0.0 && scale.is_finite() {
        Ok(())
    } else {
        Err(IntervalError::Scale(scale))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intervals::testing::{close, iv, level};

    #[test]
    fn scores_by_hand() {
        // 80 %: α = 0.2, so each unit of a miss costs 2/α = 10.
        // y = 5 in [4, 6]: 2. y = 1 below [2, 4] by 1: 2 + 10. y = 9 above [5, 8] by 1: 3 + 10.
        // y = 7 on the upper end of [6, 7]: inside, 1.
        let truth = [5.0, 1.0, 9.0, 7.0];
        let bands = [iv(4.0, 6.0), iv(2.0, 4.0), iv(5.0, 8.0), iv(6.0, 7.0)];
        let s = score_intervals(&truth, &bands, level(0.8), 2.0).unwrap();
        assert_eq!(s.n, 4);
        assert_eq!(s.coverage, 50.0);
        assert_eq!(s.width, 2.0);
        // Scores 2, 12, 13, 1: mean 7, over the scale 2.
        assert!(close(s.msis, 3.5), "{}", s.msis);
        assert!(!s.calibrated());
        let all_in = score_intervals(&[5.0], &[iv(4.0, 6.0)], level(0.98), 1.0).unwrap();
        assert!(all_in.calibrated() && all_in.coverage == 100.0);

        // Pinball at q = 0.1, 0.5, 0.9 of y = 10: forecasts 8, 10, 13 lose
        // 0.1·2, 0, 0.1·3; forecasts of y = 0 at 1, 2, 3 lose 0.9·1, 0.5·2, 0.1·3.
        let q = [0.1, 0.5, 0.9];
        let f = vec![vec![8.0, 10.0, 13.0], vec![1.0, 2.0, 3.0]];
        let want = (0.2 + 0.0 + 0.3 + 0.9 + 1.0 + 0.3) / 6.0;
        assert!(close(pinball(&[10.0, 0.0], &q, &f, None).unwrap(), want));
        assert!(close(
            pinball(&[10.0, 0.0], &q, &f, Some(4.0)).unwrap(),
            want / 4.0
        ));
    }

    #[test]
    fn an_intervals_two_pinball_losses_are_its_interval_score_times_alpha_over_two() {
        let l = level(0.9);
        let truth = [0.0, 3.0, -2.0, 10.0];
        let bands = [iv(-1.0, 1.0), iv(-1.0, 1.0), iv(-1.5, 4.0), iv(2.0, 2.5)];
        let rows: Vec<Vec<f64>> = bands.iter().map(|b| vec![b.lower(), b.upper()]).collect();
        let loss = pinball(&truth, &l.quantiles(), &rows, None).unwrap();
        let s = score_intervals(&truth, &bands, l, 1.0).unwrap();
        // Mean over 2 quantiles: (α/2)·IS / 2.
        assert!(close(loss, l.alpha() / 4.0 * s.msis), "{loss} {}", s.msis);
    }

    #[test]
    fn nothing_is_scored_that_cannot_be() {
        let l = level(0.8);
        assert_eq!(score_intervals(&[], &[], l, 1.0), Err(IntervalError::Empty));
        assert_eq!(
            score_intervals(&[1.0], &[], l, 1.0),
            Err(IntervalError::Lengths {
                truth: 1,
                forecasts: 0
            })
        );
        assert!(matches!(
            score_intervals(&[1.0, f64::NAN], &[iv(0.0, 1.0); 2], l, 1.0),
            Err(IntervalError::NotFinite { index: 1, .. })
        ));
        for scale in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                score_intervals(&[1.0], &[iv(0.0, 1.0)], l, scale),
                Err(IntervalError::Scale(_))
            ));
        }
        let f = vec![vec![1.0]];
        assert_eq!(
            pinball(&[1.0], &[], &[vec![]], None),
            Err(IntervalError::Empty)
        );
        assert_eq!(
            pinball(&[1.0], &[1.0], &f, None),
            Err(IntervalError::Quantile(1.0))
        );
        assert!(pinball(&[1.0], &[0.5, 0.9], &f, None).is_err());
        assert!(pinball(&[1.0], &[0.5], &[vec![f64::NAN]], None).is_err());
        assert!(pinball(&[1.0], &[0.5], &f, Some(0.0)).is_err());
    }
}
