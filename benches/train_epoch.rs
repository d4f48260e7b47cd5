//! Benchmark: one epoch of MNIST 10x100 (batch 128, Adam, MSE) with tch on the CPU, and the
//! same loop in PyTorch through Python with the same thread count, side by side; and the
//! limit: the throughput of the epoch's matrix products alone, through libtorch, with the
//! same shapes and thread count, on this machine.
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

/// Floating-point operations of one epoch's matrix products (a multiply-add counts two):
/// per sample, the forward products, the weight gradients, and the gradients passed down
/// to every layer but the first (nothing is passed to the input).
fn epoch_flop(arch: &Arch, samples: usize) -> f64 {
    let mut fan_in = arch.inputs;
    let mut per_sample = 0usize;
    for l in 0..=arch.depth {
        let out = if l == arch.depth {
            arch.classes
        } else {
            arch.width
        };
        let macs = out * fan_in;
        per_sample += 2 * macs + if l > 0 { macs } else { 0 };
        fan_in = arch.width;
    }
    2.0 * per_sample as f64 * samples as f64
}

/// Median seconds for one epoch's matrix products alone (the same shapes as training,
/// into preallocated outputs, nothing else), over `repeats` epochs after a warm-up.
fn gemm_seconds(arch: &Arch, samples: usize, batch: usize, repeats: usize) -> f64 {
    let b = batch as i64;
    let widths: Vec<i64> = std::iter::once(arch.inputs)
        .chain(std::iter::repeat_n(arch.width, arch.depth))
        .chain(std::iter::once(arch.classes))
        .map(|w| w as i64)
        .collect();
    let act: Vec<Tensor> = widths
        .iter()
        .map(|&w| Tensor::rand([b, w], (tch::Kind::Float, Device::Cpu)))
        .collect();
    let w: Vec<Tensor> = widths
        .windows(2)
        .map(|p| Tensor::rand([p[1], p[0]], (tch::Kind::Float, Device::Cpu)))
        .collect();
    let gw: Vec<Tensor> = w.iter().map(|t| t.zeros_like()).collect();
    let da: Vec<Tensor> = act.iter().map(|t| t.zeros_like()).collect();
    let batches = samples.div_ceil(batch);
    let mut times = Vec::new();
    for _ in 0..=repeats {
        let clock = std::time::Instant::now();
        for _ in 0..batches {
            for l in 0..w.len() {
                let _ = act[l].mm_out(&act[l + 1], &w[l].tr());
            }
            for l in (0..w.len()).rev() {
                let _ = act[l + 1].tr().mm_out(&gw[l], &act[l]);
                if l > 0 {
                    let _ = act[l + 1].mm_out(&da[l], &w[l]);
                }
            }
        }
        times.push(clock.elapsed().as_secs_f64());
    }
    median(times[1..].to_vec())
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
        lr: repro::model::Rate::Fixed(1e-3),
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
    let flop = epoch_flop(&arch, n);
    let gemm = gemm_seconds(&arch, n, 128, epochs);
    println!("MNIST 10x100, batch 128, Adam, MSE, {threads} thread(s), {epochs} epochs");
    println!(
        "  one epoch's matrix products: {:.1} GFLOP; alone they take {gemm:.3} s ({:.1} GFLOP/s)",
        flop / 1e9,
        flop / gemm / 1e9
    );
    println!(
        "  tch (repro):      {tch_s:.3} s/epoch, {:.1} GFLOP/s = {:.0}% of the products alone  (all epochs: {tch_times:.3?})",
        flop / tch_s / 1e9,
        100.0 * gemm / tch_s
    );

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
