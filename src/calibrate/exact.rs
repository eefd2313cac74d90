//! The exact reference of `--reference gmm`: the model's linear-Gaussian likelihood as a dense
//! operator, the Gaussian-mixture posterior in closed form per data set, and the sampler's draws
//! compared with it (mean error and sd ratio in posterior sds, mixture weights).

use super::gmm::Gmm;
use super::linalg::{cholesky, inverse_diag, logdet, solve};
use crate::check::{Model, PriorSpec};
use crate::dist::{Call, Role};
use crate::graph::{NodeKind, Ty, Value};
use crate::infer::{Diagnostics, GraphPosterior};
use ndarray::{Array1, Array2, ArrayView1, ArrayView3, Axis};
use serde::{Deserialize, Serialize};

/// `model` with the prior of its one latent replaced by the mixture `g` (as `GaussianMixture`).
pub fn with_mixture_prior(model: &Model, g: &Gmm) -> Result<Model, String> {
    let [latent] = model.latents.as_slice() else {
        return Err("--reference gmm needs a model with one latent (the image)".into());
    };
    if latent.ty.is_complex() || latent.ty.numel() != g.dim {
        return Err(format!(
            "--reference gmm: the mixture has {} real values per image, the latent `{}` is {}",
            g.dim, latent.name, latent.ty
        ));
    }
    let mut m = model.clone();
    let k = g.k();
    let mut shape = vec![k];
    shape.extend(&latent.ty.shape);
    let consts = [
        (
            Value::Real(Array1::from(g.weights.clone()).into_dyn()),
            Ty::real(vec![k]),
        ),
        (
            Value::Real(
                ndarray::ArrayD::from_shape_vec(shape.clone(), g.means.clone()).map_err(|e| e.to_string())?,
            ),
            Ty::real(shape),
        ),
        (
            Value::Real(Array1::from(g.sigmas.clone()).into_dyn()),
            Ty::real(vec![k]),
        ),
    ];
    let params = consts
        .into_iter()
        .map(|(v, ty)| m.graph.push(NodeKind::Const(v), ty, latent.span))
        .collect();
    let dist = crate::dist::find("GaussianMixture").ok_or("GaussianMixture is not registered")?;
    m.latents[0].prior = PriorSpec::Dist(Call {
        dist,
        role: Role::Prior,
        params,
    });
    Ok(m)
}

/// y = A x + b + N(0, σ² I) on the observed rows, and the exact posterior's fixed parts.
pub struct Reference {
    pub gmm: Gmm,
    a: Array2<f64>,
    b: Array1<f64>,
    sigma: f64,
    /// The observed data's index and which of its flat values are observed.
    data: usize,
    rows: Vec<usize>,
    /// Per component: Cholesky factor of P_k = AᵀA/σ² + I/s_k², log |P_k|, diag(P_k⁻¹).
    comps: Vec<(Array2<f64>, f64, Array1<f64>)>,
}

/// The mixture posterior of one data set, and how a sampler's draws compare with it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Comparison {
    /// RMS over pixels of (draws' mean − exact mean)/exact sd.
    pub mean_error: f64,
    /// The part of `mean_error` Monte-Carlo noise alone gives: √(mean over pixels of (ŝ/s)²/ESS).
    pub mc_floor: f64,
    /// Mean over pixels of draws' sd / exact sd.
    pub sd_ratio: f64,
    pub weights_exact: Vec<f64>,
    /// Fraction of draws nearest (highest posterior responsibility) to each component.
    pub weights_draws: Vec<f64>,
}

impl Reference {
    /// Linearise the model's one Normal likelihood with constant σ around 0 (checked at a second point).
    pub fn new(post: &GraphPosterior, gmm: Gmm) -> Result<Self, String> {
        let [obs] = post.observations() else {
            return Err("--reference gmm needs exactly one observation".into());
        };
        if obs.likelihood.name() != "Normal" {
            return Err(format!(
                "--reference gmm needs a Normal likelihood, found {}",
                obs.likelihood.name()
            ));
        }
        let loc = obs
            .likelihood
            .location()
            .ok_or("the likelihood has no location")?;
        let sig = *obs.likelihood.params.get(1).ok_or("Normal without sigma")?;
        let d = post.layout().dim;
        let at = |x: &Array1<f64>| -> Result<(Vec<f64>, Vec<f64>), String> {
            let v = post.forward_values(x.view()).map_err(|e| e.to_string())?;
            let m = v.get(loc.0).ok_or("no location value")?;
            let s = v.get(sig.0).ok_or("no sigma value")?;
            Ok((m.interleaved(), s.interleaved()))
        };
        let (m0, s0) = at(&Array1::zeros(d))?;
        let sigma = match s0.as_slice() {
            [s] if *s > 0.0 => *s,
            _ => return Err("--reference gmm needs one constant σ > 0 for the likelihood".into()),
        };
        let per = if post.data().get(obs.data).is_some_and(|y| y.is_complex()) {
            2
        } else {
            1
        };
        let rows: Vec<usize> = match &obs.observed {
            Some(idx) => idx
                .iter()
                .flat_map(|&i| (0..per).map(move |p| i * per + p))
                .collect(),
            None => (0..m0.len()).collect(),
        };
        let mut a = Array2::zeros((rows.len(), d));
        for j in 0..d {
            let mut e = Array1::zeros(d);
            e[j] = 1.0;
            let (mj, _) = at(&e)?;
            for (r, &i) in rows.iter().enumerate() {
                a[[r, j]] = mj[i] - m0[i];
            }
        }
        let b = Array1::from(rows.iter().map(|&i| m0[i]).collect::<Vec<_>>());
        // Affine check at a second point (a non-linear location would make the reference wrong).
        let x = Array1::from_shape_fn(d, |j| ((j * 7919) % 13) as f64 / 13.0 - 0.5);
        let (mx, sx) = at(&x)?;
        let pred = a.dot(&x) + &b;
        let scale = pred.iter().map(|v| v.abs()).fold(1e-12, f64::max);
        let off = rows
            .iter()
            .zip(&pred)
            .map(|(&i, p)| (mx[i] - p).abs())
            .fold(0.0, f64::max);
        if off > 1e-8 * scale || sx != s0 {
            return Err(format!(
                "--reference gmm needs a linear measurement with constant σ (the mean is off its linearisation by {off:.2e})"
            ));
        }
        let ata = a.t().dot(&a) / (sigma * sigma);
        let mut comps = Vec::new();
        for &s in &gmm.sigmas {
            let mut p = ata.clone();
            p.diag_mut().mapv_inplace(|v| v + 1.0 / (s * s));
            let l = cholesky(&p).ok_or("the reference posterior's precision is not positive definite")?;
            let ld = logdet(&l);
            let dg = inverse_diag(&l);
            comps.push((l, ld, dg));
        }
        Ok(Reference {
            gmm,
            a,
            b,
            sigma,
            data: obs.data,
            rows,
            comps,
        })
    }

    /// The exact posterior for `data` (the simulated set), and `draws` [chains, n, D] (diagnostics
    /// `diag`) against it.
    pub fn compare(
        &self,
        data: &[Value],
        draws: ArrayView3<f64>,
        diag: &Diagnostics,
    ) -> Result<Comparison, String> {
        let y_all = data
            .get(self.data)
            .ok_or("the observed data is missing")?
            .interleaved();
        let y = Array1::from(self.rows.iter().map(|&i| y_all[i]).collect::<Vec<_>>());
        let (s2, m) = (self.sigma * self.sigma, y.len() as f64);
        let d = self.a.ncols();
        let aty = self.a.t().dot(&(&y - &self.b)) / s2;
        let mut logw = Vec::new();
        let mut means = Vec::new();
        for (k, (l, ld, _)) in self.comps.iter().enumerate() {
            let (mu, sk2) = (self.gmm.mean(k), self.gmm.sigmas[k].powi(2));
            let r = &y - &self.b - self.a.dot(&mu);
            let g = self.a.t().dot(&r);
            let quad = r.dot(&r) / s2 - g.dot(&solve(l, g.view())) / (s2 * s2);
            let log_ev =
                -0.5 * (m * (2.0 * std::f64::consts::PI * s2).ln() + d as f64 * sk2.ln() + ld + quad);
            logw.push(self.gmm.weights[k].ln() + log_ev);
            means.push(solve(l, (&aty + &mu.mapv(|v| v / sk2)).view()));
        }
        let top = logw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut pi: Vec<f64> = logw.iter().map(|v| (v - top).exp()).collect();
        let total: f64 = pi.iter().sum();
        pi.iter_mut().for_each(|p| *p /= total);
        let mut mean: Array1<f64> = Array1::zeros(d);
        let mut second: Array1<f64> = Array1::zeros(d);
        for (k, mk) in means.iter().enumerate() {
            mean = mean + mk * pi[k];
            second = second + (&self.comps[k].2 + &mk.mapv(|v| v * v)) * pi[k];
        }
        let sd = (&second - &mean.mapv(|v| v * v)).mapv(|v| v.max(0.0).sqrt());
        let (c, n, _) = draws.dim();
        let flat_draws = draws.to_shape((c * n, d)).map_err(|e| e.to_string())?.to_owned();
        let dm = flat_draws.mean_axis(Axis(0)).ok_or("no draws")?;
        let ds = flat_draws.std_axis(Axis(0), 1.0);
        let (mut sq, mut floor, mut ratio) = (0.0, 0.0, 0.0);
        for j in 0..d {
            let z = (dm[j] - mean[j]) / sd[j];
            let rj = ds[j] / sd[j];
            sq += z * z;
            floor += rj * rj / diag.ess_mean[j].max(1.0);
            ratio += rj;
        }
        let mut counts = vec![0usize; pi.len()];
        for x in flat_draws.axis_iter(Axis(0)) {
            counts[self.nearest(x, &means, &pi)] += 1;
        }
        Ok(Comparison {
            mean_error: (sq / d as f64).sqrt(),
            mc_floor: (floor / d as f64).sqrt(),
            sd_ratio: ratio / d as f64,
            weights_exact: pi,
            weights_draws: counts.iter().map(|&k| k as f64 / (c * n) as f64).collect(),
        })
    }

    /// The component of highest posterior responsibility at `x`.
    fn nearest(&self, x: ArrayView1<f64>, means: &[Array1<f64>], pi: &[f64]) -> usize {
        let s2 = self.sigma * self.sigma;
        let score = |k: usize| {
            let dx = &x - &means[k];
            let ax = self.a.dot(&dx);
            let quad = ax.dot(&ax) / s2 + dx.dot(&dx) / self.gmm.sigmas[k].powi(2);
            pi[k].ln() + 0.5 * self.comps[k].1 - 0.5 * quad
        };
        (0..means.len())
            .max_by(|&i, &j| score(i).total_cmp(&score(j)))
            .unwrap_or(0)
    }
}
