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
        let t = self.t as i32;
        let c1 = 1.0 / (1.0 - self.beta1.powi(t));
        let c2 = 1.0 / (1.0 - self.beta2.powi(t));
        for (k, var) in vars {
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            let (Some(m), Some(v)) = (self.m.get(k), self.v.get(k)) else {
                candle_core::bail!("Adam has no moments for `{k}`")
            };
            let m = ((m * self.beta1)? + (g * (1.0 - self.beta1))?)?;
            let v = ((v * self.beta2)? + (g.sqr()? * (1.0 - self.beta2))?)?;
            let upd = ((&m * (self.lr * c1))? / ((&v * c2)?.sqrt()? + self.eps)?)?;
            var.set(&var.as_tensor().sub(&upd)?)?;
            self.m.insert(k.clone(), m);
            self.v.insert(k.clone(), v);
        }
        Ok(())
    }
}
