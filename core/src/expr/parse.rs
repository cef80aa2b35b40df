//! Parser: tokens become an expression tree, by a Pratt loop over a binding-power table.

use std::fmt;

use super::lex::{Tok, Token, lex};
use super::{MAX_DEPTH, MAX_FORMULA_LEN};
use crate::diag::{Diagnostic, DiagnosticKind, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `a to b`: a draw from the 90% interval [a, b].
    To,
    Or,
    And,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Not,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Num(f64),
    Name(String),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Call {
        name: String,
        name_span: Span,
        args: Vec<Expr>,
    },
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::To => "to",
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Pow => "^",
        }
    }
}

/// Binding powers, loosest first. Left-associative operators bind their right side one
/// tighter; `^` is right-associative, so its right side binds at its own level.
fn infix_binding_power(tok: &Tok) -> Option<(BinOp, u8, u8)> {
    let (op, left) = match tok {
        Tok::To => (BinOp::To, 1),
        Tok::Or => (BinOp::Or, 3),
        Tok::And => (BinOp::And, 5),
        Tok::Lt => (BinOp::Lt, 9),
        Tok::Le => (BinOp::Le, 9),
        Tok::Gt => (BinOp::Gt, 9),
        Tok::Ge => (BinOp::Ge, 9),
        Tok::EqEq => (BinOp::Eq, 9),
        Tok::Ne => (BinOp::Ne, 9),
        Tok::Plus => (BinOp::Add, 11),
        Tok::Minus => (BinOp::Sub, 11),
        Tok::Star => (BinOp::Mul, 13),
        Tok::Slash => (BinOp::Div, 13),
        Tok::Caret => return Some((BinOp::Pow, 17, 17)),
        _ => return None,
    };
    Some((op, left, left + 1))
}

/// `not` sits between `and` and the comparisons; unary minus between `*` and `^`, so
/// `-2^2` is `-(2^2)`.
const NOT_BP: u8 = 7;
const NEG_BP: u8 = 15;

/// Parses one formula. Errors carry byte spans into `src`.
pub fn parse(src: &str) -> Result<Expr, Box<Diagnostic>> {
    if src.len() > MAX_FORMULA_LEN {
        let mut d = Diagnostic::new(
            DiagnosticKind::TooComplex,
            format!(
                "formula is {} bytes long; the limit is {MAX_FORMULA_LEN}",
                src.len()
            ),
        );
        d.span = Some(Span::new(0, 0));
        return Err(Box::new(d));
    }
    let tokens = lex(src)?;
    if tokens.is_empty() {
        let mut d = Diagnostic::new(
            DiagnosticKind::EmptyExpression,
            "empty formula: expected a number, a name or a call",
        );
        d.span = Some(Span::new(0, src.len()));
        return Err(Box::new(d));
    }
    let mut parser = Parser {
        tokens,
        pos: 0,
        src_len: src.len(),
        depth: 0,
    };
    let expr = parser.expr(0)?;
    match parser.peek() {
        None => Ok(expr),
        Some(Token {
            tok: Tok::RParen,
            span,
        }) => Err(expr_error(
            DiagnosticKind::UnexpectedToken,
            "unmatched `)`",
            *span,
        )),
        Some(t) => Err(expr_error(
            DiagnosticKind::UnexpectedToken,
            &format!(
                "unexpected {} after a complete expression; expected an operator",
                t.tok.describe()
            ),
            t.span,
        )),
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    src_len: usize,
    depth: usize,
}

fn expr_error(kind: DiagnosticKind, message: &str, span: Span) -> Box<Diagnostic> {
    let mut d = Diagnostic::new(kind, message);
    d.span = Some(span);
    Box::new(d)
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn end_span(&self) -> Span {
        Span::new(self.src_len, self.src_len)
    }

    fn expr(&mut self, min_bp: u8) -> Result<Expr, Box<Diagnostic>> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let span = self.peek().map_or(self.end_span(), |t| t.span);
            return Err(expr_error(
                DiagnosticKind::TooComplex,
                &format!("formula is nested more than {MAX_DEPTH} levels deep"),
                span,
            ));
        }
        let mut lhs = self.operand()?;
        while let Some(token) = self.peek() {
            let Some((op, left_bp, right_bp)) = infix_binding_power(&token.tok) else {
                break;
            };
            if left_bp < min_bp {
                break;
            }
            self.pos += 1;
            let rhs = self.expr(right_bp)?;
            let span = lhs.span.to(rhs.span);
            lhs = Expr {
                kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                span,
            };
        }
        self.depth -= 1;
        Ok(lhs)
    }

    fn operand(&mut self) -> Result<Expr, Box<Diagnostic>> {
        let Some(token) = self.next() else {
            return Err(expr_error(
                DiagnosticKind::UnexpectedToken,
                "unexpected end of formula; expected a number, a name or `(`",
                self.end_span(),
            ));
        };
        let span = token.span;
        match token.tok {
            Tok::Num(v) => Ok(Expr {
                kind: ExprKind::Num(v),
                span,
            }),
            Tok::Ident(name) => {
                if self.peek().is_some_and(|t| t.tok == Tok::LParen) {
                    self.call(name, span)
                } else {
                    Ok(Expr {
                        kind: ExprKind::Name(name),
                        span,
                    })
                }
            }
            Tok::Minus | Tok::Not => {
                let (op, bp) = if token.tok == Tok::Minus {
                    (UnOp::Neg, NEG_BP)
                } else {
                    (UnOp::Not, NOT_BP)
                };
                let inner = self.expr(bp)?;
                let span = span.to(inner.span);
                Ok(Expr {
                    kind: ExprKind::Unary(op, Box::new(inner)),
                    span,
                })
            }
            Tok::LParen => {
                let inner = self.expr(0)?;
                match self.next() {
                    Some(Token {
                        tok: Tok::RParen,
                        span: close,
                    }) => Ok(Expr {
                        kind: inner.kind,
                        span: span.to(close),
                    }),
                    Some(t) => Err(expr_error(
                        DiagnosticKind::UnexpectedToken,
                        &format!(
                            "expected `)` to close the `(` at column {}, found {}",
                            span.start + 1,
                            t.tok.describe()
                        ),
                        t.span,
                    )),
                    None => Err(expr_error(
                        DiagnosticKind::UnclosedParen,
                        "unclosed `(`",
                        span,
                    )),
                }
            }
            other => Err(expr_error(
                DiagnosticKind::UnexpectedToken,
                &format!(
                    "unexpected {}; expected a number, a name or `(`",
                    other.describe()
                ),
                span,
            )),
        }
    }

    /// A call `name(arg, ...)`; the `(` is the next token.
    fn call(&mut self, name: String, name_span: Span) -> Result<Expr, Box<Diagnostic>> {
        let open = self.next().map_or(name_span, |t| t.span);
        let mut args = Vec::new();
        if self.peek().is_some_and(|t| t.tok == Tok::RParen) {
            let close = self.next().map_or(open, |t| t.span);
            return Ok(Expr {
                kind: ExprKind::Call {
                    name,
                    name_span,
                    args,
                },
                span: name_span.to(close),
            });
        }
        loop {
            args.push(self.expr(0)?);
            match self.next() {
                Some(Token {
                    tok: Tok::Comma, ..
                }) => continue,
                Some(Token {
                    tok: Tok::RParen,
                    span: close,
                }) => {
                    return Ok(Expr {
                        kind: ExprKind::Call {
                            name,
                            name_span,
                            args,
                        },
                        span: name_span.to(close),
                    });
                }
                Some(t) => {
                    return Err(expr_error(
                        DiagnosticKind::UnexpectedToken,
                        &format!(
                            "expected `,` or `)` in the arguments of `{name}`, found {}",
                            t.tok.describe()
                        ),
                        t.span,
                    ));
                }
                None => {
                    return Err(expr_error(
                        DiagnosticKind::UnclosedParen,
                        &format!("unclosed `(` in the call to `{name}`"),
                        open,
                    ));
                }
            }
        }
    }
}

/// Prints the tree as an S-expression, as the parser tests expect: `(+ 1 (* 2 x))`.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Num(v) => write!(f, "{v}"),
            ExprKind::Name(n) => f.write_str(n),
            ExprKind::Unary(UnOp::Neg, e) => write!(f, "(neg {e})"),
            ExprKind::Unary(UnOp::Not, e) => write!(f, "(not {e})"),
            ExprKind::Binary(op, a, b) => write!(f, "({} {a} {b})", op.symbol()),
            ExprKind::Call { name, args, .. } => {
                write!(f, "({name}")?;
                for a in args {
                    write!(f, " {a}")?;
                }
                f.write_str(")")
            }
        }
    }
}
