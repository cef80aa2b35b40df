//! The 256-layer ziggurat for standard normal draws (Marsaglia & Tsang 2000, in Doornik's
//! ZIGNOR form as rand_distr uses it), with tables computed once through `libm`.
//!
//! About 99% of draws cost one 64-bit random word, a multiply and a comparison; the rest
//! fall into a wedge (one more uniform and an `exp`) or the tail beyond `R` (two logs).

use std::f64::consts::FRAC_1_SQRT_2;
use std::sync::OnceLock;

use crate::rng::Stream;

/// The right edge of the base layer for 256 layers of equal area (Doornik 2005).
const R: f64 = 3.654_152_885_361_009;
/// √(π/2), for the area under exp(-x²/2) beyond R, √(π/2)·erfc(R/√2).
const SQRT_FRAC_PI_2: f64 = 1.253_314_137_315_500_3;

/// Layer edges `x` (decreasing, `x[256] = 0`) and the unnormalised density `f = exp(-x²/2)`
/// at each.
#[derive(Debug)]
pub(crate) struct Ziggurat {
    x: [f64; 257],
    f: [f64; 257],
}

static TABLES: OnceLock<Ziggurat> = OnceLock::new();

/// The tables, built on first use. They come from `libm` rather than being pasted in so
/// that their derivation is visible; `libm` makes them the same bits on every target.
#[inline]
pub(crate) fn tables() -> &'static Ziggurat {
    TABLES.get_or_init(Ziggurat::build)
}

#[inline]
fn density(x: f64) -> f64 {
    libm::exp(-0.5 * x * x)
}

impl Ziggurat {
    fn build() -> Ziggurat {
        // Every layer has area v: the base layer is the rectangle [0, R] × [0, f(R)] plus
        // the tail beyond R, and each layer above it is a rectangle of the same area.
        let v = R * density(R) + SQRT_FRAC_PI_2 * libm::erfc(R * FRAC_1_SQRT_2);
        let mut x = [0.0; 257];
        x[0] = v / density(R);
        x[1] = R;
        for i in 2..256 {
            x[i] = f64::sqrt(-2.0 * libm::log(v / x[i - 1] + density(x[i - 1])));
        }
        x[256] = 0.0;
        Ziggurat {
            x,
            f: x.map(density),
        }
    }

    /// One standard normal draw.
    #[inline]
    pub(crate) fn sample(&self, rng: &mut Stream) -> f64 {
        loop {
            let bits = rng.next_u64();
            // The low 8 bits pick the layer; the top 53, independent of them, give a
            // uniform in [-1, 1).
            let i = (bits & 0xff) as usize;
            let u = (bits >> 11) as f64 * (1.0 / (1u64 << 52) as f64) - 1.0;
            let x = u * self.x[i];
            if x.abs() < self.x[i + 1] {
                return x;
            }
            if i == 0 {
                return tail(rng, u < 0.0);
            }
            if self.f[i + 1] + (self.f[i] - self.f[i + 1]) * rng.next_f64() < density(x) {
                return x;
            }
        }
    }
}

/// A draw from the normal tail beyond `R` (Marsaglia 1964), negated when `negative`.
#[cold]
fn tail(rng: &mut Stream, negative: bool) -> f64 {
    loop {
        let x = libm::log(rng.next_open01()) / R;
        let y = libm::log(rng.next_open01());
        if -2.0 * y >= x * x {
            return if negative { x - R } else { R - x };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_have_equal_area() {
        let z = tables();
        let v = R * density(R) + SQRT_FRAC_PI_2 * libm::erfc(R * FRAC_1_SQRT_2);
        for i in 1..256 {
            let area = z.x[i] * (z.f[i + 1] - z.f[i]);
            assert!((area / v - 1.0).abs() < 1e-12, "layer {i}: {area} vs {v}");
            assert!(z.x[i + 1] < z.x[i]);
        }
        // The top layer closes the recursion: its area is where an inexact R would show.
        let top = z.x[255] * (1.0 - z.f[255]);
        assert!((top / v - 1.0).abs() < 1e-12, "top layer: {top} vs {v}");
    }

    #[test]
    fn tables_match_the_published_ones() {
        // Some edges of rand's ZIG_NORM_X, which statrs also carries. They differ from the
        // 10th digit because rand computed them from the layer area rounded to 12 digits
        // (its top layer is off by 1e-9); deriving the area from R closes it to 3e-14.
        let z = tables();
        let published = [
            (0, 3.910_757_959_537_09),
            (2, 3.449_278_298_560_964),
            (100, 1.731_792_314_050_707),
            (254, 0.286_174_591_747_260_5),
            (255, 0.215_241_895_913_273_8),
        ];
        for (i, want) in published {
            assert!(
                (z.x[i] - want).abs() < 1e-9 * want,
                "x[{i}] = {} vs {want}",
                z.x[i]
            );
        }
    }
}
