//! Metropolis-within-Gibbs for the exact, non-annealed latents next to a score prior (a latent noise
//! level `sigma`, a prior scale): random-walk Metropolis on their unconstrained coordinates with the
//! image held fixed, so only the log-likelihood changes (the prior score of the image cancels) and no
//! network is evaluated. The proposal scale adapts towards acceptance 0.44 (Roberts & Rosenthal).

use super::super::run::stream_rngs;
use crate::infer::target::Posterior;
use crate::infer::RunError;
use ndarray::Array2;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

const TARGET_ACCEPT: f64 = 0.44;

/// The Gibbs block of a batch of particles: its coordinates, and per particle the proposal scale,
/// the random stream and the acceptance so far.
pub struct Gibbs {
    coords: Vec<usize>,
    scale: Vec<f64>,
    rngs: Vec<ChaCha8Rng>,
    sweeps: usize,
}

impl Gibbs {
    /// `None` when the target has no Gibbs coordinates. Particle `p` draws on stream `streams[p]`.
    pub fn new(target: &dyn Posterior, streams: &[u64], seed: u64) -> Option<Gibbs> {
        let coords = target.gibbs_coords();
        (!coords.is_empty()).then(|| Gibbs {
            scale: vec![0.1; streams.len()],
            rngs: stream_rngs(seed ^ 0x61bb_5eed, streams),
            coords,
            sweeps: 0,
        })
    }

    /// Per coordinate: 0 on the Gibbs coordinates, 1 elsewhere (an HMC inverse mass that freezes them).
    pub fn frozen_mass(&self, dim: usize) -> ndarray::Array1<f64> {
        let mut m = ndarray::Array1::ones(dim);
        for &c in &self.coords {
            if let Some(v) = m.get_mut(c) {
                *v = 0.0;
            }
        }
        m
    }

    /// `steps` random-walk Metropolis updates of the Gibbs coordinates of every row of `xs` at
    /// annealing level `sigma`; `adapt` tunes each particle's scale (a diminishing Robbins–Monro
    /// step on its logarithm). Returns the likelihood evaluations spent.
    pub fn sweep(
        &mut self,
        target: &dyn Posterior,
        xs: &mut Array2<f64>,
        sigma: f64,
        steps: usize,
        adapt: bool,
    ) -> Result<u64, RunError> {
        let n = xs.nrows();
        if n != self.scale.len() {
            return Err(RunError::Config("gibbs: particle count changed".into()));
        }
        let mut current: Vec<f64> = target
            .log_likelihood(xs.view(), sigma)
            .into_iter()
            .map(|r| r.unwrap_or(f64::NEG_INFINITY))
            .collect();
        let mut evals = n as u64;
        let mut prop = xs.clone();
        for _ in 0..steps {
            prop.assign(xs);
            for (i, mut row) in prop.rows_mut().into_iter().enumerate() {
                for &c in &self.coords {
                    let z: f64 = self.rngs[i].sample(StandardNormal);
                    row[c] += self.scale[i] * z;
                }
            }
            let lp = target.log_likelihood(prop.view(), sigma);
            evals += n as u64;
            self.sweeps += 1;
            let gain = 1.0 / (self.sweeps as f64).sqrt();
            for (i, l) in lp.into_iter().enumerate() {
                let new = l.unwrap_or(f64::NEG_INFINITY);
                let a = if new.is_finite() {
                    (new - current[i]).min(0.0).exp()
                } else {
                    0.0
                };
                if self.rngs[i].random::<f64>() < a {
                    xs.row_mut(i).assign(&prop.row(i));
                    current[i] = new;
                }
                if adapt {
                    self.scale[i] = (self.scale[i].ln() + gain * (a - TARGET_ACCEPT))
                        .exp()
                        .clamp(1e-6, 10.0);
                }
            }
        }
        Ok(evals)
    }
}
