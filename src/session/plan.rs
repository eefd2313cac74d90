//! The planner: picks a sampler from the model's structure by the registry's rules and says why in
//! one sentence, or checks one that was asked for.

use super::samplers::{SamplerDef, SAMPLERS};
use super::PriorView;
use crate::score::NoiseKind;

/// What the planner looks at.
#[derive(Clone, Debug)]
pub struct PlanInput {
    /// (latent name, its prior's noise kind) in declaration order.
    pub priors: Vec<(String, NoiseKind)>,
    /// Whether every observation has a differentiable likelihood (always true today).
    pub differentiable: bool,
    /// Whether an initial estimate was given (`init`), which turns DPS into CCDF.
    pub has_init: bool,
    /// Whether the model has observations at all.
    pub has_observations: bool,
    /// Latents whose prior is evaluated exactly through the graph (latent parameters, constrained
    /// supports), each with how it is sampled: (`sigma`, `HalfNormal prior, sampled as log sigma`).
    pub terms: Vec<(String, String)>,
    /// The model's `supn` prior, if any, and whether its exact Gaussian conditional applies.
    pub supn: Option<SupnFit>,
    /// Latents with complex values (a complex image's score network has re, im channels).
    pub complex: Vec<String>,
}

/// A `supn(file, z)` prior as the planner sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct SupnFit {
    /// The image latent.
    pub x: String,
    /// The latent z (`None`: z is data or a constant).
    pub z: Option<String>,
    /// `Ok` when the likelihood is one Normal, linear in x, with one constant σ; else why not.
    pub linear: Result<(), String>,
}

impl PlanInput {
    /// The `supn` prior when the exact Gaussian conditional applies, else why it does not.
    pub fn supn_linear(&self) -> Result<&SupnFit, String> {
        let fit = self.supn.as_ref().ok_or("the model has no supn prior")?;
        fit.linear.as_ref().map(|_| fit).map_err(|e| {
            format!(
                "the exact Gaussian conditional of the supn prior of `{}` does not apply: {e}",
                fit.x
            )
        })
    }
}

impl PlanInput {
    /// The first latent whose prior is of this kind.
    pub fn first(&self, pred: fn(&NoiseKind) -> bool) -> Option<&str> {
        self.priors.iter().find(|(_, k)| pred(k)).map(|(n, _)| n.as_str())
    }

    pub fn vp(&self) -> Option<&str> {
        self.first(|k| matches!(k, NoiseKind::Vp { .. }))
    }

    /// A noise-conditional prior with a range of levels to anneal through.
    pub fn ve(&self) -> Option<&str> {
        self.first(|k| matches!(k, NoiseKind::Ve { .. }) && one_level(k).is_none())
    }

    /// The one score latent, complex, with a VE prior to anneal through, in a model with
    /// observations: DPS through the network's VP view beats annealed HMC on every complex MRI
    /// example (`docs/samplers.md`). With several score latents DPS does not apply.
    pub fn complex_ve(&self) -> Option<&str> {
        let one = self.score_latents() == 1;
        self.ve()
            .filter(|n| one && self.has_observations && self.complex.iter().any(|c| c == n))
    }

    /// Latents whose prior is not evaluated exactly through the graph (score networks, analytic
    /// priors with a score view): what DPS counts when it samples one of them.
    pub fn score_latents(&self) -> usize {
        self.priors.len() - self.terms.len()
    }

    /// A prior with a score at one noise level only: `Fixed`, or a VE network trained at a single σ.
    pub fn fixed(&self) -> Option<&str> {
        self.first(|k| one_level(k).is_some())
    }

    /// The level of the first prior that has only one (what MALA and HMC then sample at).
    pub fn fixed_sigma(&self) -> Option<f64> {
        self.priors.iter().find_map(|(_, k)| one_level(k))
    }

    /// The sentence the planner adds about hierarchical parts of the model (empty if none).
    pub fn terms_note(&self) -> String {
        if self.terms.is_empty() {
            return String::new();
        }
        let parts: Vec<String> = self
            .terms
            .iter()
            .map(|(n, how)| format!("`{n}` ({how})"))
            .collect();
        let list = crate::dist::join_and(&parts);
        let one = parts.len() == 1;
        if self.ve().or(self.vp()).is_some() {
            return format!(
                "; {list} {} not annealed: Metropolis-within-Gibbs draws {} given the image (exactly; at each level for annealed HMC, after the last step for DPS), then the corrector moves everything",
                if one { "is" } else { "are" },
                if one { "it" } else { "them" }
            );
        }
        format!(
            "; {list} {} exactly with {} in the same state",
            if one { "is sampled" } else { "are sampled" },
            if self.priors.len() > parts.len() {
                "the other latents"
            } else {
                "each other"
            }
        )
    }

    /// Every prior has an exact log density.
    pub fn all_exact(&self) -> bool {
        self.priors.iter().all(|(_, k)| matches!(k, NoiseKind::Analytic))
    }
}

/// The one noise level of a prior that has only one: `Fixed { σ }`, or `Ve` with σ_min = σ_max.
pub fn one_level(kind: &NoiseKind) -> Option<f64> {
    match kind {
        NoiseKind::Fixed { sigma } => Some(*sigma),
        NoiseKind::Ve { sigma_min, sigma_max } if sigma_max <= sigma_min => Some(*sigma_min),
        _ => None,
    }
}

/// The chosen sampler and the sentence explaining it.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub sampler: &'static SamplerDef,
    pub reason: String,
    /// True when the Metropolis correction must use the score-only path integral.
    pub score_only_mh: bool,
    /// How the sampler sees a score prior of the other family (a VP prior for annealed HMC, a VE
    /// one for DPS); `prepare` applies it and adds its sentence to `reason`.
    pub view: Option<PriorView>,
}

/// Choose a sampler (the first in the registry whose rule holds) or check a requested one; `why`
/// names where the request came from. The error is a sentence for a diagnostic.
pub fn plan(input: &PlanInput, requested: Option<&'static SamplerDef>, why: &str) -> Result<Plan, String> {
    if let (Some(a), Some(b)) = (input.vp(), input.ve().or(input.fixed())) {
        return Err(format!(
            "latent `{a}` has a diffusion (VP) prior and `{b}` a noise-conditional one; uq cannot sample both jointly"
        ));
    }
    let score_only_mh = !input.all_exact();
    let note = |s: &SamplerDef| {
        if s.terms_note {
            input.terms_note()
        } else {
            String::new()
        }
    };
    let auto = SAMPLERS
        .iter()
        .find_map(|s| (s.auto)(input).map(|reason| (*s, format!("{reason}{}", note(s)))));
    match (requested, auto) {
        (None, Some((sampler, reason))) => Ok(Plan {
            sampler,
            reason,
            score_only_mh,
            view: PriorView::needed(sampler.levels, input),
        }),
        (None, None) => {
            // No automatic rule holds: the most specific refusal explains why.
            let why_not = SAMPLERS.iter().find_map(|s| (s.accepts)(input).err());
            Err(why_not.unwrap_or_else(|| "no sampler fits this model".into()))
        }
        (Some(req), Some((sampler, reason))) if req == sampler => Ok(Plan {
            sampler,
            reason: format!("{reason} ({why} agrees)"),
            score_only_mh,
            view: PriorView::needed(sampler.levels, input),
        }),
        (Some(req), _) => {
            (req.accepts)(input)?;
            let detail = if score_only_mh && req.options.iter().any(|u| u.key == "mh") {
                " (score-only Metropolis correction, since a prior has no log density)"
            } else {
                ""
            };
            Ok(Plan {
                sampler: req,
                reason: format!("{req} was requested by {why}{detail}{}", note(req)),
                score_only_mh,
                view: PriorView::needed(req.levels, input),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::samplers::sampler;
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
            terms: Vec::new(),
            supn: None,
            complex: Vec::new(),
        }
    }

    fn chosen(kinds: Vec<NoiseKind>) -> &'static str {
        plan(&input(kinds), None, "")
            .map(|p| p.sampler.name)
            .unwrap_or("error")
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
        assert_eq!(chosen(vec![NoiseKind::Analytic]), "hmc");
        assert_eq!(chosen(vec![ve.clone()]), "annealed_hmc");
        assert_eq!(chosen(vec![vp.clone()]), "dps");
        assert_eq!(chosen(vec![NoiseKind::Fixed { sigma: 0.1 }]), "mala");
        // A VE network trained at one σ only has nothing to anneal through.
        let one = NoiseKind::Ve {
            sigma_min: 0.05,
            sigma_max: 0.05,
        };
        assert_eq!(chosen(vec![one.clone()]), "mala");
        assert_eq!(input(vec![one]).fixed_sigma(), Some(0.05));
        assert_eq!(chosen(vec![vp.clone(), ve.clone()]), "error");
        let mut prior_only = input(vec![ve.clone()]);
        prior_only.has_observations = false;
        assert_eq!(
            plan(&prior_only, None, "").unwrap().sampler.name,
            "annealed_langevin"
        );
        let req = |kinds, name| plan(&input(kinds), sampler(name), "--sampler");
        let p = req(vec![NoiseKind::Analytic], "mala").unwrap();
        assert!(p.reason.contains("--sampler") && !p.score_only_mh && p.view.is_none());
        // The automatic choices need no view, but for a complex image with a VE prior: DPS through
        // the VP view (annealed Langevin still draws from the prior alone).
        assert!(plan(&input(vec![vp.clone()]), None, "").unwrap().view.is_none());
        assert!(plan(&input(vec![ve.clone()]), None, "").unwrap().view.is_none());
        let mut complex = input(vec![ve.clone()]);
        complex.complex = vec!["x0".into()];
        let p = plan(&complex, None, "").unwrap();
        assert_eq!(p.sampler.name, "dps");
        assert!(p.view.is_some() && p.reason.contains("complex"), "{}", p.reason);
        complex.has_observations = false;
        assert_eq!(
            plan(&complex, None, "").unwrap().sampler.name,
            "annealed_langevin"
        );
        // Two score latents: DPS does not apply, annealed HMC runs as for real images.
        let mut two = input(vec![ve.clone(), ve.clone()]);
        two.complex = vec!["x0".into()];
        assert_eq!(plan(&two, None, "").unwrap().sampler.name, "annealed_hmc");
    }

    /// A supn prior with a linear-Gaussian likelihood gets Gibbs (with no note on exact latents);
    /// otherwise NUTS, and the SUPN samplers refuse with the reason.
    #[test]
    fn supn_priors_get_gibbs_when_the_conditional_is_gaussian() {
        let mut m = input(vec![NoiseKind::Analytic, NoiseKind::Analytic]);
        m.terms = vec![("x1".into(), "supn prior, whose parameters are latents".into())];
        m.supn = Some(SupnFit {
            x: "x1".into(),
            z: Some("x0".into()),
            linear: Ok(()),
        });
        let p = plan(&m, None, "").unwrap();
        assert_eq!(p.sampler.name, "supn_gibbs");
        assert!(!p.reason.contains("same state"), "{}", p.reason);
        assert_eq!(
            plan(&m, sampler("supn_map"), "--sampler").unwrap().sampler.name,
            "supn_map"
        );
        let nuts = plan(&m, sampler("hmc"), "--sampler").unwrap();
        assert!(nuts.reason.contains("same state"), "{}", nuts.reason);
        m.supn = m.supn.map(|f| SupnFit {
            linear: Err("the likelihood is Poisson, not Normal".into()),
            ..f
        });
        assert_eq!(plan(&m, None, "").unwrap().sampler.name, "hmc");
        let e = plan(&m, sampler("supn_gibbs"), "--sampler").unwrap_err();
        assert!(e.contains("Poisson"), "{e}");
    }

    /// A VP prior runs every σ sampler through its VE view, a VE prior DPS through its VP view; a
    /// prior with one noise level has no VP view, and DPS says so.
    #[test]
    fn requested_samplers_see_the_other_family_through_a_view() {
        let ve = NoiseKind::Ve {
            sigma_min: 0.01,
            sigma_max: 23.7,
        };
        let vp = NoiseKind::Vp {
            beta_start: 1e-4,
            beta_end: 0.02,
            steps: 1000,
        };
        let req = |kinds, name| plan(&input(kinds), sampler(name), "--sampler");
        for name in ["annealed_hmc", "mala", "hmc"] {
            let p = req(vec![vp.clone()], name).unwrap();
            assert_eq!(p.view, Some(PriorView::VeOfVp), "{name}");
            assert!(p.score_only_mh, "{name}");
            assert_eq!(req(vec![ve.clone()], name).unwrap().view, None, "{name}");
        }
        assert_eq!(
            req(vec![ve.clone()], "dps").unwrap().view,
            Some(PriorView::VpOfVe)
        );
        assert_eq!(req(vec![vp.clone()], "dps").unwrap().view, None);
        assert_eq!(req(vec![NoiseKind::Analytic], "dps").unwrap().view, None);
        let one = NoiseKind::Ve {
            sigma_min: 0.05,
            sigma_max: 0.05,
        };
        let e = req(vec![one], "dps").unwrap_err();
        assert!(e.contains("one noise level"), "{e}");
        let e = req(vec![vp, ve], "dps").unwrap_err();
        assert!(e.contains("cannot sample both"), "{e}");
    }
}
