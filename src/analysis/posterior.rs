//! Node posteriors from log joint values, shared by the classifiers
//! ([`crate::analysis::classifiers`]) and the per-node models that feed
//! them: ln P(c | z) = a_c - logsumexp_m(a_m), a_c = ln L(z | c) + ln pi_c,
//! floored in log space.

use crate::analysis::mathx::{exp_neg, ln_pos};

/// ln 1e-10: the floor of a node's log posterior in the layer score.
pub const LN_POSTERIOR_FLOOR: f64 = -23.025_850_929_940_457;

/// Terms this far (nats) below the largest are left out of a log-sum-exp;
/// e^-40 = 4e-18 is below half an ulp of the sum, which is at least 1.
pub(crate) const LSE_CUTOFF: f64 = 40.0;

/// Floored node log posteriors from per-class log joint values
/// a_c = ln L(z | c) + ln pi_c: out_c = max(a_c - logsumexp(a), ln 1e-10).
///
/// Entries of -inf (a class with prior 0) get the floor. Terms more than 40
/// nats below the largest are left out of the log-sum-exp (they cannot change
/// it in double precision). Everything stays in log space, so a posterior
/// that underflows to 0 in linear space still gets exactly the floor.
pub fn floored_log_posteriors(log_joint: &[f64], out: &mut [f64]) {
    log_posteriors(log_joint, out, LN_POSTERIOR_FLOOR);
}

/// out_c = max(a_c - logsumexp(a), lower); see [`floored_log_posteriors`].
pub(crate) fn log_posteriors(log_joint: &[f64], out: &mut [f64], lower: f64) {
    let max = log_joint.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        out.fill(lower);
        return;
    }
    // The terms go through `out` first: a branch-free loop of independent
    // exponentials vectorises and pipelines, where summing as they come
    // would chain every exponential's latency. exp_neg(-inf) is 0.
    for (o, &a) in out.iter_mut().zip(log_joint) {
        let d = a - max;
        *o = if d >= -LSE_CUTOFF { exp_neg(d) } else { 0.0 };
    }
    let sum: f64 = out.iter().sum();
    let lse = max + ln_pos(sum);
    for (o, &a) in out.iter_mut().zip(log_joint) {
        *o = (a - lse).max(lower);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posteriors_are_floored_in_log_space() {
        let mut out = [0.0; 3];
        floored_log_posteriors(&[0.0, -1000.0, f64::NEG_INFINITY], &mut out);
        assert_eq!(out, [0.0, LN_POSTERIOR_FLOOR, LN_POSTERIOR_FLOOR]);
        let half = 0.5f64.ln();
        floored_log_posteriors(&[half - 7.0, half - 7.0, f64::NEG_INFINITY], &mut out);
        assert!((out[0] - half).abs() < 1e-15 && (out[1] - half).abs() < 1e-15);
        // Just above and below the floor (posterior 1e-10 relative to ~1).
        floored_log_posteriors(&[0.0, -23.0, -23.1], &mut out);
        assert!(out[1] > LN_POSTERIOR_FLOOR && out[2] == LN_POSTERIOR_FLOOR);
        assert!((LN_POSTERIOR_FLOOR - 1e-10f64.ln()).abs() < 1e-14);
    }
}
