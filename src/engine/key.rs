//! Unit keys: a SHA-256 over everything that determines a unit's outputs.

use super::hash::sha256_hex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// Identifies one unit of one stage, e.g. `data/mnist`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UnitRef {
    pub stage: String,
    pub id: String,
}

impl UnitRef {
    pub fn new(stage: impl Into<String>, id: impl Into<String>) -> Self {
        UnitRef {
            stage: stage.into(),
            id: id.into(),
        }
    }
}

impl fmt::Display for UnitRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.stage, self.id)
    }
}

/// The ingredients of a key. They are also stored in the manifest so that a later plan
/// can say which ingredient changed when a unit's key differs from its last run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyIngredients {
    pub stage: String,
    pub unit: String,
    pub version: u32,
    /// Fingerprint of the stage's own source code (taken at build time for built-in stages).
    pub code: String,
    /// Exactly the parameters the unit reads, in canonical form (sorted keys).
    pub params: Value,
    /// Keys of the inputs, by unit reference (`stage/id`).
    pub inputs: BTreeMap<String, String>,
}

impl KeyIngredients {
    /// SHA-256 over a canonical JSON rendering. serde_json's default map is a BTreeMap, so
    /// object keys are sorted and the same parameters always give the same bytes.
    pub fn key(&self) -> String {
        let canonical = serde_json::json!({
            "stage": self.stage,
            "unit": self.unit,
            "version": self.version,
            "code": self.code,
            "params": self.params,
            "inputs": self.inputs,
        });
        sha256_hex(canonical.to_string().as_bytes())
    }
}

/// Why a unit must run, worked out by comparing its ingredients with its last run's.
#[derive(Clone, Debug, PartialEq)]
pub enum Reason {
    /// No entry has ever been recorded for this unit.
    NeverBuilt,
    /// The last entry for this unit is gone (deleted or garbage-collected).
    EntryMissing,
    Forced,
    VersionChanged {
        from: u32,
        to: u32,
    },
    CodeChanged,
    ParamChanged {
        path: String,
        from: String,
        to: String,
    },
    InputChanged {
        input: String,
    },
    InputAdded {
        input: String,
    },
    InputRemoved {
        input: String,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::NeverBuilt => write!(f, "missing (never built)"),
            Reason::EntryMissing => write!(f, "missing (cache entry deleted)"),
            Reason::Forced => write!(f, "forced"),
            Reason::VersionChanged { from, to } => write!(f, "stage version {from} -> {to}"),
            Reason::CodeChanged => write!(f, "code of the stage changed"),
            Reason::ParamChanged { path, from, to } => {
                write!(f, "parameter {path} changed: {from} -> {to}")
            }
            Reason::InputChanged { input } => write!(f, "input {input} changed"),
            Reason::InputAdded { input } => write!(f, "new input {input}"),
            Reason::InputRemoved { input } => write!(f, "input {input} no longer used"),
        }
    }
}

/// Lists what differs between the last run's ingredients and the current ones.
pub fn explain_change(old: &KeyIngredients, new: &KeyIngredients) -> Vec<Reason> {
    let mut reasons = Vec::new();
    if old.version != new.version {
        reasons.push(Reason::VersionChanged {
            from: old.version,
            to: new.version,
        });
    }
    if old.code != new.code {
        reasons.push(Reason::CodeChanged);
    }
    diff_values("", &old.params, &new.params, &mut reasons);
    for (input, key) in &new.inputs {
        match old.inputs.get(input) {
            None => reasons.push(Reason::InputAdded {
                input: input.clone(),
            }),
            Some(old_key) if old_key != key => reasons.push(Reason::InputChanged {
                input: input.clone(),
            }),
            Some(_) => {}
        }
    }
    for input in old.inputs.keys() {
        if !new.inputs.contains_key(input) {
            reasons.push(Reason::InputRemoved {
                input: input.clone(),
            });
        }
    }
    reasons
}

fn diff_values(path: &str, old: &Value, new: &Value, out: &mut Vec<Reason>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let sub = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff_values(
                    &sub,
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (a, b) if a != b => out.push(Reason::ParamChanged {
            path: if path.is_empty() {
                "(all)".into()
            } else {
                path.into()
            },
            from: render(a),
            to: render(b),
        }),
        _ => {}
    }
}

fn render(v: &Value) -> String {
    match v {
        Value::Null => "(unset)".into(),
        other => {
            let s = other.to_string();
            if s.len() > 60 {
                format!("{}...", &s[..57])
            } else {
                s
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ingredients(params: Value) -> KeyIngredients {
        KeyIngredients {
            stage: "train".into(),
            unit: "u".into(),
            version: 1,
            code: "c".into(),
            params,
            inputs: BTreeMap::from([("data/mnist".to_string(), "k1".to_string())]),
        }
    }

    #[test]
    fn key_ignores_map_insertion_order() {
        let a = ingredients(json!({"a": 1, "b": 2}));
        let b = ingredients(serde_json::from_str(r#"{"b": 2, "a": 1}"#).unwrap());
        assert_eq!(a.key(), b.key());
        assert_eq!(a.key().len(), 64);
    }

    #[test]
    fn every_ingredient_changes_the_key() {
        let base = ingredients(json!({"width": 100}));
        let mut v = base.clone();
        v.version = 2;
        let mut c = base.clone();
        c.code = "d".into();
        let p = ingredients(json!({"width": 120}));
        let mut i = base.clone();
        i.inputs.insert("data/mnist".into(), "k2".into());
        for other in [v, c, p, i] {
            assert_ne!(base.key(), other.key());
        }
    }

    #[test]
    fn explains_a_nested_parameter_change() {
        let old = ingredients(json!({"net": {"width": 100, "depth": 3}}));
        let new = ingredients(json!({"net": {"width": 120, "depth": 3}}));
        assert_eq!(
            explain_change(&old, &new),
            vec![Reason::ParamChanged {
                path: "net.width".into(),
                from: "100".into(),
                to: "120".into()
            }]
        );
    }
}
