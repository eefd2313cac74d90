//! `Flat()`: the improper uniform prior (log density 0); the latent's type must be declared.

use super::{BuildError, Distribution, Role, RuleError, Signature, Support};
use crate::graph::{Ty, Value};
use crate::score::{FlatPrior, ScoreModel};

pub struct Flat;

const SIGNATURES: &[Signature] = &[Signature {
    role: Role::Prior,
    params: &[],
    notes: &["the latent's type must be declared"],
}];

impl Distribution for Flat {
    fn name(&self) -> &'static str {
        "Flat"
    }

    fn summary(&self) -> &'static str {
        "improper uniform prior: the posterior is the likelihood"
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGNATURES
    }

    fn support(&self) -> Support {
        Support::Real
    }

    fn prior_type(&self, _params: &[Ty], _given: &[bool], declared: Option<&Ty>) -> Result<Ty, RuleError> {
        declared.cloned().ok_or(RuleError::NeedsDeclaredType)
    }

    fn annealable(&self) -> bool {
        true
    }

    fn build_prior(
        &self,
        _params: &[Value],
        dim: usize,
        _complex: bool,
    ) -> Result<Box<dyn ScoreModel>, BuildError> {
        Ok(Box::new(FlatPrior::new(dim)))
    }
}
