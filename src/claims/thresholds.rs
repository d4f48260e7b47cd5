//! The `[claims]` table of `pipeline.toml`: every level a claim is checked against, each
//! with the range its robustness is assessed over (`key = { value = 2.0, range = [1.5,
//! 3.0] }`). They live in the configuration (and so in the report's key), never in code,
//! and the report prints each one next to its verdict.

use serde::{Deserialize, Serialize};

/// One threshold and the range of values a reasonable reader might have chosen instead.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub value: f64,
    pub range: [f64; 2],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// "Sufficient depth": claims about late layers read networks at least this deep.
    pub deep_min_depth: usize,
    /// "Sufficient width": and at least this wide.
    pub wide_min_width: usize,
    /// Sec. 2: a node is class-selective when every class's activation fraction is at
    /// most this or at least 1 minus this; it is undecided on a class in between.
    pub selective_fraction: Threshold,
    /// The median share of selective nodes in the last hidden layer is at least this.
    pub selective_late_min: Threshold,
    /// ... and in the last layer at initialisation at most this.
    pub selective_init_max: Threshold,
    /// Sec. 2: the median share of layer-1 and layer-2 nodes undecided on two or more
    /// classes is at least this ("most").
    pub mixed_early_min: Threshold,
    /// Sec. 3.1: the shallowest network's test error exceeds the sweep's lowest by at
    /// least this (absolute).
    pub error_fall_min: Threshold,
    /// Sec. 3.1: the deepest network's test error exceeds the sweep's lowest by at most
    /// this fraction of the lowest ("does not degrade").
    pub degrade_max: Threshold,
    /// Sec. 3.2: the median over networks of the lower of the layer 1 and layer 2
    /// perplexities is at least this fraction of the class size.
    pub first_layers_fraction_min: Threshold,
    /// Sec. 3.2: the median last-layer perplexity is at most this.
    pub last_layer_perplexity_max: Threshold,
    /// The transition starts after the last layer at or above this fraction of the class
    /// size ...
    pub transition_high: Threshold,
    /// ... and ends at the first layer at or below this fraction.
    pub transition_low: Threshold,
    /// The median transition spans at most this many layers.
    pub transition_layers_max: Threshold,
    /// Sec. 3.2: the transition spans of the networks differ by at most this many layers.
    pub transition_spread_max: Threshold,
    /// Sec. 2: the steepest one-layer fall holds at least this multiple of an even
    /// share (1 / depth) of the whole fall in log perplexity (median).
    pub uneven_min: Threshold,
    /// Sec. 7: no hidden layer's perplexity exceeds the one before by more than this
    /// factor, in any network.
    pub monotone_rise_max: Threshold,
    /// Sec. 7: the transition ends at most this fraction of the way through the network
    /// (median).
    pub early_end_max: Threshold,
    /// Sec. 5.2: the three systems within this of each other ("virtually identical").
    pub systems_spread_max: Threshold,
    /// Sec. 5.2: each system at most this below the network in the last hidden layer.
    pub network_gap_max: Threshold,
    /// Sec. 5.2: the combined system is the best of three in layer 1 in at least this
    /// share of networks.
    pub combined_first_share_min: Threshold,
    /// Fig. 5: after epoch 1 the network has at least this share of its final gain.
    pub first_epoch_share_min: Threshold,
    /// Sec. 5.2: every hidden layer's best system reaches at least this fraction of the
    /// network's accuracy.
    pub layer_solves_min: Threshold,
    /// Trends with width or depth: a rank correlation at least this strong, in the
    /// stated direction.
    pub rank_correlation_min: Threshold,
    /// Sec. 6: the sigmoid network's continuous system ahead of the discrete one by more
    /// than 0 and at most this.
    pub sigmoid_gap_max: Threshold,
    /// Sec. 5.2: MNIST's accuracies are higher in at least this share of comparisons.
    pub majority_share_min: Threshold,
    /// Sec. 5.2: a layer's discrete accuracy at least this far below both neighbours is
    /// an anomaly.
    pub anomaly_min: Threshold,
}

/// The keys whose values are fractions between 0 and 1.
const FRACTIONS: [&str; 14] = [
    "selective_late_min",
    "selective_init_max",
    "mixed_early_min",
    "error_fall_min",
    "first_layers_fraction_min",
    "transition_high",
    "transition_low",
    "early_end_max",
    "systems_spread_max",
    "network_gap_max",
    "combined_first_share_min",
    "first_epoch_share_min",
    "layer_solves_min",
    "majority_share_min",
];

impl Thresholds {
    /// The threshold named `key`, if there is one.
    pub fn get(&self, key: &str) -> Option<Threshold> {
        let v = serde_json::to_value(self).ok()?;
        serde_json::from_value(v.get(key)?.clone()).ok()
    }

    /// Every threshold's key.
    pub fn keys(&self) -> Vec<String> {
        let v = serde_json::to_value(self).unwrap_or_default();
        v.as_object()
            .into_iter()
            .flatten()
            .filter(|(_, t)| t.is_object())
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// A copy with the threshold `key` set to `value` (its range unchanged).
    pub fn with(&self, key: &str, value: f64) -> Thresholds {
        let mut v = serde_json::to_value(self).expect("thresholds serialise");
        if let Some(t) = v.get_mut(key) {
            t["value"] = value.into();
        }
        serde_json::from_value(v).expect("a threshold's value is a number")
    }

    /// The first value that cannot be a threshold, as (key, problem).
    pub fn check(&self) -> Result<(), (String, String)> {
        for key in self.keys() {
            let t = self.get(&key).expect("a listed key");
            let [lo, hi] = t.range;
            if !(lo.is_finite() && hi.is_finite() && t.value.is_finite()) {
                return Err((key, "value and range must be finite numbers".into()));
            }
            if lo > hi {
                return Err((
                    format!("{key}.range"),
                    format!("[{lo}, {hi}]: the lower end is above the upper"),
                ));
            }
            if !(lo..=hi).contains(&t.value) {
                return Err((
                    format!("{key}.value"),
                    format!("{} lies outside its range [{lo}, {hi}]", t.value),
                ));
            }
            if FRACTIONS.contains(&key.as_str()) && (lo < 0.0 || hi > 1.0) {
                return Err((
                    key,
                    format!("[{lo}, {hi}] is not within the fractions 0 to 1"),
                ));
            }
        }
        let domain = |key: &str, lo: f64, hi: f64, why: &str| -> Result<(), (String, String)> {
            let [a, b] = self.get(key).expect("a listed key").range;
            if a < lo || b > hi {
                Err((key.to_string(), format!("[{a}, {b}]: {why}")))
            } else {
                Ok(())
            }
        };
        domain(
            "selective_fraction",
            0.0,
            0.4999,
            "must lie in [0, 0.5): near 0 or near 1, not both",
        )?;
        domain(
            "rank_correlation_min",
            0.0,
            1.0,
            "a rank correlation strength is 0 to 1",
        )?;
        domain(
            "last_layer_perplexity_max",
            1.0,
            f64::INFINITY,
            "a perplexity is at least 1",
        )?;
        domain(
            "monotone_rise_max",
            1.0,
            f64::INFINITY,
            "a rise factor is at least 1",
        )?;
        domain("uneven_min", 0.0, f64::INFINITY, "must be 0 or more")?;
        for key in [
            "transition_layers_max",
            "transition_spread_max",
            "degrade_max",
        ] {
            domain(key, 0.0, f64::INFINITY, "must be 0 or more")?;
        }
        for key in ["sigmoid_gap_max", "anomaly_min"] {
            domain(key, 0.0, 1.0, "a difference of accuracies is 0 to 1")?;
        }
        if self.transition_low.range[1] >= self.transition_high.range[0] {
            return Err((
                "transition_low".into(),
                format!(
                    "its range must lie below transition_high's (from {})",
                    self.transition_high.range[0]
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configured() -> Thresholds {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/pipeline.toml")).unwrap();
        let v: toml::Value = toml::from_str(&text).unwrap();
        v["claims"].clone().try_into().unwrap()
    }

    #[test]
    fn the_configured_thresholds_pass_their_checks_and_can_be_moved() {
        let t = configured();
        t.check().unwrap();
        assert_eq!(t.keys().len(), 24, "{:?}", t.keys());
        let moved = t.with("last_layer_perplexity_max", 2.5);
        assert_eq!(moved.last_layer_perplexity_max.value, 2.5);
        assert_eq!(
            moved.last_layer_perplexity_max.range,
            t.last_layer_perplexity_max.range
        );
        assert_eq!(moved.transition_low, t.transition_low);
    }

    #[test]
    fn a_value_outside_its_range_or_a_bad_fraction_is_named() {
        let mut t = configured();
        t.degrade_max = Threshold {
            value: 0.5,
            range: [0.0, 0.2],
        };
        assert_eq!(t.check().unwrap_err().0, "degrade_max.value");
        let mut t = configured();
        t.transition_high.range = [0.3, 1.2];
        assert_eq!(t.check().unwrap_err().0, "transition_high");
        let mut t = configured();
        t.anomaly_min.range = [0.2, 0.1];
        assert_eq!(t.check().unwrap_err().0, "anomaly_min.range");
        let mut t = configured();
        t.transition_low = Threshold {
            value: 0.4,
            range: [0.1, 0.5],
        };
        assert_eq!(t.check().unwrap_err().0, "transition_low");
    }
}
