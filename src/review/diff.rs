//! What changed between two reports (`repro diff`): the parameters that differ key by key,
//! the claims whose verdict or measured value changed, the metrics that moved by more than a
//! tolerance (largest change first), and the figures whose data changed. Reads only the two
//! report folders (their `results/` files and figure CSVs).

use super::results::{CLAIMS, DIR, METRICS, PARAMS};
use crate::engine::hash::sha256_hex;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The default tolerance: a metric counts as moved when it changes by more than this
/// fraction of its value.
pub const DEFAULT_TOLERANCE: f64 = 0.001;

#[derive(Debug, Error)]
pub enum DiffError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamChange {
    pub key: String,
    /// None: the key is absent on that side.
    pub old: Option<Value>,
    pub new: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClaimChange {
    pub claim: String,
    pub scope: String,
    pub old_verdict: Option<String>,
    pub new_verdict: Option<String>,
    pub old_measured: Option<String>,
    pub new_measured: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricChange {
    pub network: String,
    pub layer: i64,
    pub system: String,
    pub split: String,
    pub metric: String,
    pub old: Option<f64>,
    pub new: Option<f64>,
}

impl MetricChange {
    /// The size of the change relative to the old value, so that accuracies and
    /// perplexities (of very different scales) sort together; infinite for a metric
    /// present on one side only.
    pub fn size(&self) -> f64 {
        match (self.old, self.new) {
            (Some(a), Some(b)) => (b - a).abs() / a.abs().max(1e-12),
            _ => f64::INFINITY,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportDiff {
    pub params: Vec<ParamChange>,
    pub claims: Vec<ClaimChange>,
    pub metrics: Vec<MetricChange>,
    pub figures: Vec<String>,
    pub tolerance: f64,
}

fn read(path: &Path) -> Result<String, DiffError> {
    std::fs::read_to_string(path).map_err(|source| DiffError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn params(dir: &Path) -> Result<BTreeMap<String, Value>, DiffError> {
    let path = dir.join(DIR).join(PARAMS);
    let v: BTreeMap<String, Value> =
        serde_json::from_str(&read(&path)?).map_err(|e| DiffError::Format {
            path,
            message: e.to_string(),
        })?;
    Ok(v)
}

/// (claim id, scope) -> (verdict, measured).
pub(crate) type ClaimRows = BTreeMap<(String, String), (String, String)>;

/// Every row of every claim, plus each claim's overall verdict under scope "overall".
pub(crate) fn claims(dir: &Path) -> Result<ClaimRows, DiffError> {
    let path = dir.join(DIR).join(CLAIMS);
    let v: Value = serde_json::from_str(&read(&path)?).map_err(|e| DiffError::Format {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let mut out = BTreeMap::new();
    for c in v.as_array().into_iter().flatten() {
        let id = c["id"].as_str().unwrap_or_default().to_string();
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        out.insert(
            (id.clone(), "overall".into()),
            (text(&c["verdict_text"]), String::new()),
        );
        for r in c["rows"].as_array().into_iter().flatten() {
            out.insert(
                (id.clone(), text(&r["scope"])),
                (text(&r["verdict_text"]), text(&r["measured"])),
            );
        }
    }
    Ok(out)
}

/// (network, training, layer, system, split, metric).
pub(crate) type MetricKey = (String, String, i64, String, String, String);

pub(crate) fn metrics(dir: &Path) -> Result<BTreeMap<MetricKey, f64>, DiffError> {
    let path = dir.join(DIR).join(METRICS);
    let text = read(&path)?;
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        // The training label is quoted (it holds commas); the other fields are plain.
        let bad = || DiffError::Format {
            path: path.clone(),
            message: format!(
                "line {}: not `network,\"training\",layer,system,split,metric,value`",
                i + 1
            ),
        };
        let (network, rest) = line.split_once(",\"").ok_or_else(bad)?;
        let end = rest.find("\",").ok_or_else(bad)?;
        let training = rest[..end].replace("\"\"", "\"");
        let f: Vec<&str> = rest[end + 2..].split(',').collect();
        if f.len() != 5 {
            return Err(bad());
        }
        let layer = f[0].parse().map_err(|_| bad())?;
        let value = f[4].parse().map_err(|_| bad())?;
        out.insert(
            (
                network.to_string(),
                training,
                layer,
                f[1].into(),
                f[2].into(),
                f[3].into(),
            ),
            value,
        );
    }
    Ok(out)
}

/// Drops the training label from the keys of networks trained one way on each side, so
/// that a changed training setting (the learning rate, the stopping rule) compares a
/// network with itself; networks trained several ways in one report keep their labels.
fn match_networks(
    a: BTreeMap<MetricKey, f64>,
    b: BTreeMap<MetricKey, f64>,
) -> (BTreeMap<MetricKey, f64>, BTreeMap<MetricKey, f64>) {
    let trainings = |m: &BTreeMap<MetricKey, f64>| {
        let mut t: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for k in m.keys() {
            t.entry(k.0.clone()).or_default().insert(k.1.clone());
        }
        t
    };
    let (ta, tb) = (trainings(&a), trainings(&b));
    let single = |net: &str| {
        ta.get(net).is_some_and(|s| s.len() == 1) && tb.get(net).is_some_and(|s| s.len() == 1)
    };
    let strip = |m: BTreeMap<MetricKey, f64>| {
        m.into_iter()
            .map(|(mut k, v)| {
                if single(&k.0) {
                    k.1.clear();
                }
                (k, v)
            })
            .collect()
    };
    (strip(a), strip(b))
}

/// The ids of figures whose CSV differs (or exists on one side only).
fn figures(old: &Path, new: &Path) -> Vec<String> {
    let digests = |dir: &Path| -> BTreeMap<String, String> {
        std::fs::read_dir(dir.join("figures"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let id = name.strip_suffix(".csv")?.to_string();
                Some((id, sha256_hex(&std::fs::read(e.path()).ok()?)))
            })
            .collect()
    };
    let (a, b) = (digests(old), digests(new));
    changed(&a, &b).into_iter().cloned().collect()
}

/// The keys of either map whose values differ (or that one map lacks), in order.
fn changed<'a, K: Ord, V: PartialEq>(a: &'a BTreeMap<K, V>, b: &'a BTreeMap<K, V>) -> Vec<&'a K> {
    a.keys()
        .chain(b.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .collect()
}

/// Compares report folders `old` and `new`; metrics count as moved when they changed by
/// more than `tolerance`, a fraction of their old value.
pub fn diff(old: &Path, new: &Path, tolerance: f64) -> Result<ReportDiff, DiffError> {
    let (pa, pb) = (params(old)?, params(new)?);
    let params = changed(&pa, &pb)
        .into_iter()
        .map(|k| ParamChange {
            key: k.clone(),
            old: pa.get(k).cloned(),
            new: pb.get(k).cloned(),
        })
        .collect();
    let (ca, cb) = (claims(old)?, claims(new)?);
    let claims = changed(&ca, &cb)
        .into_iter()
        .map(|k| ClaimChange {
            claim: k.0.clone(),
            scope: k.1.clone(),
            old_verdict: ca.get(k).map(|v| v.0.clone()),
            new_verdict: cb.get(k).map(|v| v.0.clone()),
            old_measured: ca.get(k).map(|v| v.1.clone()),
            new_measured: cb.get(k).map(|v| v.1.clone()),
        })
        .collect();
    let (ma, mb) = match_networks(metrics(old)?, metrics(new)?);
    let mut metrics: Vec<MetricChange> = changed(&ma, &mb)
        .into_iter()
        .map(|k| MetricChange {
            network: if k.1.is_empty() {
                k.0.clone()
            } else {
                format!("{} [{}]", k.0, k.1)
            },
            layer: k.2,
            system: k.3.clone(),
            split: k.4.clone(),
            metric: k.5.clone(),
            old: ma.get(k).copied(),
            new: mb.get(k).copied(),
        })
        .filter(|m| m.size() > tolerance)
        .collect();
    metrics.sort_by(|a, b| b.size().total_cmp(&a.size()));
    Ok(ReportDiff {
        params,
        claims,
        metrics,
        figures: figures(old, new),
        tolerance,
    })
}

fn show(v: &Option<Value>) -> String {
    v.as_ref().map_or("(unset)".into(), Value::to_string)
}

fn num(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.4}"))
}

impl ReportDiff {
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
            && self.claims.is_empty()
            && self.metrics.is_empty()
            && self.figures.is_empty()
    }

    /// Plain text for a terminal; at most `limit` metrics.
    pub fn text(&self, limit: usize) -> String {
        let mut s = String::new();
        s.push_str(&format!("parameters ({} changed)\n", self.params.len()));
        for p in &self.params {
            s.push_str(&format!(
                "  {}: {} -> {}\n",
                p.key,
                show(&p.old),
                show(&p.new)
            ));
        }
        s.push_str(&format!("claims ({} changed)\n", self.claims.len()));
        for c in &self.claims {
            let v = |x: &Option<String>| x.clone().unwrap_or_else(|| "(absent)".into());
            s.push_str(&format!(
                "  {} [{}]: {} -> {}\n",
                c.claim,
                c.scope,
                v(&c.old_verdict),
                v(&c.new_verdict)
            ));
            if c.old_measured != c.new_measured && c.scope != "overall" {
                s.push_str(&format!(
                    "      was: {}\n      now: {}\n",
                    v(&c.old_measured),
                    v(&c.new_measured)
                ));
            }
        }
        s.push_str(&format!(
            "metrics ({} moved by more than {}% of their value, largest change first)\n",
            self.metrics.len(),
            100.0 * self.tolerance
        ));
        for m in self.metrics.iter().take(limit) {
            s.push_str(&format!(
                "  {} layer {} {} {} {}: {} -> {} ({:+.1}%)\n",
                m.network,
                m.layer,
                m.system,
                m.split,
                m.metric,
                num(m.old),
                num(m.new),
                match (m.old, m.new) {
                    (Some(a), Some(b)) => 100.0 * (b - a) / a.abs().max(1e-12),
                    _ => f64::NAN,
                }
            ));
        }
        if self.metrics.len() > limit {
            s.push_str(&format!("  ... and {} more\n", self.metrics.len() - limit));
        }
        s.push_str(&format!(
            "figures with changed data ({})\n",
            self.figures.len()
        ));
        for f in &self.figures {
            s.push_str(&format!("  {f}\n"));
        }
        s
    }

    /// Markdown, for a pull request or a lab notebook; at most `limit` metrics.
    pub fn markdown(&self, limit: usize) -> String {
        let cell = |x: String| x.replace('|', "\\|");
        let mut s = String::from("### Parameters\n\n| key | old | new |\n|---|---|---|\n");
        for p in &self.params {
            s.push_str(&format!(
                "| `{}` | {} | {} |\n",
                p.key,
                cell(show(&p.old)),
                cell(show(&p.new))
            ));
        }
        s.push_str("\n### Claims\n\n| claim | scope | old | new |\n|---|---|---|---|\n");
        for c in &self.claims {
            let v = |x: &Option<String>| cell(x.clone().unwrap_or_default());
            s.push_str(&format!(
                "| {} | {} | {} {} | {} {} |\n",
                c.claim,
                c.scope,
                v(&c.old_verdict),
                v(&c.old_measured),
                v(&c.new_verdict),
                v(&c.new_measured)
            ));
        }
        s.push_str(&format!(
            "\n### Metrics (moved by more than {}% of their value)\n\n| network | layer | system | split | metric | old | new |\n|---|---|---|---|---|---|---|\n",
            100.0 * self.tolerance
        ));
        for m in self.metrics.iter().take(limit) {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                cell(m.network.clone()),
                m.layer,
                m.system,
                m.split,
                m.metric,
                num(m.old),
                num(m.new)
            ));
        }
        s.push_str("\n### Figures with changed data\n\n");
        for f in &self.figures {
            s.push_str(&format!("- {f}\n"));
        }
        s
    }
}
