//! The formula language: `lex` → `parse` into an [`Expr`] tree.
//!
//! Compilation to a batched program lives in [`crate::compile`](mod@crate::compile).

pub mod lex;
pub mod parse;

pub use parse::{BinOp, Expr, ExprKind, UnOp, parse};

/// The longest formula accepted, in bytes. Formulas are typed by people; anything longer is
/// almost surely generated or hostile, and bounding it bounds the work of every later stage.
pub const MAX_FORMULA_LEN: usize = 10_000;

/// The deepest nesting accepted. The parser recurses, so without this a formula of ten
/// thousand `(` would overflow the stack.
pub const MAX_DEPTH: usize = 64;
