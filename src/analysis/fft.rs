//! Cached real FFT plans and Gaussian kernel spectra for the KDE grid.
//!
//! Every KDE grid uses the same spacing in units of its bandwidth
//! (h / CELLS_PER_H), so the sampled kernel, and hence its spectrum, depends
//! only on the FFT length. Plans and spectra are built once per length and
//! shared by all fits on all threads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

/// A forward/inverse real FFT pair of one length with the kernel's spectrum.
pub(crate) struct KernelFft {
    len: usize,
    forward: Arc<dyn RealToComplex<f64>>,
    inverse: Arc<dyn ComplexToReal<f64>>,
    /// Spectrum of the circularly placed sampled kernel, divided by `len`
    /// (realfft's inverse is unnormalised). Real because the kernel is even.
    kernel_hat: Vec<f64>,
}

impl KernelFft {
    /// FFT length.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Circular convolution of `data` (length `len`) with the sampled kernel,
    /// in place.
    pub(crate) fn convolve(&self, data: &mut [f64]) {
        let mut spectrum = self.forward.make_output_vec();
        // Lengths are ours and fixed by construction, so these cannot fail.
        self.forward
            .process(data, &mut spectrum)
            .expect("forward FFT length is fixed by the plan");
        for (s, k) in spectrum.iter_mut().zip(&self.kernel_hat) {
            *s *= *k;
        }
        // The inverse of a real signal's spectrum needs purely real DC and
        // Nyquist terms; force them so rounding cannot trip realfft's check.
        spectrum[0].im = 0.0;
        if let Some(last) = spectrum.last_mut() {
            last.im = 0.0;
        }
        self.inverse
            .process(&mut spectrum, data)
            .expect("inverse FFT length is fixed by the plan");
    }
}

struct Cache {
    planner: RealFftPlanner<f64>,
    plans: HashMap<(usize, u64, usize), Arc<KernelFft>>,
}

fn cache() -> &'static Mutex<Cache> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    CACHE.get_or_init(|| {
        Mutex::new(Cache {
            planner: RealFftPlanner::new(),
            plans: HashMap::new(),
        })
    })
}

/// The plan of length `len` (even) for a Gaussian sampled at `cells_per_h`
/// points per bandwidth and truncated at `half_width` cells.
pub(crate) fn kernel_fft(len: usize, cells_per_h: f64, half_width: usize) -> Arc<KernelFft> {
    let key = (len, cells_per_h.to_bits(), half_width);
    // A poisoned lock only means another thread panicked mid-insert; the map
    // itself is still consistent, so keep using it.
    let mut guard = cache().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(plan) = guard.plans.get(&key) {
        return Arc::clone(plan);
    }
    let forward = guard.planner.plan_fft_forward(len);
    let inverse = guard.planner.plan_fft_inverse(len);
    let mut kernel = vec![0.0f64; len];
    for d in 0..=half_width.min(len / 2) {
        let u = d as f64 / cells_per_h;
        let k = (-0.5 * u * u).exp();
        kernel[d] = k;
        if d > 0 {
            kernel[len - d] = k;
        }
    }
    let mut spectrum: Vec<Complex<f64>> = forward.make_output_vec();
    forward
        .process(&mut kernel, &mut spectrum)
        .expect("kernel FFT length is fixed by the plan");
    let scale = 1.0 / len as f64;
    let kernel_hat = spectrum.iter().map(|c| c.re * scale).collect();
    let plan = Arc::new(KernelFft {
        len,
        forward,
        inverse,
        kernel_hat,
    });
    guard.plans.insert(key, Arc::clone(&plan));
    plan
}

/// Smallest even length >= `n` whose only prime factors are 2, 3 and 5
/// (fast for the FFT, and much less padding than a power of two).
pub(crate) fn good_len(n: usize) -> usize {
    let mut len = n.max(16);
    len += len % 2;
    loop {
        let mut m = len;
        for p in [2, 3, 5] {
            while m.is_multiple_of(p) {
                m /= p;
            }
        }
        if m == 1 {
            return len;
        }
        len += 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_lengths_are_smooth_and_even() {
        assert_eq!(good_len(1), 16);
        assert_eq!(good_len(1000), 1000);
        assert_eq!(good_len(1001), 1024);
        assert_eq!(good_len(1517), 1536);
    }

    #[test]
    fn convolution_of_a_spike_is_the_kernel() {
        let plan = kernel_fft(64, 4.0, 16);
        let mut data = vec![0.0; 64];
        data[20] = 2.0;
        plan.convolve(&mut data);
        for (i, &v) in data.iter().enumerate() {
            let d = (i as f64 - 20.0).abs();
            let expected = if d <= 16.0 {
                2.0 * (-0.5 * (d / 4.0) * (d / 4.0)).exp()
            } else {
                0.0
            };
            assert!((v - expected).abs() < 1e-12, "{i}: {v} vs {expected}");
        }
    }
}
