//! Figures from tables: a figure is built as data (panels of series) by the figures stage
//! and rendered here to SVG with plotters, with the bundled font, and from the SVG to PNG
//! at twice the resolution ([`raster`]).

pub mod chart;
pub mod heatmap;
pub mod layout;
mod legend;
mod panel;
pub mod raster;
pub mod spec;
pub mod style;
pub mod thresholds;

pub use chart::{Figure, Mark, Panel, PlotError, Series};
