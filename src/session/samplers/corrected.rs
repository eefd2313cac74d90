//! The corrector's record in `summary.json`, shared by DPS and annealed HMC: acceptance and step per
//! chain, how far it moved the samples, and what it cost per sample.

use crate::infer::CorrectorOutput;
use crate::output::Summary;
use ndarray::Array2;

/// The corrector's figures, summed over the batches of particles of one run.
#[derive(Default)]
pub(super) struct CorrectorRecord {
    /// Per chain: summed acceptance, particles; summed step size, particles with one (not skipped).
    per_chain: Vec<(f64, usize, f64, usize)>,
    /// Summed `jump × particles` over the batches where it is defined (2 or more particles), and
    /// those particles; all particles; evaluations.
    jump: f64,
    jump_particles: usize,
    particles: usize,
    grad_evals: u64,
    score_evals: u64,
    steps_done: usize,
    skipped: usize,
}

impl CorrectorRecord {
    pub(super) fn new(chains: usize) -> Self {
        Self {
            per_chain: vec![(0.0, 0, 0.0, 0); chains],
            ..Self::default()
        }
    }

    /// One batch: particle `p` belongs to chain `p % chains`; `start` is what the corrector began from.
    pub(super) fn add(&mut self, out: &CorrectorOutput, start: &Array2<f64>) {
        let chains = self.per_chain.len().max(1);
        for (p, (a, h)) in out.accept.iter().zip(&out.step_size).enumerate() {
            if let Some(c) = self.per_chain.get_mut(p % chains) {
                c.0 += a;
                c.1 += 1;
                if h.is_finite() {
                    c.2 += h;
                    c.3 += 1;
                }
            }
        }
        let n = out.accept.len();
        let jump = out.jump(start);
        if jump.is_finite() {
            self.jump += jump * n as f64;
            self.jump_particles += n;
        }
        self.particles += n;
        self.grad_evals += out.grad_evals;
        self.score_evals += out.score_evals;
        self.steps_done = out.steps_done;
        self.skipped += out.skipped;
    }

    /// Everything goes to `extra.corrector`; with `per_chain` (DPS, which has no other acceptance) the
    /// per-chain acceptance and step size also go to the summary's `acceptance_rate` and `step_size`.
    pub(super) fn write(
        &self,
        summary: &mut Summary,
        (steps, sigma): (usize, f64),
        level: serde_json::Value,
        per_chain: bool,
    ) {
        let mean = |sum: f64, n: usize| if n > 0 { sum / n as f64 } else { f64::NAN };
        let accept: Vec<f64> = self.per_chain.iter().map(|c| mean(c.0, c.1)).collect();
        // A chain's step: the mean of its particles' (rounds') own adapted steps.
        let step: Vec<f64> = self.per_chain.iter().map(|c| mean(c.2, c.3)).collect();
        if per_chain {
            summary.acceptance_rate = accept.clone();
            summary.step_size = step.clone();
        }
        let n = self.particles.max(1) as f64;
        summary.extra.insert(
            "corrector".into(),
            serde_json::json!({
                "kernel": "mala", "steps": steps, "steps_done": self.steps_done,
                "sigma": sigma, "level": level, "target_accept": crate::infer::MALA_TARGET_ACCEPT,
                "accept_per_chain": accept, "step_size_per_chain": step,
                "jump_sq_over_var": self.jump / self.jump_particles as f64,
                "grad_evals_per_sample": self.grad_evals as f64 / n,
                "score_evals_per_sample": (self.grad_evals + self.score_evals) as f64 / n,
                "eds": true, "skipped_samples": self.skipped,
            }),
        );
    }
}
