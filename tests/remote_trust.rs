//! A remote cache is an accelerator, never a dependency, and never believed blindly: with
//! pulling on, an unreachable remote or a bad object costs local computing and a warning,
//! not the run; `--remote` alone does not pull; a remote entry whose manifest describes
//! other parameters or inputs than this plan expects, or names unsafe paths, is refused and
//! named. Small command stages through a folder remote, so no network and no training.

mod common;

use common::*;
use predicates::prelude::*;
use predicates::str::contains;
use std::path::{Path, PathBuf};

fn folder(remote: &Path, pull: bool) -> String {
    format!(
        "[remote]\nurl = {:?}\npull = {pull}\n",
        remote.display().to_string()
    )
}

/// A remote folder holding a whole run of `project` (pushed from a project of its own).
fn pushed_remote() -> tempfile::TempDir {
    let remote = tempfile::tempdir().unwrap();
    let a = two_stage_project(&folder(remote.path(), false));
    a.repro().args(["run", "all"]).assert().success();
    a.repro()
        .arg("push")
        .assert()
        .success()
        .stderr(contains("2 entries sent"));
    remote
}

fn stderr_of(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

/// The remote's entry object of `stage` (there is one per stage here).
fn entry_object(remote: &Path, stage: &str) -> PathBuf {
    let dir = remote.join("entries").join(stage);
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found.pop().unwrap()
}

fn edit_entry(object: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(object).unwrap()).unwrap();
    edit(&mut doc);
    std::fs::write(object, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
}

#[test]
fn an_unreachable_remote_with_pull_on_is_one_warning_and_a_local_run() {
    let p = two_stage_project(&folder(Path::new("no-such-remote"), true));
    let run = p.repro().args(["run", "all"]).assert().success();
    let text = stderr_of(&run);
    assert_eq!(text.matches("warning:").count(), 1, "{text}");
    assert!(
        text.contains("no-such-remote") && text.contains("computing everything locally"),
        "{text}"
    );
    assert!(text.contains("2 unit(s) run, 0 reused, 0 failed"), "{text}");
}

#[test]
fn an_unreachable_s3_server_with_pull_on_is_one_warning_and_a_local_run() {
    let p = two_stage_project(
        "[remote]\nurl = \"s3://bucket/runs\"\nendpoint = \"http://127.0.0.1:9\"\npull = true\n",
    );
    let run = p
        .repro()
        .args(["run", "all"])
        .env("AWS_ACCESS_KEY_ID", "someone")
        .env("AWS_SECRET_ACCESS_KEY", "very-secret-value")
        .timeout(std::time::Duration::from_secs(120))
        .assert()
        .success();
    let text = stderr_of(&run);
    assert_eq!(text.matches("warning:").count(), 1, "{text}");
    assert!(
        text.contains("s3://bucket/runs at http://127.0.0.1:9"),
        "{text}"
    );
    assert!(!text.contains("very-secret-value"), "{text}");
    assert!(text.contains("2 unit(s) run"), "{text}");
}

#[test]
fn a_corrupt_object_costs_its_unit_a_local_run_and_is_named() {
    let remote = pushed_remote();
    // The object of base's b.txt, truncated.
    let digest = sha256(
        &std::process::Command::new("seq")
            .args(["1", "500"])
            .output()
            .unwrap()
            .stdout,
    );
    let object = remote.path().join("files").join(&digest[..2]).join(&digest);
    let bytes = std::fs::read(&object).unwrap();
    std::fs::write(&object, &bytes[..10]).unwrap();
    let b = two_stage_project(&folder(remote.path(), true));
    let run = b.repro().args(["run", "all"]).assert().success();
    let text = stderr_of(&run);
    assert!(
        text.contains("warning:")
            && text.contains(&format!("files/{}/{digest}", &digest[..2]))
            && text.contains("computing base/all locally"),
        "{text}"
    );
    // base is computed here (the same bytes), so top's key is the remote's: pulled.
    assert!(
        text.contains("1 unit(s) run, 0 reused, 1 pulled from the remote, 0 failed"),
        "{text}"
    );
    assert!(b.staging_leftovers().is_empty());
}

#[test]
fn a_remote_manifest_with_other_parameters_or_inputs_is_refused_and_named() {
    let remote = pushed_remote();
    let base = entry_object(remote.path(), "base");
    let original = std::fs::read(&base).unwrap();
    // Other parameters under the same key.
    edit_entry(&base, |doc| {
        doc["manifest"]["params"]["tables"]["base"]["n"] = 7.into()
    });
    let b = two_stage_project(&folder(remote.path(), false));
    b.repro().arg("pull").assert().failure().stderr(
        contains("refused")
            .and(contains(
                base.file_name().unwrap().to_string_lossy().as_ref(),
            ))
            .and(contains("-> 7")),
    );
    assert!(b.entries("base").is_empty());

    // Other input digests for top, with base intact.
    std::fs::write(&base, &original).unwrap();
    let top = entry_object(remote.path(), "top");
    edit_entry(&top, |doc| {
        let inputs = doc["manifest"]["inputs"].as_object_mut().unwrap();
        for v in inputs.values_mut() {
            *v = "0".repeat(64).into();
        }
    });
    let pulled = b.repro().arg("pull").assert().failure();
    let text = stderr_of(&pulled);
    assert!(
        text.contains("refused") && text.contains("input base/all changed"),
        "{text}"
    );
    assert_eq!(b.entries("base").len(), 1, "the intact entry was pulled");
    assert!(b.entries("top").is_empty());
}

#[test]
fn a_remote_manifest_naming_a_path_outside_its_entry_is_refused() {
    let remote = pushed_remote();
    let base = entry_object(remote.path(), "base");
    // The staging folder is cache/base/.staging/NAME: four levels up is the project.
    edit_entry(&base, |doc| {
        doc["manifest"]["outputs"][0]["path"] = "../../../../escaped.txt".into();
    });
    let b = two_stage_project(&folder(remote.path(), true));
    let run = b.repro().args(["run", "all"]).assert().success();
    let text = stderr_of(&run);
    assert!(
        text.contains("refused") && text.contains("../../../../escaped.txt"),
        "{text}"
    );
    assert!(
        !b.path().join("escaped.txt").exists(),
        "a file escaped the cache"
    );
    assert!(text.contains("1 unit(s) run"), "{text}");
}

#[test]
fn naming_a_remote_does_not_turn_pulling_on() {
    let remote = pushed_remote();
    let b = two_stage_project(&format!(
        "[remotes.lab]\nurl = {:?}\n",
        remote.path().display().to_string()
    ));
    b.repro()
        .args(["run", "all", "--remote", "lab"])
        .assert()
        .success()
        .stderr(contains("2 unit(s) run").and(contains("pulled").not()));
    // With --pull it does pull from that remote.
    let c = two_stage_project(&format!(
        "[remotes.lab]\nurl = {:?}\n",
        remote.path().display().to_string()
    ));
    c.repro()
        .args(["run", "all", "--remote", "lab", "--pull"])
        .assert()
        .success()
        .stderr(contains(
            "0 unit(s) run, 0 reused, 2 pulled from the remote",
        ));
    // A remote that is not configured is still a mistake, pulling or not.
    b.repro()
        .args(["run", "all", "--remote", "nope"])
        .assert()
        .failure()
        .stderr(contains("no remote `nope`"));
}

/// Slurm tasks do not ask the remote; with `pull = true` the planning host pulls what the
/// remote holds before submitting. Here it holds everything, so nothing is submitted (and
/// no cluster is needed).
#[test]
fn pull_on_with_the_slurm_executor_pulls_before_submitting() {
    let remote = pushed_remote();
    let b = two_stage_project(&format!(
        "{}\n[executor]\nkind = \"slurm\"\n",
        folder(remote.path(), true)
    ));
    b.repro()
        .args(["run", "all"])
        .assert()
        .success()
        .stderr(contains("pulled from").and(contains("2 entries received")))
        .stderr(contains("0 unit(s) run").and(contains("0 failed")));
    assert_eq!(b.entries("top").len(), 1);
}

/// The remote answers when the run starts and is gone by the time units ask it (frozen at
/// the lock, after the remote was opened, the folder is removed): one warning for the
/// first unit, then the remote is not asked again and everything is computed here.
#[test]
fn a_remote_that_stops_answering_midway_is_one_warning() {
    use std::io::Read;
    let remote = pushed_remote();
    let b = two_stage_project(&folder(remote.path(), true));
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("repro"));
    cmd.args(["run", "all"])
        .current_dir(b.path())
        .env_remove("REPRO_PROFILE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let frozen = Frozen::at(cmd, "lock:acquired");
    std::fs::remove_dir_all(remote.path()).unwrap();
    let mut run = frozen.resume();
    let mut text = String::new();
    run.stderr
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert!(run.wait().unwrap().success(), "{text}");
    assert_eq!(text.matches("warning:").count(), 1, "{text}");
    assert!(
        text.contains("stopped answering") && text.contains("2 unit(s) run, 0 reused, 0 failed"),
        "{text}"
    );
}
