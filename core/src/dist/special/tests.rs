use super::*;
use statrs::distribution::{Binomial, ContinuousCDF, Discrete, Normal, Poisson};
use statrs::function::beta::beta_reg;
use statrs::function::gamma::{gamma_lr, gamma_ur};

#[test]
fn normal_quantile_inverts_the_cdf() {
    let reference = Normal::new(0.0, 1.0).unwrap();
    let mut p = 1e-300;
    while p < 0.5 {
        // 1 - p rounds to 1 for p below 1e-16; that case is checked on its own below.
        for x in [p, 1.0 - p].into_iter().filter(|&x| x < 1.0) {
            let z = normal_quantile(x);
            // Compare in whichever tail keeps the relative precision.
            let (back, want) = if z < 0.0 {
                (normal_cdf(z), x)
            } else {
                (normal_sf(z), 1.0 - x)
            };
            // Rounding z·(1/√2) costs erfc a relative 2z²·ε, so allow for that.
            assert!(
                ((back - want) / want).abs() < 2e-15 * (4.0 + z * z),
                "p = {x}: z = {z}, back = {back}"
            );
        }
        let z = normal_quantile(p);
        let r = reference.inverse_cdf(p);
        assert!(((z - r) / r).abs() < 1e-9, "p = {p}: {z} vs {r}");
        p *= 1.7;
    }
    assert_eq!(normal_quantile(0.5), 0.0);
    assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
    assert_eq!(normal_quantile(1.0), f64::INFINITY);
    assert!(normal_quantile(f64::NAN).is_nan());
    assert!(normal_quantile(1.5).is_nan());
}

#[test]
fn normal_tails_keep_relative_precision() {
    // Φ(-30) = 4.906713927148187e-198 (R: pnorm(-30)).
    let got = normal_cdf(-30.0);
    assert!((got / 4.906_713_927_148_187e-198 - 1.0).abs() < 1e-13);
    assert_eq!(normal_sf(30.0), got);
}

#[test]
fn log_pmfs_match_statrs() {
    for lambda in [0.5, 3.0, 17.5, 250.0, 1e5] {
        let reference = Poisson::new(lambda).unwrap();
        for k in [
            0u64, 1, 2, 5, 16, 17, 18, 40, 230, 250, 300, 99_000, 100_000,
        ] {
            let want = reference.ln_pmf(k);
            let got = ln_poisson_pmf(k as f64, lambda);
            if want > -700.0 {
                assert!(
                    (got - want).abs() < 1e-9 * want.abs().max(1.0),
                    "poisson({lambda}) at {k}: {got} vs {want}"
                );
            }
        }
    }
    for (n, p) in [(10u64, 0.3), (200, 0.05), (1000, 0.5), (100_000, 0.01)] {
        let reference = Binomial::new(p, n).unwrap();
        for k in [0, 1, 3, 10, 50, 100, 500, 1000, 99_999, 100_000] {
            if k > n {
                continue;
            }
            let want = reference.ln_pmf(k);
            let got = ln_binomial_pmf(k as f64, n as f64, p, 1.0 - p);
            if want > -700.0 {
                assert!(
                    (got - want).abs() < 1e-9 * want.abs().max(1.0),
                    "binomial({n}, {p}) at {k}: {got} vs {want}"
                );
            }
        }
    }
}

#[test]
fn poisson_log_pmf_stays_accurate_for_huge_lambda() {
    // Near the mode of Poisson(1e15) the pmf is about 1/√(2πλ); the naive formula
    // would be off by whole units in the log here.
    let lambda = 1e15;
    let got = ln_poisson_pmf(lambda, lambda);
    let want = -0.5 * libm::log(2.0 * std::f64::consts::PI * lambda) - 1.0 / (12.0 * lambda);
    assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    // One standard deviation out the log-density drops by about 1/2.
    let sd = lambda.sqrt();
    let drop = ln_poisson_pmf(lambda + sd, lambda) - got;
    assert!((drop + 0.5).abs() < 1e-6, "{drop}");
}

/// |got - want| relative to want, or to 1e-300 when want underflows.
fn relative(got: f64, want: f64) -> f64 {
    (got - want).abs() / want.abs().max(1e-300)
}

#[test]
fn incomplete_gamma_matches_statrs() {
    // Shapes on both sides of Temme's threshold and band, x from deep in the lower tail
    // to deep in the upper; each tail checked where it is the smaller.
    for a in [0.3, 1.0, 2.5, 19.5, 20.0, 60.0, 500.0] {
        let inc = IncGamma::new(a);
        for ratio in [
            1e-3, 0.1, 0.59, 0.61, 0.9, 0.999, 1.0, 1.001, 1.1, 1.39, 1.41, 2.0, 5.0,
        ] {
            let x = a * ratio;
            let (p, q, _) = inc.tails(x);
            let (want_p, want_q) = (gamma_lr(a, x), gamma_ur(a, x));
            let err = if want_p < want_q {
                relative(p, want_p)
            } else {
                relative(q, want_q)
            };
            assert!(
                err < 1e-12,
                "a = {a}, x = {x}: ({p}, {q}) vs ({want_p}, {want_q})"
            );
            assert!((p + q - 1.0).abs() < 1e-15);
        }
    }
}

#[test]
fn incomplete_gamma_density_is_the_derivative() {
    // x^a e^-x / Γ(a) = dP/d(ln x), by a central difference.
    for (a, x) in [(0.3, 0.2), (2.5, 4.0), (500.0, 480.0), (500.0, 900.0)] {
        let inc = IncGamma::new(a);
        let h = 1e-6;
        // From whichever tail is small, where the difference does not cancel.
        let tail = |x: f64| {
            let (p, q, _) = inc.tails(x);
            if x < a { p } else { -q }
        };
        let slope = (tail(x * (1.0 + h)) - tail(x * (1.0 - h))) / (2.0 * h);
        let density = inc.tails(x).2;
        assert!(relative(density, slope) < 1e-7, "a = {a}, x = {x}");
    }
}

#[test]
fn incomplete_beta_matches_statrs() {
    for (a, b) in [
        (0.3, 0.3),
        (2.0, 5.0),
        (0.5, 15.0),
        (30.0, 1.5),
        (500.0, 500.0),
    ] {
        let front = BetaFront::new(a, b);
        for x in [1e-6, 0.01, 0.2, 0.5, 0.8, 0.99, 0.999_999] {
            let y = 1.0 - x;
            let (p, q) = beta_tails(a, b, x, y, front.at(a, b, x, y));
            let (want_p, want_q) = (beta_reg(a, b, x), beta_reg(b, a, y));
            let err = if want_p < want_q {
                relative(p, want_p)
            } else {
                relative(q, want_q)
            };
            assert!(
                err < 1e-12,
                "({a}, {b}) at {x}: ({p}, {q}) vs ({want_p}, {want_q})"
            );
        }
    }
}

#[test]
fn loader_and_direct_beta_fronts_agree() {
    // Around the switch from one form to the other.
    for (a, b) in [(60.0, 45.0), (99.8, 0.5), (3.0, 97.5)] {
        let direct = BetaFront::Direct {
            ln_beta: ln_beta(a, b),
        };
        let loader = BetaFront::new(a, b);
        assert!(matches!(loader, BetaFront::Loader { .. }));
        for x in [0.01, 0.3, 0.57, 0.9] {
            let (l, d) = (loader.at(a, b, x, 1.0 - x), direct.at(a, b, x, 1.0 - x));
            assert!(relative(l, d) < 1e-12, "({a}, {b}) at {x}: {l} vs {d}");
        }
    }
}
