//! `uq bench precision`: the bf16 fast path's error against the f32 fast path, score and input-VJP,
//! over random inputs at several noise levels; one JSON line per level.

use std::path::PathBuf;
use std::process::ExitCode;

use candle_core::DType;
use clap::Args;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::Serialize;

use super::bench::{bench_net, rel2};
use uq::score::fast::{bf16_supported, FastUNet, Isa, Precision};
use uq::score::{load_net, NetKind};

#[derive(Clone, Debug, Args)]
pub struct PrecisionBenchArgs {
    /// A trained score file; without it, the `uq bench score` network with random weights.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Channels per scale of the random network.
    #[arg(long, value_delimiter = ',', default_value = "32,64,128")]
    pub channels: Vec<usize>,
    /// Image side length of the random network (a model uses its own image shape).
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Image channels of the random network.
    #[arg(long, default_value_t = 2)]
    pub image_channels: usize,
    /// Random inputs per level.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Noise levels: σ for a VE network, the timestep t for a VP one.
    #[arg(long, value_delimiter = ',', default_value = "0.01,0.1,1,10")]
    pub levels: Vec<f32>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Serialize)]
struct Line {
    network: String,
    level: f32,
    inputs: usize,
    /// |bf16 − f32|₂ / |f32|₂ over all inputs, and the largest such ratio of one input.
    score_rel_err: f64,
    score_rel_err_max: f64,
    vjp_rel_err: f64,
    vjp_rel_err_max: f64,
}

pub fn run_precision(a: PrecisionBenchArgs) -> anyhow::Result<ExitCode> {
    if !bf16_supported() {
        anyhow::bail!("measuring bf16 needs a CPU with AVX512-BF16, which this one lacks")
    }
    let (net, name, (h, w), ic) = match &a.model {
        Some(p) => {
            let l = load_net(p)?;
            let [h, w] = l.header.image_shape;
            let ic = l.header.image_channels;
            (l.net, p.display().to_string(), (h, w), ic)
        }
        None => {
            let net = bench_net(&a.channels, a.image_channels, a.seed, DType::F32)?;
            let name = format!("random {:?}", a.channels);
            (net, name, (a.size, a.size), a.image_channels)
        }
    };
    let kind = net.config().kind;
    let f32net = FastUNet::with_precision(&net, Isa::detect(), Precision::F32)?;
    let bf16net = FastUNet::with_precision(&net, Isa::detect(), Precision::Bf16)?;
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed + 2);
    let (b, per) = (a.batch.max(1), h * w * ic);
    for &level in &a.levels {
        // Data-like values plus noise at this level (VE: σ; VP: unit-variance noise).
        let noise = match kind {
            NetKind::Ve => level,
            NetKind::Vp => 1.0,
        };
        let x: Vec<f32> = (0..b * per)
            .map(|_| rng.random_range(-1.0f32..1.0) + noise * rng.sample::<f32, _>(StandardNormal))
            .collect();
        let v: Vec<f32> = (0..b * per).map(|_| rng.sample(StandardNormal)).collect();
        let levels = vec![level; b];
        let (y32, g32) = f32net.vjp(&x, &levels, &v, h, w)?;
        let (y16, g16) = bf16net.vjp(&x, &levels, &v, h, w)?;
        let worst = |a: &[f32], r: &[f32]| {
            (0..b)
                .map(|i| rel2(&a[i * per..(i + 1) * per], &r[i * per..(i + 1) * per]))
                .fold(0.0, f64::max)
        };
        let line = Line {
            network: name.clone(),
            level,
            inputs: b,
            score_rel_err: rel2(&y16, &y32),
            score_rel_err_max: worst(&y16, &y32),
            vjp_rel_err: rel2(&g16, &g32),
            vjp_rel_err_max: worst(&g16, &g32),
        };
        println!("{}", serde_json::to_string(&line)?);
    }
    Ok(ExitCode::SUCCESS)
}
