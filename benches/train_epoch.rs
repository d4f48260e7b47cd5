//! Benchmark: one epoch of MNIST 10x100 (batch 128, Adam, MSE) with tch on the CPU, and the
//! same loop in PyTorch through Python with the same thread count, side by side.
//!
//! `cargo bench --bench train_epoch` (env: REPRO_BENCH_THREADS, default 1; REPRO_BENCH_EPOCHS,
//! default 3; REPRO_DATA_MIRROR, default ../shared/datasets; REPRO_BENCH_PYTHON, a Python
//! with a working `import torch`, default ~/.local/share/repro/pytorch-bench/bin/python).
//! The first epoch includes warm-up; the figures reported are the median of the rest.

use repro::data::datasets::{builtin, Role};
use repro::data::fetch::{fetch_payload, sources, HttpSettings};
use repro::formats::idx::parse_idx;
use repro::formats::npy::write_npy;
use repro::model::train::train;
use repro::model::{Activation, Arch, Loss, Optimizer, Stop, TrainData, TrainSettings};
use std::path::PathBuf;
use std::process::Command;
use tch::{Device, Tensor};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let threads: usize = env_or("REPRO_BENCH_THREADS", 1);
    let epochs: usize = env_or("REPRO_BENCH_EPOCHS", 3).max(2);
    let mirror = std::env::var_os("REPRO_DATA_MIRROR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets"));
    tch::set_num_threads(threads as i32);

    // MNIST's first 50,000 training images, exactly as the data stage prepares them.
    let spec = builtin("mnist").unwrap();
    let load = |role: Role| {
        let file = spec.file(role);
        let payload = fetch_payload(
            "mnist",
            file,
            &sources("mnist", file, std::slice::from_ref(&mirror), &spec.urls),
            &HttpSettings::default(),
            |_| {},
            |w| eprintln!("{w}"),
        )
        .expect("MNIST from the mirror or the canonical URLs");
        parse_idx(&payload, role.rank()).unwrap()
    };
    let images = load(Role::TrainImages);
    let labels = load(Role::TrainLabels);
    let n = 50_000;
    let x: Vec<f32> = images.data[..n * 784]
        .iter()
        .map(|&p| p as f32 / 255.0)
        .collect();
    let y: Vec<u8> = labels.data[..n].to_vec();

    let data = TrainData {
        x_train: Tensor::from_slice(&x).reshape([n as i64, 784]),
        y_train: Tensor::from_slice(&y).to_kind(tch::Kind::Int64),
        x_val: Tensor::from_slice(&x[..784 * 1000]).reshape([1000, 784]),
        y_val: Tensor::from_slice(&y[..1000]).to_kind(tch::Kind::Int64),
    };
    let arch = Arch {
        inputs: 784,
        depth: 10,
        width: 100,
        classes: 10,
        activation: Activation::Relu,
    };
    let settings = TrainSettings {
        loss: Loss::Mse,
        optimizer: Optimizer::Adam,
        lr: 1e-3,
        batch_size: 128,
        max_epochs: epochs,
        stop: Stop::Epochs,
        seed: 1,
        snapshot_epochs: vec![],
        snapshot_steps: vec![],
    };
    let mut tch_times = Vec::new();
    train(
        arch,
        &settings,
        &data,
        Device::Cpu,
        &mut |_, _, _, _| Ok(()),
        &mut |e, _, row| {
            if e > 0 {
                tch_times.push(row.seconds);
            }
        },
    )
    .unwrap();
    let tch_s = median(tch_times[1..].to_vec());
    println!("MNIST 10x100, batch 128, Adam, MSE, {threads} thread(s), {epochs} epochs");
    println!("  tch (repro):      {tch_s:.3} s/epoch  (all epochs: {tch_times:.3?})");

    let python = std::env::var_os("REPRO_BENCH_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".local/share/repro/pytorch-bench/bin/python")
        });
    let dir = tempfile::tempdir().unwrap();
    write_npy(&dir.path().join("x.npy"), &[n, 784], &x).unwrap();
    write_npy(&dir.path().join("y.npy"), &[n], &y).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/pytorch_epoch.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(dir.path().join("x.npy"))
        .arg(dir.path().join("y.npy"))
        .args([
            threads.to_string(),
            epochs.to_string(),
            "10".into(),
            "100".into(),
        ])
        .env("OMP_WAIT_POLICY", "PASSIVE")
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let times: Vec<f64> = String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter_map(|l| l.split_whitespace().nth(2)?.parse().ok())
                .collect();
            let py_s = median(times[1..].to_vec());
            println!("  PyTorch (Python): {py_s:.3} s/epoch  (all epochs: {times:.3?})");
            println!("  tch is {:.2}x the speed of PyTorch", py_s / tch_s);
        }
        Ok(o) => println!("  PyTorch (Python): failed: {}", String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or("")),
        Err(e) => println!(
            "  PyTorch (Python): skipped ({}: {e}); set REPRO_BENCH_PYTHON to a Python with torch 2.13",
            python.display()
        ),
    }
}
