//! The picture of a global model: a grid of small panels, one per series, each with the
//! recent past, the held-out part forecast in one go from its start beside the seasonal
//! naive forecast, and the forecast past the end; one title and one legend for all.
//!
//! Layout decisions are pure functions with unit tests: [`grid_shape`] (rows and columns
//! for n panels) and [`shorten`] (a panel title that fits its panel).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::Ticked;
use super::canvas::{draw_err, register_font, Picture};
use super::chart::Extent;
use super::legend::{Entry, Legend, Mark};
use super::style::{FORECAST, MODEL};
use crate::text::tick;

/// Panels drawn at most; a caller with more series draws the first and says so.
pub const MOST_PANELS: usize = 12;

const GRID_WIDTH: u32 = 1800;
const PANEL_HEIGHT: u32 = 330;
/// Space for the figure's title and subtitle, above the legend band.
const HEADER: u32 = 84;
const TITLE_SIZE: u32 = 24;
const SUBTITLE_SIZE: u32 = 16;
const PANEL_TITLE_SIZE: u32 = 16;
const PANEL_LABEL_SIZE: u32 = 13;
const PANEL_MARGIN: u32 = 10;
/// Width of a panel's y label area: room for labels like `12,345.5`.
const PANEL_Y_LABELS: u32 = 72;
/// Right of a panel's plotting area: half of a date label centred on the last tick.
const PANEL_RIGHT: u32 = 44;
const PANEL_X_LABELS: u32 = 26;
/// Left edge of the legend and of the figure's text.
const LEFT: u32 = 24;

/// The truth in black, the model and the forecast in `plot`'s colours ([`super::style`]),
/// the seasonal naive forecast in a darker grey than `plot`'s naive one.
const TRUTH: RGBColor = RGBColor(0, 0, 0);
const BASELINE: RGBColor = RGBColor(120, 120, 120);
const SHADE: RGBColor = RGBColor(226, 234, 244);
/// The interval bands: the model's and the forecast's colours, pale.
const MODEL_BAND: RGBColor = RGBColor(176, 206, 228);
const FORECAST_BAND: RGBColor = RGBColor(248, 206, 170);

/// One series' panel. Points are (Unix seconds, value).
#[derive(Debug, Clone)]
pub struct GridPanel {
    pub title: String,
    /// The true values shown: the recent past and the held-out part.
    pub truth: Vec<(i64, f64)>,
    /// First and last date of the held-out part, shaded; `None` without one.
    pub held_out: Option<(i64, i64)>,
    /// The model's forecast of the held-out part, made in one go from its start (joined to
    /// the last true value before it).
    pub model: Vec<(i64, f64)>,
    /// The seasonal naive forecast of the same part (joined likewise).
    pub baseline: Vec<(i64, f64)>,
    /// The forecast past the end, from the last true value.
    pub forecast: Vec<(i64, f64)>,
    /// The calibrated interval (one level) of the held-out forecast and of the forecast
    /// past the end, as (time, lower, upper), each from its join point; empty without.
    pub held_band: Vec<(i64, f64, f64)>,
    pub fan: Vec<(i64, f64, f64)>,
}

/// The legend's words, shared by every panel.
#[derive(Debug, Clone)]
pub struct GridLegend {
    pub truth: String,
    pub held_out: String,
    pub model: String,
    pub baseline: String,
    pub forecast: String,
    /// What the bands are (`95 % interval, calibrated`), when any panel has one.
    pub band: Option<String>,
}

#[derive(Debug, Clone)]
pub struct GridData {
    pub title: String,
    pub subtitle: String,
    /// Every timestamp is a midnight: the time axes are labelled with dates only.
    pub daily: bool,
    /// The usual length of one step of the series, in seconds.
    pub step_seconds: f64,
    pub legend: GridLegend,
    pub panels: Vec<GridPanel>,
}

/// Rows and columns for `n` panels: three columns, as many rows as they fill, but one row
/// for one or two panels and two by two for four.
pub fn grid_shape(n: usize) -> (usize, usize) {
    match n {
        0 | 1 => (1, 1),
        2 => (1, 2),
        4 => (2, 2),
        n => (n.div_ceil(3), 3),
    }
}

/// `id` followed by `rest`, with the id cut short (ending in `…`) until `fits` accepts the
/// whole; the id keeps one character at least.
pub fn shorten(id: &str, rest: &str, fits: impl Fn(&str) -> bool) -> String {
    let whole = format!("{id}{rest}");
    if fits(&whole) {
        return whole;
    }
    let chars: Vec<char> = id.chars().collect();
    (1..chars.len())
        .rev()
        .map(|keep| format!("{}…{rest}", chars[..keep].iter().collect::<String>()))
        .find(|t| fits(t))
        .unwrap_or_else(|| format!("{}…{rest}", chars.first().copied().unwrap_or('?')))
}

/// The title of a panel `width` pixels wide: `rest` after the id, the id cut to fit.
pub fn panel_title(id: &str, rest: &str, width: u32) -> String {
    register_font();
    let font = ("sans-serif", PANEL_TITLE_SIZE).into_font();
    let room = width.saturating_sub(2 * PANEL_MARGIN);
    shorten(id, rest, |t| font.box_size(t).is_ok_and(|(w, _)| w <= room))
}

/// The width of one panel of a grid of `n`.
pub fn panel_width(n: usize) -> u32 {
    GRID_WIDTH / grid_shape(n).1 as u32
}

impl GridData {
    fn legend(&self) -> anyhow::Result<Legend> {
        let l = &self.legend;
        let held_out = self.panels.iter().any(|p| p.held_out.is_some());
        let mut entries = vec![Entry {
            label: l.truth.clone(),
            mark: Mark::Line(ShapeStyle::from(&TRUTH).stroke_width(1)),
        }];
        if held_out {
            entries.push(Entry {
                label: l.held_out.clone(),
                mark: Mark::Shade(SHADE),
            });
            entries.push(Entry {
                label: l.model.clone(),
                mark: Mark::Line(ShapeStyle::from(&MODEL).stroke_width(2)),
            });
            if self.panels.iter().any(|p| !p.baseline.is_empty()) {
                entries.push(Entry {
                    label: l.baseline.clone(),
                    mark: Mark::Dashed(ShapeStyle::from(&BASELINE).stroke_width(2)),
                });
            }
        }
        entries.push(Entry {
            label: l.forecast.clone(),
            mark: Mark::Line(ShapeStyle::from(&FORECAST).stroke_width(2)),
        });
        if let Some(band) = &l.band {
            entries.push(Entry {
                label: format!("{band}, held-out forecast"),
                mark: Mark::Shade(MODEL_BAND),
            });
            entries.push(Entry {
                label: format!("{band}, forecast past the end"),
                mark: Mark::Shade(FORECAST_BAND),
            });
        }
        Legend::within(entries, LEFT, GRID_WIDTH - 2 * LEFT)
    }
}

impl Picture for GridData {
    fn size(&self) -> (u32, u32) {
        let rows = grid_shape(self.panels.len()).0 as u32;
        let legend = self.legend().map_or(0, |l| l.height);
        (GRID_WIDTH, HEADER + legend + rows * PANEL_HEIGHT)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        root.fill(&WHITE).map_err(draw_err)?;
        let legend = self.legend()?;
        let (header, rest) = root.split_vertically(HEADER);
        let (band, grid) = rest.split_vertically(legend.height);
        let left = Pos::new(HPos::Left, VPos::Top);
        let title = TextStyle::from(("sans-serif", TITLE_SIZE).into_font()).pos(left);
        let subtitle = TextStyle::from(("sans-serif", SUBTITLE_SIZE).into_font()).pos(left);
        header
            .draw(&Text::new(self.title.as_str(), (LEFT as i32, 14), &title))
            .map_err(draw_err)?;
        header
            .draw(&Text::new(
                self.subtitle.as_str(),
                (LEFT as i32, 52),
                &subtitle,
            ))
            .map_err(draw_err)?;
        legend.draw(&band)?;
        let areas = grid.split_evenly(grid_shape(self.panels.len()));
        for (panel, area) in self.panels.iter().zip(areas) {
            draw_panel(&area, panel, self)?;
        }
        root.present().map_err(draw_err)?;
        Ok(())
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &GridPanel,
    data: &GridData,
) -> anyhow::Result<()> {
    let ends: Vec<Vec<(i64, f64)>> = [&panel.held_band, &panel.fan]
        .iter()
        .flat_map(|b| {
            [
                b.iter().map(|&(t, lo, _)| (t, lo)).collect(),
                b.iter().map(|&(t, _, hi)| (t, hi)).collect(),
            ]
        })
        .collect();
    let mut lines: Vec<&[(i64, f64)]> =
        vec![&panel.truth, &panel.model, &panel.baseline, &panel.forecast];
    lines.extend(ends.iter().map(|e| &e[..]));
    let plot_width = area
        .dim_in_pixel()
        .0
        .saturating_sub(PANEL_MARGIN + PANEL_Y_LABELS + PANEL_RIGHT);
    let Extent {
        x: (x0, x1),
        y: (y0, y1),
        ticks,
    } = Extent::of(&lines, data.daily, plot_width)?;
    let key_points = ticks.ticks.iter().map(|&t| t as f64).collect();
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", PANEL_TITLE_SIZE))
        .margin(PANEL_MARGIN)
        .margin_right(PANEL_RIGHT)
        .x_label_area_size(PANEL_X_LABELS)
        .y_label_area_size(PANEL_Y_LABELS)
        .build_cartesian_2d(Ticked::new(x0 as f64..x1 as f64, key_points), y0..y1)
        .map_err(draw_err)?;
    if let Some((a, b)) = panel.held_out {
        let half = data.step_seconds / 2.0;
        let (a, b) = ((a as f64 - half).max(x0 as f64), b as f64 + half);
        chart
            .draw_series([Rectangle::new([(a, y0), (b, y1)], SHADE.filled())])
            .map_err(draw_err)?;
    }
    chart
        .configure_mesh()
        .y_labels(6)
        .x_label_formatter(&|x| ticks.label(x.round() as i64))
        .y_label_formatter(&|y| tick(*y))
        .label_style(("sans-serif", PANEL_LABEL_SIZE))
        .bold_line_style(BLACK.mix(0.08))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(draw_err)?;
    let at = |points: &[(i64, f64)]| -> Vec<(f64, f64)> {
        points.iter().map(|&(t, v)| (t as f64, v)).collect()
    };
    for (band, color) in [(&panel.held_band, MODEL_BAND), (&panel.fan, FORECAST_BAND)] {
        // Along the upper ends, then back along the lower ones.
        let outline: Vec<(f64, f64)> = (band.iter())
            .map(|&(t, _, hi)| (t as f64, hi))
            .chain(band.iter().rev().map(|&(t, lo, _)| (t as f64, lo)))
            .collect();
        if !outline.is_empty() {
            chart
                .draw_series([Polygon::new(outline, color.filled())])
                .map_err(draw_err)?;
        }
    }
    chart
        .draw_series(DashedLineSeries::new(
            at(&panel.baseline),
            6,
            4,
            ShapeStyle::from(&BASELINE).stroke_width(2),
        ))
        .map_err(draw_err)?;
    // The truth goes over the held-out forecasts, so that it shows where they meet.
    for (points, color, width) in [
        (&panel.model, MODEL, 2),
        (&panel.truth, TRUTH, 1),
        (&panel.forecast, FORECAST, 2),
    ] {
        chart
            .draw_series(LineSeries::new(
                at(points),
                ShapeStyle::from(&color).stroke_width(width),
            ))
            .map_err(draw_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_fill_three_columns_with_fewer_rows_for_fewer_series() {
        let shapes: Vec<_> = (1..=12).map(grid_shape).collect();
        assert_eq!(
            shapes,
            [
                (1, 1),
                (1, 2),
                (1, 3),
                (2, 2),
                (2, 3),
                (2, 3),
                (3, 3),
                (3, 3),
                (3, 3),
                (4, 3),
                (4, 3),
                (4, 3)
            ]
        );
        for n in 1..=MOST_PANELS {
            let (rows, cols) = grid_shape(n);
            assert!(rows * cols >= n && rows * cols - n < cols, "{n}");
            assert!(rows <= 4 && cols <= 3);
        }
    }

    #[test]
    fn a_long_id_is_cut_so_the_panel_title_fits() {
        let fits = |t: &str| t.chars().count() <= 20;
        assert_eq!(shorten("H1", ": MASE 1.00", fits), "H1: MASE 1.00");
        assert_eq!(
            shorten("a-very-long-series-name", ": MASE 1.00", fits),
            "a-very-l…: MASE 1.00"
        );
        // Nothing fits: the id keeps its first character.
        assert_eq!(
            shorten("abc", ": a long rest of text", fits),
            "a…: a long rest of text"
        );
        // Against the real font, in the narrowest panel of a full grid.
        let width = panel_width(MOST_PANELS);
        let rest = ": MASE model 12.34, seasonal naive 56.78";
        let title = panel_title(&"x".repeat(200), rest, width);
        assert!(
            title.ends_with(&format!("…{rest}")) && title.len() < 150,
            "{title}"
        );
        assert_eq!(panel_title("H123", rest, width), format!("H123{rest}"));
    }
}
