//! Renders the forecast picture: true prices, one-step predictions (the model's and the
//! naive forecast's, with both MAEs in the legend) over the held-out test part, and the
//! N-day forecast past the end on a dated axis, above the training and validation loss
//! curves. The drawing is written once, generic over plotters' `DrawingBackend`; [`render`]
//! returns the bytes of a PNG or an SVG (chosen from the output's extension by
//! [`ImageFormat::from_path`]) and the caller writes them atomically.
//!
//! What a reader needs decides the layout, and the decisions are pure functions with unit
//! tests: legends go in a band under each chart so they never cover data; time ticks
//! ([`TimeTicks`]) are round hours, days, weeks, months or years that fit the width; the
//! loss axis ([`LossAxis`]) is log or linear so that it always carries several labels; the
//! end-of-data line ([`end_of_data`]) sits half a step before the first forecast point.

use std::io::Cursor;
use std::path::Path;
use std::sync::Once;

use anyhow::Context;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::GrufError;
use crate::text::tick;
use crate::train::EpochRecord;
use chrono::Datelike;

mod compare;
pub mod gates;
mod grid;

pub use compare::CompareData;
pub use grid::{
    grid_shape, panel_title, panel_width, GridData, GridLegend, GridPanel, MOST_PANELS,
};

const WIDTH: u32 = 1400;
const HEIGHT: u32 = 1000;
const FONT: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");

/// A line of (Unix seconds, price) points with its legend label.
#[derive(Debug, Clone, Default)]
pub struct Line {
    pub label: String,
    pub points: Vec<(i64, f64)>,
}

/// An interval at each time, drawn as the filled area between its ends.
#[derive(Debug, Clone)]
pub struct Shade {
    pub label: String,
    /// (Unix seconds, lower, upper).
    pub points: Vec<(i64, f64, f64)>,
    pub color: RGBColor,
}

/// The colour of a band of `base` at a level: lighter for wider levels, as the fan of a
/// fan chart fades outwards (opaque, so that bands never darken where they overlap).
pub fn shade_color(base: RGBColor, strength: f64) -> RGBColor {
    let mix = |c: u8| (f64::from(c) * strength + 255.0 * (1.0 - strength)).round() as u8;
    RGBColor(mix(base.0), mix(base.1), mix(base.2))
}

#[derive(Debug, Clone)]
pub struct PlotData {
    pub title: String,
    /// The value axis' name: the forecast column (`Close`, `value`, `load`).
    pub value_name: String,
    /// Every timestamp is a midnight: the time axis is labelled with dates only.
    pub daily: bool,
    /// The usual length of one step of the series, in seconds (86400 for daily data).
    pub step_seconds: f64,
    pub truth: Line,
    pub predicted: Line,
    /// The naive forecast over the same days as `predicted`.
    pub naive: Line,
    /// The forecast past the end; it may start at the last true point, to join the lines.
    pub forecast: Line,
    /// Interval bands under the lines, drawn in order (the widest first): the one-step
    /// intervals over the held-out part and the forecast's fan.
    pub shades: Vec<Shade>,
    /// True values outside the widest held-out interval, drawn as dots.
    pub misses: Line,
    pub history: Vec<EpochRecord>,
    pub best_epoch: usize,
    /// What the losses are: `MSE`, or `pinball loss` for a quantile model.
    pub loss_name: &'static str,
}

/// The image formats `gruf plot` writes, chosen by the output file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Svg,
}

impl ImageFormat {
    /// `.png` or `.svg` (in any case); any other extension, or none, is a usage error
    /// naming it, so that a `.jpg` name never receives PNG bytes.
    pub fn from_path(path: &Path) -> Result<Self, GrufError> {
        let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase());
        match ext.as_deref() {
            Some("png") => Ok(ImageFormat::Png),
            Some("svg") => Ok(ImageFormat::Svg),
            Some(other) => Err(GrufError::usage(format!(
                "--out {}: gruf cannot write .{other} images; end the file name in .png or .svg",
                path.display()
            ))),
            None => Err(GrufError::usage(format!(
                "--out {}: the file name has no extension; end it in .png or .svg",
                path.display()
            ))),
        }
    }
}

/// Draws the plot and returns the file's bytes in `format`.
pub fn render(data: &PlotData, format: ImageFormat) -> anyhow::Result<Vec<u8>> {
    encode(data, format)
}

/// Draws `compare`'s picture and returns the file's bytes in `format`.
pub fn render_compare(data: &CompareData, format: ImageFormat) -> anyhow::Result<Vec<u8>> {
    encode(data, format)
}

/// Draws the grid of a global model's series and returns the file's bytes in `format`.
pub fn render_grid(data: &GridData, format: ImageFormat) -> anyhow::Result<Vec<u8>> {
    encode(data, format)
}

/// A picture drawn once, on any backend.
trait Picture {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>;
}

impl Picture for PlotData {
    fn size(&self) -> (u32, u32) {
        (WIDTH, HEIGHT)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        draw(root, self)
    }
}

fn encode<P: Picture>(picture: &P, format: ImageFormat) -> anyhow::Result<Vec<u8>> {
    register_font();
    let (width, height) = picture.size();
    match format {
        ImageFormat::Png => {
            let mut rgb = vec![255u8; (width * height * 3) as usize];
            picture
                .draw(&BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area())?;
            let mut png = Vec::new();
            image::RgbImage::from_raw(width, height, rgb)
                .context("image buffer has the wrong size")?
                .write_to(&mut Cursor::new(&mut png), image::ImageOutputFormat::Png)?;
            Ok(png)
        }
        ImageFormat::Svg => {
            let mut svg = String::new();
            picture
                .draw(&SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area())?;
            Ok(svg.into_bytes())
        }
    }
}

/// Both backends need the font: plotters measures text with it to lay the plot out; the
/// bitmap draws its glyphs, an SVG names the family and leaves drawing to the viewer.
fn register_font() {
    static FONTS: Once = Once::new();
    FONTS.call_once(|| {
        // The font is compiled in, so this cannot fail at run time short of a corrupt build.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// The whole picture on any backend: prices above, losses below.
fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, data: &PlotData) -> anyhow::Result<()> {
    root.fill(&WHITE).map_err(draw_err)?;
    let (top, bottom) = root.split_vertically(HEIGHT * 64 / 100);
    draw_prices(&top, data)?;
    draw_losses(&bottom, data)?;
    root.present().map_err(draw_err)?;
    Ok(())
}

fn draw_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing the plot failed: {e:?}")
}

/// The price panel's space right of the plotting area: room for half of the last date
/// label, which is centred on its tick and may sit at the very edge.
const RIGHT_MARGIN: u32 = 64;
/// Font size of tick labels.
const LABEL_SIZE: u32 = 15;
/// Room one time label needs along the axis, gap included, in pixels.
const TIME_LABEL_SLOT: u32 = 100;

const MINUTE: i64 = 60;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;
/// 1970-01-01 was a Thursday; weekly ticks fall on Mondays.
const FIRST_MONDAY: i64 = 4 * DAY;

/// How far apart the ticks of a time axis are: a fixed number of seconds, or months.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spacing {
    Seconds(i64),
    Months(i64),
}

/// The round spacings, finest first.
const SPACINGS: [Spacing; 24] = [
    Spacing::Seconds(MINUTE),
    Spacing::Seconds(5 * MINUTE),
    Spacing::Seconds(15 * MINUTE),
    Spacing::Seconds(30 * MINUTE),
    Spacing::Seconds(HOUR),
    Spacing::Seconds(2 * HOUR),
    Spacing::Seconds(3 * HOUR),
    Spacing::Seconds(6 * HOUR),
    Spacing::Seconds(12 * HOUR),
    Spacing::Seconds(DAY),
    Spacing::Seconds(2 * DAY),
    Spacing::Seconds(7 * DAY),
    Spacing::Seconds(14 * DAY),
    Spacing::Months(1),
    Spacing::Months(2),
    Spacing::Months(3),
    Spacing::Months(6),
    Spacing::Months(12),
    Spacing::Months(24),
    Spacing::Months(60),
    Spacing::Months(120),
    Spacing::Months(240),
    Spacing::Months(600),
    Spacing::Months(1200),
];

impl Spacing {
    /// The ticks from `t0` to `t1` (inclusive), or `None` when there are more than `max`.
    /// Sub-day ticks are aligned on UTC midnight, two-day ticks on the Unix epoch, weekly
    /// ones on Mondays, monthly ones on the 1st of months whose number (counted from
    /// year 0) is a multiple of the spacing, so yearly ticks fall on 1 January.
    fn ticks(self, t0: i64, t1: i64, max: usize) -> Option<Vec<i64>> {
        match self {
            Spacing::Seconds(step) => {
                let origin = if step % (7 * DAY) == 0 {
                    FIRST_MONDAY
                } else {
                    0
                };
                let first = origin + (t0 - origin).div_euclid(step) * step;
                let first = if first < t0 { first + step } else { first };
                let count = if first > t1 {
                    0
                } else {
                    (t1 - first) / step + 1
                };
                (count <= max as i64).then(|| (0..count).map(|i| first + i * step).collect())
            }
            Spacing::Months(step) => {
                let month_of = |t: i64| {
                    let d = chrono::DateTime::from_timestamp(t, 0).map(|d| d.date_naive());
                    d.map(|d| i64::from(d.year()) * 12 + i64::from(d.month0()))
                };
                let (m0, m1) = (month_of(t0)?, month_of(t1)?);
                let mut ticks = Vec::new();
                let mut m = m0.div_euclid(step) * step;
                while m <= m1 {
                    let start = chrono::NaiveDate::from_ymd_opt(
                        i32::try_from(m.div_euclid(12)).ok()?,
                        m.rem_euclid(12) as u32 + 1,
                        1,
                    )?;
                    let t = start.and_hms_opt(0, 0, 0)?.and_utc().timestamp();
                    if (t0..=t1).contains(&t) {
                        if ticks.len() == max {
                            return None;
                        }
                        ticks.push(t);
                    }
                    m += step;
                }
                Some(ticks)
            }
        }
    }

    fn under_a_day(self) -> bool {
        matches!(self, Spacing::Seconds(s) if s < DAY)
    }
}

/// The ticks of a time axis and how to label them.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeTicks {
    /// Unix seconds, ascending, all within the axis.
    pub ticks: Vec<i64>,
    /// The ticks are less than a day apart, so labels show the time of day.
    pub with_time: bool,
}

impl TimeTicks {
    /// At most `max` ticks from `t0` to `t1` at the finest round spacing: minutes and hours
    /// (only when `daily` is false), days, weeks, months, years.
    pub fn choose(t0: i64, t1: i64, daily: bool, max: usize) -> TimeTicks {
        let max = max.max(2);
        let fitting = SPACINGS
            .iter()
            .filter(|s| !(daily && s.under_a_day()))
            .find_map(|s| Some((*s, s.ticks(t0, t1, max)?)));
        match fitting {
            Some((spacing, ticks)) if !ticks.is_empty() => TimeTicks {
                ticks,
                with_time: spacing.under_a_day(),
            },
            _ => TimeTicks {
                ticks: vec![t0],
                with_time: !daily,
            },
        }
    }

    /// A tick's label: the date; when ticks are hours apart, the time of day alone except
    /// at midnight (the date) and on the first tick when no midnight is shown (both).
    pub fn label(&self, t: i64) -> String {
        let Some(time) = chrono::DateTime::from_timestamp(t, 0) else {
            return t.to_string();
        };
        let midnight = |t: &i64| t.rem_euclid(DAY) == 0;
        let format = if !self.with_time || midnight(&t) {
            "%Y-%m-%d"
        } else if self.ticks.first() == Some(&t) && !self.ticks.iter().any(midnight) {
            "%Y-%m-%d %H:%M"
        } else {
            "%H:%M"
        };
        time.format(format).to_string()
    }
}

/// A linear axis with the ticks we chose. (plotters' `with_key_points` does the same, but
/// over `f64` it loses the label formatter.)
struct Ticked {
    range: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Ticked {
    fn new(range: std::ops::Range<f64>, ticks: Vec<f64>) -> Self {
        Ticked {
            range: range.into(),
            ticks,
        }
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.range.map(value, limit)
    }

    /// The chosen ticks carry the labels and the grid lines; there are no light lines.
    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.range.range()
    }
}

/// How the loss panel's y axis maps losses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Linear,
    /// Drawn at log10 of the loss.
    Log,
}

/// The loss panel's y axis: its scale, the drawn range and the labelled ticks, in loss units.
#[derive(Debug, Clone, PartialEq)]
pub struct LossAxis {
    pub scale: Scale,
    pub lo: f64,
    pub hi: f64,
    pub ticks: Vec<f64>,
    /// Labels in scientific notation (`2e-3`) rather than decimals (`0.002`).
    scientific: bool,
    /// Digits after the point (of the mantissa when scientific) on a linear axis.
    digits: usize,
}

impl LossAxis {
    /// The axis for losses from `lo` to `hi` (0 < lo <= hi). Losses spanning a decade or
    /// more get a log scale with a tick at every decade, or at 1, 2 and 5 times each decade
    /// when fewer than three decades show; a narrower span gets a linear scale with round
    /// ticks. Either way there are at least three labelled ticks. (gruf 1.0 always used a
    /// log scale labelled at decades only, so a narrow span showed one label or none.)
    pub fn choose(lo: f64, hi: f64) -> LossAxis {
        if hi / lo >= 10.0 {
            let (lo, hi) = (lo / 1.25, hi * 1.25);
            let decades = || (lo.log10().ceil() as i32)..=(hi.log10().floor() as i32);
            let mut ticks: Vec<f64> = if decades().count() >= 3 {
                let every = decades().count().div_ceil(9);
                decades().step_by(every).map(|k| 10f64.powi(k)).collect()
            } else {
                (decades().start() - 1..=*decades().end())
                    .flat_map(|k| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(k)))
                    .filter(|t| (lo..=hi).contains(t))
                    .collect()
            };
            ticks.dedup();
            let scientific = ticks.iter().any(|&t| !(1e-3..1e5).contains(&t));
            LossAxis {
                scale: Scale::Log,
                lo,
                hi,
                ticks,
                scientific,
                digits: 0,
            }
        } else {
            let pad = if hi > lo { (hi - lo) * 0.08 } else { hi * 0.1 };
            let (lo, hi) = ((lo - pad).max(0.0), hi + pad);
            // The widest round step (1, 2 or 5 times a power of ten) that gives four ticks.
            let exp = ((hi - lo) / 4.0).log10().floor() as i32;
            let count = |step: f64| (hi / step).floor() - (lo / step).ceil() + 1.0;
            let (m, exp) = (exp - 2..=exp)
                .rev()
                .flat_map(|e| [5, 2, 1].map(|m| (m, e)))
                .find(|&(m, e)| count(f64::from(m) * 10f64.powi(e)) >= 4.0)
                .unwrap_or((1, exp - 2));
            let step = f64::from(m) * 10f64.powi(exp);
            let ticks: Vec<f64> = ((lo / step).ceil() as i64..=(hi / step).floor() as i64)
                .map(|k| k as f64 * step)
                .collect();
            let top = ticks.iter().fold(0f64, |a, t| a.max(t.abs()));
            let scientific = !(1e-2..1e5).contains(&top);
            let digits = if scientific {
                (top.log10().floor() as i32 - exp).max(0) as usize
            } else {
                (-exp).max(0) as usize
            };
            LossAxis {
                scale: Scale::Linear,
                lo,
                hi,
                ticks,
                scientific,
                digits,
            }
        }
    }

    /// Where a loss goes on the chart's y coordinate.
    fn coord(&self, loss: f64) -> f64 {
        match self.scale {
            Scale::Linear => loss,
            Scale::Log => loss.log10(),
        }
    }

    /// The label of one of the ticks.
    pub fn label(&self, tick: f64) -> String {
        match (self.scale, self.scientific) {
            _ if tick == 0.0 => "0".to_string(),
            (Scale::Log, true) => format!("{tick:.0e}"),
            (Scale::Log, false) => {
                let digits = (-(tick.log10() + 1e-9).floor()).max(0.0) as usize;
                format!("{tick:.digits$}")
            }
            (Scale::Linear, true) => format!("{tick:.*e}", self.digits),
            (Scale::Linear, false) => format!("{tick:.*}", self.digits),
        }
    }

    /// Plain words for the caption.
    fn scale_name(&self) -> &'static str {
        match self.scale {
            Scale::Linear => "linear scale",
            Scale::Log => "log scale",
        }
    }
}

/// Where the end-of-data line goes, in Unix seconds: half a step before the first forecast
/// point, the first point of `forecast` after the last point of `truth`.
pub fn end_of_data(truth: &Line, forecast: &Line, step_seconds: f64) -> Option<f64> {
    let last = truth.points.last().map(|p| p.0);
    let first = forecast
        .points
        .iter()
        .find(|p| last.is_none_or(|last| p.0 > last))?;
    Some(first.0 as f64 - step_seconds / 2.0)
}

/// Left margin of both panels and the width of their y label areas: the plotting areas
/// and the legends under them start at `MARGIN + Y_LABEL_AREA`.
const MARGIN: u32 = 16;
const Y_LABEL_AREA: u32 = 100;
const LEGEND_FONT: u32 = 16;
const LEGEND_ROW: u32 = 26;
/// Length of the line drawn before each legend label.
const SWATCH: u32 = 28;
/// Space between the swatch and its label, and between entries.
const SWATCH_GAP: u32 = 8;
const ENTRY_GAP: u32 = 32;

/// What a legend entry draws before its label.
#[derive(Clone, Copy)]
enum Mark {
    Line(ShapeStyle),
    Dashed(ShapeStyle),
    Dot(RGBColor),
    /// A filled box: a shaded span.
    Shade(RGBColor),
}

/// One entry of a legend.
struct Entry {
    label: String,
    mark: Mark,
}

/// Places entries of the given widths left to right from x = 0, `gap` apart, starting a
/// new row when one would pass `width` (an entry wider than `width` gets a row of its
/// own). Returns the (row, x) of each entry.
fn flow(widths: &[u32], width: u32, gap: u32) -> Vec<(u32, u32)> {
    let (mut row, mut x) = (0, 0);
    widths
        .iter()
        .map(|&w| {
            if x > 0 && x + w > width {
                (row, x) = (row + 1, 0);
            }
            let at = (row, x);
            x += w + gap;
            at
        })
        .collect()
}

/// A legend laid out in a band under a chart, outside its plotting area, so that it never
/// covers data (gruf 1.0 drew it inside, over the lines).
struct Legend {
    entries: Vec<Entry>,
    places: Vec<(u32, u32)>,
    /// Where the first entry of each row starts, from the band's left edge.
    left: u32,
    /// Height of the band, in pixels.
    height: u32,
}

impl Legend {
    /// Lays `entries` out across `area`'s width, aligned with the plotting area.
    fn new<DB: DrawingBackend>(
        area: &DrawingArea<DB, Shift>,
        entries: Vec<Entry>,
    ) -> anyhow::Result<Self> {
        let width = area
            .dim_in_pixel()
            .0
            .saturating_sub(MARGIN + Y_LABEL_AREA + RIGHT_MARGIN);
        Legend::within(entries, MARGIN + Y_LABEL_AREA, width)
    }

    /// Lays `entries` out in rows `width` pixels wide, starting `left` pixels in.
    fn within(entries: Vec<Entry>, left: u32, width: u32) -> anyhow::Result<Self> {
        let font = ("sans-serif", LEGEND_FONT).into_font();
        let widths = entries
            .iter()
            .map(|e| {
                let (w, _) = font.box_size(&e.label).map_err(draw_err)?;
                Ok(SWATCH + SWATCH_GAP + w)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let places = flow(&widths, width, ENTRY_GAP);
        let rows = places.last().map_or(0, |p| p.0 + 1);
        Ok(Legend {
            entries,
            places,
            left,
            height: rows * LEGEND_ROW + MARGIN,
        })
    }

    /// Splits the legend's band off the bottom of `area`: (what is left, the band).
    fn split<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>) {
        let height = area.dim_in_pixel().1;
        area.split_vertically(height.saturating_sub(self.height))
    }

    fn draw<DB: DrawingBackend>(&self, band: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let font = TextStyle::from(("sans-serif", LEGEND_FONT).into_font())
            .pos(Pos::new(HPos::Left, VPos::Center));
        for (entry, &(row, x)) in self.entries.iter().zip(&self.places) {
            let x = (self.left + x) as i32;
            let y = (row * LEGEND_ROW + LEGEND_ROW / 2) as i32;
            let end = x + SWATCH as i32;
            match entry.mark {
                Mark::Line(style) => band.draw(&PathElement::new([(x, y), (end, y)], style)),
                Mark::Dashed(style) => {
                    band.draw(&DashedPathElement::new([(x, y), (end, y)], 6, 4, style))
                }
                Mark::Dot(color) => band.draw(&Circle::new((x + 14, y), 5, color.filled())),
                Mark::Shade(color) => {
                    band.draw(&Rectangle::new([(x, y - 7), (end, y + 7)], color.filled()))
                }
            }
            .map_err(draw_err)?;
            band.draw(&Text::new(
                entry.label.as_str(),
                (end + SWATCH_GAP as i32, y),
                &font,
            ))
            .map_err(draw_err)?;
        }
        Ok(())
    }
}

/// What a time chart spans: its time range, its value range with a margin, and its time
/// ticks for a plotting area `width` pixels wide.
struct Extent {
    x: (i64, i64),
    y: (f64, f64),
    ticks: TimeTicks,
}

impl Extent {
    fn of(lines: &[&[(i64, f64)]], daily: bool, width: u32) -> anyhow::Result<Extent> {
        let all = || {
            lines
                .iter()
                .flat_map(|l| l.iter())
                .filter(|p| p.1.is_finite())
        };
        let (x0, x1) = all().fold((i64::MAX, i64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
        let (y0, y1) = all().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
        anyhow::ensure!(x0 < i64::MAX, "nothing to plot");
        let pad = ((y1 - y0) * 0.06).max(y1.abs() * 0.01).max(1e-9);
        let x1 = if x1 > x0 { x1 } else { x0 + DAY };
        Ok(Extent {
            x: (x0, x1),
            y: (y0 - pad, y1 + pad),
            ticks: TimeTicks::choose(x0, x1, daily, (width / TIME_LABEL_SLOT) as usize),
        })
    }
}

fn draw_prices<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    data: &PlotData,
) -> anyhow::Result<()> {
    let lines = [
        (&data.truth, ShapeStyle::from(&BLACK).stroke_width(2)),
        (&data.naive, ShapeStyle::from(&NAIVE).stroke_width(1)),
        (&data.predicted, ShapeStyle::from(&MODEL).stroke_width(2)),
        (&data.forecast, ShapeStyle::from(&FORECAST).stroke_width(3)),
    ];
    let chart = TimeChart {
        title: &data.title,
        value_name: &data.value_name,
        daily: data.daily,
        end_of_data: end_of_data(&data.truth, &data.forecast, data.step_seconds),
        shades: &data.shades,
        dots: Some((&data.misses, MISS)),
    };
    chart.draw(area, &lines)
}

/// The naive forecast's grey, the model's blue and the forecast's orange; a miss's red.
const NAIVE: RGBColor = RGBColor(150, 150, 150);
pub const MODEL: RGBColor = RGBColor(31, 119, 180);
pub const FORECAST: RGBColor = RGBColor(230, 110, 0);
const MISS: RGBColor = RGBColor(214, 39, 40);

/// A chart of values over time with its legend in a band underneath: the price panel of
/// `plot`, and the whole picture of `compare`.
struct TimeChart<'a> {
    title: &'a str,
    value_name: &'a str,
    daily: bool,
    /// Where a dashed line marks the end of the data, if anywhere.
    end_of_data: Option<f64>,
    /// Bands drawn under the lines, in order.
    shades: &'a [Shade],
    /// Points drawn as dots over the lines, in this colour.
    dots: Option<(&'a Line, RGBColor)>,
}

impl TimeChart<'_> {
    /// Draws `lines` in their styles, in order (later ones on top); lines without points
    /// are left out of the legend.
    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        lines: &[(&Line, ShapeStyle)],
    ) -> anyhow::Result<()> {
        let plot_width = area
            .dim_in_pixel()
            .0
            .saturating_sub(MARGIN + Y_LABEL_AREA + RIGHT_MARGIN);
        let mut points: Vec<&[(i64, f64)]> = lines.iter().map(|(l, _)| &l.points[..]).collect();
        // The bands' ends count towards the extent, as two lines each.
        let ends: Vec<Vec<(i64, f64)>> = (self.shades.iter())
            .flat_map(|s| {
                [
                    s.points.iter().map(|&(t, lo, _)| (t, lo)).collect(),
                    s.points.iter().map(|&(t, _, hi)| (t, hi)).collect(),
                ]
            })
            .collect();
        points.extend(ends.iter().map(|e| &e[..]));
        let Extent {
            x: (x0, x1),
            y: (y0, y1),
            ticks,
        } = Extent::of(&points, self.daily, plot_width)?;
        let key_points = ticks.ticks.iter().map(|&t| t as f64).collect();

        let guide = ShapeStyle::from(&BLACK.mix(0.5)).stroke_width(1);
        let end = self.end_of_data;
        let mut entries: Vec<Entry> = lines
            .iter()
            .filter(|(line, _)| !line.points.is_empty())
            .map(|&(line, style)| Entry {
                label: line.label.clone(),
                mark: Mark::Line(style),
            })
            .collect();
        entries.extend(
            (self.shades.iter())
                .filter(|s| !s.points.is_empty())
                .map(|s| Entry {
                    label: s.label.clone(),
                    mark: Mark::Shade(s.color),
                }),
        );
        if let Some((dots, color)) = self.dots.filter(|(d, _)| !d.label.is_empty()) {
            entries.push(Entry {
                label: dots.label.clone(),
                mark: Mark::Dot(color),
            });
        }
        if end.is_some() {
            entries.push(Entry {
                label: "end of data".into(),
                mark: Mark::Dashed(guide),
            });
        }
        let legend = Legend::new(area, entries)?;
        let (area, band) = legend.split(area);

        let mut chart = ChartBuilder::on(&area)
            .caption(self.title, ("sans-serif", 26))
            .margin(MARGIN)
            .margin_right(RIGHT_MARGIN)
            .margin_bottom(0)
            .x_label_area_size(40)
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(Ticked::new(x0 as f64..x1 as f64, key_points), y0..y1)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .y_labels(8)
            .x_label_formatter(&|x| ticks.label(x.round() as i64))
            .y_label_formatter(&|y| tick(*y))
            .y_desc(self.value_name)
            .label_style(("sans-serif", LABEL_SIZE))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(draw_err)?;

        for shade in self.shades {
            // Along the upper ends, then back along the lower ones.
            let outline: Vec<(f64, f64)> = (shade.points.iter())
                .map(|&(t, _, hi)| (t as f64, hi))
                .chain(shade.points.iter().rev().map(|&(t, lo, _)| (t as f64, lo)))
                .collect();
            chart
                .draw_series(std::iter::once(Polygon::new(outline, shade.color.filled())))
                .map_err(draw_err)?;
        }
        for &(line, style) in lines {
            let points = line.points.iter().map(|&(t, v)| (t as f64, v));
            chart
                .draw_series(LineSeries::new(points, style))
                .map_err(draw_err)?;
        }
        if let Some((dots, color)) = self.dots {
            let marks =
                (dots.points.iter()).map(|&(t, v)| Circle::new((t as f64, v), 3, color.filled()));
            chart.draw_series(marks).map_err(draw_err)?;
        }
        if let Some(x) = end {
            chart
                .draw_series(DashedLineSeries::new([(x, y0), (x, y1)], 6, 4, guide))
                .map_err(draw_err)?;
        }
        legend.draw(&band)
    }
}

fn draw_losses<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    data: &PlotData,
) -> anyhow::Result<()> {
    let h = &data.history;
    let losses = h
        .iter()
        .flat_map(|r| [r.train_loss, r.val_loss])
        .filter(|l| *l > 0.0 && l.is_finite());
    let (lo, hi) = losses.fold((f64::MAX, f64::MIN), |(a, b), l| (a.min(l), b.max(l)));
    if h.is_empty() || lo > hi {
        return Ok(());
    }
    let axis = LossAxis::choose(lo, hi);
    let y_ticks: Vec<f64> = axis.ticks.iter().map(|&t| axis.coord(t)).collect();
    let y_label = |y: &f64| {
        axis.ticks
            .iter()
            .find(|&&t| (axis.coord(t) - y).abs() < 1e-9)
            .map_or(String::new(), |&t| axis.label(t))
    };
    let epochs = h.len().max(2) as f64;
    type Curve = (&'static str, RGBColor, fn(&EpochRecord) -> f64);
    let curves: [Curve; 2] = [
        ("train loss", RGBColor(31, 119, 180), |r| r.train_loss),
        ("validation loss", RGBColor(230, 110, 0), |r| r.val_loss),
    ];
    let style = |color: RGBColor| ShapeStyle::from(&color).stroke_width(2);
    let best = h.iter().find(|r| r.epoch == data.best_epoch);
    let mut entries: Vec<Entry> = curves
        .iter()
        .map(|&(label, color, _)| Entry {
            label: label.into(),
            mark: Mark::Line(style(color)),
        })
        .collect();
    if let Some(best) = best {
        entries.push(Entry {
            label: format!("best epoch {} (weights kept)", best.epoch),
            mark: Mark::Dot(RED),
        });
    }
    let legend = Legend::new(area, entries)?;
    let (area, band) = legend.split(area);
    let mut chart = ChartBuilder::on(&area)
        .caption(
            format!(
                "training and validation loss ({} in the transform's units, {})",
                data.loss_name,
                axis.scale_name()
            ),
            ("sans-serif", 20),
        )
        .margin(MARGIN)
        .margin_right(RIGHT_MARGIN)
        .margin_bottom(0)
        .x_label_area_size(50)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(
            1f64..epochs,
            Ticked::new(axis.coord(axis.lo)..axis.coord(axis.hi), y_ticks),
        )
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .x_labels(h.len().clamp(2, 11))
        .x_label_formatter(&|x| {
            if (x - x.round()).abs() < 0.01 {
                format!("{x:.0}")
            } else {
                String::new()
            }
        })
        .y_label_formatter(&y_label)
        .label_style(("sans-serif", LABEL_SIZE))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(draw_err)?;
    for (_, color, get) in curves {
        let points = h
            .iter()
            .filter(|r| get(r) > 0.0 && get(r).is_finite())
            .map(|r| (r.epoch as f64, axis.coord(get(r))));
        chart
            .draw_series(LineSeries::new(points, style(color)))
            .map_err(draw_err)?;
    }
    if let Some(best) = best.filter(|b| b.val_loss > 0.0 && b.val_loss.is_finite()) {
        chart
            .draw_series([Circle::new(
                (best.epoch as f64, axis.coord(best.val_loss)),
                6,
                RED.filled(),
            )])
            .map_err(draw_err)?;
    }
    legend.draw(&band)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(points: &[(i64, f64)]) -> Line {
        Line {
            label: String::new(),
            points: points.to_vec(),
        }
    }

    fn at(date: &str) -> i64 {
        crate::series::dates::parse_date(date, None).unwrap()
    }

    #[test]
    fn the_end_of_data_line_sits_half_a_step_before_the_first_forecast_point() {
        let t = at("2016-01-30T03:00:00Z");
        let truth = line(&[(t - HOUR, 1.0), (t, 2.0)]);
        // The forecast line starts at the last true point to join the two lines.
        let forecast = line(&[(t, 2.0), (t + HOUR, 3.0), (t + 2 * HOUR, 4.0)]);
        let x = end_of_data(&truth, &forecast, HOUR as f64).unwrap();
        // gruf 1.0 put it half a day before the forecast's first point, 12 hours back
        // inside the held-out data; it belongs between the last value and the first forecast.
        assert_eq!(x, (t + HOUR / 2) as f64);
        let daily = line(&[(t, 2.0), (t + DAY, 3.0)]);
        assert_eq!(
            end_of_data(&truth, &daily, DAY as f64),
            Some((t + DAY / 2) as f64)
        );
        let unjoined = line(&[(t + HOUR, 3.0)]);
        assert_eq!(
            end_of_data(&truth, &unjoined, HOUR as f64),
            Some((t + HOUR / 2) as f64)
        );
        assert_eq!(end_of_data(&truth, &line(&[]), HOUR as f64), None);
        assert_eq!(end_of_data(&truth, &line(&[(t, 2.0)]), HOUR as f64), None);
    }

    #[test]
    fn a_few_days_of_hourly_data_get_hour_ticks_labelled_with_times_and_dates_at_midnight() {
        // 48 held-out hours and a 30-hour forecast, as `gruf plot` draws hourly-414 series.
        let (t0, t1) = (at("2016-01-28T04:00:00Z"), at("2016-01-31T09:00:00Z"));
        let ticks = TimeTicks::choose(t0, t1, false, 10);
        assert!(ticks.with_time);
        assert!(
            ticks.ticks.len() >= 4 && ticks.ticks.len() <= 10,
            "{ticks:?}"
        );
        assert!(ticks.ticks.windows(2).all(|w| w[1] - w[0] < DAY));
        let labels: Vec<_> = ticks.ticks.iter().map(|&t| ticks.label(t)).collect();
        assert!(labels.contains(&"2016-01-29".to_string()), "{labels:?}");
        assert!(labels.contains(&"12:00".to_string()), "{labels:?}");
        // Every label is a whole date or a whole time of day; none carries seconds.
        assert!(
            labels.iter().all(|l| l.len() == 10 || l.len() == 5),
            "{labels:?}"
        );
    }

    #[test]
    fn hours_without_a_midnight_name_the_date_once() {
        let (t0, t1) = (at("2016-01-28T01:00:00Z"), at("2016-01-28T20:00:00Z"));
        let ticks = TimeTicks::choose(t0, t1, false, 10);
        let labels: Vec<_> = ticks.ticks.iter().map(|&t| ticks.label(t)).collect();
        assert_eq!(labels[0], "2016-01-28 02:00", "{labels:?}");
        assert!(labels[1..].iter().all(|l| l.len() == 5), "{labels:?}");
    }

    #[test]
    fn long_spans_get_date_ticks_on_round_days() {
        // About 120 days of daily data: two-weekly ticks on Mondays.
        let ticks = TimeTicks::choose(at("2024-01-02"), at("2024-04-30"), true, 10);
        assert!(!ticks.with_time);
        assert_eq!(ticks.ticks.len(), 9, "{ticks:?}");
        assert!(ticks.ticks.windows(2).all(|w| w[1] - w[0] == 14 * DAY));
        assert!(ticks
            .ticks
            .iter()
            .all(|t| (t - FIRST_MONDAY) % (7 * DAY) == 0));
        assert_eq!(ticks.label(ticks.ticks[0]), "2024-01-08");
        // Five months: monthly ticks on the 1st.
        let ticks = TimeTicks::choose(at("2023-12-03"), at("2024-04-30"), true, 10);
        let labels: Vec<_> = ticks.ticks.iter().map(|&t| ticks.label(t)).collect();
        assert_eq!(
            labels,
            ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]
        );
        // Ten years: one tick a year, on 1 January.
        let ticks = TimeTicks::choose(at("2014-09-17"), at("2024-04-30"), true, 10);
        let labels: Vec<_> = ticks.ticks.iter().map(|&t| ticks.label(t)).collect();
        assert_eq!(labels.first().unwrap(), "2015-01-01");
        assert_eq!(labels.last().unwrap(), "2024-01-01");
        // Hourly data over a month: dates, no times.
        let ticks = TimeTicks::choose(at("2016-01-01"), at("2016-01-30T03:00:00Z"), false, 10);
        assert!(!ticks.with_time && ticks.ticks.len() >= 4, "{ticks:?}");
    }

    #[test]
    fn daily_data_never_gets_ticks_between_days() {
        let ticks = TimeTicks::choose(at("2024-03-28"), at("2024-03-31"), true, 10);
        assert!(!ticks.with_time);
        assert_eq!(ticks.ticks.len(), 4);
        let one_day = TimeTicks::choose(at("2024-03-28"), at("2024-03-28"), true, 10);
        assert_eq!(one_day.ticks, vec![at("2024-03-28")]);
    }

    #[test]
    fn the_last_time_label_fits_in_the_right_margin() {
        // gruf 1.0 left 16 pixels, and its last date label ran off the image.
        register_font();
        let font = ("sans-serif", LABEL_SIZE).into_font();
        let width = |label: &str| font.box_size(label).unwrap().0;
        for label in ["2024-04-27", "23:00"] {
            assert!(width(label) / 2 + 4 <= RIGHT_MARGIN, "{label}");
        }
        // The one long label, the first of hourly ticks, leaves room for its neighbour.
        assert!((width("2016-01-28 02:00") + width("04:00")) / 2 + 8 <= TIME_LABEL_SLOT);
    }

    fn labels(axis: &LossAxis) -> Vec<String> {
        axis.ticks.iter().map(|&t| axis.label(t)).collect()
    }

    #[test]
    fn losses_over_less_than_a_decade_get_a_linear_axis_with_round_ticks() {
        // gruf 1.0 drew these on a log axis labelled at decades: not one label showed.
        let axis = LossAxis::choose(0.0041, 0.0058);
        assert_eq!(axis.scale, Scale::Linear);
        assert_eq!(axis.ticks.len(), 4, "{axis:?}");
        assert_eq!(labels(&axis), ["4.0e-3", "4.5e-3", "5.0e-3", "5.5e-3"]);
        let axis = LossAxis::choose(0.02, 0.13);
        assert_eq!(axis.scale, Scale::Linear);
        assert_eq!(
            labels(&axis),
            ["0.02", "0.04", "0.06", "0.08", "0.10", "0.12"]
        );
        let axis = LossAxis::choose(0.05, 0.05);
        assert_eq!(axis.scale, Scale::Linear);
        assert!(
            axis.lo < 0.05 && 0.05 < axis.hi && axis.ticks.len() >= 3,
            "{axis:?}"
        );
    }

    #[test]
    fn losses_over_one_or_two_decades_get_ticks_at_1_2_and_5() {
        // The quick preset on btc-usd.csv: gruf 1.0 labelled 1.0e-3 and 1.0e-2 only.
        let axis = LossAxis::choose(3.1e-4, 2.5e-2);
        assert_eq!(axis.scale, Scale::Log);
        assert_eq!(
            labels(&axis),
            ["5e-4", "1e-3", "2e-3", "5e-3", "1e-2", "2e-2"]
        );
        let axis = LossAxis::choose(0.011, 0.21);
        assert_eq!(labels(&axis), ["0.01", "0.02", "0.05", "0.1", "0.2"]);
    }

    #[test]
    fn losses_over_several_decades_get_a_tick_at_every_decade() {
        let axis = LossAxis::choose(2e-6, 0.3);
        assert_eq!(axis.scale, Scale::Log);
        assert_eq!(labels(&axis), ["1e-5", "1e-4", "1e-3", "1e-2", "1e-1"]);
        let axis = LossAxis::choose(0.002, 40.0);
        assert_eq!(labels(&axis), ["0.01", "0.1", "1", "10"]);
    }

    #[test]
    fn every_loss_range_gets_three_or_more_distinct_labels_inside_the_axis() {
        for lo_exp in -8..=2 {
            for ratio in [
                1.0, 1.01, 1.3, 2.0, 4.9, 9.99, 10.0, 30.0, 99.0, 1e3, 1e5, 1e9,
            ] {
                for mantissa in [1.0, 1.7, 3.3, 7.9] {
                    let lo = mantissa * 10f64.powi(lo_exp);
                    let axis = LossAxis::choose(lo, lo * ratio);
                    let labels = labels(&axis);
                    let mut distinct = labels.clone();
                    distinct.dedup();
                    assert!(
                        labels.len() >= 3 && labels.len() <= 10 && distinct == labels,
                        "{lo} x{ratio}: {labels:?}"
                    );
                    assert!(axis.lo <= lo && lo * ratio <= axis.hi, "{axis:?}");
                    assert!(axis.ticks.iter().all(|t| (axis.lo..=axis.hi).contains(t)));
                    assert!(labels.iter().all(|l| l.len() <= 8), "{labels:?}");
                }
            }
        }
    }

    #[test]
    fn legend_entries_flow_into_rows_that_fit() {
        assert_eq!(
            flow(&[100, 200, 50], 1000, 30),
            [(0, 0), (0, 130), (0, 360)]
        );
        assert_eq!(flow(&[100, 200, 50], 320, 30), [(0, 0), (1, 0), (1, 230)]);
        // An entry wider than the band still gets a row, alone.
        assert_eq!(flow(&[500, 100], 300, 30), [(0, 0), (1, 0)]);
        assert_eq!(flow(&[], 300, 30), []);
    }

    #[test]
    fn ticks_stay_within_the_axis_and_under_the_limit() {
        let start = at("2016-01-01T05:00:00Z");
        for span in [
            HOUR,
            7 * HOUR,
            DAY,
            3 * DAY + 5 * HOUR,
            40 * DAY,
            400 * DAY,
            9000 * DAY,
        ] {
            for max in [2, 5, 10] {
                for daily in [false, true] {
                    let ticks = TimeTicks::choose(start, start + span, daily, max);
                    assert!(ticks.ticks.len() <= max, "{span} {max}: {ticks:?}");
                    assert!(
                        ticks
                            .ticks
                            .iter()
                            .all(|t| (start..=start + span).contains(t))
                            || ticks.ticks == [start],
                        "{span} {max}: {ticks:?}"
                    );
                }
            }
        }
    }
}
