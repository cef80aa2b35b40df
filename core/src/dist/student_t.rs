//! Student's t distribution: a normal draw over the root of a scaled chi-squared draw.

use super::error::{ParamError, positive};
use super::gamma::StdGamma;
use super::ziggurat;
use crate::rng::Stream;

/// Student's t with `df` degrees of freedom: Z·√(df / χ²(df)), where χ²(df) = 2·Gamma(df/2),
/// so Z·√(k / Gamma(k)) with k = df/2.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StudentT {
    half_df: f64,
    ln_half_df: f64,
    gamma: StdGamma,
}

impl StudentT {
    /// Validates the parameter: finite and greater than 0.
    pub fn new(df: f64) -> Result<StudentT, ParamError> {
        positive(0, "df", df)?;
        let half_df = 0.5 * df;
        Ok(StudentT {
            half_df,
            ln_half_df: libm::log(half_df),
            gamma: StdGamma::new(half_df),
        })
    }

    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> f64 {
        let z = ziggurat::tables().sample(rng);
        if self.gamma.boosted() {
            // Below df = 2 the gamma draw can underflow; work with its logarithm.
            z * libm::exp(0.5 * (self.ln_half_df - self.gamma.ln_sample(rng)))
        } else {
            z * f64::sqrt(self.half_df / self.gamma.sample(rng))
        }
    }
}

// statrs, the reference, is a native-only dev-dependency.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::super::DistKind;
    use super::super::testutil::{assert_ks, dist, draws};
    use statrs::distribution::{ContinuousCDF, StudentsT as Reference};

    #[test]
    fn matches_the_reference_cdf() {
        for (seed, df) in [1.0, 4.5, 60.0].into_iter().enumerate() {
            let reference = Reference::new(0.0, 1.0, df).unwrap();
            assert_ks(
                &format!("student_t({df})"),
                draws(&dist(DistKind::StudentT, &[df]), seed as u64),
                |x| reference.cdf(x),
            );
        }
    }
}
