//! `repro diff` without names compares the previous and the latest report of the profile
//! in use (`--profile`, or none), never one profile's report with another's. The reports
//! here are recorded entries with only what `diff` reads (results/), so no pipeline runs.

mod common;

use common::*;
use predicates::prelude::*;
use predicates::str::contains;

/// Records a report entry whose one parameter `x` is `x`, published under `profile`.
fn record(p: &TestProject, key: &str, profile: Option<&str>, x: u32, minute: u32) {
    let entry = p.cache().join("report").join(key);
    std::fs::create_dir_all(entry.join("results")).unwrap();
    std::fs::write(entry.join("manifest.json"), "{}").unwrap();
    std::fs::write(entry.join("results/params.json"), format!("{{\"x\": {x}}}")).unwrap();
    std::fs::write(entry.join("results/claims.json"), "[]").unwrap();
    std::fs::write(
        entry.join("results/metrics.csv"),
        "network,training,layer,system,split,metric,value\n",
    )
    .unwrap();
    let line = serde_json::json!({
        "time": format!("2026-12-01T10:{minute:02}:00Z"),
        "config": p.path().join("pipeline.toml").display().to_string(),
        "profile": profile,
        "stage": "report",
        "unit": "paper",
        "key": key,
    });
    let history = p.cache().join(".history/published.jsonl");
    std::fs::create_dir_all(history.parent().unwrap()).unwrap();
    let mut text = std::fs::read_to_string(&history).unwrap_or_default();
    text.push_str(&format!("{line}\n"));
    std::fs::write(history, text).unwrap();
}

#[test]
fn diff_compares_within_the_profile_in_use() {
    let p = two_stage_project("[profiles.quick.base]\nn = 2\n");
    record(&p, "aaaaaaaa0001", None, 1, 1);
    record(&p, "bbbbbbbb0001", Some("quick"), 10, 2);
    record(&p, "bbbbbbbb0002", Some("quick"), 11, 3);
    record(&p, "aaaaaaaa0002", None, 2, 4);
    p.repro()
        .args(["--profile", "quick", "diff"])
        .assert()
        .success()
        .stdout(contains("old: bbbbbbbb0001 quick").and(contains("new: bbbbbbbb0002 quick")))
        .stdout(contains("x: 10 -> 11"));
    p.repro()
        .arg("diff")
        .assert()
        .success()
        .stdout(contains("old: aaaaaaaa0001 default").and(contains("new: aaaaaaaa0002 default")))
        .stdout(contains("x: 1 -> 2"));
    // One name: compared with the latest report of the profile in use.
    p.repro()
        .args(["--profile", "quick", "diff", "default"])
        .assert()
        .success()
        .stdout(contains("old: aaaaaaaa0002 default").and(contains("new: bbbbbbbb0002 quick")));
}

#[test]
fn diff_says_when_the_profile_in_use_has_fewer_than_two_reports() {
    let p = two_stage_project("[profiles.quick.base]\nn = 2\n");
    record(&p, "aaaaaaaa0001", None, 1, 1);
    record(&p, "bbbbbbbb0001", Some("quick"), 10, 2);
    p.repro()
        .args(["--profile", "quick", "diff"])
        .assert()
        .failure()
        .stderr(contains(
            "fewer than two recorded reports of profile `quick`",
        ));
}
