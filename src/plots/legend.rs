//! Legends drawn beside the plotting area, never on it, with real samples of each line
//! style (plotters' own legend is drawn inside the chart and takes one element per entry,
//! so dashed and dotted lines could only be spelled out in the label).

use super::layout::Rect;
use super::spec::{Mark, Series};
use super::style::{colour, FAMILY};
use plotters::coord::Shift;
use plotters::prelude::*;

const ROW: i32 = 18;
const SAMPLE: i32 = 26;
const FONT_SIZE: u32 = 12;

/// The width a legend of these series needs: the longest label at the font's typical
/// advance, the sample and margins.
pub fn width(series: &[Series]) -> u32 {
    let chars = series
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0);
    (chars as u32 * 7 + SAMPLE as u32 + 24).min(260)
}

/// Draws one row per named series from pixel row `top` of `area`; returns the legend's
/// rectangle in image pixels, or None when no series has a name.
pub fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    top: i32,
    series: &[Series],
) -> Result<Option<Rect>, String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let named: Vec<&Series> = series.iter().filter(|s| !s.name.is_empty()).collect();
    if named.is_empty() {
        return Ok(None);
    }
    let (base_x, base_y) = area.get_base_pixel();
    let (w, _) = area.dim_in_pixel();
    let left = 8;
    for (i, s) in named.iter().enumerate() {
        let y = top + i as i32 * ROW + ROW / 2;
        let c = colour(s.colour);
        let style = ShapeStyle::from(&c).stroke_width(2);
        match s.mark {
            Mark::Points => {
                area.draw(&Circle::new((left + SAMPLE / 2, y), 3, c.filled()))
                    .map_err(e)?;
            }
            mark => {
                // Dash and gap lengths as the chart draws them.
                let (on, off) = match mark {
                    Mark::Dashed => (8, 5),
                    Mark::Dotted => (2, 4),
                    _ => (SAMPLE, 0),
                };
                let mut x = left;
                while x < left + SAMPLE {
                    let end = (x + on).min(left + SAMPLE);
                    area.draw(&PathElement::new(vec![(x, y), (end, y)], style))
                        .map_err(e)?;
                    x = end + off;
                }
            }
        }
        area.draw_text(
            &s.name,
            &TextStyle::from((FAMILY, FONT_SIZE).into_font()).pos(
                plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Left,
                    plotters::style::text_anchor::VPos::Center,
                ),
            ),
            (left + SAMPLE + 6, y),
        )
        .map_err(e)?;
    }
    let height = named.len() as i32 * ROW;
    Ok(Some(Rect {
        x: base_x + left,
        y: base_y + top,
        w: w as i32 - left,
        h: height,
    }))
}
