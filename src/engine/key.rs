//! Unit keys: a SHA-256 over everything that determines a unit's outputs.

use super::hash::sha256_hex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

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
    /// The content digest of each input's outputs (see [`content_digest`]), by unit
    /// reference (`stage/id`): an input rebuilt with the very same bytes leaves this key
    /// unchanged (early cutoff).
    pub inputs: BTreeMap<String, String>,
}

impl KeyIngredients {
    /// SHA-256 over a canonical JSON rendering. serde_json's default map is a BTreeMap, so
    /// object keys are sorted and the same parameters always give the same bytes.
    pub fn key(&self) -> String {
        self.digest(serde_json::json!(self.inputs))
    }

    /// A digest of everything but the inputs' contents (their names stay in): what a unit
    /// is meant to compute, known before its inputs are built. A task handed to another
    /// process carries it, so that a changed configuration or binary is refused.
    pub fn recipe(&self) -> String {
        self.digest(serde_json::json!(self.inputs.keys().collect::<Vec<_>>()))
    }

    /// SHA-256 over the canonical JSON of every ingredient, with `inputs` as given.
    fn digest(&self, inputs: Value) -> String {
        let canonical = serde_json::json!({
            "stage": self.stage,
            "unit": self.unit,
            "version": self.version,
            "code": self.code,
            "params": self.params,
            "inputs": inputs,
        });
        sha256_hex(canonical.to_string().as_bytes())
    }
}

/// What a key's `inputs` hold for an input that has never written outputs (it is built
/// first, so the key is provisional).
pub const UNBUILT: &str = "(not built yet)";

/// The content digest of a unit's outputs: SHA-256 over each output's path and SHA-256, in
/// path order. Two runs that write the same files give the same digest.
pub fn content_digest<'a>(outputs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut sorted: Vec<(&str, &str)> = outputs.into_iter().collect();
    sorted.sort_unstable();
    let mut text = String::new();
    for (path, sha) in sorted {
        text.push_str(path);
        text.push('\0');
        text.push_str(sha);
        text.push('\n');
    }
    sha256_hex(text.as_bytes())
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
    /// An input must be built first and has never written outputs to compare.
    InputUnbuilt {
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
            Reason::InputChanged { input } => write!(f, "input {input} changed its outputs"),
            Reason::InputUnbuilt { input } => write!(f, "input {input} is built first"),
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
            Some(_) if key == UNBUILT => reasons.push(Reason::InputUnbuilt {
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
        other => shorten(&other.to_string(), 60),
    }
}

/// At most `max` characters, cut at a character boundary (never inside a UTF-8 sequence).
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let head: String = s.chars().take(max.saturating_sub(3)).collect();
        format!("{head}...")
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
    fn long_non_ascii_values_are_shortened_between_characters() {
        let old = ingredients(json!({"note": "ä".repeat(100)}));
        let new = ingredients(json!({"note": "ö".repeat(100)}));
        let reasons = explain_change(&old, &new);
        let Reason::ParamChanged { from, to, .. } = &reasons[0] else {
            panic!("{reasons:?}")
        };
        // 57 characters: the opening quote and 56 letters, then the ellipsis.
        assert_eq!(from, &format!("\"{}...", "ä".repeat(56)));
        assert_eq!(to.chars().count(), 60);
    }

    #[test]
    fn content_digest_ignores_listing_order_but_not_content() {
        let a = content_digest([("a.txt", "11"), ("b.txt", "22")]);
        assert_eq!(a, content_digest([("b.txt", "22"), ("a.txt", "11")]));
        assert_ne!(a, content_digest([("a.txt", "11"), ("b.txt", "23")]));
        assert_ne!(a, content_digest([("a.txt", "11"), ("c.txt", "22")]));
        // By hand: SHA-256 of "a.txt\011\nb.txt\022\n".
        assert_eq!(a, sha256_hex(b"a.txt\x0011\nb.txt\x0022\n"));
    }

    #[test]
    fn the_recipe_ignores_input_contents_only() {
        let base = ingredients(json!({"width": 100}));
        let mut other_content = base.clone();
        other_content
            .inputs
            .insert("data/mnist".into(), "k2".into());
        assert_eq!(base.recipe(), other_content.recipe());
        assert_ne!(base.key(), other_content.key());
        let mut other_input = base.clone();
        other_input
            .inputs
            .insert("data/fashion".into(), "k1".into());
        assert_ne!(base.recipe(), other_input.recipe());
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
