//! The `[claims]` table of `pipeline.toml`: every level a claim is checked against. They
//! live in the configuration (and so in the report's key), never in code, and the report
//! prints each one next to its verdict.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// "Sufficient depth": claims about late layers read networks at least this deep.
    pub deep_min_depth: usize,
    /// "Sufficient width": and at least this wide.
    pub wide_min_width: usize,
    /// Sec. 3.2: the median last-layer perplexity is at most this.
    pub last_layer_perplexity_max: f64,
    /// Sec. 3.2: the median over networks of the lower of the layer 1 and layer 2
    /// perplexities is at least this fraction of the class size.
    pub first_layers_fraction_min: f64,
    /// The transition starts after the last layer at or above this fraction of the class
    /// size ...
    pub transition_high: f64,
    /// ... and ends at the first layer at or below this fraction.
    pub transition_low: f64,
    /// The median transition spans at most this many layers.
    pub transition_layers_max: f64,
    /// Sec. 2: a node is class-selective when every class's activation fraction is at
    /// most this or at least 1 minus this.
    pub selective_fraction: f64,
    /// The median share of selective nodes in the last hidden layer is at least this.
    pub selective_late_min: f64,
    /// ... and in the first layer, and in the last layer at initialisation, at most this.
    pub selective_early_max: f64,
    /// Sec. 5.2: the last layer's combined system is within this of the network.
    pub network_gap_max: f64,
    /// Sec. 5.2: the three systems are within this of each other.
    pub systems_spread_max: f64,
    /// Sec. 5.2: the combined system is the best of three in layer 1 in at least this
    /// share of networks.
    pub combined_first_share_min: f64,
    /// Fig. 5: after epoch 1 the network has at least this share of its final gain.
    pub first_epoch_share_min: f64,
    /// Trends with width: a rank correlation at least this strong, in the stated
    /// direction.
    pub rank_correlation_min: f64,
    /// Sec. 6: the sigmoid network's discrete and continuous systems within this.
    pub sigmoid_gap_max: f64,
}

impl Thresholds {
    /// The first value that cannot be a threshold, as (key, problem).
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let fractions = [
            ("first_layers_fraction_min", self.first_layers_fraction_min),
            ("transition_high", self.transition_high),
            ("transition_low", self.transition_low),
            ("selective_late_min", self.selective_late_min),
            ("selective_early_max", self.selective_early_max),
            ("network_gap_max", self.network_gap_max),
            ("systems_spread_max", self.systems_spread_max),
            ("combined_first_share_min", self.combined_first_share_min),
            ("first_epoch_share_min", self.first_epoch_share_min),
            ("rank_correlation_min", self.rank_correlation_min),
            ("sigmoid_gap_max", self.sigmoid_gap_max),
        ];
        for (key, v) in fractions {
            if !(0.0..=1.0).contains(&v) {
                return Err((key, format!("{v} is not a fraction between 0 and 1")));
            }
        }
        if self.transition_low >= self.transition_high {
            return Err((
                "transition_low",
                format!(
                    "{} must be below transition_high = {}",
                    self.transition_low, self.transition_high
                ),
            ));
        }
        if !(0.0..0.5).contains(&self.selective_fraction) {
            return Err(("selective_fraction", "must be in [0, 0.5)".into()));
        }
        if self.last_layer_perplexity_max.is_nan() || self.last_layer_perplexity_max < 1.0 {
            return Err((
                "last_layer_perplexity_max",
                "a perplexity is at least 1".into(),
            ));
        }
        if self.transition_layers_max.is_nan() || self.transition_layers_max < 0.0 {
            return Err(("transition_layers_max", "must be 0 or more".into()));
        }
        Ok(())
    }
}
