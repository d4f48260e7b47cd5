//! The recorded reports as a table (`repro runs`): one row per report with when it was
//! made, its name and profile, the parameters in which it differs from the default
//! configuration, its claim verdicts and a few key metrics, read from each report's
//! `results/` folder. Compare DVC's `exp show`.

use super::changes::escape;
use super::diff::{claims, metrics, DiffError};
use super::results::{flatten, DIR, PARAMS};
use crate::plots::chart::csv_field;
use crate::results::Summary;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// One recorded report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRow {
    pub time: String,
    pub name: String,
    pub profile: String,
    /// The report's key, 12 characters.
    pub key: String,
    /// `key=value` for every parameter whose value differs from the default
    /// configuration's (or that the default lacks).
    pub differs: Vec<String>,
    pub reproduced: usize,
    pub not_reproduced: usize,
    pub not_measured: usize,
    /// Per dataset: the median over its networks of the network's test error (best
    /// snapshots, mean over seeds), in percent.
    pub test_error: BTreeMap<String, f64>,
    /// The report's entry is gone (`gc`): only the record remains.
    pub gone: bool,
}

/// The columns a table can be sorted by.
pub const COLUMNS: [&str; 7] = [
    "time",
    "name",
    "profile",
    "reproduced",
    "not_reproduced",
    "not_measured",
    "test_error",
];

/// The dotted parameters of `params` that differ from `default` (both flattened).
fn differing(params: &BTreeMap<String, Value>, default: &BTreeMap<String, Value>) -> Vec<String> {
    params
        .iter()
        .filter(|(k, v)| default.get(*k) != Some(*v))
        .map(|(k, v)| {
            let shown = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!("{k}={shown}")
        })
        .collect()
}

/// A row from a report folder (`None` for `dir` when the entry is gone). `default` is the
/// default configuration's tables.
pub fn row(
    time: &str,
    name: Option<&str>,
    profile: Option<&str>,
    key: &str,
    dir: Option<&Path>,
    default: &Value,
) -> Result<RunRow, DiffError> {
    let mut r = RunRow {
        time: time.to_string(),
        name: name.unwrap_or_default().to_string(),
        profile: profile.unwrap_or("default").to_string(),
        key: key[..12.min(key.len())].to_string(),
        differs: Vec::new(),
        reproduced: 0,
        not_reproduced: 0,
        not_measured: 0,
        test_error: BTreeMap::new(),
        gone: dir.is_none(),
    };
    let Some(dir) = dir else {
        return Ok(r);
    };
    let path = dir.join(DIR).join(PARAMS);
    let text = std::fs::read_to_string(&path).map_err(|source| DiffError::Read {
        path: path.clone(),
        source,
    })?;
    let params: BTreeMap<String, Value> =
        serde_json::from_str(&text).map_err(|e| DiffError::Format {
            path,
            message: e.to_string(),
        })?;
    r.differs = differing(&params, &flatten(default));
    for ((_, scope), (verdict, _)) in claims(dir)? {
        if scope != "overall" {
            continue;
        }
        match verdict.as_str() {
            "reproduced" => r.reproduced += 1,
            "not reproduced" => r.not_reproduced += 1,
            _ => r.not_measured += 1,
        }
    }
    let mut errors: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for ((network, _, _, system, split, metric), value) in metrics(dir)? {
        if system == "network" && split == "test" && metric == "accuracy" {
            let dataset = network.split(' ').next().unwrap_or_default().to_string();
            errors
                .entry(dataset)
                .or_default()
                .push(100.0 * (1.0 - value));
        }
    }
    r.test_error = errors
        .into_iter()
        .filter_map(|(d, v)| Summary::of(v).map(|s| (d, s.median)))
        .collect();
    Ok(r)
}

/// Sorts rows by a column of [`COLUMNS`] (test error: the mean over datasets), in
/// ascending order; `None` if the column is not one of them.
pub fn sort(rows: &mut [RunRow], column: &str) -> Option<()> {
    let mean_error = |r: &RunRow| {
        if r.test_error.is_empty() {
            f64::INFINITY
        } else {
            r.test_error.values().sum::<f64>() / r.test_error.len() as f64
        }
    };
    match column {
        "time" => rows.sort_by(|a, b| a.time.cmp(&b.time)),
        "name" => rows.sort_by(|a, b| a.name.cmp(&b.name)),
        "profile" => rows.sort_by(|a, b| a.profile.cmp(&b.profile)),
        "reproduced" => rows.sort_by_key(|r| r.reproduced),
        "not_reproduced" => rows.sort_by_key(|r| r.not_reproduced),
        "not_measured" => rows.sort_by_key(|r| r.not_measured),
        "test_error" => rows.sort_by(|a, b| mean_error(a).total_cmp(&mean_error(b))),
        _ => return None,
    }
    Some(())
}

fn errors_text(r: &RunRow) -> String {
    if r.gone {
        return "(report deleted by gc)".into();
    }
    r.test_error
        .iter()
        .map(|(d, e)| format!("{d} {e:.2}%"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The longest `key=value` the text table shows whole; a longer one (a whole sweep list)
/// is cut, since the CSV and HTML have it in full.
const TEXT_ENTRY_MAX: usize = 48;

/// `entry`, cut to [`TEXT_ENTRY_MAX`] characters with an ellipsis where longer.
fn shorten(entry: &str) -> String {
    if entry.chars().count() <= TEXT_ENTRY_MAX {
        return entry.to_string();
    }
    let kept: String = entry.chars().take(TEXT_ENTRY_MAX - 1).collect();
    format!("{kept}…")
}

/// Aligned plain text; long parameter values are cut (see [`shorten`]).
pub fn text(rows: &[RunRow]) -> String {
    let header = [
        "time",
        "name",
        "profile",
        "key",
        "claims R/N/-",
        "test error",
        "differs",
    ];
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            [
                r.time.clone(),
                r.name.clone(),
                r.profile.clone(),
                r.key.clone(),
                format!("{}/{}/{}", r.reproduced, r.not_reproduced, r.not_measured),
                errors_text(r),
                r.differs
                    .iter()
                    .map(|d| shorten(d))
                    .collect::<Vec<_>>()
                    .join(" "),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for c in &cells {
        for (w, s) in widths.iter_mut().zip(c) {
            *w = (*w).max(s.chars().count());
        }
    }
    let line = |c: &[String]| {
        let mut s = String::new();
        for (i, (cell, w)) in c.iter().zip(widths).enumerate() {
            if i + 1 == c.len() {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(&header.map(String::from));
    for c in &cells {
        out.push_str(&line(c));
    }
    out
}

/// CSV, one column per dataset's test error.
pub fn csv(rows: &[RunRow]) -> String {
    let datasets: Vec<String> = {
        let mut d: Vec<String> = rows
            .iter()
            .flat_map(|r| r.test_error.keys().cloned())
            .collect();
        d.sort();
        d.dedup();
        d
    };
    let mut out = String::from("time,name,profile,key,reproduced,not_reproduced,not_measured");
    for d in &datasets {
        out.push_str(&format!(",test_error_{d}"));
    }
    out.push_str(",differs\n");
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{}",
            r.time,
            csv_field(&r.name),
            csv_field(&r.profile),
            r.key,
            r.reproduced,
            r.not_reproduced,
            r.not_measured
        ));
        for d in &datasets {
            out.push(',');
            if let Some(e) = r.test_error.get(d) {
                out.push_str(&format!("{e:.4}"));
            }
        }
        out.push(',');
        out.push_str(&csv_field(&r.differs.join(" ")));
        out.push('\n');
    }
    out
}

/// A standalone HTML page; a click on a column header sorts by it.
pub fn html(rows: &[RunRow]) -> String {
    let mut body = String::new();
    for r in rows {
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            escape(&r.time),
            escape(&r.name),
            escape(&r.profile),
            escape(&r.key),
            r.reproduced,
            r.not_reproduced,
            r.not_measured,
            escape(&errors_text(r)),
            escape(&r.differs.join(" ")),
        ));
    }
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>repro runs</title>\n<style>body{{font-family:sans-serif}} table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:.2em .5em}} th{{cursor:pointer;background:#f4f4f4}}</style></head><body>\n<h1>Recorded reports</h1>\n<table id=\"runs\"><thead><tr><th>time</th><th>name</th><th>profile</th><th>key</th><th>reproduced</th><th>not reproduced</th><th>not measured</th><th>test error (median)</th><th>differs from the default</th></tr></thead><tbody>\n{body}</tbody></table>\n<script>\n// Sort by the clicked column (numbers as numbers); a second click reverses.\ndocument.querySelectorAll('#runs th').forEach((th, col) => th.addEventListener('click', () => {{\n  const body = document.querySelector('#runs tbody');\n  const rows = Array.from(body.rows);\n  const up = th.dataset.up !== '1'; th.dataset.up = up ? '1' : '0';\n  const val = r => {{ const t = r.cells[col].textContent; const n = parseFloat(t); return isNaN(n) ? t : n; }};\n  rows.sort((a, b) => {{ const x = val(a), y = val(b); return (x < y ? -1 : x > y ? 1 : 0) * (up ? 1 : -1); }});\n  rows.forEach(r => body.appendChild(r));\n}}));\n</script>\n</body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(dir: &Path, params: Value, verdicts: &[&str], accuracies: &[(&str, f64)]) {
        std::fs::create_dir_all(dir.join(DIR)).unwrap();
        std::fs::write(dir.join(DIR).join(PARAMS), params.to_string()).unwrap();
        let claims: Vec<Value> = verdicts
            .iter()
            .enumerate()
            .map(|(i, v)| json!({ "id": format!("c{i}"), "verdict_text": v, "rows": [] }))
            .collect();
        std::fs::write(dir.join(DIR).join("claims.json"), json!(claims).to_string()).unwrap();
        let mut csv = String::from("network,training,layer,system,split,metric,value\n");
        for (net, acc) in accuracies {
            csv.push_str(&format!(
                "{net},\"lr=0.001, b\",3,network,test,accuracy,{acc}\n"
            ));
            csv.push_str(&format!(
                "{net},\"lr=0.001, b\",3,network,train,accuracy,0.5\n"
            ));
        }
        std::fs::write(dir.join(DIR).join("metrics.csv"), csv).unwrap();
    }

    #[test]
    fn a_row_has_the_differing_parameters_verdict_counts_and_median_errors() {
        let dir = tempfile::tempdir().unwrap();
        report(
            dir.path(),
            json!({ "train.lr": 0.003, "train.seeds": [1], "data.val_size": 10000 }),
            &["reproduced", "not reproduced", "reproduced", "not measured"],
            &[
                ("mnist 3x100 relu-mse adam", 0.98),
                ("mnist 4x100 relu-mse adam", 0.97),
                ("mnist 5x100 relu-mse adam", 0.90),
                ("fashion-mnist 3x100 relu-mse adam", 0.88),
            ],
        );
        let default =
            json!({ "train": { "lr": "select", "seeds": [1] }, "data": { "val_size": 10000 } });
        let r = row(
            "t",
            Some("faster"),
            None,
            "0123456789abcdef",
            Some(dir.path()),
            &default,
        )
        .unwrap();
        assert_eq!(r.differs, ["train.lr=0.003"]);
        assert_eq!((r.reproduced, r.not_reproduced, r.not_measured), (2, 1, 1));
        // Median of 2%, 3% and 10% is 3%; Fashion's one network 12%.
        assert!((r.test_error["mnist"] - 3.0).abs() < 1e-9);
        assert!((r.test_error["fashion-mnist"] - 12.0).abs() < 1e-9);
        assert_eq!(r.key, "0123456789ab");
        assert_eq!(r.profile, "default");
    }

    #[test]
    fn the_text_table_cuts_long_values_and_the_csv_keeps_them() {
        let sweep = format!("train.sweep=[{}]", "{\"depths\":[1,2,4]},".repeat(10));
        let row = RunRow {
            time: "t".into(),
            name: String::new(),
            profile: "quick".into(),
            key: "k".into(),
            differs: vec!["train.lr=0.003".into(), sweep.clone()],
            reproduced: 1,
            not_reproduced: 0,
            not_measured: 0,
            test_error: BTreeMap::new(),
            gone: false,
        };
        let table = text(std::slice::from_ref(&row));
        let last = table.lines().nth(1).unwrap();
        // 47 characters of the sweep, then the ellipsis; the short value whole.
        let cut: String = sweep.chars().take(47).collect();
        assert!(last.ends_with(&format!("train.lr=0.003 {cut}…")), "{last}");
        assert!(csv(&[row]).contains(&csv_field(&format!("train.lr=0.003 {sweep}"))));
    }

    #[test]
    fn rows_sort_by_a_named_column_and_print_as_csv() {
        let mk = |name: &str, reproduced: usize, err: f64| RunRow {
            time: format!("2026-12-0{reproduced}"),
            name: name.into(),
            profile: "default".into(),
            key: "k".into(),
            differs: vec!["train.lr=0.003".into(), "a.b=\"x,y\"".into()],
            reproduced,
            not_reproduced: 0,
            not_measured: 0,
            test_error: BTreeMap::from([("mnist".to_string(), err)]),
            gone: false,
        };
        let mut rows = vec![mk("b", 3, 1.0), mk("a", 1, 3.0), mk("c", 2, 2.0)];
        sort(&mut rows, "test_error").unwrap();
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["b", "c", "a"]);
        sort(&mut rows, "reproduced").unwrap();
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["a", "c", "b"]);
        assert!(sort(&mut rows, "colour").is_none());
        let csv = csv(&rows);
        let mut lines = csv.lines();
        assert_eq!(
            lines.next().unwrap(),
            "time,name,profile,key,reproduced,not_reproduced,not_measured,test_error_mnist,differs"
        );
        assert_eq!(
            lines.next().unwrap(),
            "2026-12-01,a,default,k,1,0,0,3.0000,\"train.lr=0.003 a.b=\"\"x,y\"\"\""
        );
    }
}
