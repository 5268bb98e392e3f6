//! Pictures, written once over plotters' `DrawingBackend`: each returns the bytes of a PNG
//! or an SVG (chosen from the output's extension by [`ImageFormat::from_path`]) and the
//! caller writes them atomically. What a reader needs decides the layout, and the
//! decisions are pure functions with unit tests.
//!
//! What is where, each file using only those listed before it:
//!
//! ```text
//! canvas     image formats, the Picture trait, encoding to PNG or SVG, the font
//! style      the palette and the layout measures the charts share
//! axis       ticks: round time ticks, the loss axis (log or linear), a ticked axis
//! legend     legends in a band under a chart, never over the data
//! chart      a chart of lines and bands over time (Line, Shade, TimeChart)
//! loss       the loss curves per epoch
//! forecast   `plot`'s picture of one series: prices and forecast above, losses below
//! compare    `compare`'s picture: each cell's one-step predictions
//! grid       `plot`'s picture of a global model: one small panel per series
//! gates      `inspect`'s picture and CSV: gate values over one input window
//! ```

mod axis;
mod canvas;
mod chart;
mod compare;
mod forecast;
pub mod gates;
mod grid;
mod legend;
mod loss;
mod style;

pub use axis::{LossAxis, Scale, TimeTicks};
pub use canvas::ImageFormat;
pub use chart::{Line, Shade};
pub use compare::CompareData;
pub use forecast::{end_of_data, PlotData};
pub use grid::{
    grid_shape, panel_title, panel_width, GridData, GridLegend, GridPanel, MOST_PANELS,
};
pub use style::{shade_color, FORECAST, MODEL};

use canvas::encode;

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
