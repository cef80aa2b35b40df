use super::super::DistKind;
use super::super::testutil::{N, P_GRID, assert_ks, assert_ks_discrete, dist, draws, stratified};
use super::normal::{NormalMethod, TruncNormal};
use super::*;
use crate::dist::special::{normal_cdf, normal_sf};
use statrs::distribution::{
    Beta as BetaRef, ContinuousCDF, DiscreteCDF, Exp, Gamma, LogNormal, Normal,
    Poisson as PoissonRef, StudentsT, Triangular as Tri, Weibull as Wei,
};

/// KS against `cdf` renormalised to [lo, hi].
fn check(what: &str, d: Dist, lo: f64, hi: f64, cdf: impl Fn(f64) -> f64, seed: u64) {
    let (f_lo, f_hi) = (cdf(lo), cdf(hi));
    let t = d.truncated(lo, hi).unwrap();
    assert!(matches!(t, Dist::Truncated(_)), "{what}: not truncated");
    let xs = draws(&t, seed);
    assert!(
        xs.iter().all(|&x| lo <= x && x <= hi),
        "{what}: out of range"
    );
    assert_ks(what, xs, |x| (cdf(x) - f_lo) / (f_hi - f_lo));
}

#[test]
fn normal_two_bounds() {
    let r = Normal::new(1.0, 2.0).unwrap();
    let d = dist(DistKind::Normal, &[1.0, 2.0]);
    check("normal on [-2, 1.5]", d.clone(), -2.0, 1.5, |x| r.cdf(x), 1);
    check("normal on [4, 9]", d.clone(), 4.0, 9.0, |x| r.cdf(x), 2);
    check("normal on [-9, -4]", d, -9.0, -4.0, |x| r.cdf(x), 3);
}

#[test]
fn normal_one_bound() {
    let r = Normal::new(0.0, 1.0).unwrap();
    let d = dist(DistKind::Normal, &[0.0, 1.0]);
    check(
        "normal above -0.5",
        d.clone(),
        -0.5,
        f64::INFINITY,
        |x| r.cdf(x),
        4,
    );
    // In the upper tail, compare survival functions: 1 - Φ(x) would round away.
    let sf = |x: f64| -r.sf(x);
    check("normal above 6", d.clone(), 6.0, f64::INFINITY, sf, 5);
    check(
        "normal below -1",
        d,
        f64::NEG_INFINITY,
        -1.0,
        |x| r.cdf(x),
        6,
    );
}

#[test]
fn normal_tail_method_matches_the_exact_cdf() {
    // Force Robert's method at moderate distances, where statrs' CDF is still exact.
    let r = Normal::new(0.0, 1.0).unwrap();
    let cases = [(1.5, f64::INFINITY), (0.5, 0.9), (-3.0, -2.0)];
    for (seed, (lo, hi)) in cases.into_iter().enumerate() {
        let t = TruncNormal::with_tail_from(0.0, 1.0, lo, hi, 0.0);
        assert!(matches!(t.method, NormalMethod::Tail { .. }));
        let mut rng = Stream::new(seed as u64, 9, 0);
        let xs: Vec<f64> = (0..N).map(|_| t.sample(&mut rng)).collect();
        let (f_lo, f_hi) = (r.cdf(lo), r.cdf(hi));
        assert_ks(&format!("tail method on [{lo}, {hi}]"), xs, |x| {
            (r.cdf(x) - f_lo) / (f_hi - f_lo)
        });
    }
}

#[test]
fn normal_far_tails_work() {
    // E[X | X > a] = a + 1/a - 2/a³ + ... for a standard normal.
    let d = dist(DistKind::Normal, &[0.0, 1.0]);
    for a in [40.0, 1e3] {
        let xs = draws(&d.clone().truncated(a, f64::INFINITY).unwrap(), 8);
        let mean_excess = xs.iter().map(|x| x - a).sum::<f64>() / N as f64;
        let want = 1.0 / a - 2.0 / (a * a * a);
        assert!(xs.iter().all(|&x| x >= a && x.is_finite()));
        assert!(
            (mean_excess / want - 1.0).abs() < 0.02,
            "a = {a}: {mean_excess}"
        );
    }
    // So far out that every draw rounds to the bound.
    let xs = draws(&d.clone().truncated(1e200, f64::INFINITY).unwrap(), 8);
    assert!(xs.iter().all(|&x| x == 1e200));
    // Below -50 and in a narrow band far out, by symmetry and by the proposal's cut.
    let xs = draws(&d.clone().truncated(f64::NEG_INFINITY, -50.0).unwrap(), 9);
    assert!(xs.iter().all(|&x| (-51.0..=-50.0).contains(&x)));
    let xs = draws(&d.truncated(60.0, 60.001).unwrap(), 10);
    assert!(xs.iter().all(|&x| (60.0..=60.001).contains(&x)));
}

#[test]
fn lognormal() {
    let r = LogNormal::new(0.5, 0.8).unwrap();
    let d = dist(DistKind::LogNormal, &[0.5, 0.8]);
    check("lognormal on [1, 3]", d.clone(), 1.0, 3.0, |x| r.cdf(x), 11);
    check(
        "lognormal below 2",
        d,
        f64::NEG_INFINITY,
        2.0,
        |x| r.cdf(x.max(0.0)),
        12,
    );
}

#[test]
fn triangular() {
    let r = Tri::new(0.0, 10.0, 2.0).unwrap();
    let d = dist(DistKind::Triangular, &[0.0, 2.0, 10.0]);
    check(
        "triangular on [1, 3]",
        d.clone(),
        1.0,
        3.0,
        |x| r.cdf(x),
        13,
    );
    check(
        "triangular on [5, 20]",
        d,
        5.0,
        20.0,
        |x| -r.sf(x.min(10.0)),
        14,
    );
}

#[test]
fn exponential_and_weibull() {
    let r = Exp::new(0.5).unwrap();
    let d = dist(DistKind::Exponential, &[0.5]);
    check(
        "exponential on [1, 4]",
        d.clone(),
        1.0,
        4.0,
        |x| r.cdf(x),
        15,
    );
    check(
        "exponential above 30",
        d,
        30.0,
        f64::INFINITY,
        |x| -r.sf(x),
        16,
    );
    let r = Wei::new(2.0, 3.0).unwrap();
    let d = dist(DistKind::Weibull, &[2.0, 3.0]);
    check(
        "weibull on [-1, 2]",
        d.clone(),
        -1.0,
        2.0,
        |x| r.cdf(x.max(0.0)),
        17,
    );
    check("weibull above 12", d, 12.0, f64::INFINITY, |x| -r.sf(x), 18);
}

#[test]
fn rejection() {
    let r = Gamma::new(2.0, 1.0).unwrap();
    let d = dist(DistKind::Gamma, &[2.0, 1.0]);
    check("gamma on [1, 4]", d, 1.0, 4.0, |x| r.cdf(x), 19);
    let r = StudentsT::new(0.0, 1.0, 3.0).unwrap();
    let d = dist(DistKind::StudentT, &[3.0]);
    check("student_t on [-1, 2]", d, -1.0, 2.0, |x| r.cdf(x), 20);
}

#[test]
fn narrow_intervals_are_drawn_by_inversion() {
    // Mass of about 1e-23, which rejection would never hit; the exponential's tail
    // e^-x (negated, so that it increases) is precise out there.
    let d = dist(DistKind::Gamma, &[1.0, 1.0]);
    check("gamma on [52, 53]", d, 52.0, 53.0, |x| -libm::exp(-x), 22);
    let r = Gamma::new(2.0, 1.0).unwrap();
    let d = dist(DistKind::Gamma, &[2.0, 1.0]);
    check("gamma on [0.01, 0.02]", d, 0.01, 0.02, |x| r.cdf(x), 23);
    // P(X <= 30) is 4e-5 for binomial(100, 0.5): each step down is about 2.4 times
    // less likely, so the mean conditioned on [0, 30] is 30 - 1/(2.4 - 1) or so.
    let t = dist(DistKind::Binomial, &[100.0, 0.5])
        .truncated(0.0, 30.0)
        .unwrap();
    let xs = draws(&t, 24);
    assert!(
        xs.iter()
            .all(|&x| x.fract() == 0.0 && (0.0..=30.0).contains(&x))
    );
    let pmf = |k: f64| (0..k as usize).fold(1.0, |c, i| c * (100.0 - i as f64) / (i as f64 + 1.0));
    let total: f64 = (0..=30).map(|k| pmf(k as f64)).sum();
    let mean: f64 = (0..=30).map(|k| k as f64 * pmf(k as f64)).sum::<f64>() / total;
    let var: f64 = (0..=30)
        .map(|k| (k as f64 - mean) * (k as f64 - mean) * pmf(k as f64))
        .sum::<f64>()
        / total;
    let got = xs.iter().sum::<f64>() / xs.len() as f64;
    assert!(
        (got - mean).abs() < 4.0 * (var / xs.len() as f64).sqrt(),
        "mean {got}, want {mean}"
    );
}

#[test]
fn an_interval_too_improbable_to_draw_from_is_refused() {
    // binomial(1e9, 0.5) on [0, 10]: about 2^-1e9, zero in doubles.
    let e = dist(DistKind::Binomial, &[1e9, 0.5])
        .truncated(0.0, 10.0)
        .unwrap_err();
    assert!(e.message.contains("too improbable"), "{}", e.message);
}

#[test]
fn closed_families_stay_closed() {
    let u = dist(DistKind::Uniform, &[0.0, 10.0])
        .truncated(2.0, 20.0)
        .unwrap();
    assert!(matches!(&u, Dist::Uniform(u) if u.span.lo == 2.0 && u.span.hi == 10.0));
    let b = dist(DistKind::Bernoulli, &[0.3])
        .truncated(0.5, 7.0)
        .unwrap();
    assert!(matches!(b, Dist::Bernoulli(Bernoulli { p: 1.0 })));
    let d = dist(DistKind::Discrete, &[1.0, 1.0, 2.0, 1.0, 3.0, 1.0]);
    let xs = draws(&d.truncated(1.5, 3.0).unwrap(), 21);
    assert!(xs.iter().all(|&x| x == 2.0 || x == 3.0));
    assert!(xs.contains(&2.0) && xs.contains(&3.0));
    // A bound that removes nothing leaves the distribution as it was.
    let g = dist(DistKind::Gamma, &[2.0, 1.0]).truncated(0.0, f64::INFINITY);
    assert!(matches!(g, Ok(Dist::Gamma(_))));
}

#[test]
fn nested_truncation_intersects() {
    let d = dist(DistKind::Poisson, &[4.0])
        .truncated(2.0, 9.0)
        .unwrap()
        .truncated(5.0, 50.0)
        .unwrap();
    let Dist::Truncated(t) = &d else {
        panic!("not truncated: {d:?}")
    };
    assert_eq!((t.lo(), t.hi()), (5.0, 9.0));
    assert!(matches!(t.base(), Dist::Poisson(_)));
    let xs = draws(&d, 22);
    assert!(
        xs.iter()
            .all(|&x| (5.0..=9.0).contains(&x) && x.fract() == 0.0)
    );
}

/// Quantiles of `d` on [lo, hi] against `cdf` renormalised there: all inside, a
/// stratified sample passing KS, and at each p of the grid the renormalised CDF of the
/// quantile within `tol` of p relative to the smaller tail.
fn check_quantiles(what: &str, d: Dist, lo: f64, hi: f64, cdf: impl Fn(f64) -> f64, tol: f64) {
    let (f_lo, f_hi) = (cdf(lo), cdf(hi));
    let conditioned = |x: f64| (cdf(x) - f_lo) / (f_hi - f_lo);
    let t = d.truncated(lo, hi).unwrap();
    let xs = stratified(&t);
    assert!(
        xs.iter().all(|&x| lo <= x && x <= hi),
        "{what}: out of range"
    );
    assert_ks(what, xs, conditioned);
    for p in P_GRID {
        let got = conditioned(t.quantile(p));
        // Absolute 1e-12 besides: near lo, cdf(x) - cdf(lo) cancels in the reference.
        let allowed = tol * p.min(1.0 - p) + 1e-12;
        assert!((got - p).abs() <= allowed, "{what} at {p}: {got}");
    }
}

#[test]
fn quantiles_by_inversion() {
    // The normal CDF from libm's erfc (checked in `special`): statrs' erf is off by up
    // to about 3e-12 (Φ(1.5)), more than these checks allow.
    let (cdf, sf) = (
        |x: f64| normal_cdf((x - 1.0) / 2.0),
        |x: f64| normal_sf((x - 1.0) / 2.0),
    );
    let d = dist(DistKind::Normal, &[1.0, 2.0]);
    check_quantiles("normal on [-2, 1.5]", d.clone(), -2.0, 1.5, cdf, 1e-10);
    check_quantiles("normal on [4, 9]", d.clone(), 4.0, 9.0, |x| -sf(x), 1e-10);
    check_quantiles("normal above -1", d, -1.0, f64::INFINITY, |x| -sf(x), 1e-10);
    let cdf = |x: f64| normal_cdf((libm::log(x) - 0.5) / 0.8);
    let d = dist(DistKind::LogNormal, &[0.5, 0.8]);
    check_quantiles("lognormal on [1, 3]", d, 1.0, 3.0, cdf, 1e-10);
    let r = Tri::new(0.0, 10.0, 2.0).unwrap();
    let d = dist(DistKind::Triangular, &[0.0, 2.0, 10.0]);
    check_quantiles(
        "triangular on [1, 3]",
        d.clone(),
        1.0,
        3.0,
        |x| r.cdf(x),
        1e-10,
    );
    let sf = |x: f64| -r.sf(x.min(10.0));
    check_quantiles("triangular on [5, 20]", d, 5.0, 20.0, sf, 1e-10);
    let r = Exp::new(0.5).unwrap();
    let d = dist(DistKind::Exponential, &[0.5]);
    check_quantiles(
        "exponential on [1, 4]",
        d.clone(),
        1.0,
        4.0,
        |x| r.cdf(x),
        1e-10,
    );
    check_quantiles(
        "exponential above 30",
        d,
        30.0,
        f64::INFINITY,
        |x| -r.sf(x),
        1e-10,
    );
    let r = Wei::new(2.0, 3.0).unwrap();
    let d = dist(DistKind::Weibull, &[2.0, 3.0]);
    check_quantiles(
        "weibull above 12",
        d,
        12.0,
        f64::INFINITY,
        |x| -r.sf(x),
        1e-10,
    );
}

#[test]
fn quantiles_through_the_base_cdf() {
    let r = Gamma::new(2.0, 1.0).unwrap();
    let d = dist(DistKind::Gamma, &[2.0, 1.0]);
    check_quantiles("gamma on [1, 4]", d.clone(), 1.0, 4.0, |x| r.cdf(x), 1e-10);
    check_quantiles(
        "gamma above 20",
        d,
        20.0,
        f64::INFINITY,
        |x| -r.sf(x),
        1e-10,
    );
    let r = StudentsT::new(0.0, 1.0, 3.0).unwrap();
    let d = dist(DistKind::StudentT, &[3.0]);
    check_quantiles("student_t on [-1, 2]", d, -1.0, 2.0, |x| r.cdf(x), 1e-10);
    let r = BetaRef::new(2.0, 3.0).unwrap();
    let d = dist(DistKind::Beta, &[2.0, 3.0]);
    check_quantiles("beta on [0.9, 1]", d, 0.9, 1.0, |x| -r.sf(x), 1e-10);
    let r = BetaRef::new(1.8, 4.2).unwrap();
    let d = dist(DistKind::Pert, &[0.0, 2.0, 10.0]);
    let cdf = |x: f64| r.cdf((x / 10.0).clamp(0.0, 1.0));
    check_quantiles("pert on [1, 3]", d, 1.0, 3.0, cdf, 1e-10);
}

#[test]
fn discrete_quantiles_stay_on_whole_numbers_inside() {
    let r = PoissonRef::new(4.0).unwrap();
    let d = dist(DistKind::Poisson, &[4.0]).truncated(1.5, 9.0).unwrap();
    let xs = stratified(&d);
    assert!(
        xs.iter()
            .all(|&x| (2.0..=9.0).contains(&x) && x.fract() == 0.0)
    );
    let (f_lo, f_hi) = (r.cdf(1), r.cdf(9));
    assert_ks_discrete("poisson on [1.5, 9]", xs, |x| {
        (r.cdf(x as u64) - f_lo) / (f_hi - f_lo)
    });
    let d = dist(DistKind::Binomial, &[50.0, 0.3])
        .truncated(20.0, 50.0)
        .unwrap();
    assert_eq!((d.quantile(0.0), d.quantile(1.0)), (20.0, 50.0));
}

#[test]
fn far_tail_quantiles() {
    // Beyond 30 sd, d = x - a solves a·d + d²/2 + d/a + O(d/a³) = -ln(1 - p), from
    // ln(Q(a + d)/Q(a)) with Mills' ratio 1/z - 1/z³ + ...
    let a = 40.0;
    let t = dist(DistKind::Normal, &[0.0, 1.0])
        .truncated(a, f64::INFINITY)
        .unwrap();
    // (Not much below p = 1e-3: x - a would lose its digits to x's rounding.)
    for p in [1e-3, 0.3, 0.9, 0.999_999] {
        let d = t.quantile(p) - a;
        let want = -libm::log1p(-p);
        let got = a * d + 0.5 * d * d + d / a;
        assert!((got / want - 1.0).abs() < 1e-5, "p = {p}: {got} vs {want}");
    }
    // Mirrored below the mean, and so far out that every quantile rounds to the bound.
    let t = dist(DistKind::Normal, &[0.0, 1.0])
        .truncated(f64::NEG_INFINITY, -a)
        .unwrap();
    assert!(t.quantile(0.999) > -a - 1e-3 && t.quantile(0.001) < -a - 0.1);
    let t = dist(DistKind::Normal, &[0.0, 1.0])
        .truncated(1e200, f64::INFINITY)
        .unwrap();
    assert_eq!(t.quantile(0.5), 1e200);
    // The tail method against the exact CDF where that is still representable.
    for (lo, hi) in [(1.5, f64::INFINITY), (0.5, 0.9), (-3.0, -2.0)] {
        let t = TruncNormal::with_tail_from(0.0, 1.0, lo, hi, 0.0);
        assert!(matches!(t.method, NormalMethod::Tail { .. }));
        // From the tail the interval lies in, where the values do not cancel.
        let tail = |x: f64| {
            if lo > 0.0 {
                -normal_sf(x)
            } else {
                normal_cdf(x)
            }
        };
        let (f_lo, f_hi) = (tail(lo), tail(hi));
        for p in P_GRID {
            let x = clamp(t.quantile(p, 1.0 - p), lo, hi);
            let got = (tail(x) - f_lo) / (f_hi - f_lo);
            assert!(
                (got - p).abs() < 1e-12,
                "tail method on [{lo}, {hi}] at {p}: {got}"
            );
        }
    }
}
