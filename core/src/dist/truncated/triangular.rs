//! The truncated triangular: a piece of the triangle, drawn by inversion on whichever side
//! of the mode keeps the precision.

use crate::dist::Triangular;
use crate::rng::Stream;

/// Triangular conditioned on [lo, hi] inside its support.
#[derive(Clone, Copy, Debug)]
pub(super) struct TruncTriangular {
    dist: Triangular,
    /// Whether the interval lies at or above the mode, where upper-tail probabilities are
    /// the precise ones to draw.
    upper: bool,
    start: f64,
    width: f64,
}

impl TruncTriangular {
    pub(super) fn new(dist: Triangular, lo: f64, hi: f64) -> TruncTriangular {
        let upper = dist.above_mode(lo);
        let (start, end) = if upper {
            (dist.sf(hi), dist.sf(lo))
        } else {
            (dist.cdf(lo), dist.cdf(hi))
        };
        TruncTriangular {
            dist,
            upper,
            start,
            width: end - start,
        }
    }

    /// The quantile at p (q = 1 - p): the same map as `sample`, with the uniform draw
    /// replaced by the probability on the precise side.
    pub(super) fn quantile(&self, p: f64, q: f64) -> f64 {
        if self.upper {
            self.dist.quantile_sf(self.start + q * self.width)
        } else {
            self.dist.quantile(self.start + p * self.width)
        }
    }

    #[inline]
    pub(super) fn sample(&self, rng: &mut Stream) -> f64 {
        let p = self.start + rng.next_f64() * self.width;
        if self.upper {
            self.dist.quantile_sf(p)
        } else {
            self.dist.quantile(p)
        }
    }
}

// statrs, the reference, is a native-only dev-dependency.
