//! Diagnostics: what is wrong with a model, where, and how it is shown to a person.
//!
//! Errors are data (`Diagnostic`), collected all at once and rendered separately, in the
//! style of regex-syntax's `ast::Error` and its formatter.

use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};

/// A byte range into a node's formula.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    pub fn range(self) -> Range<usize> {
        self.start..self.end
    }
}

/// What class of problem a diagnostic reports; stable names for clients to match on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosticKind {
    /// The model file is not JSON, or not the JSON shape of a model.
    InvalidJson,
    UnknownField,
    MissingField,
    DuplicateId,
    InvalidId,
    EmptyExpression,
    InvalidToken,
    UnexpectedToken,
    UnclosedParen,
    UnknownName,
    UnknownFunction,
    ArgumentCount,
    NotADistribution,
    Cycle,
    InvalidParameter,
    InvalidSetting,
    /// A correlation pair that names a node which cannot be correlated, repeats a pair, or
    /// gives a value outside [-1, 1].
    InvalidCorrelation,
    /// The expression is deeper or longer than the engine accepts.
    TooComplex,
    /// The model has more of something than the engine accepts ([`crate::limits`]).
    TooLarge,
}

/// One problem in a model: its kind, a message, and where it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub kind: DiagnosticKind,
    pub message: String,
    /// The node whose formula (or definition) is at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Bytes of that node's formula, when the problem is inside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
    /// A field of the model file (`nodes[2].id`, `settings.iterations`), when the problem is there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// A line and column in the model file (both from 1), for malformed JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl Diagnostic {
    pub fn new(kind: DiagnosticKind, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            kind,
            message: message.into(),
            node: None,
            span: None,
            field: None,
            line: None,
            column: None,
        }
    }

    pub fn in_expr(
        kind: DiagnosticKind,
        message: impl Into<String>,
        node: &str,
        span: Span,
    ) -> Self {
        Diagnostic {
            node: Some(node.to_string()),
            span: Some(span),
            ..Diagnostic::new(kind, message)
        }
    }

    pub fn at_node(mut self, node: &str) -> Diagnostic {
        self.node = Some(node.to_string());
        self
    }

    pub fn at_field(mut self, field: impl Into<String>) -> Diagnostic {
        self.field = Some(field.into());
        self
    }

    /// Renders the diagnostic for a terminal, quoting the formula when there is one:
    ///
    /// ```text
    /// error: unknown name `revnue`, did you mean `revenue`?
    ///  --> node `profit`, column 1
    ///   |
    ///   | revnue - costs
    ///   | ^^^^^^
    /// ```
    pub fn render(&self, source: Option<&str>) -> String {
        let mut out = format!("error: {}\n", self.message);
        let mut location = Vec::new();
        if let Some(node) = &self.node {
            location.push(format!("node `{node}`"));
        } else if let Some(field) = &self.field {
            location.push(format!("field `{field}`"));
        }
        if let (Some(line), Some(column)) = (self.line, self.column) {
            location.push(format!("line {line}, column {column}"));
        }
        let quoted = match (self.span, source) {
            (Some(span), Some(src))
                if span.end <= src.len() && src.is_char_boundary(span.start) =>
            {
                Some((span, src))
            }
            _ => None,
        };
        if let Some((span, src)) = quoted {
            location.push(format!("column {}", src[..span.start].chars().count() + 1));
        }
        if !location.is_empty() {
            out.push_str(&format!(" --> {}\n", location.join(", ")));
        }
        if let Some((span, src)) = quoted {
            // Formulas are one line in the model, but a pasted one may hold newlines or tabs:
            // show them as spaces so the carets stay under the right characters.
            let shown: String = src
                .chars()
                .map(|c| if c.is_whitespace() { ' ' } else { c })
                .collect();
            let before = src[..span.start].chars().count();
            let width = src
                .get(span.range())
                .map_or(1, |s| s.chars().count().max(1));
            out.push_str("  |\n");
            out.push_str(&format!("  | {shown}\n"));
            out.push_str(&format!(
                "  | {}{}\n",
                " ".repeat(before),
                "^".repeat(width)
            ));
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Every diagnostic found in a model, rendered one after another.
pub fn render_all(
    diagnostics: &[Diagnostic],
    formula_of: impl Fn(&str) -> Option<String>,
) -> String {
    let mut out = String::new();
    for (i, d) in diagnostics.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let source = d.node.as_deref().and_then(&formula_of);
        out.push_str(&d.render(source.as_deref()));
    }
    out
}

/// The candidate closest to `name` by edit distance, if it is close enough to be a likely typo
/// (at most a third of its characters apart). Cheap per candidate: one whose length alone
/// puts it too far is skipped, and the distance is abandoned as soon as it exceeds the best
/// found so far. Ties go to the smallest candidate, so the answer does not depend on order.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let name: Vec<char> = name.chars().collect();
    // Longer than any id could be: it is not a typo of one.
    if name.len() > 2 * crate::limits::MAX_ID_LEN {
        return None;
    }
    let limit = (name.len() / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let bound = best.map_or(limit, |(d, _)| d);
        if c.len().abs_diff(name.len()) > bound && c.chars().count().abs_diff(name.len()) > bound {
            continue;
        }
        if let Some(d) = levenshtein_within(&name, c, bound)
            && best.is_none_or(|(bd, bc)| (d, c) < (bd, bc))
        {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// The edit distance between `a` and `b` when it is at most `max`, else `None` (given up on
/// as soon as every entry of a row exceeds `max`).
fn levenshtein_within(a: &[char], b: &str, max: usize) -> Option<usize> {
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        let mut smallest = row[0];
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
            smallest = smallest.min(row[j + 1]);
        }
        if smallest > max {
            return None;
        }
    }
    Some(row[b.len()]).filter(|&d| d <= max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_finds_typos_and_only_typos() {
        let ids = ["revenue", "costs", "price", "prices", "customers"];
        let check = |name: &str, want: Option<&str>| {
            assert_eq!(closest(name, ids), want, "{name}");
        };
        check("revnue", Some("revenue"));
        check("cost", Some("costs"));
        check("pric", Some("price"));
        check("pricez", Some("price"));
        check("customer", Some("customers"));
        check("xyz", None);
        check("", None);
        check(&"a".repeat(500), None);
    }

    /// Regression: the search compared every unknown name with every id in full, quadratic
    /// in the model; 20,000 nodes of unknown names took 35 s to check.
    #[test]
    fn closest_is_cheap_on_many_long_candidates() {
        let ids: Vec<String> = (0..10_000).map(|i| format!("{i:0>64}")).collect();
        let name = "z".repeat(64);
        assert_eq!(closest(&name, ids.iter().map(String::as_str)), None);
    }
}
