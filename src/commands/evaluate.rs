//! `gruf evaluate`: each series' held-out part scored beside the baselines, one step at a
//! time, at each horizon, forecast in one go from its start, and its intervals; pooled over
//! the series of a panel. One series is a panel of one: it is reported alone.

use crate::checkpoint::Meta;
use crate::cli::EvaluateArgs;
use crate::config::check_season;
use crate::error::GrufError;
use crate::evaluation::evaluate::{PanelScores, SeriesScores};
use crate::intervals::conformal::{default_levels, CalibrationError};
use crate::intervals::mc_dropout::Sampling;
use crate::intervals::Level;
use crate::io::output::print;
use crate::scores::{season_left_out, Scoring, FEW};
use crate::text::plural;

use super::held_out::Span;
use super::open::{Opened, OpenedSeries};
use super::INTERVAL_STEPS;
use super::{
    device, interval_levels, note, note_ensemble, renderer, sampling, season_for, warn, warn_if_few,
};

pub(super) fn run(args: EvaluateArgs) -> anyhow::Result<()> {
    if let Some(season) = args.season {
        check_season(season)?;
    }
    let device = device();
    let stored = crate::checkpoint::Checkpoint::load(&args.source.model, &device)?;
    let opened = Opened::open(&args.source, stored)?;
    let meta = opened.meta();
    note_ensemble(&args.source.model, meta);
    let subjects = opened.subjects(&args.source.series, &device)?;
    let intervals = Intervals::asked(&args, meta)?;
    let alone = matches!(subjects.as_slice(), [one] if one.id().is_empty());
    let wanted = horizons_wanted(&args, meta);
    let mut scores = Vec::with_capacity(subjects.len());
    let mut left_out: Vec<(usize, usize, &OpenedSeries)> = Vec::new();
    let mut unscored: Vec<&str> = Vec::new();
    for subject in &subjects {
        match score(&args, &opened, subject, &intervals, wanted, alone)? {
            Scored::Done(s, season) => {
                if let Some((m, first)) = season {
                    left_out.push((m, first, subject));
                }
                scores.push(*s)
            }
            Scored::Nothing(why) if alone => return Err(why.into()),
            Scored::Nothing(_) => unscored.push(subject.id()),
        }
    }
    if let Some(&(m, first, subject)) = left_out.first() {
        let which = match (left_out.len(), subject.id()) {
            (1, "") => String::new(),
            (1, id) => format!("series '{id}': "),
            (n, id) => format!("{n} series (first '{id}'): "),
        };
        note(&format!(
            "{which}{}",
            season_left_out(m, first, subject.series().calendar)
        ));
    }
    let Some(scores) = PanelScores::new(scores) else {
        return Err(GrufError::data(
            opened.path(),
            format!(
                "no held-out data in {}: the model trained on every row of its series; pass --csv with newer rows",
                super::panel_words(&opened.panel)
            ),
        )
        .into());
    };
    if !unscored.is_empty() {
        warn(&format!(
            "{} of {} series have no held-out row to score; they are left out",
            unscored.len(),
            subjects.len()
        ));
    }
    if wanted > 0 {
        warn_horizons(&scores, wanted);
    }
    print(renderer(args.format).evaluation(&scores)?.as_bytes())
}

/// A series' scores, with the seasonal period left out of them and the first target
/// (for a note); or why it has nothing to score.
enum Scored {
    Done(Box<SeriesScores>, Option<(usize, usize)>),
    Nothing(GrufError),
}

/// Scores `subject`'s held-out part: from its first row with the model's input before
/// it, one step at a time and at each horizon; in one go from its start; its intervals.
fn score(
    args: &EvaluateArgs,
    opened: &Opened,
    subject: &OpenedSeries,
    intervals: &Intervals,
    wanted: usize,
    alone: bool,
) -> anyhow::Result<Scored> {
    let meta = opened.meta();
    let (series, forecaster) = (subject.series(), &subject.forecaster);
    let path = subject.named.path();
    let cal = series.calendar;
    let held_out = subject.held_out();
    if held_out >= series.len() {
        return Ok(Scored::Nothing(GrufError::data(
            path,
            format!(
                "no held-out data: the model trained on everything up to {}; pass --csv with newer rows",
                meta.data.last_date
            ),
        )));
    }
    let history = forecaster.lookback();
    let start = held_out.max(history);
    if start >= series.len() {
        return Ok(Scored::Nothing(GrufError::data(
            path,
            format!(
                "nothing to score: {} held-out row{}, but each scored row needs the {} before it as input; \
                 pass a --csv that also holds the rows before the new ones",
                series.len() - held_out,
                plural(series.len() - held_out),
                cal.count(history),
            ),
        )));
    }
    let mase_scale = super::mase_scale(meta, &subject.fitted, &series.values[..start]);
    let (scoring, left_out) = Scoring {
        mase_scale,
        season: season_for(args.season, meta.config.data.season, series),
        held_out: true,
    }
    .from_target(start);
    let one_step =
        crate::evaluation::evaluate::evaluate(forecaster, series, start..series.len(), scoring)?;
    if alone {
        warn_if_few(one_step.n, &cal.count(one_step.n), "the one-step table");
    }
    let horizons = match wanted {
        0 => Vec::new(),
        wanted => crate::evaluation::evaluate::horizon_errors(
            forecaster,
            series,
            start..series.len(),
            wanted,
            scoring.season,
        )?,
    };
    // The part forecast in one go from its start, as forecasting competitions score it.
    let ahead = match held_out >= history {
        true => {
            let part = Span {
                id: subject.id(),
                origin: held_out,
                end: series.len(),
                mase_scale,
                season: scoring.season,
            };
            Some(part.in_one_go(forecaster, series)?.ahead)
        }
        false => None,
    };
    let intervals = intervals.score(subject, start, mase_scale)?;
    let scores = SeriesScores {
        id: subject.id().to_string(),
        seen: subject.seen(),
        one_step,
        ahead,
        horizons,
        mase_scale,
        intervals,
    };
    Ok(Scored::Done(Box::new(scores), left_out.map(|m| (m, start))))
}

/// The horizons scored: `--horizon`, else the model's K when it predicts several steps at
/// once, else 7; at most K for a model with covariates, whose future is unknown (said when
/// `--horizon` asked for more).
fn horizons_wanted(args: &EvaluateArgs, meta: &Meta) -> usize {
    let k = meta.model().framing.horizon;
    let wanted = args
        .horizon
        .map_or(if k > 1 { k } else { 7 }, |n| n as usize);
    if meta.first().inputs.is_empty() || wanted <= k {
        return wanted;
    }
    if args.horizon.is_some() {
        warn(&format!(
            "this model reads --inputs, whose future is unknown: it forecasts at most its horizon, so the horizon table stops at {k} (train with a larger --horizon to score further)"
        ));
    }
    k
}

/// Says when the horizon table stops short of `wanted` (too little held out), or when its
/// last horizon rests on few origins.
fn warn_horizons(scores: &PanelScores, wanted: usize) {
    let furthest = (scores.series.iter())
        .map(|s| s.horizons.len())
        .max()
        .unwrap_or(0);
    let e = &scores.series[0].one_step;
    if furthest < wanted {
        let held = match scores.alone() {
            Some(_) => e.calendar.unwrap_or_default().count(e.n),
            None => "that much in any series".to_string(),
        };
        warn(&format!(
            "horizons {}..{wanted} cannot be scored: only {held} held out; the horizon table stops at {furthest}",
            furthest + 1,
        ));
    }
    let last = match scores.alone() {
        Some(one) => one.horizons.last().map(|h| (h.horizon, h.origins)),
        None => scores.horizons.last().map(|h| (h.horizon, h.origins)),
    };
    if let Some((horizon, origins)) = last.filter(|&(h, n)| n < FEW && h > 1) {
        warn_if_few(
            origins,
            &format!("{origins} origin{}", plural(origins)),
            &format!("horizon {horizon}"),
        );
    }
}

/// The intervals `evaluate` scores, settled once for every series: the levels (those
/// asked for, else those the calibration offers), the steps ahead, and MC dropout's
/// sampling (`--samples`); `None` when nothing is to be scored.
struct Intervals {
    scored: Option<(Vec<Level>, Vec<usize>, Option<Sampling>)>,
}

impl Intervals {
    /// What `args` ask of a model with `meta`: an error when the model cannot give it (no
    /// calibration, a level or step its validation forecasts are too few for, `--samples`
    /// without dropout).
    fn asked(args: &EvaluateArgs, meta: &Meta) -> anyhow::Result<Intervals> {
        let none = Intervals { scored: None };
        let sampling = sampling(args.samples, args.seed, meta, &args.source.model)?;
        let calibration = meta.calibration.as_ref();
        let levels = match (calibration, sampling) {
            (None, Some(_)) if args.interval.is_empty() => default_levels(),
            (None, Some(_)) => Level::sorted(&args.interval),
            _ => interval_levels(&args.interval, meta, &args.source.model)?,
        };
        if levels.is_empty() || (calibration.is_none() && sampling.is_none()) {
            if !args.interval_steps.is_empty() {
                return Err(GrufError::model(
                    &args.source.model,
                    CalibrationError::Missing.to_string(),
                )
                .into());
            }
            return Ok(none);
        }
        let mut steps: Vec<usize> = match (args.interval_steps.is_empty(), calibration) {
            (true, Some(calibration)) => {
                let (steps, reach) = super::interval_steps(calibration, &levels);
                if steps.len() < INTERVAL_STEPS.len() {
                    let cal = meta.data.calendar.unwrap_or_default();
                    note(&format!(
                        "intervals are scored up to {} ahead: further out, the validation part \
                         holds too few forecasts for every level (retrain with a larger \
                         --val-fraction)",
                        cal.count(reach)
                    ));
                }
                steps
            }
            (true, None) => INTERVAL_STEPS.to_vec(),
            (false, _) => args.interval_steps.iter().map(|&h| h as usize).collect(),
        };
        steps.sort_unstable();
        steps.dedup();
        let furthest = steps.last().copied().unwrap_or(1);
        if let Some(calibration) = calibration {
            calibration
                .check(furthest, &levels)
                .map_err(|e| GrufError::usage(format!("--interval: {e}")))?;
        }
        Ok(Intervals {
            scored: Some((levels, steps, sampling)),
        })
    }

    /// The intervals' scores over `subject`'s held-out part from `start`, beside the
    /// baselines, `scale` scaling MSIS and the pinball loss.
    fn score(
        &self,
        subject: &OpenedSeries,
        start: usize,
        scale: f64,
    ) -> anyhow::Result<Option<crate::evaluation::coverage::Coverage>> {
        let Some((levels, steps, sampling)) = &self.scored else {
            return Ok(None);
        };
        let series = subject.series();
        let coverage = crate::evaluation::coverage::score_with(
            &subject.forecaster,
            series.into(),
            start..series.len(),
            steps,
            levels,
            scale,
            *sampling,
        )?;
        Ok(Some(coverage))
    }
}
