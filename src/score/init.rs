//! Reproducible weight initialisation (candle's CPU RNG cannot be seeded) and a shape-recording builder.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use candle_core::{DType, Device, Result, Shape, Tensor, Var};
use candle_nn::init::{FanInOut, NormalOrUniform};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// Trainable variables by name (sorted, so iteration order is stable).
pub type VarStore = Arc<Mutex<BTreeMap<String, Var>>>;

/// A `SimpleBackend` that creates each requested variable from a seeded ChaCha8 stream.
struct SeededBackend {
    rng: Mutex<ChaCha8Rng>,
    vars: VarStore,
}

fn draw(rng: &mut ChaCha8Rng, init: Init, shape: &Shape) -> Vec<f32> {
    let n = shape.elem_count();
    let uniform = |rng: &mut ChaCha8Rng, lo: f64, up: f64| -> Vec<f32> {
        (0..n).map(|_| rng.random_range(lo..=up) as f32).collect()
    };
    let normal = |rng: &mut ChaCha8Rng, mean: f64, sd: f64| -> Vec<f32> {
        (0..n)
            .map(|_| (mean + sd * rng.sample::<f64, _>(StandardNormal)) as f32)
            .collect()
    };
    match init {
        Init::Const(v) => vec![v as f32; n],
        Init::Uniform { lo, up } => uniform(rng, lo, up),
        Init::Randn { mean, stdev } => normal(rng, mean, stdev),
        Init::Kaiming {
            dist,
            fan,
            non_linearity,
        } => {
            let f = match fan {
                FanInOut::FanIn | FanInOut::FanOut => fan.for_shape(shape).max(1),
            };
            let std = non_linearity.gain() / (f as f64).sqrt();
            match dist {
                NormalOrUniform::Uniform => {
                    let b = 3f64.sqrt() * std;
                    uniform(rng, -b, b)
                }
                NormalOrUniform::Normal => normal(rng, 0.0, std),
            }
        }
    }
}

impl SimpleBackend for SeededBackend {
    fn get(&self, s: Shape, name: &str, h: Init, dtype: DType, dev: &Device) -> Result<Tensor> {
        let mut vars = self
            .vars
            .lock()
            .map_err(|_| candle_core::Error::Msg("variable store poisoned".into()))?;
        if let Some(v) = vars.get(name) {
            if v.shape() != &s {
                candle_core::bail!("shape mismatch on {name}: {s:?} vs {:?}", v.shape())
            }
            return Ok(v.as_tensor().clone());
        }
        let data = {
            let mut rng = self
                .rng
                .lock()
                .map_err(|_| candle_core::Error::Msg("rng poisoned".into()))?;
            draw(&mut rng, h, &s)
        };
        let var = Var::from_tensor(&Tensor::from_vec(data, s, dev)?.to_dtype(dtype)?)?;
        let t = var.as_tensor().clone();
        vars.insert(name.to_string(), var);
        Ok(t)
    }
    fn get_unchecked(&self, name: &str, _: DType, _: &Device) -> Result<Tensor> {
        candle_core::bail!("`{name}`: a seeded builder needs a shape")
    }
    fn contains_tensor(&self, name: &str) -> bool {
        self.vars.lock().map(|v| v.contains_key(name)).unwrap_or(false)
    }
}

/// A builder whose variables are drawn from ChaCha8(`seed`) in construction order and collected in
/// the returned store (for optimisers and saving).
pub fn seeded_builder(seed: u64) -> (VarBuilder<'static>, VarStore) {
    let vars: VarStore = Arc::new(Mutex::new(BTreeMap::new()));
    let backend = SeededBackend {
        rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
        vars: vars.clone(),
    };
    let vb = VarBuilder::from_backend(Box::new(backend), DType::F32, Device::Cpu);
    (vb, vars)
}

/// A backend that records every requested tensor's shape and returns zeros.
struct Recorder(Mutex<BTreeMap<String, Vec<usize>>>);

impl SimpleBackend for Recorder {
    fn get(&self, s: Shape, name: &str, _: Init, dtype: DType, dev: &Device) -> Result<Tensor> {
        if let Ok(mut m) = self.0.lock() {
            m.insert(name.to_string(), s.dims().to_vec());
        }
        Tensor::zeros(s, dtype, dev)
    }
    fn get_unchecked(&self, name: &str, _: DType, _: &Device) -> Result<Tensor> {
        candle_core::bail!("`{name}`: the recorder needs a shape")
    }
    fn contains_tensor(&self, _: &str) -> bool {
        true
    }
}

/// Names and shapes of every tensor that `build` requests from its builder.
pub fn expected_tensors<T>(
    build: impl FnOnce(VarBuilder<'static>) -> Result<T>,
) -> Result<BTreeMap<String, Vec<usize>>> {
    let rec = Arc::new(Recorder(Mutex::new(BTreeMap::new())));
    struct Shared(Arc<Recorder>);
    impl SimpleBackend for Shared {
        fn get(&self, s: Shape, n: &str, h: Init, d: DType, dev: &Device) -> Result<Tensor> {
            self.0.get(s, n, h, d, dev)
        }
        fn get_unchecked(&self, n: &str, d: DType, dev: &Device) -> Result<Tensor> {
            self.0.get_unchecked(n, d, dev)
        }
        fn contains_tensor(&self, n: &str) -> bool {
            self.0.contains_tensor(n)
        }
    }
    let vb = VarBuilder::from_backend(Box::new(Shared(rec.clone())), DType::F32, Device::Cpu);
    build(vb)?;
    let map = rec
        .0
        .lock()
        .map_err(|_| candle_core::Error::Msg("recorder poisoned".into()))?
        .clone();
    Ok(map)
}
