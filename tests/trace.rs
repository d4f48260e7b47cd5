//! Resources per unit: each manifest records the CPU time and peak memory its unit used,
//! and `repro status --trace` writes them as CSV.

mod common;

use common::*;

/// One command stage whose command spins the CPU for about 0.4 s and holds about 80 MiB.
fn burning_project() -> TestProject {
    let p = TestProject::new("");
    let stages = p.path().join("stages");
    std::fs::create_dir_all(&stages).unwrap();
    std::fs::write(
        stages.join("burn.toml"),
        r#"name = "burn"
description = "spins and allocates"
version = 1
kind = "command"
reads = ["burn"]
command = ["python3", "-c", "import time, os\nb = bytearray(80 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass\nopen(os.path.join(os.environ['REPRO_OUT'], 'out.txt'), 'w').write(str(len(b)))"]
outputs = ["out.txt"]
"#,
    )
    .unwrap();
    p.write_config("[burn]\nn = 1\n", &stages);
    p
}

fn trace_row(p: &TestProject) -> Vec<String> {
    let out = p.repro().args(["status", "--trace", "-"]).output().unwrap();
    assert!(out.status.success());
    let csv = String::from_utf8(out.stdout).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "stage,unit,key,started,finished,duration_s,cpu_s,peak_rss_mib,scope,machine,device"
    );
    let row: Vec<String> = lines
        .find(|l| l.starts_with("burn,"))
        .expect("the burn unit is traced")
        .split(',')
        .map(str::to_string)
        .collect();
    row
}

#[test]
fn every_unit_records_the_cpu_time_and_memory_it_used() {
    for (jobs, scope) in [("1", "shared"), ("2", "process")] {
        let p = burning_project();
        p.repro()
            .args(["run", "all", "--jobs", jobs])
            .assert()
            .success();
        let row = trace_row(&p);
        let cpu: f64 = row[6].parse().unwrap();
        let rss: f64 = row[7].parse().unwrap();
        // The command's own 0.4 s of CPU and 80 MiB, seen through its parent.
        assert!((0.35..5.0).contains(&cpu), "--jobs {jobs}: {row:?}");
        assert!(rss >= 80.0, "--jobs {jobs}: {row:?}");
        assert_eq!(row[8], scope);
    }
}
