//! How big a model may be. Every path through the engine is linear in these (or, for the
//! correlated inputs, cubic in a small number), so a model within them compiles in well under
//! a second; each is checked by [`crate::compile`](fn@crate::compile) before any work that depends on it, and so
//! holds alike for the command line, the server and the browser.

/// Nodes in a model: ten times the largest real models we have seen.
pub const MAX_NODES: usize = 10_000;

/// Characters in a node id.
pub const MAX_ID_LEN: usize = 64;

/// Bytes in a model's name or description, or a node's label, unit or description.
pub const MAX_TEXT_LEN: usize = 10_000;

/// Thresholds of one node (each is a `prob_below` entry of the summary).
pub const MAX_THRESHOLDS: usize = 100;

/// Entries of `correlations`.
pub const MAX_CORRELATIONS: usize = 1_000;

/// Distinct inputs that take part in correlations. Repairing an inconsistent matrix costs
/// about k³ per round (Higham's projections, each an eigen-decomposition), and imposing it
/// costs k² per iteration.
pub const MAX_CORRELATED_INPUTS: usize = 50;

/// Diagnostics one check reports; past that a last one says how many more there were.
pub const MAX_DIAGNOSTICS: usize = 100;

/// Drivers listed per output: the largest, by the larger of ρ² and the variance share.
pub const MAX_DRIVERS: usize = 20;

/// Unknown names for which the closest known name is looked for (each look is linear in the
/// node count); later ones are reported without a suggestion.
pub const MAX_SUGGESTIONS: usize = 20;
