//! `--executor slurm` against a real single-node Slurm cluster on 127.0.0.1 (started by
//! scripts/slurm-cluster.sh; needs root and Debian's slurm-wlm and munge). Skipped with a
//! message where those are missing, unless REPRO_REQUIRE_SLURM is set (CI sets it).

mod common;

use common::*;
use predicates::prelude::*;
use predicates::str::contains;
use std::process::Command;

const CONFIG: &str = r#"
[train]
max_epochs = 2
batch_size = 16
lr = 0.01
seeds = [1]

[[train.sweep]]
name = "a"
datasets = ["tiny"]
depths = [1, 2]
widths = [6]
"#;

/// The same tiny pipeline (the generated data is deterministic) in a fresh folder.
fn project() -> TestProject {
    tiny_training_project(120, 30, CONFIG)
}

fn cluster_available() -> bool {
    let have = ["slurmctld", "slurmd", "munged", "sbatch"].iter().all(|b| {
        Command::new("sh")
            .args(["-c", &format!("command -v {b}")])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let root = unsafe { libc::geteuid() } == 0;
    if !(have && root) {
        assert!(
            std::env::var_os("REPRO_REQUIRE_SLURM").is_none(),
            "REPRO_REQUIRE_SLURM is set but Slurm (or root) is missing"
        );
        eprintln!("skipping the Slurm test: needs root, slurm-wlm and munge");
        return false;
    }
    let up = Command::new(repo_root().join("scripts/slurm-cluster.sh"))
        .arg("start")
        .status()
        .unwrap();
    assert!(up.success(), "the test cluster did not start");
    true
}

struct Stop;
impl Drop for Stop {
    fn drop(&mut self) {
        let _ = Command::new(repo_root().join("scripts/slurm-cluster.sh"))
            .arg("stop")
            .status();
    }
}

fn tables(p: &TestProject, stage: &str, file: &str) -> Vec<(String, repro::formats::table::Table)> {
    let mut out: Vec<_> = p
        .entries(stage)
        .into_iter()
        .map(|e| {
            let m: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(e.join("manifest.json")).unwrap())
                    .unwrap();
            (
                m["unit"].as_str().unwrap().to_string(),
                repro::formats::table::Table::read_ipc(&e.join(file)).unwrap(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn the_pipeline_through_slurm_matches_a_local_run() {
    if !cluster_available() {
        return;
    }
    let _stop = Stop;
    let local = project();
    local
        .repro()
        .args(["run", "analysis", "--threads", "1"])
        .assert()
        .success();
    let cluster = project();
    cluster
        .repro()
        .args(["run", "analysis", "--executor", "slurm", "--threads", "1"])
        .timeout(std::time::Duration::from_secs(300))
        .assert()
        .success()
        .stderr(contains("job array").and(contains("0 failed")));
    // Same keys, same tables.
    let (a, b) = (
        tables(&local, "analysis", "metrics.arrow"),
        tables(&cluster, "analysis", "metrics.arrow"),
    );
    assert_eq!(a.len(), 4);
    assert_eq!(a, b, "the cluster's analysis tables equal the local run's");
    // Both executors apply the engine's one keep/drop policy: each activation entry's
    // payload went once its analysis finished, and its manifest stayed.
    for p in [&local, &cluster] {
        let entries = p.entries("activations");
        assert_eq!(entries.len(), 4);
        for e in entries {
            assert!(e.join(".dropped").is_file(), "{} dropped", e.display());
            assert!(e.join("manifest.json").is_file());
        }
    }
    cluster.repro().arg("verify").assert().success();
    cluster
        .repro()
        .args(["run", "analysis", "--executor", "slurm"])
        .assert()
        .success()
        .stderr(contains("0 unit(s) run"));

    // A cancelled job leaves no entry, and the next run completes the unit. The array is
    // submitted to begin in an hour, so it is still pending when it is cancelled: no task
    // can have finished first, however fast the machine.
    let config = cluster.path().join("pipeline.toml");
    let longer = std::fs::read_to_string(&config)
        .unwrap()
        .replace("max_epochs = 2", "max_epochs = 3");
    std::fs::write(
        &config,
        format!("{longer}\n[executor.slurm]\nextra = [\"--begin=now+1hour\"]\n"),
    )
    .unwrap();
    let driver = std::process::Command::new(assert_cmd::cargo::cargo_bin("repro"))
        .args(["run", "train", "--executor", "slurm"])
        .current_dir(cluster.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Cancel the array as soon as it is queued.
    let start = std::time::Instant::now();
    loop {
        let q = Command::new("squeue")
            .args(["-h", "-o", "%A", "-n", "repro-train"])
            .output()
            .unwrap();
        let ids = String::from_utf8_lossy(&q.stdout).trim().to_string();
        if !ids.is_empty() {
            Command::new("scancel")
                .args(ids.split_whitespace())
                .status()
                .unwrap();
            break;
        }
        assert!(
            start.elapsed().as_secs() < 60,
            "the train array never appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = driver.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("log:"),
        "a failed unit names its log: {stderr}"
    );
    let entries_after_cancel = cluster.entries("train").len();
    assert_eq!(entries_after_cancel, 2, "only the earlier run's entries");
    std::fs::write(&config, longer).unwrap();
    cluster
        .repro()
        .args(["run", "train", "--executor", "slurm"])
        .timeout(std::time::Duration::from_secs(300))
        .assert()
        .success();
    assert_eq!(cluster.entries("train").len(), 4);
    cluster.repro().arg("verify").assert().success();

    // GPU nodes: the device is decided for the nodes, not for this (GPU-less) planning
    // host. `[executor.slurm] device = "cuda"` puts cuda into the training keys, and each
    // task checks its node has it; REPRO_ASSUME_CUDA=1 stands in for a GPU node, and only
    // the data stage, which never touches the device, is run.
    let gpu = project();
    let config = gpu.path().join("pipeline.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("{text}\n[executor]\nkind = \"slurm\"\n\n[executor.slurm]\ndevice = \"cuda\"\n"),
    )
    .unwrap();
    gpu.repro()
        .args(["status", "--explain", "train/tiny-1x6-relu-mse-s1"])
        .assert()
        .success()
        .stdout(contains("\"device\": \"cuda:0\""));
    // Without a GPU on the node, the task refuses and the failure names its log.
    gpu.repro()
        .args(["run", "data"])
        .env_remove("REPRO_ASSUME_CUDA")
        .timeout(std::time::Duration::from_secs(120))
        .assert()
        .failure()
        .stderr(contains("data/tiny").and(contains("log:")));
    let logs = std::fs::read_dir(gpu.cache().join(".logs"))
        .unwrap()
        .count();
    assert!(logs >= 1, "the task's output is filed as the unit's log");
    // On a node that has one (stood in for), the same unit runs.
    gpu.repro()
        .args(["run", "data"])
        .env("REPRO_ASSUME_CUDA", "1")
        .timeout(std::time::Duration::from_secs(120))
        .assert()
        .success()
        .stderr(contains("1 unit(s) run"));

    // Training on GPU nodes, the rest on CPU nodes: a stage's own table decides its
    // device. Training's keys say cuda, the data stage's tasks run on a CPU node without
    // one, and a training task checks its own stage's device there and refuses.
    let split = project();
    let config = split.path().join("pipeline.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!(
            "{text}\n[executor]\nkind = \"slurm\"\n\n[executor.slurm.stages.train]\ndevice = \"cuda\"\n"
        ),
    )
    .unwrap();
    split
        .repro()
        .args(["status", "--explain", "train/tiny-1x6-relu-mse-s1"])
        .assert()
        .success()
        .stdout(contains("\"device\": \"cuda:0\""));
    split
        .repro()
        .args(["run", "data"])
        .env_remove("REPRO_ASSUME_CUDA")
        .timeout(std::time::Duration::from_secs(120))
        .assert()
        .success()
        .stderr(contains("1 unit(s) run"));
    split
        .repro()
        .args(["run", "train"])
        .env_remove("REPRO_ASSUME_CUDA")
        .timeout(std::time::Duration::from_secs(120))
        .assert()
        .failure()
        .stderr(contains("train/tiny-1x6-relu-mse-s1").and(contains("log:")));
}
