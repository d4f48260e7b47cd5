//! A report after a partial run: with `--keep-going`, one network that diverges does not
//! block the report. The report renders from what completed, names the failed unit and
//! its log, and withholds the claim rows of that network's dataset; once the failure is
//! gone, the complete report is made again.

mod common;

use common::*;
use predicates::prelude::*;
use predicates::str::contains;

const CONFIG: &str = r#"
[data]
datasets = ["mnist"]

[train]
max_epochs = 2
batch_size = 64
seeds = [1]
train_subset = 1000
lr = 0.001

[[train.sweep]]
name = "depth"
datasets = ["mnist"]
depths = [1, 3]
widths = [16]

[activations]
splits = ["train", "test"]

[figures]
fig1_network = { dataset = "mnist", depth = 3, width = 16 }
histogram_network = { dataset = "mnist", depth = 3, width = 16 }
epochs_network = { dataset = "mnist", depth = 3, width = 16 }
depth_sweep_width = 16
width_sweep_depth = 3
fig6_dataset = "mnist"
fig9_dataset = "mnist"
"#;

/// A network whose rate makes its loss overflow in the first epoch.
const DIVERGING: &str = r#"
[[train.sweep]]
name = "diverging"
datasets = ["mnist"]
depths = [2]
widths = [16]
lr = 1e30
"#;

#[test]
fn keep_going_renders_a_partial_report_that_names_the_failed_unit() {
    let p = TestProject::new(&format!("{CONFIG}{DIVERGING}"));
    // Without --keep-going the report is not made.
    p.repro()
        .args(["run", "all", "--data-mirror"])
        .arg(shared_datasets())
        .assert()
        .code(1);
    assert!(p.entries("report").is_empty());

    let out = p
        .repro()
        .args(["run", "all", "--keep-going", "--data-mirror"])
        .arg(shared_datasets())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("report/report runs without its"),
        "{stderr}"
    );
    let md = std::fs::read_to_string(p.path().join("report/out/report.md"))
        .unwrap_or_else(|e| panic!("no report ({e}): {stderr}"));
    assert!(md.contains("**Partial report.**"), "{md}");
    let failed_line = md
        .lines()
        .find(|l| l.starts_with("> - `train/mnist-2x16"))
        .unwrap_or_else(|| panic!("the failed training is named: {md}"));
    // Its reason names the log, which exists and ends with the failure.
    let log = failed_line
        .split("log: ")
        .nth(1)
        .expect("the reason names the log")
        .trim()
        .trim_end_matches('|')
        .trim();
    let log_text = std::fs::read_to_string(log).unwrap();
    assert!(log_text.contains("ended: failed"), "{log_text}");
    // Units that only read the failed one are named as not run because of it.
    let skipped = md
        .lines()
        .find(|l| l.starts_with("> - `analysis/mnist-2x16-relu-mse-s1@best`"))
        .unwrap_or_else(|| panic!("{md}"));
    assert!(
        skipped.contains("not run: train/mnist-2x16-relu-mse-s1 failed: the loss became NaN"),
        "{skipped}"
    );
    // Every MNIST claim row is withheld: none has a verdict over fewer networks.
    let claims: Vec<serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(p.path().join("report/out/results/claims.json")).unwrap(),
    )
    .unwrap();
    let mnist_rows: Vec<&serde_json::Value> = claims
        .iter()
        .flat_map(|c| c["rows"].as_array().unwrap())
        .filter(|r| r["scope"] == "mnist")
        .collect();
    assert!(!mnist_rows.is_empty());
    for r in mnist_rows {
        assert_eq!(r["verdict"], "not-measured", "{r}");
        assert!(
            r["measured"].as_str().unwrap().contains("train/mnist-2x16"),
            "{r}"
        );
    }
    let partial_key = std::fs::read_to_string(p.path().join("report/out/.repro-key")).unwrap();

    // Without the diverging network, the complete report is made (another key).
    std::fs::write(p.path().join("pipeline.toml"), {
        let text = std::fs::read_to_string(p.path().join("pipeline.toml")).unwrap();
        text.replace(DIVERGING, "")
    })
    .unwrap();
    p.repro()
        .args(["run", "all", "--keep-going", "--data-mirror"])
        .arg(shared_datasets())
        .assert()
        .success()
        .stderr(contains("runs without").not());
    let md = std::fs::read_to_string(p.path().join("report/out/report.md")).unwrap();
    assert!(!md.contains("Partial report"));
    let key = std::fs::read_to_string(p.path().join("report/out/.repro-key")).unwrap();
    assert_ne!(key, partial_key);
}
