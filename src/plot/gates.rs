//! The picture and the CSV of `gruf inspect`: a trained model's gate values over one input
//! window. The price over the window is drawn at the top; under it, for each layer, one
//! heatmap per gate (rows: the layer's units, sorted by their mean over the window, highest
//! at the top; columns: the steps of the window), every chart on one shared step axis, so
//! that a column of colour sits under the price it saw.
//!
//! The caller computes the values ([`GatePicture`]); this module only lays them out. The
//! decisions are pure functions with unit tests: the unit order ([`sort_units`]), each
//! map's height ([`map_height`]) and the picture's bands ([`layout`]), where a date falls
//! on the step axis ([`step_position`]), the colour of a value ([`Palette`]) and the colour
//! bar's ticks ([`bar_ticks`]). [`gates_csv`] writes the same numbers in long format so that
//! a user can redraw them elsewhere.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::{Ticked, TimeTicks};
use super::canvas::{draw_err, encode, ImageFormat, Picture};
use super::style::{LABEL_SIZE, TIME_LABEL_SLOT};
use crate::series::dates::format_iso;
use crate::text::tick;

/// What `gruf inspect` draws: the input window and, per layer, one heatmap per gate.
#[derive(Debug, Clone, PartialEq)]
pub struct GatePicture {
    /// E.g. `BTC-USD.csv · GRU 50,100 · window ending 2024-03-31`.
    pub title: String,
    /// Unix seconds (UTC), one per step of the window, ascending. When all are midnights
    /// the axis and the CSV show dates only.
    pub times: Vec<i64>,
    /// The price over the window, in price units, one per step.
    pub input: Vec<f64>,
    /// The price's column name, e.g. `Close`.
    pub input_label: String,
    /// From the layer nearest the input.
    pub layers: Vec<LayerGates>,
}

/// One recurrent layer's heatmaps, drawn one under the other in this order.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerGates {
    /// E.g. `layer 1 · GRU(50)`.
    pub title: String,
    pub maps: Vec<Heatmap>,
}

/// One gate (or state) of one layer over the window.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    /// E.g. `update gate z`, `reset gate r`, `forget gate f`, `hidden state h`.
    pub name: String,
    pub units: usize,
    pub steps: usize,
    /// Row-major `[unit][step]`, in the model's unit order (the drawing sorts the rows).
    pub values: Vec<f32>,
    /// The colour scale's range, `(lo, hi)`: `(0, 1)` for sigmoid gates, `(-1, 1)` for tanh
    /// values. Values outside are drawn in the end colours; NaN is grey.
    pub range: (f32, f32),
}

impl Heatmap {
    /// The value of `unit` at `step`.
    pub fn at(&self, unit: usize, step: usize) -> f32 {
        self.values[unit * self.steps + step]
    }

    /// Each unit's mean over the steps (NaN when a step is NaN).
    pub fn unit_means(&self) -> Vec<f64> {
        (0..self.units)
            .map(|u| {
                let row = &self.values[u * self.steps..(u + 1) * self.steps];
                row.iter().map(|&v| f64::from(v)).sum::<f64>() / self.steps.max(1) as f64
            })
            .collect()
    }
}

/// The order in which `map`'s units are drawn, top row first: by mean over the steps,
/// highest first; equal means keep the model's order; a unit with a NaN mean goes last.
pub fn sort_units(map: &Heatmap) -> Vec<usize> {
    let key = |m: f64| if m.is_nan() { f64::NEG_INFINITY } else { m };
    let means = map.unit_means();
    let mut order: Vec<usize> = (0..map.units).collect();
    order.sort_by(|&a, &b| {
        key(means[b])
            .total_cmp(&key(means[a]))
            .then_with(|| a.cmp(&b))
    });
    order
}

impl GatePicture {
    /// Every step's time is midnight: dates are shown without a time of day.
    pub fn daily(&self) -> bool {
        self.times.iter().all(|t| t.rem_euclid(DAY) == 0)
    }

    /// The steps of the window.
    pub fn steps(&self) -> usize {
        self.times.len()
    }

    /// Checks that the parts agree: one time and one input value per step, times
    /// ascending, each map `units × steps` values over a range with `lo < hi`.
    pub fn check(&self) -> anyhow::Result<()> {
        let steps = self.steps();
        anyhow::ensure!(steps > 0, "the gate picture has no steps");
        anyhow::ensure!(
            self.input.len() == steps,
            "the gate picture has {steps} times but {} input values",
            self.input.len()
        );
        anyhow::ensure!(
            self.times.windows(2).all(|w| w[0] < w[1]),
            "the gate picture's times are not strictly ascending"
        );
        for (l, layer) in self.layers.iter().enumerate() {
            for map in &layer.maps {
                let what = format!("layer {} map '{}'", l + 1, map.name);
                anyhow::ensure!(map.units > 0, "{what} has no units");
                anyhow::ensure!(
                    map.steps == steps,
                    "{what} has {} steps, the window {steps}",
                    map.steps
                );
                anyhow::ensure!(
                    map.values.len() == map.units * map.steps,
                    "{what} has {} values for {} units × {} steps",
                    map.values.len(),
                    map.units,
                    map.steps
                );
                let (lo, hi) = map.range;
                anyhow::ensure!(
                    lo.is_finite() && hi.is_finite() && lo < hi,
                    "{what} has the colour range ({lo}, {hi})"
                );
            }
        }
        Ok(())
    }

    fn layout(&self) -> GateLayout {
        let units: Vec<Vec<usize>> = self
            .layers
            .iter()
            .map(|l| l.maps.iter().map(|m| m.units).collect())
            .collect();
        layout(&units)
    }
}

/// The gate values in long format, one row per layer, gate, unit and step:
/// `layer,gate,unit,step,time,value`. `layer` counts from 1 (as the picture's titles do);
/// `unit` is the model's unit index and `step` the step's index in the window, both from 0;
/// `time` is the step's date (ISO 8601, UTC); `value` is the number as computed.
pub fn gates_csv(picture: &GatePicture) -> anyhow::Result<String> {
    picture.check()?;
    let daily = picture.daily();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["layer", "gate", "unit", "step", "time", "value"])?;
    for (l, layer) in picture.layers.iter().enumerate() {
        for map in &layer.maps {
            for unit in 0..map.units {
                for (step, &t) in picture.times.iter().enumerate().take(map.steps) {
                    w.write_record([
                        (l + 1).to_string(),
                        map.name.clone(),
                        unit.to_string(),
                        step.to_string(),
                        format_iso(t, daily),
                        map.at(unit, step).to_string(),
                    ])?;
                }
            }
        }
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// Draws the picture and returns the file's bytes in `format`.
pub fn render(picture: &GatePicture, format: ImageFormat) -> anyhow::Result<Vec<u8>> {
    picture.check()?;
    encode(picture, format)
}

/// Draws the picture into `path`, a `.png` or `.svg` file, written atomically.
pub fn draw_gates(path: &Path, picture: &GatePicture) -> anyhow::Result<()> {
    let bytes = render(picture, ImageFormat::from_path(path)?)?;
    crate::io::output::write_atomic(path, &bytes)?;
    Ok(())
}

const DAY: i64 = 86_400;

const WIDTH: u32 = 1400;
/// Left margin; the y label areas start after it, the plotting areas after both.
const MARGIN: u32 = 16;
/// Width of every y label area, so that all plotting areas share their left edge.
const Y_LABEL_AREA: u32 = 100;
/// Right of every plotting area: the colour bar and its labels.
const RIGHT_AREA: u32 = 96;
const BAR_GAP: u32 = 14;
const BAR_WIDTH: u32 = 16;

/// Title and subtitle of the picture.
const HEADER: u32 = 84;
const TITLE_SIZE: u32 = 24;
const SUBTITLE_SIZE: u32 = 15;
/// The input chart: a gap above, its plotting area, its time labels.
const INPUT_TOP: u32 = 8;
const INPUT_PLOT: u32 = 190;
/// Height of an x label area with time labels (the input chart, the bottom map).
const TIME_LABELS: u32 = 34;
/// Height of an x label area without labels: the tick marks alone.
const TICKS_ONLY: u32 = 6;
/// Space for a layer's rule and title above its first map.
const LAYER_TITLE: u32 = 48;
const LAYER_TITLE_SIZE: u32 = 20;
/// Space for a map's name above its plotting area.
const MAP_CAPTION: u32 = 24;
const MAP_CAPTION_SIZE: u32 = 16;
/// Space below the last map's labels.
const FOOTER: u32 = 16;

/// Pixels of map height per unit, and the bounds on a map's height.
const PX_PER_UNIT: u32 = 2;
const MIN_MAP: u32 = 160;
const MAX_MAP: u32 = 240;

const Y_DESC: &str = "units, sorted by mean";

/// The height in pixels of the plotting area of a map of `units` rows: two pixels a unit,
/// at least [`MIN_MAP`] (room for the axis name; 50 units get 3.2 pixels each) and at most
/// [`MAX_MAP`] (a wide layer shares pixels between units rather than growing the picture).
pub fn map_height(units: usize) -> u32 {
    let units = u32::try_from(units).unwrap_or(u32::MAX);
    units.saturating_mul(PX_PER_UNIT).clamp(MIN_MAP, MAX_MAP)
}

/// A horizontal band of the picture: `top` pixels from its top, `height` tall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Band {
    pub top: u32,
    pub height: u32,
}

impl Band {
    pub fn bottom(&self) -> u32 {
        self.top + self.height
    }
}

/// One map's band: its name, then its plotting area, then its x label area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapBand {
    pub band: Band,
    /// The plotting area's height.
    pub plot: u32,
    /// The x label area's height: [`TIME_LABELS`] for the last map, tick marks otherwise.
    pub labels: u32,
}

/// Where the parts of a gate picture go, top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub struct GateLayout {
    /// The whole picture's height (its width is fixed).
    pub height: u32,
    /// The input chart, with its time labels.
    pub input: Band,
    /// Per layer: its title's band, then its maps'.
    pub layers: Vec<(Band, Vec<MapBand>)>,
}

/// The layout of a picture whose layers have maps of the given unit counts
/// (`units[layer][map]`): the header, the input chart, then per layer a title and its
/// maps, each as tall as [`map_height`] says; only the very last map carries time labels.
pub fn layout(units: &[Vec<usize>]) -> GateLayout {
    let mut y = HEADER;
    let input = Band {
        top: y,
        height: INPUT_TOP + INPUT_PLOT + TIME_LABELS,
    };
    y = input.bottom();
    let last = units.iter().rposition(|maps| !maps.is_empty());
    let layers = units
        .iter()
        .enumerate()
        .map(|(l, maps)| {
            let title = Band {
                top: y,
                height: LAYER_TITLE,
            };
            y = title.bottom();
            let bands = maps
                .iter()
                .enumerate()
                .map(|(m, &n)| {
                    let plot = map_height(n);
                    let labels = if Some(l) == last && m + 1 == maps.len() {
                        TIME_LABELS
                    } else {
                        TICKS_ONLY
                    };
                    let band = Band {
                        top: y,
                        height: MAP_CAPTION + plot + labels,
                    };
                    y = band.bottom();
                    MapBand { band, plot, labels }
                })
                .collect();
            (title, bands)
        })
        .collect();
    GateLayout {
        height: y + FOOTER,
        input,
        layers,
    }
}

/// Where Unix time `t` falls on the step axis of a window with `times` (ascending): step
/// `i` at `times[i]`, linearly between steps, clamped to the first and last step. Steps
/// are evenly spaced on the axis whatever the gaps between their dates (weekends, holidays).
pub fn step_position(times: &[i64], t: i64) -> f64 {
    let Some(k) = times.iter().position(|&s| s >= t) else {
        return times.len().saturating_sub(1) as f64;
    };
    if k == 0 || times[k] == t {
        return k as f64;
    }
    let (a, b) = (times[k - 1], times[k]);
    (k - 1) as f64 + (t - a) as f64 / (b - a) as f64
}

/// The time ticks of the window's axis, as (step position, label), for a plotting area
/// `width` pixels wide.
pub fn time_ticks(times: &[i64], daily: bool, width: u32) -> Vec<(f64, String)> {
    let (Some(&t0), Some(&t1)) = (times.first(), times.last()) else {
        return Vec::new();
    };
    let ticks = TimeTicks::choose(t0, t1, daily, (width / TIME_LABEL_SLOT) as usize);
    ticks
        .ticks
        .iter()
        .map(|&t| (step_position(times, t), ticks.label(t)))
        .collect()
}

/// The colour map of a range: sequential for a range of one sign (sigmoid gates), diverging
/// around 0 for a range across it (tanh values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Palette {
    /// Viridis: dark purple at `lo` to yellow at `hi`, lightness rising throughout.
    Sequential,
    /// Blue below 0, white at 0, red above (ColorBrewer RdBu).
    Diverging,
}

/// Viridis at 0, 0.1, …, 1 (matplotlib's table).
const VIRIDIS: [(u8, u8, u8); 11] = [
    (68, 1, 84),
    (72, 36, 117),
    (65, 68, 135),
    (53, 95, 141),
    (42, 120, 142),
    (33, 145, 140),
    (34, 168, 132),
    (68, 191, 112),
    (122, 209, 81),
    (189, 223, 38),
    (253, 231, 37),
];

/// ColorBrewer's 11-class RdBu, from the most negative (dark blue) to the most positive.
const RDBU: [(u8, u8, u8); 11] = [
    (5, 48, 97),
    (33, 102, 172),
    (67, 147, 195),
    (146, 197, 222),
    (209, 229, 240),
    (247, 247, 247),
    (253, 219, 199),
    (244, 165, 130),
    (214, 96, 77),
    (178, 24, 43),
    (103, 0, 31),
];

const MISSING: RGBColor = RGBColor(190, 190, 190);
const GREY_TEXT: RGBColor = RGBColor(90, 90, 90);

impl Palette {
    pub fn of(range: (f32, f32)) -> Palette {
        if range.0 < 0.0 && range.1 > 0.0 {
            Palette::Diverging
        } else {
            Palette::Sequential
        }
    }

    /// Where `v` falls on the colour table, 0 to 1: linear over the range when sequential;
    /// when diverging, 0.5 at 0 and linear on each side, so that white means 0 even over
    /// a lopsided range.
    pub fn fraction(self, range: (f32, f32), v: f32) -> f32 {
        let (lo, hi) = range;
        let t = match self {
            Palette::Sequential => (v - lo) / (hi - lo),
            Palette::Diverging if v < 0.0 => 0.5 - 0.5 * v / lo,
            Palette::Diverging => 0.5 + 0.5 * v / hi,
        };
        t.clamp(0.0, 1.0)
    }

    /// The colour of `v` on this palette over `range`; NaN is grey.
    pub fn colour(self, range: (f32, f32), v: f32) -> RGBColor {
        if v.is_nan() {
            return MISSING;
        }
        let table = match self {
            Palette::Sequential => &VIRIDIS,
            Palette::Diverging => &RDBU,
        };
        let x = self.fraction(range, v) * (table.len() - 1) as f32;
        let i = (x.floor() as usize).min(table.len() - 2);
        let f = x - i as f32;
        let mix = |a: u8, b: u8| (f32::from(a) + (f32::from(b) - f32::from(a)) * f).round() as u8;
        let (a, b) = (table[i], table[i + 1]);
        RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }
}

/// The labelled values of a colour bar over `range`: both ends, the midpoint and the
/// quarters; on a diverging bar over a lopsided range, 0 in place of the midpoint.
pub fn bar_ticks(range: (f32, f32)) -> Vec<f32> {
    let (lo, hi) = range;
    let mut ticks: Vec<f32> = (0..=4).map(|k| lo + (hi - lo) * k as f32 / 4.0).collect();
    if Palette::of(range) == Palette::Diverging && !ticks.contains(&0.0) {
        ticks = vec![lo, 0.0, hi];
    }
    ticks
}

/// A colour bar label: up to two decimals without trailing zeros, a true minus sign.
pub fn bar_label(v: f32) -> String {
    let s = format!("{:.2}", v.abs());
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if v < 0.0 && s != "0" {
        format!("−{s}")
    } else {
        s.to_string()
    }
}

impl Picture for GatePicture {
    fn size(&self) -> (u32, u32) {
        (WIDTH, self.layout().height)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        root.fill(&WHITE).map_err(draw_err)?;
        let layout = self.layout();
        let plot_width = WIDTH - MARGIN - Y_LABEL_AREA - RIGHT_AREA;
        let ticks = time_ticks(&self.times, self.daily(), plot_width);
        let left = Pos::new(HPos::Left, VPos::Top);
        let text = |size: u32, color: &'static RGBColor| {
            TextStyle::from(("sans-serif", size).into_font())
                .color(color)
                .pos(left)
        };
        root.draw(&Text::new(
            self.title.as_str(),
            (MARGIN as i32, 14),
            text(TITLE_SIZE, &BLACK),
        ))
        .map_err(draw_err)?;
        let subtitle = format!(
            "Rows: the layer's units, sorted by their mean over the window (highest at the \
             top). Columns: the window's {} steps, each under its {} above.",
            self.steps(),
            self.input_label
        );
        root.draw(&Text::new(
            subtitle,
            (MARGIN as i32, 50),
            text(SUBTITLE_SIZE, &GREY_TEXT),
        ))
        .map_err(draw_err)?;

        let band = |b: Band| root.clone().shrink((0, b.top), (WIDTH, b.height));
        self.draw_input(&band(layout.input), &ticks)?;
        for (layer, (title, maps)) in self.layers.iter().zip(&layout.layers) {
            let title_band = band(*title);
            title_band
                .draw(&PathElement::new(
                    [(MARGIN as i32, 10), ((WIDTH - MARGIN) as i32, 10)],
                    BLACK.mix(0.25),
                ))
                .map_err(draw_err)?;
            title_band
                .draw(&Text::new(
                    layer.title.as_str(),
                    (MARGIN as i32, 20),
                    text(LAYER_TITLE_SIZE, &BLACK),
                ))
                .map_err(draw_err)?;
            for (map, place) in layer.maps.iter().zip(maps) {
                draw_map(root, &band(place.band), map, place, &ticks)?;
            }
        }
        root.present().map_err(draw_err)?;
        Ok(())
    }
}

/// The x axis every chart shares: step `i` at `i`, half a step of room at either end.
fn step_axis(steps: usize, ticks: &[(f64, String)]) -> Ticked {
    Ticked::new(
        -0.5..steps as f64 - 0.5,
        ticks.iter().map(|(x, _)| *x).collect(),
    )
}

/// The label of the tick at `x`, if one is there.
fn tick_label(ticks: &[(f64, String)], x: f64) -> String {
    ticks
        .iter()
        .find(|(at, _)| (at - x).abs() < 1e-9)
        .map_or(String::new(), |(_, l)| l.clone())
}

impl GatePicture {
    fn draw_input<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        ticks: &[(f64, String)],
    ) -> anyhow::Result<()> {
        let finite = || self.input.iter().copied().filter(|v| v.is_finite());
        let (y0, y1) = finite().fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
        let (y0, y1) = if y0 > y1 { (0.0, 1.0) } else { (y0, y1) };
        let pad = ((y1 - y0) * 0.08).max(y1.abs() * 0.01).max(1e-9);
        let mut chart = ChartBuilder::on(area)
            .margin_left(MARGIN)
            .margin_right(RIGHT_AREA)
            .margin_top(INPUT_TOP)
            .x_label_area_size(TIME_LABELS)
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(step_axis(self.steps(), ticks), y0 - pad..y1 + pad)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .y_labels(5)
            .x_label_formatter(&|x| tick_label(ticks, *x))
            .y_label_formatter(&|y| tick(*y))
            .y_desc(self.input_label.as_str())
            .label_style(("sans-serif", LABEL_SIZE))
            .bold_line_style(BLACK.mix(0.08))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(draw_err)?;
        let points = || {
            self.input
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(|(i, &v)| (i as f64, v))
        };
        let colour = RGBColor(31, 119, 180);
        chart
            .draw_series(LineSeries::new(
                points(),
                ShapeStyle::from(&colour).stroke_width(2),
            ))
            .map_err(draw_err)?;
        chart
            .draw_series(points().map(|p| Circle::new(p, 2, colour.filled())))
            .map_err(draw_err)?;
        Ok(())
    }
}

/// One heatmap in its band: its name above, the cells, the unit axis at the left, the
/// colour bar at the right (drawn on `root`, in the picture's pixels).
fn draw_map<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    map: &Heatmap,
    place: &MapBand,
    ticks: &[(f64, String)],
) -> anyhow::Result<()> {
    let caption = TextStyle::from(("sans-serif", MAP_CAPTION_SIZE).into_font())
        .pos(Pos::new(HPos::Left, VPos::Bottom));
    area.draw(&Text::new(
        map.name.as_str(),
        ((MARGIN + Y_LABEL_AREA) as i32, MAP_CAPTION as i32 - 5),
        &caption,
    ))
    .map_err(draw_err)?;
    let units = map.units as f64;
    // Rank 1 (the highest mean) is the top row, at y = units - 0.5.
    let rank_ticks = if map.units > 1 {
        vec![0.5, units - 0.5]
    } else {
        vec![0.5]
    };
    let rank = |y: f64| format!("{:.0}", units - y + 0.5);
    let mut chart = ChartBuilder::on(area)
        .margin_left(MARGIN)
        .margin_right(RIGHT_AREA)
        .margin_top(MAP_CAPTION)
        .x_label_area_size(place.labels)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(
            step_axis(map.steps, ticks),
            Ticked::new(0.0..units, rank_ticks),
        )
        .map_err(draw_err)?;
    let with_labels = place.labels == TIME_LABELS;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_label_formatter(&|x| {
            if with_labels {
                tick_label(ticks, *x)
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| rank(*y))
        .y_desc(Y_DESC)
        .label_style(("sans-serif", LABEL_SIZE))
        .axis_desc_style(("sans-serif", LABEL_SIZE))
        .draw()
        .map_err(draw_err)?;
    let palette = Palette::of(map.range);
    let order = sort_units(map);
    let cells = order.iter().enumerate().flat_map(|(row, &unit)| {
        let y = units - row as f64;
        (0..map.steps).map(move |step| {
            let x = step as f64;
            Rectangle::new(
                [(x - 0.5, y - 1.0), (x + 0.5, y)],
                palette.colour(map.range, map.at(unit, step)).filled(),
            )
        })
    });
    chart.draw_series(cells).map_err(draw_err)?;

    // The colour bar, beside the plotting area and as tall.
    let (xs, ys) = chart.plotting_area().get_pixel_range();
    let x = xs.end + BAR_GAP as i32;
    let (top, bottom) = (ys.start, ys.end - 1);
    let (lo, hi) = map.range;
    let at = |v: f32| bottom - ((v - lo) / (hi - lo) * (bottom - top) as f32).round() as i32;
    for y in top..=bottom {
        let v = lo + (hi - lo) * (bottom - y) as f32 / (bottom - top).max(1) as f32;
        root.draw(&PathElement::new(
            [(x, y), (x + BAR_WIDTH as i32 - 1, y)],
            palette.colour(map.range, v),
        ))
        .map_err(draw_err)?;
    }
    root.draw(&Rectangle::new(
        [(x, top), (x + BAR_WIDTH as i32 - 1, bottom)],
        BLACK.mix(0.6),
    ))
    .map_err(draw_err)?;
    let label = TextStyle::from(("sans-serif", LABEL_SIZE).into_font())
        .pos(Pos::new(HPos::Left, VPos::Center));
    for v in bar_ticks(map.range) {
        let (y, right) = (at(v), x + BAR_WIDTH as i32);
        root.draw(&PathElement::new([(right, y), (right + 4, y)], BLACK))
            .map_err(draw_err)?;
        root.draw(&Text::new(bar_label(v), (right + 7, y), &label))
            .map_err(draw_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(units: usize, steps: usize, values: Vec<f32>) -> Heatmap {
        Heatmap {
            name: "update gate z".into(),
            units,
            steps,
            values,
            range: (0.0, 1.0),
        }
    }

    #[test]
    fn units_are_sorted_by_mean_highest_first_ties_in_model_order() {
        // Rows: means 0.5, 0.75, 0.5, 0.125, 0.75 (exact in binary, so true ties).
        let m = map(
            5,
            2,
            vec![0.25, 0.75, 0.75, 0.75, 0.5, 0.5, 0.0, 0.25, 1.0, 0.5],
        );
        assert_eq!(sort_units(&m), [1, 4, 0, 2, 3]);
        // A NaN row goes last, whatever its other values.
        let m = map(3, 2, vec![0.1, 0.1, f32::NAN, 1.0, 0.2, 0.2]);
        assert_eq!(sort_units(&m), [2, 0, 1]);
        assert_eq!(sort_units(&map(1, 1, vec![0.3])), [0]);
    }

    #[test]
    fn sorting_is_a_permutation_and_orders_the_means() {
        let (units, steps) = (37, 11);
        let values: Vec<f32> = (0..units * steps)
            .map(|i| ((i * 7919) % 101) as f32 / 100.0)
            .collect();
        let m = map(units, steps, values);
        let order = sort_units(&m);
        let mut seen = order.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..units).collect::<Vec<_>>());
        let means = m.unit_means();
        assert!(order
            .windows(2)
            .all(|w| means[w[0]] > means[w[1]] || (means[w[0]] == means[w[1]] && w[0] < w[1])));
    }

    #[test]
    fn maps_get_two_pixels_a_unit_within_bounds() {
        assert_eq!(map_height(1), MIN_MAP);
        assert_eq!(map_height(50), 160);
        assert_eq!(map_height(100), 200);
        assert_eq!(map_height(1000), MAX_MAP);
        assert_eq!(map_height(usize::MAX), MAX_MAP);
        for units in 1..=120 {
            assert!(map_height(units) as f64 >= 1.5 * units as f64, "{units}");
        }
    }

    #[test]
    fn the_unit_axis_name_fits_the_smallest_map() {
        crate::plot::canvas::register_font();
        let font = ("sans-serif", LABEL_SIZE).into_font();
        let (w, _) = font.box_size(Y_DESC).unwrap();
        assert!(w + 10 <= MIN_MAP, "{w}");
    }

    #[test]
    fn the_layout_stacks_bands_without_gaps_and_grows_with_maps_and_units() {
        let gru = layout(&[vec![50, 50], vec![100, 100]]);
        let mut y = gru.input.bottom();
        for (title, maps) in &gru.layers {
            assert_eq!(title.top, y);
            y = title.bottom();
            for m in maps {
                assert_eq!(m.band.top, y);
                assert_eq!(m.band.height, MAP_CAPTION + m.plot + m.labels);
                y = m.band.bottom();
            }
        }
        assert_eq!(gru.height, y + FOOTER);
        assert_eq!(gru.input.top, HEADER);
        // Only the very last map carries time labels.
        let labels: Vec<u32> = gru
            .layers
            .iter()
            .flat_map(|(_, maps)| maps.iter().map(|m| m.labels))
            .collect();
        assert_eq!(labels, [TICKS_ONLY, TICKS_ONLY, TICKS_ONLY, TIME_LABELS]);
        let plots: Vec<u32> = gru.layers[1].1.iter().map(|m| m.plot).collect();
        assert_eq!(plots, [200, 200]);

        let lstm = layout(&[vec![50; 3], vec![100; 3]]);
        let rnn = layout(&[vec![50], vec![100]]);
        assert!(rnn.height < gru.height && gru.height < lstm.height);
        assert!(layout(&[vec![10; 2]]).height < layout(&[vec![100; 2]]).height);
        // Six maps of 100 units stay a picture one can scroll: under 2,000 pixels.
        assert!(layout(&[vec![100; 3], vec![100; 3]]).height < 2000);
        // No layers: the input chart alone.
        let none = layout(&[]);
        assert_eq!(none.height, none.input.bottom() + FOOTER);
    }

    fn day(d: i64) -> i64 {
        crate::series::dates::parse_date("2024-03-01", None).unwrap() + d * DAY
    }

    #[test]
    fn dates_fall_on_their_step_and_between_steps_over_gaps() {
        // Business days: Friday 1 March, then Monday 4 March.
        let times = [day(0), day(3), day(4), day(5)];
        assert_eq!(step_position(&times, day(3)), 1.0);
        assert_eq!(step_position(&times, day(1)), 1.0 / 3.0);
        assert_eq!(step_position(&times, day(0)), 0.0);
        assert_eq!(step_position(&times, day(-2)), 0.0);
        assert_eq!(step_position(&times, day(9)), 3.0);
        // Sixty days of daily data: weekly ticks, each on its own step, within the axis.
        let times: Vec<i64> = (0..60).map(day).collect();
        let ticks = time_ticks(&times, true, WIDTH - MARGIN - Y_LABEL_AREA - RIGHT_AREA);
        assert!((4..=11).contains(&ticks.len()), "{ticks:?}");
        assert!(ticks
            .iter()
            .all(|(x, l)| x.fract() == 0.0 && (0.0..=59.0).contains(x) && l.len() == 10));
        assert_eq!(ticks[0].1, "2024-03-04");
    }

    #[test]
    fn sigmoid_ranges_get_viridis_and_tanh_ranges_a_diverging_map_white_at_zero() {
        let (unit, signed) = ((0.0, 1.0), (-1.0, 1.0));
        assert_eq!(Palette::of(unit), Palette::Sequential);
        assert_eq!(Palette::of(signed), Palette::Diverging);
        let s = Palette::Sequential;
        assert_eq!(s.colour(unit, 0.0), RGBColor(68, 1, 84));
        assert_eq!(s.colour(unit, 1.0), RGBColor(253, 231, 37));
        assert_eq!(s.colour(unit, 0.5), RGBColor(33, 145, 140));
        // Out of range: the end colours.
        assert_eq!(s.colour(unit, 7.0), s.colour(unit, 1.0));
        assert_eq!(s.colour(unit, -7.0), s.colour(unit, 0.0));
        assert_eq!(s.colour(unit, f32::NAN), MISSING);
        // Lightness rises along viridis, so higher reads brighter in grey too.
        let luma = |c: RGBColor| 0.299 * c.0 as f32 + 0.587 * c.1 as f32 + 0.114 * c.2 as f32;
        let greys: Vec<f32> = (0..=100)
            .map(|k| luma(s.colour(unit, k as f32 / 100.0)))
            .collect();
        assert!(greys.windows(2).all(|w| w[1] >= w[0]), "{greys:?}");
        let d = Palette::Diverging;
        assert_eq!(d.colour(signed, 0.0), RGBColor(247, 247, 247));
        assert_eq!(d.colour(signed, -1.0), RGBColor(5, 48, 97));
        assert_eq!(d.colour(signed, 1.0), RGBColor(103, 0, 31));
        // White stays at 0 on a lopsided range.
        assert_eq!(d.fraction((-1.0, 3.0), 0.0), 0.5);
        assert_eq!(d.fraction((-1.0, 3.0), 3.0), 1.0);
        assert_eq!(d.fraction((-1.0, 3.0), -0.5), 0.25);
    }

    #[test]
    fn colour_bars_label_the_ends_the_middle_and_the_quarters() {
        let labels = |r| bar_ticks(r).into_iter().map(bar_label).collect::<Vec<_>>();
        assert_eq!(labels((0.0, 1.0)), ["0", "0.25", "0.5", "0.75", "1"]);
        assert_eq!(labels((-1.0, 1.0)), ["−1", "−0.5", "0", "0.5", "1"]);
        assert_eq!(labels((-1.0, 3.0)), ["−1", "0", "1", "2", "3"]);
        assert_eq!(labels((-1.0, 2.0)), ["−1", "0", "2"]);
        assert_eq!(bar_label(-0.001), "0");
    }

    fn picture(times: Vec<i64>, layers: Vec<LayerGates>) -> GatePicture {
        let steps = times.len();
        GatePicture {
            title: "test.csv · GRU 3,2 · window ending 2024-03-03".into(),
            times,
            input: (0..steps).map(|i| 100.0 + i as f64).collect(),
            input_label: "Close".into(),
            layers,
        }
    }

    fn small() -> GatePicture {
        let layer = |units: usize, names: &[&str], range| LayerGates {
            title: format!("layer · GRU({units})"),
            maps: names
                .iter()
                .map(|n| Heatmap {
                    name: n.to_string(),
                    units,
                    steps: 3,
                    values: (0..units * 3).map(|i| i as f32 / 10.0).collect(),
                    range,
                })
                .collect(),
        };
        picture(
            vec![day(0), day(1), day(2)],
            vec![
                layer(3, &["update gate z", "reset gate r"], (0.0, 1.0)),
                layer(2, &["hidden state, h"], (-1.0, 1.0)),
            ],
        )
    }

    #[test]
    fn the_csv_has_one_row_per_layer_gate_unit_and_step_in_model_unit_order() {
        let csv = gates_csv(&small()).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "layer,gate,unit,step,time,value");
        assert_eq!(lines.len(), 1 + 3 * 3 * 2 + 2 * 3);
        assert_eq!(lines[1], "1,update gate z,0,0,2024-03-01,0");
        assert_eq!(lines[6], "1,update gate z,1,2,2024-03-03,0.5");
        assert_eq!(lines[10], "1,reset gate r,0,0,2024-03-01,0");
        // A name with a comma is quoted; layers count from 1.
        assert_eq!(lines[19], "2,\"hidden state, h\",0,0,2024-03-01,0");
        assert_eq!(lines[24], "2,\"hidden state, h\",1,2,2024-03-03,0.5");
        // Times of day make RFC 3339 times.
        let hourly = picture(
            vec![day(0) + 3600, day(0) + 7200],
            vec![LayerGates {
                title: "layer 1".into(),
                maps: vec![map(1, 2, vec![0.25, f32::NAN])],
            }],
        );
        let csv = gates_csv(&hourly).unwrap();
        assert_eq!(
            csv.lines().collect::<Vec<_>>(),
            [
                "layer,gate,unit,step,time,value",
                "1,update gate z,0,0,2024-03-01T01:00:00Z,0.25",
                "1,update gate z,0,1,2024-03-01T02:00:00Z,NaN"
            ]
        );
    }

    #[test]
    fn a_picture_whose_parts_disagree_is_refused_with_the_reason() {
        assert!(small().check().is_ok());
        let mut p = small();
        p.layers[0].maps[1].values.pop();
        let err = p.check().unwrap_err().to_string();
        assert!(
            err.contains("layer 1 map 'reset gate r' has 8 values"),
            "{err}"
        );
        assert!(gates_csv(&p).is_err());
        let mut p = small();
        p.input.push(1.0);
        assert!(p.check().is_err());
        let mut p = small();
        p.times.swap(0, 1);
        assert!(p.check().is_err());
        let mut p = small();
        p.layers[1].maps[0].range = (1.0, 1.0);
        assert!(p.check().is_err());
        let dir = tempfile::tempdir().unwrap();
        assert!(draw_gates(&dir.path().join("bad.png"), &p).is_err());
        assert!(!dir.path().join("bad.png").exists());
    }

    #[test]
    fn the_picture_is_a_png_of_the_laid_out_size() {
        let p = small();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gates.png");
        draw_gates(&path, &p).unwrap();
        let image = image::open(&path).unwrap().to_rgb8();
        let expected = layout(&[vec![3, 3], vec![2]]).height;
        assert_eq!(image.dimensions(), (WIDTH, expected));
        // Something is drawn: the first map's top row is unit 2 (the highest mean), whose
        // value at step 0 is 0.6.
        let colours: std::collections::HashSet<_> = image.pixels().map(|p| p.0).collect();
        let cell = Palette::Sequential.colour((0.0, 1.0), 0.6);
        assert!(colours.contains(&[cell.0, cell.1, cell.2]));
        // One step of one unit draws too.
        let one = picture(
            vec![day(0)],
            vec![LayerGates {
                title: "layer 1".into(),
                maps: vec![map(1, 1, vec![0.5])],
            }],
        );
        let png = render(&one, ImageFormat::Png).unwrap();
        let image = image::load_from_memory(&png).unwrap();
        assert_eq!(image.height(), layout(&[vec![1]]).height);
        // SVG too, from the same drawing.
        let svg = render(&p, ImageFormat::Svg).unwrap();
        assert!(String::from_utf8(svg).unwrap().starts_with("<svg"));
    }

    /// Synthetic pictures of the three cells, to look at: `cargo test --release --lib
    /// gates_demo -- --ignored` writes /tmp/gates-{gru,lstm,rnn}.png.
    #[test]
    #[ignore]
    fn gates_demo() {
        use rand::{Rng, SeedableRng};
        let steps = 60;
        let times: Vec<i64> = (0..steps as i64).map(|d| day(d) - 30 * DAY).collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut price = 62_000.0;
        let input: Vec<f64> = (0..steps)
            .map(|_| {
                price *= 1.0 + rng.random_range(-0.03..0.03);
                price
            })
            .collect();
        // A smooth random field per map: each unit a bias plus two slow waves and a share
        // of the normalised price.
        let (lo, hi) = input
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        let mut field = |units: usize, squash: fn(f32) -> f32| -> Vec<f32> {
            let mut values = Vec::with_capacity(units * steps);
            for _ in 0..units {
                let bias: f32 = rng.random_range(-2.5..2.5);
                let (a1, p1, f1): (f32, f32, f32) = (
                    rng.random_range(0.0..1.5),
                    rng.random_range(0.0..6.3),
                    rng.random_range(0.05..0.3),
                );
                let (a2, p2, f2): (f32, f32, f32) = (
                    rng.random_range(0.0..1.0),
                    rng.random_range(0.0..6.3),
                    rng.random_range(0.3..1.0),
                );
                let w: f32 = rng.random_range(-2.0..2.0);
                for (s, &v) in input.iter().enumerate() {
                    let x = ((v - lo) / (hi - lo)) as f32 - 0.5;
                    let s = s as f32;
                    let z = bias + a1 * (f1 * s + p1).sin() + a2 * (f2 * s + p2).sin() + w * x;
                    values.push(squash(z));
                }
            }
            values
        };
        let sigmoid = |z: f32| 1.0 / (1.0 + (-z).exp());
        let tanh = |z: f32| z.tanh();
        // (file, cell, [(gate, signed)]): a signed value is a tanh, drawn over (−1, 1).
        type Gates = &'static [(&'static str, bool)];
        let cells: [(&str, &str, Gates); 3] = [
            (
                "gru",
                "GRU",
                &[("update gate z", false), ("reset gate r", false)],
            ),
            (
                "lstm",
                "LSTM",
                &[
                    ("input gate i", false),
                    ("forget gate f", false),
                    ("output gate o", false),
                ],
            ),
            ("rnn", "RNN", &[("hidden state h", true)]),
        ];
        for (file, cell, gates) in cells {
            let layers = [50, 100]
                .iter()
                .enumerate()
                .map(|(l, &units)| LayerGates {
                    title: format!("layer {} · {cell}({units})", l + 1),
                    maps: gates
                        .iter()
                        .map(|&(name, signed)| Heatmap {
                            name: name.into(),
                            units,
                            steps,
                            values: field(units, if signed { tanh } else { sigmoid }),
                            range: if signed { (-1.0, 1.0) } else { (0.0, 1.0) },
                        })
                        .collect(),
                })
                .collect();
            let p = GatePicture {
                title: format!("BTC-USD.csv · {cell} 50,100 · window ending 2024-03-30"),
                times: times.clone(),
                input: input.clone(),
                input_label: "Close".into(),
                layers,
            };
            draw_gates(Path::new(&format!("/tmp/gates-{file}.png")), &p).unwrap();
        }
    }
}
