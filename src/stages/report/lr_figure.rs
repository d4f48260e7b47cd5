//! The report's learning-rate selection figure: per training configuration the `lr` stage
//! chose for, the training loss of every rate it tried against the epoch (0: the initial network; log scale), the
//! chosen rate drawn solid and the others dashed, unstable ones named so in the legend.
//! Drawn from each lr entry's `curves.csv` (rate, epoch, train_loss) and `selection.json`.

use crate::engine::stage::UnitError;
use crate::plots::{Figure, Mark, Panel, Series};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

pub const ID: &str = "lr_selection";

/// The file of an lr entry with one training loss per rate and epoch.
const CURVES: &str = "curves.csv";

/// Training loss per epoch, per rate, from a `curves.csv`. Rates are keyed by their text
/// as written (so 0.001 stays 0.001); epochs keep file order.
fn read_curves(path: &Path) -> Result<BTreeMap<String, Vec<(f64, f64)>>, UnitError> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        let bad = || {
            format!(
                "{} line {}: expected rate,epoch,train_loss",
                path.display(),
                n + 1
            )
        };
        let [rate, epoch, loss] = cols[..] else {
            return Err(bad().into());
        };
        let epoch: f64 = epoch.parse().map_err(|_| bad())?;
        let loss: f64 = loss.parse().map_err(|_| bad())?;
        // A diverged epoch (NaN or infinite loss) has no place on a log axis.
        if loss.is_finite() && loss > 0.0 {
            // Epoch 0 is the initial network's loss.
            out.entry(rate.to_string()).or_default().push((epoch, loss));
        }
    }
    Ok(out)
}

/// One panel: the curves of one configuration's lr entry.
fn panel(configuration: &str, entry: &Path, selection: &Value) -> Result<Panel, UnitError> {
    let curves = read_curves(&entry.join(CURVES))?;
    let chosen = selection["chosen"].as_f64();
    let trials = selection["trials"].as_array().cloned().unwrap_or_default();
    let mut series = Vec::new();
    for (colour, (rate, points)) in curves.into_iter().enumerate() {
        let value: Option<f64> = rate.parse().ok();
        let trial = trials
            .iter()
            .find(|t| t["rate"].as_f64().is_some() && t["rate"].as_f64() == value);
        let stable = trial.is_none_or(|t| t["stable"].as_bool() == Some(true));
        let is_chosen = value.is_some() && value == chosen;
        let name = match (is_chosen, stable) {
            (true, _) => format!("lr {rate} (chosen)"),
            (false, true) => format!("lr {rate}"),
            (false, false) => format!("lr {rate} (unstable)"),
        };
        let mark = if is_chosen { Mark::Line } else { Mark::Dashed };
        series.push(Series::new(name, points, mark, colour));
    }
    Ok(Panel::new(configuration, "epoch", "training loss")
        .with_integer_x()
        .with_log_y()
        .with_series(series))
}

/// Writes `lr_selection.svg`, `.png` and `.csv` into `dir` from the lr entries, given as
/// (configuration, entry folder, selection.json); returns what the templates show, or
/// Null when there was no selection.
pub fn write(dir: &Path, entries: &[(String, &Path, Value)]) -> Result<Value, UnitError> {
    if entries.is_empty() {
        return Ok(Value::Null);
    }
    let panels = entries
        .iter()
        .map(|(c, e, s)| panel(c, e, s))
        .collect::<Result<Vec<_>, _>>()?;
    let figure = Figure::grid(
        ID,
        "Learning-rate selection: training loss of each rate tried",
        panels,
        2,
    );
    figure.render_svg(&dir.join(format!("{ID}.svg")))?;
    figure.write_csv(&dir.join(format!("{ID}.csv")))?;
    super::embedded_figure(dir, ID)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn curves_are_read_per_rate_from_the_initial_epoch_with_diverged_epochs_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CURVES);
        std::fs::write(
            &path,
            "rate,epoch,train_loss\n0.001,0,0.5\n0.001,1,0.25\n0.01,0,0.9\n0.01,1,NaN\n",
        )
        .unwrap();
        let curves = read_curves(&path).unwrap();
        assert_eq!(curves["0.001"], [(0.0, 0.5), (1.0, 0.25)]);
        assert_eq!(curves["0.01"], [(0.0, 0.9)]);
        std::fs::write(&path, "rate,epoch,train_loss\n0.001,x\n").unwrap();
        let err = read_curves(&path).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn the_chosen_rate_is_solid_and_unstable_ones_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CURVES),
            "rate,epoch,train_loss\n0.001,0,0.5\n0.003,0,0.4\n0.01,0,0.9\n",
        )
        .unwrap();
        let selection = json!({ "chosen": 0.003, "trials": [
            { "rate": 0.001, "stable": true },
            { "rate": 0.003, "stable": true },
            { "rate": 0.01, "stable": false },
        ]});
        let p = panel("mnist-relu-mse-adam-b128", dir.path(), &selection).unwrap();
        let by_name: BTreeMap<&str, Mark> =
            p.series.iter().map(|s| (s.name.as_str(), s.mark)).collect();
        assert_eq!(
            by_name,
            BTreeMap::from([
                ("lr 0.001", Mark::Dashed),
                ("lr 0.003 (chosen)", Mark::Line),
                ("lr 0.01 (unstable)", Mark::Dashed),
            ])
        );
        assert!(p.log_y);
    }
}
