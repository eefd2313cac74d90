//! The No-U-Turn sampler as in Stan (`base_nuts`): multinomial sampling over the trajectory, biased
//! progressive sampling between subtrees, and the generalised U-turn criterion with the sharp momenta
//! checked across and between merged subtrees (Betancourt 2017, appendix A).
//!
//! NUTS needs the exact log density (the multinomial weights are `exp(−H)`), so it is only used with
//! exact Metropolis–Hastings. Chains build their trees independently and run in parallel; every
//! leapfrog step is one single-point target evaluation.

use ndarray::Array1;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::metric::Metric;
use super::{evaluate_points, ChainState, KernelError, StepInfo, DIVERGENCE_THRESHOLD};
use crate::infer::target::Posterior;

/// Per-chain NUTS parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct NutsParams {
    /// Leapfrog step ε.
    pub step_size: f64,
    /// The inverse metric `M⁻¹`.
    pub inv_mass: Metric,
    /// Largest tree depth (a trajectory has at most `2^max_depth` leapfrog steps); Stan's default is 10.
    pub max_depth: usize,
}

/// A point of phase space with its evaluation, its velocity `v = M⁻¹p` and, with a low-rank
/// metric, `M⁻¹∇log π` (`mg`, empty otherwise).
#[derive(Clone)]
struct Point {
    state: ChainState,
    p: Array1<f64>,
    v: Array1<f64>,
    mg: Array1<f64>,
}

impl Point {
    fn new(state: ChainState, p: Array1<f64>, metric: &Metric) -> Self {
        let v = metric.velocity(&p);
        let mg = if metric.low_rank.is_some() {
            metric.velocity(&state.eval.grad())
        } else {
            Array1::zeros(0)
        };
        Self { state, p, v, mg }
    }
}

struct Tree<'a> {
    target: &'a dyn Posterior,
    sigma: f64,
    eps: f64,
    inv_mass: &'a Metric,
    h0: f64,
    n_leapfrog: u64,
    sum_metro_prob: f64,
    divergent: bool,
    /// The trajectory's moving edge.
    z: Point,
}

fn log_sum_exp(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    if b == f64::NEG_INFINITY {
        return a;
    }
    let m = a.max(b);
    m + ((a - m).exp() + (b - m).exp()).ln()
}

/// `p♯⁻ · ρ > 0` and `p♯⁺ · ρ > 0`: the trajectory has not turned back on itself.
fn criterion(p_sharp_minus: &Array1<f64>, p_sharp_plus: &Array1<f64>, rho: &Array1<f64>) -> bool {
    p_sharp_plus.dot(rho) > 0.0 && p_sharp_minus.dot(rho) > 0.0
}

impl Tree<'_> {
    fn hamiltonian(&self, pt: &Point) -> f64 {
        let kinetic = if self.inv_mass.low_rank.is_some() {
            0.5 * pt.p.dot(&pt.v)
        } else {
            self.inv_mass.kinetic(&pt.p)
        };
        match pt.state.log_density() {
            Some(lp) => kinetic - lp,
            None => f64::INFINITY,
        }
    }

    /// One leapfrog step of the edge in direction `sign`; false when the new point cannot be evaluated.
    /// With a low-rank metric the velocities follow by linearity from `M⁻¹∇log π` (one product with
    /// the metric per step instead of three); the diagonal metric computes them directly.
    fn leapfrog(&mut self, sign: f64) -> Result<bool, KernelError> {
        let eps = sign * self.eps;
        let low_rank = self.inv_mass.low_rank.is_some();
        let mut p = self.z.p.clone();
        p.scaled_add(0.5 * eps, &self.z.state.eval.grad());
        let v_half = if low_rank {
            let mut v = self.z.v.clone();
            v.scaled_add(0.5 * eps, &self.z.mg);
            v
        } else {
            self.inv_mass.velocity(&p)
        };
        let mut x = self.z.state.position.clone();
        x.scaled_add(eps, &v_half);
        self.n_leapfrog += 1;
        let Some(eval) = evaluate_points(self.target, std::slice::from_ref(&x), self.sigma)?
            .pop()
            .flatten()
        else {
            return Ok(false);
        };
        let g = eval.grad();
        p.scaled_add(0.5 * eps, &g);
        let (v, mg) = if low_rank {
            let mg = self.inv_mass.velocity(&g);
            let mut v = v_half;
            v.scaled_add(0.5 * eps, &mg);
            (v, mg)
        } else {
            (self.inv_mass.velocity(&p), Array1::zeros(0))
        };
        self.z = Point {
            state: ChainState { position: x, eval },
            p,
            v,
            mg,
        };
        Ok(true)
    }

    /// Stan's `build_tree`: extend the edge by `2^depth` steps; returns whether the subtree is valid
    /// (no divergence, no U-turn). `rho` accumulates momenta; the `p_*`/`p_sharp_*` are the subtree's
    /// edge momenta (begin = nearest the old edge).
    #[allow(clippy::too_many_arguments)]
    fn build(
        &mut self,
        rng: &mut ChaCha8Rng,
        depth: usize,
        propose: &mut Point,
        p_sharp_beg: &mut Array1<f64>,
        p_sharp_end: &mut Array1<f64>,
        rho: &mut Array1<f64>,
        p_beg: &mut Array1<f64>,
        p_end: &mut Array1<f64>,
        sign: f64,
        log_sum_weight: &mut f64,
    ) -> Result<bool, KernelError> {
        if depth == 0 {
            let ok = self.leapfrog(sign)?;
            let h = if ok {
                let h = self.hamiltonian(&self.z);
                if h.is_nan() {
                    f64::INFINITY
                } else {
                    h
                }
            } else {
                f64::INFINITY
            };
            if h - self.h0 > DIVERGENCE_THRESHOLD || !ok {
                self.divergent = true;
            }
            let w = self.h0 - h;
            *log_sum_weight = log_sum_exp(*log_sum_weight, w);
            self.sum_metro_prob += if w > 0.0 { 1.0 } else { w.exp() };
            if !ok {
                return Ok(false);
            }
            *propose = self.z.clone();
            *p_sharp_beg = self.z.v.clone();
            *p_sharp_end = p_sharp_beg.clone();
            *rho += &self.z.p;
            *p_beg = self.z.p.clone();
            *p_end = p_beg.clone();
            return Ok(!self.divergent);
        }
        let dim = rho.len();
        let zeros = || Array1::<f64>::zeros(dim);
        // The subtree nearest the old edge.
        let mut lsw_init = f64::NEG_INFINITY;
        let (mut p_init_end, mut p_sharp_init_end, mut rho_init) = (zeros(), zeros(), zeros());
        if !self.build(
            rng,
            depth - 1,
            propose,
            p_sharp_beg,
            &mut p_sharp_init_end,
            &mut rho_init,
            p_beg,
            &mut p_init_end,
            sign,
            &mut lsw_init,
        )? {
            return Ok(false);
        }
        // The far subtree.
        let mut propose_final = self.z.clone();
        let mut lsw_final = f64::NEG_INFINITY;
        let (mut p_final_beg, mut p_sharp_final_beg, mut rho_final) = (zeros(), zeros(), zeros());
        if !self.build(
            rng,
            depth - 1,
            &mut propose_final,
            &mut p_sharp_final_beg,
            p_sharp_end,
            &mut rho_final,
            &mut p_final_beg,
            p_end,
            sign,
            &mut lsw_final,
        )? {
            return Ok(false);
        }
        // Multinomial choice between the two halves (uniform within a subtree).
        let lsw_subtree = log_sum_exp(lsw_init, lsw_final);
        *log_sum_weight = log_sum_exp(*log_sum_weight, lsw_subtree);
        if lsw_final > lsw_subtree || rng.random::<f64>() < (lsw_final - lsw_subtree).exp() {
            *propose = propose_final;
        }
        let rho_subtree = &rho_init + &rho_final;
        *rho += &rho_subtree;
        let mut persist = criterion(p_sharp_beg, p_sharp_end, &rho_subtree);
        persist &= criterion(p_sharp_beg, &p_sharp_final_beg, &(&rho_init + &p_final_beg));
        persist &= criterion(&p_sharp_init_end, p_sharp_end, &(&rho_final + &p_init_end));
        Ok(persist)
    }
}

/// One NUTS transition of one chain. The step's `n_grad` is the number of leapfrog steps; its
/// `accept_prob` is Stan's adaptation statistic (mean Metropolis probability over the trajectory).
fn nuts_chain(
    rng: &mut ChaCha8Rng,
    state: &mut ChainState,
    target: &dyn Posterior,
    prm: &NutsParams,
    sigma: f64,
) -> Result<StepInfo, KernelError> {
    let p = prm.inv_mass.sample_momentum(rng);
    let z0 = Point::new(state.clone(), p.clone(), &prm.inv_mass);
    let mut tree = Tree {
        target,
        sigma,
        eps: prm.step_size,
        inv_mass: &prm.inv_mass,
        h0: 0.0,
        n_leapfrog: 0,
        sum_metro_prob: 0.0,
        divergent: false,
        z: z0.clone(),
    };
    tree.h0 = tree.hamiltonian(&z0);
    let p_sharp = z0.v.clone();
    let (mut z_fwd, mut z_bck) = (z0.clone(), z0.clone());
    let mut sample = z0.clone();
    let mut rho = p.clone();
    let (mut p_fwd_bck, mut p_fwd_fwd, mut p_bck_fwd, mut p_bck_bck) = (p.clone(), p.clone(), p.clone(), p);
    let (mut ps_fwd_bck, mut ps_fwd_fwd) = (p_sharp.clone(), p_sharp.clone());
    let (mut ps_bck_fwd, mut ps_bck_bck) = (p_sharp.clone(), p_sharp);
    let mut log_sum_weight = 0.0;
    let dim = rho.len();
    // Stan's `depth_`: counts the doublings whose subtree was valid.
    let mut tree_depth = 0;
    for depth in 0..prm.max_depth {
        let mut rho_fwd = Array1::zeros(dim);
        let mut rho_bck = Array1::zeros(dim);
        let mut lsw_subtree = f64::NEG_INFINITY;
        let mut propose = z0.clone();
        let valid = if rng.random::<f64>() > 0.5 {
            tree.z = z_fwd.clone();
            rho_bck.assign(&rho);
            p_bck_fwd.assign(&p_fwd_bck);
            ps_bck_fwd.assign(&ps_fwd_bck);
            let v = tree.build(
                rng,
                depth,
                &mut propose,
                &mut ps_fwd_bck,
                &mut ps_fwd_fwd,
                &mut rho_fwd,
                &mut p_fwd_bck,
                &mut p_fwd_fwd,
                1.0,
                &mut lsw_subtree,
            )?;
            z_fwd = tree.z.clone();
            v
        } else {
            tree.z = z_bck.clone();
            rho_fwd.assign(&rho);
            p_fwd_bck.assign(&p_bck_fwd);
            ps_fwd_bck.assign(&ps_bck_fwd);
            let v = tree.build(
                rng,
                depth,
                &mut propose,
                &mut ps_bck_fwd,
                &mut ps_bck_bck,
                &mut rho_bck,
                &mut p_bck_fwd,
                &mut p_bck_bck,
                -1.0,
                &mut lsw_subtree,
            )?;
            z_bck = tree.z.clone();
            v
        };
        if !valid {
            break;
        }
        tree_depth += 1;
        // Biased progressive sampling: prefer the new subtree by its weight relative to the old tree.
        if lsw_subtree > log_sum_weight || rng.random::<f64>() < (lsw_subtree - log_sum_weight).exp() {
            sample = propose;
        }
        log_sum_weight = log_sum_exp(log_sum_weight, lsw_subtree);
        rho = &rho_bck + &rho_fwd;
        let mut persist = criterion(&ps_bck_bck, &ps_fwd_fwd, &rho);
        persist &= criterion(&ps_bck_bck, &ps_fwd_bck, &(&rho_bck + &p_fwd_bck));
        persist &= criterion(&ps_bck_fwd, &ps_fwd_fwd, &(&rho_fwd + &p_bck_fwd));
        if !persist {
            break;
        }
    }
    let n = tree.n_leapfrog.max(1);
    let accept_prob = tree.sum_metro_prob / n as f64;
    let energy = tree.hamiltonian(&sample);
    let energy_error = energy - tree.h0;
    let moved = sample.state.position != state.position;
    *state = sample.state;
    Ok(StepInfo {
        accept_prob,
        accepted: moved,
        divergent: tree.divergent,
        energy_error,
        energy,
        tree_depth,
        n_grad: tree.n_leapfrog,
        n_score: 0,
    })
}

/// One NUTS transition of every chain (chains in parallel, each with its own RNG stream).
pub fn nuts_step(
    rngs: &mut [ChaCha8Rng],
    states: &mut [ChainState],
    target: &dyn Posterior,
    params: &[NutsParams],
    sigma: f64,
) -> Result<Vec<StepInfo>, KernelError> {
    if rngs.len() != states.len() || params.len() != states.len() {
        return Err(KernelError::Fatal(
            "nuts_step: rngs, states and params differ in length".into(),
        ));
    }
    if !target.has_prior_density() {
        return Err(KernelError::NoPriorDensity);
    }
    for (s, prm) in states.iter().zip(params) {
        if prm.inv_mass.len() != s.position.len() {
            return Err(KernelError::Fatal(
                "nuts_step: inverse mass of the wrong length".into(),
            ));
        }
    }
    rngs.par_iter_mut()
        .zip(states.par_iter_mut())
        .zip(params.par_iter())
        .map(|((rng, state), prm)| nuts_chain(rng, state, target, prm, sigma))
        .collect()
}
