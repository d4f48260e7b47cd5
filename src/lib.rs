//! repro: regenerates "DNNs as Layers of Cooperating Classifiers" (Davel, Theunissen,
//! Pretorius, Barnard, 2020) from raw data to a report, through content-hashed stages.
//!
//! Layers: [`engine`] (generic: keys, cache, plan, run), [`config`] (pipeline.toml and
//! stage declarations), [`stages`] (what each stage does), [`data`] and [`formats`].
//! Below the stages: [`analysis`] (pure kernels), [`results`] (what the analysis tables
//! mean to their readers), [`claims`] (the paper's findings, checked on those tables) and
//! [`plots`].

pub mod analysis;
pub mod claims;
pub mod codegraph;
pub mod config;
pub mod data;
pub mod engine;
pub mod formats;
pub mod model;
pub mod plots;
pub mod project;
pub mod remote;
pub mod results;
pub mod review;
pub mod rng;
pub mod stages;
