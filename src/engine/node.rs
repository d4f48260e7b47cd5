//! A stage as the engine holds it: its declared facts ([`StageMeta`]) and its
//! implementation. Kept out of [`super::stage`], which is every stage's interface (and so
//! in every stage's code fingerprint).

use super::stage::StageImpl;
use std::path::PathBuf;

/// The declared, configuration-independent facts about a stage (from `stages/*.toml`).
#[derive(Clone, Debug)]
pub struct StageMeta {
    pub name: String,
    pub version: u32,
    pub needs: Vec<String>,
    /// Top-level tables of `pipeline.toml` this stage reads; it is shown nothing else.
    pub reads: Vec<String>,
    pub description: String,
    /// Fingerprint of the stage's code; part of every unit key.
    pub code: String,
    /// Folder the stage's outputs are copied to after a run, if any.
    pub publish: Option<PathBuf>,
    /// Outputs may be dropped after use and regenerated on demand.
    pub recomputable: bool,
    /// With `--keep-going`, runs from the inputs that completed when others failed (see
    /// `failed_input`).
    pub partial: bool,
}

/// A stage as the engine holds it: its declaration and its implementation.
pub struct StageNode {
    pub meta: StageMeta,
    pub imp: Box<dyn StageImpl>,
}

/// The stage named `name` among `stages`, which a plan built from them always has.
pub fn stage_named<'a>(stages: &'a [StageNode], name: &str) -> &'a StageNode {
    stages
        .iter()
        .find(|s| s.meta.name == name)
        .expect("planned stage exists")
}
