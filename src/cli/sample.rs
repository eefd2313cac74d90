//! `uq sample`: check, bind data, plan a sampler, run all chains, write the run folder atomically.

use super::{parse_binding, report, EXIT_MODEL_ERROR};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use uq::check::{InferValue, Model};
use uq::diagnostics::Diagnostic;
use uq::infer::{plan, MhMode, Plan, SamplerKind};
use uq::session::{self, OptionValue, RunProgress, SampleOptions};
use uq::source::SourceMap;

#[derive(Args, Debug)]
pub struct SampleArgs {
    /// The model file (`.uq`).
    pub model: PathBuf,
    /// Bind data NAME to a `.npy` file (overrides the declared default); repeatable.
    #[arg(long = "data", value_name = "NAME=PATH", value_parser = parse_binding)]
    pub data: Vec<(String, PathBuf)>,
    /// Output folder [default: uq-out/<model name>/]; an earlier run there is replaced only once this one completes.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Number of chains (run as one batch).
    #[arg(long, default_value_t = 4)]
    pub chains: usize,
    /// Draws kept per chain [HMC/MALA 1000; annealed HMC: per round, at σ_min, 1; DPS: rounds of one
    /// independent sample per chain, 1].
    #[arg(long)]
    pub draws: Option<usize>,
    /// Warm-up iterations per chain, with step-size (and mass) adaptation [HMC/MALA 1000; annealed
    /// HMC: per round, at σ_min, 0].
    #[arg(long)]
    pub warmup: Option<usize>,
    /// Annealed HMC: independent annealing runs per chain (all batched together), each followed by
    /// the warm-up and draws at σ_min; a chain's draws are its rounds' draws in turn [8].
    #[arg(long)]
    pub rounds: Option<usize>,
    /// Seed of every random stream; the same seed gives bit-identical output.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// auto | mala | hmc | annealed-hmc | dps (overrides `infer` in the model).
    #[arg(long, default_value = "auto")]
    pub sampler: String,
    /// Leapfrog steps per transition [HMC: NUTS (adaptive path length, tree depth ≤ 10) when every
    /// prior has a density, else 10 static steps; annealed HMC: 4 per level].
    #[arg(long)]
    pub steps: Option<usize>,
    /// Initial step size (HMC/MALA, then adapted) or annealed HMC's ε in α_i = ε (σ_i/σ_0)^1.5
    /// [Stan's step-size heuristic].
    #[arg(long)]
    pub step_size: Option<f64>,
    /// Target acceptance for step-size adaptation [default: 0.8 HMC, 0.574 MALA].
    #[arg(long)]
    pub target_accept: Option<f64>,
    /// Metropolis correction: exact | score | off [default: exact when every prior has a density].
    #[arg(long)]
    pub mh: Option<String>,
    /// Simpson intervals of the score-only correction.
    #[arg(long, default_value_t = 4)]
    pub simpson: usize,
    /// Annealed HMC: geometric factor γ of the σ schedule [0.995].
    #[arg(long)]
    pub gamma: Option<f64>,
    /// Annealed HMC: first level σ_0 [min(σ_max of the prior, data range)].
    #[arg(long)]
    pub sigma0: Option<f64>,
    /// Annealed HMC: last level σ_min [the prior's σ_min].
    #[arg(long)]
    pub sigma_min: Option<f64>,
    /// Warm start (CCDF): `adjoint` (the scaled zero-filled/adjoint reconstruction) or a `.npy`
    /// estimate with the latent's shape; DPS then runs only the last fraction t0 of its schedule,
    /// annealed HMC starts at σ = σ_min (σ_0/σ_min)^t0.
    #[arg(long)]
    pub init: Option<String>,
    /// Fraction of the schedule a warm start runs (CCDF's t0 = N′/N) [0.2].
    #[arg(long)]
    pub t0: Option<f64>,
    /// DPS step size ζ [1].
    #[arg(long)]
    pub zeta: Option<f64>,
    /// DPS reverse steps (fewer than T = a strided schedule) [1000].
    #[arg(long)]
    pub dps_steps: Option<usize>,
    /// DPS reverse-step noise: `large` (β_t, guided-diffusion's fixed-variance choice) or `small`
    /// (β̃_t, the forward posterior's) [large].
    #[arg(long)]
    pub dps_variance: Option<String>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Merge `infer NAME(key = value)` from the model under the CLI flags (flags win).
fn options(args: &SampleArgs, infer: &[(String, InferValue)]) -> Result<SampleOptions, String> {
    let mut o = SampleOptions {
        chains: args.chains,
        seed: args.seed,
        simpson: args.simpson.max(1),
        ..Default::default()
    };
    for (k, v) in infer {
        let v = match v {
            InferValue::Num(x) => OptionValue::Num(*x),
            InferValue::Str(s) => OptionValue::Str(s),
        };
        session::set_option(&mut o, k, v)?;
    }
    let flags = [
        ("draws", args.draws.map(|d| d as f64)),
        ("warmup", args.warmup.map(|d| d as f64)),
        ("rounds", args.rounds.map(|d| d as f64)),
        ("steps", args.steps.map(|d| d as f64)),
        ("step_size", args.step_size),
        ("target_accept", args.target_accept),
        ("zeta", args.zeta),
        ("dps_steps", args.dps_steps.map(|d| d as f64)),
        ("gamma", args.gamma),
        ("sigma0", args.sigma0),
        ("sigma_min", args.sigma_min),
        ("t0", args.t0),
    ];
    for (k, v) in flags {
        if let Some(x) = v {
            session::set_option(&mut o, k, OptionValue::Num(x))
                .map_err(|m| format!("--{}: {m}", k.replace('_', "-")))?;
        }
    }
    if let Some(i) = &args.init {
        session::set_option(&mut o, "init", OptionValue::Str(i))?;
    }
    if let Some(v) = &args.dps_variance {
        session::set_option(&mut o, "dps_variance", OptionValue::Str(v))
            .map_err(|m| format!("--dps-variance: {m}"))?;
    }
    if let Some(m) = &args.mh {
        o.mh = Some(parse_mh(m, o.simpson)?);
    }
    if o.chains == 0 {
        return Err("--chains must be at least 1".into());
    }
    Ok(o)
}

fn parse_mh(s: &str, points: usize) -> Result<MhMode, String> {
    match s {
        "exact" => Ok(MhMode::Exact),
        "score" | "score-only" => Ok(MhMode::ScoreOnly {
            points: points.max(1),
        }),
        "off" => Ok(MhMode::Off),
        _ => Err(format!("`{s}` is not a Metropolis mode (exact, score, off)")),
    }
}

/// The sampler `requested` (`auto`, or a name) resolves to for this model, with `infer` honoured.
fn resolve_request(model: &Model, requested: &str) -> Result<(Option<SamplerKind>, String), String> {
    match SamplerKind::parse(requested)? {
        Some(k) => Ok((Some(k), "--sampler".to_string())),
        None => Ok(match &model.infer {
            Some(i) => (
                SamplerKind::parse(&i.sampler.name).ok().flatten(),
                format!("`infer {}` in the model", i.sampler.name),
            ),
            None => (None, String::new()),
        }),
    }
}

fn plan_diag(model: &Model, m: String) -> Diagnostic {
    let span = model
        .infer
        .as_ref()
        .map(|i| i.sampler.span)
        .or(model.latents.first().map(|l| l.span))
        .unwrap_or_default();
    Diagnostic::error("E0706", span, format!("impossible sampler choice: {m}"))
        .with_help("remove the `infer` line or `--sampler` to let uq choose")
}

/// Build the posterior and plan (for `uq check`'s summary line).
pub fn plan_model(
    model: &Model,
    data: Vec<uq::graph::Value>,
    requested: &str,
) -> Result<Plan, Vec<Diagnostic>> {
    let built = session::build(model, data, false)?;
    let (req, why) = resolve_request(model, requested).map_err(|m| vec![plan_diag(model, m)])?;
    plan(&built.plan_input, req, &why).map_err(|m| vec![plan_diag(model, m)])
}

pub fn run(args: SampleArgs) -> anyhow::Result<ExitCode> {
    let mut sources = SourceMap::new();
    let Some((model, data)) = super::load_model(&args.model, &args.data, &mut sources) else {
        return Ok(ExitCode::from(EXIT_MODEL_ERROR));
    };
    let infer_args: Vec<(String, InferValue)> = model
        .infer
        .iter()
        .flat_map(|i| i.args.iter().map(|(k, v)| (k.name.clone(), v.clone())))
        .collect();
    let opts = match options(&args, &infer_args) {
        Ok(o) => o,
        Err(m) => {
            let span = model.infer.as_ref().map(|i| i.sampler.span).unwrap_or_default();
            report(&[Diagnostic::error("E0705", span, m)], &sources);
            return Ok(ExitCode::from(EXIT_MODEL_ERROR));
        }
    };
    let built = match session::build(&model, data, opts.init.is_some()) {
        Ok(b) => b,
        Err(diags) => {
            report(&diags, &sources);
            return Ok(ExitCode::from(EXIT_MODEL_ERROR));
        }
    };
    let (requested, why) = match resolve_request(&model, &args.sampler) {
        Ok(r) => r,
        Err(m) => {
            eprintln!("error: {m}; expected one of auto, mala, hmc, annealed-hmc, dps");
            return Ok(ExitCode::from(2));
        }
    };
    let plan = match plan(&built.plan_input, requested, &why) {
        Ok(p) => p,
        Err(m) => {
            report(&[plan_diag(&model, m)], &sources);
            return Ok(ExitCode::from(EXIT_MODEL_ERROR));
        }
    };
    if !args.quiet {
        eprintln!("sampler: {} — {}", plan.sampler, plan.reason);
    }
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // A second Ctrl-C while stopping falls through to the default (immediate exit).
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("\ninterrupted: stopping and writing the draws so far (Ctrl-C again to abort)");
        });
    }
    let bar = progress_bar(args.quiet);
    let progress = |p: RunProgress<'_>| show_progress(&bar, p);
    let mut result = match session::run(&built, &plan, &opts, &progress, &stop) {
        Ok(r) => r,
        Err(e) => {
            bar.abandon();
            eprintln!("error: sampling failed: {e:#}");
            return Ok(ExitCode::from(EXIT_MODEL_ERROR));
        }
    };
    bar.finish_and_clear();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("uq-out").join(&model.name));
    let (dir, table) = session::write_run(&model, &built, &mut result, &out)?;
    let s = &result.summary;
    println!("{table}");
    println!(
        "{} chains × {} draws{} in {:.1} s; {} gradient and {} score evaluations; divergences {:?}",
        s.chains,
        s.draws,
        if s.partial { " (partial: interrupted)" } else { "" },
        s.wall_seconds,
        s.grad_evals,
        s.score_evals,
        s.divergences
    );
    println!("wrote {}", dir.display());
    for w in &s.warnings {
        eprintln!("warning: {}", w.message);
    }
    Ok(if s.partial {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

/// The sampling progress bar (on stderr; indicatif hides it when stderr is not a terminal).
pub fn progress_bar(hidden: bool) -> ProgressBar {
    let bar = if hidden {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(1)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {per_sec} ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Show one progress report of any sampler on `bar`.
pub fn show_progress(bar: &ProgressBar, p: RunProgress<'_>) {
    match p {
        // `uq sample` prints its plan itself; the REPL prints this line before its bar.
        RunProgress::Planned(_) => {}
        RunProgress::Chains(p) => {
            bar.set_length(p.total as u64);
            bar.set_position(p.iteration as u64);
            bar.set_message(format!(
                "{:?} acc {:.2} ε {:.3e} div {}",
                p.phase, p.accept_rate, p.step_size, p.divergences
            ));
        }
        RunProgress::Annealing {
            level,
            levels,
            sigma,
            accept_rate,
        } => {
            bar.set_length(levels as u64);
            bar.set_position(level as u64);
            bar.set_message(format!("annealing σ {sigma:.3e} acc {accept_rate:.2}"));
        }
        RunProgress::Dps(p) => {
            bar.set_length(p.total as u64);
            bar.set_position(p.step as u64);
            bar.set_message(format!("t {} ‖y−A(x̂₀)‖ {:.3e}", p.t, p.residual));
        }
    }
}
