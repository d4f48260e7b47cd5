//! Checks a rendered figure against its `<id>.layout.json` and `<id>.csv`, independently
//! of the plotting code: every data point lies inside its panel's axis ranges, and no
//! legend rectangle overlaps any plotting area.

use serde_json::Value;
use std::path::Path;

/// The problems found with figure `id` in `dir` (empty: none).
pub fn layout_problems(dir: &Path, id: &str) -> Vec<String> {
    let layout: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("{id}.layout.json"))).unwrap(),
    )
    .unwrap();
    let panels = layout["panels"].as_array().unwrap();
    let mut problems = Vec::new();
    let rect = |v: &Value| -> Option<(f64, f64, f64, f64)> {
        Some((
            v["x"].as_f64()?,
            v["y"].as_f64()?,
            v["w"].as_f64()?,
            v["h"].as_f64()?,
        ))
    };
    let overlap = |a: (f64, f64, f64, f64), b: (f64, f64, f64, f64)| {
        a.0 < b.0 + b.2 && b.0 < a.0 + a.2 && a.1 < b.1 + b.3 && b.1 < a.1 + a.3
    };
    for p in panels {
        let Some(legend) = rect(&p["legend"]) else {
            continue;
        };
        for q in panels {
            if let Some(area) = rect(&q["plot_area"]) {
                if overlap(legend, area) {
                    problems.push(format!(
                        "{id}: the legend of `{}` covers the plotting area of `{}`",
                        p["title"], q["title"]
                    ));
                }
            }
        }
    }
    // Heat maps write a matrix, not points: only line charts are checked point by point.
    let csv = std::fs::read_to_string(dir.join(format!("{id}.csv"))).unwrap();
    if !csv.starts_with("panel,series,x,y") {
        return problems;
    }
    for line in csv.lines().skip(1) {
        let row = csv_fields(line);
        let (title, x, y) = (row[0].as_str(), &row[2], &row[3]);
        let (Ok(x), Ok(y)) = (x.parse::<f64>(), y.parse::<f64>()) else {
            continue;
        };
        let Some(p) = panels.iter().find(|p| p["title"] == title) else {
            problems.push(format!("{id}: no panel `{title}` in the layout"));
            continue;
        };
        let range = |k: &str| (p[k][0].as_f64().unwrap(), p[k][1].as_f64().unwrap());
        let (log_x, log_y) = (p["x_log"] == true, p["y_log"] == true);
        // Points a log axis cannot show (<= 0) and non-finite ones are not drawn.
        if !x.is_finite() || !y.is_finite() || (log_x && x <= 0.0) || (log_y && y <= 0.0) {
            continue;
        }
        let slack = |v: f64| 1e-9 * v.abs().max(1.0);
        let inside = |v: f64, (lo, hi): (f64, f64)| v >= lo - slack(lo) && v <= hi + slack(hi);
        if !inside(x, range("x_range")) || !inside(y, range("y_range")) {
            problems.push(format!(
                "{id}: point ({x}, {y}) of `{}` lies outside `{title}`'s axes x {:?}, y {:?}",
                &row[1],
                range("x_range"),
                range("y_range")
            ));
        }
    }
    problems
}

/// The fields of one CSV line (double-quoted fields may hold commas and `""`).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            (c, _) => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}
