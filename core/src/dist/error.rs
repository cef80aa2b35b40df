//! Parameter errors and the checks every distribution's `new` builds them from.

use std::fmt;

/// A parameter problem: which argument of the call it concerns (an index into the call's
/// arguments, so the caller can point at it; `None` when no single argument is to blame) and
/// a message saying what was expected and what was given.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamError {
    pub arg: Option<usize>,
    pub message: String,
}

impl ParamError {
    pub(crate) fn new(arg: Option<usize>, message: String) -> ParamError {
        ParamError { arg, message }
    }
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParamError {}

/// A number as a message shows it: `-1`, `0.5`, `NaN`, `inf`, and `1e300` rather than the
/// 301 digits `Display` would print for it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Num(pub f64);

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = self.0;
        let magnitude = x.abs();
        if x.is_finite() && x != 0.0 && !(1e-6..1e15).contains(&magnitude) {
            write!(f, "{x:e}")
        } else {
            write!(f, "{x}")
        }
    }
}

/// Argument `arg`, called `name`, must be finite.
pub(crate) fn finite(arg: usize, name: &str, x: f64) -> Result<(), ParamError> {
    if x.is_finite() {
        Ok(())
    } else {
        Err(ParamError::new(
            Some(arg),
            format!("`{name}` must be finite, got {}", Num(x)),
        ))
    }
}

/// Argument `arg` must be finite and at least 0.
pub(crate) fn non_negative(arg: usize, name: &str, x: f64) -> Result<(), ParamError> {
    finite(arg, name, x)?;
    if x >= 0.0 {
        Ok(())
    } else {
        Err(ParamError::new(
            Some(arg),
            format!("`{name}` must be at least 0, got {}", Num(x)),
        ))
    }
}

/// Argument `arg` must be finite and greater than 0.
pub(crate) fn positive(arg: usize, name: &str, x: f64) -> Result<(), ParamError> {
    finite(arg, name, x)?;
    if x > 0.0 {
        Ok(())
    } else {
        Err(ParamError::new(
            Some(arg),
            format!("`{name}` must be greater than 0, got {}", Num(x)),
        ))
    }
}

/// Argument `arg` must be a probability, between 0 and 1 inclusive.
pub(crate) fn probability(arg: usize, name: &str, x: f64) -> Result<(), ParamError> {
    finite(arg, name, x)?;
    if (0.0..=1.0).contains(&x) {
        Ok(())
    } else {
        Err(ParamError::new(
            Some(arg),
            format!("`{name}` must be between 0 and 1, got {}", Num(x)),
        ))
    }
}

/// Three finite arguments `min`, `mode`, `max` (at `first`, `first + 1`, `first + 2`) must
/// be ordered; with `strict`, `min` must also be less than `max`.
pub(crate) fn ordered_triple(
    first: usize,
    [min, mode, max]: [f64; 3],
    strict: bool,
) -> Result<(), ParamError> {
    finite(first, "min", min)?;
    finite(first + 1, "mode", mode)?;
    finite(first + 2, "max", max)?;
    let ok = min <= mode && mode <= max && (!strict || min < max);
    if ok {
        return Ok(());
    }
    let rule = if strict {
        "min <= mode <= max and min < max"
    } else {
        "min <= mode <= max"
    };
    Err(ParamError::new(
        None,
        format!(
            "`min`, `mode` and `max` must satisfy {rule}, got {}, {}, {}",
            Num(min),
            Num(mode),
            Num(max)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::Num;

    #[test]
    fn numbers_print_short() {
        let check = |x: f64, expected: &str| assert_eq!(Num(x).to_string(), expected);
        check(-1.0, "-1");
        check(0.0, "0");
        check(0.25, "0.25");
        check(123456.0, "123456");
        check(1e300, "1e300");
        check(2e15, "2e15");
        check(-3e-9, "-3e-9");
        check(f64::NAN, "NaN");
        check(f64::INFINITY, "inf");
        check(f64::NEG_INFINITY, "-inf");
    }
}
