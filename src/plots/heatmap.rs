//! A labelled heat map (rows x columns of values in [0, 1]) with a colour bar.

use super::chart::PlotError;
use super::layout::{Layout, PanelLayout, Rect};
use super::style::{register_fonts, FAMILY};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::colors::colormaps::{ColorMap, ViridisRGB};
use std::path::Path;

/// The label of the cell a tick sits at the centre of; none for ticks on cell edges.
fn centre_label(value: &SegmentValue<usize>, labels: &[String]) -> String {
    match value {
        SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
        _ => String::new(),
    }
}

#[derive(Debug, Clone)]
pub struct HeatMap {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub row_labels: Vec<String>,
    /// One row per label; `NaN` cells (e.g. layers a shallow network lacks) stay blank.
    pub values: Vec<Vec<f64>>,
    /// Column labels (e.g. layer numbers).
    pub column_labels: Vec<String>,
}

impl HeatMap {
    fn size(&self) -> (u32, u32) {
        // Wide enough for the title too (about 10 px per character at 18 px).
        let title = 10 * self.title.chars().count() as u32 + 160;
        (
            760.max(120 + 40 * self.column_labels.len() as u32)
                .max(title),
            140 + 28 * self.row_labels.len().max(1) as u32,
        )
    }

    pub fn render_svg(&self, path: &Path) -> Result<Layout, PlotError> {
        register_fonts();
        let root = SVGBackend::new(path, self.size()).into_drawing_area();
        self.draw(root).map_err(|message| PlotError {
            path: path.display().to_string(),
            message,
        })
    }

    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<Layout, String> {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        root.fill(&WHITE).map_err(e)?;
        // The colour bar's column is wide enough for its tick labels.
        let (main, bar) = root.split_horizontally(self.size().0 - 120);
        let cols = self.column_labels.len().max(1);
        let rows = self.row_labels.len().max(1);
        let mut chart = ChartBuilder::on(&main)
            .caption(&self.title, (FAMILY, 18).into_font())
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(150)
            // A segmented range over 0..n has n + 1 segments (the last one is for n).
            .build_cartesian_2d(
                (0..cols - 1).into_segmented(),
                (0..rows - 1).into_segmented(),
            )
            .map_err(e)?;
        let row_labels = self.row_labels.clone();
        let col_labels = self.column_labels.clone();
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_labels(cols)
            .y_labels(rows)
            // Segmented axes put each label at the centre of its cell.
            .x_label_formatter(&|v| centre_label(v, &col_labels))
            .y_label_formatter(&|v| centre_label(v, &row_labels))
            .label_style((FAMILY, 12))
            .axis_desc_style((FAMILY, 13))
            .draw()
            .map_err(e)?;
        let cells = self.values.iter().enumerate().flat_map(|(r, row)| {
            row.iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(move |(c, &v)| {
                    Rectangle::new(
                        [
                            (SegmentValue::Exact(c), SegmentValue::Exact(r)),
                            (SegmentValue::Exact(c + 1), SegmentValue::Exact(r + 1)),
                        ],
                        ViridisRGB.get_color_normalized(v, 0.0, 1.0).filled(),
                    )
                })
        });
        chart.draw_series(cells).map_err(e)?;
        let (px, py) = chart.plotting_area().get_pixel_range();
        // Colour bar: 0 at the bottom, 1 at the top.
        let mut scale = ChartBuilder::on(&bar)
            .margin_top(40)
            .margin_bottom(50)
            .margin_right(50)
            .y_label_area_size(40)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)
            .map_err(e)?;
        scale
            .configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_labels(5)
            .label_style((FAMILY, 11))
            .draw()
            .map_err(e)?;
        scale
            .draw_series((0..50).map(|i| {
                let (a, b) = (i as f64 / 50.0, (i + 1) as f64 / 50.0);
                Rectangle::new(
                    [(0.0, a), (1.0, b)],
                    ViridisRGB.get_color_normalized(a, 0.0, 1.0).filled(),
                )
            }))
            .map_err(e)?;
        root.present().map_err(e)?;
        // The colour bar with its labels is the legend.
        let (bx, by) = bar.get_base_pixel();
        let (bw, bh) = bar.dim_in_pixel();
        let (width, height) = self.size();
        Ok(Layout {
            width,
            height,
            png_scale: super::raster::PNG_SCALE,
            panels: vec![PanelLayout {
                title: self.title.clone(),
                x_range: [0.0, cols as f64],
                y_range: [0.0, rows as f64],
                x_log: false,
                y_log: false,
                plot_area: Some(Rect::spanning(px, py)),
                legend: Some(Rect {
                    x: bx,
                    y: by,
                    w: bw as i32,
                    h: bh as i32,
                }),
            }],
        })
    }
}
