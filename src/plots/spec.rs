//! What a chart shows, as data: series (points, a band, a line style, a colour) in panels
//! (titles, axes, scales, reference lines). The figures stage builds these; `chart` lays
//! them out and writes them, `panel` draws one panel, `legend` its legend.

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
    pub(super) fn with_x_logged(&self) -> Panel {
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
