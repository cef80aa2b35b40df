//! ScenarioForge's engine.
pub mod dist;
pub mod rng;
pub mod stats;
