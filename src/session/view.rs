//! Prior views for the planned sampler: a VP (diffusion) prior seen as a VE prior by the samplers
//! that anneal σ or sample at one σ, a VE network seen as a VP prior by DPS.

use super::samplers::PriorLevels;
use super::{Built, PlanInput};
use crate::score::{NoiseKind, ScoreError, ScoreModel, VeView, VpView};

/// How the planned sampler sees a score prior of the other family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PriorView {
    /// A VP prior as a VE prior: `s(x, σ) = −ε(√ᾱ_t x, t)/σ` at `σ² = (1 − ᾱ_t)/ᾱ_t` ([`VeView`]).
    VeOfVp,
    /// A VE prior as a VP prior: `ε(x, t) = −σ_t s(x/√ᾱ_t, σ_t)` ([`VpView::of_ve`]).
    VpOfVe,
}

impl PriorView {
    /// The view a sampler evaluating priors at `levels` needs for the model's priors (`None` when
    /// they fit as they are; analytic priors fit both).
    pub fn needed(levels: PriorLevels, input: &PlanInput) -> Option<PriorView> {
        match levels {
            PriorLevels::Timesteps => input.ve().map(|_| PriorView::VpOfVe),
            PriorLevels::Sigmas => input.vp().map(|_| PriorView::VeOfVp),
        }
    }

    /// Whether a prior of this kind is seen through the view.
    fn applies(self, kind: &NoiseKind) -> bool {
        match self {
            PriorView::VeOfVp => matches!(kind, NoiseKind::Vp { .. }),
            PriorView::VpOfVe => {
                matches!(kind, NoiseKind::Ve { .. }) && super::plan::one_level(kind).is_none()
            }
        }
    }

    fn wrap(self, p: Box<dyn ScoreModel>) -> Result<Box<dyn ScoreModel>, ScoreError> {
        Ok(match self {
            PriorView::VeOfVp => Box::new(VeView::new(p)?),
            PriorView::VpOfVe => Box::new(VpView::of_ve(p)?),
        })
    }

    /// The sentence the plan's reason gets for latent `name`, whose prior is now `seen`.
    fn describe(self, name: &str, seen: &NoiseKind) -> String {
        match (self, seen) {
            (PriorView::VeOfVp, NoiseKind::Ve { sigma_min, sigma_max }) => format!(
                "; the VP prior of `{name}` is seen through its VE view, s(x, σ) = −ε(√ᾱ_t x, t)/σ at σ² = (1 − ᾱ_t)/ᾱ_t, ε interpolated in ln σ between timesteps, σ in [{}, {}]",
                short(*sigma_min),
                short(*sigma_max)
            ),
            (PriorView::VpOfVe, NoiseKind::Vp { beta_end, steps, .. }) => format!(
                "; the VE prior of `{name}` is seen through its VP view, ε(x, t) = −σ_t s(x/√ᾱ_t, σ_t) with σ_t² = (1 − ᾱ_t)/ᾱ_t, on DDPM's β schedule cut where σ_t reaches the network's σ_max (T = {steps}, β 1e-4 → {}), σ_t clamped into the network's range",
                short(*beta_end)
            ),
            (_, other) => format!("; the prior of `{name}` is seen as {other:?}"),
        }
    }
}

/// Four significant digits, without trailing zeros.
fn short(x: f64) -> String {
    let s = format!("{x:.3e}");
    let v: f64 = s.parse().unwrap_or(x);
    format!("{v}")
}

/// The posterior with every prior the view applies to seen through it, and the sentence for the
/// plan's reason; the error says which prior has no such view.
pub fn apply_view(built: Built, view: PriorView) -> Result<(Built, String), String> {
    let Built {
        posterior,
        plan_input,
        outputs,
    } = built;
    let mut sentence = String::new();
    let mut index = 0;
    let names: Vec<String> = plan_input.priors.iter().map(|(n, _)| n.clone()).collect();
    let posterior = posterior.map_priors(|p| {
        let name = names.get(index).map_or("?", String::as_str).to_string();
        index += 1;
        if !view.applies(&p.noise_kind()) {
            return Ok(p);
        }
        let seen = view
            .wrap(p)
            .map_err(|e| format!("the prior of `{name}` cannot be seen as the sampler needs: {e}"))?;
        sentence.push_str(&view.describe(&name, &seen.noise_kind()));
        Ok(seen)
    })?;
    Ok((
        Built {
            posterior,
            plan_input,
            outputs,
        },
        sentence,
    ))
}
