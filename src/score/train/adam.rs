//! Adam (Kingma & Ba) over named candle variables, with its moments exposed for checkpoints.

use std::collections::BTreeMap;

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};

/// Adam state: first and second moments per variable name, and the step count.
pub struct Adam {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub t: u64,
    pub m: BTreeMap<String, Tensor>,
    pub v: BTreeMap<String, Tensor>,
}

impl Adam {
    /// Zero moments for every variable.
    pub fn new(vars: &BTreeMap<String, Var>, lr: f64) -> Result<Self> {
        let mut m = BTreeMap::new();
        let mut v = BTreeMap::new();
        for (k, var) in vars {
            m.insert(k.clone(), var.as_tensor().zeros_like()?);
            v.insert(k.clone(), var.as_tensor().zeros_like()?);
        }
        Ok(Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            t: 0,
            m,
            v,
        })
    }

    /// One update of every variable that has a gradient.
    pub fn step(&mut self, vars: &BTreeMap<String, Var>, grads: &GradStore) -> Result<()> {
        self.t += 1;
        for (k, var) in vars {
            if let Some(g) = grads.get(var.as_tensor()) {
                self.update(k, var, g)?;
            }
        }
        Ok(())
    }

    /// As `step`, with gradients by variable name (row-major values in each variable's shape).
    pub fn step_named(
        &mut self,
        vars: &BTreeMap<String, Var>,
        grads: &BTreeMap<String, Vec<f32>>,
    ) -> Result<()> {
        self.t += 1;
        for (k, var) in vars {
            if let Some(g) = grads.get(k) {
                let g = Tensor::from_slice(g, var.shape(), var.device())?.to_dtype(var.dtype())?;
                self.update(k, var, &g)?;
            }
        }
        Ok(())
    }

    fn update(&mut self, k: &str, var: &Var, g: &Tensor) -> Result<()> {
        let t = self.t as i32;
        let c1 = 1.0 / (1.0 - self.beta1.powi(t));
        let c2 = 1.0 / (1.0 - self.beta2.powi(t));
        let (Some(m), Some(v)) = (self.m.get(k), self.v.get(k)) else {
            candle_core::bail!("Adam has no moments for `{k}`")
        };
        let m = ((m * self.beta1)? + (g * (1.0 - self.beta1))?)?;
        let v = ((v * self.beta2)? + (g.sqr()? * (1.0 - self.beta2))?)?;
        let upd = ((&m * (self.lr * c1))? / ((&v * c2)?.sqrt()? + self.eps)?)?;
        var.set(&var.as_tensor().detach().sub(&upd)?)?;
        self.m.insert(k.to_string(), m.detach());
        self.v.insert(k.to_string(), v.detach());
        Ok(())
    }
}
