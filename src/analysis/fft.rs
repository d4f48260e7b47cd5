//! Cached real FFT plans and Gaussian kernel spectra for the KDE grid.
//!
//! Every KDE grid uses the same spacing in units of its bandwidth
//! (h / CELLS_PER_H), so the sampled kernel, and hence its spectrum, depends
//! only on the FFT length. Plans and spectra are built once per length and
//! shared by all fits on all threads.

use std::cell::RefCell;
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
        // Work buffers are kept per thread: allocating them for each of the
        // ~1,000 fits of a layer (up to 1 MB each) costs more in page faults
        // than the transforms themselves.
        BUFFERS.with(|buffers| {
            let mut buffers = buffers.borrow_mut();
            let Buffers { spectrum, scratch } = &mut *buffers;
            // Their contents do not matter (the transforms overwrite them),
            // so they are only resized, not cleared.
            spectrum.resize(self.len / 2 + 1, Complex::default());
            let scratch_len = self
                .forward
                .get_scratch_len()
                .max(self.inverse.get_scratch_len());
            scratch.resize(scratch_len, Complex::default());
            // Lengths are ours and fixed by construction, so these cannot fail.
            self.forward
                .process_with_scratch(data, spectrum, scratch)
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
                .process_with_scratch(spectrum, data, scratch)
                .expect("inverse FFT length is fixed by the plan");
        });
    }
}

/// Runs `f` on a zeroed per-thread buffer of `len` values (reused between
/// calls on the same thread, see [`KernelFft::convolve`]). `f` must not call
/// this function itself.
pub(crate) fn with_work_buffer<R>(len: usize, f: impl FnOnce(&mut [f64]) -> R) -> R {
    WORK.with(|work| {
        let mut work = work.borrow_mut();
        work.clear();
        work.resize(len, 0.0);
        f(&mut work)
    })
}

/// Per-thread work buffers of [`KernelFft::convolve`].
#[derive(Default)]
struct Buffers {
    spectrum: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
}

thread_local! {
    static BUFFERS: RefCell<Buffers> = RefCell::new(Buffers::default());
    static WORK: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
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

/// An even length >= `n` whose only prime factors are 2, 3 and 5 (fast
/// for the FFT), from a sparse set: 2^k times 32, 36, 40, 45, 48, 54 or 60,
/// i.e. at most 12.5% padding. Few distinct lengths mean that the cached
/// plans and kernel spectra are reused: every length that is not yet cached
/// costs a plan and a kernel FFT, which for the ~1,000 KDEs of a layer with
/// as many distinct smooth lengths cost more than the convolutions.
pub(crate) fn good_len(n: usize) -> usize {
    const MANTISSAS: [usize; 7] = [32, 36, 40, 45, 48, 54, 60];
    let mut scale = 1;
    loop {
        for m in MANTISSAS {
            let len = m * scale;
            if len >= n && len.is_multiple_of(2) {
                return len;
            }
        }
        scale *= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_lengths_are_smooth_and_even() {
        assert_eq!(good_len(1), 32);
        assert_eq!(good_len(46), 48);
        assert_eq!(good_len(1000), 1024);
        assert_eq!(good_len(1025), 1152);
        assert_eq!(good_len(1441), 1536);
        assert_eq!(good_len(90), 90);
        for n in 1..100_000 {
            let len = good_len(n);
            assert!(
                len >= n && len.is_multiple_of(2) && (len <= 64 || len * 8 <= n * 9),
                "{n}"
            );
        }
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
