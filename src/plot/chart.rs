//! A chart of values over time with its legend in a band underneath ([`TimeChart`]): the
//! price panel of `plot` and the whole picture of `compare`. Its data are [`Line`]s of
//! (Unix seconds, value) points and interval [`Shade`]s; [`Extent`] is what a set of lines
//! spans, which the grid's small panels share.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::{Ticked, TimeTicks, DAY};
use super::canvas::draw_err;
use super::legend::{Entry, Legend, Mark};
use super::style::{LABEL_SIZE, MARGIN, RIGHT_MARGIN, TIME_LABEL_SLOT, Y_LABEL_AREA};
use crate::text::tick;

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

/// What a time chart spans: its time range, its value range with a margin, and its time
/// ticks for a plotting area `width` pixels wide.
pub(super) struct Extent {
    pub(super) x: (i64, i64),
    pub(super) y: (f64, f64),
    pub(super) ticks: TimeTicks,
}

impl Extent {
    pub(super) fn of(lines: &[&[(i64, f64)]], daily: bool, width: u32) -> anyhow::Result<Extent> {
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

/// A chart of values over time with its legend in a band underneath: the price panel of
/// `plot`, and the whole picture of `compare`.
pub(super) struct TimeChart<'a> {
    pub(super) title: &'a str,
    pub(super) value_name: &'a str,
    pub(super) daily: bool,
    /// Where a dashed line marks the end of the data, if anywhere.
    pub(super) end_of_data: Option<f64>,
    /// Bands drawn under the lines, in order.
    pub(super) shades: &'a [Shade],
    /// Points drawn as dots over the lines, in this colour.
    pub(super) dots: Option<(&'a Line, RGBColor)>,
}

impl TimeChart<'_> {
    /// Draws `lines` in their styles, in order (later ones on top); lines without points
    /// are left out of the legend.
    pub(super) fn draw<DB: DrawingBackend>(
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
