//! The calibration loop: per repetition a truth, simulated data, the planned sampler run on them as
//! `uq sample` would, and the rank statistics; stops cleanly between (or inside) repetitions. The
//! batched path (several repetitions through one network) is in `batch.rs`.

use super::exact::{Comparison, Reference};
use super::ranks::{rep_stats, RepStats};
use super::truth::{draw_truth, simulate_data, TruthError};
use crate::check::{Model, PriorSpec};
use crate::graph::Value;
use crate::infer::Diagnostics;
use crate::infer::GraphPosterior;
use crate::session::{
    self, Given, Origin, PrepareError, Prepared, Raw, Request, RunProgress, RunResult, SessionError,
};
use ndarray::{s, Array1, Array2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::sync::atomic::{AtomicBool, Ordering};

/// What a calibration needs: the checked model, its bound data (the observed tensors give shapes;
/// their values are replaced), the sampler request, and the truths of a score latent if any.
pub struct Spec<'a> {
    pub model: &'a Model,
    pub data: Vec<Value>,
    pub request: Request,
    pub reps: usize,
    /// Rows of flat values of the (one) score latent, one per repetition.
    pub truths: Option<Array2<f64>>,
    /// `--reference gmm`: every repetition's draws compared with the exact mixture posterior.
    pub reference: Option<&'a Reference>,
    /// With a network prior, repetitions run together (their network evaluations in one batch),
    /// at most this many at a time; 1: one after another.
    pub batch_reps: usize,
}

impl<'a> Spec<'a> {
    /// `reps` repetitions of `model` on `data` (shapes) with the sampler `request`: truths from the
    /// prior, no reference, one repetition at a time.
    pub fn new(model: &'a Model, data: Vec<Value>, request: Request, reps: usize) -> Spec<'a> {
        Spec {
            model,
            data,
            request,
            reps,
            truths: None,
            reference: None,
            batch_reps: 1,
        }
    }
}

/// Why a calibration stopped early.
#[derive(Debug, thiserror::Error)]
pub enum CalibrateError {
    #[error("{0}")]
    Truth(#[from] TruthError),
    #[error("repetition {rep}: {message}")]
    Rep { rep: usize, message: String },
    #[error("{0}")]
    Setup(String),
}

/// One repetition's outcome besides its ranks.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct RepRun {
    /// Its index (a batched calibration stopped early may keep repetitions after a failed one).
    #[serde(default)]
    pub rep: usize,
    pub seed: u64,
    pub wall_seconds: f64,
    pub divergences: u64,
    pub warnings: usize,
    /// Against the exact posterior (`--reference gmm`).
    pub reference: Option<Comparison>,
}

/// The repetitions done (all of them unless stopped or failed).
pub struct Outcome {
    pub stats: Vec<RepStats>,
    pub runs: Vec<RepRun>,
    pub sampler: String,
    pub reason: String,
    pub seed: u64,
    /// Why it ended early (a signal or an error in a repetition), if it did.
    pub stopped: Option<String>,
}

/// The seed of repetition `r`'s sampler (`splitmix64` of the base seed and `r`).
pub fn rep_seed(base: u64, r: usize) -> u64 {
    let mut z = base.wrapping_add((r as u64).wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn with_seed(req: &Request, seed: u64) -> Request {
    let mut given = req.given.clone();
    given.push(Given {
        key: "seed".into(),
        value: Raw::Text(seed.to_string()),
        origin: Origin::Flag,
    });
    Request {
        sampler: req.sampler.clone(),
        sampler_origin: req.sampler_origin,
        given,
    }
}

fn prepare_error(e: PrepareError) -> String {
    match e {
        PrepareError::Model(d) => d.iter().map(|d| d.message.clone()).collect::<Vec<_>>().join("; "),
        PrepareError::Usage(m) => m,
    }
}

/// One repetition ready to sample: its truth, the data simulated from it and the run prepared on
/// them, and the stream its ranks' jitter goes on with.
pub(super) struct Rep {
    pub(super) r: usize,
    pub(super) prepared: Prepared,
    pub(super) truth: Array1<f64>,
    pub(super) rng: ChaCha8Rng,
    pub(super) seed: u64,
    /// The simulated data, kept for `--reference`.
    pub(super) kept: Option<Vec<Value>>,
}

/// Draw repetition `r`'s truth and data and prepare its run, as `uq sample` would on that data.
pub(super) fn setup(
    spec: &Spec<'_>,
    post: &GraphPosterior,
    seed: u64,
    r: usize,
) -> Result<Rep, CalibrateError> {
    // Repetition r's truth, data and rank jitter: stream r of one seed, whatever ran before.
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6361_6c69_6272_6174);
    rng.set_stream(r as u64);
    let given = spec.truths.as_ref().map(|t| t.slice(s![r, ..]));
    let truth = draw_truth(spec.model, post, given, &mut rng)?;
    let data = simulate_data(post, &spec.data, truth.view(), &mut rng)?;
    let rs = rep_seed(seed, r);
    let kept = spec.reference.map(|_| data.clone());
    let prepared = session::prepare(spec.model, data, &with_seed(&spec.request, rs)).map_err(|e| {
        CalibrateError::Rep {
            rep: r,
            message: prepare_error(e),
        }
    })?;
    Ok(Rep {
        r,
        prepared,
        truth,
        rng,
        seed: rs,
        kept,
    })
}

/// A repetition's run ended: its ranks and record, or why the calibration stops here (`Ok(Err)`:
/// the run failed or was interrupted; `Err`: the comparison with the reference failed).
pub(super) type Ended = Result<Result<(RepStats, RepRun), String>, CalibrateError>;

/// The ranks and record of repetition `rep` from its run's `result` (compared with `reference`).
pub(super) fn finish(
    reference: Option<&Reference>,
    rep: Rep,
    result: Result<RunResult, SessionError>,
) -> Ended {
    let Rep {
        r,
        truth,
        mut rng,
        seed,
        kept,
        ..
    } = rep;
    let rep_err = |message: String| CalibrateError::Rep { rep: r, message };
    let result = match result {
        Ok(res) if res.summary.partial => return Ok(Err("interrupted".into())),
        Ok(res) => res,
        Err(e) => return Ok(Err(rep_err(e.to_string()).to_string())),
    };
    let diag = Diagnostics::compute(result.draws.view());
    let reference = match (reference, &kept) {
        (Some(rf), Some(d)) => Some(rf.compare(d, result.draws.view(), &diag).map_err(rep_err)?),
        _ => None,
    };
    let stats = rep_stats(result.draws.view(), &diag, truth.view(), &mut rng);
    let run = RepRun {
        rep: r,
        seed,
        wall_seconds: result.summary.wall_seconds,
        divergences: result.summary.divergences.iter().sum(),
        warnings: result.summary.warnings.len(),
        reference,
    };
    Ok(Ok((stats, run)))
}

/// Run the calibration. `base` is the preparation on the given data (checked by the caller);
/// `on_rep(done, total)` is called after each repetition. With one network prior and
/// `spec.batch_reps` > 1 the repetitions run in groups that share the network's batches
/// (each repetition's results are those it has alone); otherwise one after another.
pub fn calibrate(
    spec: &Spec<'_>,
    base: &Prepared,
    progress: &(dyn Fn(RunProgress<'_>) + Sync),
    on_rep: &mut dyn FnMut(usize, usize),
    stop: &AtomicBool,
) -> Result<Outcome, CalibrateError> {
    let seed = base
        .settings
        .seed()
        .map_err(|e| CalibrateError::Setup(e.to_string()))?;
    let scores = spec
        .model
        .latents
        .iter()
        .filter(|l| matches!(l.prior, PriorSpec::Score { .. }))
        .count();
    if scores > 1 {
        return Err(CalibrateError::Setup(
            "the model has several score latents; calibration takes truths for one".into(),
        ));
    }
    if let Some(t) = &spec.truths {
        if t.nrows() < spec.reps {
            return Err(CalibrateError::Setup(format!(
                "--truths holds {} images for {} repetitions: give --reps {} or more truths",
                t.nrows(),
                spec.reps,
                t.nrows()
            )));
        }
    }
    let mut out = Outcome {
        stats: Vec::new(),
        runs: Vec::new(),
        sampler: base.plan.sampler.name.to_string(),
        reason: base.plan.reason.clone(),
        seed,
        stopped: None,
    };
    if batched(spec, base) {
        super::batch::run_groups(spec, base, seed, progress, on_rep, stop, &mut out)?;
        return Ok(out);
    }
    let post = &base.built.posterior;
    for r in 0..spec.reps {
        if stop.load(Ordering::SeqCst) {
            out.stopped = Some("interrupted".into());
            break;
        }
        let rep = setup(spec, post, seed, r)?;
        let p = &rep.prepared;
        let result = session::run(&p.built, &p.plan, &p.settings, progress, stop);
        match finish(spec.reference, rep, result)? {
            Ok((stats, run)) => {
                out.stats.push(stats);
                out.runs.push(run);
            }
            Err(why) => {
                out.stopped = Some(why);
                break;
            }
        }
        on_rep(r + 1, spec.reps);
    }
    Ok(out)
}

/// Whether the repetitions run in groups through one network batch: a network prior (one) and
/// more than one repetition to a group.
pub fn batched(spec: &Spec<'_>, base: &Prepared) -> bool {
    spec.batch_reps > 1 && spec.reps > 1 && base.networks() == 1
}

/// Truths of the model's score latent drawn by the planned sampler on the prior alone (the model
/// without its observations): the last draw of each of `reps` chains, run as one batch. Exact only
/// as far as that sampler samples the prior; `--truths` of held-out images avoids that question.
pub fn prior_truths(
    model: &Model,
    data: Vec<Value>,
    request: &Request,
    reps: usize,
    seed: u64,
    progress: &(dyn Fn(RunProgress<'_>) + Sync),
    stop: &AtomicBool,
) -> Result<Option<Array2<f64>>, CalibrateError> {
    let Some(k) = model
        .latents
        .iter()
        .position(|l| matches!(l.prior, PriorSpec::Score { .. }))
    else {
        return Ok(None);
    };
    let mut prior_only = model.clone();
    prior_only.observations.clear();
    // A stream apart from every repetition's (those use rep_seed(seed, r), r < reps).
    let mut req = with_seed(request, rep_seed(seed, usize::MAX));
    req.given.push(Given {
        key: "chains".into(),
        value: Raw::Text(reps.to_string()),
        origin: Origin::Flag,
    });
    let setup = |m: String| CalibrateError::Setup(format!("drawing truths from the prior: {m}"));
    let prepared = session::prepare(&prior_only, data, &req).map_err(|e| setup(prepare_error(e)))?;
    let result = session::run(
        &prepared.built,
        &prepared.plan,
        &prepared.settings,
        progress,
        stop,
    )
    .map_err(|e| setup(e.to_string()))?;
    if result.summary.partial {
        return Err(setup("interrupted".into()));
    }
    let (_, offset, len) = prepared.built.posterior.layout().slots[k].clone();
    let last = result.draws.shape()[1]
        .checked_sub(1)
        .ok_or_else(|| setup("no draws".into()))?;
    Ok(Some(
        result.draws.slice(s![.., last, offset..offset + len]).to_owned(),
    ))
}
