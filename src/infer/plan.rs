//! The planner: picks a sampler from the model's structure and says why in one sentence.

use crate::score::NoiseKind;
use std::fmt;

/// The samplers uq has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SamplerKind {
    Mala,
    Hmc,
    AnnealedHmc,
    /// Prior draws from a VE score network (a model without observations).
    AnnealedLangevin,
    Dps,
}

impl SamplerKind {
    /// Parse a CLI / `infer` name (`annealed-hmc` and `annealed_hmc` both work); `auto` is `None`.
    pub fn parse(name: &str) -> Result<Option<SamplerKind>, String> {
        match name.replace('-', "_").as_str() {
            "auto" => Ok(None),
            "mala" => Ok(Some(SamplerKind::Mala)),
            "hmc" => Ok(Some(SamplerKind::Hmc)),
            "annealed_hmc" => Ok(Some(SamplerKind::AnnealedHmc)),
            "annealed_langevin" => Ok(Some(SamplerKind::AnnealedLangevin)),
            "dps" => Ok(Some(SamplerKind::Dps)),
            _ => Err(format!("unknown sampler `{name}`")),
        }
    }

    pub const NAMES: [&'static str; 5] = ["auto", "mala", "hmc", "annealed_hmc", "dps"];

    pub fn name(self) -> &'static str {
        match self {
            SamplerKind::Mala => "mala",
            SamplerKind::Hmc => "hmc",
            SamplerKind::AnnealedHmc => "annealed_hmc",
            SamplerKind::AnnealedLangevin => "annealed_langevin",
            SamplerKind::Dps => "dps",
        }
    }
}

impl fmt::Display for SamplerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the planner looks at.
#[derive(Clone, Debug)]
pub struct PlanInput {
    /// (latent name, its prior's noise kind) in declaration order.
    pub priors: Vec<(String, NoiseKind)>,
    /// Whether every observation has a differentiable likelihood (always true today).
    pub differentiable: bool,
    /// Whether an initial estimate was given (`--init`), which turns DPS into CCDF.
    pub has_init: bool,
    /// Whether the model has observations at all.
    pub has_observations: bool,
}

/// The chosen sampler and the sentence explaining it.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub sampler: SamplerKind,
    pub reason: String,
    /// True when the Metropolis correction must use the score-only path integral.
    pub score_only_mh: bool,
}

/// Choose a sampler (DESIGN.md §4) or check a requested one. The error is a sentence for a diagnostic.
pub fn plan(input: &PlanInput, requested: Option<SamplerKind>, why_requested: &str) -> Result<Plan, String> {
    let find =
        |pred: fn(&NoiseKind) -> bool| input.priors.iter().find(|(_, k)| pred(k)).map(|(n, _)| n.clone());
    let vp = find(|k| matches!(k, NoiseKind::Vp { .. }));
    let ve = find(|k| matches!(k, NoiseKind::Ve { .. }));
    let fixed = find(|k| matches!(k, NoiseKind::Fixed { .. }));
    let all_exact = input.priors.iter().all(|(_, k)| matches!(k, NoiseKind::Analytic));
    if let (Some(a), Some(b)) = (&vp, ve.as_ref().or(fixed.as_ref())) {
        return Err(format!("latent `{a}` has a diffusion (VP) prior and `{b}` a noise-conditional one; uq cannot sample both jointly"));
    }
    let auto = match (&vp, &ve, &fixed) {
        (Some(n), _, _) if input.priors.len() == 1 => Plan {
            sampler: SamplerKind::Dps,
            reason: if input.has_init {
                format!("the prior of `{n}` is a VP diffusion model and an initial estimate was given, so DPS starts from it (CCDF)")
            } else {
                format!("the prior of `{n}` is a VP diffusion model, so diffusion posterior sampling (DPS) is used")
            },
            score_only_mh: false,
        },
        (Some(n), _, _) => {
            return Err(format!("DPS samples one latent, but the model has {} besides `{n}`", input.priors.len() - 1))
        }
        (None, Some(n), _) if !input.has_observations && input.priors.len() == 1 => Plan {
            sampler: SamplerKind::AnnealedLangevin,
            reason: format!("the model has no observation and the prior of `{n}` is a VE score network, so it draws from the prior by annealed Langevin dynamics"),
            score_only_mh: false,
        },
        (None, Some(n), _) => Plan {
            sampler: SamplerKind::AnnealedHmc,
            reason: format!("the prior of `{n}` is a noise-conditional (VE) score network, so annealed HMC with a score-only Metropolis correction is used"),
            score_only_mh: true,
        },
        (None, None, Some(n)) => Plan {
            sampler: SamplerKind::Mala,
            reason: format!("the prior of `{n}` gives a score at one noise level only, so MALA with a score-only Metropolis correction is used"),
            score_only_mh: true,
        },
        (None, None, None) => Plan {
            sampler: SamplerKind::Hmc,
            reason: if input.has_observations {
                "every prior has an exact log density and the likelihood is differentiable, so HMC (NUTS, adaptive path length) with exact Metropolis–Hastings is used".to_string()
            } else {
                "every prior has an exact log density and there is no observation, so HMC (NUTS) samples the prior with exact Metropolis–Hastings".to_string()
            },
            score_only_mh: false,
        },
    };
    let Some(req) = requested else { return Ok(auto) };
    if req == auto.sampler {
        return Ok(Plan {
            reason: format!("{} ({why_requested} agrees)", auto.reason),
            ..auto
        });
    }
    let score_only = !all_exact;
    let ok = |sampler: SamplerKind, detail: &str| Plan {
        sampler,
        reason: format!("{sampler} was requested by {why_requested}{detail}"),
        score_only_mh: score_only,
    };
    match req {
        SamplerKind::Dps => match (&vp, input.priors.len()) {
            (Some(_), 1) => Ok(ok(req, "")),
            (Some(_), n) => Err(format!("DPS samples one latent, but the model has {n}")),
            (None, _) => Err("DPS needs a VP (diffusion) prior, and this model has none; use `annealed_hmc` for a VE score prior or `hmc` for analytic priors".into()),
        },
        SamplerKind::AnnealedLangevin if ve.is_none() || input.priors.len() != 1 => {
            Err("annealed Langevin draws from one VE score prior; this model has none".into())
        }
        SamplerKind::AnnealedHmc if vp.is_some() => {
            Err("annealed HMC needs a noise-conditional (VE) or analytic prior, but this model's prior is a VP diffusion model; use `dps`".into())
        }
        SamplerKind::Hmc | SamplerKind::Mala if vp.is_some() => {
            Err(format!("{req} needs a score at a fixed noise level, but this model's prior is a VP diffusion model; use `dps`"))
        }
        _ => Ok(ok(req, if score_only { " (score-only Metropolis correction, since a prior has no log density)" } else { "" })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(kinds: Vec<NoiseKind>) -> PlanInput {
        PlanInput {
            priors: kinds
                .into_iter()
                .enumerate()
                .map(|(i, k)| (format!("x{i}"), k))
                .collect(),
            differentiable: true,
            has_init: false,
            has_observations: true,
        }
    }

    #[test]
    fn automatic_choices_follow_the_design() {
        let ve = NoiseKind::Ve {
            sigma_min: 0.01,
            sigma_max: 1.0,
        };
        let vp = NoiseKind::Vp {
            beta_start: 1e-4,
            beta_end: 0.02,
            steps: 1000,
        };
        assert_eq!(
            plan(&input(vec![NoiseKind::Analytic]), None, "").unwrap().sampler,
            SamplerKind::Hmc
        );
        assert_eq!(
            plan(&input(vec![ve.clone()]), None, "").unwrap().sampler,
            SamplerKind::AnnealedHmc
        );
        assert_eq!(
            plan(&input(vec![vp.clone()]), None, "").unwrap().sampler,
            SamplerKind::Dps
        );
        assert_eq!(
            plan(&input(vec![NoiseKind::Fixed { sigma: 0.1 }]), None, "")
                .unwrap()
                .sampler,
            SamplerKind::Mala
        );
        assert!(plan(&input(vec![ve]), Some(SamplerKind::Dps), "--sampler").is_err());
        assert!(plan(&input(vec![vp]), Some(SamplerKind::Hmc), "--sampler").is_err());
        let p = plan(
            &input(vec![NoiseKind::Analytic]),
            Some(SamplerKind::Mala),
            "--sampler",
        )
        .unwrap();
        assert!(p.reason.contains("--sampler") && !p.score_only_mh);
    }
}
