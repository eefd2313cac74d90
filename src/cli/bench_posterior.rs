//! `uq bench posterior`: gradient evaluations per second of a model's log posterior (likelihood
//! through the graph plus the priors), single-chain and batched, one JSON line.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use ndarray::Array2;
use serde::Serialize;
use uq::infer::Posterior;

#[derive(Clone, Debug, Args)]
pub struct PosteriorBenchArgs {
    /// The model file.
    pub model: PathBuf,
    /// Bind data NAME to a file (as `uq sample --data`); repeatable.
    #[arg(long = "data", value_name = "NAME=PATH", value_parser = super::parse_binding)]
    pub data: Vec<(String, PathBuf)>,
    /// Points per call (chains evaluated as one batch).
    #[arg(long, default_value_t = 1)]
    pub chains: usize,
    /// Timed rounds (the median round is reported); a round is `--calls` evaluations.
    #[arg(long, default_value_t = 15)]
    pub rounds: usize,
    /// Evaluations per round.
    #[arg(long, default_value_t = 200)]
    pub calls: usize,
    /// The point's scale: chain c, coordinate k (unconstrained) is `scale · sin(0.37 k + c)`.
    #[arg(long, default_value_t = 0.1)]
    pub scale: f64,
}

#[derive(Serialize)]
struct Report {
    model: String,
    dim: usize,
    chains: usize,
    threads: usize,
    rounds: usize,
    calls: usize,
    /// The log posterior (likelihood + prior, with constants) at chain 0's point: equal in any
    /// other implementation of the same model.
    log_density: Option<f64>,
    /// Median time of one evaluation of all `chains` points (likelihood, gradient and prior score).
    us_per_call: f64,
    /// Gradient evaluations (points) per second: `chains / us_per_call`.
    grad_evals_per_s: f64,
    peak_memory_bytes: Option<u64>,
}

/// Run the benchmark; `None` when the model or its data could not be loaded (already reported).
pub fn run(args: &PosteriorBenchArgs) -> anyhow::Result<Option<()>> {
    if args.chains == 0 || args.rounds == 0 || args.calls == 0 {
        anyhow::bail!("--chains, --rounds and --calls must be at least 1");
    }
    let mut sources = uq::source::SourceMap::new();
    let Some((model, data)) = super::load_model(&args.model, &args.data, &mut sources) else {
        return Ok(None);
    };
    let built = match uq::session::build(&model, data, false) {
        Ok(b) => b,
        Err(diags) => {
            super::report(&diags, &sources);
            return Ok(None);
        }
    };
    let post = &built.posterior;
    // The point the JAX comparison (benches/jax_posterior.py) also evaluates.
    let xs = Array2::from_shape_fn((args.chains, post.dim()), |(c, k)| {
        args.scale * (0.37 * k as f64 + c as f64).sin()
    });
    let log_density = post
        .evaluate(xs.view(), 0.0)
        .into_iter()
        .next()
        .and_then(Result::ok)
        .map(|e| e.log_lik + e.log_prior.unwrap_or(f64::NAN));
    let call = || -> anyhow::Result<()> {
        for r in post.evaluate(xs.view(), 0.0) {
            r.map_err(|e| anyhow::anyhow!("the posterior cannot be evaluated at the benchmark point: {e}"))?;
        }
        Ok(())
    };
    call()?;
    let mut times = Vec::with_capacity(args.rounds);
    for _ in 0..args.rounds {
        let start = Instant::now();
        for _ in 0..args.calls {
            call()?;
        }
        times.push(start.elapsed().as_secs_f64() * 1e6 / args.calls as f64);
    }
    times.sort_by(f64::total_cmp);
    let us = times[times.len() / 2];
    let report = Report {
        model: args.model.display().to_string(),
        dim: post.dim(),
        chains: args.chains,
        threads: rayon::current_num_threads(),
        rounds: args.rounds,
        calls: args.calls,
        log_density,
        us_per_call: us,
        grad_evals_per_s: args.chains as f64 / us * 1e6,
        peak_memory_bytes: uq::output::peak_memory_bytes(),
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(Some(()))
}
