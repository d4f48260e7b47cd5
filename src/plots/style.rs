//! Fonts and colours shared by every figure.

use plotters::style::{FontStyle, RGBColor};
use std::sync::Once;

/// DejaVu Sans, bundled so figures render identically with no system fonts or fontconfig.
pub static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// The bundled font's family name, as the font file gives it.
pub const FONT_NAME: &str = "DejaVu Sans";
pub const FAMILY: &str = "sans-serif";

/// Registers the bundled font once per process under the family name all figures use.
pub fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for style in [
            FontStyle::Normal,
            FontStyle::Bold,
            FontStyle::Italic,
            FontStyle::Oblique,
        ] {
            if plotters::style::register_font(FAMILY, style, FONT).is_err() {
                panic!("the bundled font does not parse");
            }
        }
    });
}

/// Paul Tol's "muted" qualitative scheme, designed to stay distinct under the common forms
/// of colour blindness; ten entries (nine colours and a pale grey) cover ten classes.
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(0x33, 0x22, 0x88), // indigo
    RGBColor(0xCC, 0x66, 0x77), // rose
    RGBColor(0x11, 0x77, 0x33), // green
    RGBColor(0x88, 0xCC, 0xEE), // cyan
    RGBColor(0xDD, 0xCC, 0x77), // sand
    RGBColor(0x88, 0x22, 0x55), // wine
    RGBColor(0x44, 0xAA, 0x99), // teal
    RGBColor(0x99, 0x99, 0x33), // olive
    RGBColor(0xAA, 0x44, 0x99), // purple
    RGBColor(0x77, 0x77, 0x77), // grey (darker than Tol's pale grey, to show on white)
];

pub fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}
