//! Tests across all distributions: names, validation messages, value stability, the batched
//! path against the scalar one, and robustness to any parameter values.

use super::testutil::dist;
use super::*;

const NAN: f64 = f64::NAN;
const INF: f64 = f64::INFINITY;

#[test]
fn names_round_trip() {
    for kind in DistKind::ALL {
        assert_eq!(DistKind::from_name(kind.name()), Some(kind));
        let names = kind.param_names();
        let expected = match kind {
            DistKind::Discrete => "pairs of arguments (value, weight, ...)".to_string(),
            _ if names.len() == 1 => format!("1 argument ({})", names[0]),
            _ => format!("{} arguments ({})", names.len(), names.join(", ")),
        };
        assert_eq!(kind.arity_text(), expected);
    }
    assert_eq!(DistKind::from_name("studentt"), None);
    assert!(DistKind::Discrete.arity_ok(4) && !DistKind::Discrete.arity_ok(3));
    assert!(!DistKind::Discrete.arity_ok(0));
    assert!(DistKind::Pert.arity_ok(3) && !DistKind::Pert.arity_ok(2));
}

/// `Dist::new(kind, params)` fails with `message`, pointing at `arg`.
fn fail(kind: DistKind, params: &[f64], arg: Option<usize>, message: &str) {
    let err = Dist::new(kind, params).expect_err(message);
    assert_eq!(err.to_string(), message, "{kind:?}{params:?}");
    assert_eq!(err.arg, arg, "{kind:?}{params:?}: {message}");
}

#[test]
fn invalid_parameters_are_reported() {
    use DistKind::*;
    #[rustfmt::skip]
    let cases: &[(DistKind, &[f64], Option<usize>, &str)] = &[
        (Normal, &[0.0, -1.0], Some(1), "`sd` must be at least 0, got -1"),
        (Normal, &[NAN, 1.0], Some(0), "`mean` must be finite, got NaN"),
        (Normal, &[0.0, INF], Some(1), "`sd` must be finite, got inf"),
        (Normal, &[0.0, NAN], Some(1), "`sd` must be finite, got NaN"),
        (Normal, &[0.0], None, "normal takes 2 arguments (mean, sd), got 1"),
        (LogNormal, &[1.0, -0.5], Some(1), "`sigma` must be at least 0, got -0.5"),
        (LogNormal, &[-INF, 1.0], Some(0), "`mu` must be finite, got -inf"),
        (Uniform, &[3.0, 1.0], None, "`low` and `high` must satisfy low <= high, got 3, 1"),
        (Uniform, &[0.0, NAN], Some(1), "`high` must be finite, got NaN"),
        (Triangular, &[5.0, 1.0, 3.0], None, "`min`, `mode` and `max` must satisfy min <= mode <= max, got 5, 1, 3"),
        (Triangular, &[0.0, NAN, 3.0], Some(1), "`mode` must be finite, got NaN"),
        (Pert, &[2.0, 2.0, 2.0], None, "`min`, `mode` and `max` must satisfy min <= mode <= max and min < max, got 2, 2, 2"),
        (Pert, &[0.0, 4.0, 3.0], None, "`min`, `mode` and `max` must satisfy min <= mode <= max and min < max, got 0, 4, 3"),
        (Pert, &[0.0, 1.0], None, "pert takes 3 arguments (min, mode, max), got 2"),
        (Beta, &[0.0, 1.0], Some(0), "`a` must be greater than 0, got 0"),
        (Beta, &[1.0, -2.0], Some(1), "`b` must be greater than 0, got -2"),
        (Gamma, &[0.0, 1.0], Some(0), "`shape` must be greater than 0, got 0"),
        (Gamma, &[1.0, 0.0], Some(1), "`scale` must be greater than 0, got 0"),
        (Exponential, &[0.0], Some(0), "`rate` must be greater than 0, got 0"),
        (Exponential, &[INF], Some(0), "`rate` must be finite, got inf"),
        (Weibull, &[-1.0, 1.0], Some(0), "`shape` must be greater than 0, got -1"),
        (Weibull, &[1.0, 0.0], Some(1), "`scale` must be greater than 0, got 0"),
        (StudentT, &[0.0], Some(0), "`df` must be greater than 0, got 0"),
        (StudentT, &[1.0, 2.0], None, "student_t takes 1 argument (df), got 2"),
        (Poisson, &[-1.0], Some(0), "`lambda` must be at least 0, got -1"),
        (Poisson, &[2e15], Some(0), "`lambda` must be at most 1e15, got 2e15"),
        (Poisson, &[NAN], Some(0), "`lambda` must be finite, got NaN"),
        (Binomial, &[2.5, 0.5], Some(0), "`n` must be a whole number from 0 to 2^53, got 2.5"),
        (Binomial, &[-3.0, 0.5], Some(0), "`n` must be a whole number from 0 to 2^53, got -3"),
        (Binomial, &[1e16, 0.5], Some(0), "`n` must be a whole number from 0 to 2^53, got 1e16"),
        (Binomial, &[10.0, 1.5], Some(1), "`p` must be between 0 and 1, got 1.5"),
        (Binomial, &[10.0, NAN], Some(1), "`p` must be finite, got NaN"),
        (Bernoulli, &[-0.1], Some(0), "`p` must be between 0 and 1, got -0.1"),
        (Discrete, &[1.0, 2.0, 3.0], None, "discrete takes pairs of arguments (value, weight, ...), got 3"),
        (Discrete, &[], None, "discrete takes pairs of arguments (value, weight, ...), got 0"),
        (Discrete, &[1.0, 0.0, 2.0, 0.0], None, "the weights must sum to more than 0, got 0"),
        (Discrete, &[1.0, 1.0, 2.0, -1.0], Some(3), "`weight` must be at least 0, got -1"),
        (Discrete, &[1.0, 1.0, NAN, 1.0], Some(2), "`value` must be finite, got NaN"),
        (Discrete, &[1.0, INF], Some(1), "`weight` must be finite, got inf"),
    ];
    for &(kind, params, arg, message) in cases {
        fail(kind, params, arg, message);
    }
}

#[test]
fn invalid_intervals_are_reported() {
    let check = |result: Result<Dist, ParamError>, arg: Option<usize>, message: &str| {
        let err = result.expect_err(message);
        assert_eq!((err.arg, err.to_string().as_str()), (arg, message));
    };
    let ninety = |a, b| Dist::ninety_percent(a, b);
    let normal = |lo, hi| dist(DistKind::Normal, &[0.0, 1.0]).truncated(lo, hi);
    #[rustfmt::skip]
    let cases = [
        (ninety(3.0, 1.0), None, "the lower bound must be less than the upper bound, got 3 to 1"),
        (ninety(2.0, 2.0), None, "the lower bound must be less than the upper bound, got 2 to 2"),
        (ninety(NAN, 2.0), Some(0), "`a` must be finite, got NaN"),
        (ninety(0.0, INF), Some(1), "`b` must be finite, got inf"),
        (normal(2.0, 1.0), None, "`lo` and `hi` must satisfy lo < hi, got 2, 1"),
        (normal(1.0, 1.0), None, "`lo` and `hi` must satisfy lo < hi, got 1, 1"),
        (normal(INF, INF), None, "`lo` and `hi` must satisfy lo < hi, got inf, inf"),
        (normal(NAN, 1.0), Some(0), "`lo` must be a number, got NaN"),
        (normal(0.0, NAN), Some(1), "`hi` must be a number, got NaN"),
    ];
    for (result, arg, message) in cases {
        check(result, arg, message);
    }

    // Intervals holding no probability, where that can be known.
    let empty = |kind: DistKind, params: &[f64], lo: f64, hi: f64| {
        let message = format!(
            "`lo` and `hi` must bound an interval with positive probability, got {}, {}",
            error::Num(lo),
            error::Num(hi)
        );
        check(dist(kind, params).truncated(lo, hi), None, &message);
    };
    empty(DistKind::Beta, &[2.0, 3.0], 2.0, 3.0);
    empty(DistKind::Exponential, &[1.0], -2.0, 0.0);
    empty(DistKind::LogNormal, &[0.0, 1.0], -2.0, 0.0);
    empty(DistKind::Uniform, &[0.0, 1.0], 1.0, 2.0);
    empty(DistKind::Normal, &[5.0, 0.0], 6.0, 7.0);
    empty(DistKind::Poisson, &[3.0], 0.2, 0.8);
    empty(DistKind::Poisson, &[3.0], -5.0, -1.0);
    empty(DistKind::Binomial, &[10.0, 0.5], 10.5, INF);
    empty(DistKind::Bernoulli, &[0.0], 0.5, 2.0);
    empty(DistKind::Discrete, &[1.0, 1.0, 2.0, 0.0], 1.5, 3.0);
    empty(DistKind::Pert, &[0.0, 1.0, 2.0], 2.0, 5.0);
    // Truncating a truncation to a disjoint interval.
    let inner = normal(0.0, 1.0).unwrap();
    check(
        inner.truncated(2.0, 3.0),
        None,
        "`lo` and `hi` must bound an interval with positive probability, got 2, 3",
    );
}

#[test]
fn ninety_percent_puts_the_bounds_at_the_5th_and_95th_percentiles() {
    let Ok(Dist::LogNormal(d)) = Dist::ninety_percent(2.0, 8.0) else {
        panic!("not lognormal");
    };
    assert_eq!(d.mu, (libm::log(2.0) + libm::log(8.0)) / 2.0);
    assert_eq!(
        d.sigma,
        (libm::log(8.0) - libm::log(2.0)) / (2.0 * 1.6448536269514722)
    );
    let Ok(Dist::Normal(d)) = Dist::ninety_percent(-3.0, 5.0) else {
        panic!("not normal");
    };
    assert_eq!((d.mean, d.sd), (1.0, 8.0 / (2.0 * 1.6448536269514722)));
    // Near the top of the double range the halved form still fits.
    let Ok(Dist::Normal(d)) = Dist::ninety_percent(-1.5e308, 1.7e308) else {
        panic!("not normal");
    };
    assert!(d.mean.is_finite() && d.sd.is_finite());
}

/// One distribution of each kind (and each sampling method), as the value-stability and
/// batch tests use them.
fn representatives() -> Vec<(&'static str, Dist)> {
    use DistKind::*;
    let plain = [
        ("normal", Normal, &[10.0, 2.0][..]),
        ("lognormal", LogNormal, &[1.0, 0.5]),
        ("uniform", Uniform, &[-1.0, 3.0]),
        ("triangular", Triangular, &[0.0, 1.0, 4.0]),
        ("pert", Pert, &[0.0, 1.0, 4.0]),
        ("beta", Beta, &[2.0, 3.0]),
        ("beta small", Beta, &[0.5, 0.7]),
        ("gamma", Gamma, &[2.5, 2.0]),
        ("gamma small", Gamma, &[0.4, 1.0]),
        ("exponential", Exponential, &[0.5]),
        ("weibull", Weibull, &[1.5, 3.0]),
        ("student_t", StudentT, &[5.0]),
        ("student_t small", StudentT, &[1.0]),
        ("poisson small", Poisson, &[3.5]),
        ("poisson large", Poisson, &[120.0]),
        ("binomial small", Binomial, &[20.0, 0.1]),
        ("binomial large", Binomial, &[500.0, 0.7]),
        ("bernoulli", Bernoulli, &[0.3]),
        ("discrete", Discrete, &[1.0, 2.0, 5.0, 1.0, 9.0, 3.0]),
    ];
    let mut all: Vec<(&'static str, Dist)> = plain
        .into_iter()
        .map(|(name, kind, params)| (name, dist(kind, params)))
        .collect();
    let truncated = [
        ("truncated normal", dist(Normal, &[0.0, 1.0]), -1.0, 2.0),
        (
            "truncated normal tail",
            dist(Normal, &[0.0, 1.0]),
            35.0,
            INF,
        ),
        (
            "truncated lognormal",
            dist(LogNormal, &[0.0, 1.0]),
            0.5,
            4.0,
        ),
        (
            "truncated triangular",
            dist(Triangular, &[0.0, 1.0, 4.0]),
            2.0,
            3.0,
        ),
        ("truncated exponential", dist(Exponential, &[1.0]), 1.0, 2.0),
        ("truncated weibull", dist(Weibull, &[2.0, 1.0]), 0.5, INF),
        ("truncated gamma", dist(Gamma, &[2.0, 1.0]), 1.0, 3.0),
    ];
    for (name, d, lo, hi) in truncated {
        all.push((name, d.truncated(lo, hi).unwrap()));
    }
    all.push(("a to b", Dist::ninety_percent(10.0, 40.0).unwrap()));
    all
}

/// The first three draws at seed 42, site 0, chunk 0. These pin the exact bits: a change
/// here changes every saved run's results, so it must be deliberate. It runs under wasm32
/// too, where the same bits are the point.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn value_stability() {
    #[rustfmt::skip]
    let expected: &[(&str, [f64; 3])] = &[
        ("normal", [11.261484047707299, 9.650305526175186, 8.139599390048897]),
        ("lognormal", [3.72613316867861, 2.490731348339947, 1.7072772456280128]),
        ("uniform", [1.3452192853673313, 0.8202192706522156, -0.4690949860103242]),
        ("triangular", [1.7719196280434573, 1.4427862451403572, 0.7286322899718869]),
        ("pert", [2.1935252004570476, 1.234991459494648, 0.8317319364641842]),
        ("beta", [0.6489303941292521, 0.3599753650584842, 0.24776764562736997]),
        ("beta small", [0.06562081727981361, 0.48310870119004046, 0.3637199581507422]),
        ("gamma", [6.468038977111645, 2.131242029365839, 7.056139979017341]),
        ("gamma small", [0.011935375293767765, 0.2523825588757883, 0.544214274754469]),
        ("exponential", [1.0678309034197764, 1.5746747778155712, 4.038933032473289]),
        ("weibull", [1.9744050258020969, 2.557968380564653, 4.793054411707999]),
        ("student_t", [0.7198535842071287, -0.4807923164915041, 2.7576746596955837]),
        ("student_t small", [1.6651620805680847, 26.691280579865186, 0.05826346284367475]),
        ("poisson small", [4.0, 3.0, 1.0]),
        ("poisson large", [123.0, 106.0, 131.0]),
        ("binomial small", [2.0, 2.0, 1.0]),
        ("binomial large", [347.0, 363.0, 340.0]),
        ("bernoulli", [0.0, 0.0, 1.0]),
        ("discrete", [9.0, 5.0, 1.0]),
        ("truncated normal", [0.35472241853004016, 0.07818782526536157, -0.620986508017521]),
        ("truncated normal tail", [35.025197329223545, 35.0040652730323, 35.04611959161405]),
        ("truncated lognormal", [1.4262697747193245, 1.1350134246228625, 0.6502299235498674]),
        ("truncated triangular", [2.339001967482954, 2.4620908827277335, 2.817553907997385]),
        ("truncated exponential", [1.4630126532606402, 1.33918522133275, 1.087628651317335]),
        ("truncated weibull", [1.0642489651303273, 0.9257807906009271, 0.6264188791266163]),
        ("truncated gamma", [2.6207618685397844, 2.8887161009467768, 1.7431179544959494]),
        ("a to b", [26.089402837654646, 18.5793551251811, 13.514221154737843]),
    ];
    let mut report = String::new();
    let mut ok = true;
    for (name, d) in representatives() {
        let mut rng = Stream::new(42, 0, 0);
        let got = [d.sample(&mut rng), d.sample(&mut rng), d.sample(&mut rng)];
        report.push_str(&format!("        ({name:?}, {got:?}),\n"));
        match expected.iter().find(|(n, _)| *n == name) {
            Some((_, want)) if want.map(f64::to_bits) == got.map(f64::to_bits) => {}
            _ => ok = false,
        }
    }
    assert!(ok, "draws changed; now:\n{report}");
}

#[test]
fn fill_matches_repeated_sample() {
    for (name, d) in representatives() {
        let mut a = Stream::new(3, 1, 4);
        let mut b = a.clone();
        let mut filled = [0.0; 300];
        d.fill(&mut a, &mut filled);
        let sampled: Vec<f64> = (0..300).map(|_| d.sample(&mut b)).collect();
        assert_eq!(
            filled.map(f64::to_bits).to_vec(),
            sampled.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            "{name}"
        );
        // Both streams end in the same place.
        assert_eq!(a.next_u64(), b.next_u64(), "{name}");
    }
}

/// Every kind with awkward parameter values: `new`, `truncated`, drawing and quantiles must
/// neither panic nor hang, whatever is passed.
#[test]
fn awkward_parameters_never_panic() {
    let values = [
        NAN,
        INF,
        -INF,
        0.0,
        -0.0,
        5e-324,
        1e-300,
        0.5,
        1.0,
        2.0,
        9.5,
        1e15,
        (1u64 << 53) as f64,
        1e308,
        -1.0,
        -1e308,
    ];
    let bounds = [
        (-INF, 0.0),
        (0.0, 1.0),
        (1e300, INF),
        (-1.0, 1e-300),
        (0.5, 0.500_000_1),
        (-INF, INF),
    ];
    let mut rng = Stream::new(1, 2, 3);
    let mut exercise = |d: Dist| {
        for _ in 0..3 {
            d.sample(&mut rng);
        }
        let (lo, hi) = d.support();
        for p in [0.0, 5e-324, 1e-300, 1e-12, 0.5, 1.0 - 1e-12, 1.0, NAN] {
            let x = d.quantile(p);
            assert!(x.is_nan() || (lo <= x && x <= hi), "{d:?} at {p}: {x}");
        }
        for (lo, hi) in bounds {
            if let Ok(t) = d.clone().truncated(lo, hi) {
                let x = t.sample(&mut rng);
                assert!(x.is_nan() || (lo <= x && x <= hi), "{t:?}: {x}");
                for p in [0.0, 1e-300, 0.3, 1.0 - 1e-12, 1.0] {
                    let x = t.quantile(p);
                    assert!(x.is_nan() || (lo <= x && x <= hi), "{t:?} at {p}: {x}");
                }
            }
        }
    };
    for kind in DistKind::ALL {
        let arity = kind.param_names().len();
        for i in 0..values.len().pow(arity as u32) {
            let params: Vec<f64> = (0..arity)
                .map(|j| values[i / values.len().pow(j as u32) % values.len()])
                .collect();
            if let Ok(d) = Dist::new(kind, &params) {
                exercise(d);
            }
        }
    }
    for a in values {
        for b in values {
            if let Ok(d) = Dist::ninety_percent(a, b) {
                exercise(d);
            }
        }
    }
}

/// Probabilities for the quantile tests that need no reference: ordinary, extreme, the ends,
/// and values outside [0, 1].
const PROBES: [f64; 12] = [
    0.5,
    1e-300,
    1e-12,
    0.001,
    0.3,
    0.999,
    1.0 - 1e-12,
    0.0,
    1.0,
    NAN,
    -0.1,
    1.5,
];

#[test]
fn quantile_each_matches_quantile() {
    for (name, d) in representatives() {
        let mut batch = PROBES;
        d.quantile_each(&mut batch);
        let one_at_a_time = PROBES.map(|p| d.quantile(p));
        assert_eq!(
            batch.map(f64::to_bits),
            one_at_a_time.map(f64::to_bits),
            "{name}"
        );
    }
}

#[test]
fn quantiles_are_nan_outside_the_unit_interval_and_reach_the_support_ends() {
    for (name, d) in representatives() {
        for p in [NAN, -0.1, 1.5, -INF, INF] {
            assert!(d.quantile(p).is_nan(), "{name} at {p}");
        }
        let (lo, hi) = d.support();
        let ends = (d.quantile(0.0), d.quantile(1.0));
        if matches!(d, Dist::Truncated(_)) {
            // Mapped through the base distribution's quantile, then clamped.
            assert!(
                lo <= ends.0 && ends.0 <= ends.1 && ends.1 <= hi,
                "{name}: {ends:?}"
            );
        } else {
            assert_eq!(ends, (lo, hi), "{name}");
        }
        let inner: Vec<f64> = PROBES[..7].iter().map(|&p| d.quantile(p)).collect();
        assert!(
            inner.iter().all(|&x| lo <= x && x <= hi),
            "{name}: {inner:?} outside [{lo}, {hi}]"
        );
    }
}

/// The quantiles at three probabilities. Like [`value_stability`] these pin the exact bits
/// (Latin hypercube runs depend on them) and run under wasm32 too.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn quantile_value_stability() {
    #[rustfmt::skip]
    let expected: &[(&str, [f64; 3])] = &[
        ("normal", [3.8195353876643736, 8.951198974583919, 16.180464612335626]),
        ("lognormal", [0.5797744368398611, 2.0913289886882174, 12.744708337272852]),
        ("uniform", [-0.996, 0.19999999999999996, 2.996]),
        ("triangular", [0.06324555320336758, 1.1017246507621126, 3.890455488498967]),
        ("pert", [0.04040715153495103, 0.872107663052899, 3.511944681554086]),
        ("beta", [0.013022947370814282, 0.27238394207510547, 0.9359618608971666]),
        ("beta small", [1.5697523747772843e-6, 0.13726226496361169, 0.9998844141222141]),
        ("gamma", [0.21021260262921915, 2.9999081327599066, 20.51500565243287]),
        ("gamma small", [2.344941084766479e-8, 0.03754188643742303, 5.042608588459962]),
        ("exponential", [0.002001000667167067, 0.7133498878774647, 13.815510557964272]),
        ("weibull", [0.030010005837410533, 1.508816144747155, 10.881260737018426]),
        ("student_t", [-5.893429531356009, -0.5594296444693606, 5.8934295313560074]),
        ("student_t small", [-318.30883898555044, -0.7265425280053608, 318.30883898555015]),
        ("poisson small", [0.0, 2.0, 11.0]),
        ("poisson large", [88.0, 114.0, 155.0]),
        ("binomial small", [0.0, 1.0, 7.0]),
        ("binomial large", [318.0, 345.0, 381.0]),
        ("bernoulli", [0.0, 0.0, 1.0]),
        ("discrete", [1.0, 1.0, 9.0]),
        ("truncated normal", [-0.9966226715348402, -0.24240381788922688, 1.9850630859441685]),
        ("truncated normal tail", [35.00002856243381, 35.01018093569755, 35.19665215418894]),
        ("truncated lognormal", [0.5010729706423914, 0.8731006315472678, 3.98245131818512]),
        ("truncated triangular", [2.0007501406777592, 2.239318313834099, 2.9985011233156573]),
        ("truncated exponential", [1.0006323204312624, 1.2102719564223687, 1.998283192728867]),
        ("truncated weibull", [0.5009995013306735, 0.7788934098698822, 2.6753981533562694]),
        ("truncated gamma", [1.0014586593839376, 1.4497692301399026, 2.996411590728124]),
        ("a to b", [5.438467797513294, 16.03458622891111, 73.55012751622762]),
    ];
    let mut report = String::new();
    let mut ok = true;
    for (name, d) in representatives() {
        let got = [0.001, 0.3, 0.999].map(|p| d.quantile(p));
        report.push_str(&format!("        ({name:?}, {got:?}),\n"));
        match expected.iter().find(|(n, _)| *n == name) {
            Some((_, want)) if want.map(f64::to_bits) == got.map(f64::to_bits) => {}
            _ => ok = false,
        }
    }
    assert!(ok, "quantiles changed; now:\n{report}");
}

/// A distribution with its reference CDF, for [`stratified_quantiles_pass_ks`].
#[cfg(not(target_arch = "wasm32"))]
type WithCdf = (&'static str, Dist, Box<dyn Fn(f64) -> f64>);

/// Stratified probabilities through every kind's quantile function reproduce the
/// distribution: Kolmogorov–Smirnov against statrs' CDF, as for random draws.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn stratified_quantiles_pass_ks() {
    use super::testutil::{assert_ks, assert_ks_discrete, stratified};
    use statrs::distribution as sr;
    use statrs::distribution::{ContinuousCDF, DiscreteCDF};
    let continuous: Vec<WithCdf> = {
        let normal = sr::Normal::new(10.0, 2.0).unwrap();
        let lognormal = sr::LogNormal::new(1.0, 0.5).unwrap();
        let uniform = sr::Uniform::new(-1.0, 3.0).unwrap();
        let triangular = sr::Triangular::new(0.0, 4.0, 1.0).unwrap();
        let pert = sr::Beta::new(2.0, 4.0).unwrap();
        let beta = sr::Beta::new(0.5, 0.7).unwrap();
        let gamma = sr::Gamma::new(2.5, 0.5).unwrap();
        let gamma_small = sr::Gamma::new(0.4, 1.0).unwrap();
        let exponential = sr::Exp::new(0.5).unwrap();
        let weibull = sr::Weibull::new(1.5, 3.0).unwrap();
        let t5 = sr::StudentsT::new(0.0, 1.0, 5.0).unwrap();
        let t1 = sr::StudentsT::new(0.0, 1.0, 1.0).unwrap();
        let truncated_gamma = sr::Gamma::new(2.0, 1.0).unwrap();
        let (g1, g3) = (truncated_gamma.cdf(1.0), truncated_gamma.cdf(3.0));
        let truncated_normal = sr::Normal::new(0.0, 1.0).unwrap();
        let (n1, n2) = (truncated_normal.cdf(-1.0), truncated_normal.cdf(2.0));
        use DistKind::*;
        vec![
            (
                "normal",
                dist(Normal, &[10.0, 2.0]),
                Box::new(move |x| normal.cdf(x)),
            ),
            (
                "lognormal",
                dist(LogNormal, &[1.0, 0.5]),
                Box::new(move |x| lognormal.cdf(x)),
            ),
            (
                "uniform",
                dist(Uniform, &[-1.0, 3.0]),
                Box::new(move |x| uniform.cdf(x)),
            ),
            (
                "triangular",
                dist(Triangular, &[0.0, 1.0, 4.0]),
                Box::new(move |x| triangular.cdf(x)),
            ),
            (
                "pert",
                dist(Pert, &[0.0, 1.0, 4.0]),
                Box::new(move |x| pert.cdf(x / 4.0)),
            ),
            (
                "beta",
                dist(Beta, &[0.5, 0.7]),
                Box::new(move |x| beta.cdf(x)),
            ),
            (
                "gamma",
                dist(Gamma, &[2.5, 2.0]),
                Box::new(move |x| gamma.cdf(x)),
            ),
            (
                "gamma small",
                dist(Gamma, &[0.4, 1.0]),
                Box::new(move |x| gamma_small.cdf(x)),
            ),
            (
                "exponential",
                dist(Exponential, &[0.5]),
                Box::new(move |x| exponential.cdf(x)),
            ),
            (
                "weibull",
                dist(Weibull, &[1.5, 3.0]),
                Box::new(move |x| weibull.cdf(x)),
            ),
            (
                "student_t",
                dist(StudentT, &[5.0]),
                Box::new(move |x| t5.cdf(x)),
            ),
            (
                "student_t 1",
                dist(StudentT, &[1.0]),
                Box::new(move |x| t1.cdf(x)),
            ),
            (
                "truncated gamma",
                dist(Gamma, &[2.0, 1.0]).truncated(1.0, 3.0).unwrap(),
                Box::new(move |x| (truncated_gamma.cdf(x) - g1) / (g3 - g1)),
            ),
            (
                "truncated normal",
                dist(Normal, &[0.0, 1.0]).truncated(-1.0, 2.0).unwrap(),
                Box::new(move |x| (truncated_normal.cdf(x) - n1) / (n2 - n1)),
            ),
        ]
    };
    for (name, d, cdf) in continuous {
        assert_ks(name, stratified(&d), cdf);
    }
    let discrete: Vec<WithCdf> = {
        let poisson = sr::Poisson::new(3.5).unwrap();
        let poisson_large = sr::Poisson::new(120.0).unwrap();
        let binomial = sr::Binomial::new(0.1, 20).unwrap();
        let binomial_large = sr::Binomial::new(0.7, 500).unwrap();
        use DistKind::*;
        vec![
            (
                "poisson",
                dist(Poisson, &[3.5]),
                Box::new(move |x| poisson.cdf(x as u64)),
            ),
            (
                "poisson large",
                dist(Poisson, &[120.0]),
                Box::new(move |x| poisson_large.cdf(x as u64)),
            ),
            (
                "binomial",
                dist(Binomial, &[20.0, 0.1]),
                Box::new(move |x| binomial.cdf(x as u64)),
            ),
            (
                "binomial large",
                dist(Binomial, &[500.0, 0.7]),
                Box::new(move |x| binomial_large.cdf(x as u64)),
            ),
            (
                "bernoulli",
                dist(Bernoulli, &[0.3]),
                Box::new(|x| if x < 1.0 { 0.7 } else { 1.0 }),
            ),
            (
                "discrete",
                dist(Discrete, &[5.0, 1.0, 1.0, 2.0, 9.0, 3.0]),
                Box::new(|x| {
                    [(1.0, 2.0), (5.0, 3.0), (9.0, 6.0)]
                        .iter()
                        .rev()
                        .find(|v| v.0 <= x)
                        .map_or(0.0, |v| v.1 / 6.0)
                }),
            ),
        ]
    };
    for (name, d, cdf) in discrete {
        assert_ks_discrete(name, stratified(&d), cdf);
    }
}

/// Nanoseconds per quantile for each kind, one call at a time (the per-call setup
/// included, as when parameters vary per iteration) and in a batch; run with --nocapture
/// to see them. Nothing is asserted: the machine's load decides the figures.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn quantile_timing() {
    use DistKind::*;
    let cases: [(&str, DistKind, &[f64]); 24] = [
        ("normal", Normal, &[0.0, 1.0]),
        ("lognormal", LogNormal, &[0.0, 1.0]),
        ("uniform", Uniform, &[0.0, 1.0]),
        ("triangular", Triangular, &[0.0, 1.0, 4.0]),
        ("pert", Pert, &[0.0, 1.0, 4.0]),
        ("beta(2, 5)", Beta, &[2.0, 5.0]),
        ("beta(0.3, 0.3)", Beta, &[0.3, 0.3]),
        ("beta(0.3, 500)", Beta, &[0.3, 500.0]),
        ("beta(500, 500)", Beta, &[500.0, 500.0]),
        ("gamma(0.3)", Gamma, &[0.3, 1.0]),
        ("gamma(2.5)", Gamma, &[2.5, 1.0]),
        ("gamma(500)", Gamma, &[500.0, 1.0]),
        ("exponential", Exponential, &[1.0]),
        ("weibull", Weibull, &[1.5, 1.0]),
        ("student_t(1)", StudentT, &[1.0]),
        ("student_t(2.5)", StudentT, &[2.5]),
        ("student_t(30)", StudentT, &[30.0]),
        ("poisson(0.5)", Poisson, &[0.5]),
        ("poisson(30)", Poisson, &[30.0]),
        ("poisson(1e5)", Poisson, &[1e5]),
        ("binomial(10, 0.3)", Binomial, &[10.0, 0.3]),
        ("binomial(1e6, 0.01)", Binomial, &[1e6, 0.01]),
        ("bernoulli", Bernoulli, &[0.3]),
        ("discrete", Discrete, &[1.0, 2.0, 5.0, 1.0, 9.0, 3.0]),
    ];
    let n = 4000;
    let ps: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect();
    for (name, kind, params) in cases {
        let d = dist(kind, params);
        let start = std::time::Instant::now();
        let sum: f64 = ps.iter().map(|&p| d.quantile(p)).sum();
        let single = start.elapsed().as_nanos() as f64 / n as f64;
        let mut batch = ps.clone();
        let start = std::time::Instant::now();
        d.quantile_each(&mut batch);
        let each = start.elapsed().as_nanos() as f64 / n as f64;
        assert!(sum.is_finite(), "{name}");
        println!("{name:20} {single:7.0} ns a call, {each:7.0} ns in a batch");
    }
}
