//! Warm starts of the score-based samplers: the scaled adjoint reconstruction or a `.npy` estimate.

use crate::session::{Built, SessionError, StartSpec};
use ndarray::Array1;

/// The starting estimate asked for, on the flat layout.
pub(crate) fn start_estimate(built: &Built, spec: &StartSpec) -> Result<Array1<f64>, SessionError> {
    let dim = built.posterior.layout().dim;
    match spec {
        StartSpec::Adjoint => built
            .posterior
            .adjoint_estimate()
            .map_err(|e| SessionError::Start(format!("cannot form the adjoint reconstruction: {e}"))),
        StartSpec::File(path) => {
            let shown = path.display();
            let v = crate::check::read_npy(path)
                .map_err(|e| SessionError::Start(format!("--init {shown}: {e}")))?;
            let flat: Vec<f64> = match &v {
                crate::graph::Value::Real(a) => a.iter().copied().collect(),
                crate::graph::Value::Complex(a) => a.iter().flat_map(|z| [z.re, z.im]).collect(),
            };
            if flat.len() != dim {
                return Err(SessionError::Start(format!(
                    "--init {shown}: {} values, but the latents have {dim}",
                    flat.len()
                )));
            }
            if !flat.iter().all(|x| x.is_finite()) {
                return Err(SessionError::Start(format!(
                    "--init {shown}: contains NaN or infinite values"
                )));
            }
            Ok(flat.into())
        }
    }
}

/// The `init` option as a start: `adjoint` or a file.
pub(crate) fn start_spec(s: &crate::session::Settings) -> Option<StartSpec> {
    s.word("init").map(|w| match w {
        "adjoint" => StartSpec::Adjoint,
        path => StartSpec::File(path.into()),
    })
}
