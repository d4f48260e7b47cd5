//! Which cache entries an entry was made from. A manifest names each input by unit
//! (`stage/id`) and the content digest of the outputs it read; the entry of that unit whose
//! outputs have that digest is the input. Following inputs from a set of roots (the
//! recorded reports) gives everything those results rest on, so `gc` can keep it.

use super::cache::{read_manifest_at, Cache, CacheError};
use super::key::content_digest;
use super::manifest::Manifest;
use std::collections::{BTreeMap, BTreeSet};

/// (stage, key) of one entry.
pub type EntryId = (String, String);

/// Every entry of `cache` with its manifest (entries whose manifest cannot be read are left
/// out: they can be kept by no one's inputs).
pub fn manifests(cache: &Cache) -> Result<BTreeMap<EntryId, Manifest>, CacheError> {
    Ok(cache
        .entries()?
        .into_iter()
        .filter_map(|(stage, key, dir)| read_manifest_at(&dir).ok().map(|m| ((stage, key), m)))
        .collect())
}

/// `roots` and, transitively, every entry they read. Roots missing from the cache are
/// skipped; an input whose entry is gone ends that path.
pub fn with_inputs(
    manifests: &BTreeMap<EntryId, Manifest>,
    roots: impl IntoIterator<Item = EntryId>,
) -> BTreeSet<EntryId> {
    // (unit reference, content digest) -> entries with those outputs.
    let mut by_content: BTreeMap<(String, String), Vec<&EntryId>> = BTreeMap::new();
    for (id, m) in manifests {
        let unit = format!("{}/{}", m.ingredients.stage, m.ingredients.unit);
        let digest = content_digest(
            m.outputs
                .iter()
                .map(|o| (o.path.as_str(), o.sha256.as_str())),
        );
        by_content.entry((unit, digest)).or_default().push(id);
    }
    let mut reached = BTreeSet::new();
    let mut todo: Vec<EntryId> = roots.into_iter().collect();
    while let Some(id) = todo.pop() {
        let Some(m) = manifests.get(&id) else {
            continue;
        };
        if !reached.insert(id) {
            continue;
        }
        for (unit, digest) in &m.ingredients.inputs {
            if let Some(found) = by_content.get(&(unit.clone(), digest.clone())) {
                todo.extend(found.iter().map(|e| (*e).clone()));
            }
        }
    }
    reached
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::key::KeyIngredients;
    use crate::engine::manifest::OutputFile;

    fn manifest(stage: &str, unit: &str, sha: &str, inputs: &[(&str, &str)]) -> Manifest {
        Manifest {
            key: format!("{stage}-{unit}-{sha}"),
            ingredients: KeyIngredients {
                stage: stage.into(),
                unit: unit.into(),
                version: 1,
                code: "c".into(),
                params: serde_json::json!({}),
                inputs: inputs
                    .iter()
                    .map(|(u, d)| (u.to_string(), d.to_string()))
                    .collect(),
            },
            outputs: vec![OutputFile {
                path: "out".into(),
                size: 1,
                sha256: sha.into(),
            }],
            started: String::new(),
            finished: String::new(),
            duration_s: 0.0,
            tool_version: String::new(),
            device: "cpu".into(),
            info: serde_json::Value::Null,
            run_id: None,
            machine: None,
            resources: None,
            adopted: None,
        }
    }

    #[test]
    fn follows_inputs_by_unit_and_content_digest() {
        // Digest of a single output `out` with SHA `x`, written out by hand as the key
        // module defines it: path, NUL, sha, newline.
        let digest =
            |sha: &str| crate::engine::hash::sha256_hex(format!("out\0{sha}\n").as_bytes());
        let mut all = BTreeMap::new();
        let mut add = |m: Manifest| {
            all.insert((m.ingredients.stage.clone(), m.key.clone()), m);
        };
        // Two trainings of the same unit (old code and new), one analysis of each, and a
        // report that read the new one's analysis only.
        add(manifest("train", "n1", "t-old", &[]));
        add(manifest("train", "n1", "t-new", &[]));
        add(manifest(
            "analysis",
            "n1",
            "a-old",
            &[("train/n1", &digest("t-old"))],
        ));
        add(manifest(
            "analysis",
            "n1",
            "a-new",
            &[("train/n1", &digest("t-new"))],
        ));
        add(manifest(
            "report",
            "r",
            "r1",
            &[("analysis/n1", &digest("a-new"))],
        ));
        let kept = with_inputs(&all, [("report".to_string(), "report-r-r1".to_string())]);
        let keys: BTreeSet<&str> = kept.iter().map(|(_, k)| k.as_str()).collect();
        assert_eq!(
            keys,
            BTreeSet::from(["report-r-r1", "analysis-n1-a-new", "train-n1-t-new"])
        );
    }
}
