//! The few hot loops compiled twice: for x86-64's baseline (SSE2) and for AVX-512, chosen at
//! run time by what the processor has.
//!
//! The engine is built for the baseline so that one binary runs on every x86-64 machine. Its
//! loops vectorise two lanes wide there, and SSE2 has no 64-bit multiply, so the random
//! generator's mixing stays scalar. Where the processor has AVX-512 (F, DQ, VL, BW), the
//! kernels (`exp`, `ln`, uniforms, normal draws, inversion-table lookups, formula loops,
//! moments, sketch keys, the non-finite scan) run eight lanes wide with native 64-bit
//! multiplies and gathers: a chunk of the wide50 benchmark evaluates 1.7× faster (criterion's
//! `chunk/wide50` against `chunk/wide50 baseline`), and the whole run 1.4× (156 against 221 ms
//! of CPU time for 1M iterations on one thread).
//!
//! The results are the same bits either way, and the same as in wasm: both copies come from
//! one body of IEEE-754 basic operations and integer operations, which every instruction set
//! rounds alike, and Rust never fuses a multiply and an add unless told to (`mul_add`, which
//! the engine does not use). `determinism.rs` runs the golden models both ways.
//!
//! `unsafe` appears only in `kernel!`'s call of the AVX-512 copy, after the run-time check
//! that the processor has those instructions; the crate otherwise denies it.

use std::sync::atomic::{AtomicU8, Ordering};

/// Not yet known / the portable copies / the AVX-512 copies.
const UNKNOWN: u8 = 0;
const PORTABLE: u8 = 1;
const WIDE: u8 = 2;

static CHOICE: AtomicU8 = AtomicU8::new(UNKNOWN);

/// Whether the kernels run their AVX-512 copies: the processor has AVX-512 and
/// [`use_wide`] has not turned them off.
#[inline]
pub fn wide() -> bool {
    match CHOICE.load(Ordering::Relaxed) {
        UNKNOWN => {
            let wide = detect();
            CHOICE.store(if wide { WIDE } else { PORTABLE }, Ordering::Relaxed);
            wide
        }
        choice => choice == WIDE,
    }
}

#[cfg(target_arch = "x86_64")]
fn detect() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512dq")
        && std::arch::is_x86_feature_detected!("avx512vl")
        && std::arch::is_x86_feature_detected!("avx512bw")
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> bool {
    false
}

/// Turns the AVX-512 copies off (`false`) or back on where the processor has them (`true`),
/// for the whole process: for tests and benchmarks that compare the two. Results do not
/// change, only speed.
#[doc(hidden)]
pub fn use_wide(enabled: bool) {
    let choice = if enabled && detect() { WIDE } else { PORTABLE };
    CHOICE.store(choice, Ordering::Relaxed);
}

/// Defines a function whose body is compiled twice, for the baseline and with AVX-512, and
/// which runs the copy [`wide`] chooses. Inside the body, the constant `WIDE` says which
/// copy it is, for the rare loop that must be written differently for each (see
/// `rng::fill_unit`). Everything the body calls that should be vectorised with it must be
/// `#[inline(always)]`: a function that is not inlined keeps its baseline code.
macro_rules! kernel {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block
    ) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            #[allow(clippy::needless_return)]
            fn body<const WIDE: bool>($($arg: $ty),*) $(-> $ret)? $body

            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
                fn wide_copy($($arg: $ty),*) $(-> $ret)? {
                    body::<true>($($arg),*)
                }
                if $crate::simd::wide() {
                    // SAFETY: `wide()` is true only when the processor has every feature
                    // `wide_copy` is compiled for.
                    #[allow(unsafe_code)]
                    return unsafe { wide_copy($($arg),*) };
                }
            }
            body::<false>($($arg),*)
        }
    };
}

pub(crate) use kernel;
