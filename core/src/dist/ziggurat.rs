//! The 256-layer ziggurat for standard normal draws (Marsaglia & Tsang 2000, in Doornik's
//! ZIGNOR form as rand_distr uses it), with tables computed once through `libm`.
//!
//! About 99% of draws cost one 64-bit random word, a multiply and a comparison; the rest
//! fall into a wedge (one more uniform and an `exp`) or the tail beyond `R` (two logs).

use std::f64::consts::FRAC_1_SQRT_2;
use std::sync::OnceLock;

use super::MAX_ATTEMPTS;
use crate::rng::Stream;
use crate::simd::kernel;

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
        for _ in 0..MAX_ATTEMPTS {
            let (i, u, x) = layer_point(&self.x, rng.next_u64());
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
        f64::NAN
    }
}

/// Words examined at a time by [`Ziggurat::fill`]: one bit each in a `u64` mask.
const BLOCK: usize = 64;

impl Ziggurat {
    /// Fills `out` with standard normal draws: the same values as `sample` one at a time.
    ///
    /// `sample` spends most of its time making the random word and looking up its layer,
    /// one draw after the other. Here a block of the stream's next words is made at once,
    /// and each word's draw computed as if it began an attempt, in loops that vectorise;
    /// runs of accepted draws are then copied out in order. A word whose draw is refused
    /// (about one in eighty) goes to `sample` itself, from the same place in the stream, and
    /// the block resumes after the words it used.
    pub(crate) fn fill(&self, rng: &mut Stream, out: &mut [f64]) {
        let mut words = [0u64; BLOCK];
        let mut draws = [0.0; BLOCK];
        let mut done = 0;
        while done < out.len() {
            let want = (out.len() - done).min(BLOCK);
            rng.peek_u64(&mut words[..want]);
            let refused = first_attempts(&self.x, &words[..want], &mut draws[..want]);
            let start = rng.clone();
            // Words of the block used so far; past `want` when `sample` used more.
            let mut at = 0;
            while at < want && done < out.len() {
                let run = ((refused >> at).trailing_zeros() as usize)
                    .min(want - at)
                    .min(out.len() - done);
                out[done..done + run].copy_from_slice(&draws[at..at + run]);
                (at, done) = (at + run, done + run);
                if at < want && done < out.len() {
                    *rng = start.clone();
                    rng.skip(at);
                    out[done] = self.sample(rng);
                    done += 1;
                    at = rng.words_since(&start);
                }
            }
            *rng = start;
            rng.skip(at);
        }
    }
}

kernel! {
    /// Each word's draw in `draws`, as `Ziggurat::sample`'s first attempt would make it from
    /// that word, and a mask of those it would refuse (bit k for word k).
    fn first_attempts(x: &[f64; 257], words: &[u64], draws: &mut [f64]) -> u64 {
        let mut refused = 0;
        for ((&bits, draw), k) in words.iter().zip(draws.iter_mut()).zip(0..BLOCK) {
            let (i, _, v) = layer_point(x, bits);
            *draw = v;
            // `v` is never NaN: `>=` is `sample`'s `<` negated.
            refused |= u64::from(v.abs() >= x[i + 1]) << k;
        }
        refused
    }
}

/// What one random word makes of an attempt: its layer `i` (the low 8 bits), a uniform `u` in
/// [-1, 1) (the top 53 bits, independent of them) and the point `u·x[i]` across the layer.
#[inline(always)]
fn layer_point(x: &[f64; 257], bits: u64) -> (usize, f64, f64) {
    let i = (bits & 0xff) as usize;
    let u = (bits >> 11) as f64 * (1.0 / (1u64 << 52) as f64) - 1.0;
    (i, u, u * x[i])
}

/// A draw from the normal tail beyond `R` (Marsaglia 1964), negated when `negative`.
#[cold]
fn tail(rng: &mut Stream, negative: bool) -> f64 {
    for _ in 0..MAX_ATTEMPTS {
        let x = libm::log(rng.next_open01()) / R;
        let y = libm::log(rng.next_open01());
        if -2.0 * y >= x * x {
            return if negative { x - R } else { R - x };
        }
    }
    f64::NAN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filled_batch_is_the_draws_one_at_a_time() {
        let z = tables();
        // Long enough to meet refused words in every position of a block, and the tail; with
        // either copy of the kernels.
        for (wide, n) in [false, true]
            .into_iter()
            .flat_map(|w| [0, 1, 63, 64, 65, 200_000].map(|n| (w, n)))
        {
            crate::simd::use_wide(wide);
            let mut one = Stream::new(5, 3, 2);
            let mut batch = one.clone();
            let mut out = vec![0.0; n];
            z.fill(&mut batch, &mut out);
            for (i, x) in out.iter().enumerate() {
                assert_eq!(
                    x.to_bits(),
                    z.sample(&mut one).to_bits(),
                    "draw {i} of {n}, {wide}"
                );
            }
            assert_eq!(batch.next_u64(), one.next_u64(), "stream after {n} draws");
        }
    }

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
