//! Multi-panel line charts: the shape of almost every figure of the paper. A figure is
//! data (panels of series) first; rendering to PNG and SVG and writing the CSV behind it
//! are three views of the same data.

use super::layout::{Layout, PanelLayout, Rect};
use super::legend;
use super::style::{colour, register_fonts, FAMILY};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::io::Write;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
#[error("rendering {path}: {message}")]
pub struct PlotError {
    pub path: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mark {
    Line,
    Dashed,
    Dotted,
    /// Points only (many unordered values, as in Fig. 1).
    Points,
}

#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// (x, low, high): the spread over seeds, drawn as a shaded band.
    pub band: Vec<(f64, f64, f64)>,
    pub mark: Mark,
    pub colour: usize,
}

impl Series {
    pub fn new(
        name: impl Into<String>,
        points: Vec<(f64, f64)>,
        mark: Mark,
        colour: usize,
    ) -> Self {
        Series {
            name: name.into(),
            points,
            band: Vec::new(),
            mark,
            colour,
        }
    }

    pub fn with_band(mut self, band: Vec<(f64, f64, f64)>) -> Self {
        self.band = band;
        self
    }
}

#[derive(Debug, Clone, Default)]
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_y: bool,
    /// Draw x on a log scale (positive values only; ticks labelled at powers of 10).
    pub log_x: bool,
    /// Label the x axis with whole numbers (layers, depths, widths).
    pub x_integer: bool,
    /// Fixed y range; unset: fitted to the data.
    pub y_range: Option<(f64, f64)>,
    /// Faint horizontal reference lines (e.g. perplexity 1); the y range includes them.
    pub reference_y: Vec<f64>,
    /// Thin vertical separators (e.g. between the layers of Fig. 1).
    pub separators_x: Vec<f64>,
    /// Labels centred at these x values along the top of the plotting area (e.g. the
    /// layer names of Fig. 1); keep the top of the y range free of data for them.
    pub labels_x: Vec<(f64, String)>,
    pub series: Vec<Series>,
    /// Shown instead of a chart when there is no data.
    pub empty_note: Option<String>,
}

impl Panel {
    /// A panel with its title and axis labels; the other settings start at their defaults
    /// and are set with the `with_*` methods.
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        Panel {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            ..Panel::default()
        }
    }

    /// A panel that shows only a note (no data to draw).
    pub fn note(title: impl Into<String>, note: impl Into<String>) -> Self {
        Panel {
            title: title.into(),
            empty_note: Some(note.into()),
            ..Panel::default()
        }
    }

    /// Label the x axis with whole numbers.
    pub fn with_integer_x(mut self) -> Self {
        self.x_integer = true;
        self
    }

    pub fn with_log_y(mut self) -> Self {
        self.log_y = true;
        self
    }

    pub fn with_log_x(mut self) -> Self {
        self.log_x = true;
        self
    }

    /// The panel with every x replaced by its log10 (drawn on a linear axis whose ticks
    /// are labelled as powers of 10); points at x <= 0 are left out.
    fn with_x_logged(&self) -> Panel {
        let mut out = self.clone();
        for s in &mut out.series {
            s.points.retain(|p| p.0 > 0.0);
            s.points.iter_mut().for_each(|p| p.0 = p.0.log10());
            s.band.retain(|b| b.0 > 0.0);
            s.band.iter_mut().for_each(|b| b.0 = b.0.log10());
        }
        out
    }

    /// Draws a faint horizontal line at each value and keeps it in view.
    pub fn with_reference_y(mut self, values: &[f64]) -> Self {
        self.reference_y.extend_from_slice(values);
        self
    }

    /// Thin vertical lines at these x values.
    pub fn with_separators_x(mut self, values: &[f64]) -> Self {
        self.separators_x.extend_from_slice(values);
        self
    }

    /// Labels at these x values along the top of the plotting area.
    pub fn with_labels_x(mut self, labels: Vec<(f64, String)>) -> Self {
        self.labels_x = labels;
        self
    }

    pub fn with_y_range(mut self, low: f64, high: f64) -> Self {
        self.y_range = Some((low, high));
        self
    }

    pub fn with_series(mut self, series: Vec<Series>) -> Self {
        self.series = series;
        self
    }

    /// Shown instead of a chart when the panel has no series.
    pub fn with_empty_note(mut self, note: impl Into<String>) -> Self {
        self.empty_note = Some(note.into());
        self
    }
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

/// A CSV field, quoted (quotes doubled) where it holds a comma, quote or newline.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Gives every panel the same y range, fitted to all their points and bands: panels the
/// reader compares side by side (one per epoch, per network) must share their scale.
pub fn share_y_range(panels: &mut [Panel]) {
    let ys: Vec<f64> = panels
        .iter()
        .flat_map(|p| p.series.iter())
        .flat_map(|s| {
            s.points
                .iter()
                .map(|p| p.1)
                .chain(s.band.iter().flat_map(|b| [b.1, b.2]))
        })
        .filter(|y| y.is_finite())
        .collect();
    let lo = ys.iter().copied().fold(f64::MAX, f64::min);
    let hi = ys.iter().copied().fold(f64::MIN, f64::max);
    if lo <= hi {
        let m = ((hi - lo) * 0.06).max(1e-3);
        for p in panels {
            p.y_range = Some((lo - m, hi + m));
        }
    }
}

/// Data ranges with a little margin; y from the points and bands.
fn ranges(panel: &Panel) -> ((f64, f64), (f64, f64)) {
    let xs = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0));
    let (mut x0, mut x1) = xs.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    if x0 > x1 {
        (x0, x1) = (0.0, 1.0);
    }
    // Log-x panels hold log10 values: a fixed half-unit pad would be half a decade.
    let min_pad = if panel.log_x { 0.05 } else { 0.5 };
    let pad = ((x1 - x0) * 0.04).max(min_pad);
    let ys = panel.series.iter().flat_map(|s| {
        s.points
            .iter()
            .map(|p| p.1)
            .chain(s.band.iter().flat_map(|b| [b.1, b.2]))
    });
    let ys: Vec<f64> = ys
        .chain(panel.reference_y.iter().copied())
        .filter(|y| y.is_finite() && (!panel.log_y || *y > 0.0))
        .collect();
    let (mut y0, mut y1) = ys
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &y| (a.min(y), b.max(y)));
    if y0 > y1 {
        (y0, y1) = if panel.log_y { (1.0, 10.0) } else { (0.0, 1.0) };
    }
    let y = match panel.y_range {
        Some(r) => r,
        None if panel.log_y => (y0 / 1.5, y1 * 1.5),
        None => {
            let m = ((y1 - y0) * 0.06).max(1e-3);
            (y0 - m, y1 + m)
        }
    };
    ((x0 - pad, x1 + pad), y)
}

fn x_label(panel: &Panel, x: f64) -> String {
    if panel.log_x {
        // x is log10 of the value: label ticks that land within 1% of 1, 2 or 5 times a
        // power of 10 (the tick positions are linear in the logarithm).
        let value = 10f64.powf(x);
        let decade = 10f64.powf(x.floor());
        let nice = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * decade)
            .find(|v| (value / v - 1.0).abs() < 0.01);
        nice.map_or(String::new(), |v| format!("{}", (v * 1e6).round() / 1e6))
    } else if panel.x_integer {
        // Whole numbers only; fractional ticks get no label.
        if (x - x.round()).abs() < 1e-9 {
            format!("{}", x.round() as i64)
        } else {
            String::new()
        }
    } else {
        format!("{x}")
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
) -> Result<PanelLayout, String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    if panel.series.iter().all(|s| s.points.is_empty()) {
        let note = panel.empty_note.clone().unwrap_or_else(|| "no data".into());
        area.titled(&panel.title, (FAMILY, 16).into_font())
            .map_err(e)?;
        area.draw_text(
            &note,
            &TextStyle::from((FAMILY, 14).into_font()).color(&BLACK.mix(0.6)),
            (20, 60),
        )
        .map_err(e)?;
        return Ok(PanelLayout {
            title: panel.title.clone(),
            x_range: [0.0, 1.0],
            y_range: [0.0, 1.0],
            x_log: false,
            y_log: false,
            plot_area: None,
            legend: None,
        });
    }
    let logged;
    let panel = if panel.log_x {
        logged = panel.with_x_logged();
        &logged
    } else {
        panel
    };
    let ((x0, x1), (y0, y1)) = ranges(panel);
    // The legend gets its own column at the right, beside the plotting area.
    let (width, _) = area.dim_in_pixel();
    let legend_width = legend::width(&panel.series).min(width / 2);
    let (chart_area, legend_area) = area.split_horizontally(width - legend_width);
    let mut builder = ChartBuilder::on(&chart_area);
    builder
        .caption(&panel.title, (FAMILY, 16).into_font())
        .margin(8)
        .x_label_area_size(36)
        .y_label_area_size(56);
    let plot = if panel.log_y {
        let mut chart = builder
            .build_cartesian_2d(x0..x1, (y0..y1).log_scale())
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc(&panel.x_label)
            .y_desc(&panel.y_label)
            .x_label_formatter(&|x| x_label(panel, *x))
            .y_label_formatter(&|y| format!("{y}"))
            .label_style((FAMILY, 12))
            .axis_desc_style((FAMILY, 13))
            .draw()
            .map_err(e)?;
        draw_series(&mut chart, panel, (x0, x1)).map_err(e)?;
        chart.plotting_area().get_pixel_range()
    } else {
        let mut chart = builder.build_cartesian_2d(x0..x1, y0..y1).map_err(e)?;
        chart
            .configure_mesh()
            .x_label_formatter(&|x| x_label(panel, *x))
            .x_desc(&panel.x_label)
            .y_desc(&panel.y_label)
            .label_style((FAMILY, 12))
            .axis_desc_style((FAMILY, 13))
            .draw()
            .map_err(e)?;
        draw_series(&mut chart, panel, (x0, x1)).map_err(e)?;
        chart.plotting_area().get_pixel_range()
    };
    let plot_area = Rect::spanning(plot.0, plot.1);
    let legend_top = plot_area.y - legend_area.get_base_pixel().1;
    let legend = legend::draw(&legend_area, legend_top, &panel.series)?;
    let x_range = if panel.log_x {
        [10f64.powf(x0), 10f64.powf(x1)]
    } else {
        [x0, x1]
    };
    Ok(PanelLayout {
        title: panel.title.clone(),
        x_range,
        y_range: [y0, y1],
        x_log: panel.log_x,
        y_log: panel.log_y,
        plot_area: Some(plot_area),
        legend,
    })
}

fn draw_series<'a, DB: DrawingBackend + 'a, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y>>,
    panel: &Panel,
    (x0, x1): (f64, f64),
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    Y: Ranged<ValueType = f64>,
{
    let faint = ShapeStyle::from(&BLACK.mix(0.35)).stroke_width(1);
    for &y in &panel.reference_y {
        chart.draw_series(DashedLineSeries::new(vec![(x0, y), (x1, y)], 4, 4, faint))?;
    }
    if !panel.separators_x.is_empty() {
        let (y0, y1) = (chart.y_range().start, chart.y_range().end);
        for &x in &panel.separators_x {
            chart.draw_series(LineSeries::new(vec![(x, y0), (x, y1)], faint))?;
        }
    }
    if !panel.labels_x.is_empty() {
        // Hung from the top edge: centred on x, a few pixels below the frame.
        let top = chart.y_range().end;
        let grey = BLACK.mix(0.75);
        let style = TextStyle::from((FAMILY, 12).into_font())
            .color(&grey)
            .pos(Pos::new(HPos::Center, VPos::Top));
        chart.draw_series(panel.labels_x.iter().map(|(x, text)| {
            EmptyElement::at((*x, top)) + Text::new(text.clone(), (0, 4), style.clone())
        }))?;
    }
    for s in &panel.series {
        let c = colour(s.colour);
        if s.band.len() > 1 {
            let mut outline: Vec<(f64, f64)> = s.band.iter().map(|b| (b.0, b.2)).collect();
            outline.extend(s.band.iter().rev().map(|b| (b.0, b.1)));
            chart.draw_series(std::iter::once(Polygon::new(outline, c.mix(0.18).filled())))?;
        }
        let style = ShapeStyle::from(&c).stroke_width(2);
        let pts = s.points.clone();
        match s.mark {
            Mark::Line => chart.draw_series(LineSeries::new(pts, style))?,
            Mark::Dashed => chart.draw_series(DashedLineSeries::new(pts, 8, 5, style))?,
            Mark::Dotted => chart.draw_series(DashedLineSeries::new(pts, 2, 4, style))?,
            // Small and translucent: thousands of nodes overlap (Fig. 1).
            Mark::Points => chart.draw_series(
                pts.into_iter()
                    .map(|p| Circle::new(p, 2, c.mix(0.55).filled())),
            )?,
        };
        // Small markers on line series keep single points visible.
        if s.mark != Mark::Points && s.points.len() <= 30 {
            chart.draw_series(s.points.iter().map(|&p| Circle::new(p, 2, c.filled())))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_x_ticks_are_labelled_at_1_2_and_5_times_powers_of_10() {
        let panel = Panel::new("t", "x", "y").with_log_x();
        let label = |v: f64| x_label(&panel, v.log10());
        assert_eq!(label(1.0), "1");
        assert_eq!(label(2.0), "2");
        assert_eq!(label(50.0), "50");
        assert_eq!(label(200.0), "200");
        assert_eq!(x_label(&panel, 0.35), "", "10^0.35 = 2.24 is no nice value");
        assert_eq!(x_label(&panel, 0.6), "", "10^0.6 = 3.98");
    }

    #[test]
    fn log_x_drops_non_positive_points_before_drawing() {
        let panel = Panel::new("t", "x", "y")
            .with_log_x()
            .with_series(vec![Series::new(
                "s",
                vec![(0.0, 1.0), (10.0, 2.0), (100.0, 3.0)],
                Mark::Line,
                0,
            )]);
        assert_eq!(
            panel.with_x_logged().series[0].points,
            [(1.0, 2.0), (2.0, 3.0)]
        );
    }
}
