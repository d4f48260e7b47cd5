//! The activations stage: files in the spec's layout, equal to a fresh forward pass, and
//! readable by h5py without project code.

mod common;

use common::*;
use predicates::str::contains;
use repro::formats::activations::ActivationReader;
use repro::model::{Arch, Mlp};
use tch::{Device, Tensor};

fn project() -> TestProject {
    tiny_training_project(120, 30, "\n[train]\nmax_epochs = 3\nbatch_size = 16\nlr = 0.01\nseeds = [1]\n\n[[train.sweep]]\nname = \"a\"\ndatasets = [\"tiny\"]\ndepths = [3]\nwidths = [6]\nsnapshot_epochs = [1]\n\n[activations]\nbatch_rows = 7\nchunk_rows = 10\n")
}

#[test]
fn files_match_a_fresh_forward_pass_and_open_in_h5py() {
    let p = project();
    p.repro()
        .args(["run", "activations"])
        .assert()
        .success()
        .stderr(contains("5 unit(s) run"));
    assert_eq!(p.entries("activations").len(), 3, "init, epoch-1, best");

    let train_dir = &p.entries("train")[0];
    let data_dir = &p.entries("data")[0];
    let network: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(train_dir.join("network.json")).unwrap())
            .unwrap();
    let arch: Arch = serde_json::from_value(network["arch"].clone()).unwrap();
    for label in ["init", "epoch-1", "best"] {
        let file = p
            .entry_for("activations", &format!("@{label}\""))
            .join("activations.h5");
        let reader = ActivationReader::open(&file).unwrap();
        assert_eq!(reader.attrs.snapshot, label);
        assert_eq!((reader.attrs.depth, reader.attrs.width), (3, 6));
        let model = Mlp::load_safetensors(
            arch,
            Device::Cpu,
            &train_dir.join(format!("snapshots/{label}.safetensors")),
        )
        .unwrap();
        for split in ["train", "test", "val"] {
            let data = repro::data::load_split(data_dir, split).unwrap();
            let labels = reader.labels(split, 3).unwrap();
            assert_eq!(labels, data.labels);
            let x =
                Tensor::from_slice(&data.images).reshape([data.len as i64, data.features as i64]);
            let (pre, out) = tch::no_grad(|| model.forward_all(&x));
            for (l, z) in pre.iter().enumerate() {
                let fresh = Vec::<f32>::try_from(z.contiguous().view(-1)).unwrap();
                let stored = reader.preact(split, l + 1, data.len).unwrap();
                let worst = fresh
                    .iter()
                    .zip(&stored)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0f32, f32::max);
                assert!(
                    worst < 1e-5,
                    "{label} {split} layer {}: max diff {worst}",
                    l + 1
                );
            }
            let fresh = Vec::<f32>::try_from(out.contiguous().view(-1)).unwrap();
            let stored = reader.output(split, data.len, 3).unwrap();
            assert!(fresh.iter().zip(&stored).all(|(a, b)| (a - b).abs() < 1e-5));
        }
    }

    // Outside tools read it: h5py from the venv setup.sh made (REPRO_PYTHON).
    let python = std::env::var("REPRO_PYTHON").unwrap_or_else(|_| "python3".into());
    let file = p.entry_for("activations", "@best\"").join("activations.h5");
    let script = r#"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
assert f.attrs["snapshot"] == "best" and int(f.attrs["depth"]) == 3, dict(f.attrs)
for split, n in (("train", 90), ("test", 30), ("val", 30)):
    assert f[split]["labels"].shape == (n,) and f[split]["labels"].dtype == "uint8"
    for l in ("1", "2", "3"):
        d = f[split]["preact"][l]
        assert d.shape == (n, 6) and d.dtype == "float32" and d.chunks[0] <= 10, (d, d.chunks)
        assert d.compression == "lzf", d.compression
    assert f[split]["output"].shape == (n, 3)
print("h5py ok", f["test"]["output"][0, :])
"#;
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&file)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "h5py could not read the file: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("h5py ok"));
}
