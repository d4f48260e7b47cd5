//! PNG from a figure's SVG: the SVG is the figure (text kept as text), and the PNG is that
//! SVG rasterised at a higher resolution for screens that need one, with the same
//! bundled font, so the two never differ in anything but pixels.

use super::style::{FONT, FONT_NAME};
use std::path::Path;
use std::sync::OnceLock;

/// How many PNG pixels per SVG pixel: 2, for high-density displays.
pub const PNG_SCALE: u32 = 2;

/// The parsing options: only the bundled font, under the family name the figures use, so
/// that no system font can change the pixels.
fn options() -> &'static resvg::usvg::Options<'static> {
    static OPTIONS: OnceLock<resvg::usvg::Options<'static>> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut options = resvg::usvg::Options {
            font_family: FONT_NAME.into(),
            ..Default::default()
        };
        let fonts = options.fontdb_mut();
        fonts.load_font_data(FONT.to_vec());
        fonts.set_sans_serif_family(FONT_NAME);
        options
    })
}

/// Rasterises the SVG file `svg` into the PNG file `png` at [`PNG_SCALE`].
pub fn png_from_svg(svg: &Path, png: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(svg).map_err(|e| format!("{}: {e}", svg.display()))?;
    let tree = resvg::usvg::Tree::from_str(&text, options())
        .map_err(|e| format!("{}: {e}", svg.display()))?;
    let size = tree.size().to_int_size();
    let scale = PNG_SCALE as f32;
    let mut pixmap =
        resvg::tiny_skia::Pixmap::new(size.width() * PNG_SCALE, size.height() * PNG_SCALE)
            .ok_or_else(|| format!("{}: an empty image", svg.display()))?;
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .save_png(png)
        .map_err(|e| format!("{}: {e}", png.display()))
}
