//! A synthetic world of analysis tables built to look like the paper's findings, with
//! one knob per finding: the defaults reproduce every claim, and turning one knob breaks
//! the finding it names.

use crate::claims::ClaimData;
use crate::model::settings::{Activation, Loss, Optimizer};
use crate::results::{FractionRow, MetricRow, NetKey};

pub const DATASETS: [&str; 2] = ["mnist", "fashion-mnist"];
pub const FASHION: usize = 1;
pub const SEEDS: [i64; 2] = [1, 2];

/// Per-dataset knobs of the synthetic world (defaults: the paper's findings hold).
#[derive(Clone)]
pub struct Knobs {
    /// Perplexity of layers 1-2 at width 100; it scales with (width / 100)^high_exp.
    pub high: f64,
    pub high_exp: f64,
    /// If set, layer 1 scales with (width / 100)^this instead.
    pub layer1_exp: Option<f64>,
    /// The first level at or below 5% of the class size (layer 3), scaled with
    /// (width / 100)^low_exp, and the level of every later layer.
    pub low: f64,
    pub low_exp: f64,
    pub last: f64,
    /// Seed 2's last-layer perplexity, if it differs from seed 1's.
    pub last_seed2: Option<f64>,
    /// The fall happens right before the last layer instead of at layer 3.
    pub late_transition: bool,
    /// The fall spread evenly in log over layers 3 to depth.
    pub even_fall: bool,
    /// A slow fall from layer 3 (400, 200, 100, then 40 at layer 6).
    pub slow_fall: bool,
    /// The network of this depth falls slowly over layers 3-5.
    pub slow_net_depth: Option<usize>,
    /// Layers 3 and 4 of networks of depth >= 5: just below, then just above, 5% of the
    /// class size.
    pub bump: bool,
    /// Layer 5 of networks of depth >= 6 rises to this.
    pub rise: Option<f64>,
    /// The network's test error is base(depth) + a width term; `accelerating` makes
    /// base fall faster with depth the deeper it gets.
    pub accelerating: bool,
    /// Width terms of the test error at widths 20, 60, 100.
    pub width_terms: [f64; 3],
    /// The depth-1 network's test error, if set.
    pub shallow_error: Option<f64>,
    /// The deepest network's test error is multiplied by this.
    pub deep_error_factor: f64,
    /// Added to every accuracy (Fashion-MNIST's are lower).
    pub acc_offset: f64,
    /// Depths at or below which the systems disagree in the last hidden layer.
    pub diverge_up_to: usize,
    /// The last-layer spread grows with depth (0.001 x depth) instead of shrinking.
    pub rising_spread: bool,
    /// How far all systems fall below the network in layers 2 and later.
    pub systems_gap: f64,
    /// The discrete system's shortfall in the layer before the last of deep networks.
    pub later_spread: f64,
    /// Systems' accuracy in later layers is 1 - base - this / width.
    pub sys_width_slope: f64,
    /// Layer-1 discrete accuracy is `layer1_level - discrete_slope / w`, continuous
    /// `layer1_level + 0.01 + continuous_slope / w`, combined the better plus the margin.
    pub layer1_level: f64,
    pub discrete_slope: f64,
    pub continuous_slope: f64,
    pub combined_margin: f64,
    /// Deep networks' layer-1 systems all equal `layer1_level`.
    pub layer1_equal: bool,
    /// The narrowest network's layer-3 discrete accuracy falls this far.
    pub anomaly: f64,
    /// Share of the gain from init to best made in epoch 1 (network and systems), and the
    /// layer-1 combined system's gain from epoch 1 to best.
    pub epoch1_share: f64,
    pub early_gain: f64,
    /// Continuous - discrete at the first step snapshot.
    pub step_gap: f64,
    /// Shares of node kinds: mixed in layers 1-2, selective in the last layer (deep
    /// networks; smaller ones; at initialisation).
    pub mixed: f64,
    pub late_selective: f64,
    pub small_selective: f64,
    pub init_selective: f64,
    /// The sigmoid network's continuous - discrete gap in later layers, and a factor on
    /// all its systems' accuracies there.
    pub sigmoid_gap: f64,
    pub sigmoid_level: f64,
    /// SGD network perplexities relative to Adam's, and its selective share.
    pub sgd_factor: f64,
    pub sgd_selective_factor: f64,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            high: 950.0,
            high_exp: 0.5,
            layer1_exp: None,
            low: 20.0,
            low_exp: 0.0,
            last: 1.2,
            last_seed2: None,
            late_transition: false,
            even_fall: false,
            slow_fall: false,
            slow_net_depth: None,
            bump: false,
            rise: None,
            accelerating: false,
            width_terms: [0.05, 1.0 / 60.0, 0.01],
            shallow_error: None,
            deep_error_factor: 1.0,
            acc_offset: 0.0,
            diverge_up_to: 1,
            rising_spread: false,
            systems_gap: 0.0,
            later_spread: 0.0,
            sys_width_slope: 1.0,
            layer1_level: 0.90,
            discrete_slope: 3.0,
            continuous_slope: 1.0,
            combined_margin: 0.01,
            layer1_equal: false,
            anomaly: 0.0,
            epoch1_share: 0.9,
            early_gain: 0.01,
            step_gap: -0.05,
            mixed: 0.8,
            late_selective: 0.9,
            small_selective: 0.2,
            init_selective: 0.0,
            sigmoid_gap: 0.005,
            sigmoid_level: 1.0,
            sgd_factor: 2.0,
            sgd_selective_factor: 0.5,
        }
    }
}

/// The paper's world: Fashion-MNIST like MNIST, except that its accuracies are lower,
/// its fall in perplexity is more gradual (to 22 rather than 20 in layer 3, a smaller
/// steepest fall), its systems come together one layer deeper, and only MNIST has
/// the width-20 anomaly.
pub fn paper_world() -> [Knobs; 2] {
    let mnist = Knobs {
        anomaly: 0.1,
        ..Knobs::default()
    };
    let fashion = Knobs {
        low: 22.0,
        diverge_up_to: 2,
        acc_offset: -0.08,
        ..Knobs::default()
    };
    [mnist, fashion]
}

fn nets(ds: &str) -> Vec<NetKey> {
    let mut nets: Vec<NetKey> = (1..=10).map(|d| NetKey::new(ds, d, 100)).collect();
    nets.extend([20, 60].map(|w| NetKey::new(ds, 4, w)));
    nets.push(NetKey {
        activation: Activation::Sigmoid,
        loss: Loss::Ce,
        ..NetKey::new(ds, 4, 100)
    });
    nets.push(NetKey {
        optimizer: Optimizer::Sgd,
        ..NetKey::new(ds, 4, 100)
    });
    nets
}

/// The hidden layers' test perplexities of a network.
fn profile(k: &Knobs, net: &NetKey, seed: i64) -> Vec<f64> {
    let (d, w) = (net.depth, net.width as f64 / 100.0);
    let high = k.high * w.powf(k.high_exp);
    let low = k.low * w.powf(k.low_exp);
    let last = if seed == 2 {
        k.last_seed2.unwrap_or(k.last)
    } else {
        k.last
    };
    let mut p: Vec<f64> = (1..=d)
        .map(|l| {
            if k.late_transition && d >= 3 {
                return if l + 1 < d {
                    high
                } else if l + 1 == d {
                    low
                } else {
                    last
                };
            }
            match l {
                1 | 2 => high,
                3 => low,
                _ => last,
            }
        })
        .collect();
    if let (Some(e), true) = (k.layer1_exp, d >= 1) {
        p[0] = k.high * w.powf(e);
    }
    if k.even_fall && d >= 3 {
        let steps = (d - 2) as f64;
        for l in 3..=d {
            p[l - 1] = high * (last / high).powf((l - 2) as f64 / steps);
        }
    }
    if k.slow_fall && d >= 3 {
        for (l, v) in [400.0, 200.0, 100.0, 40.0].into_iter().enumerate() {
            if l + 2 < d {
                p[l + 2] = v;
            }
        }
    }
    if k.slow_net_depth == Some(d) {
        p[2..6].copy_from_slice(&[300.0, 200.0, 100.0, low]);
    }
    if k.bump && d >= 5 {
        p[2] = 49.0;
        p[3] = 51.0;
    }
    if let (Some(r), true) = (k.rise, d >= 6) {
        p[4] = r;
    }
    if net.optimizer == Optimizer::Sgd {
        p.iter_mut().for_each(|v| *v *= k.sgd_factor);
    }
    p
}

/// The network's test error.
fn error(k: &Knobs, net: &NetKey) -> f64 {
    let d = net.depth as f64;
    let base = if k.accelerating {
        0.05 - 0.0004 * (d - 1.0) * (d - 1.0)
    } else {
        0.01 + 0.1 / (d * d)
    };
    let width = match net.width {
        20 => k.width_terms[0],
        60 => k.width_terms[1],
        _ => k.width_terms[2],
    };
    let mut e = base + width;
    if net.depth == 1 {
        e = k.shallow_error.unwrap_or(e);
    }
    if net.depth == 10 {
        e *= k.deep_error_factor;
    }
    e
}

struct Rows<'a> {
    rows: &'a mut Vec<MetricRow>,
    net: &'a NetKey,
    seed: i64,
}

impl Rows<'_> {
    fn push(&mut self, snapshot: &str, layer: usize, system: &str, metric: &str, value: f64) {
        self.rows.push(MetricRow {
            net: self.net.clone(),
            seed: self.seed,
            snapshot: snapshot.into(),
            epoch: 0,
            step: 0,
            layer,
            system: system.into(),
            split: "test".into(),
            class: -1,
            metric: metric.into(),
            value,
        });
    }
}

const SELECTIVE: [f64; 10] = [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0];
const MIXED: [f64; 10] = [0.3, 0.5, 0.7, 0.4, 0.6, 0.2, 0.8, 0.5, 0.5, 0.5];
const DEAD: [f64; 10] = [0.0; 10];

/// Ten nodes: `share` of them `kind`, the rest `rest`.
fn layer_nodes(
    out: &mut Vec<FractionRow>,
    (net, seed, snapshot, layer): (&NetKey, i64, &str, usize),
    share: f64,
    kind: [f64; 10],
    rest: [f64; 10],
) {
    let n = (share * 10.0).round() as usize;
    for node in 0..10 {
        let classes = if node < n { kind } else { rest };
        for (class, &value) in classes.iter().enumerate() {
            out.push(FractionRow {
                net: net.clone(),
                seed,
                snapshot: snapshot.into(),
                layer,
                node,
                class,
                split: "train".into(),
                value,
            });
        }
    }
}

pub fn world(knobs: &[Knobs; 2]) -> (Vec<MetricRow>, Vec<FractionRow>) {
    let mut rows = Vec::new();
    let mut fractions = Vec::new();
    for (ds, k) in DATASETS.iter().zip(knobs) {
        for net in nets(ds) {
            for seed in SEEDS {
                add_net(&mut rows, &mut fractions, k, &net, seed);
            }
        }
    }
    (rows, fractions)
}

fn add_net(
    rows: &mut Vec<MetricRow>,
    fractions: &mut Vec<FractionRow>,
    k: &Knobs,
    net: &NetKey,
    seed: i64,
) {
    let (d, w) = (net.depth, net.width as f64);
    let deep = d >= 4 && net.width >= 100;
    let mut r = Rows { rows, net, seed };
    for (l, p) in profile(k, net, seed).into_iter().enumerate() {
        r.push("best", l + 1, "patterns", "mean_perplexity", p);
    }
    let base_error = error(k, net)
        - match net.width {
            20 => k.width_terms[0],
            60 => k.width_terms[1],
            _ => k.width_terms[2],
        };
    let acc = 1.0 - error(k, net) + k.acc_offset;
    r.push("best", d + 1, "network", "accuracy", acc);
    // Systems in layers 2 and later: at the network's level (their own width term),
    // the discrete one a little below it in the last layer.
    let systems = 1.0 - base_error - k.sys_width_slope / w - k.systems_gap + k.acc_offset;
    let last_spread = if d <= k.diverge_up_to {
        0.03
    } else if k.rising_spread {
        0.001 * d as f64
    } else {
        0.005 / d as f64
    };
    let sigmoid = net.activation == Activation::Sigmoid;
    for l in 2..=d {
        let mut level = systems;
        if sigmoid && l > d / 2 {
            level *= k.sigmoid_level;
        }
        let mut discrete = level;
        if l == d {
            discrete -= last_spread;
        }
        if deep && l + 1 == d {
            discrete -= k.later_spread;
        }
        if net.width == 20 && l == 3 {
            discrete -= k.anomaly;
        }
        if sigmoid && l > d / 2 {
            discrete = level - k.sigmoid_gap;
        }
        r.push("best", l, "discrete", "accuracy", discrete);
        r.push("best", l, "continuous", "accuracy", level);
        r.push("best", l, "combined", "accuracy", level);
    }
    // Layer 1.
    let (discrete, continuous, combined) = if deep && k.layer1_equal {
        (k.layer1_level, k.layer1_level, k.layer1_level)
    } else {
        let discrete = k.layer1_level - k.discrete_slope / w;
        let continuous = k.layer1_level + 0.01 + k.continuous_slope / w;
        (
            discrete,
            continuous,
            discrete.max(continuous) + k.combined_margin,
        )
    };
    let first = |v: f64| v + k.acc_offset;
    let mut l1 = [first(discrete), first(continuous), first(combined)];
    if d == 1 {
        // The only hidden layer is also the last.
        l1[0] -= last_spread;
    }
    for (s, v) in ["discrete", "continuous", "combined"].iter().zip(l1) {
        r.push("best", 1, s, "accuracy", v);
    }
    // Training snapshots of the 6x100.
    if net == &NetKey::new(&net.dataset, 6, 100) {
        let init = 0.1;
        r.push("init", d + 1, "network", "accuracy", init);
        r.push(
            "epoch-1",
            d + 1,
            "network",
            "accuracy",
            init + k.epoch1_share * (acc - init),
        );
        for s in ["discrete", "continuous", "combined"] {
            let best = r
                .rows
                .iter()
                .rev()
                .find(|x| {
                    &x.net == net
                        && x.seed == seed
                        && x.layer == d
                        && x.system == s
                        && x.snapshot == "best"
                })
                .map(|x| x.value)
                .expect("pushed above");
            r.push("init", d, s, "accuracy", init);
            r.push(
                "epoch-1",
                d,
                s,
                "accuracy",
                init + k.epoch1_share * (best - init),
            );
        }
        r.push("epoch-1", 1, "combined", "accuracy", l1[2] - k.early_gain);
        for l in 1..=d {
            r.push("step-1", l, "discrete", "accuracy", 0.5);
            r.push("step-1", l, "continuous", "accuracy", 0.5 + k.step_gap);
            r.push("step-10", l, "discrete", "accuracy", 0.6);
            r.push("step-10", l, "continuous", "accuracy", 0.62);
        }
    }
    // Activation fractions.
    let at = |snapshot: &'static str, layer: usize| (net, seed, snapshot, layer);
    if deep {
        for l in [1, 2] {
            layer_nodes(fractions, at("best", l), k.mixed, MIXED, DEAD);
        }
        layer_nodes(fractions, at("init", d), k.init_selective, SELECTIVE, DEAD);
    }
    let late = if net.optimizer == Optimizer::Sgd {
        k.late_selective * k.sgd_selective_factor
    } else if deep {
        k.late_selective
    } else {
        k.small_selective
    };
    layer_nodes(fractions, at("best", d), late, SELECTIVE, MIXED);
}

pub fn data(knobs: &[Knobs; 2]) -> ClaimData {
    let (rows, fractions) = world(knobs);
    let sizes = DATASETS.iter().map(|d| (d.to_string(), 1000.0)).collect();
    ClaimData::new(
        &rows,
        &fractions,
        DATASETS.iter().map(|d| d.to_string()).collect(),
        sizes,
    )
}
