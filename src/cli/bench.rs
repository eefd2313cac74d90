//! `uq bench score`: median forward and input-VJP times of the fast path and of the candle reference
//! on a seeded benchmark U-Net, in one process so the ratio is honest; prints one JSON line.

use std::process::ExitCode;
use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var};
use clap::{Args, Subcommand};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use uq::score::fast::{amx_enabled, bf16_supported, FastUNet, Isa, Precision};
use uq::score::{seeded_builder, NetKind, UNet, UNetConfig};

#[derive(Clone, Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub what: BenchWhat,
}

#[derive(Clone, Debug, Subcommand)]
pub enum BenchWhat {
    /// Time the score network (fast path vs candle reference) with random weights.
    Score(ScoreBenchArgs),
    /// The bf16 fast path's error against f32 (score and input-VJP) at several noise levels.
    Precision(super::bench_precision::PrecisionBenchArgs),
    /// Time one training step of a U-Net (fast path, optionally vs candle's autograd).
    Train(super::bench_train::TrainBenchArgs),
    /// Gradient evaluations per second of a model's log posterior on its data.
    Posterior(super::bench_posterior::PosteriorBenchArgs),
}

#[derive(Clone, Debug, Args)]
pub struct ScoreBenchArgs {
    /// Channels per scale, top to bottom.
    #[arg(long, value_delimiter = ',', default_value = "32,64,128")]
    pub channels: Vec<usize>,
    /// Image side length.
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Images per call (chains).
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Image channels (2: complex images as real, imaginary); the σ-map adds one more input channel.
    #[arg(long, default_value_t = 2)]
    pub image_channels: usize,
    /// Timed repetitions per measurement (at least 10).
    #[arg(long, default_value_t = 10)]
    pub reps: usize,
    /// Untimed calls before each measurement.
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// Skip the candle reference (its VJP takes seconds at batch 8).
    #[arg(long)]
    pub no_reference: bool,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also compare both paths with an f64 candle reference, per image (printed to stderr).
    #[arg(long)]
    pub check: bool,
    /// Run the fast path's convolutions in bf16 (AVX512-BF16 or AMX tiles, f32 accumulation); without
    /// it the precision is `UQ_SCORE_PRECISION` (f32 or bf16), by default bf16 where AMX tiles run
    /// this network and f32 elsewhere.
    #[arg(long)]
    pub bf16: bool,
}

#[derive(Serialize)]
struct Report {
    channels: Vec<usize>,
    size: usize,
    batch: usize,
    image_channels: usize,
    isa: String,
    precision: String,
    /// Whether the bf16 convolutions that fit tiles ran on AMX.
    amx: bool,
    threads: usize,
    reps: usize,
    gflop_fwd: f64,
    fwd_ms: f64,
    vjp_ms: f64,
    gflops_fwd: f64,
    /// The VJP counted as forward + input gradient, 2 × the forward's FLOPs.
    gflops_vjp: f64,
    ref_fwd_ms: Option<f64>,
    ref_vjp_ms: Option<f64>,
    speedup_fwd: Option<f64>,
    speedup_vjp: Option<f64>,
    /// |fast − candle|₂ / |candle|₂ of the output and of the VJP.
    fwd_rel_err: Option<f64>,
    vjp_rel_err: Option<f64>,
}

pub(super) type Timed<'a> = Box<dyn FnMut() -> anyhow::Result<()> + 'a>;

/// Median wall time in ms of each function over `reps` rounds, after `warmup` untimed rounds; a round
/// calls every function once, so load changes on this shared machine hit all of them alike.
pub(super) fn medians_ms(warmup: usize, reps: usize, fs: &mut [Timed]) -> anyhow::Result<Vec<f64>> {
    for _ in 0..warmup {
        for f in fs.iter_mut() {
            f()?;
        }
    }
    let mut times = vec![Vec::with_capacity(reps); fs.len()];
    for _ in 0..reps {
        for (f, t) in fs.iter_mut().zip(times.iter_mut()) {
            let start = Instant::now();
            f()?;
            t.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    Ok(times
        .into_iter()
        .map(|mut v| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        })
        .collect())
}

/// `|a − b|₂ / |b|₂`.
pub(super) fn rel2(a: &[f32], b: &[f32]) -> f64 {
    let d: f64 = a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum();
    let n: f64 = b.iter().map(|y| f64::from(*y).powi(2)).sum();
    (d / n.max(1e-300)).sqrt()
}

/// The benchmark network: a VE U-Net with seeded weights and a random (not zero) output conv.
pub fn bench_net(channels: &[usize], image_channels: usize, seed: u64, dtype: DType) -> anyhow::Result<UNet> {
    let cfg = UNetConfig {
        channels: channels.to_vec(),
        image_channels,
        kind: NetKind::Ve,
    };
    let (vb, vars) = seeded_builder(seed);
    let net = UNet::new(&cfg, vb.set_dtype(dtype))?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let guard = vars
        .lock()
        .map_err(|_| anyhow::anyhow!("variable store poisoned"))?;
    for (_, var) in guard.iter().filter(|(n, _)| n.starts_with("out.")) {
        let vals: Vec<f32> = (0..var.elem_count())
            .map(|_| rng.random_range(-0.1..0.1))
            .collect();
        var.set(&Tensor::from_vec(vals, var.shape(), &Device::Cpu)?.to_dtype(dtype)?)?;
    }
    Ok(net)
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    match args.what {
        BenchWhat::Score(a) => run_score(a),
        BenchWhat::Precision(a) => super::bench_precision::run_precision(a),
        BenchWhat::Train(a) => super::bench_train::run_train(a),
        BenchWhat::Posterior(a) => Ok(match super::bench_posterior::run(&a)? {
            Some(()) => ExitCode::SUCCESS,
            None => ExitCode::FAILURE,
        }),
    }
}

fn run_score(a: ScoreBenchArgs) -> anyhow::Result<ExitCode> {
    let reps = a.reps.max(10);
    let (b, s, ic) = (a.batch.max(1), a.size, a.image_channels);
    let net = bench_net(&a.channels, ic, a.seed, DType::F32)?;
    let precision = if a.bf16 {
        if !bf16_supported() {
            anyhow::bail!("--bf16 needs a CPU with AVX512-BF16, which this one lacks")
        }
        Precision::Bf16
    } else {
        Precision::from_env(&a.channels)
    };
    let fast = FastUNet::with_precision(&net, Isa::detect(), precision)?;
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed + 1);
    let n = b * s * s * ic;
    let x: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
    let v: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
    let levels: Vec<f32> = (0..b).map(|i| 0.05 + 0.1 * i as f32).collect();

    let flops = fast.flops(b, s, s);
    let mut r = Report {
        channels: a.channels.clone(),
        size: s,
        batch: b,
        image_channels: ic,
        isa: format!("{:?}", fast.isa()),
        precision: format!("{:?}", fast.precision()).to_lowercase(),
        amx: fast.precision() == Precision::Bf16 && amx_enabled(),
        threads: rayon::current_num_threads(),
        reps,
        gflop_fwd: flops / 1e9,
        fwd_ms: 0.0,
        vjp_ms: 0.0,
        gflops_fwd: 0.0,
        gflops_vjp: 0.0,
        ref_fwd_ms: None,
        ref_vjp_ms: None,
        speedup_fwd: None,
        speedup_vjp: None,
        fwd_rel_err: None,
        vjp_rel_err: None,
    };
    if a.no_reference {
        let t = medians_ms(
            a.warmup,
            reps,
            &mut [
                Box::new(|| fast.forward(&x, &levels, s, s).map(drop).map_err(Into::into)),
                Box::new(|| fast.vjp(&x, &levels, &v, s, s).map(drop).map_err(Into::into)),
            ],
        )?;
        r.fwd_ms = t[0];
        r.vjp_ms = t[1];
    } else {
        let dev = Device::Cpu;
        let nchw = |d: &[f32]| -> candle_core::Result<Tensor> {
            Tensor::from_vec(d.to_vec(), (b, s, s, ic), &dev)?
                .permute((0, 3, 1, 2))?
                .contiguous()
        };
        let nhwc = |t: &Tensor| -> candle_core::Result<Vec<f32>> {
            t.permute((0, 2, 3, 1))?.flatten_all()?.to_vec1()
        };
        let (xt, vt) = (nchw(&x)?, nchw(&v)?);
        let lt = Tensor::new(levels.as_slice(), &dev)?;
        let reference_vjp = || -> anyhow::Result<Tensor> {
            let xv = Var::from_tensor(&xt)?;
            let grads = net
                .forward(xv.as_tensor(), &lt)?
                .mul(&vt)?
                .sum_all()?
                .backward()?;
            grads
                .get(xv.as_tensor())
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("no input gradient"))
        };
        let t = medians_ms(
            a.warmup,
            reps,
            &mut [
                Box::new(|| fast.forward(&x, &levels, s, s).map(drop).map_err(Into::into)),
                Box::new(|| fast.vjp(&x, &levels, &v, s, s).map(drop).map_err(Into::into)),
                Box::new(|| net.forward(&xt, &lt).map(drop).map_err(Into::into)),
                Box::new(|| reference_vjp().map(drop)),
            ],
        )?;
        let (ref_fwd, ref_vjp) = (t[2], t[3]);
        r.fwd_ms = t[0];
        r.vjp_ms = t[1];
        let (y, g) = fast.vjp(&x, &levels, &v, s, s)?;
        let (y32, g32) = (nhwc(&net.forward(&xt, &lt)?)?, nhwc(&reference_vjp()?)?);
        r.fwd_rel_err = Some(rel2(&y, &y32));
        r.vjp_rel_err = Some(rel2(&g, &g32));
        if a.check {
            let net64 = bench_net(&a.channels, ic, a.seed, DType::F64)?;
            let (x64, v64) = (xt.to_dtype(DType::F64)?, vt.to_dtype(DType::F64)?);
            let l64 = lt.to_dtype(DType::F64)?;
            let xv = Var::from_tensor(&x64)?;
            let grads = net64
                .forward(xv.as_tensor(), &l64)?
                .mul(&v64)?
                .sum_all()?
                .backward()?;
            let g64 = grads
                .get(xv.as_tensor())
                .ok_or_else(|| anyhow::anyhow!("no gradient"))?;
            let y64 = net64.forward(&x64, &l64)?;
            let f = |t: &Tensor| -> candle_core::Result<Vec<f32>> { nhwc(&t.to_dtype(DType::F32)?) };
            let (y64, g64) = (f(&y64)?, f(g64)?);
            let per = n / b;
            for (i, level) in levels.iter().enumerate() {
                let r = i * per..(i + 1) * per;
                eprintln!(
                    "image {i} level {}: fwd fast/f64 {:.2e} candle32/f64 {:.2e}; vjp fast/f64 {:.2e} candle32/f64 {:.2e}",
                    level,
                    rel2(&y[r.clone()], &y64[r.clone()]),
                    rel2(&y32[r.clone()], &y64[r.clone()]),
                    rel2(&g[r.clone()], &g64[r.clone()]),
                    rel2(&g32[r.clone()], &g64[r.clone()])
                );
            }
        }
        r.ref_fwd_ms = Some(ref_fwd);
        r.ref_vjp_ms = Some(ref_vjp);
        r.speedup_fwd = Some(ref_fwd / r.fwd_ms);
        r.speedup_vjp = Some(ref_vjp / r.vjp_ms);
    }
    r.gflops_fwd = flops / r.fwd_ms / 1e6;
    r.gflops_vjp = 2.0 * flops / r.vjp_ms / 1e6;
    println!("{}", serde_json::to_string(&r)?);
    Ok(ExitCode::SUCCESS)
}
