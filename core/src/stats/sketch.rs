//! A DDSketch-style quantile sketch: relative-error buckets, integer counts, exact merges.
//!
//! The sketch follows Masson, Rim and Lee, "DDSketch: a fast and fully-mergeable quantile
//! sketch with relative-error guarantees" (VLDB 2019), with their linearly interpolated
//! mapping at 128 buckets per binade: a positive value `x = 2^e (1 + s)` goes to the bucket
//! `128 e + floor(128 s)`, which is its exponent and top seven mantissa bits, read off the
//! double with one shift. Every value in a bucket lies within 0.39% of the bucket's
//! representative value, so any quantile the sketch reports is within 0.39% of the true
//! order statistic of the same rank. The two exceptions: magnitudes below
//! `f64::MIN_POSITIVE` count as zero, and magnitudes more than `MAX_BUCKETS` buckets (about
//! 19 decades) below the largest of their sign are collapsed into that lowest bucket, which
//! bounds the memory.
//!
//! Why this mapping rather than DDSketch's cubic one (70 buckets per binade for 0.5%): the
//! cubic costs a polynomial and a float-to-integer conversion per value, and the sketch sees
//! every value of every output. The shift made inserting twice as fast for 80% more
//! buckets, which are a few KiB for a typical output.
//!
//! The state is a pair of integer count arrays (one per sign) plus a zero count and the
//! exact min and max, so merging is addition: sketches built from any split of the data,
//! merged in any order, are equal, down to the bits of every query.

use std::sync::OnceLock;

use super::Moments;
use crate::simd::kernel;

/// Mantissa bits in a bucket index: 2^7 = 128 buckets per binade (per factor of two).
///
/// Bucket `j` of a binade holds mantissas `[1 + j/128, 1 + (j+1)/128)`, a ratio of at most
/// `129/128` between its ends. With representative `2ab/(a + b)` (the harmonic mean of its
/// bounds), the relative error is at most `(b - a)/(a + b) = 1/257` for every value in it.
const MANTISSA_BITS: u32 = 7;
const PER_BINADE: i32 = 1 << MANTISSA_BITS;

/// Guaranteed relative error of every bucket's representative value, `1/257` rounded up.
pub const RELATIVE_ACCURACY: f64 = 0.0039;

/// Most buckets a store keeps per sign. 8192 buckets of at most 0.78% span a factor of
/// `2^64`, about 19 decades, so only data with a wider range of magnitudes ever collapses;
/// at 8 bytes per count that bounds a sketch at 128 KiB, though typical outputs need a few
/// KiB.
pub const MAX_BUCKETS: usize = 8192;

/// The bucket of a positive normal double, given its bits: `128 · biased_exponent + j` with
/// `j` in 0..128 the top mantissa bits, so it is always positive (at least 128).
#[inline(always)]
fn bucket_index(bits: u64) -> i32 {
    ((bits >> (52 - MANTISSA_BITS)) & ((1 << (11 + MANTISSA_BITS)) - 1)) as i32
}

kernel! {
    /// Each value's key: its sign in the top bit (which store) over its bucket index (below
    /// 2^18). True when a value is zero, subnormal or not finite, whose key is meaningless.
    fn batch_keys(batch: &[f64], keys: &mut [u32]) -> bool {
        let mut special = false;
        for (key, &x) in keys.iter_mut().zip(batch) {
            let bits = x.to_bits();
            let biased = (bits >> 52) as i32 & 0x7ff;
            // Biased exponent 0 is zero or subnormal, 0x7ff infinite or NaN: one compare
            // (0 wraps to u32::MAX) catches both.
            special |= (biased as u32).wrapping_sub(1) >= 0x7fe;
            *key = ((bits >> 63) as u32) << 31 | bucket_index(bits) as u32;
        }
        special
    }
}

/// Representative mantissas (in [1, 2)) of the 128 buckets of a binade: the harmonic mean
/// `2ab/(a + b)` of each bucket's bounds, which makes the worst relative error at the two
/// ends equal. Basic operations on exact bounds, so the same bits on every target.
fn mantissa_representatives() -> &'static [f64; PER_BINADE as usize] {
    static TABLE: OnceLock<[f64; PER_BINADE as usize]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let bound = |j: i32| 1.0 + f64::from(j) / f64::from(PER_BINADE);
        let mut table = [0.0; PER_BINADE as usize];
        for (j, rep) in (0..).zip(table.iter_mut()) {
            let (a, b) = (bound(j), bound(j + 1));
            *rep = 2.0 * a * b / (a + b);
        }
        table
    })
}

/// The representative magnitude of bucket `index` (at least 128, see `bucket_index`).
#[inline]
fn representative(table: &[f64; PER_BINADE as usize], index: i32) -> f64 {
    let biased = index.div_euclid(PER_BINADE).clamp(1, 2046);
    let j = index.rem_euclid(PER_BINADE) as usize;
    f64::from_bits((biased as u64) << 52) * table[j]
}

/// `v` limited to [lo, hi]; unlike `f64::clamp` it cannot panic (the empty sketch's bounds
/// are +inf and -inf).
#[inline]
fn clamp(v: f64, lo: f64, hi: f64) -> f64 {
    if v < lo {
        lo
    } else if v > hi {
        hi
    } else {
        v
    }
}

/// Buckets added below a store's window when a value falls under it.
const DOWNWARD_SLACK: usize = 64;

/// Bucket counts of one sign: a dense window of counts whose top is the largest index ever
/// added.
///
/// When an index arrives more than `MAX_BUCKETS - 1` above the lowest, the lowest buckets
/// collapse into the bucket `floor = top - MAX_BUCKETS + 1` (DDSketch's collapsing-lowest
/// store). Because the floor depends only on the largest index seen and only ever rises,
/// a value of index `k` ends in bucket `max(k, final floor)` whatever the order of arrival
/// or merging, which is what keeps merges exact with collapsing.
#[derive(Clone, Debug, Default)]
struct Store {
    /// `counts[k]` is the count of bucket `offset + k`. The last entry is the top and is
    /// never zero; leading entries may be zero (slack left when growing downward).
    counts: Vec<u64>,
    offset: i32,
}

impl Store {
    #[inline]
    fn add(&mut self, index: i32, n: u64) {
        // A negative difference wraps to a huge index and takes the slow path too.
        let k = index.wrapping_sub(self.offset) as u32 as usize;
        match self.counts.get_mut(k) {
            Some(count) => *count += n,
            None => self.add_outside(index, n),
        }
    }

    #[cold]
    fn add_outside(&mut self, index: i32, n: u64) {
        if self.counts.is_empty() {
            self.offset = index;
            self.counts.push(n);
            return;
        }
        let top = self.offset + self.counts.len() as i32 - 1;
        let limit = MAX_BUCKETS as i32;
        if index > top {
            let floor = index - limit + 1;
            let mut collapsed = 0;
            if floor > self.offset {
                let cut = ((floor - self.offset) as usize).min(self.counts.len());
                collapsed = self.counts.drain(..cut).sum();
                self.offset = floor;
            }
            let len = (index - self.offset + 1) as usize;
            self.reserve_total(len);
            self.counts.resize(len, 0);
            self.counts[0] += collapsed;
            self.counts[len - 1] += n;
        } else {
            // Below the window (the fast path took everything inside it).
            let floor = top - limit + 1;
            let target = index.max(floor);
            if target < self.offset {
                // Grow downward by at least `DOWNWARD_SLACK` buckets (but never below the
                // floor), so a descending stream shifts the counts once per 64 new buckets
                // rather than once per bucket, while a sketch holds at most 63 idle ones.
                let need = (self.offset - target) as usize;
                let room = (self.offset - floor) as usize;
                let grow = need.max(DOWNWARD_SLACK).min(room);
                self.reserve_total(self.counts.len() + grow);
                self.counts.splice(0..0, std::iter::repeat_n(0, grow));
                self.offset -= grow as i32;
            }
            self.counts[(target - self.offset) as usize] += n;
        }
    }

    /// Makes room for `len` counts, growing by half (amortised O(1) per count, at most a
    /// third of the allocation idle) but never past `MAX_BUCKETS`, so the memory bound holds
    /// for the allocation and not just for the length.
    fn reserve_total(&mut self, len: usize) {
        let capacity = self.counts.capacity();
        if len > capacity {
            let want = (capacity + capacity / 2).clamp(len, MAX_BUCKETS.max(len));
            self.counts.reserve_exact(want - self.counts.len());
        }
    }

    fn merge(&mut self, other: &Store) {
        // Top bucket first, so any collapse happens once, before the lower buckets arrive.
        for (index, n) in other.nonzero().rev() {
            self.add(index, n);
        }
    }

    /// Non-empty buckets as `(index, count)`, in increasing index order.
    fn nonzero(&self) -> impl DoubleEndedIterator<Item = (i32, u64)> + '_ {
        (self.offset..self.offset + self.counts.len() as i32)
            .zip(self.counts.iter().copied())
            .filter(|&(_, n)| n > 0)
    }

    /// The window without its leading zeros: the canonical state.
    fn trimmed(&self) -> (i32, &[u64]) {
        match self.counts.iter().position(|&n| n > 0) {
            Some(skip) => (self.offset + skip as i32, &self.counts[skip..]),
            None => (0, &[]),
        }
    }

    fn heap_bytes(&self) -> usize {
        self.counts.capacity() * size_of::<u64>()
    }
}

impl PartialEq for Store {
    fn eq(&self, other: &Store) -> bool {
        self.trimmed() == other.trimmed()
    }
}

/// The smallest and largest of `xs` (finite values), as their moments find them; NaN when
/// empty. Only for callers that do not know them already: a run's chunks do.
fn extremes(xs: &[f64]) -> (f64, f64) {
    let m = Moments::from_slice(xs);
    (m.min(), m.max())
}

/// A mergeable quantile sketch with 0.39% relative accuracy (see the module docs).
///
/// Values with magnitude below `f64::MIN_POSITIVE` (zeros and subnormals) are counted as
/// zero; non-finite values are skipped and not counted. Equality compares the logical
/// state (bucket counts, zero count, min and max), not the allocation.
#[derive(Clone, Debug)]
pub struct Sketch {
    /// Magnitudes of the positive values (`stores[0]`) and of the negative values
    /// (`stores[1]`), indexed by the sign bit.
    stores: [Store; 2],
    zero: u64,
    count: u64,
    /// Exact extremes, to clamp representatives: the 0 and 1 quantiles are then exact and no
    /// answer lies outside the data. +inf / -inf while empty.
    min: f64,
    max: f64,
}

impl Default for Sketch {
    fn default() -> Sketch {
        Sketch::new()
    }
}

impl PartialEq for Sketch {
    fn eq(&self, other: &Sketch) -> bool {
        self.count == other.count
            && self.zero == other.zero
            && self.min.to_bits() == other.min.to_bits()
            && self.max.to_bits() == other.max.to_bits()
            && self.stores == other.stores
    }
}

impl Sketch {
    /// An empty sketch. It allocates nothing until values arrive.
    pub fn new() -> Sketch {
        Sketch {
            stores: Default::default(),
            zero: 0,
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    /// Adds every finite value of `xs`; NaN and infinities are skipped and not counted.
    pub fn insert_slice(&mut self, xs: &[f64]) {
        self.insert_batches(xs, None);
    }

    /// [`Sketch::insert_slice`] for values whose smallest and largest the caller has found
    /// already ([`crate::stats::Moments::from_slice`] does): the same result, without a pass
    /// to find them again. `min` and `max` must be those of `xs`.
    pub fn insert_slice_with_extremes(&mut self, xs: &[f64], min: f64, max: f64) {
        self.insert_batches(xs, Some((min, max)));
    }

    /// Two passes over batches: the first computes every bucket key with no branch (it
    /// vectorises), the second only increments counts. In one fused loop the increment's
    /// address came out of a long chain of arithmetic, and the processor, unable to tell
    /// whether a load of the next count aliased the last store, ran at a third of the speed.
    /// A batch holding a zero, subnormal or non-finite value takes the one-value path.
    fn insert_batches(&mut self, xs: &[f64], mut known: Option<(f64, f64)>) {
        const BATCH: usize = 256;
        let mut keys = [0u32; BATCH];
        let window = known.and_then(|extremes| self.cover(extremes));
        for (b, batch) in xs.chunks(BATCH).enumerate() {
            let keys = &mut keys[..batch.len()];
            if batch_keys(batch, keys) {
                // Known extremes may be a -0.0 or a subnormal, which count as +0.0 here:
                // the batches before this one give theirs instead.
                if known.take().is_some() {
                    self.include(extremes(&xs[..b * BATCH]));
                }
                batch.iter().for_each(|&x| self.insert(x));
                continue;
            }
            if known.is_none() {
                self.include(extremes(batch));
            }
            self.count += batch.len() as u64;
            if let Some(sign) = window {
                // Every key is in the store's window: plain increments, with the window's
                // place and the counts' slice in registers. (Through the `Vec`, each increment
                // might have changed its pointer, which was then loaded again after every one:
                // a chain from store to load through the whole batch.)
                let store = &mut self.stores[sign];
                let offset = store.offset;
                let counts = &mut store.counts[..];
                let mut outside = keys.len();
                for (k, &key) in keys.iter().enumerate() {
                    let index = (key & 0x7fff_ffff) as i32;
                    match counts.get_mut(index.wrapping_sub(offset) as usize) {
                        Some(count) => *count += 1,
                        None => {
                            outside = k;
                            break;
                        }
                    }
                }
                // Not reached while `cover` holds, but counted right if it were.
                for &key in &keys[outside..] {
                    store.add((key & 0x7fff_ffff) as i32, 1);
                }
                continue;
            }
            for &key in keys.iter() {
                // Indexing by the sign bit rather than branching on it: outputs whose sign
                // is a coin toss would otherwise mispredict on every other value.
                self.stores[(key >> 31) as usize].add((key & 0x7fff_ffff) as i32, 1);
            }
        }
        if let Some(extremes) = known {
            self.include(extremes);
        }
    }

    /// For values of one sign between `min` and `max` (both normal numbers): widens that
    /// sign's store to hold every bucket between them, and returns the sign, unless the range
    /// needs buckets to collapse. Then a batch of them can be counted without a check of the
    /// window per value. Growing to the top bucket before its value is counted, and to the
    /// lowest, ends in the same state as counting the values one by one.
    fn cover(&mut self, (min, max): (f64, f64)) -> Option<usize> {
        let normal = |v: f64| (f64::MIN_POSITIVE..=f64::MAX).contains(&v);
        let (sign, low, high) = if normal(min) && normal(max) {
            (0, min, max)
        } else if normal(-max) && normal(-min) {
            (1, -max, -min)
        } else {
            return None;
        };
        let (low, high) = (bucket_index(low.to_bits()), bucket_index(high.to_bits()));
        let store = &mut self.stores[sign];
        store.add(high, 0);
        store.add(low, 0);
        let covered = store.offset <= low && high < store.offset + store.counts.len() as i32;
        covered.then_some(sign)
    }

    /// Widens the extremes to take in `(min, max)`.
    fn include(&mut self, (min, max): (f64, f64)) {
        self.min = if min < self.min { min } else { self.min };
        self.max = if max > self.max { max } else { self.max };
    }

    /// Adds one value; NaN and infinities are skipped and not counted.
    pub fn insert(&mut self, x: f64) {
        let bits = x.to_bits();
        let biased = (bits >> 52) as i32 & 0x7ff;
        if biased == 0x7ff {
            return;
        }
        self.count += 1;
        if biased == 0 {
            // Counted as +0.0 for the extremes too, so that -0.0 and +0.0 arriving in either
            // order leave the same bits.
            self.zero += 1;
            self.min = if 0.0 < self.min { 0.0 } else { self.min };
            self.max = if 0.0 > self.max { 0.0 } else { self.max };
            return;
        }
        self.min = if x < self.min { x } else { self.min };
        self.max = if x > self.max { x } else { self.max };
        self.stores[(bits >> 63) as usize].add(bucket_index(bits), 1);
    }

    /// Adds the values summarised by `other`. Exact: any split of the data merged in any
    /// order gives an equal sketch.
    pub fn merge(&mut self, other: &Sketch) {
        for (store, theirs) in self.stores.iter_mut().zip(&other.stores) {
            store.merge(theirs);
        }
        self.zero += other.zero;
        self.count += other.count;
        if other.min < self.min {
            self.min = other.min;
        }
        if other.max > self.max {
            self.max = other.max;
        }
    }

    /// Number of values added.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Exact smallest value (zeros and subnormals count as `0.0`); `None` when empty.
    pub fn min(&self) -> Option<f64> {
        (self.count > 0).then_some(self.min)
    }

    /// Exact largest value (zeros and subnormals count as `0.0`); `None` when empty.
    pub fn max(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max)
    }

    /// Heap memory held by the bucket arrays, in bytes (at most `2 · 8 · MAX_BUCKETS`).
    pub fn heap_bytes(&self) -> usize {
        self.stores.iter().map(Store::heap_bytes).sum()
    }

    /// The `q` quantile, `q` in [0, 1] (clamped), with numpy's default ('linear')
    /// definition: rank `q (n - 1)` in the sorted values, interpolating between the two
    /// neighbouring ranks. Each of those is approximated by its bucket's representative, so
    /// the answer is within 0.39% of `(1 - f)|x_lo| + f|x_hi|` of the exact one (plain
    /// relative error when the neighbours have one sign). `None` when empty or `q` is NaN.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 || q.is_nan() {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * (self.count - 1) as f64;
        let lo = rank.floor();
        let frac = rank - lo;
        let lo = lo as u64;
        let hi = (lo + 1).min(self.count - 1);

        let lo_value = self.value_at_rank(lo);
        if frac == 0.0 {
            return Some(lo_value);
        }
        let hi_value = self.value_at_rank(hi);
        Some(clamp(
            lo_value + frac * (hi_value - lo_value),
            self.min,
            self.max,
        ))
    }

    /// The sketch's estimate of the value of 0-based rank `rank` in sorted order: the exact
    /// extreme at either end, otherwise its bucket's representative.
    fn value_at_rank(&self, rank: u64) -> f64 {
        if rank == 0 {
            return self.min;
        }
        if rank + 1 >= self.count {
            return self.max;
        }
        let mut seen = 0;
        for (value, n) in self.buckets() {
            seen += n;
            if seen > rank {
                return value;
            }
        }
        // Unreachable while the counts add up to `count`; answering the maximum keeps every
        // path panic-free.
        self.max
    }

    /// Mean of the lowest `frac` share of the values (`frac` in [0, 1], clamped; NaN counts
    /// as 0), e.g. 0.05 for the mean of the worst 5%: whole buckets by their representatives,
    /// the last one weighted by the share of it that is needed. `frac = 0` gives the
    /// minimum. NaN when empty (like [`crate::stats::Moments::min`]: callers check
    /// [`Sketch::count`]).
    pub fn tail_mean_low(&self, frac: f64) -> f64 {
        self.tail_mean(frac, self.min, self.buckets())
    }

    /// Mean of the highest `frac` share of the values; see [`Sketch::tail_mean_low`].
    pub fn tail_mean_high(&self, frac: f64) -> f64 {
        self.tail_mean(frac, self.max, self.buckets().rev())
    }

    fn tail_mean(&self, frac: f64, extreme: f64, buckets: impl Iterator<Item = (f64, u64)>) -> f64 {
        if self.count == 0 {
            return f64::NAN;
        }
        // `clamp` leaves NaN alone; it goes to the extreme with 0.
        let weight = frac.clamp(0.0, 1.0) * self.count as f64;
        if weight.is_nan() || weight <= 0.0 {
            return extreme;
        }
        let mut remaining = weight;
        let mut sum = 0.0;
        for (value, n) in buckets {
            let take = (n as f64).min(remaining);
            sum += take * value;
            remaining -= take;
            if remaining <= 0.0 {
                break;
            }
        }
        clamp(sum / weight, self.min, self.max)
    }

    /// An estimate of how many values lie below `x`: whole buckets below it, and the bucket
    /// that holds `x` in proportion to where `x` falls between its bounds (the bounds clamped
    /// to the exact min and max; zero is an atom). Non-decreasing in `x`; 0 for NaN.
    pub fn count_below(&self, x: f64) -> f64 {
        if self.count == 0 || x.is_nan() || x <= self.min {
            return 0.0;
        }
        if x > self.max {
            return self.count as f64;
        }
        let mut below = 0.0;
        for (lower, upper, n) in self.bucket_bounds() {
            if x >= upper && upper > lower || x > upper {
                below += n as f64;
            } else {
                if x > lower && upper > lower {
                    below += n as f64 * (x - lower) / (upper - lower);
                }
                break;
            }
        }
        below
    }

    /// Non-empty buckets as `(lower, upper, count)` in increasing value order: the range of
    /// values each bucket holds, clamped to the exact [min, max] (zero as `(0, 0, count)`).
    fn bucket_bounds(&self) -> impl Iterator<Item = (f64, f64, u64)> + '_ {
        let (min, max) = (self.min, self.max);
        let clamp = move |v: f64| clamp(v, min, max);
        let magnitude = |index: i32| {
            let biased = index.div_euclid(PER_BINADE).clamp(1, 2046);
            let j = index.rem_euclid(PER_BINADE);
            let binade = f64::from_bits((biased as u64) << 52);
            (
                binade * (1.0 + f64::from(j) / f64::from(PER_BINADE)),
                binade * (1.0 + f64::from(j + 1) / f64::from(PER_BINADE)),
            )
        };
        let [positive, negative] = &self.stores;
        let negative = negative.nonzero().rev().map(move |(i, n)| {
            let (a, b) = magnitude(i);
            (clamp(-b), clamp(-a), n)
        });
        let zero = (self.zero > 0).then_some((clamp(0.0), clamp(0.0), self.zero));
        let positive = positive.nonzero().map(move |(i, n)| {
            let (a, b) = magnitude(i);
            (clamp(a), clamp(b), n)
        });
        negative.chain(zero).chain(positive)
    }

    /// Non-empty buckets as `(representative value, count)` in increasing value order, the
    /// representatives clamped to the exact [min, max].
    fn buckets(&self) -> impl DoubleEndedIterator<Item = (f64, u64)> + '_ {
        let table = mantissa_representatives();
        let (min, max) = (self.min, self.max);
        let clamp = move |v: f64| clamp(v, min, max);
        let [positive, negative] = &self.stores;
        let negative = negative
            .nonzero()
            .rev()
            .map(move |(i, n)| (clamp(-representative(table, i)), n));
        let zero = (self.zero > 0).then_some((clamp(0.0), self.zero));
        let positive = positive
            .nonzero()
            .map(move |(i, n)| (clamp(representative(table, i)), n));
        negative.chain(zero).chain(positive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::bins::{FineBins, Histogram};

    #[test]
    fn known_extremes_give_the_same_sketch() {
        let mut rng = Stream::new(4, 0, 0);
        let plain: Vec<f64> = (0..1000).map(|_| rng.next_f64() * 10.0 - 3.0).collect();
        let mut cases = vec![plain.clone(), Vec::new()];
        // Zeros and a subnormal in the first, a middle and the last batch of 256.
        for at in [0, 300, 999] {
            for odd in [-0.0, 0.0, -1e-310] {
                let mut values = plain.clone();
                values[at] = odd;
                cases.push(values);
            }
        }
        cases.push(vec![-0.0, -0.0]);
        for values in cases {
            let m = crate::stats::Moments::from_slice(&values);
            let mut known = Sketch::new();
            known.insert_slice_with_extremes(&values, m.min(), m.max());
            let mut found = Sketch::new();
            found.insert_slice(&values);
            assert!(known == found, "{:?}", &values[..3]);
        }
    }

    use crate::rng::Stream;
    use crate::stats::testutil::{normals, uniforms};

    /// numpy's default ('linear') quantile of sorted data.
    fn exact_quantile(sorted: &[f64], q: f64) -> (f64, f64) {
        let rank = q * (sorted.len() - 1) as f64;
        let lo = rank.floor() as usize;
        let frac = rank - lo as f64;
        let hi = (lo + 1).min(sorted.len() - 1);
        let (a, b) = (sorted[lo], sorted[hi]);
        // The scale the error is measured against: |exact| when both neighbours have one
        // sign, and more than that when they straddle zero, where relative error means
        // nothing.
        let scale = (1.0 - frac) * a.abs() + frac * b.abs();
        (a + frac * (b - a), scale)
    }

    fn sketch_of(values: &[f64]) -> Sketch {
        let mut sketch = Sketch::new();
        sketch.insert_slice(values);
        sketch
    }

    fn sorted(values: &[f64]) -> Vec<f64> {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted
    }

    const QUANTILES: [f64; 10] = [0.01, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99, 0.999];

    fn distributions(n: usize) -> Vec<(&'static str, Vec<f64>)> {
        let z = normals(11, n);
        let z2 = normals(12, n);
        let u = uniforms(13, n);
        let mut pick = Stream::new(14, 0, 0);
        vec![
            ("lognormal(0,1)", z.iter().map(|&z| libm::exp(z)).collect()),
            (
                "0.5 N(-5,1) + 0.5 N(10,2)",
                z2.iter()
                    .map(|&z| {
                        if pick.next_f64() < 0.5 {
                            -5.0 + z
                        } else {
                            10.0 + 2.0 * z
                        }
                    })
                    .collect(),
            ),
            ("uniform(0,1)", u.clone()),
            ("N(0,1)", z.clone()),
            (
                "uniform(-1000,-1)",
                u.iter().map(|&u| -1000.0 + 999.0 * u).collect(),
            ),
        ]
    }

    #[test]
    fn quantiles_within_one_percent_of_exact() {
        for (name, values) in distributions(1_000_000) {
            let sketch = sketch_of(&values);
            let sorted = sorted(&values);
            assert_eq!(sketch.count(), values.len() as u64);
            let mut line = format!("{name:>26}:");
            for q in QUANTILES {
                let (exact, scale) = exact_quantile(&sorted, q);
                let got = sketch.quantile(q).unwrap_or(f64::NAN);
                let err = (got - exact).abs() / scale;
                line += &format!(" p{}={err:.5}", q * 100.0);
                assert!(err <= 0.01, "{name} q={q}: got {got}, exact {exact}");
                assert!(
                    err <= RELATIVE_ACCURACY,
                    "{name} q={q}: got {got}, exact {exact}"
                );
            }
            println!("{line}");
            assert_eq!(sketch.quantile(0.0), Some(sorted[0]));
            assert_eq!(sketch.quantile(1.0), sorted.last().copied());
        }
    }

    #[test]
    fn every_representative_is_within_the_guarantee() {
        // Values sweeping several binades finely, including both ends of each binade.
        let mut x = 0.25f64;
        while x < 64.0 {
            for v in [x, -x, x.next_up(), x.next_down()] {
                let mut sketch = Sketch::new();
                sketch.insert(v);
                sketch.insert(v * 1e-3); // keeps min/max from clamping the answer to v
                sketch.insert(v * 1e3);
                let got = sketch.quantile(0.5).unwrap_or(f64::NAN);
                assert!(
                    ((got - v) / v).abs() <= RELATIVE_ACCURACY,
                    "{v}: representative {got}"
                );
            }
            x *= 1.0007;
        }
        // Extremes of the double range.
        for v in [f64::MIN_POSITIVE, f64::MAX, -f64::MAX, 1e-300, 1e300] {
            let table = mantissa_representatives();
            let bits = v.abs().to_bits();
            let rep = representative(table, bucket_index(bits));
            assert!(
                ((rep - v.abs()) / v.abs()).abs() <= RELATIVE_ACCURACY,
                "{v}: {rep}"
            );
        }
    }

    /// The display histogram from the sketch alone (no fine bins).
    fn histogram(sketch: &Sketch, lo: f64, hi: f64, bins: usize) -> Histogram {
        FineBins::default().histogram(sketch, lo, hi, bins)
    }

    /// Every query's bits and the whole state, for comparing sketches.
    fn fingerprint(sketch: &Sketch) -> Vec<u64> {
        let mut out = vec![sketch.count()];
        for q in QUANTILES.into_iter().chain([0.0, 0.333, 1.0]) {
            out.push(sketch.quantile(q).map_or(0, f64::to_bits));
        }
        for f in [0.01, 0.05, 0.5] {
            out.push(sketch.tail_mean_low(f).to_bits());
            out.push(sketch.tail_mean_high(f).to_bits());
        }
        let h = histogram(sketch, -3.0, 7.0, 50);
        out.extend(h.counts);
        out.extend([h.below, h.above]);
        out
    }

    /// Pieces of `values` with lengths drawn from 0..2 * mean_len.
    fn random_pieces(values: &[f64], seed: u64, mean_len: usize) -> Vec<Sketch> {
        let mut lengths = Stream::new(seed, 0, 0);
        let mut pieces = Vec::new();
        let mut rest = values;
        while !rest.is_empty() {
            let len = (lengths.next_u32() as usize % (2 * mean_len)).min(rest.len());
            let (head, tail) = rest.split_at(len);
            pieces.push(sketch_of(head));
            rest = tail;
        }
        pieces
    }

    fn merge_all<'a>(pieces: impl Iterator<Item = &'a Sketch>) -> Sketch {
        let mut acc = Sketch::new();
        for piece in pieces {
            acc.merge(piece);
        }
        acc
    }

    fn merge_tree(pieces: &[Sketch]) -> Sketch {
        match pieces {
            [] => Sketch::new(),
            [one] => one.clone(),
            _ => {
                let (a, b) = pieces.split_at(pieces.len() / 2);
                let mut left = merge_tree(a);
                left.merge(&merge_tree(b));
                left
            }
        }
    }

    fn assert_order_invariant(values: &[f64], what: &str) {
        let whole = sketch_of(values);
        let reversed = {
            let mut s = Sketch::new();
            for &x in values.iter().rev() {
                s.insert(x);
            }
            s
        };
        let pieces = random_pieces(values, 21, 3000);
        let mut shuffled: Vec<&Sketch> = pieces.iter().collect();
        let mut rng = Stream::new(22, 0, 0);
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, rng.next_u32() as usize % (i + 1));
        }
        let candidates = [
            ("reversed insertion", reversed),
            ("pieces in order", merge_all(pieces.iter())),
            ("pieces reversed", merge_all(pieces.iter().rev())),
            ("pieces shuffled", merge_all(shuffled.into_iter())),
            ("pieces as a tree", merge_tree(&pieces)),
            ("other pieces", merge_tree(&random_pieces(values, 23, 100))),
        ];
        let want = fingerprint(&whole);
        for (how, sketch) in candidates {
            assert!(sketch == whole, "{what}: {how}: state differs");
            assert_eq!(fingerprint(&sketch), want, "{what}: {how}: answers differ");
        }
    }

    #[test]
    fn merge_order_and_split_do_not_matter() {
        for (name, values) in distributions(200_000) {
            assert_order_invariant(&values, name);
        }
        let mut signed_zeros = normals(5, 10_000);
        for (i, x) in signed_zeros.iter_mut().enumerate().step_by(7) {
            *x = if i % 2 == 0 { 0.0 } else { -0.0 };
        }
        assert_order_invariant(&signed_zeros, "with signed zeros");
    }

    /// Magnitudes from 1e-200 to 1e200 need about 93,000 buckets, far past `MAX_BUCKETS`.
    fn huge_range(seed: u64, n: usize) -> Vec<f64> {
        let mut rng = Stream::new(seed, 0, 0);
        (0..n)
            .map(|_| {
                let magnitude = libm::exp10(-200.0 + 400.0 * rng.next_f64());
                if rng.next_f64() < 0.3 {
                    -magnitude
                } else {
                    magnitude
                }
            })
            .collect()
    }

    #[test]
    fn collapsing_keeps_merges_exact_and_memory_bounded() {
        let values = huge_range(31, 100_000);
        assert_order_invariant(&values, "huge range");
        let sketch = sketch_of(&values);
        assert_eq!(sketch.count(), 100_000);
        assert!(sketch.heap_bytes() <= 2 * 8 * MAX_BUCKETS);
        assert_eq!(sketch.stores[0].counts.len(), MAX_BUCKETS);

        // Only the smallest magnitudes lose accuracy: the upper quantiles are still within
        // the guarantee.
        let sorted = sorted(&values);
        // Positive magnitudes above about 1e181 are intact (19 decades below the top);
        // these quantiles are at about 1e189, 1e194 and 1e199.
        for q in [0.98, 0.99, 0.999] {
            let (exact, _) = exact_quantile(&sorted, q);
            let got = sketch.quantile(q).unwrap_or(f64::NAN);
            assert!(((got - exact) / exact).abs() <= RELATIVE_ACCURACY, "q={q}");
        }
        let h = histogram(&sketch, -1.0, 1.0, 10);
        assert_eq!(h.counts.iter().sum::<u64>() + h.below + h.above, 100_000);

        // A strictly descending stream grows the window downward one bucket at a time.
        let mut descending = Sketch::new();
        let mut x = 1e300;
        while x > 1e-300 {
            descending.insert(x);
            x *= 0.999;
        }
        assert!(descending.heap_bytes() <= 8 * MAX_BUCKETS);
        let mut ascending = Sketch::new();
        while x < 1e300 {
            x /= 0.999;
            ascending.insert(x);
        }
        assert_eq!(ascending.count(), descending.count());
    }

    #[test]
    fn histogram_counts_add_up() {
        for (name, values) in distributions(100_000) {
            let sketch = sketch_of(&values);
            for (lo, hi, bins) in [
                (-1.0, 1.0, 20),
                (0.0, 10.0, 7),
                (-500.0, -100.0, 40),
                (2.0, 2.0, 10),
                (5.0, -5.0, 3),
                (0.0, 1.0, 0),
            ] {
                let h = histogram(&sketch, lo, hi, bins);
                assert_eq!(h.edges.len(), h.counts.len() + 1, "{name}");
                assert_eq!(h.counts.iter().sum::<u64>() + h.below + h.above, 100_000);
            }
        }
        // uniform(0,1) in ten bins: each holds about a tenth (bucket edges move values by
        // at most 0.39%, so only the bins' borders blur).
        let sketch = sketch_of(&uniforms(40, 100_000));
        let h = histogram(&sketch, 0.0, 1.0, 10);
        assert_eq!((h.below, h.above), (0, 0));
        assert_eq!(h.edges[10], 1.0);
        for &c in &h.counts {
            assert!((9_000..11_000).contains(&c), "{h:?}");
        }
    }

    #[test]
    fn tail_means_match_exact_tails() {
        for (name, values) in distributions(200_000) {
            let sketch = sketch_of(&values);
            let sorted = sorted(&values);
            for frac in [0.01, 0.05, 0.25, 1.0] {
                let k = (frac * sorted.len() as f64) as usize;
                let low = sorted[..k].iter().sum::<f64>() / k as f64;
                let high = sorted[sorted.len() - k..].iter().sum::<f64>() / k as f64;
                let scale_low = sorted[..k].iter().map(|x| x.abs()).sum::<f64>() / k as f64;
                let scale_high = sorted[sorted.len() - k..]
                    .iter()
                    .map(|x| x.abs())
                    .sum::<f64>()
                    / k as f64;
                let got_low = sketch.tail_mean_low(frac);
                let got_high = sketch.tail_mean_high(frac);
                assert!(
                    (got_low - low).abs() <= RELATIVE_ACCURACY * scale_low,
                    "{name} low {frac}: {got_low} vs {low}"
                );
                assert!(
                    (got_high - high).abs() <= RELATIVE_ACCURACY * scale_high,
                    "{name} high {frac}: {got_high} vs {high}"
                );
            }
            assert_eq!(sketch.tail_mean_low(0.0), sorted[0]);
            assert_eq!(Some(sketch.tail_mean_high(0.0)), sorted.last().copied());
        }
    }

    #[test]
    fn edge_cases_do_not_panic() {
        let empty = Sketch::new();
        assert_eq!(empty, Sketch::default());
        assert_eq!(empty.count(), 0);
        assert_eq!(empty.quantile(0.5), None);
        assert!(empty.tail_mean_low(0.05).is_nan());
        assert_eq!(empty.min(), None);
        let h = histogram(&empty, 0.0, 1.0, 4);
        assert_eq!((h.counts, h.below, h.above), (vec![0; 4], 0, 0));

        let mut s = Sketch::new();
        s.insert_slice(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -f64::NAN]);
        s.insert(f64::NAN);
        assert_eq!(s, Sketch::new());

        s.insert_slice(&[0.0, -0.0, 5e-324, -5e-324]);
        assert_eq!((s.count(), s.quantile(0.3)), (4, Some(0.0)));
        assert_eq!((s.min(), s.max()), (Some(0.0), Some(0.0)));

        let mut one = Sketch::new();
        one.insert(-42.0);
        for q in [0.0, 0.5, 1.0, -3.0, 7.0] {
            assert_eq!(one.quantile(q), Some(-42.0));
        }
        assert_eq!(one.quantile(f64::NAN), None);
        assert_eq!(one.tail_mean_high(0.5), -42.0);
        assert_eq!(one.tail_mean_low(f64::INFINITY), -42.0);
        assert_eq!(one.tail_mean_low(f64::NAN), -42.0);
        for (lo, hi) in [(f64::NAN, 1.0), (0.0, f64::INFINITY), (f64::NAN, f64::NAN)] {
            let h = histogram(&one, lo, hi, 3);
            assert_eq!(h.counts.iter().sum::<u64>() + h.below + h.above, 1);
        }
        let h = histogram(&one, -42.0, -42.0, 5);
        assert_eq!((h.edges, h.counts), (vec![-42.0, -42.0], vec![1]));

        let mut extremes = Sketch::new();
        extremes.insert_slice(&[f64::MAX, -f64::MAX, f64::MIN_POSITIVE, 1.0]);
        assert_eq!(extremes.quantile(1.0), Some(f64::MAX));
        assert_eq!(extremes.quantile(0.0), Some(-f64::MAX));
        assert!(extremes.quantile(0.5).is_some_and(f64::is_finite));
    }

    #[test]
    fn value_stability() {
        // Pins the bucket mapping and representatives: a change here changes every
        // reported quantile, which saved results would then disagree with.
        let sketch = sketch_of(&normals(77, 10_000));
        let got = [0.05, 0.5, 0.95].map(|q| sketch.quantile(q).map(f64::to_bits));
        let want = [
            -1.644521971496437,
            -0.005432085968253255,
            1.6757721445221445,
        ];
        let shown = got.map(|b| b.map(f64::from_bits));
        assert_eq!(got, want.map(|v| Some(f64::to_bits(v))), "got {shown:?}");
    }
}
