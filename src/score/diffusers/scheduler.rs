//! `scheduler_config.json` of a diffusers DDPM/DDIM scheduler: the β schedule (`linear`,
//! `scaled_linear`, `squaredcos_cap_v2`, `trained_betas`) and what the network predicts.

use serde::Deserialize;
use serde_json::Value;

use super::config::unsupported;
use super::DiffusersError;
use crate::score::VpSchedule;

/// What the network's output is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prediction {
    /// The noise ε (`epsilon`).
    Epsilon,
    /// `v = √ᾱ ε − √(1−ᾱ) x₀` (`v_prediction`).
    V,
    /// The clean sample x₀ (`sample`).
    Sample,
}

impl Prediction {
    pub fn name(self) -> &'static str {
        match self {
            Prediction::Epsilon => "epsilon",
            Prediction::V => "v_prediction",
            Prediction::Sample => "sample",
        }
    }
}

fn d_steps() -> usize {
    1000
}
fn d_start() -> f64 {
    1e-4
}
fn d_end() -> f64 {
    0.02
}
fn d_linear() -> String {
    "linear".into()
}
fn d_eps() -> String {
    "epsilon".into()
}

#[derive(Debug, Deserialize)]
struct RawScheduler {
    #[serde(default = "d_steps")]
    num_train_timesteps: usize,
    #[serde(default = "d_start")]
    beta_start: f64,
    #[serde(default = "d_end")]
    beta_end: f64,
    #[serde(default = "d_linear")]
    beta_schedule: String,
    #[serde(default)]
    trained_betas: Option<Vec<f64>>,
    #[serde(default = "d_eps")]
    prediction_type: String,
    #[serde(default)]
    rescale_betas_zero_snr: bool,
    #[serde(default)]
    variance_type: Option<String>,
}

/// The diffusion a scheduler config describes.
#[derive(Clone, Debug, PartialEq)]
pub struct SchedulerSpec {
    pub schedule: VpSchedule,
    pub prediction: Prediction,
}

/// `squaredcos_cap_v2` (Nichol & Dhariwal 2021): `ᾱ(s) = cos²((s + 0.008)/1.008 · π/2)`,
/// `β_i = min(1 − ᾱ((i+1)/T)/ᾱ(i/T), 0.999)`, as diffusers' `betas_for_alpha_bar`.
fn cosine_betas(steps: usize) -> Vec<f64> {
    let ab = |s: f64| ((s + 0.008) / 1.008 * std::f64::consts::FRAC_PI_2).cos().powi(2);
    (0..steps)
        .map(|i| {
            let (t1, t2) = (i as f64 / steps as f64, (i + 1) as f64 / steps as f64);
            (1.0 - ab(t2) / ab(t1)).min(0.999)
        })
        .collect()
}

/// `n` values from `a` to `b` inclusive.
fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            if n == 1 {
                a
            } else {
                a + (b - a) * i as f64 / (n - 1) as f64
            }
        })
        .collect()
}

impl SchedulerSpec {
    /// Parse and check a scheduler config (its text); `path` names the file in errors.
    pub fn from_json(path: &str, text: &str) -> Result<Self, DiffusersError> {
        let json: Value = serde_json::from_str(text).map_err(|e| DiffusersError::Config {
            path: path.into(),
            reason: e.to_string(),
        })?;
        if let Some(class) = json.get("_class_name").and_then(Value::as_str) {
            if !matches!(class, "DDPMScheduler" | "DDIMScheduler") {
                return Err(unsupported(
                    path,
                    "_class_name",
                    class,
                    "uq reads the β schedule of `DDPMScheduler` and `DDIMScheduler`",
                ));
            }
        }
        let raw: RawScheduler = serde_json::from_value(json).map_err(|e| DiffusersError::Config {
            path: path.into(),
            reason: e.to_string(),
        })?;
        if raw.rescale_betas_zero_snr {
            return Err(unsupported(
                path,
                "rescale_betas_zero_snr",
                true,
                "zero-terminal-SNR schedules are not implemented",
            ));
        }
        if let Some(v) = raw.variance_type.as_deref().filter(|v| v.starts_with("learned")) {
            return Err(unsupported(
                path,
                "variance_type",
                v,
                "learned variances are not supported",
            ));
        }
        let prediction = match raw.prediction_type.as_str() {
            "epsilon" => Prediction::Epsilon,
            "v_prediction" => Prediction::V,
            "sample" => Prediction::Sample,
            o => {
                return Err(unsupported(
                    path,
                    "prediction_type",
                    o,
                    "`epsilon`, `v_prediction` and `sample` are implemented",
                ))
            }
        };
        let n = raw.num_train_timesteps;
        let betas = match (&raw.trained_betas, raw.beta_schedule.as_str()) {
            (Some(b), _) => b.clone(),
            (None, "linear") => linspace(raw.beta_start, raw.beta_end, n),
            (None, "scaled_linear") => linspace(raw.beta_start.sqrt(), raw.beta_end.sqrt(), n)
                .into_iter()
                .map(|b| b * b)
                .collect(),
            (None, "squaredcos_cap_v2") => cosine_betas(n),
            (None, o) => {
                return Err(unsupported(
                    path,
                    "beta_schedule",
                    o,
                    "`linear`, `scaled_linear`, `squaredcos_cap_v2` and `trained_betas` are implemented",
                ))
            }
        };
        if betas.is_empty() || betas.iter().any(|b| !(b.is_finite() && *b > 0.0 && *b < 1.0)) {
            return Err(DiffusersError::Config {
                path: path.into(),
                reason: format!(
                    "the β schedule must have at least one step, each β in (0, 1) (num_train_timesteps = {n})"
                ),
            });
        }
        Ok(SchedulerSpec {
            schedule: VpSchedule::from_betas(betas),
            prediction,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn schedules() {
        let s = SchedulerSpec::from_json(
            "s.json",
            r#"{"beta_schedule": "squaredcos_cap_v2", "prediction_type": "v_prediction"}"#,
        )
        .unwrap();
        assert_eq!(s.prediction, Prediction::V);
        assert_eq!(s.schedule.steps(), 1000);
        // ᾱ_t of the cosine schedule is the closed form while no β is capped.
        let ab = |x: f64| ((x + 0.008) / 1.008 * std::f64::consts::FRAC_PI_2).cos().powi(2);
        assert!((s.schedule.alpha_bar(499) - ab(0.5) / ab(0.0)).abs() < 1e-12);
        let l = SchedulerSpec::from_json(
            "s.json",
            r#"{"beta_schedule": "scaled_linear", "beta_start": 0.0001, "beta_end": 0.04}"#,
        )
        .unwrap();
        assert!((l.schedule.beta(999) - 0.04).abs() < 1e-15 && (l.schedule.beta(0) - 1e-4).abs() < 1e-15);
        let e = SchedulerSpec::from_json("s.json", r#"{"beta_schedule": "sigmoid"}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("beta_schedule") && e.contains("sigmoid") && e.contains("s.json"),
            "{e}"
        );
        let e = SchedulerSpec::from_json("s.json", r#"{"_class_name": "EulerDiscreteScheduler"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("EulerDiscreteScheduler"), "{e}");
    }
}
