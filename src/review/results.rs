//! The files in a report's `results/` folder, written by the report stage and read by
//! `repro diff`: `params.json` (the effective configuration as dotted keys), `claims.json`
//! (every claim with its rows), `metrics.csv` (every network, layer, system, split and
//! metric of the best snapshots over all classes, mean over seeds), and, to recompute any
//! verdict, `metrics_per_seed.csv` (the same for every snapshot, one line per seed) and
//! `node_shares_per_seed.csv` (the shares of selective and of undecided nodes per layer).

use crate::claims::ClaimData;
use crate::results::{MetricRow, NetKey};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub const DIR: &str = "results";
pub const PARAMS: &str = "params.json";
pub const CLAIMS: &str = "claims.json";
pub const METRICS: &str = "metrics.csv";
pub const METRICS_PER_SEED: &str = "metrics_per_seed.csv";
pub const NODES_PER_SEED: &str = "node_shares_per_seed.csv";
pub const TRAINING: &str = "training.csv";

/// A configuration's tables as `{"train.lr": 0.001, ...}`; arrays stay whole values.
pub fn flatten(tables: &Value) -> BTreeMap<String, Value> {
    fn walk(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            other => {
                out.insert(prefix.to_string(), other.clone());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", tables, &mut out);
    out
}

/// How the metric summary names a network: dataset, shape, activation-loss and optimiser
/// (its training label is a column of its own).
pub fn network_label(n: &NetKey) -> String {
    format!(
        "{} {} {}-{} {}",
        n.dataset,
        n.shape(),
        n.activation.name(),
        n.loss.name(),
        n.optimizer.name()
    )
}

/// `metrics.csv`: one line per network, training label, layer, system, split and metric of
/// the best snapshots (all classes), the mean over seeds; sorted.
pub fn metrics_csv(rows: &[MetricRow]) -> String {
    type Key<'a> = (String, &'a str, usize, &'a str, &'a str, &'a str);
    let mut sums: BTreeMap<Key, (f64, usize)> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.snapshot == "best" && r.class < 0) {
        let e = sums
            .entry((
                network_label(&r.net),
                r.net.training.as_str(),
                r.layer,
                r.system.as_str(),
                r.split.as_str(),
                r.metric.as_str(),
            ))
            .or_insert((0.0, 0));
        e.0 += r.value;
        e.1 += 1;
    }
    let mut out = String::from("network,training,layer,system,split,metric,value\n");
    for ((net, training, layer, system, split, metric), (sum, n)) in sums {
        // The training label holds commas (the stopping rule): quoted.
        out.push_str(&format!(
            "{net},\"{}\",{layer},{system},{split},{metric},{}\n",
            training.replace('"', "\"\""),
            sum / n as f64
        ));
    }
    out
}

/// `metrics_per_seed.csv`: one line per network, training label, seed, snapshot, layer,
/// system, split and metric (all classes); sorted. Every claim reads only these values
/// (and the node shares), so each verdict can be recomputed from this file.
pub fn metrics_per_seed_csv(rows: &[MetricRow]) -> String {
    let mut lines: Vec<String> = rows
        .iter()
        .filter(|r| r.class < 0)
        .map(|r| {
            format!(
                "{},\"{}\",{},{},{},{},{},{},{}\n",
                network_label(&r.net),
                r.net.training.replace('"', "\"\""),
                r.seed,
                r.snapshot,
                r.layer,
                r.system,
                r.split,
                r.metric,
                r.value
            )
        })
        .collect();
    lines.sort();
    let mut out = String::from("network,training,seed,snapshot,layer,system,split,metric,value\n");
    out.extend(lines);
    out
}

/// `node_shares_per_seed.csv`: per network, seed, snapshot and hidden layer, the shares of
/// class-selective and of undecided ("mixed") nodes at the configured selectivity level.
pub fn node_shares_csv(data: &ClaimData, level: f64) -> String {
    let mut out = String::from(
        "network,training,seed,snapshot,layer,nodes,selective_share,mixed_share,selective_fraction\n",
    );
    for (net, seed, snapshot, layer, counts) in data.node_counts(level) {
        out.push_str(&format!(
            "{},\"{}\",{seed},{snapshot},{layer},{},{},{},{level}\n",
            network_label(net),
            net.training.replace('"', "\"\""),
            counts.nodes,
            counts.selective as f64 / counts.nodes as f64,
            counts.mixed as f64 / counts.nodes as f64,
        ));
    }
    out
}

/// `training.csv`: one line per trained network (train unit), from its `network.json`:
/// the settings that decide training, how it ended and why, the epochs where the
/// training loss rose, and the training loss and accuracy at the kept (best) epoch and at
/// the stop, so the protocol can be audited without the cache. Sorted by unit.
pub fn training_csv(networks: &[(String, Value)]) -> String {
    let mut out = String::from(
        "unit,dataset,depth,width,activation,loss,optimizer,lr,seed,max_epochs,epochs_run,stop_epoch,stopped_by_rule,stop_reason,unstable_epochs,best_epoch,best_val_acc,test_acc,train_loss_best,train_acc_best,train_loss_stop,train_acc_stop\n",
    );
    let mut sorted: Vec<&(String, Value)> = networks.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let quote = |v: &Value| {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        format!("\"{}\"", text.replace('"', "\"\""))
    };
    let plain = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    for (unit, n) in sorted {
        let p = &n["params"];
        let unstable = n["unstable_epochs"]
            .as_array()
            .map(|a| a.iter().map(plain).collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        let fields = [
            quote(&Value::String(unit.clone())),
            plain(&p["dataset"]),
            plain(&p["depth"]),
            plain(&p["width"]),
            plain(&p["activation"]),
            plain(&p["loss"]),
            plain(&p["optimizer"]),
            plain(if n["lr_used"].is_null() {
                &p["lr"]
            } else {
                &n["lr_used"]
            }),
            plain(&p["seed"]),
            plain(&p["max_epochs"]),
            plain(&n["epochs_run"]),
            plain(&n["stop_epoch"]),
            plain(&n["stopped_by_rule"]),
            quote(&n["stop_reason"]),
            quote(&Value::String(unstable)),
            plain(&n["best_epoch"]),
            plain(&n["best_val_acc"]),
            plain(&n["test_acc"]),
            plain(&n["at_best"]["train_loss"]),
            plain(&n["at_best"]["train_acc"]),
            plain(&n["at_stop"]["train_loss"]),
            plain(&n["at_stop"]["train_acc"]),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// `params.json`: the flattened tables as one JSON object.
pub fn params_json(tables: &Value) -> String {
    let map: Map<String, Value> = flatten(tables).into_iter().collect();
    serde_json::to_string_pretty(&Value::Object(map)).expect("serialisable")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_flatten_to_dotted_keys() {
        let t = serde_json::json!({"train": {"lr": 0.001, "stop": {"rule": "converged"}, "seeds": [1, 2]}});
        let flat = flatten(&t);
        assert_eq!(flat["train.lr"], 0.001);
        assert_eq!(flat["train.stop.rule"], "converged");
        assert_eq!(flat["train.seeds"], serde_json::json!([1, 2]));
        assert_eq!(flat.len(), 3);
    }
}
