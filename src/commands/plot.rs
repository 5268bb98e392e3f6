//! `gruf plot`: held-out predictions, the forecast and the loss curves as PNG or SVG. A
//! global model draws one series so with `--series ID`, and otherwise a grid of up to 12
//! series: each one's held-out part forecast in one go beside the seasonal naive forecast,
//! and the forecast past the end.

use std::ops::Range;

use crate::checkpoint::{Checkpoint, Meta};
use crate::cli::PlotArgs;
use crate::forecast::Forecaster;
use crate::intervals::Level;
use crate::io::output::{check_writable, write_atomic};
use crate::plot::{
    panel_title, panel_width, shade_color, GridData, GridLegend, GridPanel, ImageFormat, Line,
    PlotData, Shade, FORECAST, MODEL, MOST_PANELS,
};
use crate::scores::{season_before, seasonal_naive, Contender, Scoring};
use crate::series::calendar::Calendar;
use crate::series::Series;
use crate::text::money;

use super::held_out::{InOneGo, Span};
use super::open::{Opened, OpenedSeries};
use super::{device, interval_levels, mase_scale, note, season_for, wrote};

pub(super) fn run(args: PlotArgs) -> anyhow::Result<()> {
    check_writable(&args.out)?;
    let format = ImageFormat::from_path(&args.out)?;
    let device = device();
    let stored = Checkpoint::load(&args.source.model, &device)?;
    let days = args.steps.unwrap_or_else(|| default_steps(&stored.meta));
    let opened = Opened::open(&args.source, stored)?;
    let subjects = opened.subjects(&args.source.series, &device)?;
    let image = match subjects.as_slice() {
        [subject] => {
            let meta = opened.meta();
            let levels = interval_levels(&args.interval, meta, &args.source.model)?;
            let series = subject.series();
            let file = file_name(subject.named.path());
            let name = match subject.id() {
                "" => format!("{}, {file}", meta.data.column),
                id => format!("{} of series '{id}', {file}", meta.data.column),
            };
            let held_out = subject.held_out();
            let one = PlottedSeries {
                series,
                forecaster: &subject.forecaster,
                meta,
                levels: &levels,
                name: match subject.seen() {
                    true => name,
                    false => format!("{name} (not trained on)"),
                },
                held_out: (held_out < series.len()).then_some(held_out),
                mase_scale: &|before| mase_scale(meta, &subject.fitted, before),
            };
            let mut picture = one.picture(days)?;
            if let Some(n) = args.history {
                picture.keep_last(series, n as usize);
            }
            crate::plot::render(&picture, format)?
        }
        _ => plot_grid(&args, days, &opened, &subjects, format)?,
    };
    write_atomic(&args.out, &image)?;
    wrote(&args.out.display().to_string());
    Ok(())
}

/// The steps of forecast drawn without `--steps`: the model's horizon when it predicts
/// several steps at once, else as many as it held out (the picture then shows as much
/// future as it shows held-out past), else 30.
fn default_steps(meta: &Meta) -> u32 {
    let held_out = match &meta.test {
        Some(test) => test.n,
        None => meta.config.train.test_days,
    };
    let steps = match meta.model().framing.horizon {
        k if k > 1 => k,
        _ if held_out > 0 => held_out,
        _ => 30,
    };
    steps.clamp(1, 3650) as u32
}

/// The first date drawn with `--history N`: that of the last `n` values of `series`.
fn history_start(series: &Series, n: usize) -> i64 {
    series.dates[series.len().saturating_sub(n)]
}

/// `--history N` on one series' picture.
trait KeepLast {
    /// Draws only the last `n` values of `series` (more than shown by default, or fewer)
    /// and what the picture shows beside them; the forecast stays whole.
    fn keep_last(&mut self, series: &Series, n: usize);
}

impl KeepLast for PlotData {
    fn keep_last(&mut self, series: &Series, n: usize) {
        let from = history_start(series, n);
        self.truth.points = points(series, series.len().saturating_sub(n)..series.len());
        for line in [&mut self.predicted, &mut self.naive, &mut self.misses] {
            line.points.retain(|p| p.0 >= from);
        }
        for shade in &mut self.shades {
            shade.points.retain(|p| p.0 >= from);
        }
    }
}

impl KeepLast for GridPanel {
    fn keep_last(&mut self, series: &Series, n: usize) {
        let from = history_start(series, n);
        self.truth = points(series, series.len().saturating_sub(n)..series.len());
        self.model.retain(|p| p.0 >= from);
        self.baseline.retain(|p| p.0 >= from);
        self.held_band.retain(|p| p.0 >= from);
        self.held_out = self.held_out.map(|(start, end)| (start.max(from), end));
    }
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into())
}

/// One series' picture: what it is drawn from.
struct PlottedSeries<'a> {
    series: &'a Series,
    forecaster: &'a Forecaster,
    meta: &'a Meta,
    /// The interval levels drawn, lowest first (none: no bands).
    levels: &'a [Level],
    /// What the title names: `Close, prices.csv`, `value of series 'H1', long.csv`.
    name: String,
    /// Where the data the model never trained on begins, if the series has any.
    held_out: Option<usize>,
    /// The MASE denominator, given the true values before the scored span.
    mase_scale: &'a dyn Fn(&[f64]) -> f64,
}

impl PlottedSeries<'_> {
    /// True prices and one-step predictions over the held-out part (else the last 365
    /// steps, labelled in-sample), the forecast past the end, and the loss curves.
    fn picture(&self, days: u32) -> anyhow::Result<PlotData> {
        let (series, forecaster, meta) = (self.series, self.forecaster, self.meta);
        let cal = series.calendar;
        let column = &meta.data.column;

        const IN_SAMPLE: usize = 365;
        let history = forecaster.lookback();
        let (start, held_out) = match self.held_out {
            Some(s) => (s.max(history), true),
            None => (series.len().saturating_sub(IN_SAMPLE).max(history), false),
        };
        // The seasonal baseline only where a season of history comes before the first target.
        let season = season_before(season_for(None, meta.config.data.season, series), start);
        let targets = start..series.len();
        let (mut predicted, mut naive) = (Vec::new(), Vec::new());
        let (mut shades, mut misses) = (Vec::new(), Line::default());
        let mut title = format!("gruf: {}", self.name);
        let (mut model_label, mut naive_label) = (
            "one-step prediction".to_string(),
            format!("naive ({})", cal.naive_words()),
        );
        if !targets.is_empty() {
            let pred = forecaster.one_step(series, targets.clone())?;
            let scoring = Scoring {
                mase_scale: (self.mase_scale)(&series.values[..start]),
                season,
                held_out,
            };
            let e =
                crate::evaluation::evaluate::score(series, targets.clone(), pred.clone(), scoring);
            let span = if held_out {
                format!("held-out {}s", cal.unit())
            } else {
                format!("last {}, in-sample (not held out)", cal.count(IN_SAMPLE))
            };
            title = format!("{title}: one-step forecasts over the {span}");
            let mae = |who: Contender| e.get(who).map_or(f64::NAN, |m| m.mae);
            let model = match meta.networks() {
                1 => "model".to_string(),
                n => format!("median of {n} networks"),
            };
            model_label = format!("{model}, MAE {}", money(mae(Contender::Model)));
            naive_label = format!(
                "naive ({}), MAE {}",
                cal.naive_words(),
                money(mae(Contender::Naive))
            );
            if let (Some(m), Some(s)) = (season, e.seasonal()) {
                naive_label.push_str(&format!(
                    "; seasonal naive ({}) MAE {}",
                    cal.seasonal_words(m),
                    money(s.mae)
                ));
            }
            if held_out {
                (shades, misses) = self.held_out_bands(targets.clone(), &pred)?;
            }
            predicted = targets
                .clone()
                .zip(pred)
                .map(|(t, p)| (series.dates[t], p))
                .collect();
            naive = targets
                .clone()
                .map(|t| (series.dates[t], series.values[t - 1]))
                .collect();
        }
        let steps = forecast_steps(forecaster, cal, days);
        let forecast = past_the_end(forecaster, series, column, steps)?;
        shades.extend(self.fan(&forecast)?);

        Ok(PlotData {
            title,
            value_name: column.to_string(),
            daily: series.is_daily(),
            step_seconds: cal.approx_seconds(),
            truth: Line {
                label: format!("true {column}"),
                points: points(series, start.saturating_sub(1)..series.len()),
            },
            predicted: Line {
                label: model_label,
                points: predicted,
            },
            naive: Line {
                label: naive_label,
                points: naive,
            },
            forecast: Line {
                label: forecast_words(forecaster, cal, steps),
                points: forecast,
            },
            shades,
            misses,
            // An ensemble's first network's losses.
            history: meta.history.clone(),
            loss_name: if meta.model().framing.quantiles.is_empty() {
                "MSE"
            } else {
                "pinball loss"
            },
            best_epoch: meta.best_epoch,
        })
    }
}

impl PlottedSeries<'_> {
    /// The one-step intervals around `pred` (the predictions of `targets`) at each level,
    /// widest first, and the true values outside the widest, with their count in its
    /// label.
    fn held_out_bands(
        &self,
        targets: Range<usize>,
        pred: &[f64],
    ) -> anyhow::Result<(Vec<Shade>, Line)> {
        let (series, forecaster) = (self.series, self.forecaster);
        let Some(widest) = self.levels.last() else {
            return Ok((Vec::new(), Line::default()));
        };
        let origins: Vec<usize> = targets.clone().collect();
        let banded = forecaster.banded(series, &origins, 1, self.levels)?;
        let mut shades = Vec::new();
        let mut misses = Vec::new();
        for (l, &level) in self.levels.iter().enumerate().rev() {
            let mut points = Vec::with_capacity(pred.len());
            for (t, b) in targets.clone().zip(&banded) {
                let i = b.bands[l].intervals[0];
                points.push((series.dates[t], i.lower(), i.upper()));
                if level == *widest && !i.contains(series.values[t]) {
                    misses.push((series.dates[t], series.values[t]));
                }
            }
            shades.push(Shade {
                label: format!("one-step {} % interval", level.label()),
                points,
                color: shade_color(MODEL, strength(l, self.levels.len())),
            });
        }
        let n = pred.len();
        let label = format!(
            "outside the {} % interval: {} of {n} ({:.1} %)",
            widest.label(),
            misses.len(),
            100.0 * misses.len() as f64 / n.max(1) as f64
        );
        Ok((
            shades,
            Line {
                label,
                points: misses,
            },
        ))
    }

    /// The forecast's fan: its interval at each level, widest first, from the last true
    /// point (where the fan has no width) as far as the calibration reaches.
    fn fan(&self, forecast: &[(i64, f64)]) -> anyhow::Result<Vec<Shade>> {
        let (series, forecaster) = (self.series, self.forecaster);
        let Some(calibration) = forecaster.calibration().filter(|_| !self.levels.is_empty()) else {
            return Ok(Vec::new());
        };
        // `forecast` starts at the last true point; the fan goes as far as every level is
        // supported.
        let steps = calibration.reach(forecast.len() - 1, self.levels);
        if steps + 1 < forecast.len() {
            note(&format!(
                "the intervals are calibrated for {}: the fan stops there",
                series.calendar.count(steps)
            ));
        }
        let bands = (forecaster.banded(series, &[series.len()], steps, self.levels)?)
            .pop()
            .map_or(Vec::new(), |b| b.bands);
        Ok((bands.iter().enumerate().rev())
            .map(|(l, band)| {
                let (t0, v0) = forecast[0];
                let points = std::iter::once((t0, v0, v0))
                    .chain(
                        (forecast[1..=steps].iter().zip(&band.intervals))
                            .map(|(&(t, _), i)| (t, i.lower(), i.upper())),
                    )
                    .collect();
                Shade {
                    label: format!("forecast {} % interval", band.level.label()),
                    points,
                    color: shade_color(FORECAST, strength(l, self.levels.len())),
                }
            })
            .collect())
    }
}

/// How strongly band `l` of `n` (lowest level first) is coloured: the widest palest.
fn strength(l: usize, n: usize) -> f64 {
    0.18 + 0.22 * (n - 1 - l) as f64 / (n.max(2) - 1) as f64
}

/// The steps of forecast drawn: `--steps`, but no more than the horizon of a model with
/// covariates (their future is unknown), said in a note.
fn forecast_steps(forecaster: &Forecaster, cal: Calendar, days: u32) -> usize {
    let k = forecaster.featurizer().horizon;
    if forecaster.featurizer().has_covariates() && days as usize > k {
        note(&format!(
            "this model reads --inputs: the forecast drawn stops at its horizon, {}",
            cal.count(k)
        ));
        return k;
    }
    days as usize
}

/// The forecast of `steps` values past the end of `series`, from its last true point (so
/// that the lines join).
fn past_the_end(
    forecaster: &Forecaster,
    series: &Series,
    column: &str,
    steps: usize,
) -> anyhow::Result<Vec<(i64, f64)>> {
    let forecast = forecaster.forecast(series, column, steps)?;
    let mut points = vec![(forecast.last_date, forecast.last_value)];
    points.extend(forecast.dates.into_iter().zip(forecast.point));
    Ok(points)
}

/// How the forecast past the end was made, for its legend entry.
fn forecast_words(forecaster: &Forecaster, cal: Calendar, steps: usize) -> String {
    match forecaster.featurizer().horizon {
        1 => format!("recursive forecast, {}", cal.count(steps)),
        k if steps <= k => format!("direct forecast, {}", cal.count(steps)),
        k => format!("forecast in blocks of {k}, {}", cal.count(steps)),
    }
}

/// The true (date, value) points of `rows`.
fn points(series: &Series, rows: std::ops::Range<usize>) -> Vec<(i64, f64)> {
    rows.map(|t| (series.dates[t], series.values[t])).collect()
}

/// `gruf plot` of several series: a grid of the first [`MOST_PANELS`] by id.
fn plot_grid(
    args: &PlotArgs,
    days: u32,
    opened: &Opened,
    subjects: &[OpenedSeries],
    format: ImageFormat,
) -> anyhow::Result<Vec<u8>> {
    let meta = opened.meta();
    let panel = &opened.panel;
    // By id as people list them, each once (`--series` may name one twice).
    let mut chosen: Vec<&OpenedSeries> = subjects.iter().collect();
    chosen.sort_by(|a, b| crate::series::panel::natural_cmp(a.id(), b.id()));
    chosen.dedup_by(|a, b| a.id() == b.id());
    let total = chosen.len();
    if total > MOST_PANELS {
        note(&format!(
            "drew {MOST_PANELS} of {total} series (the first by id); choose others with --series ID (repeatable; one --series draws that series alone)"
        ));
        chosen.truncate(MOST_PANELS);
    }
    let Some(first) = chosen.first() else {
        anyhow::bail!("no series to plot");
    };
    let cal = first.series().calendar;
    let width = panel_width(chosen.len());
    // One level keeps small panels legible: the widest asked for (default 95 %).
    let levels = interval_levels(&args.interval, meta, &args.source.model)?;
    let widest = levels.last().copied();
    let mut panels = Vec::with_capacity(chosen.len());
    let (mut held_lengths, mut seasons) = (Vec::new(), Vec::new());
    let mut steps = days as usize;
    let mut forecast_label = String::new();
    for (i, subject) in chosen.iter().enumerate() {
        let (series, forecaster) = (subject.series(), &subject.forecaster);
        if i == 0 {
            steps = forecast_steps(forecaster, cal, days);
            forecast_label = format!("{} past the end", forecast_words(forecaster, cal, steps));
        }
        let season = season_for(None, meta.config.data.season, series);
        let held = in_one_go(subject, season)?;
        let forecast = past_the_end(forecaster, series, &meta.data.column, steps)?;
        let title = match subject.seen() {
            true => subject.id().to_string(),
            false => format!("{} (not trained on)", subject.id()),
        };
        let panel = match held {
            Some(held) => {
                held_lengths.push(held.path.len());
                seasons.extend(season);
                grid_panel(&title, series, held, season, forecast, width)
            }
            None => GridPanel {
                title: panel_title(&title, "", width),
                truth: points(
                    series,
                    series.len().saturating_sub(CONTEXT * steps)..series.len(),
                ),
                held_out: None,
                model: Vec::new(),
                baseline: Vec::new(),
                forecast,
                held_band: Vec::new(),
                fan: Vec::new(),
            },
        };
        let mut panel = match widest {
            Some(level) => with_bands(panel, forecaster, series, level)?,
            None => panel,
        };
        if let Some(n) = args.history {
            panel.keep_last(series, n as usize);
        }
        panels.push(panel);
    }

    let column = &meta.data.column;
    let data_words = match panel.series.iter().filter(|n| n.file.is_some()).count() {
        0 => file_name(&panel.provenance.path),
        _ => super::panel_words(panel),
    };
    let drawn = if total > panels.len() {
        format!("{} of {total} series", panels.len())
    } else {
        format!("{total} series")
    };
    let held_words = match held_lengths.as_slice() {
        [] => None,
        [n, rest @ ..] if rest.iter().all(|r| r == n) => Some(format!("last {}", cal.count(*n))),
        _ => Some("held-out part".to_string()),
    };
    let (title, subtitle) = match &held_words {
        Some(held) => (
            format!(
                "gruf: {column} of {drawn}, {data_words}: each series' {held} held out and forecast in one go; {} past the end",
                cal.count(steps)
            ),
            format!(
                "Panel titles: MASE of the held-out forecast in one go, scaled by the seasonal naive forecast's error on the history before it{}; model {}",
                match seasons.first() {
                    Some(m) if seasons.iter().all(|s| s == m) => format!(" (m = {m})"),
                    _ => String::new(),
                },
                file_name(&args.source.model)
            ),
        ),
        None => (
            format!(
                "gruf: {column} of {drawn}, {data_words}: the forecast of {} past the end",
                cal.count(steps)
            ),
            format!(
                "No held-out part (model {} trained on every row, --test-size 0): the panels show the recent past and the forecast only",
                file_name(&args.source.model)
            ),
        ),
    };
    let baseline = match seasons.first() {
        Some(&m) => format!("seasonal naive: the last {} repeated", cal.count(m)),
        None => "seasonal naive".to_string(),
    };
    let data = GridData {
        title,
        subtitle,
        daily: first.series().is_daily(),
        step_seconds: cal.approx_seconds(),
        legend: GridLegend {
            truth: format!("true {column}"),
            held_out: "held-out part".to_string(),
            model: "model, forecast in one go from the start of the held-out part".to_string(),
            baseline,
            forecast: forecast_label,
            band: widest.map(|l| format!("{} % interval", l.label())),
        },
        panels,
    };
    crate::plot::render_grid(&data, format)
}

/// The held-out part of `subject`'s series forecast in one go from its start (a model
/// with covariates: up to its horizon, their future being unknown), scored beside the
/// naive forecasts (`season`, when a season of history comes before it); `None` when the
/// series has no held-out row or too little before it.
fn in_one_go(subject: &OpenedSeries, season: Option<usize>) -> anyhow::Result<Option<InOneGo>> {
    let (series, forecaster) = (subject.series(), &subject.forecaster);
    let origin = subject.held_out();
    if origin >= series.len() || origin < forecaster.lookback() {
        return Ok(None);
    }
    let part = Span {
        id: subject.id(),
        origin,
        end: series.len(),
        mase_scale: subject.fitted.mase_scale.unwrap_or(f64::NAN),
        season: season_before(season, origin),
    };
    part.in_one_go(forecaster, series).map(Some)
}

/// History drawn before the held-out part, in held-out lengths (or, without one, before
/// the end, in forecast lengths).
const CONTEXT: usize = 3;

/// One series' panel: the recent past, the held-out part's truth, its forecast in one go
/// beside the seasonal naive forecast (both joined to the last true value before it), and
/// the forecast past the end; the title gives both MASEs.
fn grid_panel(
    id: &str,
    series: &Series,
    held: InOneGo,
    season: Option<usize>,
    forecast: Vec<(i64, f64)>,
    width: u32,
) -> GridPanel {
    let InOneGo {
        origin,
        path,
        ahead,
    } = held;
    let steps = path.len();
    let join = (series.dates[origin - 1], series.values[origin - 1]);
    let dated = |values: Vec<f64>| -> Vec<(i64, f64)> {
        std::iter::once(join)
            .chain(
                series.dates[origin..origin + values.len()]
                    .iter()
                    .copied()
                    .zip(values),
            )
            .collect()
    };
    let baseline = season
        .and_then(|m| seasonal_naive(&series.values, origin, m, steps))
        .map_or_else(Vec::new, dated);
    let mase = |who: Contender| ahead.get(who).map(|e| e.mase);
    let model = mase(Contender::Model).unwrap_or(f64::NAN);
    let rest = match season.and_then(|m| mase(Contender::SeasonalNaive(m))) {
        Some(s) => format!(": MASE model {model:.2}, seasonal naive {s:.2}"),
        None => format!(
            ": MASE model {model:.2}, naive {:.2}",
            mase(Contender::Naive).unwrap_or(f64::NAN)
        ),
    };
    GridPanel {
        title: panel_title(id, &rest, width),
        truth: points(series, origin.saturating_sub(CONTEXT * steps)..series.len()),
        held_out: Some((series.dates[origin], series.dates[series.len() - 1])),
        model: dated(path),
        baseline,
        forecast,
        held_band: Vec::new(),
        fan: Vec::new(),
    }
}

/// `panel` with the calibrated intervals at `level` of its held-out forecast and of its
/// forecast past the end, each from its join point (where it has no width) as far as the
/// calibration reaches.
fn with_bands(
    mut panel: GridPanel,
    forecaster: &Forecaster,
    series: &Series,
    level: Level,
) -> anyhow::Result<GridPanel> {
    let Some(calibration) = forecaster.calibration() else {
        return Ok(panel);
    };
    let reach = calibration.reach(usize::MAX, &[level]);
    let band = |line: &[(i64, f64)], origin: usize| -> anyhow::Result<Vec<(i64, f64, f64)>> {
        // `line` starts at its join point, the last true value before `origin`.
        let steps = line.len().saturating_sub(1).min(reach);
        let Some(&(t0, v0)) = line.first().filter(|_| steps > 0) else {
            return Ok(Vec::new());
        };
        let banded = forecaster.banded(series, &[origin], steps, &[level])?;
        let intervals = &banded[0].bands[0].intervals;
        Ok(std::iter::once((t0, v0, v0))
            .chain((line[1..].iter().zip(intervals)).map(|(&(t, _), i)| (t, i.lower(), i.upper())))
            .collect())
    };
    if let Some((start, _)) = panel.held_out {
        let origin = series.dates.partition_point(|&d| d < start);
        panel.held_band = band(&panel.model, origin)?;
    }
    panel.fan = band(&panel.forecast, series.len())?;
    Ok(panel)
}
