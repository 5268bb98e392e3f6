//! `plot`'s picture of one series: true prices, one-step predictions (the model's and the
//! naive forecast's, with both MAEs in the legend) over the held-out test part, and the
//! N-day forecast past the end on a dated axis, above the training and validation loss
//! curves. The end-of-data line ([`end_of_data`]) sits half a step before the first
//! forecast point.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::canvas::{draw_err, Picture};
use super::chart::{Line, Shade, TimeChart};
use super::loss::LossChart;
use super::style::{FORECAST, HEIGHT, MISS, MODEL, NAIVE, WIDTH};
use crate::train::EpochRecord;

/// What `plot` draws for one series.
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

impl Picture for PlotData {
    fn size(&self) -> (u32, u32) {
        (WIDTH, HEIGHT)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        draw(root, self)
    }
}

/// The whole picture on any backend: prices above, losses below.
fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, data: &PlotData) -> anyhow::Result<()> {
    root.fill(&WHITE).map_err(draw_err)?;
    let (top, bottom) = root.split_vertically(HEIGHT * 64 / 100);
    draw_prices(&top, data)?;
    let losses = LossChart {
        history: &data.history,
        best_epoch: data.best_epoch,
        loss_name: data.loss_name,
    };
    losses.draw(&bottom)?;
    root.present().map_err(draw_err)?;
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::axis::{DAY, HOUR};

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
}
