//! Lexer: a formula's text becomes tokens with byte spans.

use crate::diag::{Diagnostic, DiagnosticKind, Span};

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Num(f64),
    Ident(String),
    /// The keywords `to`, `and`, `or`, `not`.
    To,
    And,
    Or,
    Not,
    Plus,
    Minus,
    Star,
    Slash,
    Caret,
    LParen,
    RParen,
    Comma,
    Lt,
    Le,
    Gt,
    Ge,
    EqEq,
    Ne,
}

impl Tok {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Tok::Num(_) => "a number".to_string(),
            Tok::Ident(name) => format!("`{name}`"),
            other => format!("`{}`", other.text()),
        }
    }

    fn text(&self) -> &'static str {
        match self {
            Tok::Num(_) | Tok::Ident(_) => "",
            Tok::To => "to",
            Tok::And => "and",
            Tok::Or => "or",
            Tok::Not => "not",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            Tok::Caret => "^",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::Comma => ",",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::EqEq => "==",
            Tok::Ne => "!=",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
}

/// Splits `src` into tokens, or reports the first character or number it cannot read.
pub fn lex(src: &str) -> Result<Vec<Token>, Box<Diagnostic>> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let single = match c {
            b'+' => Some(Tok::Plus),
            b'-' => Some(Tok::Minus),
            b'*' => Some(Tok::Star),
            b'/' => Some(Tok::Slash),
            b'^' => Some(Tok::Caret),
            b'(' => Some(Tok::LParen),
            b')' => Some(Tok::RParen),
            b',' => Some(Tok::Comma),
            _ => None,
        };
        let tok = if let Some(tok) = single {
            i += 1;
            tok
        } else if matches!(c, b'<' | b'>' | b'=' | b'!') {
            let eq = bytes.get(i + 1) == Some(&b'=');
            let tok = match (c, eq) {
                (b'<', false) => Tok::Lt,
                (b'<', true) => Tok::Le,
                (b'>', false) => Tok::Gt,
                (b'>', true) => Tok::Ge,
                (b'=', true) => Tok::EqEq,
                (b'!', true) => Tok::Ne,
                (b'=', false) => {
                    return Err(error(
                        start,
                        start + 1,
                        "unexpected `=`, did you mean `==`?",
                    ));
                }
                _ => {
                    return Err(error(
                        start,
                        start + 1,
                        "unexpected `!`, did you mean `!=` or `not`?",
                    ));
                }
            };
            i += 1 + usize::from(eq);
            tok
        } else if c.is_ascii_digit()
            || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            let (value, end) = number(src, i)?;
            i = end;
            Tok::Num(value)
        } else if c.is_ascii_alphabetic() || c == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            match &src[start..i] {
                "to" => Tok::To,
                "and" => Tok::And,
                "or" => Tok::Or,
                "not" => Tok::Not,
                name => Tok::Ident(name.to_string()),
            }
        } else {
            let ch = src[i..].chars().next().unwrap_or('?');
            let end = i + ch.len_utf8();
            let message = if ch == '%' {
                "`%` is only a percent suffix on a number (`5%`); for the remainder use `mod(a, b)`"
                    .to_string()
            } else {
                format!("unexpected character `{ch}`")
            };
            return Err(error(start, end, &message));
        };
        tokens.push(Token {
            tok,
            span: Span::new(start, i),
        });
    }
    Ok(tokens)
}

fn error(start: usize, end: usize, message: &str) -> Box<Diagnostic> {
    let mut d = Diagnostic::new(DiagnosticKind::InvalidToken, message);
    d.span = Some(Span::new(start, end));
    Box::new(d)
}

/// Reads a number starting at `start`: digits with `_` separators, a fraction, an exponent,
/// and one optional suffix (`%` = e-2, `k` = e3, `M` = e6, `B` = e9). Returns the value and
/// the end of the number.
fn number(src: &str, start: usize) -> Result<(f64, usize), Box<Diagnostic>> {
    let bytes = src.as_bytes();
    let mut i = start;
    let mut mantissa = String::new();
    let digits = |i: &mut usize, out: &mut String| {
        while *i < bytes.len() && (bytes[*i].is_ascii_digit() || bytes[*i] == b'_') {
            if bytes[*i] != b'_' {
                out.push(bytes[*i] as char);
            }
            *i += 1;
        }
    };
    digits(&mut i, &mut mantissa);
    if i < bytes.len() && bytes[i] == b'.' {
        mantissa.push('.');
        i += 1;
        digits(&mut i, &mut mantissa);
    }
    let mut exponent: i64 = 0;
    if i < bytes.len() && matches!(bytes[i], b'e' | b'E') {
        let mut j = i + 1;
        let negative = j < bytes.len() && bytes[j] == b'-';
        if j < bytes.len() && matches!(bytes[j], b'+' | b'-') {
            j += 1;
        }
        let mut exp_digits = String::new();
        digits(&mut j, &mut exp_digits);
        if exp_digits.is_empty() {
            return Err(error(
                start,
                j,
                "malformed number: expected digits after the exponent `e`",
            ));
        }
        // Past ±100000 the value is 0 or infinity anyway; clamping keeps the arithmetic safe.
        let magnitude: i64 = exp_digits.parse().unwrap_or(i64::MAX).min(100_000);
        exponent = if negative { -magnitude } else { magnitude };
        i = j;
    }
    if i < bytes.len() {
        let shift = match bytes[i] {
            b'%' => Some(-2),
            b'k' => Some(3),
            b'M' => Some(6),
            b'B' => Some(9),
            _ => None,
        };
        if let Some(shift) = shift {
            exponent += shift;
            i += 1;
        }
    }
    if i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.')
    {
        let mut end = i;
        while end < bytes.len()
            && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_' || bytes[end] == b'.')
        {
            end += 1;
        }
        return Err(error(
            start,
            end,
            &format!(
                "malformed number `{}`: a number may end in `%`, `k`, `M` or `B` only",
                &src[start..end]
            ),
        ));
    }
    // Scaling the decimal text rather than multiplying the parsed value keeps `0.1k` exactly
    // 100 and `5%` exactly the double nearest 0.05: one correctly rounded parse.
    let value: f64 = format!("{mantissa}e{exponent}")
        .parse()
        .map_err(|_| error(start, i, "malformed number"))?;
    Ok((value, i))
}
