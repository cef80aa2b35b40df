//! Exact histogram counts: fine equal-width bins on a grid chosen from the run's first chunk.
//!
//! The quantile sketch's buckets are 0.78% of a value wide, which near 1000 is 4–8 units:
//! far wider than the bins of a histogram between p0.5 and p99.5 of a narrow output, so a
//! histogram read off the sketch is a comb. Instead every output also counts its values in
//! [`FINE_BINS`] equal-width bins over a grid that chunk 0 decides (its p0.5 to p99.5,
//! widened by half that range on each side), plus the counts below and above it. Chunk 0 is
//! the same chunk in every run of a model and seed, so the grid is too, and the counts are
//! integers: they merge exactly, in any order. The histogram shown is these counts
//! coarsened to the display bins; only a value outside the grid (a tail that chunk 0 did not
//! foresee) is placed by the sketch instead.

use super::Sketch;
use super::sketch::RELATIVE_ACCURACY;
use crate::simd::kernel;

/// Fine bins per output. A display bin (1/50 of p0.5..p99.5) then spans about ten of them,
/// so splitting the two at its edges in proportion is off by a small fraction of one.
pub const FINE_BINS: usize = 1024;

/// Where the fine bins lie: `bins` bins of equal width from `lo` to `hi`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Grid {
    lo: f64,
    hi: f64,
    /// `FINE_BINS / (hi - lo)`: a value's bin is `floor((x - lo) · scale)`.
    scale: f64,
}

impl Grid {
    /// The grid for an output whose first chunk gave `values` (finite; reordered here), or
    /// `None` when they do not spread (fewer than two distinct values in the central 99%
    /// and none at all in the whole): then the histogram is read from the sketch.
    pub fn from_first_chunk(values: &mut [f64]) -> Option<Grid> {
        if values.len() < 2 {
            return None;
        }
        values.sort_unstable_by(f64::total_cmp);
        let last = values.len() - 1;
        let at = |q: f64| values[((q * last as f64) as usize).min(last)];
        let (mut lo, mut hi) = (at(0.005), at(0.995));
        if hi <= lo {
            (lo, hi) = (values[0], values[last]);
        }
        let range = hi - lo;
        if !(range > 0.0 && range.is_finite()) {
            return None;
        }
        let (lo, hi) = (lo - range / 2.0, hi + range / 2.0);
        let scale = FINE_BINS as f64 / (hi - lo);
        (lo.is_finite() && hi.is_finite() && scale.is_finite() && scale > 0.0).then_some(Grid {
            lo,
            hi,
            scale,
        })
    }

    /// The lower edge of fine bin `i` (`i` in `0..=FINE_BINS`).
    fn edge(&self, i: usize) -> f64 {
        if i >= FINE_BINS {
            self.hi
        } else {
            self.lo + i as f64 / self.scale
        }
    }
}

kernel! {
    /// Each value's slot: 0 below the grid, `1 + bin` on it, `FINE_BINS + 1` above, exactly
    /// as `(x - lo) · scale` compared with 0 and `FINE_BINS` and truncated would place it.
    fn bin_slots(xs: &[f64], lo: f64, scale: f64, slots: &mut [u32]) {
        // 2^52: adding it to a value in [0, 2^51) leaves the value rounded to the nearest
        // integer in the low bits of the sum.
        const MAGIC: f64 = 4_503_599_627_370_496.0;
        let n = FINE_BINS as f64;
        for (slot, &x) in slots.iter_mut().zip(xs) {
            let t = (x - lo) * scale;
            // The bin, floor(t), for t clamped into [0, n): through the magic number and a
            // comparison rather than `as i32`, whose saturating conversion does not vectorise
            // (it cost a tenth of a wide50 run). Plain selects, so a NaN would clamp too.
            let v = if t > 0.0 { t } else { 0.0 };
            let v = if v < n - 0.5 { v } else { n - 0.5 };
            let big = v + MAGIC;
            let nearest = big.to_bits().wrapping_sub(MAGIC.to_bits());
            let floor = nearest - u64::from(big - MAGIC > v);
            let inside = floor as u32 + 1;
            *slot = if t < 0.0 {
                0
            } else if t < n {
                inside
            } else {
                FINE_BINS as u32 + 1
            };
        }
    }
}

/// Counts of an output's finite values on a [`Grid`]; empty (and inert) without one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FineBins {
    grid: Option<Grid>,
    counts: Vec<u64>,
    below: u64,
    above: u64,
}

impl FineBins {
    pub fn new(grid: Option<Grid>) -> FineBins {
        FineBins {
            grid,
            counts: if grid.is_some() {
                vec![0; FINE_BINS]
            } else {
                Vec::new()
            },
            below: 0,
            above: 0,
        }
    }

    pub fn grid(&self) -> Option<Grid> {
        self.grid
    }

    /// Counts `xs`, which must be finite: each value's slot computed a batch at a time in a
    /// loop that vectorises, then the counts incremented. (One value at a time, the
    /// conversion's range checks and the branches cost 10% of a wide50 run.)
    pub fn insert_slice(&mut self, xs: &[f64]) {
        const BATCH: usize = 256;
        let Some(g) = self.grid else {
            return;
        };
        let mut slots = [0u32; BATCH];
        let mut tally = [0u64; FINE_BINS + 2];
        for batch in xs.chunks(BATCH) {
            let slots = &mut slots[..batch.len()];
            bin_slots(batch, g.lo, g.scale, slots);
            for &slot in slots.iter() {
                tally[slot as usize] += 1;
            }
        }
        self.below += tally[0];
        self.above += tally[FINE_BINS + 1];
        for (count, t) in self.counts.iter_mut().zip(&tally[1..=FINE_BINS]) {
            *count += t;
        }
    }

    /// Adds `other`'s counts. Bins of a run share one grid, chunk 0's; an accumulator that
    /// has none yet takes the other's.
    pub fn merge(&mut self, other: &FineBins) {
        if other.grid.is_none() {
            return;
        }
        if self.grid.is_none() {
            *self = other.clone();
            return;
        }
        debug_assert_eq!(
            self.grid, other.grid,
            "bins of one run share chunk 0's grid"
        );
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.below += other.below;
        self.above += other.above;
    }

    /// Heap memory held, in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.counts.capacity() * size_of::<u64>()
    }

    /// The `q` quantile (numpy's 'linear' definition, as [`Sketch::quantile`]), from the fine
    /// bins where they know it better than the sketch: the true value lies in the same fine
    /// bin, so the answer is within one bin's width, where the sketch's is within 0.39% of
    /// the value. The tighter of the two is taken; outside the grid, and at `q` 0 and 1 (the
    /// exact extremes), the sketch answers. `None` when empty or `q` is NaN.
    pub fn quantile(&self, sketch: &Sketch, q: f64) -> Option<f64> {
        let from_sketch = sketch.quantile(q)?;
        let (Some(g), Some(min), Some(max)) = (self.grid, sketch.min(), sketch.max()) else {
            return Some(from_sketch);
        };
        let n = sketch.count();
        let width = 1.0 / g.scale;
        if !(q > 0.0 && q < 1.0 && n >= 2 && width < RELATIVE_ACCURACY * from_sketch.abs()) {
            return Some(from_sketch);
        }
        // The value of rank r sits, among the c values of its bin spread evenly, at the
        // middle of its own 1/c of the bin.
        let target = q * (n - 1) as f64 + 0.5;
        let mut seen = self.below as f64;
        if target < seen {
            return Some(from_sketch);
        }
        for (i, &c) in self.counts.iter().enumerate() {
            let c = c as f64;
            if target < seen + c {
                let x = g.edge(i) + (target - seen) / c * width;
                return Some(x.clamp(min, max));
            }
            seen += c;
        }
        Some(from_sketch)
    }

    /// How many values lie below `x`, as a real number: exact at the fine bins' edges,
    /// linear within a bin, and outside the grid the sketch's estimate, scaled so that it
    /// meets the exact counts below and above the grid. Without a grid, the sketch's.
    /// Non-decreasing in `x`.
    fn count_below(&self, sketch: &Sketch, x: f64) -> f64 {
        let Some(g) = self.grid else {
            return sketch.count_below(x);
        };
        if x <= g.lo {
            let at_lo = sketch.count_below(g.lo);
            return if at_lo > 0.0 {
                self.below as f64 * (sketch.count_below(x) / at_lo).min(1.0)
            } else {
                0.0
            };
        }
        let inside: u64 = self.counts.iter().sum();
        if x >= g.hi {
            let total = sketch.count() as f64;
            let at_hi = total - sketch.count_below(g.hi);
            let beyond = total - sketch.count_below(x);
            let share = if at_hi > 0.0 {
                (beyond / at_hi).clamp(0.0, 1.0)
            } else {
                0.0
            };
            return (self.below + inside) as f64 + self.above as f64 * (1.0 - share);
        }
        let t = (x - g.lo) * g.scale;
        let i = (t as usize).min(FINE_BINS - 1);
        let full: u64 = self.counts[..i].iter().sum();
        let (a, b) = (g.edge(i), g.edge(i + 1));
        let part = if b > a {
            ((x - a) / (b - a)).clamp(0.0, 1.0)
        } else {
            0.0
        };
        (self.below + full) as f64 + part * self.counts[i] as f64
    }

    /// The display histogram: `bins` equal-width bins from `lo` to `hi` (swapped if reversed;
    /// `lo == hi` or `bins == 0` gives one bin). Each bin's count is the difference of the
    /// rounded cumulative counts at its edges, so the counts, `below` and `above` add up to
    /// the sketch's count exactly.
    pub fn histogram(&self, sketch: &Sketch, lo: f64, hi: f64, bins: usize) -> Histogram {
        let (lo, hi) = if hi < lo { (hi, lo) } else { (lo, hi) };
        let bins = if lo == hi { 1 } else { bins.max(1) };
        let width = hi - lo;
        let mut edges: Vec<f64> = (0..=bins)
            .map(|i| lo + width * (i as f64 / bins as f64))
            .collect();
        edges[bins] = hi;
        let total = sketch.count();
        // Rounded, and kept non-decreasing and within the total, so no count is negative.
        let mut previous = 0;
        let cumulative: Vec<u64> = edges
            .iter()
            .enumerate()
            .map(|(i, &e)| {
                // The last edge includes values equal to `hi`.
                let c = if i == bins {
                    total as f64 - self.count_above(sketch, e)
                } else {
                    self.count_below(sketch, e)
                };
                previous = (c.round() as u64).clamp(previous, total);
                previous
            })
            .collect();
        Histogram {
            counts: cumulative.windows(2).map(|w| w[1] - w[0]).collect(),
            below: cumulative[0],
            above: total - cumulative[bins],
            edges,
        }
    }

    /// How many values lie above `x` (the mirror of `count_below`, which for a continuous
    /// spread is `total - count_below`; at an atom it leaves the atom below).
    fn count_above(&self, sketch: &Sketch, x: f64) -> f64 {
        if x >= sketch.max().unwrap_or(f64::NEG_INFINITY) {
            return 0.0;
        }
        sketch.count() as f64 - self.count_below(sketch, x)
    }
}

/// Counts of an output's values in equal-width bins, for display.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Histogram {
    /// `bins + 1` bin edges from `lo` to `hi`; bin `i` is `[edges[i], edges[i + 1])`, and the
    /// last bin also holds values equal to `hi`.
    pub edges: Vec<f64>,
    pub counts: Vec<u64>,
    /// Count of values below `lo`.
    pub below: u64,
    /// Count of values above `hi`.
    pub above: u64,
}

impl Histogram {
    /// Total count: the bins, below and above.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum::<u64>() + self.below + self.above
    }

    /// The cumulative distribution the histogram implies, as `(x, P(value ≤ x))` at every
    /// edge (the chart draws straight lines between them). Empty for an empty histogram.
    pub fn cumulative(&self) -> Vec<(f64, f64)> {
        let total = self.total();
        if total == 0 {
            return Vec::new();
        }
        let mut seen = self.below;
        let mut points = Vec::with_capacity(self.edges.len());
        points.push((self.edges[0], seen as f64 / total as f64));
        for (edge, &c) in self.edges[1..].iter().zip(&self.counts) {
            seen += c;
            points.push((*edge, seen as f64 / total as f64));
        }
        points
    }
}
