//! Two-stage SUPN training (Campbell's talk; Duff et al.) in candle autograd, with checkpoints.
//!
//! Stage 1 (steps `0..stage1`): a VAE with a fixed diagonal precision, `x | z ~ N(μ(z), σ₀² I)`; the
//! encoder, the decoder's trunk and its mean head learn by the ELBO. Stage 2 (`stage1..steps`): the
//! encoder, trunk and mean are frozen and the precision branch learns by the full SUPN likelihood,
//! starting from `L = I / σ₀` (stage 1's precision). Losses are negative ELBOs in nats per pixel.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use candle_core::{DType, Device, Result as CResult, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use super::file::{save, SupnError};
use super::loss::{diagonal_log_likelihood, kl_standard, supn_log_likelihood};
use super::net::{SupnConfig, SupnNets};
use crate::score::train::Adam;
use crate::score::{read_safetensors, seeded_builder, write_safetensors};

/// What a SUPN training run does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupnTrainConfig {
    pub net: SupnConfig,
    /// Total steps; stage 2 runs from `stage1` to `steps`.
    pub steps: usize,
    pub stage1: usize,
    pub batch: usize,
    pub lr: f64,
    pub seed: u64,
    /// Stage 1's fixed standard deviation σ₀.
    pub sigma0: f64,
}

/// One progress report (losses in nats per pixel).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupnHistory {
    pub step: usize,
    pub train: f64,
    pub heldout: f64,
    pub seconds: f64,
}

fn terr(e: candle_core::Error) -> SupnError {
    SupnError::Eval(e.to_string())
}

/// A SUPN training run: variables, optimiser, RNG, history and the images (flat `H·W` f32 each).
pub struct SupnTrainer {
    pub cfg: SupnTrainConfig,
    pub step: usize,
    pub history: Vec<SupnHistory>,
    vars: BTreeMap<String, Var>,
    nets: SupnNets,
    adam: Adam,
    rng: ChaCha8Rng,
    train: Vec<Vec<f32>>,
    heldout: Vec<Vec<f32>>,
}

impl SupnTrainer {
    /// A fresh run (weights from ChaCha8(seed)).
    pub fn new(
        cfg: SupnTrainConfig,
        train: Vec<Vec<f32>>,
        heldout: Vec<Vec<f32>>,
    ) -> Result<Self, SupnError> {
        cfg.net.validate().map_err(SupnError::Eval)?;
        let n = cfg.net.pixels();
        if train.is_empty() || heldout.is_empty() || train.iter().chain(&heldout).any(|x| x.len() != n) {
            return Err(SupnError::Eval(format!(
                "need training and held-out images of {}×{} pixels",
                cfg.net.height, cfg.net.width
            )));
        }
        if cfg.batch == 0 || cfg.stage1 > cfg.steps || cfg.sigma0 <= 0.0 || cfg.lr <= 0.0 {
            return Err(SupnError::Eval(
                "batch and lr must be positive, σ₀ > 0, and stage 1 no longer than the run".into(),
            ));
        }
        let (vb, store) = seeded_builder(cfg.seed);
        let nets = SupnNets::new(&cfg.net, vb).map_err(terr)?;
        let vars = store
            .lock()
            .map_err(|_| SupnError::Eval("variable store poisoned".into()))?
            .clone();
        let adam = Adam::new(&vars, cfg.lr).map_err(terr)?;
        let rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5_u64.rotate_left(60));
        Ok(SupnTrainer {
            cfg,
            step: 0,
            history: Vec::new(),
            vars,
            nets,
            adam,
            rng,
            train,
            heldout,
        })
    }

    /// The current weights by name.
    pub fn weights(&self) -> BTreeMap<String, Tensor> {
        self.vars
            .iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().detach()))
            .collect()
    }

    fn stage(&self) -> u8 {
        if self.step < self.cfg.stage1 {
            1
        } else {
            2
        }
    }

    /// Images `idx` as `[B, 1, H, W]`, each flipped left-right with probability ½ when `flip`.
    fn images(&mut self, set: &[Vec<f32>], idx: &[usize], flip: bool) -> CResult<Tensor> {
        let (h, w) = (self.cfg.net.height, self.cfg.net.width);
        let mut data = Vec::with_capacity(idx.len() * h * w);
        for &i in idx {
            let img = &set[i];
            let f = flip && self.rng.random_bool(0.5);
            for r in 0..h {
                for c in 0..w {
                    data.push(img[r * w + if f { w - 1 - c } else { c }]);
                }
            }
        }
        Tensor::from_vec(data, (idx.len(), 1, h, w), &Device::Cpu)
    }

    fn normals(rng: &mut ChaCha8Rng, b: usize, m: usize) -> CResult<Tensor> {
        let v: Vec<f32> = (0..b * m).map(|_| rng.sample::<f32, _>(StandardNormal)).collect();
        Tensor::from_vec(v, (b, m), &Device::Cpu)
    }

    /// The objective to minimise (stage's gradient path) and the negative ELBO per pixel.
    fn objective(&self, x: &Tensor, eps: &Tensor, stage: u8) -> CResult<(Tensor, f64)> {
        let n = self.cfg.net.pixels() as f64;
        let (enc, dec) = (&self.nets.encoder, &self.nets.decoder);
        let (m, lv) = enc.forward(x)?;
        let (m, lv) = if stage == 1 {
            (m, lv)
        } else {
            (m.detach(), lv.detach())
        };
        let z = (&m + (lv.clone() * 0.5)?.exp()?.mul(eps)?)?;
        let kl = kl_standard(&m, &lv)?;
        let ll = if stage == 1 {
            let mean = dec.mean_head(&dec.features(&z)?)?;
            diagonal_log_likelihood(x, &mean, self.cfg.sigma0)?
        } else {
            let f = dec.features(&z)?.detach();
            let mean = dec.mean_head(&f)?.detach();
            supn_log_likelihood(x, &mean, &dec.precision_head(&f)?, self.cfg.net.radius)?
        };
        let loss = ((kl - ll)?.mean_all()? / n)?;
        let value = loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
        Ok((loss, value))
    }

    /// Stage 2 starts from stage 1's precision: zero off-diagonals, `log L_ii = −log σ₀`.
    fn start_stage2(&mut self) -> CResult<()> {
        for (name, var) in &self.vars {
            if name == "dec.prec1.weight" {
                var.set(&var.as_tensor().zeros_like()?)?;
            } else if name == "dec.prec1.bias" {
                let k = var.as_tensor().dim(0)?;
                let mut b = vec![0f32; k];
                b[0] = -(self.cfg.sigma0.ln()) as f32;
                var.set(&Tensor::from_vec(b, k, &Device::Cpu)?)?;
            }
        }
        Ok(())
    }

    /// One optimiser step; returns the training loss (nats per pixel).
    pub fn train_step(&mut self) -> Result<f64, SupnError> {
        if self.step == self.cfg.stage1 {
            self.start_stage2().map_err(terr)?;
        }
        let stage = self.stage();
        let idx: Vec<usize> = (0..self.cfg.batch)
            .map(|_| self.rng.random_range(0..self.train.len()))
            .collect();
        let train = std::mem::take(&mut self.train);
        let x = self.images(&train, &idx, true);
        self.train = train;
        let x = x.map_err(terr)?;
        let eps = Self::normals(&mut self.rng, idx.len(), self.cfg.net.latent).map_err(terr)?;
        let (loss, value) = self.objective(&x, &eps, stage).map_err(terr)?;
        if !value.is_finite() {
            return Err(SupnError::Eval(format!(
                "the loss is {value} at step {}",
                self.step
            )));
        }
        let grads = loss.backward().map_err(terr)?;
        self.adam.step(&self.vars, &grads).map_err(terr)?;
        self.step += 1;
        Ok(value)
    }

    /// The negative ELBO per pixel on (up to 64) held-out images, with fixed latent noise.
    pub fn heldout_loss(&mut self) -> Result<f64, SupnError> {
        let n = self.heldout.len().min(64);
        let idx: Vec<usize> = (0..n).collect();
        let held = std::mem::take(&mut self.heldout);
        let x = self.images(&held, &idx, false);
        self.heldout = held;
        let x = x.map_err(terr)?;
        let mut rng = ChaCha8Rng::seed_from_u64(0x4E1D);
        let eps = Self::normals(&mut rng, n, self.cfg.net.latent).map_err(terr)?;
        // The stage the next step trains (stage 2 once stage 1 is done).
        let stage = if self.step < self.cfg.stage1 || self.cfg.stage1 == self.cfg.steps {
            1
        } else {
            2
        };
        self.objective(&x, &eps, stage).map(|(_, v)| v).map_err(terr)
    }

    /// Write the model file (weights as f32 plus the recipe in the metadata).
    pub fn export(&self, path: &Path, extra: &[(&str, String)]) -> Result<(), SupnError> {
        let mut meta = vec![
            ("train_steps", self.step.to_string()),
            ("train_stage1_steps", self.cfg.stage1.to_string()),
            ("train_sigma0", self.cfg.sigma0.to_string()),
            ("train_batch", self.cfg.batch.to_string()),
            ("train_lr", self.cfg.lr.to_string()),
        ];
        if let Some(h) = self.history.last() {
            meta.push(("train_heldout_nats_per_pixel", format!("{:.4}", h.heldout)));
        }
        let mut all: Vec<(&str, String)> = meta;
        all.extend(extra.iter().cloned());
        save(path, &self.cfg.net, &self.weights(), &all)
    }

    /// Write a checkpoint (weights, Adam moments, step, RNG, history, config) atomically.
    pub fn write_checkpoint(&self, path: &Path) -> Result<(), SupnError> {
        let mut tensors = BTreeMap::new();
        for (prefix, map) in [
            ("w.", &self.weights()),
            ("m.", &self.adam.m),
            ("v.", &self.adam.v),
        ] {
            for (k, t) in map {
                tensors.insert(format!("{prefix}{k}"), t.clone());
            }
        }
        let json = |v: serde_json::Result<String>| v.map_err(|e| SupnError::Eval(e.to_string()));
        let meta = HashMap::from([
            ("uq_checkpoint".to_string(), "supn1".to_string()),
            ("step".to_string(), self.step.to_string()),
            ("adam_t".to_string(), self.adam.t.to_string()),
            ("config".to_string(), json(serde_json::to_string(&self.cfg))?),
            ("history".to_string(), json(serde_json::to_string(&self.history))?),
            (
                "rng_seed".to_string(),
                json(serde_json::to_string(&self.rng.get_seed()))?,
            ),
            ("rng_stream".to_string(), self.rng.get_stream().to_string()),
            ("rng_word_pos".to_string(), self.rng.get_word_pos().to_string()),
        ]);
        write_safetensors(path, &tensors, meta)?;
        Ok(())
    }

    /// Continue from a checkpoint written by [`SupnTrainer::write_checkpoint`]; `steps` (the total
    /// to reach) may extend the run, and while it is still in stage 1 `stage1` may move the switch
    /// to stage 2 (not before the checkpoint's step). Up to the end of stage 1 (the precision branch
    /// has not trained yet) `radius` may change the stencil: the branch's last layer is rebuilt, so
    /// one stage-1 run serves a SUPN factor and its diagonal baseline.
    pub fn resume(
        path: &Path,
        steps: usize,
        stage1: Option<usize>,
        radius: Option<usize>,
        train: Vec<Vec<f32>>,
        heldout: Vec<Vec<f32>>,
    ) -> Result<Self, SupnError> {
        let p = path.display().to_string();
        let bad = |reason: String| SupnError::Metadata {
            path: p.clone(),
            reason: format!("not a SUPN checkpoint: {reason}"),
        };
        let (tensors, meta) = read_safetensors(path)?;
        let get = |k: &str| {
            meta.get(k)
                .ok_or_else(|| bad(format!("the key `{k}` is missing")))
        };
        if get("uq_checkpoint")? != "supn1" {
            return Err(bad("unsupported checkpoint version".into()));
        }
        let mut cfg: SupnTrainConfig =
            serde_json::from_str(get("config")?).map_err(|e| bad(format!("config: {e}")))?;
        let step: usize = get("step")?.parse().map_err(|_| bad("bad `step`".into()))?;
        if let Some(s) = stage1.filter(|_| step < cfg.stage1) {
            cfg.stage1 = s.max(step);
        }
        cfg.steps = steps.max(cfg.stage1);
        let rebuilt = radius.filter(|&r| r != cfg.net.radius);
        if let Some(r) = rebuilt {
            if step > cfg.stage1 {
                return Err(SupnError::Eval(format!(
                    "the checkpoint is at step {step}, after stage 1 ended at {}: its {}×{} precision factor has trained, so the stencil cannot change now (resume without --stencil, or from a checkpoint taken at the end of stage 1)",
                    cfg.stage1,
                    2 * cfg.net.radius + 1,
                    2 * cfg.net.radius + 1
                )));
            }
            cfg.net.radius = r;
        }
        let mut t = Self::new(cfg, train, heldout)?;
        t.step = step;
        t.adam.t = get("adam_t")?.parse().map_err(|_| bad("bad `adam_t`".into()))?;
        t.history = serde_json::from_str(get("history")?).map_err(|e| bad(format!("history: {e}")))?;
        let seed: [u8; 32] =
            serde_json::from_str(get("rng_seed")?).map_err(|e| bad(format!("rng_seed: {e}")))?;
        t.rng = ChaCha8Rng::from_seed(seed);
        t.rng.set_stream(
            get("rng_stream")?
                .parse()
                .map_err(|_| bad("bad `rng_stream`".into()))?,
        );
        t.rng.set_word_pos(
            get("rng_word_pos")?
                .parse()
                .map_err(|_| bad("bad `rng_word_pos`".into()))?,
        );
        for (name, var) in &t.vars {
            if rebuilt.is_some() && name.starts_with("dec.prec1.") {
                continue; // a new shape; start_stage2 sets it at the switch
            }
            let find = |prefix: &str| {
                tensors
                    .get(&format!("{prefix}{name}"))
                    .filter(|x| x.dims() == var.dims())
                    .ok_or_else(|| bad(format!("`{prefix}{name}` is missing or has the wrong shape")))
            };
            var.set(find("w.")?).map_err(terr)?;
            t.adam.m.insert(name.clone(), find("m.")?.clone());
            t.adam.v.insert(name.clone(), find("v.")?.clone());
        }
        Ok(t)
    }
}
