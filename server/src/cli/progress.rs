//! The command line's observer: time limit, Ctrl-C, and a progress bar on stderr.

use std::io::Write;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use scenarioforge_core::{Observer, Progress, Stop};

/// Runs shorter than this never show a bar: it would only flicker.
const BAR_AFTER: Duration = Duration::from_millis(500);
const BAR_EVERY: Duration = Duration::from_millis(100);

#[derive(Debug)]
pub struct CliObserver {
    started: Instant,
    max_time: Option<Duration>,
    cancel: Arc<AtomicBool>,
    show: bool,
    last_drawn: Mutex<Option<Instant>>,
}

impl CliObserver {
    pub fn new(
        started: Instant,
        max_time: Option<Duration>,
        cancel: Arc<AtomicBool>,
        show: bool,
    ) -> CliObserver {
        CliObserver {
            started,
            max_time,
            cancel,
            show,
            last_drawn: Mutex::new(None),
        }
    }

    /// Clears the bar, if one was drawn.
    pub fn finish(&self) {
        if self.last_drawn.lock().is_ok_and(|l| l.is_some()) {
            eprint!("\r{:78}\r", "");
        }
    }
}

impl Observer for CliObserver {
    fn progress(&self, p: &Progress) {
        let elapsed = self.started.elapsed();
        if !self.show || elapsed < BAR_AFTER {
            return;
        }
        let Ok(mut last) = self.last_drawn.lock() else {
            return;
        };
        if last.is_some_and(|t| t.elapsed() < BAR_EVERY) && p.iterations_done < p.iterations_total {
            return;
        }
        *last = Some(Instant::now());
        let fraction = p.iterations_done as f64 / p.iterations_total.max(1) as f64;
        let width = 30;
        let filled = (fraction * width as f64) as usize;
        let eta = if fraction > 0.0 {
            elapsed.as_secs_f64() * (1.0 - fraction) / fraction
        } else {
            0.0
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r[{}{}] {:>5.1}%  {}/{} iterations  {:.1}s left ",
            "#".repeat(filled),
            " ".repeat(width - filled),
            fraction * 100.0,
            p.iterations_done,
            p.iterations_total,
            eta
        );
        let _ = err.flush();
    }

    /// As on the server: a quarter of `--max-time` more for the drivers; none after Ctrl-C.
    fn skip_finishing(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
            || self
                .max_time
                .is_some_and(|m| self.started.elapsed() >= m + m / 4)
    }

    fn should_stop(&self) -> Option<Stop> {
        if self.cancel.load(Ordering::Relaxed) {
            Some(Stop::Cancelled)
        } else if self.max_time.is_some_and(|m| self.started.elapsed() >= m) {
            Some(Stop::TimedOut)
        } else {
            None
        }
    }
}
