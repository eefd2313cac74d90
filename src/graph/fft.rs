//! Cached rustfft plans for the 2-D orthonormal DFT over the last two axes, and cached NUFFT
//! plans per trajectory (`graph/nufft.rs`).

use super::nufft::NufftPlan;
use num_complex::Complex64;
use rustfft::{Fft, FftPlanner};
use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

type Plan = Arc<dyn Fft<f64>>;

/// Plans built once per (length, direction) and thread, and reused across calls.
///
/// The 2-D transform of an `h × w` plane runs `w`-point transforms over the rows, transposes,
/// runs `h`-point transforms over the columns and transposes back, scaled by `1/√(hw)`.
/// Forward is `exp(−2πi·)` like numpy, so `fft2(x)` equals `np.fft.fft2(x, norm="ortho")`.
///
/// It also keeps the gridding plans of the last few NUFFT trajectories (a trajectory is constant
/// data in a model, so its kernel weights are computed once), most recently used first.
pub struct FftCache {
    /// Tells this cache's entries in the per-thread copies ([`LOCAL`]) from other caches'.
    id: u64,
    /// The (length, direction) pairs planned so far (the plans themselves live per thread).
    plans: Mutex<HashSet<(usize, bool)>>,
    pub(super) nufft: Mutex<Vec<Arc<NufftPlan>>>,
    /// Spectra of the last few convolution kernels (a kernel is usually a constant of the model),
    /// by the kernel's elements and the plane size, most recently used first.
    spectra: Mutex<Vec<(SpectrumKey, Arc<Vec<Complex64>>)>>,
}

/// A kernel's elements (as bits, so the match is exact), its shape and the plane it is embedded in.
#[derive(Clone, PartialEq, Eq)]
struct SpectrumKey {
    bits: Vec<(u64, u64)>,
    kernel: (usize, usize),
    plane: (usize, usize),
}

/// How many kernel spectra [`FftCache`] keeps.
const SPECTRA: usize = 8;

impl Default for FftCache {
    fn default() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        FftCache {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            plans: Mutex::default(),
            nufft: Mutex::default(),
            spectra: Mutex::default(),
        }
    }
}

impl fmt::Debug for FftCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FftCache").field("plans", &self.len()).finish()
    }
}

impl FftCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of distinct 1-D plans (length, direction) used through this cache.
    pub fn len(&self) -> usize {
        self.plans.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The 1-D plan of length `n`, built on first use. Each thread keeps its own copy of the plans
    /// it has used, so that threads transforming at once share neither the lock nor a reference
    /// count (both cost more than a 32-point FFT when two threads contend for them).
    fn plan(&self, n: usize, inverse: bool) -> Plan {
        let key = (self.id, n, inverse);
        let hit = LOCAL.with(|l| {
            l.borrow()
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, p)| Arc::clone(p))
        });
        if let Some(p) = hit {
            return p;
        }
        self.plans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((n, inverse));
        let own = build_plan(n, inverse);
        LOCAL.with(|l| {
            let mut l = l.borrow_mut();
            if l.len() >= LOCAL_PLANS {
                l.remove(0);
            }
            l.push((key, Arc::clone(&own)));
        });
        own
    }

    /// The spectrum of `kernel` (`kh × kw`, row-major) as `compute` gives it for an `h × w` plane,
    /// computed once per distinct kernel and plane among the last few used.
    pub(super) fn kernel_spectrum(
        &self,
        kernel: &[Complex64],
        (kh, kw): (usize, usize),
        (h, w): (usize, usize),
        compute: impl FnOnce() -> Vec<Complex64>,
    ) -> Arc<Vec<Complex64>> {
        let key = SpectrumKey {
            bits: kernel.iter().map(|z| (z.re.to_bits(), z.im.to_bits())).collect(),
            kernel: (kh, kw),
            plane: (h, w),
        };
        let mut spectra = self.spectra.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(i) = spectra.iter().position(|(k, _)| *k == key) {
            let hit = spectra.remove(i);
            let spec = Arc::clone(&hit.1);
            spectra.insert(0, hit);
            return spec;
        }
        drop(spectra);
        let spec = Arc::new(compute());
        let mut spectra = self.spectra.lock().unwrap_or_else(PoisonError::into_inner);
        spectra.insert(0, (key, Arc::clone(&spec)));
        spectra.truncate(SPECTRA);
        spec
    }

    /// In-place orthonormal 2-D DFT (`inverse`: its inverse) of every consecutive row-major
    /// `h × w` plane of `data`. A trailing partial plane, if any, is left untouched.
    pub fn fft2(&self, data: &mut [Complex64], h: usize, w: usize, inverse: bool) {
        let scale = 1.0 / ((h * w) as f64).sqrt();
        self.fft2_scaled(data, h, w, inverse, scale);
    }

    /// The unnormalised 2-D DFT (`Σ x e^{∓2πi(…)}`, no `1/√(hw)`): for callers that apply the
    /// scaling where it costs nothing (while copying the input, or in a product they form anyway),
    /// which saves [`FftCache::fft2`]'s scaling pass.
    pub(crate) fn fft2_unnormalised(&self, data: &mut [Complex64], h: usize, w: usize, inverse: bool) {
        self.fft2_scaled(data, h, w, inverse, 1.0);
    }

    /// In-place unnormalised 1-D DFT (`inverse`: its inverse) of every consecutive length-`n` row
    /// of `data`; a trailing partial row is left untouched.
    pub(super) fn rows(&self, data: &mut [Complex64], n: usize, inverse: bool) {
        if n == 0 || data.len() < n {
            return;
        }
        let plan = self.plan(n, inverse);
        let (len, s) = (data.len() / n * n, plan.get_inplace_scratch_len());
        SCRATCH.with(|cell| {
            let mut buf = cell.borrow_mut();
            if buf.len() < s {
                buf.resize(s, Complex64::default());
            }
            plan.process_with_scratch(&mut data[..len], &mut buf[..s]);
        });
    }

    /// The unnormalised 2-D DFT times `scale`.
    fn fft2_scaled(&self, data: &mut [Complex64], h: usize, w: usize, inverse: bool, scale: f64) {
        let n = h * w;
        if n == 0 || data.len() < n {
            return;
        }
        let rows = self.plan(w, inverse);
        let cols = self.plan(h, inverse);
        let (rs, cs) = (rows.get_inplace_scratch_len(), cols.get_inplace_scratch_len());
        SCRATCH.with(|cell| {
            let mut buf = cell.borrow_mut();
            if buf.len() < n + rs.max(cs) {
                buf.resize(n + rs.max(cs), Complex64::default());
            }
            let (t, scratch) = buf.split_at_mut(n);
            for plane in data.chunks_exact_mut(n) {
                rows.process_with_scratch(plane, &mut scratch[..rs]);
                transpose(plane, t, h, w, 1.0);
                cols.process_with_scratch(t, &mut scratch[..cs]);
                transpose(t, plane, w, h, scale);
            }
        });
    }
}

fn build_plan(n: usize, inverse: bool) -> Plan {
    let mut planner = FftPlanner::new();
    if inverse {
        planner.plan_fft_inverse(n)
    } else {
        planner.plan_fft_forward(n)
    }
}

/// A per-thread plan's cache id, length and direction.
type PlanKey = (u64, usize, bool);

/// How many plans each thread keeps (the oldest goes first).
const LOCAL_PLANS: usize = 32;

thread_local! {
    /// This thread's plans, by cache, length and direction.
    static LOCAL: std::cell::RefCell<Vec<(PlanKey, Plan)>> = const { std::cell::RefCell::new(Vec::new()) };
    /// Per-thread transpose plane and FFT scratch, grown to the largest size used.
    static SCRATCH: std::cell::RefCell<Vec<Complex64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `dst = scale · srcᵀ` for a row-major `h × w` `src`, by the `transpose` crate (rustfft's own,
/// cache-oblivious: plain column-by-column loops thrash the cache at power-of-two sizes).
fn transpose(src: &[Complex64], dst: &mut [Complex64], h: usize, w: usize, scale: f64) {
    let n = h * w;
    transpose::transpose(&src[..n], &mut dst[..n], w, h);
    if scale != 1.0 {
        dst[..n].iter_mut().for_each(|z| *z *= scale);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    /// One plan per (length, direction), shared by threads; concurrent results equal serial ones.
    #[test]
    fn plans_are_cached_and_shared() {
        assert_send_sync::<FftCache>();
        let cache = FftCache::new();
        let input: Vec<Complex64> = (0..48).map(|k| Complex64::new((k as f64).sin(), 0.5)).collect();
        let mut serial = input.clone();
        cache.fft2(&mut serial, 6, 8, false);
        assert_eq!(cache.len(), 2);
        let results: Vec<Vec<Complex64>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        let mut d = input.clone();
                        cache.fft2(&mut d, 6, 8, false);
                        d
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(results.iter().all(|r| *r == serial));
        assert_eq!(cache.len(), 2, "no new plans for a size seen before");
        cache.fft2(&mut serial, 6, 8, true);
        assert_eq!(cache.len(), 4);
        let err = serial
            .iter()
            .zip(&input)
            .map(|(a, b)| (a - b).norm())
            .fold(0.0, f64::max);
        assert!(err < 1e-14);
    }
}
