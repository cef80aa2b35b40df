//! One router per resource, merged in [`crate::app`].

pub mod events;
pub mod health;
pub mod metrics;
pub mod models;
pub mod runs;
pub mod samples;
