//! The cache's promise: a unit's key decides its bytes. Early cutoff when a rebuilt unit
//! writes the same bytes, reruns when it does not, the determinism audit that tells the
//! two apart, `--force` through worker processes, and `gc` crashing midway (a fault point).

mod common;

use common::*;
use predicates::prelude::*;
use predicates::str::contains;
use std::path::{Path, PathBuf};

fn command_stage(dir: &Path, name: &str, needs: &[&str], command: &str, outputs: &[&str]) {
    let list = |v: &[&str]| {
        v.iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    std::fs::write(
        dir.join(format!("{name}.toml")),
        format!(
            "name = {name:?}\ndescription = \"test stage\"\nversion = 1\nkind = \"command\"\n\
             needs = [{}]\nreads = [{name:?}]\ncommand = [\"sh\", \"-c\", {command:?}]\noutputs = [{}]\n",
            list(needs),
            list(outputs)
        ),
    )
    .unwrap();
}

/// A project with the tiny dataset, a deterministic chain `data -> count -> double` and a
/// non-deterministic chain `noisy -> after`.
fn project() -> TestProject {
    let data = TinyDataset::new(10, 4);
    let p = TestProject::new("");
    let stages = p.stages_with_data();
    command_stage(
        &stages,
        "count",
        &["data"],
        "wc -c < \"$(echo \"$REPRO_INPUTS\" | sed 's/.*\"data\\/tiny\": *\"\\([^\"]*\\)\".*/\\1/')/dataset.json\" > \"$REPRO_OUT/count.txt\"",
        &["count.txt"],
    );
    command_stage(
        &stages,
        "double",
        &["count"],
        "echo \"$REPRO_INPUTS\" > \"$REPRO_OUT/seen.txt\"; date +%s%N > \"$REPRO_OUT/when.txt\"",
        &["seen.txt"],
    );
    command_stage(
        &stages,
        "noisy",
        &[],
        "head -c 16 /dev/urandom | od -An -tx1 > \"$REPRO_OUT/noise.txt\"",
        &["noise.txt"],
    );
    command_stage(
        &stages,
        "after",
        &["noisy"],
        "date +%s%N > \"$REPRO_OUT/when.txt\"",
        &["when.txt"],
    );
    let tables = data.mirror_in(p.path(), 2);
    p.write_config(&tables, &stages);
    p
}

fn only_entry(p: &TestProject, stage: &str) -> PathBuf {
    let e = p.entries(stage);
    assert_eq!(e.len(), 1, "one entry of {stage}: {e:?}");
    e.into_iter().next().unwrap()
}

fn manifest(entry: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(entry.join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn a_forced_deterministic_unit_leaves_its_dependants_reused_by_early_cutoff() {
    let p = project();
    p.repro().args(["run", "double"]).assert().success();
    let double_before = manifest(&only_entry(&p, "double"));
    p.repro()
        .args(["run", "double", "--force", "data", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("would run 1 unit(s)").and(contains("data/tiny")))
        .stdout(contains("count/all").and(contains("runs if `data/tiny` changes its outputs")));
    p.repro()
        .args(["run", "double", "--force", "data"])
        .assert()
        .success()
        .stderr(contains(
            "1 unit(s) run, 0 reused, 2 reused by early cutoff (rebuilt inputs wrote the same bytes)",
        ));
    // The data entry was rewritten (by this run), its dependants were not touched.
    let data_after = manifest(&only_entry(&p, "data"));
    let double_after = manifest(&only_entry(&p, "double"));
    assert_eq!(double_before["run_id"], double_after["run_id"]);
    assert_ne!(data_after["run_id"], double_before["run_id"]);
}

#[test]
fn a_non_deterministic_unit_reruns_its_dependants_and_the_audit_names_it() {
    let p = project();
    p.repro().args(["run", "after"]).assert().success();
    let after_before = only_entry(&p, "after");
    p.repro()
        .args(["run", "after", "--force", "noisy"])
        .assert()
        .success()
        .stderr(contains("2 unit(s) run"));
    let after_now = p.entries("after");
    assert_eq!(
        after_now.len(),
        2,
        "a second `after` entry, for the new noise"
    );
    assert!(after_now.contains(&after_before));

    p.repro().args(["run", "count"]).assert().success();
    p.repro()
        .args(["audit", "noisy", "count", "data"])
        .assert()
        .code(1)
        .stdout(contains("DIFFERS    noisy/all: noise.txt"))
        .stdout(contains("identical  data/tiny"))
        .stdout(contains("identical  count/all"))
        .stdout(contains(
            "audited 3 cached unit(s): 2 identical, 1 differing or failed",
        ));
    let last: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.cache().join(".audit/last.json")).unwrap())
            .unwrap();
    assert_eq!(last["checked"], 3);
    assert_eq!(last["identical"], 2);
    assert_eq!(last["differing"], serde_json::json!(["noisy/all"]));
    // The audit leaves no scratch entries and changes nothing in the cache.
    assert!(std::fs::read_dir(p.cache().join(".audit"))
        .unwrap()
        .flatten()
        .all(|e| e.file_name() == "last.json"));
    assert_eq!(p.entries("noisy").len(), 1);
}

#[test]
fn force_reaches_worker_processes() {
    let p = project();
    p.repro().args(["run", "count"]).assert().success();
    let before = manifest(&only_entry(&p, "count"));
    p.repro()
        .args(["run", "count", "--force", "count", "--jobs", "2"])
        .assert()
        .success()
        .stderr(contains("1 unit(s) run, 1 reused"));
    let after = manifest(&only_entry(&p, "count"));
    assert_ne!(before["run_id"], after["run_id"], "the entry was rebuilt");
    assert_eq!(before["key"], after["key"]);
    // A task refuses a key other than the one the driver expects.
    p.repro()
        .args([
            "run-unit",
            "count",
            "all",
            "--expect-key",
            "0123456789abcdef",
            "--force",
        ])
        .assert()
        .failure()
        .stderr(contains("the run expects 0123456789ab"));
}

/// `gc` crashes (a fault point) once it has moved its first entry into the trash: every
/// entry still in the cache is whole, the referenced one is still fresh, and the next run
/// empties the trash.
#[test]
fn gc_killed_midway_leaves_no_entry_that_reads_as_fresh_without_its_outputs() {
    let p = project();
    let stages = p.path().join("stages");
    command_stage(
        &stages,
        "many",
        &[],
        "mkdir \"$REPRO_OUT/f\"; for i in 1 2 3; do echo $i > \"$REPRO_OUT/f/$i\"; done; echo $REPRO_PARAMS > \"$REPRO_OUT/done\"",
        &["done"],
    );
    let config = std::fs::read_to_string(p.path().join("pipeline.toml")).unwrap();
    for round in 0..3 {
        std::fs::write(
            p.path().join("pipeline.toml"),
            format!("{config}\n[many]\nround = {round}\n"),
        )
        .unwrap();
        p.repro().args(["run", "many"]).assert().success();
    }
    assert_eq!(p.entries("many").len(), 3);
    p.repro()
        .args(["gc", "--yes"])
        .env("REPRO_FAULT", "gc:after-discard")
        .assert()
        .code(FAULT_EXIT);
    assert_eq!(p.entries("many").len(), 2, "gc stopped after one entry");
    let trash = p.cache().join(".trash");
    assert_eq!(std::fs::read_dir(&trash).unwrap().count(), 1);
    // Every entry still in the cache is whole; the round-2 one is still fresh.
    p.repro()
        .arg("verify")
        .assert()
        .success()
        .stdout(contains("0 problem(s)"));
    p.repro()
        .args(["run", "many", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("would run 0 unit(s)"));
    // The next run empties what the crashed gc left in the trash.
    p.repro().args(["run", "many"]).assert().success();
    assert!(std::fs::read_dir(&trash).unwrap().next().is_none());
}

/// The quick profile's train stage, run into its own cache with `--jobs N`: (entry folder
/// name = key, the outputs listed in its manifest) for every network.
fn quick_train_entries(jobs: &str) -> Vec<(String, serde_json::Value)> {
    let text = std::fs::read_to_string(repo_root().join("pipeline.toml")).unwrap();
    // The repository's experiment without its [project] table (the fixture writes one).
    let experiment = &text[text.find("\n[data]").unwrap()..];
    let p = TestProject::new(experiment);
    p.repro()
        .args(["--profile", "quick", "--data-mirror"])
        .arg(shared_datasets())
        .args(["run", "train", "--jobs", jobs])
        .assert()
        .success()
        .stderr(contains(" 0 failed"));
    let mut out: Vec<(String, serde_json::Value)> = p
        .entries("train")
        .iter()
        .map(|e| {
            (
                e.file_name().unwrap().to_string_lossy().into_owned(),
                manifest(e)["outputs"].clone(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn one_or_two_jobs_give_the_same_train_keys_and_bytes() {
    let one = quick_train_entries("1");
    let two = quick_train_entries("2");
    assert!(one.len() >= 10, "the quick profile trains its networks");
    // Same keys, and every output (weights, log, summary) has the same SHA-256.
    assert_eq!(one, two);
}

#[test]
fn units_never_built_behind_unbuilt_inputs_count_as_missing_not_stale() {
    let p = project();
    let out = p
        .repro()
        .arg("status")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    let row = |stage: &str| -> Vec<String> {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(stage))
            .unwrap_or_else(|| panic!("no row for {stage}: {text}"))
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    // stage, fresh, dropped, stale, pending, missing
    assert_eq!(row("double"), ["double", "0", "0", "0", "0", "1"]);
    assert_eq!(row("count"), ["count", "0", "0", "0", "0", "1"]);
}

/// Declares an existing stage of the project recomputable.
fn make_recomputable(p: &TestProject, stage: &str) {
    let file = p.path().join("stages").join(format!("{stage}.toml"));
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{text}recomputable = true\n")).unwrap();
}

#[test]
fn recomputable_entries_are_dropped_after_use_and_regenerated_to_their_digest() {
    let p = project();
    make_recomputable(&p, "count");
    p.repro().args(["run", "double"]).assert().success();
    // `double` is done with `count`: its payload is gone, its manifest stays.
    let count = only_entry(&p, "count");
    let recorded = manifest(&count)["outputs"][0]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!count.join("count.txt").exists(), "payload dropped");
    p.repro()
        .args(["status"])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"count\s+1\s+1\s+0").unwrap());
    p.repro()
        .args(["status", "--explain", "count/all"])
        .assert()
        .success()
        .stdout(contains("dropped (recomputable)"));
    // `verify` has nothing to check in a dropped entry and does not call it missing.
    p.repro()
        .args(["verify"])
        .assert()
        .success()
        .stdout(contains("0 problem(s)"));
    // A reader that must run again gets it back, byte for byte, then it is dropped again.
    p.repro()
        .args(["run", "double", "--force", "double"])
        .assert()
        .success()
        .stderr(contains("count/all"))
        .stderr(contains("2 unit(s) run"));
    assert!(!count.join("count.txt").exists(), "dropped again after use");
    // Early cutoff holds through a dropped entry: rebuilt data with the same bytes gives
    // `count` its cached key, which is cut off without regenerating its payload, and so is
    // `double`.
    p.repro()
        .args(["run", "double", "--force", "data"])
        .assert()
        .success()
        .stderr(contains(
            "1 unit(s) run, 0 reused, 2 reused by early cutoff",
        ));
    assert!(
        count.join(".dropped").exists(),
        "still dropped: nothing read it"
    );
    // When a reader of the cut-off entry must run, the payload comes back first, to its
    // recorded bytes, and is dropped again after: data, count (regenerated) and double run.
    p.repro()
        .args(["run", "double", "--force", "data", "--force", "double"])
        .assert()
        .success()
        .stderr(contains("3 unit(s) run, 0 reused, 0 failed"));
    assert!(!count.join("count.txt").exists() && count.join(".dropped").exists());
    assert_eq!(manifest(&count)["outputs"][0]["sha256"], recorded.as_str());
    // `--keep` regenerates the target stage's entries and keeps them.
    p.repro()
        .args(["run", "count", "--keep"])
        .assert()
        .success()
        .stderr(contains("1 unit(s) run"));
    let bytes = std::fs::read(count.join("count.txt")).unwrap();
    assert_eq!(repro::engine::hash::sha256_hex(&bytes), recorded);
    assert!(!count.join(".dropped").exists());
    // Nothing else ran: the regenerated entry is the recorded one.
    assert_eq!(manifest(&count)["outputs"][0]["sha256"], recorded.as_str());
}

#[test]
fn a_regeneration_with_other_bytes_fails_naming_the_unit() {
    let p = project();
    make_recomputable(&p, "noisy");
    p.repro().args(["run", "after"]).assert().success();
    let noisy = only_entry(&p, "noisy");
    let before = std::fs::read_to_string(noisy.join("manifest.json")).unwrap();
    assert!(!noisy.join("noise.txt").exists());
    p.repro()
        .args(["run", "after", "--force", "after"])
        .assert()
        .failure()
        .stderr(contains(
            "non-deterministic: regenerating noisy/all wrote noise.txt",
        ))
        // Where each side was made, and the way out, are named.
        .stderr(contains("recorded on ").and(contains("regenerated on ")))
        .stderr(contains("`repro run --force noisy`"));
    // The dropped entry is left exactly as it was, and nothing half-written stays.
    assert_eq!(
        std::fs::read_to_string(noisy.join("manifest.json")).unwrap(),
        before
    );
    assert!(noisy.join(".dropped").exists() && !noisy.join("noise.txt").exists());
    assert!(p.staging_leftovers().is_empty());
}

#[test]
fn status_timings_sums_each_stages_units_from_their_manifests() {
    let p = project();
    p.repro().args(["run", "double"]).assert().success();
    let out = p
        .repro()
        .args(["status", "--timings"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    let count = manifest(&only_entry(&p, "count"));
    let row = text
        .lines()
        .find(|l| l.starts_with("count "))
        .unwrap_or_else(|| panic!("{text}"));
    // One unit, its own duration, named as the slowest, on this machine.
    let fields: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(fields[1], "1", "{row}");
    assert!(row.contains("all ("), "{row}");
    // The machine: its cores and, where /proc/cpuinfo names it, its CPU model.
    let cores = std::thread::available_parallelism().unwrap().get();
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            let line = t.lines().find(|l| l.starts_with("model name"))?;
            Some(
                line.split_once(':')?
                    .1
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        })
        .filter(|m| !m.is_empty());
    let machine = match model {
        Some(m) => format!("({cores} cores, {m})"),
        None => format!("({cores} cores)"),
    };
    assert!(row.contains(&machine), "{row}");
    assert!(count["machine"].as_str().unwrap().ends_with(&machine));
}
