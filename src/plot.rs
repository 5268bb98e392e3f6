//! Renders the forecast picture: true prices, one-step predictions (the model's and the
//! naive forecast's, with both MAEs in the legend) over the held-out test part, and the
//! N-day forecast past the end on a dated axis, above the training and validation loss
//! curves. The drawing is written once, generic over plotters' `DrawingBackend`; [`render`]
//! returns the bytes of a PNG or an SVG (chosen from the output's extension by
//! [`ImageFormat::from_path`]) and the caller writes them atomically.

use std::io::Cursor;
use std::path::Path;
use std::sync::Once;

use anyhow::Context;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::data::format_time;
use crate::error::GrufError;
use crate::evaluate::money;
use crate::train::EpochRecord;

const WIDTH: u32 = 1400;
const HEIGHT: u32 = 1000;
const FONT: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");

/// A line of (Unix seconds, price) points with its legend label.
#[derive(Debug, Clone)]
pub struct Line {
    pub label: String,
    pub points: Vec<(i64, f64)>,
}

#[derive(Debug, Clone)]
pub struct PlotData {
    pub title: String,
    /// Dates print without a time of day.
    pub daily: bool,
    pub truth: Line,
    pub predicted: Line,
    /// The naive forecast over the same days as `predicted`.
    pub naive: Line,
    pub forecast: Line,
    pub history: Vec<EpochRecord>,
    pub best_epoch: usize,
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
    static FONTS: Once = Once::new();
    FONTS.call_once(|| {
        // The font is compiled in, so this cannot fail at run time short of a corrupt build.
        // Both backends need it: plotters measures text with it to lay the plot out; the
        // bitmap draws its glyphs, an SVG names the family and leaves drawing to the viewer.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
    match format {
        ImageFormat::Png => {
            let mut rgb = vec![255u8; (WIDTH * HEIGHT * 3) as usize];
            draw(
                &BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area(),
                data,
            )?;
            let mut png = Vec::new();
            image::RgbImage::from_raw(WIDTH, HEIGHT, rgb)
                .context("image buffer has the wrong size")?
                .write_to(&mut Cursor::new(&mut png), image::ImageOutputFormat::Png)?;
            Ok(png)
        }
        ImageFormat::Svg => {
            let mut svg = String::new();
            draw(
                &SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area(),
                data,
            )?;
            Ok(svg.into_bytes())
        }
    }
}

/// The whole picture on any backend: prices above, losses below.
fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, data: &PlotData) -> anyhow::Result<()> {
    root.fill(&WHITE).map_err(draw_err)?;
    let (top, bottom) = root.split_vertically(HEIGHT * 68 / 100);
    draw_prices(&top, data)?;
    draw_losses(&bottom, data)?;
    root.present().map_err(draw_err)?;
    Ok(())
}

fn draw_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing the plot failed: {e:?}")
}

fn days(secs: i64) -> f64 {
    secs as f64 / 86_400.0
}

fn draw_prices<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    data: &PlotData,
) -> anyhow::Result<()> {
    let lines = [&data.truth, &data.naive, &data.predicted, &data.forecast];
    let all = || lines.iter().flat_map(|l| l.points.iter());
    let (x0, x1) = all().fold((f64::MAX, f64::MIN), |(a, b), p| {
        (a.min(days(p.0)), b.max(days(p.0)))
    });
    let (y0, y1) = all().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    anyhow::ensure!(x0 < f64::MAX, "nothing to plot");
    let pad = ((y1 - y0) * 0.06).max(y1.abs() * 0.01);
    let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
    let daily = data.daily;

    let mut chart = ChartBuilder::on(area)
        .caption(&data.title, ("sans-serif", 26))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(100)
        .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_labels(8)
        .y_labels(8)
        .x_label_formatter(&|x| format_time((x * 86_400.0).round() as i64, daily))
        .y_label_formatter(&|y| money(*y).trim_end_matches(".00").to_string())
        .y_desc("price")
        .label_style(("sans-serif", 15))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(draw_err)?;

    let styles = [
        ShapeStyle::from(&BLACK).stroke_width(2),
        ShapeStyle::from(&RGBColor(150, 150, 150)).stroke_width(1),
        ShapeStyle::from(&RGBColor(31, 119, 180)).stroke_width(2),
        ShapeStyle::from(&RGBColor(230, 110, 0)).stroke_width(3),
    ];
    for (line, style) in lines.iter().zip(styles) {
        if line.points.is_empty() {
            continue;
        }
        let points = line.points.iter().map(|&(t, v)| (days(t), v));
        chart
            .draw_series(LineSeries::new(points, style))
            .map_err(draw_err)?
            .label(line.label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
    }
    if let Some(&(start, _)) = data.forecast.points.first() {
        let end_of_data = days(start) - 0.5;
        let guide = ShapeStyle::from(&BLACK.mix(0.35)).stroke_width(1);
        chart
            .draw_series(LineSeries::new(
                [(end_of_data, y0 - pad), (end_of_data, y1 + pad)],
                guide,
            ))
            .map_err(draw_err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 16))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(draw_err)?;
    Ok(())
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
    let epochs = h.len().max(2) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(
            "training and validation loss (MSE in the transform's units, log scale)",
            ("sans-serif", 20),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(100)
        .build_cartesian_2d(1f64..epochs, (lo * 0.8..hi * 1.25).log_scale())
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .x_labels(h.len().clamp(2, 11))
        .y_labels(6)
        .x_label_formatter(&|x| {
            if (x - x.round()).abs() < 0.01 {
                format!("{x:.0}")
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| format!("{y:.1e}"))
        .label_style(("sans-serif", 15))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(draw_err)?;
    type Curve = (&'static str, RGBColor, fn(&EpochRecord) -> f64);
    let series: [Curve; 2] = [
        ("train loss", RGBColor(31, 119, 180), |r| r.train_loss),
        ("validation loss", RGBColor(230, 110, 0), |r| r.val_loss),
    ];
    for (label, color, get) in series {
        let style = ShapeStyle::from(&color).stroke_width(2);
        chart
            .draw_series(LineSeries::new(
                h.iter().map(|r| (r.epoch as f64, get(r))),
                style,
            ))
            .map_err(draw_err)?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
    }
    if let Some(best) = h.iter().find(|r| r.epoch == data.best_epoch) {
        chart
            .draw_series([Circle::new(
                (best.epoch as f64, best.val_loss),
                6,
                RED.filled(),
            )])
            .map_err(draw_err)?
            .label(format!("best epoch {} (weights kept)", best.epoch))
            .legend(|(x, y)| Circle::new((x + 12, y), 5, RED.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 16))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(draw_err)?;
    Ok(())
}
