//! Streaming statistics of the sampled outputs: moments, quantile sketches and sensitivity.
//!
//! Everything here is built from `+ - * /`, `sqrt` and the pinned `libm`, so a result has the
//! same bits on x86-64 and wasm32; the quantile sketch also gives the same state whatever
//! the order in which chunks are merged.

pub mod bins;
pub mod moments;
pub mod sensitivity;
pub mod sketch;

#[cfg(test)]
mod testutil;

pub use bins::{FineBins, Grid, Histogram};
pub use moments::Moments;
pub use sensitivity::{first_order_share, spearman};
pub use sketch::Sketch;
