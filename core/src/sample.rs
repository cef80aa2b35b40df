//! The iteration sample: the whole rows of the iterations with the smallest hash of
//! (seed, iteration), a uniform sample that does not depend on threads or chunking.

use std::collections::BinaryHeap;

pub use crate::cost::OutOfMemory;

/// The most rows of the sample one page of the server's API gives (`GET
/// /api/runs/{id}/samples?limit=`). Here, beside the sample, because the server and the web
/// app that reads its pages must agree on it (the page asked for 2,000 and got a 400).
pub const MAX_PAGE_ROWS: u64 = 1000;

/// The `k` rows with the smallest `(hash, iteration)` seen so far. The final set depends only
/// on which rows were offered, never on the order, so workers can offer in any order.
#[derive(Debug)]
pub struct BottomK {
    k: usize,
    width: usize,
    /// Max-heap on (hash, iteration, slot): the top is the first to go.
    heap: BinaryHeap<(u64, u64, usize)>,
    slab: Vec<f64>,
    free: Vec<usize>,
}

impl BottomK {
    /// A sample of `k` rows of `width` values, with room for `expected` rows (the most that
    /// will be offered, if fewer than `k`) reserved at once, fallibly: growing the slab by
    /// doubling would copy it and touch twice the memory, and an allocation that fails as
    /// it grows aborts the process.
    pub fn try_new(k: usize, expected: usize, width: usize) -> Result<BottomK, OutOfMemory> {
        let rows = k.min(expected);
        let mut heap = Vec::new();
        let mut slab = Vec::new();
        let values = rows.saturating_mul(width);
        heap.try_reserve_exact(rows)
            .and_then(|()| slab.try_reserve_exact(values))
            .map_err(|_| OutOfMemory {
                what: "the iteration sample",
                bytes: (values as u64)
                    .saturating_add(3 * rows as u64)
                    .saturating_mul(8),
            })?;
        Ok(BottomK {
            k,
            width,
            heap: BinaryHeap::from(heap),
            slab,
            free: Vec::new(),
        })
    }

    /// Rows with a hash at or above this cannot enter.
    pub fn threshold(&self) -> u64 {
        if self.heap.len() < self.k {
            u64::MAX
        } else {
            self.heap.peek().map_or(u64::MAX, |&(h, _, _)| h)
        }
    }

    pub fn offer(&mut self, hash: u64, iteration: u64, row: &[f64]) {
        if self.k == 0 {
            return;
        }
        let slot = if self.heap.len() < self.k {
            match self.free.pop() {
                Some(slot) => slot,
                None => {
                    self.slab.extend_from_slice(row);
                    self.heap
                        .push((hash, iteration, self.slab.len() / self.width - 1));
                    return;
                }
            }
        } else {
            match self.heap.peek() {
                Some(&top) if (hash, iteration) < (top.0, top.1) => {
                    self.heap.pop();
                    top.2
                }
                _ => return,
            }
        };
        self.slab[slot * self.width..(slot + 1) * self.width].copy_from_slice(row);
        self.heap.push((hash, iteration, slot));
    }

    /// The rows, smallest hash first, as `(iteration, values)`.
    pub fn by_hash(&self) -> Vec<(u64, &[f64])> {
        let mut entries: Vec<_> = self.heap.iter().copied().collect();
        entries.sort_unstable();
        entries
            .into_iter()
            .map(|(_, it, slot)| (it, &self.slab[slot * self.width..(slot + 1) * self.width]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_smallest_whatever_the_order() {
        let rows: Vec<(u64, u64)> = (0..1000u64)
            .map(|i| (crate::rng::iteration_hash(3, i), i))
            .collect();
        let mut forward = BottomK::try_new(10, 1000, 1).unwrap();
        let mut backward = BottomK::try_new(10, 1000, 1).unwrap();
        for &(h, i) in &rows {
            forward.offer(h, i, &[i as f64]);
        }
        for &(h, i) in rows.iter().rev() {
            backward.offer(h, i, &[i as f64]);
        }
        let mut expected = rows.clone();
        expected.sort_unstable();
        let expected: Vec<u64> = expected[..10].iter().map(|&(_, i)| i).collect();
        let got: Vec<u64> = forward
            .by_hash()
            .iter()
            .map(|&(i, row)| {
                assert_eq!(row, &[i as f64]);
                i
            })
            .collect();
        assert_eq!(got, expected);
        let got_back: Vec<u64> = backward.by_hash().iter().map(|&(i, _)| i).collect();
        assert_eq!(got_back, expected);
    }
}
