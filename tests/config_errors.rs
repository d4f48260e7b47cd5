//! Bad configuration is rejected before anything runs, naming file, line and key.

mod common;

use common::*;
use predicates::prelude::*;
use predicates::str::contains;

/// Runs `repro run` (for real: a dry run writes nothing whatever the configuration, so it
/// could not show that nothing ran) and returns its stderr, asserting exit code 2 and that
/// no stage left an entry or a staging folder.
fn rejected(tables: &str) -> String {
    let p = TestProject::new(tables);
    let out = p.repro().arg("run").assert().code(2).get_output().clone();
    for stage in [
        "data",
        "train",
        "activations",
        "analysis",
        "figures",
        "report",
    ] {
        assert!(p.entries(stage).is_empty(), "{stage} ran");
    }
    assert!(p.staging_leftovers().is_empty(), "a unit started");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A training sweep over one tiny network with `extra` lines in `[train]`.
fn train_with(extra: &str) -> String {
    format!(
        "[train]\n{extra}\n[[train.sweep]]\nname = \"d\"\ndatasets = [\"mnist\"]\ndepths = [1]\nwidths = [5]\n"
    )
}

#[test]
fn training_settings_out_of_range_name_their_key() {
    for (extra, key, message) in [
        (
            "batch_size = 0",
            "train.sweep[0].batch_size",
            "must be at least 1",
        ),
        (
            "seeds = []",
            "train.sweep[0].seeds",
            "list at least one seed",
        ),
        (
            "stop = { rule = \"converged\", window = 0, tolerance = 0.01 }",
            "train.sweep[0].stop.window",
            "must be at least 1",
        ),
        (
            "stop = { rule = \"converged\", window = 3, tolerance = 1.5 }",
            "train.sweep[0].stop.tolerance",
            "must be a fraction between 0 and 1",
        ),
        (
            "stop = { rule = \"converged\", window = 3, tolerance = 0.0 }",
            "train.sweep[0].stop.tolerance",
            "must be a fraction between 0 and 1",
        ),
        (
            "max_epochs = 5\nsnapshot_epochs = [2, 9]",
            "train.sweep[0].snapshot_epochs",
            "epoch 9 is beyond max_epochs = 5",
        ),
    ] {
        let e = rejected(&train_with(extra));
        assert!(
            e.contains(&format!("key `{key}`")) && e.contains(message),
            "{extra}: {e}"
        );
    }
}

#[test]
fn toml_syntax_error_names_file_and_line() {
    let e = rejected("[data]\nval_size = = 3\n");
    assert!(e.contains("pipeline.toml") && e.contains("line 5"), "{e}");
}

#[test]
fn unknown_key_names_file_line_and_key() {
    // Line numbers count the [project] header the fixture writes (3 lines).
    let e = rejected("[data]\nval_size = 3\nbogus = 1\n");
    assert!(
        e.contains("pipeline.toml:6: key `data.bogus`") && e.contains("unknown field"),
        "{e}"
    );
}

#[test]
fn wrong_type_names_the_key() {
    let e = rejected("[data]\nval_size = \"many\"\n");
    assert!(
        e.contains("pipeline.toml:5: key `data.val_size`") && e.contains("invalid type"),
        "{e}"
    );
}

#[test]
fn impossible_value_names_the_key() {
    let e = rejected("[data]\nval_size = 0\n");
    assert!(
        e.contains("pipeline.toml:5: key `data.val_size`: must be at least 1"),
        "{e}"
    );
}

#[test]
fn unknown_dataset_lists_the_known_ones() {
    let e = rejected("[data]\ndatasets = [\n  \"mnist\",\n  \"kmnist\",\n]\n");
    assert!(
        e.contains("pipeline.toml:7: key `data.datasets[1]`")
            && e.contains("unknown dataset `kmnist`"),
        "{e}"
    );
    assert!(e.contains("fashion-mnist"), "{e}");
}

#[test]
fn unknown_table_is_rejected() {
    let e = rejected("[dtaa]\nval_size = 3\n");
    assert!(
        e.contains("pipeline.toml:4: key `dtaa`") && e.contains("no stage reads it"),
        "{e}"
    );
}

#[test]
fn a_bad_profile_value_points_at_the_profile() {
    let p = TestProject::new("[data]\nval_size = 5\n\n[profiles.small.data]\nval_size = 0\n");
    p.repro().args(["run", "--dry-run"]).assert().success();
    p.repro()
        .args(["run", "--dry-run", "--profile", "small"])
        .assert()
        .code(2)
        .stderr(contains(
            "pipeline.toml:8: key `profiles.small.data.val_size`: must be at least 1",
        ));
    p.repro()
        .args(["status", "--profile", "tiny"])
        .assert()
        .code(2)
        .stderr(contains("no profile `tiny`; profiles defined: small"));
}

#[test]
fn unknown_stage_name_lists_the_valid_ones() {
    let p = TestProject::new("");
    p.repro()
        .args(["run", "trian"])
        .assert()
        .code(2)
        .stderr(contains("unknown stage `trian`; stages: data, lr, train, activations, analysis, figures, report (or `all`)"));
}

#[test]
fn a_malformed_stage_declaration_is_named() {
    let p = TestProject::new("");
    let stages = p.stages_with_data();
    std::fs::write(
        stages.join("mine.toml"),
        "name = \"mine\"\ndescription = \"x\"\nversion = 1\nkind = \"command\"\ncommand = [\"true\"]\noutputs = [\"a\"]\nneeds = [\"dta\"]\n",
    )
    .unwrap();
    p.write_config("", &stages);
    p.repro().arg("dag").assert().code(2).stderr(contains(
        "mine.toml:7: key `needs`: unknown stage `dta`; declared stages: data, mine",
    ));
    std::fs::write(
        stages.join("mine.toml"),
        "name = \"mine\"\ndescription = \"x\"\nversion = 1\nrun = 3\n",
    )
    .unwrap();
    p.repro().arg("dag").assert().code(2).stderr(
        contains("mine.toml")
            .and(contains("line 4"))
            .and(contains("unknown field `run`")),
    );
}

#[test]
fn a_missing_config_file_is_named() {
    let p = TestProject::new("");
    p.repro()
        .args(["--config", "nope.toml", "status"])
        .assert()
        .code(2)
        .stderr(contains("nope.toml"));
}

#[test]
fn a_non_finite_number_is_an_error_not_the_default() {
    // TOML's nan and inf would turn into JSON null, i.e. "unset", i.e. the default.
    let e = rejected("[train]\nlr = nan\n");
    assert!(
        e.contains("pipeline.toml:5: key `train.lr`: must be a finite number"),
        "{e}"
    );
    let e = rejected("[figures]\ntransition_perplexity = inf\n");
    assert!(e.contains("key `figures.transition_perplexity`"), "{e}");
    let e = rejected("[figures]\ntransition_perplexity = 1.0\n");
    assert!(e.contains("must be above 1"), "{e}");
}

#[test]
fn a_non_positive_learning_rate_is_named() {
    let e = rejected(
        "[train]\nlr = -0.1\n[[train.sweep]]\nname = \"d\"\ndatasets = [\"mnist\"]\ndepths = [1]\nwidths = [5]\n",
    );
    assert!(
        e.contains("key `train.sweep[0].lr`") && e.contains("positive"),
        "{e}"
    );
}

#[test]
fn sizes_beyond_the_dataset_are_named() {
    let e = rejected("[data]\nval_size = 60000\n");
    assert!(
        e.contains("key `data.val_size`") && e.contains("60000 leaves no training images"),
        "{e}"
    );
    let e = rejected(
        "[data]\nval_size = 10000\n[train]\ntrain_subset = 50001\n[[train.sweep]]\nname = \"d\"\ndatasets = [\"mnist\"]\ndepths = [1]\nwidths = [5]\n",
    );
    assert!(
        e.contains("key `train.sweep[0].train_subset`")
            && e.contains("50001 is more than the 50000 training samples of `mnist`"),
        "{e}"
    );
}

#[test]
fn a_long_non_ascii_parameter_change_is_shown_whole_characters() {
    // A parameter read by a command stage changes from one long non-ASCII text to another:
    // the dry run names it, cut between characters, instead of panicking mid-character.
    let p = TestProject::new("");
    let stages = p.path().join("stages");
    std::fs::create_dir_all(&stages).unwrap();
    std::fs::write(
        stages.join("note.toml"),
        "name = \"note\"\ndescription = \"x\"\nversion = 1\nkind = \"command\"\nreads = [\"note\"]\ncommand = [\"sh\", \"-c\", \"echo hi > $REPRO_OUT/a\"]\noutputs = [\"a\"]\n",
    )
    .unwrap();
    let text = |c: char| format!("[note]\ntext = \"{}\"\n", c.to_string().repeat(80));
    p.write_config(&text('é'), &stages);
    p.repro().args(["run"]).assert().success();
    p.write_config(&text('ü'), &stages);
    p.repro()
        .args(["run", "--dry-run"])
        .assert()
        .success()
        .stdout(contains(format!(
            "parameter tables.note.text changed: \"{}... -> \"{}...",
            "é".repeat(56),
            "ü".repeat(56)
        )));
}

#[test]
fn a_slurm_table_for_no_stage_or_a_device_that_is_none_is_named() {
    // A typo in a stage's Slurm table would otherwise send training to CPU nodes silently.
    let e = rejected("[executor.slurm.stages.trian]\ngres = \"gpu:1\"\n");
    assert!(
        e.contains("pipeline.toml:4: key `executor.slurm.stages.trian`")
            && e.contains("no stage is named `trian`")
            && e.contains("train"),
        "{e}"
    );
    let e = rejected("[executor.slurm.stages.train]\ndevice = \"tpu\"\n");
    assert!(
        e.contains("key `executor.slurm.stages.train.device`")
            && e.contains("`tpu` is not a device"),
        "{e}"
    );
}
