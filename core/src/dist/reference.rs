//! The engine's samplers against rand_distr's, an independent implementation: both draw from
//! the engine's own stream (through its `rand_core::RngCore`), from unrelated draw sites, and a
//! two-sample Kolmogorov–Smirnov test finds them statistically equal. Native only, like the
//! other references.

use rand_distr::Distribution;

use super::testutil::{N, dist};
use super::{Dist, DistKind};
use crate::rng::Stream;

/// Two-sample Kolmogorov–Smirnov at the 0.1% level: D < 1.95·√((n + m)/(n·m)). With ties
/// (discrete distributions) the test is conservative.
fn assert_same_distribution(what: &str, mut ours: Vec<f64>, mut theirs: Vec<f64>) {
    for xs in [&mut ours, &mut theirs] {
        assert!(xs.iter().all(|x| x.is_finite()), "{what}: non-finite draw");
        xs.sort_by(f64::total_cmp);
    }
    let (n, m) = (ours.len(), theirs.len());
    let (mut i, mut j, mut d) = (0, 0, 0.0_f64);
    while i < n && j < m {
        let x = ours[i].min(theirs[j]);
        while i < n && ours[i] <= x {
            i += 1;
        }
        while j < m && theirs[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / n as f64 - j as f64 / m as f64).abs());
    }
    let critical = 1.95 * ((n + m) as f64 / (n * m) as f64).sqrt();
    assert!(d < critical, "{what}: two-sample KS D = {d} >= {critical}");
}

/// `N` values of ours (the batched path) and `N` of rand_distr's `reference`, from two
/// unrelated streams of seed `seed`.
fn compare<D: Distribution<f64>>(what: &str, ours: &Dist, reference: &D, seed: u64) {
    let mut out = vec![0.0; N];
    ours.fill(&mut Stream::new(seed, 1, 0), &mut out);
    let mut rng = Stream::new(seed, 2, 0);
    let theirs: Vec<f64> = (0..N).map(|_| reference.sample(&mut rng)).collect();
    assert_same_distribution(what, out, theirs);
}

/// rand_distr's discrete samplers give integers: `f64` values to compare.
struct AsF64<D>(D);

impl<D: Distribution<u64>> Distribution<f64> for AsF64<D> {
    fn sample<R: rand_core::RngCore + ?Sized>(&self, rng: &mut R) -> f64 {
        self.0.sample(rng) as f64
    }
}

#[test]
fn the_samplers_match_rand_distrs() {
    use DistKind::*;
    compare(
        "normal",
        &dist(Normal, &[3.0, 2.0]),
        &rand_distr::Normal::new(3.0, 2.0).unwrap(),
        1,
    );
    compare(
        "lognormal",
        &dist(LogNormal, &[0.5, 0.8]),
        &rand_distr::LogNormal::new(0.5, 0.8).unwrap(),
        2,
    );
    compare(
        "gamma(0.5)",
        &dist(Gamma, &[0.5, 2.0]),
        &rand_distr::Gamma::new(0.5, 2.0).unwrap(),
        3,
    );
    compare(
        "gamma(3)",
        &dist(Gamma, &[3.0, 1.0]),
        &rand_distr::Gamma::new(3.0, 1.0).unwrap(),
        4,
    );
    compare(
        "beta",
        &dist(Beta, &[2.0, 5.0]),
        &rand_distr::Beta::new(2.0, 5.0).unwrap(),
        5,
    );
    compare(
        "exponential",
        &dist(Exponential, &[1.5]),
        &rand_distr::Exp::new(1.5).unwrap(),
        6,
    );
    // rand_distr's Weibull takes (scale, shape); the engine's (shape, scale).
    compare(
        "weibull",
        &dist(Weibull, &[1.5, 2.0]),
        &rand_distr::Weibull::new(2.0, 1.5).unwrap(),
        7,
    );
    compare(
        "student_t",
        &dist(StudentT, &[5.0]),
        &rand_distr::StudentT::new(5.0).unwrap(),
        8,
    );
    // rand_distr's Triangular and Pert take (min, max, mode).
    compare(
        "triangular",
        &dist(Triangular, &[0.0, 1.0, 3.0]),
        &rand_distr::Triangular::new(0.0, 3.0, 1.0).unwrap(),
        9,
    );
    compare(
        "pert",
        &dist(Pert, &[0.0, 1.0, 3.0]),
        &rand_distr::Pert::new(0.0, 3.0, 1.0).unwrap(),
        10,
    );
    compare(
        "poisson(3)",
        &dist(Poisson, &[3.0]),
        &rand_distr::Poisson::new(3.0).unwrap(),
        11,
    );
    compare(
        "poisson(1000)",
        &dist(Poisson, &[1000.0]),
        &rand_distr::Poisson::new(1000.0).unwrap(),
        12,
    );
    compare(
        "binomial(20, 0.3)",
        &dist(Binomial, &[20.0, 0.3]),
        &AsF64(rand_distr::Binomial::new(20, 0.3).unwrap()),
        13,
    );
    compare(
        "binomial(1e6, 0.3)",
        &dist(Binomial, &[1e6, 0.3]),
        &AsF64(rand_distr::Binomial::new(1_000_000, 0.3).unwrap()),
        14,
    );
}
