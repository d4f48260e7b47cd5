//! The lr stage through the CLI: networks with `lr = "select"` train at the rate chosen
//! for their configuration, recorded in the lr entry and in each network; a changed grid
//! reruns the selection and the networks, nothing else; a fixed rate needs no selection.

mod common;

use common::*;
use predicates::prelude::*;
use predicates::str::contains;
use serde_json::Value;

const CONFIG: &str = "\n[train]\nmax_epochs = 2\nbatch_size = 16\nlr = \"select\"\nseeds = [1]\n\n[train.lr_selection]\nrates = [0.001, 0.03]\ndepth = 1\nwidth = 6\nepochs = 4\nseed = 1\nwindow = 1\n\n[[train.sweep]]\nname = \"a\"\ndatasets = [\"tiny\"]\ndepths = [1, 2]\nwidths = [6]\n";

fn json(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn selected_rates_are_chosen_once_per_configuration_and_used() {
    let p = tiny_training_project(120, 30, CONFIG);
    p.repro().args(["run", "train"]).assert().success();
    let lr = p.entries("lr");
    assert_eq!(lr.len(), 1, "one configuration: one selection");
    let selection = json(&lr[0].join("selection.json"));
    let chosen = selection["chosen"].as_f64().unwrap();
    let trials = selection["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 2);
    // The choice is the stable trial with the lowest final loss, recomputed here from
    // the recorded trials.
    let best = trials
        .iter()
        .filter(|t| t["stable"] == true)
        .min_by(|a, b| {
            a["final_loss"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["final_loss"].as_f64().unwrap())
        })
        .unwrap();
    assert_eq!(best["rate"].as_f64().unwrap(), chosen);
    let curves = std::fs::read_to_string(lr[0].join("curves.csv")).unwrap();
    assert_eq!(
        curves.lines().count(),
        1 + 2 * 5,
        "header, 2 rates x epochs 0-4"
    );
    for e in p.entries("train") {
        assert_eq!(
            json(&e.join("network.json"))["lr_used"].as_f64().unwrap(),
            chosen
        );
    }
    // Another grid reruns the selection, and the networks if its entry changes; the data
    // stay.
    p.repro()
        .args([
            "run",
            "train",
            "--dry-run",
            "--set",
            "train.lr_selection.rates=[0.001, 0.01]",
        ])
        .assert()
        .success()
        .stdout(
            contains("would run 1 unit(s)")
                .and(contains("lr/tiny-relu-mse-adam-b16"))
                .and(contains("parameter grid.rates changed"))
                .and(contains(
                    "and 2 more only if rebuilt inputs write different bytes",
                ))
                .and(contains("data/").not()),
        );
    p.repro()
        .args([
            "run",
            "train",
            "--set",
            "train.lr_selection.rates=[0.001, 0.01]",
        ])
        .assert()
        .success()
        .stderr(contains("3 unit(s) run"));
    // A fixed rate needs no selection at all.
    p.repro()
        .args(["run", "train", "--dry-run", "--set", "train.lr=0.01"])
        .assert()
        .success()
        .stdout(
            contains("would run 2 unit(s)")
                .and(contains("parameter lr changed: \"select\" -> 0.01"))
                .and(contains("input lr/tiny-relu-mse-adam-b16 no longer used"))
                .and(contains("\n  lr/").not()),
        );
}

#[test]
fn select_without_a_grid_or_with_a_bad_one_is_named() {
    let p = tiny_training_project(
        60,
        20,
        "\n[train]\nlr = \"select\"\n\n[[train.sweep]]\nname = \"a\"\ndatasets = [\"tiny\"]\ndepths = [1]\nwidths = [4]\n",
    );
    p.repro()
        .args(["run", "--dry-run"])
        .assert()
        .code(2)
        .stderr(contains("train.lr_selection").and(contains("missing")));
    p.repro()
        .args(["run", "--dry-run", "--set", "train.lr=fast"])
        .assert()
        .code(2)
        .stderr(contains("train"));
    let p = tiny_training_project(60, 20, &CONFIG.replace("window = 1", "window = 3"));
    p.repro()
        .args(["run", "--dry-run"])
        .assert()
        .code(2)
        .stderr(contains("train.lr_selection.epochs").and(contains("2 x window")));
}
