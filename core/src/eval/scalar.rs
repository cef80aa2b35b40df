//! The formula language's scalar semantics: one value at a time, shared by constant
//! folding and the batched loops, so that a folded constant is the bits a column would hold.

use super::{Fold, Func1, Func2};
use crate::fastmath;

pub fn apply1(f: Func1, x: f64) -> f64 {
    match f {
        Func1::Neg => -x,
        Func1::Not => truth(x == 0.0 && !x.is_nan()),
        Func1::Abs => x.abs(),
        // IEEE 754 requires sqrt, floor, ceil and round to be exact: the same bits
        // everywhere. The transcendental functions come from fastmath (exp and ln, the hot
        // ones) and libm for the same reason.
        Func1::Sqrt => x.sqrt(),
        Func1::Exp => fastmath::exp(x),
        Func1::Ln => fastmath::ln(x),
        Func1::Log10 => libm::log10(x),
        Func1::Floor => x.floor(),
        Func1::Ceil => x.ceil(),
        Func1::Round => x.round(),
        Func1::Sign => {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                x
            }
        }
        Func1::Sin => libm::sin(x),
        Func1::Cos => libm::cos(x),
        Func1::Tan => libm::tan(x),
    }
}

#[inline(always)]
fn truth(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// `x` as a truth value: non-zero is true. NaN is neither, so logic on it stays NaN.
#[inline(always)]
fn logic(a: f64, b: f64, f: impl Fn(bool, bool) -> bool) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        truth(f(a != 0.0, b != 0.0))
    }
}

#[inline(always)]
fn compare(a: f64, b: f64, f: impl Fn(f64, f64) -> bool) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        truth(f(a, b))
    }
}

#[inline(always)]
pub fn apply2(f: Func2, a: f64, b: f64) -> f64 {
    match f {
        Func2::Add => a + b,
        Func2::Sub => a - b,
        Func2::Mul => a * b,
        Func2::Div => a / b,
        Func2::Pow => libm::pow(a, b),
        Func2::Lt => compare(a, b, |a, b| a < b),
        Func2::Le => compare(a, b, |a, b| a <= b),
        Func2::Gt => compare(a, b, |a, b| a > b),
        Func2::Ge => compare(a, b, |a, b| a >= b),
        Func2::Eq => compare(a, b, |a, b| a == b),
        Func2::Ne => compare(a, b, |a, b| a != b),
        Func2::And => logic(a, b, |a, b| a && b),
        Func2::Or => logic(a, b, |a, b| a || b),
        Func2::Log => fastmath::ln(a) / fastmath::ln(b),
        // The remainder takes the divisor's sign, as in spreadsheets: mod(-1, 3) is 2.
        Func2::Mod => {
            let r = a % b;
            if r != 0.0 && (r < 0.0) != (b < 0.0) {
                r + b
            } else {
                r
            }
        }
        // NaN propagates (unlike f64::min), so a bad value is never silently dropped.
        Func2::Min => {
            if a.is_nan() || b.is_nan() {
                f64::NAN
            } else if b < a {
                b
            } else {
                a
            }
        }
        Func2::Max => {
            if a.is_nan() || b.is_nan() {
                f64::NAN
            } else if b > a {
                b
            } else {
                a
            }
        }
    }
}

pub fn apply_if(c: f64, a: f64, b: f64) -> f64 {
    if c.is_nan() {
        f64::NAN
    } else if c != 0.0 {
        a
    } else {
        b
    }
}

pub fn apply_clamp(x: f64, lo: f64, hi: f64) -> f64 {
    apply2(Func2::Min, apply2(Func2::Max, x, lo), hi)
}

pub fn apply_fold(func: Fold, values: impl Iterator<Item = f64>) -> f64 {
    let mut n = 0usize;
    let mut acc = 0.0;
    for v in values {
        acc = match (func, n) {
            (_, 0) => v,
            (Fold::Min, _) => apply2(Func2::Min, acc, v),
            (Fold::Max, _) => apply2(Func2::Max, acc, v),
            (Fold::Sum | Fold::Mean, _) => acc + v,
        };
        n += 1;
    }
    if func == Fold::Mean {
        acc / n as f64
    } else {
        acc
    }
}
