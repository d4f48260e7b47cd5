//! The generic pipeline engine: keys, the content-addressed cache, planning and running
//! units. It knows nothing of datasets, networks or plots.

pub mod adopt;
pub mod audit;
pub mod cache;
pub mod failed_input;
pub mod fault;
pub mod hash;
pub mod history;
pub mod host;
pub mod key;
pub mod local;
pub mod lock;
pub mod manifest;
pub mod node;
pub mod plan;
pub mod progress;
pub mod publish;
pub mod reach;
pub mod resources;
pub mod retention;
pub mod runner;
pub mod slurm;
pub mod stage;
pub mod timings;
pub mod unit;
pub mod unit_log;
mod worker;

pub use cache::Cache;
pub use key::Reason;
pub use node::{StageMeta, StageNode};
pub use plan::{Plan, Status};
pub use stage::{StageImpl, UnitJob, UnitOutcome, UnitSpec};
pub use unit::UnitRef;
