//! Crash safety, shown by crashing the real `repro` binary at named fault points
//! (`REPRO_FAULT`, see `engine::fault`) rather than by killing it at a lucky moment: after a
//! crash at any step of publishing an entry, the next run loses nothing and recomputes at
//! most the unit that was being published.

mod common;

use common::*;
use predicates::str::contains;
use std::path::{Path, PathBuf};

fn entry_names(p: &TestProject, stage: &str) -> Vec<PathBuf> {
    let mut names: Vec<PathBuf> = p
        .entries(stage)
        .iter()
        .map(|e| PathBuf::from(e.file_name().unwrap()))
        .collect();
    names.sort();
    names
}

fn assert_whole(p: &TestProject) {
    p.repro()
        .arg("verify")
        .assert()
        .success()
        .stdout(contains("0 problem(s)"));
    assert!(
        p.staging_leftovers().is_empty(),
        "{:?}",
        p.staging_leftovers()
    );
}

fn crash_at(p: &TestProject, point: &str, args: &[&str]) {
    p.repro()
        .args(args)
        .env("REPRO_FAULT", point)
        .assert()
        .code(FAULT_EXIT)
        .stderr(contains(format!("fault point {point} reached")));
}

/// A forced rerun replaces an entry: a crash at any step of that leaves the entry (old or
/// new, both valid for its key) or puts it back, so the next run reruns nothing.
#[test]
fn a_crash_at_any_step_of_replacing_an_entry_loses_nothing() {
    for point in [
        "publish:staged",
        "publish:after-aside",
        "publish:after-rename",
        "publish:before-pointer",
    ] {
        eprintln!("fault point {point}");
        let p = two_stage_project("");
        p.repro()
            .args(["run", "all"])
            .assert()
            .success()
            .stderr(contains("2 unit(s) run"));
        let before = (entry_names(&p, "base"), entry_names(&p, "top"));
        crash_at(&p, point, &["run", "all", "--force", "base"]);
        if point == "publish:after-aside" {
            // The window this protects: the entry is not in its place.
            assert!(p.entries("base").is_empty(), "{point}");
        }
        p.repro()
            .args(["run", "all"])
            .assert()
            .success()
            .stderr(contains("0 unit(s) run, 2 reused"));
        assert_eq!(
            (entry_names(&p, "base"), entry_names(&p, "top")),
            before,
            "{point}"
        );
        assert_whole(&p);
    }
}

/// A crash while publishing a unit for the first time costs that unit at most.
#[test]
fn a_crash_publishing_a_new_entry_recomputes_at_most_that_unit() {
    for (point, published) in [
        ("publish:staged", false),
        ("publish:after-rename", true),
        ("publish:before-pointer", true),
    ] {
        eprintln!("fault point {point}");
        let p = two_stage_project("");
        crash_at(&p, point, &["run", "base"]);
        assert_eq!(p.entries("base").len(), usize::from(published), "{point}");
        let expected = if published {
            "0 unit(s) run, 1 reused"
        } else {
            "1 unit(s) run, 0 reused"
        };
        p.repro()
            .args(["run", "base"])
            .assert()
            .success()
            .stderr(contains(expected));
        assert_whole(&p);
    }
}

/// An aside whose process is alive is another run's business: it is left alone. (This
/// process stands in for the live one: its pid and host are in the name.)
#[test]
fn an_aside_of_a_live_process_is_left_alone() {
    let p = two_stage_project("");
    p.repro().args(["run", "base"]).assert().success();
    let entry = p.entries("base").pop().unwrap();
    let key = entry.file_name().unwrap().to_string_lossy().into_owned();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .replace('.', "_");
    let aside: PathBuf = p
        .cache()
        .join("base/.staging")
        .join(format!("{key}.{host}.{}.old", std::process::id()));
    std::fs::create_dir_all(aside.parent().unwrap()).unwrap();
    std::fs::rename(&entry, &aside).unwrap();
    p.repro()
        .args(["run", "base"])
        .assert()
        .success()
        .stderr(contains("1 unit(s) run"));
    assert!(
        aside.join("manifest.json").is_file(),
        "the live aside was touched"
    );
    assert!(Path::new(&entry).join("manifest.json").is_file());
}

/// Regenerating a dropped entry puts its files back one by one and removes the marker
/// last: a crash after the first file leaves an entry that still counts as dropped, and
/// the next regeneration completes it to its recorded digests.
#[test]
fn a_crash_while_restoring_a_dropped_entry_is_regenerated_again() {
    let p = two_stage_project("");
    let file = p.path().join("stages/base.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{text}recomputable = true\n")).unwrap();
    p.repro().args(["run", "all"]).assert().success();
    let base = p.entries("base").pop().unwrap();
    assert!(base.join(".dropped").is_file(), "dropped after use");
    crash_at(&p, "restore:after-first-file", &["run", "base", "--keep"]);
    assert!(base.join(".dropped").is_file(), "still counts as dropped");
    assert!(base.join("a.txt").is_file() && !base.join("b.txt").exists());
    p.repro()
        .args(["run", "base", "--keep"])
        .assert()
        .success()
        .stderr(contains("1 unit(s) run"));
    assert!(!base.join(".dropped").exists());
    assert_whole(&p);
    p.repro()
        .args(["run", "all"])
        .assert()
        .success()
        .stderr(contains("0 unit(s) run, 2 reused"));
}
