//! The exact Gaussian conditional of a SUPN image given z and linear-Gaussian data:
//! x | z, y ~ N(P⁻¹ (Λμ + Aᵀ(y − b)/σ²), P⁻¹) with P = Λ(z) + AᵀA/σ², solved matrix-free by conjugate
//! gradients preconditioned with `(L_c L_cᵀ)⁻¹` (two triangular solves; L_c is L with its diagonal
//! raised to √(L_ii² + c), c the mean diagonal of AᵀA/σ²), and drawn exactly by
//! perturb-and-optimise (Papandreou & Yuille 2010): the solve of P x = Λμ + L ε₁ + Aᵀ(y − b + σ ε₂)/σ²,
//! whose right-hand side has covariance Λ + AᵀA/σ² = P, so x has covariance P⁻¹.

use crate::infer::posterior::{SupnLatent, SupnLinear};
use crate::infer::target::EvalError;
use crate::infer::GraphPosterior;
use crate::supn::{conjugate_gradients, CgSolve, Factor, CG_MAX_ITER, CG_TOL};
use rand::RngCore;
use rand_distr::{Distribution as _, StandardNormal};
use std::cell::RefCell;
use std::sync::OnceLock;

/// Rademacher probes of the Hutchinson estimate of tr(AᵀA) (the preconditioner's shift).
const SHIFT_PROBES: usize = 16;

/// μ(z) and L(z) from one decoder pass, kept while z does not change.
#[derive(Clone, Debug)]
pub struct Decoded {
    pub z: Vec<f64>,
    pub mean: Vec<f64>,
    pub factor: Factor,
}

/// How the solves went: counts, iterations, and the worst relative residual.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CgStats {
    pub solves: usize,
    pub iterations: usize,
    pub max_iterations: usize,
    pub not_converged: usize,
    pub max_residual: f64,
}

impl CgStats {
    pub fn add(&mut self, s: &CgSolve) {
        self.solves += 1;
        self.iterations += s.iterations;
        self.max_iterations = self.max_iterations.max(s.iterations);
        self.not_converged += usize::from(!s.converged);
        self.max_residual = self.max_residual.max(s.rel_residual);
    }

    pub fn merge(&mut self, o: &CgStats) {
        self.solves += o.solves;
        self.iterations += o.iterations;
        self.max_iterations = self.max_iterations.max(o.max_iterations);
        self.not_converged += o.not_converged;
        self.max_residual = self.max_residual.max(o.max_residual);
    }

    /// Mean iterations per solve.
    pub fn mean_iterations(&self) -> f64 {
        self.iterations as f64 / self.solves.max(1) as f64
    }
}

/// x | z, y for one model: the posterior's operator and the solver's tolerance and cap.
pub struct Conditional<'a> {
    pub post: &'a GraphPosterior,
    pub lin: &'a SupnLinear,
    /// Relative residual and iteration cap of each solve ([`CG_TOL`], [`CG_MAX_ITER`] by default).
    pub tol: f64,
    pub max_iter: usize,
    /// c = tr(AᵀA) / (n σ²), estimated at the first solve.
    shift: OnceLock<f64>,
}

impl<'a> Conditional<'a> {
    pub fn new(post: &'a GraphPosterior, lin: &'a SupnLinear) -> Self {
        Conditional {
            post,
            lin,
            tol: CG_TOL,
            max_iter: CG_MAX_ITER,
            shift: OnceLock::new(),
        }
    }

    /// The preconditioner's shift c = tr(AᵀA) / (n σ²): the data term's mean weight per pixel, from
    /// [`SHIFT_PROBES`] fixed Rademacher probes (`E ‖A v‖² = tr(AᵀA)`, exact when AᵀA is diagonal:
    /// A = I, a mask in the image). For sampled Fourier operators every pixel's diagonal is this mean.
    pub fn shift(&self) -> Result<f64, EvalError> {
        if let Some(&c) = self.shift.get() {
            return Ok(c);
        }
        let n = self.lin.obs.x.1;
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut total = 0.0;
        for _ in 0..SHIFT_PROBES {
            let v: Vec<f64> = (0..n)
                .map(|_| {
                    // xorshift64: fixed probes, no RNG stream taken from the sampler.
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    if state & 1 == 0 {
                        1.0
                    } else {
                        -1.0
                    }
                })
                .collect();
            total += self
                .lin
                .obs
                .apply(self.post, &v)?
                .iter()
                .map(|a| a * a)
                .sum::<f64>();
        }
        let s2 = self.lin.obs.sigma * self.lin.obs.sigma;
        let c = (total / (SHIFT_PROBES * n) as f64 / s2).max(0.0);
        Ok(*self.shift.get_or_init(|| if c.is_finite() { c } else { 0.0 }))
    }

    /// Decode z (one forward pass of the decoder).
    pub fn decode(&self, z: &[f64]) -> Result<Decoded, EvalError> {
        let (mean, factor) = self
            .lin
            .model
            .decode(z)
            .map_err(|e| EvalError::Fatal(format!("supn: {e}")))?;
        Ok(Decoded {
            z: z.to_vec(),
            mean,
            factor,
        })
    }

    /// The fixed z of a model whose z is data, or `None` when z is a latent.
    pub fn fixed_z(&self) -> Option<&[f64]> {
        match &self.lin.z {
            SupnLatent::Fixed(z) => Some(z),
            SupnLatent::Latent { .. } => None,
        }
    }

    /// `P v = Λ v + Aᵀ A v / σ²`.
    pub fn precision_mul(&self, d: &Decoded, v: &[f64]) -> Result<Vec<f64>, EvalError> {
        let av = self.lin.obs.apply(self.post, v)?;
        let s2 = self.lin.obs.sigma * self.lin.obs.sigma;
        let scaled: Vec<f64> = av.iter().map(|a| a / s2).collect();
        let ata = self.lin.obs.adjoint(self.post, &scaled)?;
        let lam = d.factor.precision_mul(v);
        Ok(lam.iter().zip(&ata).map(|(a, b)| a + b).collect())
    }

    /// Solve `P x = rhs` from `x0`.
    pub fn solve(&self, d: &Decoded, rhs: &[f64], x0: Vec<f64>) -> Result<CgSolve, EvalError> {
        let err: RefCell<Option<EvalError>> = RefCell::new(None);
        let mut p = |v: &[f64]| match self.precision_mul(d, v) {
            Ok(r) => r,
            Err(e) => {
                err.borrow_mut().get_or_insert(e);
                vec![0.0; v.len()]
            }
        };
        let pre = d.factor.shifted(self.shift()?);
        let mut m_inv = |v: &[f64]| pre.covariance_mul(v);
        let s = conjugate_gradients(&mut p, &mut m_inv, rhs, x0, (self.tol, self.max_iter));
        match err.into_inner() {
            Some(e) => Err(e),
            None => Ok(s),
        }
    }

    /// The data part `Aᵀ r / σ²` of a right-hand side.
    fn data_rhs(&self, r: &[f64]) -> Result<Vec<f64>, EvalError> {
        let s2 = self.lin.obs.sigma * self.lin.obs.sigma;
        let scaled: Vec<f64> = r.iter().map(|a| a / s2).collect();
        self.lin.obs.adjoint(self.post, &scaled)
    }

    /// The conditional mean `P⁻¹ (Λμ + Aᵀ(y − b)/σ²)`.
    pub fn mean(&self, d: &Decoded, x0: Vec<f64>) -> Result<CgSolve, EvalError> {
        let prior = d.factor.precision_mul(&d.mean);
        let data = self.data_rhs(&self.lin.obs.resid)?;
        let rhs: Vec<f64> = prior.iter().zip(&data).map(|(a, b)| a + b).collect();
        self.solve(d, &rhs, x0)
    }

    /// An exact draw of x | z, y (when the solve converges) by perturb-and-optimise.
    pub fn draw(&self, d: &Decoded, rng: &mut dyn RngCore, x0: Vec<f64>) -> Result<CgSolve, EvalError> {
        let n = d.mean.len();
        let e1: Vec<f64> = (0..n).map(|_| StandardNormal.sample(rng)).collect();
        let sigma = self.lin.obs.sigma;
        let r: Vec<f64> = self
            .lin
            .obs
            .resid
            .iter()
            .map(|r| {
                let e: f64 = StandardNormal.sample(rng);
                r + sigma * e
            })
            .collect();
        let mut rhs = d.factor.precision_mul(&d.mean);
        let le = d.factor.l_mul(&e1);
        let data = self.data_rhs(&r)?;
        for ((v, a), b) in rhs.iter_mut().zip(&le).zip(&data) {
            *v += a + b;
        }
        self.solve(d, &rhs, x0)
    }

    /// `log N(y; A x + b, σ² I)` on the observed entries (with its normalising constant).
    pub fn log_likelihood(&self, x: &[f64]) -> Result<f64, EvalError> {
        let ax = self.lin.obs.apply(self.post, x)?;
        Ok(self.log_likelihood_of(&self.residual(&ax)))
    }

    /// [`Conditional::log_likelihood`] and its gradient in x, `Aᵀ(y − b − A x)/σ²`.
    pub fn log_likelihood_grad(&self, x: &[f64]) -> Result<(f64, Vec<f64>), EvalError> {
        let ax = self.lin.obs.apply(self.post, x)?;
        let r = self.residual(&ax);
        Ok((self.log_likelihood_of(&r), self.data_rhs(&r)?))
    }

    /// `y − b − A x` from `A x`.
    fn residual(&self, ax: &[f64]) -> Vec<f64> {
        self.lin.obs.resid.iter().zip(ax).map(|(r, a)| r - a).collect()
    }

    fn log_likelihood_of(&self, r: &[f64]) -> f64 {
        let s2 = self.lin.obs.sigma * self.lin.obs.sigma;
        let q: f64 = r.iter().map(|r| r * r).sum();
        let k = r.len() as f64;
        -0.5 * q / s2 - 0.5 * k * (2.0 * std::f64::consts::PI * s2).ln()
    }
}
