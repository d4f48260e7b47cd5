//! `repro gc` keeps what the last recorded reports were made from, shows what it would
//! delete with its size and unit time, and deletes only when confirmed.

mod common;

use common::*;
use predicates::prelude::*;
use predicates::str::contains;

/// `base` -> `top`, with `top` published like a report (so runs are recorded).
fn published_project(keep_published: usize) -> TestProject {
    let p = two_stage_project("");
    let config = p.path().join("pipeline.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("[project]\n"), "{text}");
    std::fs::write(
        &config,
        text.replacen(
            "[project]\n",
            &format!("[project]\nkeep_published = {keep_published}\n"),
            1,
        ),
    )
    .unwrap();
    let top = p.path().join("stages/top.toml");
    let text = std::fs::read_to_string(&top).unwrap();
    std::fs::write(
        &top,
        text.replace("outputs = [", "publish = \"published\"\noutputs = ["),
    )
    .unwrap();
    p
}

fn set_n(p: &TestProject, n: u32) {
    let path = p.path().join("pipeline.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace(&format!("n = {}", n - 1), &format!("n = {n}"));
    std::fs::write(&path, text).unwrap();
}

#[test]
fn gc_keeps_the_inputs_of_the_last_reports_after_every_key_changed() {
    let p = published_project(5);
    p.repro().args(["run", "all"]).assert().success();
    assert_eq!((p.entries("base").len(), p.entries("top").len()), (1, 1));
    // A change that gives every unit a new key, as a `git pull` or another `--device` does,
    // before anything reruns: the configuration references none of the entries now, but
    // the last report was made from them, so none may go.
    set_n(&p, 2);
    p.repro()
        .args(["gc", "--yes"])
        .assert()
        .success()
        .stdout(contains("freed 0 entries"));
    assert_eq!((p.entries("base").len(), p.entries("top").len()), (1, 1));

    // After a run with the new value, both versions are behind a recorded report.
    p.repro().args(["run", "all"]).assert().success();
    p.repro()
        .args(["gc", "--yes"])
        .assert()
        .success()
        .stdout(contains("freed 0 entries"));
    assert_eq!((p.entries("base").len(), p.entries("top").len()), (2, 2));
}

#[test]
fn gc_drops_what_only_older_reports_used_and_asks_first() {
    let p = published_project(1);
    p.repro().args(["run", "all"]).assert().success();
    set_n(&p, 2);
    p.repro().args(["run", "all"]).assert().success();
    assert_eq!(p.entries("base").len(), 2);

    // The first run's base and top are used by nothing kept; a dry run lists each with
    // its size and the unit time it took, and deletes nothing.
    p.repro()
        .args(["gc", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("would delete base/all").and(contains("would delete top/all")))
        .stdout(contains("would free 2 entries").and(contains("of unit time")));
    // Without a terminal to ask on, gc refuses rather than deleting silently.
    p.repro()
        .arg("gc")
        .assert()
        .failure()
        .stderr(contains("pass --yes"));
    assert_eq!(p.entries("base").len(), 2);
    p.repro()
        .args(["gc", "--yes"])
        .assert()
        .success()
        .stdout(contains("freed 2 entries"));
    // What is left is the second run's, still fresh.
    assert_eq!((p.entries("base").len(), p.entries("top").len()), (1, 1));
    let a = std::fs::read_to_string(p.entries("base")[0].join("a.txt")).unwrap();
    assert!(a.contains("\"n\":2"), "{a}");
    p.repro()
        .args(["run", "all", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("would run 0 unit(s)"));
}
