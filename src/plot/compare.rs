//! `compare`'s picture: one chart of the held-out part with the true values, the naive
//! forecast and each cell's one-step predictions, in the look of `plot`'s price panel
//! (legend in a band underneath, the same time ticks and value labels). Each cell keeps
//! its colour whichever cells are drawn.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::model::Cell;

use super::canvas::{draw_err, Picture};
use super::chart::{Line, TimeChart};
use super::style::{MODEL, NAIVE, WIDTH};

const HEIGHT: u32 = 720;

#[derive(Debug, Clone)]
pub struct CompareData {
    pub title: String,
    /// The value axis' name: the forecast column.
    pub value_name: String,
    /// Every timestamp is a midnight: the time axis is labelled with dates only.
    pub daily: bool,
    pub truth: Line,
    pub naive: Line,
    /// Each cell's predictions over the same steps as `naive`, in the order drawn.
    pub cells: Vec<(Cell, Line)>,
}

/// GRU in `plot`'s model blue, LSTM green, RNN purple (matplotlib's tab10).
fn color(cell: Cell) -> RGBColor {
    match cell {
        Cell::Gru => MODEL,
        Cell::Lstm => RGBColor(44, 160, 44),
        Cell::Rnn => RGBColor(148, 103, 189),
    }
}

impl Picture for CompareData {
    fn size(&self) -> (u32, u32) {
        (WIDTH, HEIGHT)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        root.fill(&WHITE).map_err(draw_err)?;
        let mut lines = vec![
            (&self.truth, ShapeStyle::from(&BLACK).stroke_width(2)),
            (&self.naive, ShapeStyle::from(&NAIVE).stroke_width(1)),
        ];
        for (cell, line) in &self.cells {
            lines.push((line, ShapeStyle::from(&color(*cell)).stroke_width(2)));
        }
        let chart = TimeChart {
            title: &self.title,
            value_name: &self.value_name,
            daily: self.daily,
            end_of_data: None,
            shades: &[],
            dots: None,
        };
        chart.draw(root, &lines)?;
        root.present().map_err(draw_err)?;
        Ok(())
    }
}
