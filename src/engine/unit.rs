//! A unit's name. Kept apart from the key computation (`key.rs`), which stages never call:
//! a module that only names units does not bring that logic into their code fingerprints.

use serde::{Deserialize, Serialize};
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
