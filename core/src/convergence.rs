//! A run's convergence history: each output's running mean and standard error as the run
//! went, thinned to at most [`MAX_POINTS`] points however long the run, so that it can be
//! kept with the run's result and drawn again from a shared link.

use serde::{Deserialize, Serialize};

use crate::run::Progress;
use crate::summary::Named;

/// Points a history keeps at most.
pub const MAX_POINTS: usize = 256;

/// An output's running mean and standard error; `None` before any finite value.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeanSem {
    pub mean: Option<f64>,
    pub sem: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub iterations: u64,
    pub outputs: Named<MeanSem>,
}

/// Progress reports, every `stride`-th kept: when the history is full, every other point goes
/// and the stride doubles, so the points stay evenly spread over the run. The last report is
/// always kept, so the history ends where the run did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    points: Vec<Point>,
    /// The report after the last one kept, when it was not kept itself.
    latest: Option<Point>,
    seen: u64,
    stride: u64,
}

impl History {
    pub fn new() -> History {
        History {
            stride: 1,
            ..History::default()
        }
    }

    /// Adds a report; one that is not past the last (threads can report out of order) is
    /// left out.
    pub fn push(&mut self, progress: &Progress) {
        let last = self.latest.as_ref().or(self.points.last());
        if last.is_some_and(|p| p.iterations >= progress.iterations_done) {
            return;
        }
        let finite = |x: f64| x.is_finite().then_some(x);
        let point = Point {
            iterations: progress.iterations_done,
            outputs: Named(
                progress
                    .outputs
                    .iter()
                    .map(|(id, mean, sem)| {
                        (
                            id.clone(),
                            MeanSem {
                                mean: finite(*mean),
                                sem: finite(*sem),
                            },
                        )
                    })
                    .collect(),
            ),
        };
        let keep = self.seen.is_multiple_of(self.stride.max(1));
        self.seen += 1;
        if !keep {
            self.latest = Some(point);
            return;
        }
        self.latest = None;
        if self.points.len() + 1 >= MAX_POINTS {
            // Keep the even positions: the first point stays, the spacing doubles; the new
            // point, at an odd one, waits as the latest.
            let mut k = 0;
            self.points.retain(|_| {
                k += 1;
                k % 2 == 1
            });
            self.stride = self.stride.max(1) * 2;
            self.seen = self.points.len() as u64 * self.stride;
            self.latest = Some(point);
            return;
        }
        self.points.push(point);
    }

    /// The points kept, ending with the last report.
    pub fn points(&self) -> Vec<Point> {
        let mut points = self.points.clone();
        points.extend(self.latest.clone());
        points
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(done: u64) -> Progress {
        Progress {
            iterations_done: done,
            iterations_total: 0,
            outputs: vec![("y".to_string(), done as f64, f64::NAN)],
        }
    }

    #[test]
    fn a_long_run_keeps_a_bounded_evenly_spread_history_ending_at_its_end() {
        for reports in [1u64, 10, 255, 256, 257, 1000, 2442, 100_000] {
            let mut h = History::new();
            for k in 1..=reports {
                h.push(&progress(k * 4096));
            }
            let points = h.points();
            assert!(
                points.len() <= MAX_POINTS + 1,
                "{reports}: {}",
                points.len()
            );
            assert!(
                points.len() >= (MAX_POINTS / 2).min(reports as usize),
                "{reports}"
            );
            assert_eq!(points[0].iterations, 4096);
            assert_eq!(
                points.last().unwrap().iterations,
                reports * 4096,
                "{reports}"
            );
            assert!(points.windows(2).all(|w| w[0].iterations < w[1].iterations));
            assert_eq!(points[0].outputs.0[0].1.sem, None, "NaN is kept as null");
        }
    }
}
