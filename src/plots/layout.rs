//! Where a rendered figure put things, written beside it as `<figure>.layout.json` so that
//! tests (and other tools) can check that every point lies inside its panel's axes and that
//! no legend covers a plotting area. Pixels count from the image's top-left corner.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rect {
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
}

impl Rect {
    /// The rectangle spanning pixel ranges `[x0, x1)` and `[y0, y1)`.
    pub fn spanning(x: std::ops::Range<i32>, y: std::ops::Range<i32>) -> Rect {
        Rect {
            x: x.start,
            y: y.start,
            w: x.end - x.start,
            h: y.end - y.start,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PanelLayout {
    pub title: String,
    /// The axis ranges in data units (for a log axis, the values, not their logarithms).
    pub x_range: [f64; 2],
    pub y_range: [f64; 2],
    pub x_log: bool,
    pub y_log: bool,
    /// `None` for a panel that shows only a note.
    pub plot_area: Option<Rect>,
    pub legend: Option<Rect>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Layout {
    /// The SVG's size; every pixel position here is in its pixels.
    pub width: u32,
    pub height: u32,
    /// PNG pixels per SVG pixel (the PNG is the SVG rasterised at this scale).
    pub png_scale: u32,
    pub panels: Vec<PanelLayout>,
}

impl Layout {
    pub fn write(&self, path: &std::path::Path) -> std::io::Result<()> {
        std::fs::write(
            path,
            serde_json::to_string_pretty(self).expect("a layout serialises"),
        )
    }
}
