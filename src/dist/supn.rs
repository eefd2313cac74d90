//! `supn("file.safetensors", z)`: a structured-Gaussian prior x | z ~ N(μ(z), (L(z) L(z)ᵀ)⁻¹) from a
//! SUPN decoder (`src/supn/`). The registry entry names it; the checker binds the file to a
//! [`BoundSupn`] (loaded once per file) whose calls take `z` only and give log densities with
//! gradients in x and z.

use super::{Density, DensityError, Distribution, Param, ParamKind, Role, Signature, Support};
use crate::dist::Constraint;
use crate::graph::Value;
use crate::supn::{SupnError, SupnModel};
use ndarray::{ArrayD, IxDyn};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};
use std::time::SystemTime;

/// The name written in models.
pub const NAME: &str = "supn";

const Z: Param = Param {
    name: "z",
    what: "the SUPN latent",
    ty: "real[M]",
    kind: ParamKind::Free {
        real: true,
        constraint: Constraint::Unconstrained,
    },
    default: None,
};

const SIGNATURES: &[Signature] = &[Signature {
    role: Role::Prior,
    params: &[
        Param {
            name: "file",
            what: "the SUPN file",
            ty: "",
            kind: ParamKind::ScoreFile,
            default: None,
        },
        Z,
    ],
    notes: &["the image's type and M come from the file's header; z is usually a Normal(0, 1) latent"],
}];

const BOUND_SIGNATURES: &[Signature] = &[Signature {
    role: Role::Prior,
    params: &[Z],
    notes: &[],
}];

/// The registry's `supn`.
pub struct Supn;

impl Distribution for Supn {
    fn name(&self) -> &'static str {
        NAME
    }

    fn summary(&self) -> &'static str {
        "a structured-Gaussian prior from a SUPN decoder written by `uq train --kind supn`: x given z is N(μ(z), (L Lᵀ)⁻¹), L a sparse Cholesky factor of the precision (docs/supn.md)"
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGNATURES
    }

    fn support(&self) -> Support {
        Support::Real
    }

    fn support_text(&self) -> String {
        "real".into()
    }
}

/// `supn` with its file loaded: the distribution a checked model's call holds.
pub struct BoundSupn {
    path: PathBuf,
    model: SupnModel,
}

/// Loaded files by (path, modification time, length): a changed file is loaded again.
type Key = (PathBuf, Option<SystemTime>, u64);
static LOADED: LazyLock<Mutex<HashMap<Key, &'static BoundSupn>>> = LazyLock::new(Default::default);

/// The file at `path` bound as a distribution (loaded on first use; later calls share it).
pub fn bind(path: &Path) -> Result<&'static BoundSupn, SupnError> {
    let meta = std::fs::metadata(path).ok();
    let key = (
        path.to_path_buf(),
        meta.as_ref().and_then(|m| m.modified().ok()),
        meta.as_ref().map_or(0, |m| m.len()),
    );
    if let Some(b) = LOADED.lock().ok().and_then(|m| m.get(&key).copied()) {
        return Ok(b);
    }
    let model = SupnModel::load(path)?;
    // One allocation per distinct file version for the life of the process: calls hold `&'static`.
    let bound: &'static BoundSupn = Box::leak(Box::new(BoundSupn {
        path: path.to_path_buf(),
        model,
    }));
    if let Ok(mut m) = LOADED.lock() {
        m.insert(key, bound);
    }
    Ok(bound)
}

impl BoundSupn {
    pub fn model(&self) -> &SupnModel {
        &self.model
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn real_vec(v: &Value, what: &str) -> Result<Vec<f64>, DensityError> {
    match v {
        Value::Real(a) => Ok(a.iter().copied().collect()),
        Value::Complex(_) => Err(DensityError::NonFinite(format!("supn: {what} must be real"))),
    }
}

fn shaped(v: Vec<f64>, shape: &[usize]) -> Result<Value, DensityError> {
    ArrayD::from_shape_vec(IxDyn(shape), v)
        .map(Value::Real)
        .map_err(|e| DensityError::NonFinite(format!("supn: {e}")))
}

impl Distribution for BoundSupn {
    fn name(&self) -> &'static str {
        NAME
    }

    fn summary(&self) -> &'static str {
        Supn.summary()
    }

    fn signatures(&self) -> &'static [Signature] {
        BOUND_SIGNATURES
    }

    fn support(&self) -> Support {
        Support::Real
    }

    /// Parameters keep their shapes: z is not stretched to the image.
    fn broadcasts_params(&self) -> bool {
        false
    }

    fn log_density(&self, x: &Value, params: &[&Value], _level: f64) -> Result<Density, DensityError> {
        let [z] = params else {
            return Err(DensityError::NonFinite(format!(
                "supn: {} parameters, expected the latent z",
                params.len()
            )));
        };
        let (xs, zs) = (real_vec(x, "the image")?, real_vec(z, "z")?);
        let d = self
            .model
            .log_density(&xs, &zs)
            .map_err(|e| DensityError::NonFinite(format!("supn (`{}`): {e}", self.path.display())))?;
        if !d.log_p.is_finite() {
            return Err(DensityError::NonFinite("supn: log density".into()));
        }
        Ok(Density {
            log_p: d.log_p,
            d_x: Some(shaped(d.d_x, x.shape())?),
            d_params: vec![Some(shaped(d.d_z, z.shape())?)],
        })
    }

    fn supn_model(&self) -> Option<&SupnModel> {
        Some(&self.model)
    }

    fn describe(&self, _role: Role, params: &[crate::graph::Ty]) -> Option<String> {
        let file = self.path.file_name()?.to_string_lossy().into_owned();
        Some(format!("supn(\"{file}\", {})", params.first()?))
    }

    /// An exact draw of x | z, shaped like `like`.
    fn sample(
        &self,
        params: &[&Value],
        like: &Value,
        rng: &mut dyn rand::RngCore,
    ) -> Result<Value, DensityError> {
        let [z] = params else {
            return Err(DensityError::NonFinite("supn: expected the latent z".into()));
        };
        let x = self
            .model
            .sample(&real_vec(z, "z")?, rng)
            .map_err(|e| DensityError::NonFinite(format!("supn: {e}")))?;
        shaped(x, like.shape())
    }
}
