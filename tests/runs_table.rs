//! `repro runs`: every recorded report as a row, with its name, the parameters that differ
//! from the default configuration, its verdict counts and test errors, sortable.

mod common;

use common::*;
use predicates::prelude::*;
use predicates::str::contains;

/// One published command stage named `report` that writes a `results/` folder from its
/// parameter `n`: n claims reproduced, one not, and a network with test accuracy 1 - n/100.
fn project() -> TestProject {
    let p = TestProject::new("");
    let stages = p.path().join("stages");
    std::fs::create_dir_all(&stages).unwrap();
    std::fs::write(
        stages.join("report.toml"),
        r#"name = "report"
description = "a report-like stage"
version = 1
kind = "command"
reads = ["report", "claims"]
publish = "published"
command = ["python3", "make_report.py"]
outputs = ["results/params.json", "results/claims.json", "results/metrics.csv"]
"#,
    )
    .unwrap();
    std::fs::write(
        p.path().join("make_report.py"),
        r#"import json, os
n = json.loads(os.environ["REPRO_PARAMS"])["report"]["n"]
out = os.path.join(os.environ["REPRO_OUT"], "results")
os.makedirs(out)
json.dump({"report.n": n}, open(os.path.join(out, "params.json"), "w"))
claims = [{"id": f"c{i}", "verdict_text": "reproduced", "rows": []} for i in range(n)]
claims.append({"id": "bad", "verdict_text": "not reproduced", "rows": []})
json.dump(claims, open(os.path.join(out, "claims.json"), "w"))
with open(os.path.join(out, "metrics.csv"), "w") as f:
    f.write("network,training,layer,system,split,metric,value\n")
    f.write(f'mnist 3x100 relu-mse adam,"lr=0.001, b",3,network,test,accuracy,{1 - n / 100}\n')
"#,
    )
    .unwrap();
    p.write_config("[report]\nn = 1\n", &stages);
    p
}

#[test]
fn runs_lists_every_report_with_its_differences_and_sorts_them() {
    let p = project();
    p.repro().args(["run", "all"]).assert().success();
    p.repro()
        .args(["run", "all", "--set", "report.n=3", "--name", "three"])
        .assert()
        .success();
    p.repro()
        .args(["run", "all", "--set", "report.n=2"])
        .assert()
        .success();
    let out = p
        .repro()
        .args(["runs", "--format", "csv", "--sort", "test_error"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let csv = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "time,name,profile,key,reproduced,not_reproduced,not_measured,test_error_mnist,differs"
    );
    // Sorted by test error: n = 1 (1%), n = 2 (2%), n = 3 (3%).
    let fields: Vec<Vec<&str>> = lines[1..].iter().map(|l| l.split(',').collect()).collect();
    assert_eq!(fields.len(), 3);
    assert_eq!(
        fields
            .iter()
            .map(|f| (f[1], f[4], f[5], f[7], f[8]))
            .collect::<Vec<_>>(),
        [
            ("", "1", "1", "1.0000", ""),
            ("", "2", "1", "2.0000", "report.n=2"),
            ("three", "3", "1", "3.0000", "report.n=3"),
        ]
    );
    // Text and HTML name the run; an unknown column is refused.
    p.repro()
        .args(["runs"])
        .assert()
        .success()
        .stdout(contains("three").and(contains("report.n=3")));
    p.repro()
        .args(["runs", "--format", "html"])
        .assert()
        .success()
        .stdout(contains("<td>three</td>"));
    p.repro()
        .args(["runs", "--sort", "colour"])
        .assert()
        .failure()
        .stderr(contains("--sort colour: not a column"));
    // A named run is a name `repro diff` understands.
    p.repro()
        .args(["diff", "three", "default"])
        .assert()
        .success();
}
