//! A SUPN model in f64: the decoder's mean and factor at a latent, `log p(x | z)` with its gradients in
//! x and (through candle autograd) in z, and exact draws of x | z.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarBuilder;
use rand::RngCore;
use rand_distr::{Distribution as _, StandardNormal};

use super::factor::{causal_offsets, Factor};
use super::file::{load, SupnError};
use super::net::{SupnConfig, SupnNets};

fn eval(e: candle_core::Error) -> SupnError {
    SupnError::Eval(e.to_string())
}

/// `log p(x | z)` and its gradients.
#[derive(Clone, Debug, PartialEq)]
pub struct SupnDensity {
    pub log_p: f64,
    pub d_x: Vec<f64>,
    pub d_z: Vec<f64>,
}

/// A loaded SUPN prior `x | z ~ N(μ(z), (L(z) L(z)ᵀ)⁻¹)`, evaluated in f64.
pub struct SupnModel {
    cfg: SupnConfig,
    nets: SupnNets,
}

impl SupnModel {
    /// Read a file written by `uq train --kind supn`.
    pub fn load(path: &Path) -> Result<Self, SupnError> {
        let (cfg, nets) = load(path, DType::F64)?;
        Ok(SupnModel { cfg, nets })
    }

    /// A model with the given tensors (any float type; e.g. a training store's variables).
    pub fn from_tensors(cfg: &SupnConfig, tensors: &BTreeMap<String, Tensor>) -> Result<Self, SupnError> {
        let vars = tensors
            .iter()
            .map(|(k, t)| t.to_dtype(DType::F64).map(|t| (k.clone(), t)))
            .collect::<candle_core::Result<HashMap<_, _>>>()
            .map_err(eval)?;
        let vb = VarBuilder::from_tensors(vars, DType::F64, &Device::Cpu);
        let nets = SupnNets::new(cfg, vb).map_err(eval)?;
        Ok(SupnModel {
            cfg: cfg.clone(),
            nets,
        })
    }

    pub fn config(&self) -> &SupnConfig {
        &self.cfg
    }

    fn latent_tensor(&self, z: &[f64]) -> Result<Tensor, SupnError> {
        if z.len() != self.cfg.latent {
            return Err(SupnError::Eval(format!(
                "z has {} values, the model's latent {}",
                z.len(),
                self.cfg.latent
            )));
        }
        Tensor::from_slice(z, (1, z.len()), &Device::Cpu).map_err(eval)
    }

    /// The factor from the precision planes `[1, 1 + K, H, W]`.
    fn factor(&self, prec: &Tensor) -> Result<Factor, SupnError> {
        let n = self.cfg.pixels();
        let flat: Vec<f64> = prec.flatten_all().and_then(|t| t.to_vec1()).map_err(eval)?;
        let mut planes = flat.chunks(n).map(<[f64]>::to_vec);
        let log_diag = planes.next().unwrap_or_default();
        Ok(Factor {
            h: self.cfg.height,
            w: self.cfg.width,
            offsets: causal_offsets(self.cfg.radius),
            log_diag,
            off: planes.collect(),
        })
    }

    /// μ(z) (raster order) and L(z).
    pub fn decode(&self, z: &[f64]) -> Result<(Vec<f64>, Factor), SupnError> {
        let zt = self.latent_tensor(z)?;
        let (mean, prec) = self.nets.decoder.forward(&zt).map_err(eval)?;
        let mean = mean.flatten_all().and_then(|t| t.to_vec1()).map_err(eval)?;
        Ok((mean, self.factor(&prec)?))
    }

    /// `log N(x; μ(z), Λ(z)⁻¹)` with `∂/∂x` and `∂/∂z` (the decoder's VJP by candle autograd).
    pub fn log_density(&self, x: &[f64], z: &[f64]) -> Result<SupnDensity, SupnError> {
        self.log_density_decoded(x, z).map(|(d, _, _)| d)
    }

    /// [`SupnModel::log_density`] with the decoder's μ(z) and L(z) of the same pass (a sampler that
    /// moves z keeps them for the next step in x instead of decoding again).
    pub fn log_density_decoded(
        &self,
        x: &[f64],
        z: &[f64],
    ) -> Result<(SupnDensity, Vec<f64>, Factor), SupnError> {
        let n = self.cfg.pixels();
        if x.len() != n {
            return Err(SupnError::Eval(format!(
                "x has {} values, the model's image {n}",
                x.len()
            )));
        }
        let mut d_x = Vec::new();
        let mut log_p = 0.0;
        let (d_z, mean, factor) = self.decoder_vjp(z, |mean, factor| {
            let (lp, g) = factor.log_density(x, mean);
            log_p = lp;
            d_x = g.d_x;
            (g.d_mean, g.d_log_diag, g.d_off)
        })?;
        Ok((SupnDensity { log_p, d_x, d_z }, mean, factor))
    }

    /// One decoder pass at z and the gradient in z of a function of its outputs, given that
    /// function's gradients by `seeds(μ, L)`: `(∂/∂μ, ∂/∂ log L_ii, ∂/∂ off-diagonal planes)`, pulled
    /// back through the decoder by candle's autograd. Returns `(∂/∂z, μ, L)`.
    pub fn decoder_vjp(
        &self,
        z: &[f64],
        seeds: impl FnOnce(&[f64], &Factor) -> (Vec<f64>, Vec<f64>, Vec<Vec<f64>>),
    ) -> Result<(Vec<f64>, Vec<f64>, Factor), SupnError> {
        let zv = Var::from_tensor(&self.latent_tensor(z)?).map_err(eval)?;
        let (mean_t, prec_t) = self.nets.decoder.forward(zv.as_tensor()).map_err(eval)?;
        let mean: Vec<f64> = mean_t.flatten_all().and_then(|t| t.to_vec1()).map_err(eval)?;
        let factor = self.factor(&prec_t)?;
        let (d_mean, mut seed, d_off) = seeds(&mean, &factor);
        d_off.iter().for_each(|p| seed.extend_from_slice(p));
        let dev = Device::Cpu;
        let seed_prec = Tensor::from_vec(seed, prec_t.shape(), &dev).map_err(eval)?;
        let seed_mean = Tensor::from_vec(d_mean, mean_t.shape(), &dev).map_err(eval)?;
        let total = (mean_t.mul(&seed_mean).and_then(|t| t.sum_all()))
            .and_then(|a| {
                prec_t
                    .mul(&seed_prec)
                    .and_then(|t| t.sum_all())
                    .and_then(|b| a + b)
            })
            .map_err(eval)?;
        let grads = total.backward().map_err(eval)?;
        let d_z = match grads.get(zv.as_tensor()) {
            Some(t) => t.flatten_all().and_then(|t| t.to_vec1()).map_err(eval)?,
            None => vec![0.0; z.len()],
        };
        Ok((d_z, mean, factor))
    }

    /// An exact draw of x | z: `μ(z) + L(z)⁻ᵀ ε`.
    pub fn sample(&self, z: &[f64], rng: &mut dyn RngCore) -> Result<Vec<f64>, SupnError> {
        let (mean, factor) = self.decode(z)?;
        let eps: Vec<f64> = (0..mean.len()).map(|_| StandardNormal.sample(rng)).collect();
        Ok(factor.draw(&mean, &eps))
    }

    /// The encoder's mean of q(z | x) (e.g. to start MAP or sampling from a reconstruction).
    pub fn encode(&self, x: &[f64]) -> Result<Vec<f64>, SupnError> {
        let (h, w) = (self.cfg.height, self.cfg.width);
        let xt = Tensor::from_slice(x, (1, 1, h, w), &Device::Cpu).map_err(eval)?;
        let (mean, _) = self.nets.encoder.forward(&xt).map_err(eval)?;
        mean.flatten_all().and_then(|t| t.to_vec1()).map_err(eval)
    }
}
