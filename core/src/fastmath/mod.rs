//! Deterministic, vectorisable `exp` and `ln`.
//!
//! Every sampled value must be the same bits on x86-64 and wasm32, so the engine cannot use
//! `f64::exp` or `f64::ln` (they call the platform's libm, which differs between targets).
//! The `libm` crate gives portable bits but costs 11–15 ns a call: its `exp` divides and
//! branches on the size of `x`. The two functions here use only IEEE-754 basic operations
//! (`+ - * /` and comparisons, each correctly rounded on every target, never fused: Rust
//! does not contract `a * b + c` into an FMA) plus integer operations on the bit patterns,
//! so their results are fixed by the source alone.
//!
//! Their common path has no branch, so a loop over a slice vectorises with plain SSE2 (two
//! lanes; `exp`'s table lookups become scalar loads) and wasm runs a straight line. Measured on
//! 4096-value slices, on the 2-core build machine: `exp_slice` about 2.8 ns a value and
//! `ln_slice` about 3 ns, against 9–12 ns for `libm::exp` and 7–10 ns for `libm::log`.
//!
//! - [`exp`] follows the table method of Arm's optimized-routines (musl's and glibc's `exp`
//!   since 2018): `exp(x) = 2^(k/128) · exp(r)` with `|r| ≤ ln2/256`, a 128-entry table of
//!   `2^(j/128)` as a double plus a relative tail, and a degree-5 polynomial. Special inputs
//!   need no test: `x` is clamped to where the result is already `+∞` or `0`, NaN passes
//!   through the arithmetic, and the power of two is applied in two halves so that overflow
//!   and gradual underflow come out of the last multiplication. Error 0.51 ulp for normal
//!   results; subnormal results are rounded twice (see `exp_kernel`), 0.75 ulp.
//! - [`ln`] is the `libm` crate's `log` (FreeBSD's `e_log.c`) without its branches, and
//!   returns the same bits as `libm::log` for every input, so switching to it changes no
//!   result: `ln(x) = k·ln2 + log1p(f)` with `log1p(f) = 2·atanh(f / (2 + f))` and a
//!   degree-14 even polynomial. Error below 1 ulp (0.80 measured). Inputs other than
//!   positive normal numbers are rare in the engine and are redone in a second pass over
//!   the slice, only when there are any (see `ln_slice`).
//!
//! The `_slice` and `_in_place` forms use the same inlined kernels as the scalar functions,
//! so they give the same bits.

use crate::simd::kernel;

/// `128 / ln 2` (Arm optimized-routines `exp_data.c`, `invln2N`).
const INV_LN2_N: f64 = f64::from_bits(0x4067_1547_652b_82fe);
/// `-ln 2 / 128` split so that `k · NEG_LN2_HI_N` is exact for every `k` this file makes:
/// the high part's lowest bit is 2^-43 and `|k · ln2/128| < 1024`.
const NEG_LN2_HI_N: f64 = f64::from_bits(0xbf76_2e42_fefa_0000);
const NEG_LN2_LO_N: f64 = f64::from_bits(0xbd0c_f79a_bc9e_3b3a);
/// `1.5 · 2^52`: adding it rounds a number below 2^51 in size to an integer, which then sits
/// in the low bits of the sum, so no float-to-integer conversion instruction is needed.
const SHIFT: f64 = f64::from_bits(0x4338_0000_0000_0000);
/// `exp(r) - 1 - r ≈ r²·(C2 + r·C3) + r⁴·(C4 + r·C5)` on `|r| ≤ ln2/256`, absolute error
/// 1.555·2^-66 (Arm optimized-routines `exp_data.c`).
const C2: f64 = f64::from_bits(0x3fdf_ffff_ffff_fdbd);
const C3: f64 = f64::from_bits(0x3fc5_5555_5555_543c);
const C4: f64 = f64::from_bits(0x3fa5_5555_cf17_2b91);
const C5: f64 = f64::from_bits(0x3f81_1111_67a4_d017);
/// Inputs are clamped to `[EXP_MIN, EXP_MAX]` before the reduction: `exp(EXP_MAX)`
/// overflows to infinity, `exp(EXP_MIN)` rounds to zero, and in between every
/// intermediate stays finite.
const EXP_MAX: f64 = 710.0;
const EXP_MIN: f64 = -746.0;
/// Added to `k = round(x · 128/ln2)` (`|k| < 137_800` after clamping) to make it
/// non-negative without changing it modulo 256, so that logical shifts give its table
/// index and exponent (SSE2 has no 64-bit arithmetic shift): `2046 = 2 · 1023`.
const K_BIAS: u64 = 128 * 2046;

/// Row `j` is `[tail, h]` as bit patterns, with `h` the double nearest `2^(j/128)` and
/// `tail` the double nearest `2^(j/128) / h - 1`, so `2^(j/128) = h · (1 + tail)` to about
/// 2^-106. Generated with mpmath at 300 bits:
///
/// ```text
/// t = mpf(2) ** (mpf(j) / 128); h = float(t); tail = float(t / h - 1)
/// ```
///
/// These are the values of Arm's `__exp_data.tab` before its exponent adjustment; the test
/// `table_is_two_to_the_j_over_128` checks them in double-double arithmetic.
#[rustfmt::skip]
const EXP_TABLE: [[u64; 2]; 128] = [
    [0x0000000000000000, 0x3ff0000000000000], [0x3c9b3b4f1a88bf6e, 0x3ff0163da9fb3335],
    [0xbc7160139cd8dc5d, 0x3ff02c9a3e778061], [0xbc905e7a108766d1, 0x3ff04315e86e7f85],
    [0x3c8cd2523567f613, 0x3ff059b0d3158574], [0xbc8bce8023f98efa, 0x3ff0706b29ddf6de],
    [0x3c60f74e61e6c861, 0x3ff0874518759bc8], [0x3c90a3e45b33d399, 0x3ff09e3ecac6f383],
    [0x3c979aa65d837b6d, 0x3ff0b5586cf9890f], [0x3c8eb51a92fdeffc, 0x3ff0cc922b7247f7],
    [0x3c3ebe3d702f9cd1, 0x3ff0e3ec32d3d1a2], [0xbc6a033489906e0b, 0x3ff0fb66affed31b],
    [0xbc9556522a2fbd0e, 0x3ff11301d0125b51], [0xbc5080ef8c4eea55, 0x3ff12abdc06c31cc],
    [0xbc91c923b9d5f416, 0x3ff1429aaea92de0], [0x3c80d3e3e95c55af, 0x3ff15a98c8a58e51],
    [0xbc801b15eaa59348, 0x3ff172b83c7d517b], [0xbc8f1ff055de323d, 0x3ff18af9388c8dea],
    [0x3c8b898c3f1353bf, 0x3ff1a35beb6fcb75], [0xbc96d99c7611eb26, 0x3ff1bbe084045cd4],
    [0x3c9aecf73e3a2f60, 0x3ff1d4873168b9aa], [0xbc8fe782cb86389d, 0x3ff1ed5022fcd91d],
    [0x3c8a6f4144a6c38d, 0x3ff2063b88628cd6], [0x3c807a05b0e4047d, 0x3ff21f49917ddc96],
    [0x3c968efde3a8a894, 0x3ff2387a6e756238], [0x3c875e18f274487d, 0x3ff251ce4fb2a63f],
    [0x3c80472b981fe7f2, 0x3ff26b4565e27cdd], [0xbc96b87b3f71085e, 0x3ff284dfe1f56381],
    [0x3c82f7e16d09ab31, 0x3ff29e9df51fdee1], [0xbc3d219b1a6fbffa, 0x3ff2b87fd0dad990],
    [0x3c8b3782720c0ab4, 0x3ff2d285a6e4030b], [0x3c6e149289cecb8f, 0x3ff2ecafa93e2f56],
    [0x3c834d754db0abb6, 0x3ff306fe0a31b715], [0x3c864201e2ac744c, 0x3ff32170fc4cd831],
    [0x3c8fdd395dd3f84a, 0x3ff33c08b26416ff], [0xbc86a3803b8e5b04, 0x3ff356c55f929ff1],
    [0xbc924aedcc4b5068, 0x3ff371a7373aa9cb], [0xbc9907f81b512d8e, 0x3ff38cae6d05d866],
    [0xbc71d1e83e9436d2, 0x3ff3a7db34e59ff7], [0xbc991919b3ce1b15, 0x3ff3c32dc313a8e5],
    [0x3c859f48a72a4c6d, 0x3ff3dea64c123422], [0xbc9312607a28698a, 0x3ff3fa4504ac801c],
    [0xbc58a78f4817895b, 0x3ff4160a21f72e2a], [0xbc7c2c9b67499a1b, 0x3ff431f5d950a897],
    [0x3c4363ed60c2ac11, 0x3ff44e086061892d], [0x3c9666093b0664ef, 0x3ff46a41ed1d0057],
    [0x3c6ecce1daa10379, 0x3ff486a2b5c13cd0], [0x3c93ff8e3f0f1230, 0x3ff4a32af0d7d3de],
    [0x3c7690cebb7aafb0, 0x3ff4bfdad5362a27], [0x3c931dbdeb54e077, 0x3ff4dcb299fddd0d],
    [0xbc8f94340071a38e, 0x3ff4f9b2769d2ca7], [0xbc87deccdc93a349, 0x3ff516daa2cf6642],
    [0xbc78dec6bd0f385f, 0x3ff5342b569d4f82], [0xbc861246ec7b5cf6, 0x3ff551a4ca5d920f],
    [0x3c93350518fdd78e, 0x3ff56f4736b527da], [0x3c7b98b72f8a9b05, 0x3ff58d12d497c7fd],
    [0x3c9063e1e21c5409, 0x3ff5ab07dd485429], [0x3c34c7855019c6ea, 0x3ff5c9268a5946b7],
    [0x3c9432e62b64c035, 0x3ff5e76f15ad2148], [0xbc8ce44a6199769f, 0x3ff605e1b976dc09],
    [0xbc8c33c53bef4da8, 0x3ff6247eb03a5585], [0xbc845378892be9ae, 0x3ff6434634ccc320],
    [0xbc93cedd78565858, 0x3ff6623882552225], [0x3c5710aa807e1964, 0x3ff68155d44ca973],
    [0xbc93b3efbf5e2228, 0x3ff6a09e667f3bcd], [0xbc6a12ad8734b982, 0x3ff6c012750bdabf],
    [0xbc6367efb86da9ee, 0x3ff6dfb23c651a2f], [0xbc80dc3d54e08851, 0x3ff6ff7df9519484],
    [0xbc781f647e5a3ecf, 0x3ff71f75e8ec5f74], [0xbc86ee4ac08b7db0, 0x3ff73f9a48a58174],
    [0xbc8619321e55e68a, 0x3ff75feb564267c9], [0x3c909ccb5e09d4d3, 0x3ff780694fde5d3f],
    [0xbc7b32dcb94da51d, 0x3ff7a11473eb0187], [0x3c94ecfd5467c06b, 0x3ff7c1ed0130c132],
    [0x3c65ebe1abd66c55, 0x3ff7e2f336cf4e62], [0xbc88a1c52fb3cf42, 0x3ff80427543e1a12],
    [0xbc9369b6f13b3734, 0x3ff82589994cce13], [0xbc805e843a19ff1e, 0x3ff8471a4623c7ad],
    [0xbc94d450d872576e, 0x3ff868d99b4492ed], [0x3c90ad675b0e8a00, 0x3ff88ac7d98a6699],
    [0x3c8db72fc1f0eab4, 0x3ff8ace5422aa0db], [0xbc65b6609cc5e7ff, 0x3ff8cf3216b5448c],
    [0x3c7bf68359f35f44, 0x3ff8f1ae99157736], [0xbc93091fa71e3d83, 0x3ff9145b0b91ffc6],
    [0xbc5da9b88b6c1e29, 0x3ff93737b0cdc5e5], [0xbc6c23f97c90b959, 0x3ff95a44cbc8520f],
    [0xbc92434322f4f9aa, 0x3ff97d829fde4e50], [0xbc85ca6cd7668e4b, 0x3ff9a0f170ca07ba],
    [0x3c71affc2b91ce27, 0x3ff9c49182a3f090], [0x3c6dd235e10a73bb, 0x3ff9e86319e32323],
    [0xbc87c50422622263, 0x3ffa0c667b5de565], [0x3c8b1c86e3e231d5, 0x3ffa309bec4a2d33],
    [0xbc91bbd1d3bcbb15, 0x3ffa5503b23e255d], [0x3c90cc319cee31d2, 0x3ffa799e1330b358],
    [0x3c8469846e735ab3, 0x3ffa9e6b5579fdbf], [0xbc82dfcd978e9db4, 0x3ffac36bbfd3f37a],
    [0x3c8c1a7792cb3387, 0x3ffae89f995ad3ad], [0xbc907b8f4ad1d9fa, 0x3ffb0e07298db666],
    [0xbc55c3d956dcaeba, 0x3ffb33a2b84f15fb], [0xbc90a40e3da6f640, 0x3ffb59728de5593a],
    [0xbc68d6f438ad9334, 0x3ffb7f76f2fb5e47], [0xbc91eee26b588a35, 0x3ffba5b030a1064a],
    [0x3c74ffd70a5fddcd, 0x3ffbcc1e904bc1d2], [0xbc91bdfbfa9298ac, 0x3ffbf2c25bd71e09],
    [0x3c736eae30af0cb3, 0x3ffc199bdd85529c], [0x3c8ee3325c9ffd94, 0x3ffc40ab5fffd07a],
    [0x3c84e08fd10959ac, 0x3ffc67f12e57d14b], [0x3c63cdaf384e1a67, 0x3ffc8f6d9406e7b5],
    [0x3c676b2c6c921968, 0x3ffcb720dcef9069], [0xbc808a1883ccb5d2, 0x3ffcdf0b555dc3fa],
    [0xbc8fad5d3ffffa6f, 0x3ffd072d4a07897c], [0xbc900dae3875a949, 0x3ffd2f87080d89f2],
    [0x3c74a385a63d07a7, 0x3ffd5818dcfba487], [0xbc82919e2040220f, 0x3ffd80e316c98398],
    [0x3c8e5a50d5c192ac, 0x3ffda9e603db3285], [0x3c843a59ac016b4b, 0x3ffdd321f301b460],
    [0xbc82d52107b43e1f, 0x3ffdfc97337b9b5f], [0xbc892ab93b470dc9, 0x3ffe264614f5a129],
    [0x3c74b604603a88d3, 0x3ffe502ee78b3ff6], [0x3c83c5ec519d7271, 0x3ffe7a51fbc74c83],
    [0xbc8ff7128fd391f0, 0x3ffea4afa2a490da], [0xbc8dae98e223747d, 0x3ffecf482d8e67f1],
    [0x3c8ec3bc41aa2008, 0x3ffefa1bee615a27], [0x3c842b94c3a9eb32, 0x3fff252b376bba97],
    [0x3c8a64a931d185ee, 0x3fff50765b6e4540], [0xbc8e37bae43be3ed, 0x3fff7bfdad9cbe14],
    [0x3c77893b4d91cd9d, 0x3fffa7c1819e90d8], [0x3c5305c14160cc89, 0x3fffd3c22b8f71f1],
];

/// `e^x`, within 0.52 ulp for normal results and 0.76 ulp for subnormal ones.
///
/// Exact at the special points: `exp(±0) = 1`, `exp(-∞) = 0`, `exp(+∞) = +∞`, NaN gives
/// NaN, results above `f64::MAX` are `+∞` and below half the smallest subnormal are `+0`.
#[inline]
pub fn exp(x: f64) -> f64 {
    exp_kernel(x)
}

/// `out[i] = exp(xs[i])`, the same bits as [`exp`].
///
/// # Panics
///
/// If `xs` and `out` differ in length.
pub fn exp_slice(xs: &[f64], out: &mut [f64]) {
    assert_eq!(
        xs.len(),
        out.len(),
        "exp_slice: input and output lengths differ"
    );
    exp_pairs(xs, out);
}

kernel! {
    fn exp_pairs(xs: &[f64], out: &mut [f64]) {
        for (o, &x) in out.iter_mut().zip(xs) {
            *o = exp_kernel(x);
        }
    }
}

kernel! {
    /// `x = exp(x)` for every element, the same bits as [`exp`].
    pub fn exp_in_place(xs: &mut [f64]) {
        for x in xs {
            *x = exp_kernel(*x);
        }
    }
}

/// The natural logarithm of `x`: the same bits as `libm::log`, within 1 ulp.
///
/// Exact at the special points: `ln(1) = 0`, `ln(±0) = -∞`, `ln(+∞) = +∞`, negative inputs
/// and NaN give NaN. Subnormal inputs are scaled into the normal range first.
#[inline]
pub fn ln(x: f64) -> f64 {
    if is_positive_normal(x) {
        ln_kernel(x, 0.0)
    } else {
        ln_rare(x)
    }
}

/// `out[i] = ln(xs[i])`, the same bits as [`ln`].
///
/// # Panics
///
/// If `xs` and `out` differ in length.
pub fn ln_slice(xs: &[f64], out: &mut [f64]) {
    assert_eq!(
        xs.len(),
        out.len(),
        "ln_slice: input and output lengths differ"
    );
    let rare = ln_common(xs, out);
    if rare {
        for (o, &x) in out.iter_mut().zip(xs) {
            if !is_positive_normal(x) {
                *o = ln_rare(x);
            }
        }
    }
}

kernel! {
    /// `out[i] = ln(xs[i])` for positive normal `xs[i]`, one straight-line pass; whether any
    /// input was another kind (zero, negative, subnormal, infinite, NaN), to be redone.
    /// Handling those inline with selects cost almost half the loop's instructions: SSE2 has
    /// no 64-bit integer compare, which is what LLVM turns the comparisons with infinity into.
    fn ln_common(xs: &[f64], out: &mut [f64]) -> bool {
        let mut rare = false;
        for (o, &x) in out.iter_mut().zip(xs) {
            *o = ln_kernel(x, 0.0);
            rare |= !is_positive_normal(x);
        }
        rare
    }
}

kernel! {
    /// `x = ln(x)` for every element, the same bits as [`ln`].
    pub fn ln_in_place(xs: &mut [f64]) {
        // Without a copy of the inputs the rare ones cannot be redone afterwards, so look for
        // them first: a cheap pass, and the common case then runs as fast as `ln_slice`.
        let rare = xs
            .iter()
            .fold(false, |rare, &x| rare | !is_positive_normal(x));
        if rare {
            xs.iter_mut().for_each(|x| *x = ln(*x));
        } else {
            xs.iter_mut().for_each(|x| *x = ln_kernel(*x, 0.0));
        }
    }
}

#[inline(always)]
fn exp_kernel(x: f64) -> f64 {
    // Written as selects that keep `x` when the comparison is false, so NaN passes through.
    let x = if x > EXP_MAX { EXP_MAX } else { x };
    let x = if x < EXP_MIN { EXP_MIN } else { x };

    // x = k·ln2/128 + r with k an integer and |r| ≤ ln2/256 (plus rounding).
    let kd = x * INV_LN2_N + SHIFT;
    let ki = kd.to_bits();
    let kd = kd - SHIFT;
    let r = x + kd * NEG_LN2_HI_N + kd * NEG_LN2_LO_N;

    // m = k + 2046·128 ≥ 0. With k = 128·e + j: j = m mod 128, m >> 7 = e + 2046, and
    // e is split into e1 = floor(e/2) and e2 = e - e1, two halves that are each a normal
    // power of two even when 2^e is not (e runs from -1077 to 1025).
    let m = ki.wrapping_sub(SHIFT.to_bits()).wrapping_add(K_BIAS);
    let [tail, h] = EXP_TABLE[(m % 128) as usize];
    let e1_biased = m >> 8; // e1 + 1023
    let e2_biased = (m >> 7).wrapping_sub(e1_biased); // e2 + 1023
    // h · 2^e1, built by adding e1 to the exponent field of h (in [1, 2)).
    let scale = f64::from_bits(h.wrapping_add(e1_biased << 52).wrapping_sub(1023 << 52));

    // 2^(k/128) · e^r = scale · 2^e2 · (1 + tail) · e^r ≈ scale · 2^e2 · (1 + tmp).
    let r2 = r * r;
    let tmp = f64::from_bits(tail) + r + r2 * (C2 + r * C3) + r2 * r2 * (C4 + r * C5);
    let y = scale + scale * tmp;
    // Exact when the result is normal. When it is subnormal this second rounding (after
    // the one of `y`) can add up to a quarter ulp: musl avoids that with a slow path, but
    // a branch per element would stop the loop vectorising, and 0.76 ulp is within budget.
    // It also overflows to +inf exactly when the true result exceeds f64::MAX.
    y * f64::from_bits(e2_biased << 52)
}

/// `ln 2` split as in FreeBSD's `e_log.c`: `k · LN2_HI` is exact for `|k| < 2000`.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
/// `R(s) = 2·atanh(s)/s - 2 ≈ LG1·s² + … + LG7·s¹⁴` on `[0, 0.1716]`, error below
/// 2^-58.45 (FreeBSD's `e_log.c`).
const LG1: f64 = f64::from_bits(0x3fe5_5555_5555_5593);
const LG2: f64 = f64::from_bits(0x3fd9_9999_9997_fa04);
const LG3: f64 = f64::from_bits(0x3fd2_4924_9422_9359);
const LG4: f64 = f64::from_bits(0x3fcc_71c5_1d8e_78af);
const LG5: f64 = f64::from_bits(0x3fc7_4664_96cb_03de);
const LG6: f64 = f64::from_bits(0x3fc3_9a09_d078_c69f);
const LG7: f64 = f64::from_bits(0x3fc2_f112_df3e_5244);
/// 2^52 and its bit pattern: `2^52 + n` holds a small integer `n` in its low bits.
const TWO_POW_52_BITS: u64 = 0x4330_0000_0000_0000;
const TWO_POW_52: f64 = f64::from_bits(TWO_POW_52_BITS);
/// 2^54, the factor that lifts a subnormal input into the normal range.
const TWO_POW_54: f64 = f64::from_bits(0x4350_0000_0000_0000);
/// Moves the exponent boundary from 1 to `0x3fe6a09e…` (about `sqrt(2)/2`), so that the
/// mantissa lands in `[sqrt(2)/2, sqrt(2))`: `libm::log`'s `0x3ff00000 - 0x3fe6a09e` in the
/// high word.
const SQRT_HALF_SHIFT: u64 = (0x3ff0_0000 - 0x3fe6_a09e) << 32;

/// True for the inputs `ln_kernel` handles directly: `f64::MIN_POSITIVE ≤ x ≤ f64::MAX`.
#[inline(always)]
fn is_positive_normal(x: f64) -> bool {
    (f64::MIN_POSITIVE..=f64::MAX).contains(&x)
}

/// `ln(x)` for `x` that are not positive normal numbers.
#[cold]
fn ln_rare(x: f64) -> f64 {
    if x > 0.0 && x < f64::MIN_POSITIVE {
        // Subnormal: scaled up exactly, with the 54 taken back off the exponent inside
        // the kernel, as libm::log does.
        ln_kernel(x * TWO_POW_54, 54.0)
    } else if x == 0.0 {
        f64::NEG_INFINITY
    } else if x < 0.0 {
        f64::NAN
    } else {
        x // +inf and NaN
    }
}

/// `ln(x · 2^-scaled)` for positive normal `x`: garbage, but no panic, for other inputs.
#[inline(always)]
fn ln_kernel(x: f64, scaled: f64) -> f64 {
    // x = 2^k · (1 + f) with 1 + f in [sqrt(2)/2, sqrt(2)), exactly as libm::log splits it
    // with 32-bit words: the shift carries into the exponent when the mantissa is at least
    // 0x6a09e…, and the mantissa is then rebuilt below the new boundary.
    let ui = x.to_bits().wrapping_add(SQRT_HALF_SHIFT);
    let k_biased = ui >> 52; // k + 1023
    // k as a double without an int-to-float conversion (SSE2 has none for 64-bit lanes).
    let dk = f64::from_bits(TWO_POW_52_BITS | k_biased) - (TWO_POW_52 + 1023.0) - scaled;
    let one_plus_f =
        f64::from_bits((ui & 0x000f_ffff_ffff_ffff).wrapping_add(0x3fe6_a09e_u64 << 32));

    // The same expression, operation for operation, as libm::log.
    let f = one_plus_f - 1.0;
    let hfsq = 0.5 * f * f;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG2 + w * (LG4 + w * LG6));
    let t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
    let r = t2 + t1;
    s * (hfsq + r) + dk * LN2_LO - hfsq + f + dk * LN2_HI
}

#[cfg(test)]
mod tests;
