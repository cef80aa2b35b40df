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
mod tests;
