//! The `[train]` table expanded into networks: `[train]`'s settings over the paper's
//! defaults, each `[[train.sweep]]`'s over those, checked key by key, then crossed over
//! datasets, depths, widths and seeds. A network named by several sweeps is one, with the
//! union of their snapshot schedules.

use crate::data::datasets;
use crate::engine::hash::sha256_hex;
use crate::engine::stage::{ConfigIssue, UnitSpec};
use crate::model::{Activation, Loss, NetworkParams, Optimizer, Rate, Stop, TrainSettings};
use serde::Deserialize;
use serde_json::{json, Value};

/// Settings that `[train]` gives every network and a sweep may override.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Knobs {
    activation: Option<Activation>,
    loss: Option<Loss>,
    optimizer: Option<Optimizer>,
    lr: Option<Rate>,
    batch_size: Option<usize>,
    max_epochs: Option<usize>,
    stop: Option<Stop>,
    seeds: Option<Vec<u64>>,
    /// Train on the first N samples of the `train` split only (0: all of it).
    train_subset: Option<usize>,
    snapshot_epochs: Option<Vec<usize>>,
    snapshot_steps: Option<Vec<usize>>,
}

impl Knobs {
    /// `self` with `over`'s settings taking precedence.
    fn then(&self, over: &Knobs) -> Knobs {
        Knobs {
            activation: over.activation.or(self.activation),
            loss: over.loss.or(self.loss),
            optimizer: over.optimizer.or(self.optimizer),
            lr: over.lr.or(self.lr),
            batch_size: over.batch_size.or(self.batch_size),
            max_epochs: over.max_epochs.or(self.max_epochs),
            stop: over.stop.clone().or_else(|| self.stop.clone()),
            seeds: over.seeds.clone().or_else(|| self.seeds.clone()),
            train_subset: over.train_subset.or(self.train_subset),
            snapshot_epochs: over
                .snapshot_epochs
                .clone()
                .or_else(|| self.snapshot_epochs.clone()),
            snapshot_steps: over
                .snapshot_steps
                .clone()
                .or_else(|| self.snapshot_steps.clone()),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
struct SweepHead {
    name: String,
    datasets: Vec<String>,
    depths: Vec<usize>,
    widths: Vec<usize>,
}

/// The readable part of a network's unit id; the optimiser is named where it is not the
/// paper's (Adam).
fn base_id(n: &NetworkParams) -> String {
    let optimizer = match n.settings.optimizer {
        Optimizer::Adam => String::new(),
        other => format!("-{}", other.name()),
    };
    format!(
        "{}-{}x{}-{}-{}{optimizer}-s{}",
        n.dataset,
        n.depth,
        n.width,
        n.activation.name(),
        n.settings.loss.name(),
        n.settings.seed
    )
}

/// The parameters that make two networks the same training run (snapshots aside).
fn identity(n: &NetworkParams) -> Value {
    let mut v = serde_json::to_value(n).expect("serialisable");
    v.as_object_mut().unwrap().remove("snapshot_epochs");
    v.as_object_mut().unwrap().remove("snapshot_steps");
    v
}

/// Splits an object into its `keys` (deserialised as `H`) and the rest (as [`Knobs`]),
/// naming any bad key under `prefix`.
fn split_table<H: serde::de::DeserializeOwned>(
    value: &Value,
    keys: &[&str],
    prefix: &str,
) -> Result<(Option<H>, Knobs), ConfigIssue> {
    let mut rest = value.as_object().cloned().unwrap_or_default();
    let mut head = serde_json::Map::new();
    for k in keys {
        if let Some(v) = rest.remove(*k) {
            head.insert(k.to_string(), v);
        }
    }
    let at = |e: serde_path_to_error::Error<serde_json::Error>| {
        let path = e.path().to_string();
        let path = if path == "." {
            prefix.to_string()
        } else {
            format!("{prefix}.{path}")
        };
        ConfigIssue::new(path, e.inner().to_string())
    };
    let knobs: Knobs = serde_path_to_error::deserialize(Value::Object(rest)).map_err(at)?;
    let head = if head.is_empty() {
        None
    } else {
        Some(serde_path_to_error::deserialize(Value::Object(head)).map_err(at)?)
    };
    Ok((head, knobs))
}

/// Expands the `[train]` table into networks, merging duplicates across sweeps.
pub fn expand_networks(
    tables: &Value,
    data_units: &[UnitSpec],
) -> Result<Vec<(String, NetworkParams)>, ConfigIssue> {
    let (defaults, sweeps) = read_train_table(tables)?;
    let base = paper_defaults().then(&defaults);
    // Networks in first-seen order; one named again gets the new snapshots.
    let mut networks: Vec<NetworkParams> = Vec::new();
    for (i, sweep) in sweeps.iter().enumerate() {
        let at = format!("train.sweep[{i}]");
        let sweep = Sweep::checked(sweep, &base, &at)?;
        for (j, dataset) in sweep.head.datasets.iter().enumerate() {
            sweep.check_dataset(dataset, data_units, &format!("{at}.datasets[{j}]"), &at)?;
            for net in sweep.networks_on(dataset) {
                match networks.iter_mut().find(|n| identity(n) == identity(&net)) {
                    Some(existing) => {
                        let (into, from) = (&mut existing.settings, &net.settings);
                        into.snapshot_epochs.extend(&from.snapshot_epochs);
                        into.snapshot_steps.extend(&from.snapshot_steps);
                    }
                    None => networks.push(net),
                }
            }
        }
    }
    for n in &mut networks {
        let s = &mut n.settings;
        s.snapshot_epochs.sort_unstable();
        s.snapshot_epochs.dedup();
        s.snapshot_steps.sort_unstable();
        s.snapshot_steps.dedup();
    }
    Ok(with_ids(&networks))
}

/// `[train]`'s own settings and its sweeps.
fn read_train_table(tables: &Value) -> Result<(Knobs, Vec<Value>), ConfigIssue> {
    let train = tables.get("train").cloned().unwrap_or(json!({}));
    // `sweep` and `lr_selection` (the lr stage's grid) are not settings of a network.
    let (_, defaults): (Option<Value>, Knobs) =
        split_table(&train, &["sweep", "lr_selection"], "train")?;
    let sweeps = match train.get("sweep") {
        None => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => {
            return Err(ConfigIssue::new(
                "train.sweep",
                "must be an array of tables ([[train.sweep]])",
            ))
        }
    };
    Ok((defaults, sweeps))
}

/// What a network gets when neither `[train]` nor its sweep says otherwise.
fn paper_defaults() -> Knobs {
    Knobs {
        activation: Some(Activation::Relu),
        loss: Some(Loss::Mse),
        optimizer: Some(Optimizer::Adam),
        lr: Some(Rate::Fixed(1e-3)),
        batch_size: Some(128),
        max_epochs: Some(50),
        stop: Some(Stop::Epochs),
        seeds: Some(vec![1]),
        train_subset: Some(0),
        snapshot_epochs: Some(Vec::new()),
        snapshot_steps: Some(Vec::new()),
    }
}

/// One `[[train.sweep]]` with every setting resolved and checked.
struct Sweep {
    head: SweepHead,
    knobs: Knobs,
    lr: Rate,
    max_epochs: usize,
    stop: Stop,
    seeds: Vec<u64>,
    snapshot_epochs: Vec<usize>,
    snapshot_steps: Vec<usize>,
}

impl Sweep {
    /// Reads sweep `value` (at config path `at`) over `base`; names the first bad key.
    fn checked(value: &Value, base: &Knobs, at: &str) -> Result<Sweep, ConfigIssue> {
        let (head, over): (Option<SweepHead>, Knobs) =
            split_table(value, &["name", "datasets", "depths", "widths"], at)?;
        let head = head.ok_or_else(|| {
            ConfigIssue::new(
                at,
                "a sweep needs `name`, `datasets`, `depths` and `widths`",
            )
        })?;
        let k = base.then(&over);
        let check = |ok: bool, key: &str, msg: &str| {
            if ok {
                Ok(())
            } else {
                Err(ConfigIssue::new(format!("{at}.{key}"), msg))
            }
        };
        check(!head.name.is_empty(), "name", "must not be empty")?;
        check(
            !head.depths.is_empty() && head.depths.iter().all(|&d| d >= 1),
            "depths",
            "every depth must be at least 1",
        )?;
        check(
            !head.widths.is_empty() && head.widths.iter().all(|&w| w >= 1),
            "widths",
            "every width must be at least 1",
        )?;
        let lr = k.lr.unwrap();
        check(
            lr.fixed().is_none_or(|r| r.is_finite() && r > 0.0),
            "lr",
            "must be a positive number, or \"select\" (the lr stage chooses)",
        )?;
        check(
            k.batch_size.unwrap() >= 1,
            "batch_size",
            "must be at least 1",
        )?;
        let max_epochs = k.max_epochs.unwrap();
        check(max_epochs >= 1, "max_epochs", "must be at least 1")?;
        let stop = k.stop.clone().unwrap();
        match stop {
            Stop::Epochs => {}
            Stop::Patience { patience } => {
                check(patience >= 1, "stop.patience", "must be at least 1")?
            }
            Stop::Converged { window, tolerance } => {
                check(window >= 1, "stop.window", "must be at least 1")?;
                check(
                    tolerance.is_finite() && tolerance > 0.0 && tolerance < 1.0,
                    "stop.tolerance",
                    "must be a fraction between 0 and 1 (0.01 is 1%)",
                )?;
            }
        }
        let seeds = k.seeds.clone().unwrap();
        check(!seeds.is_empty(), "seeds", "list at least one seed")?;
        let mut snapshot_epochs = k.snapshot_epochs.clone().unwrap();
        if let Some(&e) = snapshot_epochs.iter().find(|&&e| e > max_epochs) {
            return Err(ConfigIssue::new(
                format!("{at}.snapshot_epochs"),
                format!("epoch {e} is beyond max_epochs = {max_epochs}"),
            ));
        }
        snapshot_epochs.retain(|&e| e != 0); // epoch 0 is the `init` snapshot, always saved
        let snapshot_steps = k.snapshot_steps.clone().unwrap();
        check(
            snapshot_steps.iter().all(|&s| s >= 1),
            "snapshot_steps",
            "steps count from 1",
        )?;
        Ok(Sweep {
            head,
            knobs: k,
            lr,
            max_epochs,
            stop,
            seeds,
            snapshot_epochs,
            snapshot_steps,
        })
    }

    /// Checks the sweep against `dataset` (named at config path `named_at`): the data
    /// stage prepares it, and it has the samples and steps the sweep asks for.
    fn check_dataset(
        &self,
        dataset: &str,
        data_units: &[UnitSpec],
        named_at: &str,
        at: &str,
    ) -> Result<(), ConfigIssue> {
        let k = &self.knobs;
        let Some(data_unit) = data_units.iter().find(|u| u.id == dataset) else {
            return Err(ConfigIssue::new(
                named_at,
                format!("dataset `{dataset}` is not prepared by the data stage (data.datasets)"),
            ));
        };
        let available = datasets::builtin_train_images(dataset).map(|n| {
            n.saturating_sub(data_unit.params["val_size"].as_u64().unwrap_or(10_000) as usize)
        });
        if let (Some(want), Some(n)) = (k.train_subset.filter(|&s| s > 0), available) {
            if want > n {
                return Err(ConfigIssue::new(
                    format!("{at}.train_subset"),
                    format!("{want} is more than the {n} training samples of `{dataset}`"),
                ));
            }
        }
        let train_samples = k.train_subset.filter(|&s| s > 0).or(available);
        if let Some(n) = train_samples {
            let steps = n.div_ceil(k.batch_size.unwrap());
            if let Some(&s) = self.snapshot_steps.iter().find(|&&s| s > steps) {
                return Err(ConfigIssue::new(
                    format!("{at}.snapshot_steps"),
                    format!(
                        "step {s} is beyond the first epoch ({steps} steps of {} samples)",
                        k.batch_size.unwrap()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The sweep's networks on `dataset`: every depth x width x seed.
    fn networks_on(&self, dataset: &str) -> Vec<NetworkParams> {
        let k = &self.knobs;
        let mut out = Vec::new();
        for &depth in &self.head.depths {
            for &width in &self.head.widths {
                for &seed in &self.seeds {
                    out.push(NetworkParams {
                        dataset: dataset.to_string(),
                        depth,
                        width,
                        activation: k.activation.unwrap(),
                        train_subset: k.train_subset.unwrap(),
                        settings: TrainSettings {
                            loss: k.loss.unwrap(),
                            optimizer: k.optimizer.unwrap(),
                            lr: self.lr,
                            batch_size: k.batch_size.unwrap(),
                            max_epochs: self.max_epochs,
                            stop: self.stop.clone(),
                            seed,
                            snapshot_epochs: self.snapshot_epochs.clone(),
                            snapshot_steps: self.snapshot_steps.clone(),
                        },
                    });
                }
            }
        }
        out
    }
}

/// Readable ids; networks that differ only in settings outside the id get a short hash.
fn with_ids(networks: &[NetworkParams]) -> Vec<(String, NetworkParams)> {
    networks
        .iter()
        .map(|n| {
            let base = base_id(n);
            let clash = networks.iter().filter(|m| base_id(m) == base).count() > 1;
            let id = if clash {
                format!(
                    "{base}-{}",
                    &sha256_hex(identity(n).to_string().as_bytes())[..8]
                )
            } else {
                base
            };
            (id, n.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_one_flat_object_that_round_trips() {
        let net = NetworkParams {
            dataset: "mnist".into(),
            depth: 2,
            width: 8,
            activation: Activation::Relu,
            train_subset: 0,
            settings: TrainSettings {
                loss: Loss::Mse,
                optimizer: Optimizer::Adam,
                lr: Rate::Fixed(1e-3),
                batch_size: 128,
                max_epochs: 5,
                stop: Stop::Converged {
                    window: 3,
                    tolerance: 0.01,
                },
                seed: 1,
                snapshot_epochs: vec![1],
                snapshot_steps: vec![10],
            },
        };
        let v = serde_json::to_value(&net).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let flat = "activation batch_size dataset depth loss lr max_epochs optimizer seed snapshot_epochs snapshot_steps stop train_subset width";
        assert_eq!(keys.join(" "), flat);
        assert_eq!(serde_json::from_value::<NetworkParams>(v).unwrap(), net);
        let identity = identity(&net);
        assert!(identity.get("snapshot_epochs").is_none() && identity.get("seed").is_some());
        assert_eq!(base_id(&net), "mnist-2x8-relu-mse-s1");
        let sgd = NetworkParams {
            settings: TrainSettings {
                optimizer: Optimizer::Sgd,
                ..net.settings.clone()
            },
            ..net
        };
        assert_eq!(base_id(&sgd), "mnist-2x8-relu-mse-sgd-s1");
    }
}
