//! Reading and validating `pipeline.toml` and `stages/*.toml`, with errors that point at
//! file, line and key.

pub mod error;
pub mod locate;
pub mod overrides;
pub mod pipeline;
pub mod stages;

pub use error::{ConfigError, Location};
pub use pipeline::PipelineConfig;
pub use stages::{load_stage_dir, StageDecl, StageKind};
