//! Figures from tables: a figure is built as data (panels of series) by the figures stage
//! and rendered here to PNG and SVG with plotters, with the bundled font.

pub mod chart;
pub mod heatmap;
pub mod layout;
mod legend;
pub mod style;

pub use chart::{Figure, Mark, Panel, PlotError, Series};
