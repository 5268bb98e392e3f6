//! The look the charts share: the palette of `plot`'s lines and the layout measures that
//! line its two panels, its legends and `compare`'s chart up on the same left edge.
//! (The grid and the gate maps keep their own measures, in their files.)

use plotters::style::RGBColor;

/// The size of `plot`'s picture; `compare`'s is as wide.
pub(super) const WIDTH: u32 = 1400;
pub(super) const HEIGHT: u32 = 1000;

/// The naive forecast's grey, the model's blue and the forecast's orange; a miss's red.
pub(super) const NAIVE: RGBColor = RGBColor(150, 150, 150);
pub const MODEL: RGBColor = RGBColor(31, 119, 180);
pub const FORECAST: RGBColor = RGBColor(230, 110, 0);
pub(super) const MISS: RGBColor = RGBColor(214, 39, 40);

/// The colour of a band of `base` at a level: lighter for wider levels, as the fan of a
/// fan chart fades outwards (opaque, so that bands never darken where they overlap).
pub fn shade_color(base: RGBColor, strength: f64) -> RGBColor {
    let mix = |c: u8| (f64::from(c) * strength + 255.0 * (1.0 - strength)).round() as u8;
    RGBColor(mix(base.0), mix(base.1), mix(base.2))
}

/// Left margin of both panels and the width of their y label areas: the plotting areas
/// and the legends under them start at `MARGIN + Y_LABEL_AREA`.
pub(super) const MARGIN: u32 = 16;
pub(super) const Y_LABEL_AREA: u32 = 100;
/// The price panel's space right of the plotting area: room for half of the last date
/// label, which is centred on its tick and may sit at the very edge.
pub(super) const RIGHT_MARGIN: u32 = 64;
/// Font size of tick labels.
pub(super) const LABEL_SIZE: u32 = 15;
/// Room one time label needs along the axis, gap included, in pixels.
pub(super) const TIME_LABEL_SLOT: u32 = 100;
