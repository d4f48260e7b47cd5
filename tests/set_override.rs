//! `--set KEY=VALUE`: a value of pipeline.toml changed from the command line enters the
//! keys like the file's own value, is recorded in the report, and is validated like the
//! file, with errors that name the `--set` at fault.

mod common;

use common::*;
use predicates::prelude::*;
use predicates::str::contains;

fn project() -> TestProject {
    tiny_training_project(
        120,
        30,
        "\n[train]\nmax_epochs = 2\nbatch_size = 16\nlr = 0.01\nseeds = [1]\n\n[[train.sweep]]\nname = \"a\"\ndatasets = [\"tiny\"]\ndepths = [1]\nwidths = [6]\n",
    )
}

#[test]
fn a_set_value_changes_the_keys_of_what_reads_it_only() {
    let p = project();
    p.repro().args(["run", "train"]).assert().success();
    // The same value as the file: nothing to do.
    p.repro()
        .args(["run", "train", "--dry-run", "--set", "train.lr=0.01"])
        .assert()
        .success()
        .stdout(contains("would run 0 unit(s)"));
    // Another rate retrains the network, because its parameters changed; the data do not.
    p.repro()
        .args(["run", "train", "--dry-run", "--set", "train.lr=0.003"])
        .assert()
        .success()
        .stdout(
            contains("would run 1 unit(s)")
                .and(contains("train/tiny-1x6-relu-mse-s1"))
                .and(contains("lr").and(contains("0.003")))
                .and(contains("data/").not()),
        );
    p.repro()
        .args(["run", "train", "--set", "train.lr=0.003"])
        .assert()
        .success()
        .stderr(contains("1 unit(s) run"));
    // Each value keeps its own entry: going back to the file's value runs nothing.
    assert_eq!(p.entries("train").len(), 2);
    p.repro()
        .args(["run", "train", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("would run 0 unit(s)"));
}

#[test]
fn a_bad_set_is_named_before_anything_runs() {
    let p = project();
    // A value the stage refuses: the error points at --set, not at the file's line.
    p.repro()
        .args(["run", "train", "--set", "train.batch_size=0"])
        .assert()
        .code(2)
        .stderr(
            contains("--set: key `train.sweep[0].batch_size`")
                .and(contains("from --set train.batch_size=0")),
        );
    // A value of the wrong type.
    p.repro()
        .args(["run", "train", "--set", "train.lr=fast"])
        .assert()
        .code(2)
        .stderr(contains("--set: key `train").and(contains("from --set train.lr=fast")));
    // Not KEY=VALUE, and a table that is not the experiment's.
    p.repro()
        .args(["status", "--set", "train.lr"])
        .assert()
        .code(2)
        .stderr(contains("`train.lr` is not KEY=VALUE"));
    p.repro()
        .args(["status", "--set", "executor.kind=slurm"])
        .assert()
        .code(2)
        .stderr(contains("cannot be set with --set"));
    assert!(p.entries("train").is_empty(), "nothing ran");
}
