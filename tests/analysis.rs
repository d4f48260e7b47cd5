//! The analysis stage through the CLI: tidy tables per snapshot, consistent with the
//! network's own outputs, readable by pandas; a bad activation file is a named error.

mod common;

use common::*;
use predicates::prelude::*;
use predicates::str::contains;
use repro::formats::table::{Column, Table};

fn project() -> TestProject {
    tiny_training_project(150, 60, "\n[train]\nmax_epochs = 4\nbatch_size = 16\nlr = 0.01\nseeds = [1]\n\n[[train.sweep]]\nname = \"a\"\ndatasets = [\"tiny\"]\ndepths = [2]\nwidths = [5]\n\n[analysis]\nhistogram_bins = 8\n")
}

fn texts<'a>(t: &'a Table, name: &str) -> &'a Vec<String> {
    match t.column(name) {
        Some(Column::Text(v)) => v,
        other => panic!("{name}: {other:?}"),
    }
}

fn ints<'a>(t: &'a Table, name: &str) -> &'a Vec<i64> {
    match t.column(name) {
        Some(Column::Int(v)) => v,
        other => panic!("{name}: {other:?}"),
    }
}

fn floats<'a>(t: &'a Table, name: &str) -> &'a Vec<f64> {
    match t.column(name) {
        Some(Column::Float(v)) => v,
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn writes_tidy_tables_for_every_snapshot() {
    let p = project();
    p.repro()
        .args(["run", "analysis"])
        .assert()
        .success()
        .stderr(contains("6 unit(s) run"));
    assert_eq!(p.entries("analysis").len(), 2, "init and best");
    let best = p.entry_for("analysis", "@best\"");
    let metrics = Table::read_ipc(&best.join("metrics.arrow")).unwrap();
    let names: Vec<&str> = metrics.columns.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "dataset",
            "depth",
            "width",
            "activation",
            "loss",
            "optimizer",
            "training",
            "seed",
            "snapshot",
            "epoch",
            "step",
            "layer",
            "system",
            "split",
            "class",
            "metric",
            "value"
        ]
    );
    let (system, split, metric, layer, value) = (
        texts(&metrics, "system"),
        texts(&metrics, "split"),
        texts(&metrics, "metric"),
        ints(&metrics, "layer"),
        floats(&metrics, "value"),
    );
    let find = |sys: &str, sp: &str, m: &str, l: i64| -> Vec<f64> {
        (0..metrics.rows())
            .filter(|&i| system[i] == sys && split[i] == sp && metric[i] == m && layer[i] == l)
            .map(|i| value[i])
            .collect()
    };
    // The network's test accuracy is the one the train stage measured on the same snapshot.
    let network: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(p.entries("train")[0].join("network.json")).unwrap(),
    )
    .unwrap();
    let net_test = find("network", "test", "accuracy", 3);
    assert_eq!(net_test.len(), 1);
    assert!((net_test[0] - network["test_acc"].as_f64().unwrap()).abs() < 1e-12);
    // Every layer (2 hidden + output) has all three systems on both splits, and perplexity.
    for l in 1..=3 {
        for sys in ["discrete", "continuous", "combined"] {
            for sp in ["train", "test"] {
                let v = find(sys, sp, "accuracy", l);
                assert!(
                    v.len() == 1 && (0.0..=1.0).contains(&v[0]),
                    "{sys} {sp} layer {l}: {v:?}"
                );
            }
        }
        let mean = find("patterns", "test", "mean_perplexity", l)[0];
        let per_class = find("patterns", "test", "perplexity", l);
        assert_eq!(per_class.len(), 3);
        assert!((mean - per_class.iter().sum::<f64>() / 3.0).abs() < 1e-9);
        assert!(
            per_class.iter().all(|&p| (1.0..=20.0).contains(&p)),
            "{per_class:?}"
        );
    }
    // A learnable task: late layers classify well.
    assert!(find("combined", "test", "accuracy", 2)[0] > 0.8);

    let fractions = Table::read_ipc(&best.join("fractions.arrow")).unwrap();
    assert_eq!(
        fractions.rows(),
        2 * (5 + 5 + 3) * 3,
        "splits x nodes x classes"
    );
    assert!(floats(&fractions, "value")
        .iter()
        .all(|v| (0.0..=1.0).contains(v)));
    let hist = Table::read_ipc(&best.join("histogram.arrow")).unwrap();
    assert_eq!(hist.rows(), 8 * 3);
    assert_eq!(
        ints(&hist, "count").iter().sum::<i64>(),
        120,
        "every train sample in one bin"
    );

    // pandas reads it (the venv setup.sh made).
    let python = std::env::var("REPRO_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(python)
        .args(["-c", "import sys, pandas as pd; t = pd.read_feather(sys.argv[1]); print(len(t), sorted(t.system.unique()))"])
        .arg(best.join("metrics.arrow"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("'combined', 'continuous', 'discrete', 'network', 'patterns'"));
}

#[test]
fn a_corrupted_activation_file_is_named_and_nothing_is_cached() {
    let p = project();
    p.repro().args(["run", "activations"]).assert().success();
    let file = p.entry_for("activations", "@best\"").join("activations.h5");
    {
        let f = hdf5::File::open_rw(&file).unwrap();
        let d = f.dataset("test/preact/2").unwrap();
        let mut v: Vec<f32> = d.read_raw().unwrap();
        v[3] = f32::INFINITY;
        d.write_raw(&v).unwrap();
    }
    p.repro()
        .args(["run", "analysis", "--keep-going"])
        .assert()
        .code(1)
        .stderr(contains("analysis/tiny-2x5-relu-mse-s1@best failed"))
        .stderr(
            contains(file.display().to_string())
                .and(contains("/test/preact/2"))
                .and(contains("non-finite value inf")),
        );
    assert_eq!(
        p.entries("analysis").len(),
        1,
        "only the init snapshot's analysis is cached"
    );
    p.repro()
        .arg("verify")
        .assert()
        .code(1)
        .stdout(contains("activations.h5: corrupted"));
}

#[test]
fn activation_files_are_dropped_once_analysed_and_regenerated_to_their_digest() {
    let p = project();
    p.repro().args(["run", "analysis"]).assert().success();
    let entry = p.entry_for("activations", "@best\"");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(entry.join("manifest.json")).unwrap())
            .unwrap();
    let recorded = manifest["outputs"][0]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !entry.join("activations.h5").exists(),
        "dropped after analysis"
    );
    p.repro()
        .arg("status")
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"activations\s+2\s+2\s").unwrap());
    // A changed analysis parameter needs both files again: they come back byte for byte
    // (the run would fail otherwise) and are dropped again.
    let config = std::fs::read_to_string(p.path().join("pipeline.toml")).unwrap();
    std::fs::write(
        p.path().join("pipeline.toml"),
        config.replace("histogram_bins = 8", "histogram_bins = 9"),
    )
    .unwrap();
    p.repro()
        .args(["run", "analysis"])
        .assert()
        .success()
        .stderr(contains("4 unit(s) run"));
    assert!(!entry.join("activations.h5").exists());
    // `--keep` brings them back for good, with the recorded digest.
    p.repro()
        .args(["run", "activations", "--keep"])
        .assert()
        .success();
    let bytes = std::fs::read(entry.join("activations.h5")).unwrap();
    assert_eq!(repro::engine::hash::sha256_hex(&bytes), recorded);
}
