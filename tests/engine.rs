//! The engine end to end through the CLI: keys and staleness reasons, dry runs, command
//! stages, crash safety, the cache lock, verify and gc.

mod common;

use common::*;
use predicates::prelude::*;
use predicates::str::contains;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A stage dir with the built-in `data` stage and two command stages: `count` (one unit
/// per dataset) and `slow` (one unit that can be made to block).
fn stages_dir(p: &TestProject) -> std::path::PathBuf {
    let root = p.path();
    let dir = p.stages_with_data();
    std::fs::write(
        dir.join("count.toml"),
        r#"name = "count"
description = "Counts training samples (a user's own stage)"
version = 1
kind = "command"
needs = ["data"]
reads = ["count"]
per_unit_of = "data"
sources = ["count.sh"]
command = ["sh", "count.sh", "{input:data}", "{out}"]
outputs = ["count.txt"]
"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("slow.toml"),
        r#"name = "slow"
description = "Writes in two steps and can be held in between"
version = 1
kind = "command"
command = ["sh", "-c", "echo first > \"$REPRO_OUT/out.txt\"; while [ -f hold ]; do sleep 0.05; done; echo second >> \"$REPRO_OUT/out.txt\""]
outputs = ["out.txt"]
"#,
    )
    .unwrap();
    std::fs::write(
        root.join("count.sh"),
        "python3 -c \"import json,sys,os; d=json.load(open(sys.argv[1]+'/dataset.json')); f=json.loads(os.environ['REPRO_PARAMS'])['count']['factor']; open(sys.argv[2]+'/count.txt','w').write(str(d['splits']['train']['samples']*f))\" \"$1\" \"$2\"\n",
    )
    .unwrap();
    dir
}

fn project_with_pipeline(factor: u32, val_size: usize) -> TestProject {
    let data = TinyDataset::new(10, 4);
    let p = TestProject::new("");
    let stages = stages_dir(&p);
    let tables = data.mirror_in(p.path(), val_size) + &format!("\n[count]\nfactor = {factor}\n");
    p.write_config(&tables, &stages);
    p
}

fn set_config(p: &TestProject, factor: u32, val_size: usize) {
    let text = std::fs::read_to_string(p.path().join("pipeline.toml")).unwrap();
    let text = text
        .lines()
        .map(|l| {
            if l.starts_with("factor =") {
                format!("factor = {factor}")
            } else if l.starts_with("val_size =") {
                format!("val_size = {val_size}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(p.path().join("pipeline.toml"), text).unwrap();
}

fn read_output(p: &TestProject, stage: &str, file: &str) -> String {
    let entries = p.entries(stage);
    assert_eq!(entries.len(), 1, "one entry for {stage}");
    std::fs::read_to_string(entries[0].join(file)).unwrap()
}

#[test]
fn runs_command_stages_and_explains_what_is_stale() {
    let p = project_with_pipeline(3, 2);
    p.repro()
        .args(["run", "count"])
        .assert()
        .success()
        .stderr(contains("2 unit(s) run"));
    assert_eq!(read_output(&p, "count", "count.txt"), "24");
    assert!(p.entries("slow").is_empty(), "only what `count` needs ran");

    // Editing a parameter read only by `count` touches only `count`.
    set_config(&p, 5, 2);
    p.repro()
        .args(["run", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("would run 2 unit(s)"))
        .stdout(
            contains("count/tiny").and(contains("parameter tables.count.factor changed: 3 -> 5")),
        )
        .stdout(contains("slow/all").and(contains("missing (never built)")))
        .stdout(contains("data/tiny").not());

    // Editing a data parameter reruns data, and count if data's outputs change.
    set_config(&p, 3, 3);
    p.repro()
        .args(["run", "count", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("would run 1 unit(s)"))
        .stdout(contains("data/tiny").and(contains("parameter val_size changed: 2 -> 3")))
        .stdout(contains("count/tiny").and(contains("runs if `data/tiny` changes its outputs")));
    set_config(&p, 3, 2);
    p.repro()
        .args(["run", "count", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("would run 0 unit(s)"));

    // Editing the stage's script is a code change.
    let script = p.path().join("count.sh");
    let text = std::fs::read_to_string(&script).unwrap();
    std::fs::write(&script, format!("# edited\n{text}")).unwrap();
    p.repro()
        .args(["run", "count", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("count/tiny").and(contains("code of the stage changed")));
    p.repro()
        .args(["run", "count"])
        .assert()
        .success()
        .stderr(contains("1 unit(s) run, 1 reused"));

    // `status` agrees, and `--force` reruns a fresh stage.
    p.repro()
        .arg("status")
        .assert()
        .success()
        .stdout(contains("slow").and(contains("missing (never built)")));
    p.repro()
        .args(["run", "data", "--force", "data"])
        .assert()
        .success()
        .stderr(contains("1 unit(s) run"));
}

#[test]
fn a_failing_command_leaves_no_entry_and_keep_going_runs_the_rest() {
    let p = project_with_pipeline(3, 2);
    std::fs::write(
        p.path().join("count.sh"),
        "echo 'cannot count' >&2; exit 3\n",
    )
    .unwrap();
    p.repro()
        .args(["run", "all", "--keep-going"])
        .assert()
        .code(1)
        .stderr(contains("count/tiny failed").and(contains("cannot count")))
        .stderr(contains("2 unit(s) run, 0 reused, 1 failed"));
    assert!(p.entries("count").is_empty());
    assert_eq!(p.entries("slow").len(), 1, "the independent unit still ran");
    assert!(p.staging_leftovers().is_empty());
}

/// The unit logs under `<cache>/.logs/<run>/<stage>/<unit>.log` for one unit, over all runs.
fn unit_logs(p: &TestProject, stage: &str, file: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for run in std::fs::read_dir(p.cache().join(".logs")).unwrap() {
        let log = run.unwrap().path().join(stage).join(file);
        if log.is_file() {
            found.push(log);
        }
    }
    found
}

#[test]
fn a_failed_units_log_survives_is_named_and_explained() {
    for jobs in ["1", "2"] {
        let p = project_with_pipeline(3, 2);
        std::fs::write(
            p.path().join("count.sh"),
            "echo 'reading the split' ; echo 'cannot count: no such column' >&2; exit 3\n",
        )
        .unwrap();
        let out = p
            .repro()
            .args(["run", "all", "--keep-going", "--jobs", jobs])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "--jobs {jobs}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let logs = unit_logs(&p, "count", "tiny.log");
        assert_eq!(
            logs.len(),
            1,
            "one log for the one failed run (--jobs {jobs})"
        );
        let log = std::fs::read_to_string(&logs[0]).unwrap();
        // The failure message names the log, and the log holds the command's output (both
        // streams) and how the unit ended.
        assert!(
            stderr.contains(&format!("log: {}", logs[0].display())),
            "--jobs {jobs}: {stderr}"
        );
        assert!(log.starts_with("unit count/tiny\nkey "), "{log}");
        assert!(log.contains("reading the split"), "{log}");
        assert!(log.contains("cannot count: no such column"), "{log}");
        assert!(log.contains("ended: failed"), "{log}");
        // Units that succeeded keep their logs too.
        let ok = unit_logs(&p, "slow", "all.log");
        assert_eq!(ok.len(), 1);
        assert!(std::fs::read_to_string(&ok[0])
            .unwrap()
            .contains("ended: done in"));
        p.repro()
            .args(["status", "--explain", "count/tiny"])
            .assert()
            .success()
            .stdout(contains(format!("log       {}", logs[0].display())))
            .stdout(contains("| ").and(contains("ended: failed")));
    }
}

/// Starts `repro run slow` with the `hold` file in place and returns once the unit has
/// written the first half of its output into its staging folder.
fn start_held_slow_run(p: &TestProject) -> (std::process::Child, std::path::PathBuf) {
    let hold = p.path().join("hold");
    std::fs::write(&hold, "").unwrap();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("repro"))
        .args(["run", "slow"])
        .current_dir(p.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !p
        .staging_leftovers()
        .iter()
        .any(|d| d.join("out.txt").exists())
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the unit never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, hold)
}

#[test]
fn sigkill_mid_unit_leaves_no_valid_entry_and_the_next_run_completes() {
    let p = project_with_pipeline(3, 2);
    let (mut child, hold) = start_held_slow_run(&p);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        p.entries("slow").is_empty(),
        "a killed unit is not an entry"
    );
    std::fs::remove_file(&hold).unwrap();

    p.repro()
        .args(["run", "slow"])
        .assert()
        .success()
        .stderr(contains("1 unit(s) run"));
    assert_eq!(read_output(&p, "slow", "out.txt"), "first\nsecond\n");
    assert!(
        p.staging_leftovers().is_empty(),
        "the dead process's staging folder was cleaned"
    );
    p.repro()
        .arg("verify")
        .assert()
        .success()
        .stdout(contains("0 problem(s)"));
}

/// The first `repro` is frozen at the moment it holds the lock (a fault point), so the
/// second one must find it held: no sleeping, no hoping the first is still busy.
#[test]
fn a_second_repro_waits_for_the_cache_lock() {
    let p = project_with_pipeline(3, 2);
    let bin = assert_cmd::cargo::cargo_bin("repro");
    let mut first = std::process::Command::new(&bin);
    first
        .args(["run", "slow"])
        .current_dir(p.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let first = Frozen::at(first, "lock:acquired");
    let mut second = std::process::Command::new(&bin)
        .args(["run", "slow"])
        .current_dir(p.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (line, mut rest) = first_stderr_line(&mut second);
    assert!(
        line.contains(&format!(
            "waiting for the cache lock held by repro pid {}",
            first.pid()
        )),
        "{line}"
    );
    assert!(first.resume().wait().unwrap().success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut rest, &mut stderr).unwrap();
    assert!(second.wait().unwrap().success(), "{stderr}");
    assert!(
        stderr.contains("0 unit(s) run, 1 reused"),
        "the waiter saw the finished entry: {stderr}"
    );
}

/// A lock whose holder crashed is taken over: the kernel releases an `flock` with its
/// process, whatever killed it.
#[test]
fn a_crashed_holders_lock_is_taken_over() {
    let p = project_with_pipeline(3, 2);
    p.repro()
        .args(["run", "slow"])
        .env("REPRO_FAULT", "lock:acquired")
        .assert()
        .code(FAULT_EXIT);
    p.repro()
        .args(["run", "slow"])
        .assert()
        .success()
        .stderr(contains("waiting").not())
        .stderr(contains("1 unit(s) run"));
}

#[test]
fn verify_names_corrupted_and_truncated_files() {
    let p = project_with_pipeline(3, 2);
    p.repro().args(["run", "data"]).assert().success();
    let entry = &p.entries("data")[0];
    let labels = entry.join("train-labels.npy");
    let mut bytes = std::fs::read(&labels).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&labels, bytes).unwrap();
    let images = entry.join("test-images.npy");
    let len = std::fs::metadata(&images).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&images)
        .unwrap()
        .set_len(len - 8)
        .unwrap();
    p.repro()
        .arg("verify")
        .assert()
        .code(1)
        .stdout(contains("train-labels.npy: corrupted"))
        .stdout(contains("test-images.npy: truncated"))
        .stdout(contains("2 problem(s)"));
}

#[test]
fn gc_deletes_only_unreferenced_entries() {
    let p = project_with_pipeline(3, 2);
    p.repro().args(["run", "count"]).assert().success();
    set_config(&p, 4, 2);
    p.repro().args(["run", "count"]).assert().success();
    assert_eq!(p.entries("count").len(), 2);
    p.repro()
        .args(["gc", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("would delete count/tiny"));
    assert_eq!(p.entries("count").len(), 2);
    p.repro()
        .arg("gc")
        .assert()
        .failure()
        .stderr(contains("pass --yes"));
    p.repro()
        .args(["gc", "--yes"])
        .assert()
        .success()
        .stdout(contains("freed 1 entry"));
    assert_eq!(p.entries("count").len(), 1);
    assert_eq!(read_output(&p, "count", "count.txt"), "32");
    p.repro()
        .args(["run", "all", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("count/tiny").not());
}

#[test]
fn dag_lists_stages_in_order_and_as_dot() {
    let p = project_with_pipeline(3, 2);
    p.repro()
        .arg("dag")
        .assert()
        .success()
        .stdout(contains("data").and(contains("count").and(contains("<- data"))));
    p.repro()
        .args(["dag", "--dot"])
        .assert()
        .success()
        .stdout(contains("\"data\" -> \"count\";"));
}

#[test]
fn worker_processes_give_the_same_entries_as_one_process() {
    let one = project_with_pipeline(3, 2);
    one.repro().args(["run", "all"]).assert().success();
    let two = project_with_pipeline(3, 2);
    two.repro()
        .args(["run", "all", "--jobs", "2"])
        .assert()
        .success()
        .stderr(contains("3 unit(s) run, 0 reused, 0 failed"));
    let keys = |p: &TestProject| {
        let mut k: Vec<String> = ["data", "count", "slow"]
            .iter()
            .flat_map(|s| p.entries(s))
            .map(|e| e.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        k.sort();
        k
    };
    assert_eq!(keys(&one), keys(&two));
    assert_eq!(read_output(&two, "count", "count.txt"), "24");
    // A failing unit in a worker is reported with its output.
    std::fs::write(
        two.path().join("count.sh"),
        "echo 'cannot count' >&2; exit 3\n",
    )
    .unwrap();
    two.repro()
        .args(["run", "all", "--jobs", "2"])
        .assert()
        .code(1)
        .stderr(contains("count/tiny failed").and(contains("cannot count")));
}

#[test]
fn the_engine_reaches_no_module_outside_itself_and_no_numerics() {
    // What a workspace crate would make the compiler enforce: the engine knows units,
    // keys, manifests and executors, nothing of MNIST, stages, libtorch or HDF5.
    let deps = repro::codegraph::module_deps(&common::repo_root(), &["engine"]).unwrap();
    let outside: Vec<_> = deps
        .files
        .iter()
        .filter(|f| !f.starts_with("src/engine"))
        .collect();
    assert!(outside.is_empty(), "the engine uses {outside:?}");
    for numeric in ["tch", "hdf5", "plotters", "ndarray", "arrow_array"] {
        assert!(
            !deps.extern_crates.contains(numeric),
            "the engine uses `{numeric}`"
        );
    }
    // The walk did read the engine: its core modules are there.
    for core in [
        "src/engine/key.rs",
        "src/engine/cache.rs",
        "src/engine/plan.rs",
    ] {
        assert!(deps.files.contains(std::path::Path::new(core)), "{core}");
    }
}
