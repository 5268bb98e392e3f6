//! Legends, laid out in a band under a chart, outside its plotting area, so that they never
//! cover data (gruf 1.0 drew them inside, over the lines). Entries flow left to right in
//! rows that fit the width ([`flow`], a pure function with a unit test).

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::canvas::draw_err;
use super::style::{MARGIN, RIGHT_MARGIN, Y_LABEL_AREA};

const LEGEND_FONT: u32 = 16;
const LEGEND_ROW: u32 = 26;
/// Length of the line drawn before each legend label.
const SWATCH: u32 = 28;
/// Space between the swatch and its label, and between entries.
const SWATCH_GAP: u32 = 8;
const ENTRY_GAP: u32 = 32;

/// What a legend entry draws before its label.
#[derive(Clone, Copy)]
pub(super) enum Mark {
    Line(ShapeStyle),
    Dashed(ShapeStyle),
    Dot(RGBColor),
    /// A filled box: a shaded span.
    Shade(RGBColor),
}

/// One entry of a legend.
pub(super) struct Entry {
    pub(super) label: String,
    pub(super) mark: Mark,
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

/// A legend laid out in a band under a chart.
pub(super) struct Legend {
    entries: Vec<Entry>,
    places: Vec<(u32, u32)>,
    /// Where the first entry of each row starts, from the band's left edge.
    left: u32,
    /// Height of the band, in pixels.
    pub(super) height: u32,
}

impl Legend {
    /// Lays `entries` out across `area`'s width, aligned with the plotting area.
    pub(super) fn new<DB: DrawingBackend>(
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
    pub(super) fn within(entries: Vec<Entry>, left: u32, width: u32) -> anyhow::Result<Self> {
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
    pub(super) fn split<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>) {
        let height = area.dim_in_pixel().1;
        area.split_vertically(height.saturating_sub(self.height))
    }

    pub(super) fn draw<DB: DrawingBackend>(
        &self,
        band: &DrawingArea<DB, Shift>,
    ) -> anyhow::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
