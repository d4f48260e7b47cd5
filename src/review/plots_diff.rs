//! Plots diff: a figure whose data changed, drawn once with the old series dashed and the new
//! ones solid on the same axes, read from the two reports' figure CSVs (long format:
//! `panel,series,x,y,low,high`, as `plots::chart` writes them). Only the panels whose data
//! changed are drawn. A series keeps one colour before and after, so a moved line reads as
//! a dashed and a solid line of the same colour.
//!
//! Figures in another format (the selectivity table, a heat map) and point clouds (a series
//! whose x does not increase from point to point, as in Fig. 1, where lines would join
//! unrelated points) are not drawn this way; the caller shows their two PNGs instead.

use crate::plots::chart::{Figure, Mark, Panel, Series};
use std::collections::BTreeMap;
use std::path::Path;

/// Changed panels drawn at most; the rest are counted in the title.
pub const MAX_PANELS: usize = 8;

/// series name -> points (x, y) in file order.
type PanelData = BTreeMap<String, Vec<(f64, f64)>>;

/// A figure CSV in the long format: panels in file order, each with its series.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LongCsv {
    pub panels: Vec<(String, PanelData)>,
}

/// Splits one CSV line into fields, honouring double quotes (a doubled quote inside quotes
/// is one quote). Figure CSVs never put a newline inside a field.
pub fn split_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}

impl LongCsv {
    /// `None` when the text is not a long-format figure CSV (another header, or a row whose
    /// x or y is not a number).
    pub fn parse(text: &str) -> Option<LongCsv> {
        let mut lines = text.lines();
        if lines.next()? != "panel,series,x,y,low,high" {
            return None;
        }
        let mut out = LongCsv::default();
        for line in lines.filter(|l| !l.is_empty()) {
            let f = split_fields(line);
            if f.len() != 6 {
                return None;
            }
            let (x, y) = (f[2].parse().ok()?, f[3].parse().ok()?);
            // A panel's rows need not be contiguous.
            let at = match out.panels.iter().position(|(p, _)| *p == f[0]) {
                Some(at) => at,
                None => {
                    out.panels.push((f[0].clone(), BTreeMap::new()));
                    out.panels.len() - 1
                }
            };
            out.panels[at]
                .1
                .entry(f[1].clone())
                .or_default()
                .push((x, y));
        }
        Some(out)
    }

    /// Whether every series is a line: its x increases from each point to the next.
    pub fn all_lines(&self) -> bool {
        self.panels
            .iter()
            .flat_map(|(_, d)| d.values())
            .all(|points| points.windows(2).all(|w| w[0].0 < w[1].0))
    }

    fn panel(&self, title: &str) -> Option<&PanelData> {
        self.panels.iter().find(|(t, _)| t == title).map(|(_, d)| d)
    }
}

/// The titles of the panels whose data differs (or exists on one side only), new panels'
/// order first, then panels only the old figure had.
pub fn changed_panels(old: &LongCsv, new: &LongCsv) -> Vec<String> {
    let mut titles: Vec<&String> = new.panels.iter().map(|(t, _)| t).collect();
    titles.extend(
        old.panels
            .iter()
            .map(|(t, _)| t)
            .filter(|t| new.panel(t).is_none()),
    );
    titles
        .into_iter()
        .filter(|t| old.panel(t) != new.panel(t))
        .cloned()
        .collect()
}

/// Whether a panel's values span enough decades to read better on a log axis (perplexities
/// from 1 to the class size do): all positive and the largest over 100 times the smallest.
fn wants_log_y(series: &[Series]) -> bool {
    let ys: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .collect();
    let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    lo > 0.0 && hi / lo > 100.0
}

/// The overlay panel for one changed panel: each series' old points dashed, new solid.
pub fn overlay_panel(title: &str, old: Option<&PanelData>, new: Option<&PanelData>) -> Panel {
    let mut names: Vec<&String> = new.into_iter().flat_map(|d| d.keys()).collect();
    names.extend(old.into_iter().flat_map(|d| d.keys()));
    names.sort();
    names.dedup();
    let mut series = Vec::new();
    for (colour, name) in names.into_iter().enumerate() {
        if let Some(points) = old.and_then(|d| d.get(name)) {
            series.push(Series::new(
                format!("{name} (before)"),
                points.clone(),
                Mark::Dashed,
                colour,
            ));
        }
        if let Some(points) = new.and_then(|d| d.get(name)) {
            series.push(Series::new(
                format!("{name} (now)"),
                points.clone(),
                Mark::Line,
                colour,
            ));
        }
    }
    let log = wants_log_y(&series);
    // The CSV does not carry axis labels; the report's own figure has them.
    let panel = Panel::new(title, "", "").with_series(series);
    if log {
        panel.with_log_y()
    } else {
        panel
    }
}

/// The plots diff of figure `id` as an SVG document, or `None` when either CSV is missing,
/// not in the long format or a point cloud, or no panel changed.
pub fn figure_svg(id: &str, old_csv: &Path, new_csv: &Path) -> Result<Option<String>, String> {
    let read = |p: &Path| {
        std::fs::read_to_string(p)
            .ok()
            .and_then(|t| LongCsv::parse(&t))
    };
    let (Some(old), Some(new)) = (read(old_csv), read(new_csv)) else {
        return Ok(None);
    };
    let changed = changed_panels(&old, &new);
    if changed.is_empty() || !old.all_lines() || !new.all_lines() {
        return Ok(None);
    }
    let panels: Vec<Panel> = changed
        .iter()
        .take(MAX_PANELS)
        .map(|t| overlay_panel(t, old.panel(t), new.panel(t)))
        .collect();
    let mut title = format!("{id}: before dashed, now solid");
    if changed.len() > MAX_PANELS {
        title.push_str(&format!(
            " (the first {MAX_PANELS} of {} changed panels)",
            changed.len()
        ));
    }
    Figure::grid(&format!("{id}-diff"), &title, panels, 2)
        .with_panel_size(560, 340)
        .render_svg_string()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "panel,series,x,y,low,high\n\"a, first\",s1,1,10,,\n\"a, first\",s1,2,20,,\nb,s1,1,5,,\nb,\"s \"\"2\"\"\",1,7,4,9\n";

    #[test]
    fn long_csv_reads_quoted_fields_and_keeps_panel_order() {
        let csv = LongCsv::parse(OLD).unwrap();
        assert_eq!(csv.panels.len(), 2);
        assert_eq!(csv.panels[0].0, "a, first");
        assert_eq!(csv.panels[0].1["s1"], vec![(1.0, 10.0), (2.0, 20.0)]);
        assert_eq!(csv.panels[1].1["s \"2\""], vec![(1.0, 7.0)]);
        assert!(csv.all_lines());
        let cloud = "panel,series,x,y,low,high\np,s,1,5,,\np,s,1,6,,\n";
        assert!(!LongCsv::parse(cloud).unwrap().all_lines(), "x repeats");
        assert_eq!(LongCsv::parse("network,layer,share\nx,1,0\n"), None);
        assert_eq!(
            LongCsv::parse("panel,series,x,y,low,high\np,s,one,2,,\n"),
            None
        );
    }

    #[test]
    fn only_panels_whose_points_moved_are_changed() {
        let old = LongCsv::parse(OLD).unwrap();
        // Panel b's second series moves; panel c is new (its row between two of b's);
        // panel "a, first" is unchanged.
        let new = LongCsv::parse(
            &OLD.replace("1,7,4,9", "1,8,4,9")
                .replace("b,s1,1,5,,\n", "b,s1,1,5,,\nc,s1,1,1,,\n"),
        )
        .unwrap();
        assert_eq!(changed_panels(&old, &new), vec!["b", "c"]);
        assert!(changed_panels(&old, &old).is_empty());
    }

    #[test]
    fn an_overlay_draws_old_dashed_and_new_solid_in_one_colour_per_series() {
        let old = LongCsv::parse(OLD).unwrap();
        let mut gone = old.clone();
        gone.panels[1].1.remove("s1");
        let p = overlay_panel("b", old.panel("b"), gone.panel("b"));
        let got: Vec<(String, Mark, usize)> = p
            .series
            .iter()
            .map(|s| (s.name.clone(), s.mark, s.colour))
            .collect();
        assert_eq!(
            got,
            vec![
                ("s \"2\" (before)".to_string(), Mark::Dashed, 0),
                ("s \"2\" (now)".to_string(), Mark::Line, 0),
                ("s1 (before)".to_string(), Mark::Dashed, 1),
            ]
        );
        assert!(!p.log_y);
        // Perplexities from 1 to 1000 are drawn on a log axis.
        let wide = LongCsv::parse("panel,series,x,y,low,high\np,s,1,1,,\np,s,2,1000,,\n").unwrap();
        assert!(overlay_panel("p", None, wide.panel("p")).log_y);
    }
}
