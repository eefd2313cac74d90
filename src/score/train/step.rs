//! The training state machine: seeded batches, one DSM/ε-MSE Adam step, held-out loss, checkpoints.

use std::collections::{BTreeMap, HashMap};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::adam::Adam;
use super::checkpoint::{Checkpoint, HistoryEntry};
use super::data::ImageSet;
use super::phase::PhaseAug;
use super::{SigmaDist, TrainConfig, TrainError};
use crate::score::file::header_metadata;
use crate::score::header::HeaderKind;
use crate::score::init::{seeded_builder, VarStore};
use crate::score::schedule::VpSchedule;
use crate::score::unet::{NetKind, UNet, UNetConfig};

mod batch;
use batch::{channels_last, loss_and_grad};

/// Held-out noise draws per held-out image.
const HELDOUT_DRAWS: usize = 4;

/// What one step reports.
#[derive(Clone, Copy, Debug)]
pub struct StepInfo {
    pub step: usize,
    pub loss: f64,
}

/// A training run in progress.
pub struct Trainer {
    pub cfg: TrainConfig,
    pub data: ImageSet,
    pub net: UNet,
    vars: VarStore,
    pub adam: Adam,
    rng: ChaCha8Rng,
    pub step: usize,
    pub history: Vec<HistoryEntry>,
    schedule: VpSchedule,
    since_report: (f64, usize),
    /// Train on the fast path where it applies (default); `false` uses candle's autograd.
    pub fast: bool,
    /// Moving average of the weights (with `cfg.ema > 0`).
    ema: BTreeMap<String, Tensor>,
}

impl Trainer {
    /// A fresh run: weights drawn from ChaCha8(seed), zero Adam moments.
    pub fn new(cfg: TrainConfig, data: ImageSet) -> Result<Self, TrainError> {
        validate(&cfg)?;
        let want = match cfg.phase {
            PhaseAug::None => cfg.image_channels,
            PhaseAug::Smooth => data.channels,
        };
        if data.channels != want || data.size != cfg.size {
            return Err(TrainError::Config(format!(
                "the training images have {} channel(s) of {}×{}; this run needs {want} of {}×{} \
                 ({} network{})",
                data.channels,
                data.size,
                data.size,
                cfg.size,
                cfg.size,
                if cfg.image_channels == 2 {
                    "complex"
                } else {
                    "real"
                },
                if cfg.phase == PhaseAug::Smooth {
                    " trained with a random phase"
                } else {
                    ""
                }
            )));
        }
        let (vb, vars) = seeded_builder(cfg.seed);
        let ucfg = UNetConfig {
            channels: cfg.channels.clone(),
            image_channels: cfg.image_channels,
            kind: cfg.kind,
        };
        let net = UNet::new(&ucfg, vb)?;
        let adam = {
            let v = vars
                .lock()
                .map_err(|_| TrainError::Config("variables poisoned".into()))?;
            Adam::new(&v, cfg.lr)?
        };
        let schedule = VpSchedule::linear(cfg.beta_start, cfg.beta_end, cfg.timesteps);
        let rng = ChaCha8Rng::seed_from_u64(cfg.seed.wrapping_add(1));
        Ok(Trainer {
            cfg,
            data,
            net,
            vars,
            adam,
            rng,
            step: 0,
            history: Vec::new(),
            schedule,
            since_report: (0.0, 0),
            fast: true,
            ema: BTreeMap::new(),
        })
    }

    /// Continue from a checkpoint (its configuration must match except for `steps`).
    pub fn resume(cfg: TrainConfig, data: ImageSet, ck: Checkpoint, path: &str) -> Result<Self, TrainError> {
        let bad = |reason: String| TrainError::Checkpoint {
            path: path.to_string(),
            reason,
        };
        if !cfg.same_run(&ck.config) {
            return Err(bad(format!(
                "it was written for a different run: {:?}; this run is {:?}",
                ck.config, cfg
            )));
        }
        let mut t = Trainer::new(cfg, data)?;
        t.set_weights(&ck.weights).map_err(bad)?;
        {
            let vars = t.vars.lock().map_err(|_| bad("variables poisoned".into()))?;
            if ck.adam_m.len() != vars.len() || ck.adam_v.len() != vars.len() {
                return Err(bad("Adam moments do not match the network".into()));
            }
        }
        if t.cfg.ema > 0.0 {
            let vars = t.vars.lock().map_err(|_| bad("variables poisoned".into()))?;
            if ck.ema.len() != vars.len() || vars.keys().any(|k| !ck.ema.contains_key(k)) {
                return Err(bad(
                    "the moving average of the weights does not match the network".into(),
                ));
            }
        }
        t.ema = ck.ema;
        t.adam.m = ck.adam_m;
        t.adam.v = ck.adam_v;
        t.adam.t = ck.step as u64;
        t.step = ck.step;
        t.rng = ck.rng;
        t.history = ck.history;
        Ok(t)
    }

    /// Start from the weights of a model file of the same architecture (`uq train --init`): Adam's
    /// moments, the step and the moving average start afresh (the average's warm-up copies these).
    pub fn init_from(&mut self, tensors: &BTreeMap<String, Tensor>, path: &str) -> Result<(), TrainError> {
        self.set_weights(tensors).map_err(|reason| TrainError::Init {
            path: path.to_string(),
            reason,
        })
    }

    /// Every variable from the tensor of its name (the reason when one is missing or misshapen).
    fn set_weights(&self, tensors: &BTreeMap<String, Tensor>) -> Result<(), String> {
        let vars = self.vars.lock().map_err(|_| "variables poisoned".to_string())?;
        for (k, var) in vars.iter() {
            let w = tensors.get(k).ok_or_else(|| {
                format!("tensor `{k}` is missing: not a network of this architecture (--kind, --channels)")
            })?;
            if w.dims() != var.dims() {
                return Err(format!(
                    "tensor `{k}` has shape {:?} where this network's is {:?} (--channels, --phase)",
                    w.dims(),
                    var.dims()
                ));
            }
            var.set(w).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// One Adam step on a fresh batch; returns its loss.
    pub fn train_step(&mut self) -> Result<StepInfo, TrainError> {
        let mut rng = self.rng.clone();
        let idx: Vec<usize> = (0..self.cfg.batch)
            .map(|_| rng.random_range(0..self.data.train.len()))
            .collect();
        let imgs: Vec<&Vec<f32>> = idx.iter().filter_map(|&i| self.data.train.get(i)).collect();
        let batch = self.make_batch(&mut rng, &imgs, true);
        self.adam.lr = self.cfg.lr_at(self.step);
        let l = match self.fast_net() {
            Some(fast) => {
                let (l, grads) = self.fast_loss(&fast, &batch)?;
                let vars = self
                    .vars
                    .lock()
                    .map_err(|_| TrainError::Config("variables poisoned".into()))?;
                self.adam.step_named(&vars, &grads)?;
                l
            }
            None => {
                let loss = self.loss(&self.net, &batch)?;
                let grads = loss.backward()?;
                let vars = self
                    .vars
                    .lock()
                    .map_err(|_| TrainError::Config("variables poisoned".into()))?;
                self.adam.step(&vars, &grads)?;
                f64::from(loss.to_scalar::<f32>()?)
            }
        };
        self.rng = rng;
        self.step += 1;
        self.update_ema()?;
        self.since_report.0 += l;
        self.since_report.1 += 1;
        Ok(StepInfo {
            step: self.step,
            loss: l,
        })
    }

    /// Loss on the held-out images with fixed noise (same draws every call, so values are comparable).
    pub fn heldout_loss(&self) -> Result<f64, TrainError> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.cfg.seed ^ 0x00DE_1D0F);
        let all: Vec<&Vec<f32>> = (0..HELDOUT_DRAWS)
            .flat_map(|_| self.data.heldout.iter())
            .collect();
        let (mut sum, mut n) = (0.0, 0usize);
        // Measured on the weights the model file holds.
        let ema_net = if self.cfg.ema > 0.0 && !self.ema.is_empty() {
            let vb =
                VarBuilder::from_tensors(self.ema.clone().into_iter().collect(), DType::F32, &Device::Cpu);
            Some(UNet::new(self.net.config(), vb)?)
        } else {
            None
        };
        let net = ema_net.as_ref().unwrap_or(&self.net);
        let fast = self.fast_of(net);
        for chunk in all.chunks(self.cfg.batch.max(1)) {
            let b = self.make_batch(&mut rng, chunk, false);
            let l = match &fast {
                Some(f) => {
                    let (bs, s, ic) = (b.levels.len(), self.cfg.size, self.cfg.image_channels);
                    let out = f.forward(&channels_last(&self.noisy(&b), bs, ic), &b.levels, s, s)?;
                    loss_and_grad(self.cfg.kind, &b.levels, &channels_last(&b.noise, bs, ic), &out).0
                }
                None => f64::from(self.loss(net, &b)?.to_scalar::<f32>()?),
            };
            sum += l * chunk.len() as f64;
            n += chunk.len();
        }
        Ok(sum / n.max(1) as f64)
    }

    /// Record the mean training loss since the last report and the held-out loss.
    pub fn report(&mut self, seconds: f64) -> Result<HistoryEntry, TrainError> {
        let heldout = self.heldout_loss()?;
        let train = self.since_report.0 / self.since_report.1.max(1) as f64;
        self.since_report = (0.0, 0);
        let e = HistoryEntry {
            step: self.step,
            train,
            heldout,
            seconds,
        };
        self.history.push(e);
        Ok(e)
    }

    /// `ema ← d·ema + (1 − d)·w` with `d = min(cfg.ema, (1 + step)/(10 + step))` (the usual warm-up,
    /// so the average forgets the initialisation early on); the first call copies the weights.
    fn update_ema(&mut self) -> Result<(), TrainError> {
        if self.cfg.ema <= 0.0 {
            return Ok(());
        }
        let s = self.step as f64;
        let d = self.cfg.ema.min((1.0 + s) / (10.0 + s));
        let vars = self
            .vars
            .lock()
            .map_err(|_| TrainError::Config("variables poisoned".into()))?;
        for (k, v) in vars.iter() {
            // Detached: an average built from the variable would record the op and keep every
            // earlier average alive through the autograd graph (memory growing each step).
            let w = v.as_tensor().detach();
            let e = match self.ema.get(k) {
                Some(e) => ((e * d)? + (&w * (1.0 - d))?)?.detach(),
                None => w.copy()?.detach(),
            };
            self.ema.insert(k.clone(), e);
        }
        Ok(())
    }

    /// The weights a model file holds: the moving average with `--ema`, else the current weights.
    pub fn model_weights(&self) -> Result<BTreeMap<String, Tensor>, TrainError> {
        if self.cfg.ema > 0.0 && !self.ema.is_empty() {
            return Ok(self.ema.clone());
        }
        self.weights()
    }

    /// Current weights by name.
    pub fn weights(&self) -> Result<BTreeMap<String, Tensor>, TrainError> {
        let vars = self
            .vars
            .lock()
            .map_err(|_| TrainError::Config("variables poisoned".into()))?;
        Ok(vars
            .iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
            .collect())
    }

    /// A snapshot for `--resume`.
    pub fn checkpoint(&self) -> Result<Checkpoint, TrainError> {
        Ok(Checkpoint {
            config: self.cfg.clone(),
            step: self.step,
            weights: self.weights()?,
            adam_m: self.adam.m.clone(),
            adam_v: self.adam.v.clone(),
            ema: self.ema.clone(),
            rng: self.rng.clone(),
            history: self.history.clone(),
        })
    }

    /// The model file's `__metadata__`: the uq header plus training provenance (`extra`).
    pub fn model_metadata(&self, extra: &BTreeMap<String, String>) -> HashMap<String, String> {
        let kind = match self.cfg.kind {
            NetKind::Ve => {
                let (sigma_min, sigma_max) = self.cfg.sigma_range();
                HeaderKind::Ve { sigma_min, sigma_max }
            }
            NetKind::Vp => HeaderKind::Vp {
                beta_start: self.cfg.beta_start,
                beta_end: self.cfg.beta_end,
                timesteps: self.cfg.timesteps,
            },
        };
        let ucfg = self.net.config();
        let mut extra = extra.clone();
        extra.insert("train_steps".into(), self.step.to_string());
        extra.insert("train_seed".into(), self.cfg.seed.to_string());
        extra.insert("train_batch".into(), self.cfg.batch.to_string());
        extra.insert("train_lr".into(), format!("{:e}", self.cfg.lr));
        extra.insert("train_sigma_dist".into(), format!("{:?}", self.cfg.sigma));
        if self.cfg.phase != PhaseAug::None {
            extra.insert(
                "train_phase".into(),
                format!("{:?}", self.cfg.phase).to_lowercase(),
            );
        }
        if let Some(h) = self.history.last() {
            extra.insert("train_loss".into(), format!("{:.6e}", h.train));
            extra.insert("heldout_loss".into(), format!("{:.6e}", h.heldout));
            extra.insert("train_seconds".into(), format!("{:.0}", h.seconds));
        }
        header_metadata(ucfg, &kind, [self.cfg.size, self.cfg.size], 1.0, &extra)
    }
}

fn validate(cfg: &TrainConfig) -> Result<(), TrainError> {
    let bad = |m: String| Err(TrainError::Config(m));
    if cfg.channels.is_empty() || cfg.channels.contains(&0) {
        return bad("--channels needs one or more positive channel counts".into());
    }
    let m = 1usize << (cfg.channels.len() - 1);
    if cfg.size == 0 || !cfg.size.is_multiple_of(m) {
        return bad(format!("--size {} must be a positive multiple of {m}", cfg.size));
    }
    if cfg.batch == 0 {
        return bad("--batch must be at least 1".into());
    }
    if !(cfg.lr.is_finite() && cfg.lr > 0.0) {
        return bad(format!("--lr {} must be positive", cfg.lr));
    }
    if !(1..=2).contains(&cfg.image_channels) {
        return bad("image channels must be 1 or 2".into());
    }
    if let Some(m) = cfg.augment_params.invalid() {
        return bad(m);
    }
    if cfg.phase == PhaseAug::Smooth && cfg.image_channels != 2 {
        return bad("a random phase makes complex images: the network needs 2 image channels".into());
    }
    match cfg.sigma {
        SigmaDist::Normal { s } if !(s.is_finite() && s > 0.0) => {
            bad(format!("σ scale {s} must be positive"))
        }
        SigmaDist::LogUniform { min, max } if !(min > 0.0 && max > min && max.is_finite()) => {
            bad(format!("σ range [{min}, {max}] must satisfy 0 < min < max"))
        }
        _ if cfg.kind == NetKind::Vp
            && !(cfg.timesteps >= 1 && 0.0 < cfg.beta_start && cfg.beta_end < 1.0) =>
        {
            bad("the β schedule must satisfy 0 < β < 1 with at least one step".into())
        }
        _ => Ok(()),
    }
}
