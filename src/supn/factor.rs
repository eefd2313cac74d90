//! The sparse Cholesky factor L of a SUPN precision Λ = L Lᵀ: products, the log density and its
//! gradients, and exact draws by back substitution, all in O(N · stencil).
//!
//! Pixels are in raster order (`i = row · W + col`). L is lower triangular: row `i` holds the diagonal
//! `L_ii = exp(s_i)` and, for each offset `o = (dr, dc)` of the causal half of a `(2r+1)²` stencil
//! (`dr < 0`, or `dr = 0` and `dc < 0`), the entry `L[i, i + o] = w_o(i)`; offsets that leave the image
//! are dropped. `x | z ~ N(μ, (L Lᵀ)⁻¹)`:
//! `log p = −N/2 log 2π + Σ_i s_i − ½ ‖Lᵀ (x − μ)‖²` (Dorta et al., CVPR 2018).

/// The causal half of a `(2r+1)×(2r+1)` neighbourhood, in raster order: `2r² + 2r` offsets.
pub fn causal_offsets(radius: usize) -> Vec<(isize, isize)> {
    let r = radius as isize;
    let mut out = Vec::new();
    for dr in -r..=0 {
        for dc in -r..=r {
            if dr < 0 || dc < 0 {
                out.push((dr, dc));
            }
        }
    }
    out
}

/// L for one image: log-diagonal and one weight plane per causal offset, each of `h · w` values.
#[derive(Clone, Debug, PartialEq)]
pub struct Factor {
    pub h: usize,
    pub w: usize,
    pub offsets: Vec<(isize, isize)>,
    /// `s_i = log L_ii`.
    pub log_diag: Vec<f64>,
    /// `off[k][i] = L[i, i + offsets[k]]` (ignored where the neighbour is outside the image).
    pub off: Vec<Vec<f64>>,
}

/// `∂ log p` with respect to the variate, the mean and L's planes.
#[derive(Clone, Debug, PartialEq)]
pub struct FactorGrads {
    pub d_x: Vec<f64>,
    pub d_mean: Vec<f64>,
    pub d_log_diag: Vec<f64>,
    pub d_off: Vec<Vec<f64>>,
}

impl Factor {
    pub fn n(&self) -> usize {
        self.h * self.w
    }

    /// The column `i + o` of pixel `i`'s entry for offset `o`, if inside the image.
    pub fn neighbour(&self, i: usize, (dr, dc): (isize, isize)) -> Option<usize> {
        let (r, c) = ((i / self.w) as isize + dr, (i % self.w) as isize + dc);
        (r >= 0 && c >= 0 && (r as usize) < self.h && (c as usize) < self.w)
            .then(|| r as usize * self.w + c as usize)
    }

    /// `L v`.
    pub fn l_mul(&self, v: &[f64]) -> Vec<f64> {
        let mut out: Vec<f64> = (0..self.n()).map(|i| self.log_diag[i].exp() * v[i]).collect();
        for (k, &o) in self.offsets.iter().enumerate() {
            for (i, acc) in out.iter_mut().enumerate() {
                if let Some(j) = self.neighbour(i, o) {
                    *acc += self.off[k][i] * v[j];
                }
            }
        }
        out
    }

    /// `Lᵀ v`.
    pub fn lt_mul(&self, v: &[f64]) -> Vec<f64> {
        let mut out: Vec<f64> = (0..self.n()).map(|i| self.log_diag[i].exp() * v[i]).collect();
        for (k, &o) in self.offsets.iter().enumerate() {
            for (i, (w, vi)) in self.off[k].iter().zip(v).enumerate() {
                if let Some(j) = self.neighbour(i, o) {
                    out[j] += w * vi;
                }
            }
        }
        out
    }

    /// `Λ v = L Lᵀ v`.
    pub fn precision_mul(&self, v: &[f64]) -> Vec<f64> {
        self.l_mul(&self.lt_mul(v))
    }

    /// `L⁻ᵀ e` by back substitution from the last pixel: Lᵀ is upper triangular, and row `j` of Lᵀ
    /// reaches the pixels `j − o` that follow `j`.
    pub fn solve_lt(&self, e: &[f64]) -> Vec<f64> {
        let n = self.n();
        let mut v = vec![0.0; n];
        for j in (0..n).rev() {
            let mut acc = e[j];
            for (k, &(dr, dc)) in self.offsets.iter().enumerate() {
                if let Some(i) = self.neighbour(j, (-dr, -dc)) {
                    acc -= self.off[k][i] * v[i];
                }
            }
            v[j] = acc / self.log_diag[j].exp();
        }
        v
    }

    /// `L⁻¹ e` by forward substitution.
    pub fn solve_l(&self, e: &[f64]) -> Vec<f64> {
        let n = self.n();
        let mut v = vec![0.0; n];
        for i in 0..n {
            let mut acc = e[i];
            for (k, &o) in self.offsets.iter().enumerate() {
                if let Some(j) = self.neighbour(i, o) {
                    acc -= self.off[k][i] * v[j];
                }
            }
            v[i] = acc / self.log_diag[i].exp();
        }
        v
    }

    /// `Λ⁻¹ e = L⁻ᵀ L⁻¹ e` (a covariance column when `e` is a unit vector).
    pub fn covariance_mul(&self, e: &[f64]) -> Vec<f64> {
        self.solve_lt(&self.solve_l(e))
    }

    /// The factor with its diagonal raised to `√(L_ii² + c)` (`c ≥ 0`), off-diagonals kept: `L_c L_cᵀ`
    /// has the diagonal of `Λ + c I`, and equals it when L is diagonal. Its inverse (two triangular
    /// solves) preconditions `Λ + AᵀA/σ²` with `c` the mean of AᵀA's diagonal over σ².
    pub fn shifted(&self, c: f64) -> Factor {
        let mut f = self.clone();
        for s in &mut f.log_diag {
            *s = 0.5 * ((2.0 * *s).exp() + c).ln();
        }
        f
    }

    /// An exact draw `μ + L⁻ᵀ ε` from standard normal `eps`.
    pub fn draw(&self, mean: &[f64], eps: &[f64]) -> Vec<f64> {
        let v = self.solve_lt(eps);
        mean.iter().zip(&v).map(|(m, v)| m + v).collect()
    }

    /// `log N(x; μ, (L Lᵀ)⁻¹)` with its gradients.
    pub fn log_density(&self, x: &[f64], mean: &[f64]) -> (f64, FactorGrads) {
        let n = self.n();
        let r: Vec<f64> = x.iter().zip(mean).map(|(x, m)| x - m).collect();
        let u = self.lt_mul(&r);
        let quad: f64 = u.iter().map(|u| u * u).sum();
        let log_det: f64 = self.log_diag.iter().sum();
        let log_p = -0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln() + log_det - 0.5 * quad;
        let lu = self.l_mul(&u);
        let d_x: Vec<f64> = lu.iter().map(|v| -v).collect();
        let d_log_diag = (0..n)
            .map(|i| 1.0 - u[i] * r[i] * self.log_diag[i].exp())
            .collect();
        let d_off = self
            .offsets
            .iter()
            .map(|&o| {
                (0..n)
                    .map(|i| self.neighbour(i, o).map_or(0.0, |j| -u[j] * r[i]))
                    .collect()
            })
            .collect();
        let grads = FactorGrads {
            d_x,
            d_mean: lu,
            d_log_diag,
            d_off,
        };
        (log_p, grads)
    }

    /// L as a dense row-major `n × n` matrix (for tests and small checks).
    pub fn dense(&self) -> Vec<f64> {
        let n = self.n();
        let mut l = vec![0.0; n * n];
        for i in 0..n {
            l[i * n + i] = self.log_diag[i].exp();
            for (k, &o) in self.offsets.iter().enumerate() {
                if let Some(j) = self.neighbour(i, o) {
                    l[i * n + j] = self.off[k][i];
                }
            }
        }
        l
    }
}
