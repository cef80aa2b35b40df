//! Fast inversion for distributions without a closed-form quantile: a table of interpolating
//! polynomials of the quantile function, built once per run from the exact CDF.
//!
//! This is the method of Derflinger, Hörmann and Leydold ("Random variate generation by
//! numerical inversion when only the density is known", ACM TOMACS 20(4), 2010; UNU.RAN's
//! PINV, SciPy's `NumericalInversePolynomial`), with the CDF we already compute exactly in
//! place of their integrated density. The support between the quantiles at `TAIL` and
//! `1 - TAIL` is cut into pieces; on each, the quantile is the degree-5 polynomial in u
//! through six points (x, F(x)) at Chebyshev–Lobatto x. A piece is kept only when, at test
//! points between its nodes, the polynomial's x has |F(x) - u| <= `U_TOLERANCE` / 2;
//! otherwise it is halved. A draw is then one uniform, a guide-table lookup and a
//! polynomial: less than half the cost of the two Marsaglia–Tsang gamma draws a beta
//! otherwise takes. The few draws beyond the table (probability 2·`TAIL`) take the exact
//! quantile, so no part of the support is cut off.
//!
//! Building takes a few thousand CDF evaluations (about a millisecond), so a table is built
//! only for fixed parameters, and a run uses it only once it has made enough draws to pay
//! for it (`eval::TABLES_FROM_CHUNK`). Every step is `+ - * /` and the CDF, which is itself
//! the same bits on every target, so the table is too.

use super::invert::Inverse;
use crate::simd::kernel;

/// Probability beyond each end of the table: draws there use the exact quantile.
const TAIL: f64 = 1.0 / (1u64 << 24) as f64;

/// The |F(x) - u| a table promises (its test points are held to half of it). The CDF itself
/// is good to a few 1e-16, so this is what the polynomials add to an exact inversion.
pub(super) const U_TOLERANCE: f64 = 1e-12;

/// A table that would need more pieces than this is not built (the distribution keeps its
/// own sampler).
const MAX_PIECES: usize = 4096;

/// Guide cells per piece: enough that few cells hold more than two pieces.
const GUIDE_PER_PIECE: usize = 4;

/// Marks a guide cell that holds more than two pieces.
const CROWDED: u32 = 1 << 31;

/// Chebyshev–Lobatto points of [0, 1] for degree 5: (1 - cos(jπ/5)) / 2.
const NODES: [f64; 6] = [
    0.0,
    0.095_491_502_812_526_27,
    0.345_491_502_812_526_3,
    0.654_508_497_187_473_7,
    0.904_508_497_187_473_7,
    1.0,
];

/// One piece: x(u) = a0 + a1 t + ... + a5 t^5 with t = u - u0, evaluated by Estrin's scheme,
/// whose dependency chain is half as long as Horner's.
#[derive(Clone, Copy, Debug)]
struct Piece {
    u0: f64,
    a: [f64; 6],
}

impl Piece {
    /// The piece of the Newton form x(u) = c0 + (u - u0)(c1 + (u - u1)(c2 + ... c5)),
    /// expanded into powers of t = u - u0.
    fn from_newton(u: &[f64; 6], c: &[f64; 6]) -> Piece {
        // Horner over the Newton form, on polynomials in t: a <- c_k + (t - (u_k - u0))·a.
        let mut a = [0.0; 6];
        a[0] = c[5];
        for k in (0..5).rev() {
            let d = u[k] - u[0];
            for i in (1..6).rev() {
                a[i] = a[i - 1] - d * a[i];
            }
            a[0] = c[k] - d * a[0];
        }
        Piece { u0: u[0], a }
    }

    #[inline(always)]
    fn at(&self, u: f64) -> f64 {
        let a = &self.a;
        let t = u - self.u0;
        let t2 = t * t;
        let low = a[0] + a[1] * t;
        let mid = a[2] + a[3] * t;
        let high = a[4] + a[5] * t;
        low + t2 * (mid + t2 * high)
    }
}

/// The quantile function of one distribution between its `TAIL` quantiles, as polynomials.
#[derive(Clone, Debug)]
pub struct InverseTable {
    pieces: Vec<Piece>,
    /// `starts[i]` is the u where piece `i` begins; the last entry is where the table ends.
    starts: Vec<f64>,
    /// `guide[k]` is the piece holding `starts[0] + k / scale`, where the search for a u in
    /// cell k starts, with `CROWDED` set when the cell holds more than two pieces.
    guide: Vec<u32>,
    scale: f64,
    /// The support, which results are clamped to.
    lo: f64,
    hi: f64,
}

impl InverseTable {
    /// The table for `inv`'s distribution, whose support is `[lo, hi]`; `None` when its
    /// quantile cannot be tabulated to `U_TOLERANCE` in `MAX_PIECES` pieces (a density that
    /// is zero inside the support, or a singularity too sharp), and draws stay exact.
    pub(super) fn build(inv: &impl Inverse, lo: f64, hi: f64) -> Option<InverseTable> {
        let cdf = |x: f64| inv.cdf(x).0;
        let first = inv.at(TAIL, 1.0 - TAIL);
        let last = inv.at(1.0 - TAIL, TAIL);
        if !(first.is_finite() && last.is_finite() && first < last) {
            return None;
        }
        let mut pieces = Vec::new();
        let mut starts = vec![cdf(first)];
        let (mut a, mut h) = (first, (last - first) / 16.0);
        while a < last {
            if pieces.len() == MAX_PIECES || h < (last - first) * 1e-12 {
                return None;
            }
            // The last piece takes the rest rather than leave a sliver.
            let b = if a + 1.5 * h >= last { last } else { a + h };
            let ua = *starts.last()?;
            match fit(a, ua, b, &cdf) {
                Some((piece, ub)) => {
                    pieces.push(piece);
                    starts.push(ub);
                    a = b;
                    h *= 1.25;
                }
                None => h = 0.5 * (b - a),
            }
        }
        let (u_first, u_last) = (starts[0], *starts.last()?);
        let cells = GUIDE_PER_PIECE * pieces.len();
        let scale = cells as f64 / (u_last - u_first);
        let piece_at = |u: f64| starts[1..pieces.len()].partition_point(|&s| s <= u);
        let guide = (0..=cells)
            .map(|k| {
                let i = piece_at(u_first + k as f64 / scale);
                let j = piece_at(u_first + (k + 1) as f64 / scale);
                i as u32 | if j > i + 1 { CROWDED } else { 0 }
            })
            .collect();
        Some(InverseTable {
            pieces,
            starts,
            guide,
            scale,
            lo,
            hi,
        })
    }

    /// Replaces each uniform u in [0, 1) of `us` by the quantile at u: from the table inside
    /// it, from `exact` beyond it.
    ///
    /// Two passes over batches, first every u's piece, then every polynomial, each without a
    /// branch so that it vectorises (with AVX-512, its table lookups become gathers): in one
    /// loop the chain from u to its piece to its value was too long for the processor to
    /// overlap enough draws. The rare u whose piece needs a search, or that lies beyond
    /// the table, is marked and done afterwards.
    pub(super) fn map(&self, us: &mut [f64], exact: impl Fn(f64) -> f64) {
        const BATCH: usize = 256;
        let mut pieces = [0u32; BATCH];
        for batch in us.chunks_mut(BATCH) {
            let pieces = &mut pieces[..batch.len()];
            let guide = Guide {
                starts: &self.starts,
                guide: &self.guide,
                scale: self.scale,
            };
            if guided_pieces(guide, batch, pieces) {
                for (piece, &u) in pieces.iter_mut().zip(batch.iter()) {
                    if *piece == SEARCH {
                        *piece = self.piece_of(u);
                    }
                }
            }
            if polynomials(&self.pieces, (self.lo, self.hi), pieces, batch) {
                for (u, &piece) in batch.iter_mut().zip(pieces.iter()) {
                    if piece == BEYOND {
                        *u = exact(*u);
                    }
                }
            }
        }
    }

    /// The index of the piece holding u, or `u32::MAX` when u is beyond the table.
    #[inline(always)]
    fn piece_of(&self, u: f64) -> u32 {
        let top = self.pieces.len() - 1;
        if !(u >= self.starts[0] && u < self.starts[top + 1]) {
            return u32::MAX;
        }
        let k = ((u - self.starts[0]) * self.scale) as usize;
        let g = self.guide[k.min(self.guide.len() - 1)];
        let i = (g & !CROWDED) as usize;
        // Most cells hold at most two pieces: one step without a branch, which would
        // mispredict. A crowded cell, or one that rounding in `k` put u below, searches.
        // Rounding that put u a cell too low can leave it one piece short, but only within
        // an ulp of that piece's end, where its polynomial is as good as the next one's.
        let i = if g & CROWDED != 0 || u < self.starts[i] {
            self.starts[1..=top].partition_point(|&s| s <= u)
        } else {
            i + usize::from(u >= self.starts[i + 1])
        };
        i as u32
    }

    /// Number of polynomial pieces.
    pub fn pieces(&self) -> usize {
        self.pieces.len()
    }
}

/// Marks a u beyond the table, in the pieces `map` computes.
const BEYOND: u32 = u32::MAX;
/// Marks a u whose piece the guide table alone does not give.
const SEARCH: u32 = u32::MAX - 1;

/// What `guided_pieces` reads of a table.
#[derive(Clone, Copy)]
struct Guide<'a> {
    starts: &'a [f64],
    guide: &'a [u32],
    scale: f64,
}

kernel! {
    /// Each u's piece from the guide table as `InverseTable::piece_of` finds it in the common
    /// case: a cell holding at most two pieces, u not below the first. Any other u gets
    /// `SEARCH`; returns whether there was one.
    fn guided_pieces(table: Guide, us: &[f64], pieces: &mut [u32]) -> bool {
        let Guide { starts, guide, scale } = table;
        let (Some(top), Some(last_cell)) = (starts.len().checked_sub(2), guide.len().checked_sub(1))
        else {
            pieces.fill(SEARCH);
            return true;
        };
        let (first, end) = (starts[0], starts[top + 1]);
        let mut search = false;
        for (piece, &u) in pieces.iter_mut().zip(us) {
            let k = ((u - first) * scale) as usize;
            let g = guide[k.min(last_cell)];
            let i = ((g & !CROWDED) as usize).min(top);
            let common = u >= first && u < end && g & CROWDED == 0 && u >= starts[i];
            let found = i as u32 + u32::from(u >= starts[i + 1]);
            *piece = if common { found } else { SEARCH };
            search |= !common;
        }
        search
    }
}

kernel! {
    /// Each u in `us` replaced by its piece's polynomial, clamped to the support `lo..=hi`;
    /// a u whose piece is `BEYOND` is left as it is. Returns whether there was one.
    fn polynomials(table: &[Piece], support: (f64, f64), pieces: &[u32], us: &mut [f64]) -> bool {
        let (lo, hi) = support;
        let Some(last) = table.len().checked_sub(1) else {
            return true;
        };
        let mut beyond = false;
        for (u, &piece) in us.iter_mut().zip(pieces) {
            let x = table[(piece as usize).min(last)].at(*u);
            let x = if x < lo {
                lo
            } else if x > hi {
                hi
            } else {
                x
            };
            let out = piece == BEYOND;
            *u = if out { *u } else { x };
            beyond |= out;
        }
        beyond
    }
}

/// The piece on [a, b] (with F(a) = `ua` already known) and F(b), or `None` when the
/// polynomial misses `U_TOLERANCE` or is not increasing at its test points.
fn fit(a: f64, ua: f64, b: f64, cdf: &impl Fn(f64) -> f64) -> Option<(Piece, f64)> {
    let x = NODES.map(|t| a + (b - a) * t);
    let mut u = [ua; 6];
    for j in 1..6 {
        u[j] = cdf(x[j]);
        // A NaN fails both comparisons and is refused too.
        let increasing = u[j] > u[j - 1];
        if !increasing {
            return None;
        }
    }
    // Newton's divided differences of x over u.
    let mut c = x;
    for k in 1..6 {
        for j in (k..6).rev() {
            c[j] = (c[j] - c[j - 1]) / (u[j] - u[j - k]);
        }
    }
    let piece = Piece::from_newton(&u, &c);
    // The error is largest between nodes: test every midpoint, and a quarter of the way in
    // from each end, where the nodal polynomial peaks when the nodes are crowded there.
    let tests = [
        (0, 0.25),
        (0, 0.5),
        (1, 0.5),
        (2, 0.5),
        (3, 0.5),
        (4, 0.5),
        (4, 0.75),
    ];
    for (j, t) in tests {
        let ut = u[j] + t * (u[j + 1] - u[j]);
        let xt = piece.at(ut);
        // Half the tolerance at the test points: between them the error was seen to reach
        // twice the largest at them (beta(0.5, 0.5) near 0).
        let inside = xt > x[j] && xt < x[j + 1];
        let close = (cdf(xt) - ut).abs() <= 0.5 * U_TOLERANCE;
        if !(inside && close) {
            return None;
        }
    }
    Some((piece, u[5]))
}

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::super::testutil::{assert_ks, dist};
    use super::super::{Dist, DistKind};
    use super::*;
    use crate::rng::Stream;

    /// `map`'s branch-free passes give what the lookup one u at a time gives, for u in
    /// crowded cells, at piece boundaries and beyond both ends, with either kernel copy.
    #[test]
    fn the_batched_lookup_is_the_one_at_a_time_lookup() {
        for (kind, params) in [
            (DistKind::StudentT, &[0.7][..]),
            (DistKind::StudentT, &[3.0][..]),
            (DistKind::Beta, &[0.5, 0.5][..]),
        ] {
            let d = dist(kind, params);
            let table = d.inverse_table().expect("a table");
            let mut us = vec![0.0; 50_000];
            super::super::uniforms(&mut Stream::new(4, 4, 4), &mut us);
            let ends = [table.starts[0], *table.starts.last().expect("an end")];
            for &s in table.starts.iter().chain(&ends) {
                us.extend([
                    s,
                    f64::from_bits(s.to_bits() - 1),
                    f64::from_bits(s.to_bits() + 1),
                ]);
            }
            us.extend([0.0, 1e-300, 0.999_999_999_999, 1.0 - f64::EPSILON / 2.0]);
            let one_at_a_time: Vec<f64> = us
                .iter()
                .map(|&u| match table.pieces.get(table.piece_of(u) as usize) {
                    Some(piece) => piece.at(u).clamp(table.lo, table.hi),
                    None => d.quantile(u),
                })
                .collect();
            for wide in [false, true] {
                crate::simd::use_wide(wide);
                let mut xs = us.clone();
                table.map(&mut xs, |u| d.quantile(u));
                for ((x, want), u) in xs.iter().zip(&one_at_a_time).zip(&us) {
                    assert_eq!(
                        x.to_bits(),
                        want.to_bits(),
                        "{kind:?} at u = {u:e}, wide {wide}"
                    );
                }
            }
        }
    }

    /// Tables of every tabulated family, including awkward shapes: how many pieces, and the
    /// largest |F(x) - u| over many draws, against the exact CDF.
    #[test]
    fn tables_invert_within_the_tolerance() {
        let cases: [(DistKind, &[f64]); 17] = [
            (DistKind::Beta, &[1.0, 1.0]),
            (DistKind::Beta, &[1e5, 2e5]),
            (DistKind::Pert, &[0.0, 0.0, 1.0]),
            (DistKind::Gamma, &[1e6, 3.0]),
            (DistKind::StudentT, &[1e7]),
            (DistKind::Beta, &[2.0, 5.0]),
            (DistKind::Beta, &[10.0, 30.0]),
            (DistKind::Beta, &[0.5, 0.5]),
            (DistKind::Beta, &[0.1, 3.0]),
            (DistKind::Beta, &[2.0, 20.0]),
            (DistKind::Pert, &[0.01, 0.05, 0.15]),
            (DistKind::Gamma, &[2.5, 1.0]),
            (DistKind::Gamma, &[0.3, 4.0]),
            (DistKind::Gamma, &[150.0, 0.01]),
            (DistKind::StudentT, &[3.0]),
            (DistKind::StudentT, &[0.7]),
            (DistKind::StudentT, &[50.0]),
        ];
        for (kind, params) in cases {
            let d = dist(kind, params);
            let start = std::time::Instant::now();
            let Some(table) = d.inverse_table() else {
                println!("{kind:?}{params:?}: no table ({:?})", start.elapsed());
                continue;
            };
            let built = start.elapsed();
            let mut us = vec![0.0; 200_000];
            super::super::uniforms(&mut Stream::new(1, 2, 3), &mut us);
            let mut xs = us.clone();
            table.map(&mut xs, |u| d.quantile(u));
            let cdf = |x: f64| match &d {
                Dist::Beta(d) => d.inverse().cdf(x).0,
                Dist::Pert(d) => d.inverse().cdf(x).0,
                Dist::Gamma(d) => d.inverse().cdf(x).0,
                Dist::StudentT(d) => d.inverse().cdf(x).0,
                _ => unreachable!(),
            };
            // Near the ends of a bounded support, one step between doubles can move F by
            // more than the tolerance, and the polynomial's value is rounded to a few such
            // steps: no inversion in doubles could do better than that there.
            let step = |x: f64| {
                let (down, up) = (
                    f64::from_bits(x.to_bits() - 1),
                    f64::from_bits(x.to_bits() + 1),
                );
                cdf(up) - cdf(down)
            };
            let worst = us
                .iter()
                .zip(&xs)
                .map(|(&u, &x)| (cdf(x) - u).abs() - 4.0 * step(x))
                .fold(0.0, f64::max);
            println!(
                "{kind:?}{params:?}: {} pieces in {built:?}, worst u-error {worst:e}",
                table.pieces()
            );
            // The CDF that measures it is itself off by up to a few 1e-13 for huge shapes.
            assert!(worst <= 1.5 * U_TOLERANCE, "{kind:?}{params:?}: {worst:e}");
            // What the engine draws: a table's draws pass the same test as the exact ones.
            let mut drawn = vec![0.0; 100_000];
            d.fill_from(&table, &mut Stream::new(9, 7, 0), &mut drawn);
            assert_ks(&format!("{kind:?}{params:?} by table"), drawn, cdf);
        }
    }
}
