//! The `[figures]` table: which networks each figure shows (defaults: the paper's).

use crate::model::settings::{Activation, Loss};
use crate::results::NetKey;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FiguresTable {
    #[serde(default = "d_fig1")]
    pub fig1_network: NetKey,
    /// Width of the depth sweep (Figs. 2, 3, 6 and the selectivity map).
    #[serde(default = "d_100")]
    pub depth_sweep_width: usize,
    /// Depth of the width sweeps (Figs. 2, 3, 9, 10).
    #[serde(default = "d_10")]
    pub width_sweep_depth: usize,
    #[serde(default = "d_epochs")]
    pub epochs_network: NetKey,
    #[serde(default = "d_sigmoid")]
    pub sigmoid_network: NetKey,
    #[serde(default = "d_fig1")]
    pub histogram_network: NetKey,
    #[serde(default = "d_fashion")]
    pub fig6_dataset: String,
    #[serde(default = "d_9")]
    pub fig6_max_depth: usize,
    #[serde(default = "d_fashion")]
    pub fig9_dataset: String,
    #[serde(default = "d_mnist")]
    pub fig10_dataset: String,
    /// A node is class-selective when its activation fraction is at most this or at least
    /// 1 minus this, for every class.
    #[serde(default = "d_threshold")]
    pub selective_threshold: f64,
    /// The perplexity below which a layer counts as past the transition.
    #[serde(default = "d_two")]
    pub transition_perplexity: f64,
    /// The networks of the convergence study: their epoch snapshots against epoch.
    #[serde(default = "d_convergence")]
    pub convergence_networks: Vec<NetKey>,
}

fn d_fig1() -> NetKey {
    NetKey::new("mnist", 10, 100)
}
fn d_epochs() -> NetKey {
    NetKey::new("fashion-mnist", 6, 100)
}
fn d_sigmoid() -> NetKey {
    NetKey {
        activation: Activation::Sigmoid,
        loss: Loss::Ce,
        ..NetKey::new("fashion-mnist", 7, 100)
    }
}
fn d_convergence() -> Vec<NetKey> {
    vec![
        NetKey::new("mnist", 10, 100),
        NetKey::new("fashion-mnist", 10, 100),
    ]
}
fn d_100() -> usize {
    100
}
fn d_10() -> usize {
    10
}
fn d_9() -> usize {
    9
}
fn d_fashion() -> String {
    "fashion-mnist".into()
}
fn d_mnist() -> String {
    "mnist".into()
}
fn d_threshold() -> f64 {
    0.05
}
fn d_two() -> f64 {
    2.0
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Tables {
    #[serde(default)]
    pub figures: Option<FiguresTable>,
}
