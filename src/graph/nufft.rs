//! Type-2 non-uniform FFT plans on 2-D planes and their exact adjoints: Kaiser–Bessel gridding on
//! a 2× oversampled grid with deapodisation (Beatty et al. 2005), and Pipe–Menon density weights.
//!
//! `nufft(x)[m] = (HW)^(−1/2) Σ_{p,q} x[p, q] exp(−i(ω_m0 p + ω_m1 q))`. The image is centred at
//! `c = (⌊H/2⌋, ⌊W/2⌋)` first (`p = c + p'`, a phase `exp(−iω·c)` per sample), so that its
//! frequencies `p'/n` lie in `[−1/4, 1/4)` of the oversampled grid; then
//! `exp(−i2πup'/n) ≈ Σ_j φ(u − j) exp(−i2πjp'/n) / φ̂(p'/n)` with `u = ωn/2π` turns the sum into
//! a pre-scaled FFT of the zero-padded image followed by a `KERNEL_WIDTH`-tap interpolation per
//! axis. The adjoint applies the transposes in reverse order with the same weights, so the two
//! are adjoint to rounding.

use super::fft::FftCache;
use num_complex::Complex64 as C;
use std::f64::consts::PI;
use std::sync::{Arc, PoisonError};

/// Trajectory plans an [`FftCache`] keeps (most recently used first).
const CACHED_PLANS: usize = 8;

/// Grid oversampling factor σ.
pub const OVERSAMPLING: usize = 2;
/// Kaiser–Bessel kernel width in oversampled grid cells (relative error below 1e-5; see tests).
pub const KERNEL_WIDTH: usize = 7;
/// Pipe–Menon fixed-point iterations for the density weights.
const DCF_ITERATIONS: usize = 40;

/// Beatty et al.'s shape parameter for width `w` and oversampling `σ`.
fn beta() -> f64 {
    let (w, s) = (KERNEL_WIDTH as f64, OVERSAMPLING as f64);
    PI * ((w / s).powi(2) * (s - 0.5).powi(2) - 0.8).sqrt()
}

/// The modified Bessel function I₀ by its power series (converges for all arguments used here).
fn bessel_i0(x: f64) -> f64 {
    let q = 0.25 * x * x;
    let (mut term, mut sum) = (1.0, 1.0);
    for k in 1..200 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < 1e-17 * sum {
            break;
        }
    }
    sum
}

/// The kernel `I₀(β√(1 − (2t/W)²)) / I₀(β)` at offset `t` (grid cells), zero outside `|t| ≤ W/2`.
fn kernel(t: f64, b: f64, i0b: f64) -> f64 {
    let z = 2.0 * t / KERNEL_WIDTH as f64;
    if z.abs() > 1.0 {
        0.0
    } else {
        bessel_i0(b * (1.0 - z * z).sqrt()) / i0b
    }
}

/// The kernel's Fourier transform `∫ φ(t) exp(−i2πξt) dt` at `ξ` (cycles per cell).
fn kernel_ft(xi: f64, b: f64, i0b: f64) -> f64 {
    let w = KERNEL_WIDTH as f64;
    let a = b * b - (PI * w * xi).powi(2);
    let r = if a > 1e-12 {
        a.sqrt().sinh() / a.sqrt()
    } else if a < -1e-12 {
        (-a).sqrt().sin() / (-a).sqrt()
    } else {
        1.0
    };
    w * r / i0b
}

/// One image axis: its size, the oversampled grid size, the centre and the deapodisation.
#[derive(Debug)]
struct Axis {
    n: usize,
    grid: usize,
    centre: usize,
    /// `1 / φ̂((p − centre)/grid)` for every array index `p`.
    deapod: Vec<f64>,
    /// Grid index of array index `p`: `(p − centre) mod grid`.
    slot: Vec<usize>,
}

impl Axis {
    fn new(n: usize, b: f64, i0b: f64) -> Axis {
        let grid = OVERSAMPLING * n;
        let centre = n / 2;
        let deapod = (0..n)
            .map(|p| 1.0 / kernel_ft((p as f64 - centre as f64) / grid as f64, b, i0b))
            .collect();
        let slot = (0..n).map(|p| (p + grid - centre) % grid).collect();
        Axis {
            n,
            grid,
            centre,
            deapod,
            slot,
        }
    }

    /// `Σ_j φ(0 − j) Σ_k φ(u_k − j)` over the periodic grid for the Cartesian samples
    /// `u_k = σk` (`ω = 2πk/N`): one axis's factor of `C Cᴴ 1` on a fully sampled Cartesian grid.
    fn cartesian_density(&self, b: f64, i0b: f64) -> f64 {
        let mut line = vec![0.0; self.grid];
        let (mut idx, mut wts) = (Vec::new(), Vec::new());
        for k in 0..self.n {
            self.taps(2.0 * PI * k as f64 / self.n as f64, b, i0b, &mut idx, &mut wts);
        }
        for (&i, &w) in idx.iter().zip(&wts) {
            line[i] += w;
        }
        let (mut idx, mut wts) = (Vec::new(), Vec::new());
        self.taps(0.0, b, i0b, &mut idx, &mut wts);
        idx.iter().zip(&wts).map(|(&i, &w)| line[i] * w).sum()
    }

    /// The first grid index and the `KERNEL_WIDTH` weights and wrapped indices of frequency `omega`.
    fn taps(&self, omega: f64, b: f64, i0b: f64, idx: &mut Vec<usize>, wts: &mut Vec<f64>) {
        let g = self.grid as f64;
        let u = omega.rem_euclid(2.0 * PI) / (2.0 * PI) * g;
        let start = (u - KERNEL_WIDTH as f64 / 2.0).ceil();
        for a in 0..KERNEL_WIDTH {
            let j = start + a as f64;
            wts.push(kernel(u - j, b, i0b));
            idx.push((j as i64).rem_euclid(self.grid.max(1) as i64) as usize);
        }
    }
}

/// A trajectory's precomputed gridding: per-sample kernel taps on both axes and phases.
#[derive(Debug)]
pub struct NufftPlan {
    traj: Vec<f64>,
    rows: Axis,
    cols: Axis,
    /// `KERNEL_WIDTH` grid rows / weights per sample.
    row_idx: Vec<usize>,
    row_wts: Vec<f64>,
    col_idx: Vec<usize>,
    col_wts: Vec<f64>,
    /// `scale · exp(−i(ω0 c0 + ω1 c1))` per sample, `scale = √(grid size / image size)`.
    phase: Vec<C>,
}

impl NufftPlan {
    /// The plan of `traj` (`[M, 2]` row-major, radians, finite) for `h × w` images.
    pub fn new(traj: &[f64], h: usize, w: usize) -> NufftPlan {
        let (b, m) = (beta(), traj.len() / 2);
        let i0b = bessel_i0(b);
        let (rows, cols) = (Axis::new(h, b, i0b), Axis::new(w, b, i0b));
        let cap = m * KERNEL_WIDTH;
        let (mut row_idx, mut row_wts) = (Vec::with_capacity(cap), Vec::with_capacity(cap));
        let (mut col_idx, mut col_wts) = (Vec::with_capacity(cap), Vec::with_capacity(cap));
        let scale = ((rows.grid * cols.grid) as f64 / (h * w) as f64).sqrt();
        let mut phase = Vec::with_capacity(m);
        for om in traj.chunks_exact(2) {
            // Reduced to [0, 2π) first: the phase with the integer centre is 2π-periodic too.
            let (o0, o1) = (om[0].rem_euclid(2.0 * PI), om[1].rem_euclid(2.0 * PI));
            rows.taps(o0, b, i0b, &mut row_idx, &mut row_wts);
            cols.taps(o1, b, i0b, &mut col_idx, &mut col_wts);
            let arg = o0 * rows.centre as f64 + o1 * cols.centre as f64;
            phase.push(C::from_polar(scale, -arg));
        }
        NufftPlan {
            traj: traj.to_vec(),
            rows,
            cols,
            row_idx,
            row_wts,
            col_idx,
            col_wts,
            phase,
        }
    }

    /// Whether this is the plan of `traj` for `h × w` images.
    pub fn is_for(&self, traj: &[f64], h: usize, w: usize) -> bool {
        self.rows.n == h && self.cols.n == w && self.traj == traj
    }

    /// Number of samples.
    pub fn samples(&self) -> usize {
        self.phase.len()
    }

    /// Oversampled grid size `(rows, cols)`.
    pub fn grid(&self) -> (usize, usize) {
        (self.rows.grid, self.cols.grid)
    }

    /// Zero the grid and place the deapodised image plane `x` (`h × w`) at its centred slots.
    pub fn embed(&self, x: &[C], grid: &mut [C]) {
        grid.fill(C::default());
        let gw = self.cols.grid;
        for (p, row) in x.chunks_exact(self.cols.n).enumerate() {
            let (base, dr) = (self.rows.slot[p] * gw, self.rows.deapod[p]);
            for (q, &z) in row.iter().enumerate() {
                grid[base + self.cols.slot[q]] = z * (dr * self.cols.deapod[q]);
            }
        }
    }

    /// The deapodised image plane at the grid's centred slots (the transpose of [`Self::embed`]).
    pub fn extract(&self, grid: &[C], x: &mut [C]) {
        let gw = self.cols.grid;
        for (p, row) in x.chunks_exact_mut(self.cols.n).enumerate() {
            let (base, dr) = (self.rows.slot[p] * gw, self.rows.deapod[p]);
            for (q, z) in row.iter_mut().enumerate() {
                *z = grid[base + self.cols.slot[q]] * (dr * self.cols.deapod[q]);
            }
        }
    }

    /// Samples interpolated from the (transformed) grid, phased and scaled.
    pub fn interpolate(&self, grid: &[C], out: &mut [C]) {
        let (k, gw) = (KERNEL_WIDTH, self.cols.grid);
        for (m, o) in out.iter_mut().enumerate() {
            let (ri, rw) = (&self.row_idx[m * k..][..k], &self.row_wts[m * k..][..k]);
            let (ci, cw) = (&self.col_idx[m * k..][..k], &self.col_wts[m * k..][..k]);
            let mut s = C::default();
            for (&r, &wr) in ri.iter().zip(rw) {
                let line = &grid[r * gw..][..gw];
                let t: C = ci.iter().zip(cw).map(|(&c, &wc)| line[c] * wc).sum();
                s += t * wr;
            }
            *o = s * self.phase[m];
        }
    }

    /// The transpose of [`Self::interpolate`]: samples spread onto a zeroed grid.
    pub fn spread(&self, samples: &[C], grid: &mut [C]) {
        grid.fill(C::default());
        let (k, gw) = (KERNEL_WIDTH, self.cols.grid);
        for (m, &y) in samples.iter().enumerate() {
            let v = y * self.phase[m].conj();
            let (ri, rw) = (&self.row_idx[m * k..][..k], &self.row_wts[m * k..][..k]);
            let (ci, cw) = (&self.col_idx[m * k..][..k], &self.col_wts[m * k..][..k]);
            for (&r, &wr) in ri.iter().zip(rw) {
                let line = &mut grid[r * gw..][..gw];
                let vr = v * wr;
                for (&c, &wc) in ci.iter().zip(cw) {
                    line[c] += vr * wc;
                }
            }
        }
    }

    /// Pipe–Menon density compensation: `d ← d / (C Cᴴ d)` with `C` the kernel interpolation,
    /// scaled so that a fully sampled Cartesian trajectory (`ω = 2πk/N`) gets weight 1 (its fixed
    /// point is `1 / (C Cᴴ 1)`, the same at every sample).
    pub fn density(&self) -> Vec<f64> {
        let (k, gw) = (KERNEL_WIDTH, self.cols.grid);
        let (b, i0b) = (beta(), bessel_i0(beta()));
        let m = self.samples();
        let mut d = vec![1.0; m];
        let mut grid = vec![0.0; self.rows.grid * gw];
        for _ in 0..DCF_ITERATIONS {
            grid.fill(0.0);
            for (i, &v) in d.iter().enumerate() {
                let (ri, rw) = (&self.row_idx[i * k..][..k], &self.row_wts[i * k..][..k]);
                let (ci, cw) = (&self.col_idx[i * k..][..k], &self.col_wts[i * k..][..k]);
                for (&r, &wr) in ri.iter().zip(rw) {
                    for (&c, &wc) in ci.iter().zip(cw) {
                        grid[r * gw + c] += v * wr * wc;
                    }
                }
            }
            for (i, v) in d.iter_mut().enumerate() {
                let (ri, rw) = (&self.row_idx[i * k..][..k], &self.row_wts[i * k..][..k]);
                let (ci, cw) = (&self.col_idx[i * k..][..k], &self.col_wts[i * k..][..k]);
                let mut s = 0.0;
                for (&r, &wr) in ri.iter().zip(rw) {
                    for (&c, &wc) in ci.iter().zip(cw) {
                        s += grid[r * gw + c] * wr * wc;
                    }
                }
                if s > 0.0 {
                    *v /= s;
                }
            }
        }
        // Scaled by the fixed point of a fully sampled Cartesian trajectory (all its samples alike).
        let unit = self.rows.cartesian_density(b, i0b) * self.cols.cartesian_density(b, i0b);
        d.iter().map(|v| v * unit).collect()
    }
}

impl FftCache {
    /// The cached plan of `traj` (`[M, 2]` row-major, radians) for `h × w` images, built on first use.
    pub(crate) fn nufft_plan(&self, traj: &[f64], h: usize, w: usize) -> Arc<NufftPlan> {
        let mut plans = self.nufft.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(i) = plans.iter().position(|p| p.is_for(traj, h, w)) {
            let plan = plans.remove(i);
            plans.insert(0, Arc::clone(&plan));
            return plan;
        }
        let plan = Arc::new(NufftPlan::new(traj, h, w));
        plans.insert(0, Arc::clone(&plan));
        plans.truncate(CACHED_PLANS);
        plan
    }

    /// Number of cached NUFFT plans.
    pub fn nufft_plans(&self) -> usize {
        self.nufft.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Type-2 NUFFT of `planes` consecutive `h × w` planes of `x`: `M` samples per plane.
    pub(crate) fn nufft(&self, plan: &NufftPlan, x: &[C], planes: usize) -> Vec<C> {
        let (h, w, m) = (plan.rows.n, plan.cols.n, plan.samples());
        let mut out = vec![C::default(); planes * m];
        if h * w == 0 || m == 0 {
            return out;
        }
        let (gh, gw) = plan.grid();
        let mut grid = vec![C::default(); gh * gw];
        for (xp, op) in x.chunks_exact(h * w).zip(out.chunks_exact_mut(m)) {
            plan.embed(xp, &mut grid);
            self.fft2(&mut grid, gh, gw, false);
            plan.interpolate(&grid, op);
        }
        out
    }

    /// The adjoint of [`FftCache::nufft`]: `planes` consecutive runs of `M` samples to `h × w` planes.
    pub(crate) fn nufft_adjoint(&self, plan: &NufftPlan, k: &[C], planes: usize) -> Vec<C> {
        let (h, w, m) = (plan.rows.n, plan.cols.n, plan.samples());
        let mut out = vec![C::default(); planes * h * w];
        if h * w == 0 || m == 0 {
            return out;
        }
        let (gh, gw) = plan.grid();
        let mut grid = vec![C::default(); gh * gw];
        for (kp, op) in k.chunks_exact(m).zip(out.chunks_exact_mut(h * w)) {
            plan.spread(kp, &mut grid);
            self.fft2(&mut grid, gh, gw, true);
            plan.extract(&grid, op);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The closed-form Fourier transform agrees with quadrature of the kernel.
    #[test]
    fn kernel_transform_matches_quadrature() {
        let (b, i0b) = (beta(), bessel_i0(beta()));
        let n = 20_000;
        let half = KERNEL_WIDTH as f64 / 2.0;
        let dt = 2.0 * half / n as f64;
        for xi in [0.0, 0.1, 0.25, 0.6] {
            let q: f64 = (0..n)
                .map(|i| {
                    let t = -half + (i as f64 + 0.5) * dt;
                    kernel(t, b, i0b) * (2.0 * PI * xi * t).cos() * dt
                })
                .sum();
            let exact = kernel_ft(xi, b, i0b);
            assert!(
                (q - exact).abs() < 1e-6 * kernel_ft(0.0, b, i0b),
                "ξ {xi}: {q} vs {exact}"
            );
        }
    }
}
