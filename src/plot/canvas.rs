//! Where every picture ends up: the image formats `gruf` writes ([`ImageFormat`], chosen
//! from the output's extension), the [`Picture`] trait that each picture implements once,
//! generic over plotters' `DrawingBackend`, and [`encode`], which draws a picture on the
//! bitmap or the SVG backend and returns the file's bytes for the caller to write
//! atomically. The font is compiled in and registered here, before anything is measured.

use std::io::Cursor;
use std::path::Path;
use std::sync::Once;

use anyhow::Context;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::GrufError;

const FONT: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

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

/// A picture drawn once, on any backend.
pub(super) trait Picture {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>;
}

/// Draws `picture` and returns the file's bytes in `format`.
pub(super) fn encode<P: Picture>(picture: &P, format: ImageFormat) -> anyhow::Result<Vec<u8>> {
    register_font();
    let (width, height) = picture.size();
    match format {
        ImageFormat::Png => {
            let mut rgb = vec![255u8; (width * height * 3) as usize];
            picture
                .draw(&BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area())?;
            let mut png = Vec::new();
            image::RgbImage::from_raw(width, height, rgb)
                .context("image buffer has the wrong size")?
                .write_to(&mut Cursor::new(&mut png), image::ImageOutputFormat::Png)?;
            Ok(png)
        }
        ImageFormat::Svg => {
            let mut svg = String::new();
            picture
                .draw(&SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area())?;
            Ok(svg.into_bytes())
        }
    }
}

/// Both backends need the font: plotters measures text with it to lay the plot out; the
/// bitmap draws its glyphs, an SVG names the family and leaves drawing to the viewer.
pub(super) fn register_font() {
    static FONTS: Once = Once::new();
    FONTS.call_once(|| {
        // The font is compiled in, so this cannot fail at run time short of a corrupt build.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// A plotters error as ours.
pub(super) fn draw_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing the plot failed: {e:?}")
}
