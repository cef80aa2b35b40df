//! Random test data for the statistics tests, drawn from `crate::rng::Stream`.

use crate::rng::Stream;

/// `n` uniform draws from [0, 1).
pub(super) fn uniforms(seed: u64, n: usize) -> Vec<f64> {
    let mut s = Stream::new(seed, 0, 0);
    (0..n).map(|_| s.next_f64()).collect()
}

/// `n` standard normal draws (Box–Muller with libm, so the same bits everywhere).
pub(super) fn normals(seed: u64, n: usize) -> Vec<f64> {
    let mut s = Stream::new(seed, 1, 0);
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        let r = libm::sqrt(-2.0 * libm::log(s.next_open01()));
        let t = 2.0 * std::f64::consts::PI * s.next_f64();
        out.push(r * libm::cos(t));
        out.push(r * libm::sin(t));
    }
    out.truncate(n);
    out
}
