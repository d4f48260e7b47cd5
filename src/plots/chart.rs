//! Multi-panel line charts: the shape of almost every figure of the paper. A figure is
//! data (panels of series) first; rendering to PNG and SVG and writing the CSV behind it
//! are three views of the same data.

use super::layout::Layout;
use super::panel::draw_panel;
pub use super::spec::{csv_field, share_y_range, Mark, Panel, Series};
use super::style::{register_fonts, FAMILY};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::io::Write;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
#[error("rendering {path}: {message}")]
pub struct PlotError {
    pub path: String,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Figure {
    pub id: String,
    pub title: String,
    pub panels: Vec<Panel>,
    pub columns: usize,
    pub panel_size: (u32, u32),
}

impl Figure {
    /// Panels laid out in `columns` columns, each of the standard panel size (the legend
    /// takes the right part of each panel).
    pub fn grid(id: &str, title: &str, panels: Vec<Panel>, columns: usize) -> Self {
        Figure {
            id: id.into(),
            title: title.into(),
            panels,
            columns,
            panel_size: (640, 380),
        }
    }

    /// The same figure with panels of another size in pixels.
    pub fn with_panel_size(mut self, width: u32, height: u32) -> Self {
        self.panel_size = (width, height);
        self
    }

    fn size(&self) -> (u32, u32) {
        let cols = self.columns.clamp(1, self.panels.len().max(1));
        let rows = self.panels.len().max(1).div_ceil(cols);
        (
            self.panel_size.0 * cols as u32,
            self.panel_size.1 * rows as u32 + 40,
        )
    }

    /// Renders to SVG (text stays text); the layout is the PNG's.
    pub fn render_svg(&self, path: &Path) -> Result<Layout, PlotError> {
        register_fonts();
        let root = SVGBackend::new(path, self.size()).into_drawing_area();
        self.draw(root).map_err(|m| err(path, m))
    }

    /// Renders to an SVG document in memory (for pages that inline it).
    pub fn render_svg_string(&self) -> Result<String, String> {
        register_fonts();
        let mut svg = String::new();
        self.draw(SVGBackend::with_string(&mut svg, self.size()).into_drawing_area())?;
        Ok(svg)
    }

    /// The data behind the figure, long format: panel, series, x, y, low, high.
    pub fn write_csv(&self, path: &Path) -> std::io::Result<()> {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        writeln!(out, "panel,series,x,y,low,high")?;
        for p in &self.panels {
            for s in &p.series {
                for &(x, y) in &s.points {
                    let (lo, hi) = s
                        .band
                        .iter()
                        .find(|b| b.0 == x)
                        .map(|b| (b.1.to_string(), b.2.to_string()))
                        .unwrap_or_default();
                    writeln!(
                        out,
                        "{},{},{x},{y},{lo},{hi}",
                        csv_field(&p.title),
                        csv_field(&s.name)
                    )?;
                }
            }
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()
    }

    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<Layout, String> {
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let (title_area, body) = root.split_vertically(40);
        title_area
            .titled(&self.title, (FAMILY, 22).into_font())
            .map_err(|e| e.to_string())?;
        let cols = self.columns.clamp(1, self.panels.len().max(1));
        let rows = self.panels.len().max(1).div_ceil(cols);
        let mut panels = Vec::new();
        for (panel, area) in self.panels.iter().zip(body.split_evenly((rows, cols))) {
            panels.push(
                draw_panel(&area, panel).map_err(|e| format!("panel `{}`: {e}", panel.title))?,
            );
        }
        root.present().map_err(|e| e.to_string())?;
        let (width, height) = self.size();
        Ok(Layout {
            width,
            height,
            png_scale: super::raster::PNG_SCALE,
            panels,
        })
    }
}

fn err(path: &Path, message: String) -> PlotError {
    PlotError {
        path: path.display().to_string(),
        message,
    }
}
