//! The lower panel of `plot`'s picture: the training and validation loss per epoch, on the
//! axis [`LossAxis`] chooses, with the best epoch (whose weights were kept) marked.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::{LossAxis, Ticked};
use super::canvas::draw_err;
use super::legend::{Entry, Legend, Mark};
use super::style::{LABEL_SIZE, MARGIN, RIGHT_MARGIN, Y_LABEL_AREA};
use crate::train::EpochRecord;

/// The loss panel: losses per epoch, the best epoch marked.
pub(super) struct LossChart<'a> {
    pub(super) history: &'a [EpochRecord],
    /// The epoch whose weights were kept.
    pub(super) best_epoch: usize,
    /// What the losses are: `MSE`, or `pinball loss` for a quantile model.
    pub(super) loss_name: &'a str,
}

impl LossChart<'_> {
    /// Draws the chart on `area`; nothing without a positive finite loss.
    pub(super) fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> anyhow::Result<()> {
        let h = self.history;
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
        let best = h.iter().find(|r| r.epoch == self.best_epoch);
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
                    self.loss_name,
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
}
