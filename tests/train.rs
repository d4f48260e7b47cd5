//! Training: the loop on a tiny synthetic task (accuracy, early stopping, snapshots,
//! determinism) and the train stage through the CLI (caching, sweeps, bad input).

mod common;

use common::*;
use predicates::prelude::*;
use predicates::str::contains;
use repro::model::train::{train, EpochLog};
use repro::model::{Activation, Arch, Loss, Optimizer, Stop, TrainData, TrainSettings};
use tch::{Device, Kind, Tensor};

/// Two well-separated Gaussian-ish blobs per class in 6 dimensions, 3 classes.
fn blobs(n: usize, salt: u64) -> (Tensor, Tensor) {
    let mut rng = repro::rng::SplitMix64::new(salt);
    let mut x = Vec::with_capacity(n * 6);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % 3;
        y.push(c as i64);
        for d in 0..6 {
            let noise = (rng.below(1000) as f32 / 1000.0 - 0.5) * 0.6;
            x.push(if d / 2 == c { 1.0 + noise } else { noise });
        }
    }
    (
        Tensor::from_slice(&x).reshape([n as i64, 6]),
        Tensor::from_slice(&y),
    )
}

fn data() -> TrainData {
    let (x_train, y_train) = blobs(300, 1);
    let (x_val, y_val) = blobs(90, 2);
    TrainData {
        x_train,
        y_train,
        x_val,
        y_val,
    }
}

fn arch() -> Arch {
    Arch {
        inputs: 6,
        depth: 2,
        width: 8,
        classes: 3,
        activation: Activation::Relu,
    }
}

fn settings(seed: u64) -> TrainSettings {
    TrainSettings {
        loss: Loss::Mse,
        optimizer: Optimizer::Adam,
        lr: repro::model::Rate::Fixed(0.01),
        batch_size: 32,
        max_epochs: 12,
        stop: Stop::Epochs,
        seed,
        snapshot_epochs: vec![1, 3],
        snapshot_steps: vec![1, 5],
    }
}

type Snaps = Vec<(String, usize, usize, Vec<(String, Tensor)>)>;

fn run(
    seed: u64,
    settings: TrainSettings,
) -> (repro::model::train::TrainOutcome, Snaps, Vec<EpochLog>) {
    let mut snaps: Snaps = Vec::new();
    let mut rows = Vec::new();
    let outcome = train(
        arch(),
        &settings,
        &data(),
        Device::Cpu,
        &mut |label, epoch, step, tensors| {
            snaps.push((
                label.to_string(),
                epoch,
                step,
                tensors.iter().map(|(n, t)| (n.clone(), t.copy())).collect(),
            ));
            Ok(())
        },
        &mut |_, _, row| rows.push(row.clone()),
    )
    .unwrap();
    let _ = seed;
    (outcome, snaps, rows)
}

#[test]
fn learns_a_separable_task_and_keeps_the_best_epoch() {
    let (outcome, snaps, rows) = run(7, settings(7));
    assert!(
        outcome.best_val_acc >= 0.95,
        "val acc {}",
        outcome.best_val_acc
    );
    let (x, y) = blobs(90, 3);
    assert!(repro::model::train::accuracy(&outcome.best, &x, &y) >= 0.95);
    // Early stopping: the best epoch has the highest validation accuracy, the earliest on ties.
    let best = rows.iter().map(|r| r.val_acc).fold(f64::MIN, f64::max);
    let first_best = rows.iter().find(|r| r.val_acc == best).unwrap();
    assert_eq!(outcome.best_epoch, first_best.epoch);
    assert_eq!(outcome.log.len(), 13, "init row and 12 epochs");
    // Snapshot schedule: init, steps 1 and 5 of epoch 1, epochs 1 and 3, the final epoch
    // (`stop = epochs`: the last), then best.
    let labels: Vec<(&str, usize, usize)> = snaps
        .iter()
        .map(|(l, e, s, _)| (l.as_str(), *e, *s))
        .collect();
    let steps_per_epoch = 300usize.div_ceil(32);
    assert_eq!(
        labels,
        vec![
            ("init", 0, 0),
            ("step-1", 0, 1),
            ("step-5", 0, 5),
            ("epoch-1", 1, steps_per_epoch),
            ("epoch-3", 3, 3 * steps_per_epoch),
            ("final", 12, 12 * steps_per_epoch),
            (
                "best",
                outcome.best_epoch,
                outcome.best_epoch * steps_per_epoch
            ),
        ]
    );
    // The best snapshot holds exactly the weights of the returned best network.
    let best_snap = &snaps.last().unwrap().3;
    for (name, t) in outcome.best.named_copy() {
        let s = &best_snap.iter().find(|(n, _)| *n == name).unwrap().1;
        assert!(t.equal(s), "{name} differs");
    }
    assert_eq!(
        best_snap
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>(),
        [
            "hidden.0.bias",
            "hidden.0.weight",
            "hidden.1.bias",
            "hidden.1.weight",
            "output.bias",
            "output.weight"
        ]
    );
}

#[test]
fn same_seed_gives_bit_identical_weights_and_another_seed_does_not() {
    let (a, sa, _) = run(11, settings(11));
    let (b, sb, _) = run(11, settings(11));
    let (c, _, _) = run(12, settings(12));
    let (wa, wb, wc) = (
        a.best.named_copy(),
        b.best.named_copy(),
        c.best.named_copy(),
    );
    for ((na, ta), (_, tb)) in wa.iter().zip(&wb) {
        assert!(ta.equal(tb), "{na} differs between identical runs");
    }
    assert_eq!(
        a.log
            .iter()
            .map(|r| r.train_loss.to_bits())
            .collect::<Vec<_>>(),
        b.log
            .iter()
            .map(|r| r.train_loss.to_bits())
            .collect::<Vec<_>>()
    );
    for ((_, ta), (_, tb)) in sa
        .iter()
        .map(|s| (&s.0, &s.3))
        .zip(sb.iter().map(|s| (&s.0, &s.3)))
    {
        assert!(ta.iter().zip(tb).all(|(x, y)| x.1.equal(&y.1)));
    }
    assert!(wa.iter().zip(&wc).any(|((_, x), (_, y))| !x.equal(y)));
}

#[test]
fn glorot_uniform_weights_and_zero_biases() {
    tch::manual_seed(3);
    let m = repro::model::Mlp::new(
        Arch {
            inputs: 784,
            depth: 3,
            width: 100,
            classes: 10,
            activation: Activation::Relu,
        },
        Device::Cpu,
    );
    for (name, t) in m.named_copy() {
        if name.ends_with("bias") {
            assert_eq!(t.abs().max().double_value(&[]), 0.0, "{name}");
        } else {
            let size = t.size();
            let bound = (6.0 / (size[0] + size[1]) as f64).sqrt();
            let max = t.abs().max().double_value(&[]);
            assert!(
                max <= bound && max > 0.9 * bound,
                "{name}: max |w| {max}, bound {bound}"
            );
            let mean = t.mean(Kind::Float).double_value(&[]);
            assert!(mean.abs() < 0.05 * bound, "{name}: mean {mean}");
        }
    }
}

#[test]
fn patience_stops_early_and_later_snapshots_never_change_best_or_final() {
    let mut s = settings(5);
    s.lr = repro::model::Rate::Fixed(1e-9); // nothing improves after epoch 0
    s.stop = Stop::Patience { patience: 2 };
    s.snapshot_epochs = vec![];
    let (alone, snaps_alone, _) = run(5, s.clone());
    assert_eq!(alone.epochs_run, 2);
    assert_eq!((alone.stopped.epoch, alone.stopped.by_rule), (2, true));
    // A snapshot asked for after the stop: training goes on to take it, but `best` and
    // `final` are the networks the rule chose, bit for bit.
    s.snapshot_epochs = vec![4];
    let (longer, snaps_longer, _) = run(5, s);
    assert_eq!(longer.epochs_run, 4, "ran until the epoch-4 snapshot");
    assert_eq!(longer.stopped.epoch, 2);
    assert!(snaps_longer.iter().any(|(l, ..)| l == "epoch-4"));
    for label in ["best", "final"] {
        let find = |snaps: &Snaps| {
            snaps
                .iter()
                .find(|(l, ..)| l == label)
                .map(|(_, e, _, t)| {
                    (
                        *e,
                        t.iter()
                            .map(|(n, t)| (n.clone(), t.copy()))
                            .collect::<Vec<_>>(),
                    )
                })
                .unwrap_or_else(|| panic!("no `{label}` snapshot"))
        };
        let (a, b) = (find(&snaps_alone), find(&snaps_longer));
        assert_eq!(a.0, b.0, "{label}: same epoch");
        for ((n, x), (_, y)) in a.1.iter().zip(&b.1) {
            assert!(x.equal(y), "{label}: tensor {n} differs");
        }
    }
}

#[test]
fn convergence_stops_once_the_training_loss_flattens() {
    let mut s = settings(3);
    s.max_epochs = 60;
    s.snapshot_epochs = vec![];
    s.stop = Stop::Converged {
        window: 3,
        tolerance: 0.15,
    };
    let (outcome, snaps, log) = run(3, s);
    let stop = outcome.stopped.epoch;
    assert!(outcome.stopped.by_rule, "{}", outcome.stopped.reason);
    assert_eq!(outcome.epochs_run, stop);
    // Recomputed from the logged losses: the mean of the last 3 epochs is under 15% below
    // the mean of the 3 before at the stop, and not at any earlier epoch with two windows.
    let mean = |from: usize| (from..from + 3).map(|e| log[e].train_loss).sum::<f64>() / 3.0;
    let fall = |e: usize| (mean(e - 5) - mean(e - 2)) / mean(e - 5);
    assert!(fall(stop) < 0.15, "fall {}", fall(stop));
    assert!((6..stop).all(|e| fall(e) >= 0.15));
    let final_epoch = snaps.iter().find(|(l, ..)| l == "final").map(|s| s.1);
    assert_eq!(final_epoch, Some(stop));
    assert!(outcome.best_epoch <= stop);
}

// ---- the stage, through the CLI -------------------------------------------------------

fn train_project(extra: &str) -> TestProject {
    tiny_training_project(
        120,
        30,
        &format!("\n[train]\nmax_epochs = 4\nbatch_size = 16\nlr = 0.01\nseeds = [1]\n{extra}"),
    )
}

const SWEEPS: &str = "\n[[train.sweep]]\nname = \"a\"\ndatasets = [\"tiny\"]\ndepths = [1, 2]\nwidths = [8]\n\n[[train.sweep]]\nname = \"b\"\ndatasets = [\"tiny\"]\ndepths = [2]\nwidths = [8]\nsnapshot_steps = [2]\n";

#[test]
fn trains_each_network_once_and_reuses_it() {
    let p = train_project(SWEEPS);
    p.repro()
        .args(["run", "train", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("would run 3 unit(s)"))
        .stdout(contains("train/tiny-1x8-relu-mse-s1"))
        .stdout(contains("train/tiny-2x8-relu-mse-s1"));
    p.repro()
        .args(["run", "train"])
        .assert()
        .success()
        .stderr(contains("3 unit(s) run"));
    assert_eq!(
        p.entries("train").len(),
        2,
        "the network in both sweeps trained once"
    );
    let deep = p
        .entries("train")
        .into_iter()
        .find(|e| {
            std::fs::read_to_string(e.join("manifest.json"))
                .unwrap()
                .contains("tiny-2x8")
        })
        .unwrap();
    // Its snapshots are the union of both sweeps' schedules.
    for label in ["init", "step-2", "best"] {
        assert!(
            deep.join(format!("snapshots/{label}.safetensors"))
                .is_file(),
            "{label}"
        );
    }
    let net: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(deep.join("network.json")).unwrap()).unwrap();
    assert!(net["test_acc"].as_f64().unwrap() > 0.9, "{net}");
    let log = repro::formats::table::Table::read_ipc(&deep.join("log.arrow")).unwrap();
    assert_eq!(log.rows(), 5);

    p.repro()
        .args(["run", "train"])
        .assert()
        .success()
        .stderr(contains("0 unit(s) run, 3 reused"));

    // Adding one width trains only that network.
    let text = std::fs::read_to_string(p.path().join("pipeline.toml")).unwrap();
    std::fs::write(
        p.path().join("pipeline.toml"),
        text.replacen("widths = [8]", "widths = [8, 12]", 1),
    )
    .unwrap();
    p.repro()
        .args(["run", "train", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("would run 2 unit(s)"))
        .stdout(contains("tiny-1x12").and(contains("tiny-2x12")));
}

#[test]
fn a_diverging_network_fails_alone_with_its_epoch_named() {
    let sweeps = "\n[[train.sweep]]\nname = \"ok\"\ndatasets = [\"tiny\"]\ndepths = [1]\nwidths = [8]\n\n[[train.sweep]]\nname = \"boom\"\ndatasets = [\"tiny\"]\ndepths = [3]\nwidths = [8]\nlr = 1e30\n";
    let p = train_project(sweeps);
    p.repro()
        .args(["run", "train", "--keep-going"])
        .assert()
        .code(1)
        .stderr(contains("train/tiny-3x8-relu-mse-s1 failed").and(contains("in epoch 1")))
        .stderr(contains("2 unit(s) run, 0 reused, 1 failed"));
    assert_eq!(
        p.entries("train").len(),
        1,
        "nothing cached for the failed network"
    );
}

#[test]
fn bad_network_settings_are_config_errors() {
    for (sweep, key, message) in [
        (
            "depths = [0]\nwidths = [8]",
            "train.sweep[0].depths",
            "at least 1",
        ),
        (
            "depths = [1]\nwidths = [0]",
            "train.sweep[0].widths",
            "at least 1",
        ),
        (
            "depths = [1]\nwidths = [8]\nactivation = \"tanh\"",
            "train.sweep[0].activation",
            "unknown variant `tanh`",
        ),
        (
            "depths = [1]\nwidths = [8]\nloss = \"hinge\"",
            "train.sweep[0].loss",
            "unknown variant `hinge`",
        ),
        (
            "depths = [1]\nwidths = [8]\noptimizer = \"lbfgs\"",
            "train.sweep[0].optimizer",
            "unknown variant",
        ),
        (
            "depths = [1]\nwidths = [8]\ntrain_subset = 60\nsnapshot_steps = [9]",
            "train.sweep[0].snapshot_steps",
            "beyond the first epoch",
        ),
    ] {
        let p = train_project(&format!(
            "\n[[train.sweep]]\nname = \"x\"\ndatasets = [\"tiny\"]\n{sweep}\n"
        ));
        p.repro()
            .args(["run", "train", "--dry-run"])
            .assert()
            .code(2)
            .stderr(contains(format!("key `{key}`")).and(contains(message)));
    }
}
