//! The formula language: `lex` → `parse` into an [`Expr`] tree.
//!
//! Compilation to a batched program lives in [`crate::compile`](mod@crate::compile).

pub mod lex;
pub mod parse;

pub use parse::{BinOp, Expr, ExprKind, UnOp, parse};

use crate::diag::Span;
use lex::{Tok, lex};

/// The longest formula accepted, in bytes. Formulas are typed by people; anything longer is
/// almost surely generated or hostile, and bounding it bounds the work of every later stage.
pub const MAX_FORMULA_LEN: usize = 10_000;

/// The deepest nesting accepted. The parser recurses, so without this a formula of ten
/// thousand `(` would overflow the stack.
pub const MAX_DEPTH: usize = 64;

/// The names `formula` refers to, in order, with their spans: its identifiers that are not
/// calls (`max(a, b)` refers to `a` and `b`, not `max`); `None` when the lexer cannot read
/// it. The editor renames nodes and draws the graph's edges from these, so that it reads a
/// formula's references as the compiler does.
pub fn references(formula: &str) -> Option<Vec<(&str, Span)>> {
    let tokens = lex(formula).ok()?;
    Some(
        tokens
            .iter()
            .enumerate()
            .filter(|(i, _)| tokens.get(i + 1).is_none_or(|next| next.tok != Tok::LParen))
            .filter_map(|(_, token)| match &token.tok {
                Tok::Ident(_) => Some((&formula[token.span.start..token.span.end], token.span)),
                _ => None,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::references;

    #[test]
    fn references_are_the_names_that_are_not_calls() {
        fn names(f: &str) -> Option<Vec<&str>> {
            references(f).map(|r| r.into_iter().map(|(n, _)| n).collect())
        }
        assert_eq!(
            names("max(rev, 0) + rev * price"),
            Some(vec!["rev", "rev", "price"])
        );
        assert_eq!(names("normal(0, 1)"), Some(vec![]));
        assert_eq!(names("a to b"), Some(vec!["a", "b"]));
        assert_eq!(names("rev + $"), None);
        let spans = references("ab + c").unwrap_or_default();
        assert_eq!((spans[1].1.start, spans[1].1.end), (5, 6));
    }
}
