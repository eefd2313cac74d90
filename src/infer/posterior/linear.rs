//! One `Normal` observation whose mean is affine in an image latent, `A x + b`, with one constant σ,
//! and the products `A v` and `Aᵀ r` through the graph (real-interleaved, observed entries only):
//! what SUPN inference (`prior x ~ supn(file, z)`) and annealed HMC's `denoise = draw` need.

use super::GraphPosterior;
use crate::graph::{NodeId, NodeKind, Value};
use crate::infer::target::{EvalError, LinearGaussian};
use crate::supn::SupnModel;
use ndarray::{Array1, ArrayD, ArrayView1, IxDyn};
use num_complex::Complex64;

/// Where the SUPN latent z comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum SupnLatent {
    /// A latent: its place in the row and the index of its (exact, score-model) prior.
    Latent { offset: usize, len: usize, prior: usize },
    /// Data or a constant.
    Fixed(Vec<f64>),
}

/// A model `z ~ p(z)`, `x | z ~ supn(file, z)`, `y ~ Normal(A x + b, σ)` as SUPN inference sees it.
pub struct SupnLinear {
    pub model: &'static SupnModel,
    pub z: SupnLatent,
    pub obs: AffineObs,
}

/// `y ~ Normal(A x + b, σ)` with x one latent's slot.
pub struct AffineObs {
    /// x's place in the row (offset, length).
    pub x: (usize, usize),
    pub sigma: f64,
    /// `y − b` on the observed entries (real-interleaved).
    pub resid: Vec<f64>,
    node: NodeId,
    complex: bool,
    shape: Vec<usize>,
    /// The observed entries of the mean, real-interleaved.
    rows: Vec<usize>,
    b: Vec<f64>,
}

fn fatal(m: &str) -> EvalError {
    EvalError::Fatal(m.into())
}

impl GraphPosterior {
    /// The model as SUPN inference sees it: `None` without a `supn` prior, else the structure or the
    /// reason the exact Gaussian conditional does not apply.
    pub fn supn_linear(&self) -> Option<Result<SupnLinear, String>> {
        let term = self
            .prior_terms
            .iter()
            .find(|t| t.prior.dist.supn_model().is_some())?;
        Some(self.supn_structure(term))
    }

    fn latent_of(&self, node: NodeId) -> Option<usize> {
        match self.graph.nodes.get(node.0)?.kind {
            NodeKind::Latent(j) => Some(j),
            _ => None,
        }
    }

    fn supn_structure(&self, term: &super::PriorTerm) -> Result<SupnLinear, String> {
        let dist: &'static dyn crate::dist::Distribution = term.prior.dist;
        let model = dist.supn_model().ok_or("not a supn prior")?;
        let slot = |j: usize| self.layout.slots.get(j).map(|(_, off, len)| (*off, *len));
        let xj = self
            .latent_of(term.node)
            .ok_or("the supn variate is not a latent")?;
        let x = slot(xj).ok_or("no slot for the image")?;
        let zn = *term.prior.params.first().ok_or("supn without its latent z")?;
        let z = match self.latent_of(zn) {
            Some(k) if self.is_term(k) => {
                return Err("z's prior has latent parameters or a constrained support; the z-step needs an exact prior with constant parameters such as Normal(0, 1)".into())
            }
            Some(k) => {
                let (offset, len) = slot(k).ok_or("no slot for z")?;
                let p = self.priors.get(k).ok_or("no prior for z")?;
                if p.log_density(ndarray::Array2::zeros((1, len)).view(), 0.0).is_none() {
                    return Err("z's prior has no log density".into());
                }
                SupnLatent::Latent { offset, len, prior: k }
            }
            None if self.graph.depends_on_latent(zn) => {
                return Err("z is an expression of latents; write it as a latent of its own".into())
            }
            None => SupnLatent::Fixed(
                self.graph
                    .eval_const(zn, &self.data, &self.fft)
                    .map_err(|e| e.message.clone())?
                    .interleaved(),
            ),
        };
        let latents = 1 + usize::from(matches!(z, SupnLatent::Latent { .. }));
        if self.layout.slots.len() != latents {
            return Err("the model has latents besides the image and z".into());
        }
        let obs = self.affine_obs(xj, x)?;
        Ok(SupnLinear { model, z, obs })
    }

    /// The model's one observation as `Normal(A x + b, σ)` in latent `xj` (at `x` in the row), or
    /// why it is not one.
    pub(crate) fn affine_obs(&self, xj: usize, x: (usize, usize)) -> Result<AffineObs, String> {
        let [obs] = self.observations.as_slice() else {
            return Err(format!(
                "the Gaussian conditional needs exactly one observation, the model has {}",
                self.observations.len()
            ));
        };
        if obs.likelihood.name() != "Normal" {
            return Err(format!("the likelihood is {}, not Normal", obs.likelihood.name()));
        }
        let node = obs.likelihood.location().ok_or("the likelihood has no mean")?;
        let sig = *obs.likelihood.params.get(1).ok_or("Normal without σ")?;
        let others = self
            .graph
            .ancestors(node)
            .into_iter()
            .filter_map(|n| self.latent_of(n))
            .any(|j| j != xj);
        if others || self.graph.depends_on_latent(sig) {
            return Err(
                "the likelihood's mean depends on latents other than the image, or its σ on any latent"
                    .into(),
            );
        }
        let sigmas = self
            .graph
            .eval_const(sig, &self.data, &self.fft)
            .map_err(|e| e.message.clone())?
            .interleaved();
        let sigma = sigmas.first().copied().unwrap_or(0.0);
        if !(sigma > 0.0 && sigmas.iter().all(|s| *s == sigma)) {
            return Err("the Gaussian conditional needs one constant σ > 0 for the likelihood".into());
        }
        let y = self.data.get(obs.data).ok_or("no data for the observation")?;
        let per = if y.is_complex() { 2 } else { 1 };
        let at = |v: &Array1<f64>| -> Result<Value, String> {
            let vals = self.forward_values(v.view()).map_err(|e| e.to_string())?;
            vals.get(node.0).cloned().ok_or_else(|| "no mean value".into())
        };
        let zero = Array1::zeros(self.layout.dim);
        let m0 = at(&zero)?;
        let b_all = m0.interleaved();
        let y_all = y.interleaved();
        if b_all.len() != y_all.len() {
            return Err("the likelihood's mean and its data differ in size".into());
        }
        let rows: Vec<usize> = match &obs.observed {
            Some(idx) => idx
                .iter()
                .flat_map(|&i| (0..per).map(move |p| i * per + p))
                .collect(),
            None => (0..b_all.len()).collect(),
        };
        let b: Vec<f64> = rows.iter().map(|&i| b_all[i]).collect();
        let resid = rows.iter().zip(&b).map(|(&i, b)| y_all[i] - b).collect();
        let lin = AffineObs {
            x,
            sigma,
            resid,
            node,
            complex: m0.is_complex(),
            shape: m0.shape().to_vec(),
            rows,
            b,
        };
        self.check_affine(&lin)?;
        Ok(lin)
    }

    /// A(u + v) = A u + A v and A(2u) = 2 A u at two fixed points (an affine check; the exact
    /// conditional would be wrong for a non-linear mean).
    fn check_affine(&self, lin: &AffineObs) -> Result<(), String> {
        let n = lin.x.1;
        let u: Vec<f64> = (0..n).map(|j| ((j * 7919) % 13) as f64 / 13.0 - 0.5).collect();
        let v: Vec<f64> = (0..n).map(|j| ((j * 104_729) % 17) as f64 / 17.0 - 0.3).collect();
        let uv: Vec<f64> = u.iter().zip(&v).map(|(a, b)| a + b).collect();
        let u2: Vec<f64> = u.iter().map(|a| 2.0 * a).collect();
        let e = |m: EvalError| m.to_string();
        let (au, av) = (lin.apply(self, &u).map_err(e)?, lin.apply(self, &v).map_err(e)?);
        let (auv, au2) = (lin.apply(self, &uv).map_err(e)?, lin.apply(self, &u2).map_err(e)?);
        let scale = au.iter().chain(&av).map(|a| a.abs()).fold(1e-300, f64::max);
        let off = (0..au.len())
            .map(|i| (auv[i] - au[i] - av[i]).abs().max((au2[i] - 2.0 * au[i]).abs()))
            .fold(0.0, f64::max);
        if off > 1e-8 * scale {
            return Err("the likelihood's mean is not linear in the image".into());
        }
        Ok(())
    }
}

impl AffineObs {
    /// Rows of `A` (observed entries, real-interleaved).
    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    /// `A v` for an image `v` (without the offset b).
    pub fn apply(&self, post: &GraphPosterior, v: &[f64]) -> Result<Vec<f64>, EvalError> {
        let mut row = Array1::zeros(post.layout.dim);
        row.slice_mut(ndarray::s![self.x.0..self.x.0 + self.x.1])
            .assign(&ndarray::ArrayView1::from(v));
        let vals = post.forward_values(row.view())?;
        let m = vals
            .get(self.node.0)
            .ok_or_else(|| fatal("no mean value"))?
            .interleaved();
        Ok(self.rows.iter().zip(&self.b).map(|(&i, b)| m[i] - b).collect())
    }

    /// `Aᵀ r` for `r` on the observed entries (the graph's VJP of the mean).
    pub fn adjoint(&self, post: &GraphPosterior, r: &[f64]) -> Result<Vec<f64>, EvalError> {
        let zero = Array1::zeros(post.layout.dim);
        let vals = post.forward_values(zero.view())?;
        let per = if self.complex { 2 } else { 1 };
        let mut full = vec![0.0; self.shape.iter().product::<usize>() * per];
        for (&i, v) in self.rows.iter().zip(r) {
            full[i] = *v;
        }
        let seed = if self.complex {
            let c: Vec<Complex64> = full.chunks(2).map(|p| Complex64::new(p[0], p[1])).collect();
            Value::Complex(ArrayD::from_shape_vec(IxDyn(&self.shape), c).map_err(|e| fatal(&e.to_string()))?)
        } else {
            Value::Real(ArrayD::from_shape_vec(IxDyn(&self.shape), full).map_err(|e| fatal(&e.to_string()))?)
        };
        let grads = post
            .graph
            .backward_planned(&post.plan, &vals, &[(self.node, seed)], &post.fft)
            .map_err(|e| EvalError::NonFinite(e.to_string()))?;
        let flat = post.layout.flatten(&grads);
        Ok(flat[self.x.0..self.x.0 + self.x.1].to_vec())
    }
}

/// An [`AffineObs`] with its posterior: the [`LinearGaussian`] that annealed HMC's last step sees.
pub(super) struct BoundObs<'a> {
    pub post: &'a GraphPosterior,
    pub obs: AffineObs,
}

impl LinearGaussian for BoundObs<'_> {
    fn noise(&self) -> f64 {
        self.obs.sigma
    }

    fn resid(&self) -> &[f64] {
        &self.obs.resid
    }

    fn apply(&self, x: ArrayView1<f64>) -> Result<Vec<f64>, EvalError> {
        let (off, len) = self.obs.x;
        self.obs
            .apply(self.post, &x.slice(ndarray::s![off..off + len]).to_vec())
    }

    fn adjoint(&self, r: &[f64]) -> Result<Array1<f64>, EvalError> {
        let (off, len) = self.obs.x;
        let mut out = Array1::zeros(self.post.layout.dim);
        out.slice_mut(ndarray::s![off..off + len])
            .assign(&Array1::from(self.obs.adjoint(self.post, r)?));
        Ok(out)
    }
}

impl GraphPosterior {
    /// The model as `denoise = draw` needs it: one latent, with a score prior, seen by one
    /// `Normal` observation whose mean is affine in it with a constant σ.
    pub(super) fn bound_obs(&self) -> Result<BoundObs<'_>, String> {
        if self.layout.slots.len() != 1 || self.is_term(0) {
            return Err(
                "the model has more than one latent, or its latent's prior is not a score model".into(),
            );
        }
        let x = self
            .layout
            .slots
            .first()
            .map(|(_, off, len)| (*off, *len))
            .ok_or("no latent")?;
        Ok(BoundObs {
            post: self,
            obs: self.affine_obs(0, x)?,
        })
    }
}
