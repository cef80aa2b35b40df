use super::*;
use crate::rng::Stream;

/// Distance in units in the last place between two doubles; 0 when both are NaN,
/// `u64::MAX` when only one is.
fn ulps(a: f64, b: f64) -> u64 {
    if a.is_nan() || b.is_nan() {
        return if a.is_nan() && b.is_nan() {
            0
        } else {
            u64::MAX
        };
    }
    // Map the bit patterns onto a line where adjacent doubles are adjacent integers.
    let ordered = |v: f64| {
        let bits = v.to_bits() as i64;
        if bits < 0 { i64::MIN - bits } else { bits }
    };
    ordered(a).abs_diff(ordered(b))
}

fn check(f: fn(f64) -> f64, x: f64, want: f64) {
    let got = f(x);
    assert!(
        got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
        "f({x:e}) = {got:e} ({:#018x}), expected {want:e} ({:#018x})",
        got.to_bits(),
        want.to_bits()
    );
}

#[test]
fn exp_special_cases() {
    let min_sub = f64::from_bits(1);
    for (x, want) in [
        (0.0, 1.0),
        (-0.0, 1.0),
        (f64::NEG_INFINITY, 0.0),
        (f64::INFINITY, f64::INFINITY),
        (f64::NAN, f64::NAN),
        (-f64::NAN, f64::NAN),
        // The double above ln(f64::MAX); the double nearest it (0x40862e42fefa39ef)
        // is below it, and gives 1.797693134862273e308.
        (f64::from_bits(0x4086_2e42_fefa_39f0), f64::INFINITY),
        (710.0, f64::INFINITY),
        (1e300, f64::INFINITY),
        (f64::MAX, f64::INFINITY),
        (-746.0, 0.0),
        (-1e300, 0.0),
        (f64::MIN, 0.0),
        (-745.2, 0.0),
        // The smallest subnormal is e^-744.44; e^-745.1 rounds up to it.
        (-745.1, min_sub),
        (-744.44, min_sub),
        (1e-300, 1.0),
        (-1e-300, 1.0),
        (min_sub, 1.0),
        (f64::EPSILON, 1.0 + f64::EPSILON),
        (1.0, std::f64::consts::E),
        (std::f64::consts::LN_2, 2.0),
    ] {
        check(exp, x, want);
    }
    // The largest finite results and the first subnormal ones agree with libm.
    for x in [
        709.78,
        709.782712893384,
        -708.39,
        -708.4,
        -709.0,
        -740.0,
        -744.0,
    ] {
        check(exp, x, libm::exp(x));
    }
}

#[test]
fn ln_special_cases() {
    for (x, want) in [
        (1.0, 0.0),
        (0.0, f64::NEG_INFINITY),
        (-0.0, f64::NEG_INFINITY),
        (-1.0, f64::NAN),
        (-f64::MIN_POSITIVE, f64::NAN),
        (-f64::from_bits(1), f64::NAN),
        (f64::NEG_INFINITY, f64::NAN),
        (f64::INFINITY, f64::INFINITY),
        (f64::NAN, f64::NAN),
        (2.0, std::f64::consts::LN_2),
        (std::f64::consts::E, 1.0),
        (f64::from_bits(1), -744.4400719213812),
        (f64::MIN_POSITIVE, -708.3964185322641),
        (f64::MAX, 709.782712893384),
    ] {
        check(ln, x, want);
    }
}

/// Pinned outputs: every sampled lognormal value depends on these bits. It runs under
/// wasm32 too, where the same bits are the point.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn value_stability() {
    for (x, want) in [
        (1.5, 0x4011_ed3f_e64f_c541),
        (-3.7, 0x3f99_511f_c687_1044),
        (0.01, 0x3ff0_292a_5d2f_2226),
        (700.1, 0x7f10_5861_4179_b2a5),
        (-740.5, 0x0000_0000_0000_0033),
    ] {
        check(exp, x, f64::from_bits(want));
    }
    for (x, want) in [
        (3.0, 0x3ff1_93ea_7aad_030a),
        (0.9999, 0xbf1a_3738_d2cf_1cc2),
        (1e-310, 0xc086_4e69_394d_9508),
        (6.02e23, 0x404b_6094_e92c_ca28),
    ] {
        check(ln, x, f64::from_bits(want));
    }
}

/// A digest of the bits of `exp` and `ln` over 200k inputs of every kind, pinned, so
/// that the wasm32 run compares far more than a few values with the native one. NaN
/// counts as one pattern: wasm may return any NaN.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn digest_of_many_values() {
    let xs = mixed_inputs(200_000);
    let mut out = vec![0.0; xs.len()];
    let mut digest = 0xcbf2_9ce4_8422_2325_u64; // FNV-1a over 64-bit words
    for f in [exp_slice, ln_slice] {
        f(&xs, &mut out);
        for v in &out {
            let bits = if v.is_nan() {
                f64::NAN.to_bits()
            } else {
                v.to_bits()
            };
            digest = (digest ^ bits).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    assert_eq!(digest, 0x8d5c_c370_05e7_d632, "digest {digest:#018x}");
}

/// Inputs that exercise every path, special ones included.
fn mixed_inputs(count: usize) -> Vec<f64> {
    let special = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        f64::from_bits(1),
        1e-310,
        f64::MIN_POSITIVE,
        f64::MAX,
        -745.5,
        709.9,
    ];
    let mut s = Stream::new(7, 0, 0);
    (0..count)
        .map(|i| match i % 5 {
            0 => special[s.next_u32() as usize % special.len()],
            1 => -800.0 + 1600.0 * s.next_f64(),
            2 => positive_bits(&mut s),
            _ => 4.0 * s.next_f64() - 1.0,
        })
        .collect()
}

#[test]
fn slices_give_the_scalar_bits() {
    // Odd lengths exercise the loops' scalar remainders.
    for len in [0, 1, 2, 7, 64, 4099] {
        let xs = mixed_inputs(len);
        for (scalar, slice, in_place) in [
            (
                exp as fn(f64) -> f64,
                exp_slice as fn(&[f64], &mut [f64]),
                exp_in_place as fn(&mut [f64]),
            ),
            (ln, ln_slice, ln_in_place),
        ] {
            let want: Vec<u64> = xs.iter().map(|&x| scalar(x).to_bits()).collect();
            let mut out = vec![0.0; len];
            slice(&xs, &mut out);
            assert_eq!(out.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want);
            let mut buf = xs.clone();
            in_place(&mut buf);
            assert_eq!(buf.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want);
        }
    }
    // The rare pass of ln_slice runs only when it has to: a slice of ordinary values
    // must come out the same when one special value is added at the end.
    let mut xs: Vec<f64> = (1..100).map(f64::from).collect();
    let mut plain = vec![0.0; xs.len()];
    ln_slice(&xs, &mut plain);
    xs.push(0.0);
    let mut with_zero = vec![0.0; xs.len()];
    ln_slice(&xs, &mut with_zero);
    assert_eq!(with_zero[..99], plain[..]);
    assert_eq!(with_zero[99], f64::NEG_INFINITY);
}

/// `count` inputs drawn by `draw` from the stream seeded with `seed`.
fn inputs(seed: u64, count: usize, draw: &dyn Fn(&mut Stream) -> f64) -> Vec<f64> {
    let mut s = Stream::new(seed, 0, 0);
    (0..count).map(|_| draw(&mut s)).collect()
}

/// A positive double with uniformly random bits: every binade equally often,
/// subnormals included.
fn positive_bits(s: &mut Stream) -> f64 {
    f64::from_bits(s.next_u64() % 0x7ff0_0000_0000_0000)
}

type Draw = Box<dyn Fn(&mut Stream) -> f64>;

fn uniform(lo: f64, hi: f64) -> Draw {
    Box::new(move |s| lo + (hi - lo) * s.next_f64())
}

/// `±10^e` with `e` uniform on `[lo, hi]`: every scale between the two.
fn log_uniform(lo: f64, hi: f64) -> Draw {
    Box::new(move |s| {
        let v = libm::exp10(lo + (hi - lo) * s.next_f64());
        if s.next_u32() & 1 == 0 { v } else { -v }
    })
}

fn exp_ranges() -> Vec<(&'static str, Draw)> {
    vec![
        ("whole domain", uniform(-746.0, 709.78)),
        ("[-1, 1]", uniform(-1.0, 1.0)),
        ("near 0", log_uniform(-320.0, 0.0)),
        ("subnormal results", uniform(-745.2, -708.4)),
        ("near overflow", uniform(700.0, 709.78)),
    ]
}

fn ln_ranges() -> Vec<(&'static str, Draw)> {
    vec![
        ("all positive doubles", Box::new(positive_bits)),
        ("(0, 4)", uniform(0.0, 4.0)),
        (
            "near 1",
            Box::new(|s| 1.0 + libm::exp10(-16.0 + 15.0 * s.next_f64()) * (s.next_f64() - 0.5)),
        ),
        (
            "subnormal",
            Box::new(|s| f64::from_bits(s.next_u64() >> 12)),
        ),
        (
            "huge",
            Box::new(|s| libm::exp10(300.0 + 8.0 * s.next_f64())),
        ),
    ]
}

/// Per range: 2M inputs in release builds (10M a function), 100k in debug ones.
fn per_range(release: usize) -> usize {
    if cfg!(debug_assertions) {
        release / 20
    } else {
        release
    }
}

#[test]
fn exp_is_within_one_ulp_of_libm() {
    for (seed, (name, draw)) in exp_ranges().iter().enumerate() {
        let mut histogram = [0usize; 2];
        for x in inputs(seed as u64, per_range(2_000_000), draw) {
            let (got, want) = (exp(x), libm::exp(x));
            let d = ulps(got, want);
            assert!(d <= 1, "{name}: exp({x:e}) = {got:e}, libm {want:e}");
            histogram[d as usize] += 1;
        }
        println!("exp vs libm::exp, {name}: [same, 1 ulp apart] = {histogram:?}");
    }
}

#[test]
fn ln_is_libm_log_bit_for_bit() {
    for (seed, (name, draw)) in ln_ranges().iter().enumerate() {
        for x in inputs(100 + seed as u64, per_range(2_000_000), draw) {
            let (got, want) = (ln(x), libm::log(x));
            assert!(
                ulps(got, want) == 0,
                "{name}: ln({x:e}) = {got:e}, libm {want:e}"
            );
        }
    }
}

/// Errors against a double-double reference, in fractional ulps of the true result.
/// Arm's bound for this `exp` is 0.511 ulp without FMA for normal results; subnormal
/// ones add a second rounding (see `exp_kernel`); FreeBSD's bound for `log` is 1 ulp.
#[test]
fn errors_against_double_double() {
    for (seed, (name, draw)) in exp_ranges().iter().enumerate() {
        // The worst (error, x) for normal results and for subnormal ones.
        let mut worst = [(0.0, 0.0); 2];
        for x in inputs(200 + seed as u64, per_range(200_000), draw) {
            let got = exp(x);
            let w = &mut worst[usize::from(got < f64::MIN_POSITIVE)];
            let error = reference::exp_error(x, got);
            if error > w.0 {
                *w = (error, x);
            }
        }
        for ((error, x), (kind, bound)) in worst
            .into_iter()
            .zip([("normal", 0.52), ("subnormal", 0.76)])
        {
            println!("exp, {name}: max error {error:.4} ulp for {kind} results (x = {x:e})");
            assert!(error < bound, "exp, {name}: {error:.4} ulp at {x:e}");
        }
    }
    for (seed, (name, draw)) in ln_ranges().iter().enumerate() {
        let worst = inputs(300 + seed as u64, per_range(200_000), draw)
            .into_iter()
            .map(|x| (reference::ln_error(x, ln(x)), x))
            .fold((0.0, 0.0), |a, b| if b.0 > a.0 { b } else { a });
        println!("ln, {name}: max error {:.4} ulp at {:e}", worst.0, worst.1);
        assert!(
            worst.0 < 1.0,
            "ln, {name}: {:.4} ulp at {:e}",
            worst.0,
            worst.1
        );
    }
}

/// The table against its definition: `h` is `2^(j/128)` rounded to nearest (so the
/// tail is at most half an ulp) and `(h · (1 + tail))^128 = 2^j` to 2^-95.
#[test]
fn table_is_two_to_the_j_over_128() {
    for (j, &[tail, h]) in EXP_TABLE.iter().enumerate() {
        let (tail, h) = (f64::from_bits(tail), f64::from_bits(h));
        assert!(
            (1.0..2.0).contains(&h) && tail.abs() <= f64::EPSILON / 2.0,
            "row {j}"
        );
        let mut v = reference::Dd::exact_product(h, tail).add_f64(h);
        for _ in 0..7 {
            v = v.mul(v);
        }
        let rel = (v.hi - reference::pow2(j as i32)) + v.lo;
        assert!(
            rel.abs() < reference::pow2(j as i32 - 95),
            "row {j}: {rel:e}"
        );
    }
}

/// Double-double arithmetic (about 106 bits) for reference values, built from the
/// error-free transformations of Knuth (TwoSum) and Dekker (TwoProduct by splitting,
/// since FMA is not used anywhere in this file).
mod reference {
    #[derive(Clone, Copy, Debug)]
    pub(super) struct Dd {
        pub hi: f64,
        pub lo: f64,
    }

    fn two_sum(a: f64, b: f64) -> Dd {
        let s = a + b;
        let bb = s - a;
        Dd {
            hi: s,
            lo: (a - (s - bb)) + (b - bb),
        }
    }

    /// `a + b` exactly, given `|a| ≥ |b|`.
    fn fast_two_sum(a: f64, b: f64) -> Dd {
        let s = a + b;
        Dd {
            hi: s,
            lo: b - (s - a),
        }
    }

    fn split(a: f64) -> (f64, f64) {
        let c = 134_217_729.0 * a; // 2^27 + 1
        let hi = c - (c - a);
        (hi, a - hi)
    }

    /// 2^n for n from -1074 to 1023.
    pub(super) fn pow2(n: i32) -> f64 {
        scale(1.0, n)
    }

    /// v · 2^n in two exact steps, so that n can reach ±2100.
    fn scale(v: f64, n: i32) -> f64 {
        let half = |m: i32| f64::from_bits(((m + 1023) as u64) << 52);
        v * half(n / 2) * half(n - n / 2)
    }

    impl Dd {
        pub(super) fn exact_product(a: f64, b: f64) -> Dd {
            let p = a * b;
            let (ah, al) = split(a);
            let (bh, bl) = split(b);
            Dd {
                hi: p,
                lo: ((ah * bh - p) + ah * bl + al * bh) + al * bl,
            }
        }

        pub(super) fn add(self, o: Dd) -> Dd {
            let s = two_sum(self.hi, o.hi);
            let t = two_sum(self.lo, o.lo);
            let s = fast_two_sum(s.hi, s.lo + t.hi);
            fast_two_sum(s.hi, s.lo + t.lo)
        }

        pub(super) fn add_f64(self, b: f64) -> Dd {
            self.add(Dd { hi: b, lo: 0.0 })
        }

        fn neg(self) -> Dd {
            Dd {
                hi: -self.hi,
                lo: -self.lo,
            }
        }

        pub(super) fn mul(self, o: Dd) -> Dd {
            let p = Dd::exact_product(self.hi, o.hi);
            fast_two_sum(p.hi, p.lo + (self.hi * o.lo + self.lo * o.hi))
        }

        fn mul_f64(self, b: f64) -> Dd {
            self.mul(Dd { hi: b, lo: 0.0 })
        }

        fn div_f64(self, b: f64) -> Dd {
            let q = self.hi / b;
            let r = self.add(Dd::exact_product(q, b).neg());
            fast_two_sum(q, (r.hi + r.lo) / b)
        }
    }

    /// ln 2 to about 2^-160, in three parts.
    const LN2: [f64; 3] = [
        f64::from_bits(0x3fe6_2e42_fefa_39ef),
        f64::from_bits(0x3c7a_bc9e_3b39_803f),
        f64::from_bits(0x3907_b57a_079a_1934),
    ];

    fn k_ln2(k: f64) -> Dd {
        Dd::exact_product(k, LN2[0])
            .add(Dd::exact_product(k, LN2[1]))
            .add_f64(k * LN2[2])
    }

    /// `e^x = m · 2^k`, with `m` in about `[0.7, 1.5]`.
    fn exp_dd(x: f64) -> (Dd, i32) {
        let k = (x * std::f64::consts::LOG2_E).round();
        // |r| ≤ 0.35, then e^r = (e^(r/1024))^1024 by a Taylor series and squarings.
        let t = Dd { hi: x, lo: 0.0 }
            .add(k_ln2(k).neg())
            .mul_f64(1.0 / 1024.0);
        let mut m = Dd { hi: 1.0, lo: 0.0 };
        for n in (1..=12).rev() {
            m = m.mul(t).div_f64(f64::from(n)).add_f64(1.0);
        }
        for _ in 0..10 {
            m = m.mul(m);
        }
        (m, k as i32)
    }

    /// |got - e^x| in ulps of e^x, subnormal ulps included.
    pub(super) fn exp_error(x: f64, got: f64) -> f64 {
        let (m, k) = exp_dd(x);
        let exponent = ((m.hi.to_bits() >> 52) as i32 - 1023) + k;
        // Everything scaled by 2^-k, which is exact for `got`.
        let ulp = pow2(exponent.max(-1022) - 52 - k);
        let scaled = scale(got, -k);
        ((scaled - m.hi) - m.lo).abs() / ulp
    }

    /// ln x for positive finite x, to about 2^-95 relative.
    fn ln_dd(x: f64) -> Dd {
        // x = 2^e · xm with xm in [sqrt(1/2), sqrt(2)), subnormals scaled first.
        let (x, mut e) = if x < f64::MIN_POSITIVE {
            (x * pow2(54), -54)
        } else {
            (x, 0)
        };
        let bits = x.to_bits();
        e += (bits >> 52) as i32 - 1023;
        let mut xm = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
        if xm > std::f64::consts::SQRT_2 {
            xm /= 2.0;
            e += 1;
        }
        let d = xm - 1.0; // exact
        let ln_xm = if d.abs() < 1.0 / 16.0 {
            // ln(1 + d) = d - d²/2 + d³/3 - …, d^40 < 2^-160.
            let mut sum = Dd { hi: 0.0, lo: 0.0 };
            let mut power = Dd { hi: d, lo: 0.0 };
            for n in 1..=40 {
                let term = power.div_f64(f64::from(n));
                sum = sum.add(if n % 2 == 1 { term } else { term.neg() });
                power = power.mul_f64(d);
            }
            sum
        } else {
            // One Newton step from libm: y + ln(xm · e^-y), with xm · e^-y - 1 ≈ 2^-52.
            let y = libm::log(xm);
            let (m, k) = exp_dd(-y);
            let t = m.mul_f64(xm).mul_f64(pow2(k)).add_f64(-1.0);
            t.add(t.mul(t).mul_f64(-0.5)).add_f64(y)
        };
        k_ln2(f64::from(e)).add(ln_xm)
    }

    /// |got - ln x| in ulps of ln x.
    pub(super) fn ln_error(x: f64, got: f64) -> f64 {
        if x == 1.0 {
            return got.abs();
        }
        let want = ln_dd(x);
        let ulp = pow2((want.hi.to_bits() >> 52 & 0x7ff) as i32 - 1023 - 52);
        ((got - want.hi) - want.lo).abs() / ulp
    }
}
