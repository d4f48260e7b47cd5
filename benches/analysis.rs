//! Timings on synthetic data the size of an MNIST 10x100 snapshot:
//! 50,000 train and 10,000 test samples, 10 layers of 100 nodes, 10 classes.
//!
//! Run with `cargo bench --bench analysis`. Pre-activations are
//! normal with class- and node-dependent mean and spread; a tenth of the
//! nodes are "dead" (always 0) and a tenth almost always negative, as in
//! ReLU networks. Times are wall clock and process CPU time (user + system,
//! from /proc; 10 ms resolution), since the machine may be shared.

use std::time::Instant;

use repro::analysis::{layer_perplexity, log_density_exact, Kde, LayerClassifiers, System};
use repro::rng::SplitMix64;

const N_TRAIN: usize = 50_000;
const N_TEST: usize = 10_000;
const WIDTH: usize = 100;
const DEPTH: usize = 10;
const N_CLASSES: usize = 10;

/// Process CPU time (user + system) in seconds, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the command name (which is in parentheses); utime and
    // stime are the 14th and 15th fields overall, in clock ticks (100 Hz).
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Wall and CPU seconds since a start point.
struct Timer {
    wall: Instant,
    cpu: f64,
}

impl Timer {
    fn start() -> Self {
        Self {
            wall: Instant::now(),
            cpu: cpu_seconds(),
        }
    }

    fn elapsed(&self) -> (f64, f64) {
        (self.wall.elapsed().as_secs_f64(), cpu_seconds() - self.cpu)
    }
}

struct Split {
    z: Vec<f32>,
    labels: Vec<u8>,
}

/// One layer's train and test pre-activations.
fn layer(seed: u64) -> (Split, Split) {
    let mut rng = SplitMix64::new(seed);
    let params: Vec<(f64, f64)> = (0..N_CLASSES * WIDTH)
        .map(|_| (0.4 * rng.normal(), 0.5 + rng.uniform()))
        .collect();
    let mut make = |n: usize| {
        let mut z = Vec::with_capacity(n * WIDTH);
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            let c = rng.below(N_CLASSES as u64) as usize;
            labels.push(c as u8);
            for j in 0..WIDTH {
                let (m, s) = params[c * WIDTH + j];
                let v = match j % 10 {
                    0 => 0.0,
                    1 => -3.0 + 0.3 * rng.normal(),
                    _ => m + s * rng.normal(),
                };
                z.push(v as f32);
            }
        }
        Split { z, labels }
    };
    (make(N_TRAIN), make(N_TEST))
}

/// The analysis of one real snapshot, phase by phase: `REPRO_BENCH_ACTIVATIONS` names an
/// `activations.h5` written by the activations stage.
fn real_snapshot(path: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    use repro::analysis::activation_fractions;
    use repro::formats::activations::ActivationReader;
    let total = Instant::now();
    let r = ActivationReader::open(path)?;
    let classes = r.classes("test")?;
    let (ltr, lte) = (r.labels("train", classes)?, r.labels("test", classes)?);
    let (ntr, nte, width) = (ltr.len(), lte.len(), r.attrs.width);
    let (mut read, mut perp, mut frac, mut clf_t) = (0.0, 0.0, 0.0, 0.0);
    let mut line = Vec::new();
    for layer in 1..=r.attrs.depth {
        let t = Instant::now();
        let (ztr, zte) = (
            r.preact("train", layer, ntr)?,
            r.preact("test", layer, nte)?,
        );
        read += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let p = layer_perplexity(&zte, nte, width, &lte, classes)?.mean;
        layer_perplexity(&ztr, ntr, width, &ltr, classes)?;
        perp += t.elapsed().as_secs_f64();
        let t = Instant::now();
        activation_fractions(&ztr, ntr, width, &ltr, classes)?;
        activation_fractions(&zte, nte, width, &lte, classes)?;
        frac += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let clf = LayerClassifiers::fit(&ztr, ntr, width, &ltr, classes)?;
        clf.evaluate(&ztr, ntr, &ltr)?;
        let test = clf.evaluate(&zte, nte, &lte)?;
        clf_t += t.elapsed().as_secs_f64();
        line.push(format!(
            "  layer {layer}: test perplexity {p:.1}, test accuracy d/c/b {}",
            System::ALL
                .map(|s| format!("{:.4}", test.get(s).accuracy))
                .join("/")
        ));
    }
    println!(
        "real snapshot {} ({}x{}, {ntr} train, {nte} test):",
        path.display(),
        r.attrs.depth,
        width
    );
    for l in line {
        println!("{l}");
    }
    println!(
        "  read {read:.2} s, perplexity {perp:.3} s, fractions {frac:.3} s, classifiers {clf_t:.2} s; total {:.2} s",
        total.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("threads: {}", rayon::current_num_threads());
    if let Some(path) = std::env::var_os("REPRO_BENCH_ACTIVATIONS") {
        return real_snapshot(std::path::Path::new(&path));
    }
    let gen_start = Instant::now();
    let layers: Vec<(Split, Split)> = (0..DEPTH as u64).map(|l| layer(100 + l)).collect();
    println!(
        "generated {DEPTH} layers in {:.2} s (not counted)",
        gen_start.elapsed().as_secs_f64()
    );

    // 1. Perplexity, all layers, both splits.
    let t = Timer::start();
    let mut mean_p = 0.0;
    for (train, test) in &layers {
        for split in [train, test] {
            let n = split.labels.len();
            mean_p += layer_perplexity(&split.z, n, WIDTH, &split.labels, N_CLASSES)?.mean;
        }
    }
    let (wall, cpu) = t.elapsed();
    println!(
        "perplexity, {DEPTH} layers x (train + test): wall {wall:.3} s, cpu {cpu:.2} s (checksum {mean_p:.1})"
    );

    // 2. Classifiers: fit on train, evaluate train and test, every layer.
    let total = Timer::start();
    let mut first_layer = (0.0, 0.0);
    for (l, (train, test)) in layers.iter().enumerate() {
        let t = Timer::start();
        let clf = LayerClassifiers::fit(&train.z, N_TRAIN, WIDTH, &train.labels, N_CLASSES)?;
        let (fit_wall, fit_cpu) = t.elapsed();
        let t = Timer::start();
        let ev_train = clf.evaluate(&train.z, N_TRAIN, &train.labels)?;
        let ev_test = clf.evaluate(&test.z, N_TEST, &test.labels)?;
        let (eval_wall, eval_cpu) = t.elapsed();
        if l == 0 {
            first_layer = (fit_wall + eval_wall, fit_cpu + eval_cpu);
        }
        let acc = |ev: &repro::analysis::Evaluation| {
            System::ALL
                .map(|s| format!("{:.4}", ev.get(s).accuracy))
                .join("/")
        };
        let tables = (0..WIDTH)
            .filter(|&j| clf.table_points(j).is_some())
            .count();
        println!(
            "layer {l}: fit wall {fit_wall:.3} s (cpu {fit_cpu:.2}), eval train+test wall {eval_wall:.3} s (cpu {eval_cpu:.2}); {tables} tabulated nodes; accuracy d/c/b train {} test {}",
            acc(&ev_train),
            acc(&ev_test)
        );
    }
    let (wall, cpu) = total.elapsed();
    println!(
        "classifiers, one layer (layer 0): wall {:.3} s, cpu {:.2} s; x{DEPTH} extrapolated: wall {:.2} s",
        first_layer.0,
        first_layer.1,
        first_layer.0 * DEPTH as f64
    );
    println!("classifiers, all {DEPTH} layers measured: wall {wall:.2} s, cpu {cpu:.2} s");

    // 3. Fast KDE vs direct sum, one node and class, 60,000 points.
    let (train, test) = &layers[0];
    let node = 5;
    let values: Vec<f32> = train
        .labels
        .iter()
        .enumerate()
        .filter(|(_, &l)| l == 3)
        .map(|(r, _)| train.z[r * WIDTH + node])
        .collect();
    let points: Vec<f32> = train
        .z
        .iter()
        .chain(&test.z)
        .skip(node)
        .step_by(WIDTH)
        .copied()
        .collect();
    let reps = 20;
    let t = Instant::now();
    let mut out = vec![0.0; points.len()];
    for _ in 0..reps {
        let kde = Kde::fit(&values)?;
        kde.log_density_many(&points, &mut out)?;
    }
    let fast = t.elapsed().as_secs_f64() / reps as f64;
    let kde = Kde::fit(&values)?;
    let subset: Vec<f32> = points.iter().step_by(100).copied().collect();
    let t = Instant::now();
    let mut max_err: f64 = 0.0;
    for &x in &subset {
        let e = log_density_exact(&values, kde.bandwidth(), x);
        max_err = max_err.max((kde.log_density(x) - e).abs() / e.abs().max(1.0));
    }
    let direct = t.elapsed().as_secs_f64() * points.len() as f64 / subset.len() as f64;
    println!(
        "KDE one node/class: {} values, {} points: fast fit+eval {:.2} ms, direct sum {:.0} ms (extrapolated from {}), speed-up {:.0}x, max scaled error {max_err:.1e}",
        values.len(),
        points.len(),
        fast * 1e3,
        direct * 1e3,
        subset.len(),
        direct / fast
    );
    Ok(())
}
