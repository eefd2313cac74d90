//! One network shared by several runs in their own threads (the slices of a stack, the repetitions of
//! a calibration): every run's score and VJP requests wait until each seated run has one pending,
//! then go through the network as one batch, a level per row. The network gives each row the same
//! bits whatever its batch, so a run's results are those of the run alone.

use super::{NoiseKind, ScoreError, ScoreModel, VpSchedule};
use ndarray::{concatenate, Array1, Array2, ArrayView2, Axis};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

/// A pending request: its rows, level, and VJP vectors (`None`: a score).
struct Request {
    id: u64,
    x: Array2<f64>,
    level: f64,
    v: Option<Array2<f64>>,
}

#[derive(Default)]
struct State {
    /// Runs seated (waited for).
    seated: usize,
    pending: Vec<Request>,
    done: HashMap<u64, Result<Array2<f64>, String>>,
    next: u64,
    /// Network calls made and rows they held (for the batching's record).
    calls: u64,
    rows: u64,
}

/// The shared network and the requests waiting for it.
pub struct Hub {
    /// The network that evaluates every batch: the first member's prior (the others are copies of
    /// the same file).
    model: OnceLock<Arc<dyn ScoreModel>>,
    state: Mutex<State>,
    ready: Condvar,
}

/// A run's seat at a [`Hub`]: while it is held the hub waits for this run's requests before it
/// evaluates a batch; dropping it (the run finished or failed) stops the waiting.
pub struct Seat {
    hub: Arc<Hub>,
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut st = self.hub.lock();
        st.seated = st.seated.saturating_sub(1);
        self.hub.flush_if_ready(&mut st);
    }
}

impl Hub {
    /// A hub without runs yet.
    pub fn new() -> Arc<Hub> {
        Arc::new(Hub {
            model: OnceLock::new(),
            state: Mutex::new(State::default()),
            ready: Condvar::new(),
        })
    }

    /// One run's `prior` with its score and VJP evaluations sent through this hub. Every run's prior
    /// must be the same network (the same file): the first one given evaluates everyone's batches.
    pub fn member(self: &Arc<Hub>, prior: Box<dyn ScoreModel>) -> Box<dyn ScoreModel> {
        let own: Arc<dyn ScoreModel> = Arc::from(prior);
        self.model.get_or_init(|| Arc::clone(&own));
        Box::new(Member {
            own,
            hub: Arc::clone(self),
            evals: AtomicU64::new(0),
        })
    }

    /// Seat a run: until the seat is dropped, batches wait for its requests.
    pub fn seat(self: &Arc<Hub>) -> Seat {
        self.lock().seated += 1;
        Seat {
            hub: Arc::clone(self),
        }
    }

    /// Run `job(i, seat)` for every `i` of `jobs`, each in its own thread and seated here from the
    /// start (every batch waits for all of them) until its job drops the seat or ends. `done(i, out)`
    /// is called on this thread as each job ends, in the order they end (`None`: the job panicked).
    pub fn run_seated<T: Send>(
        self: &Arc<Hub>,
        jobs: Range<usize>,
        job: impl Fn(usize, Seat) -> T + Sync,
        mut done: impl FnMut(usize, Option<T>),
    ) {
        let seats: Vec<Seat> = jobs.clone().map(|_| self.seat()).collect();
        let (tx, rx) = std::sync::mpsc::channel();
        let job = &job;
        std::thread::scope(|s| {
            let handles: Vec<_> = jobs
                .zip(seats)
                .map(|(i, seat)| {
                    let tx = tx.clone();
                    let h = s.spawn(move || {
                        // The receiver lives until every sender is gone.
                        let _ = tx.send((i, job(i, seat)));
                    });
                    (i, h)
                })
                .collect();
            drop(tx);
            for (i, out) in rx {
                done(i, Some(out));
            }
            for (i, h) in handles {
                if h.join().is_err() {
                    done(i, None);
                }
            }
        });
    }

    /// Network calls made through the hub and the rows they held.
    pub fn batches(&self) -> (u64, u64) {
        let st = self.lock();
        (st.calls, st.rows)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means a run panicked while holding it; its state is still consistent
        // (requests and results are only moved whole).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Evaluate the pending requests when every seated run has one (or none is seated).
    fn flush_if_ready(&self, st: &mut State) {
        if st.pending.is_empty() || st.pending.len() < st.seated {
            return;
        }
        let pending = std::mem::take(&mut st.pending);
        let (vjps, scores): (Vec<Request>, Vec<Request>) = pending.into_iter().partition(|r| r.v.is_some());
        for group in [scores, vjps] {
            if group.is_empty() {
                continue;
            }
            st.calls += 1;
            st.rows += group.iter().map(|r| r.x.nrows() as u64).sum::<u64>();
            for (id, out) in self.evaluate(&group) {
                st.done.insert(id, out);
            }
        }
        self.ready.notify_all();
    }

    /// One network call over the requests of `group` (all scores or all VJPs), split back per request.
    fn evaluate(&self, group: &[Request]) -> Vec<(u64, Result<Array2<f64>, String>)> {
        let levels: Vec<f64> = group.iter().flat_map(|r| vec![r.level; r.x.nrows()]).collect();
        let xs: Vec<_> = group.iter().map(|r| r.x.view()).collect();
        let model = self
            .model
            .get()
            .ok_or_else(|| ScoreError("the shared network was asked before any run gave it".into()));
        let out = model.and_then(|model| {
            let x = concatenate(Axis(0), &xs).map_err(|e| ScoreError(e.to_string()))?;
            match group[0].v.is_some() {
                false => model.score_rows(x.view(), &levels),
                true => {
                    let vs: Vec<_> = group
                        .iter()
                        .filter_map(|r| r.v.as_ref().map(|v| v.view()))
                        .collect();
                    let v = concatenate(Axis(0), &vs).map_err(|e| ScoreError(e.to_string()))?;
                    model.score_vjp_rows(x.view(), &levels, v.view())
                }
            }
        });
        let mut at = 0;
        group
            .iter()
            .map(|r| {
                let n = r.x.nrows();
                let part = match &out {
                    Ok(all) => Ok(all.slice(ndarray::s![at..at + n, ..]).to_owned()),
                    Err(e) => Err(e.0.clone()),
                };
                at += n;
                (r.id, part)
            })
            .collect()
    }

    /// Queue a request and wait for its result.
    fn submit(
        &self,
        x: ArrayView2<f64>,
        level: f64,
        v: Option<ArrayView2<f64>>,
    ) -> Result<Array2<f64>, ScoreError> {
        let mut st = self.lock();
        let id = st.next;
        st.next += 1;
        st.pending.push(Request {
            id,
            x: x.to_owned(),
            level,
            v: v.map(|v| v.to_owned()),
        });
        self.flush_if_ready(&mut st);
        loop {
            if let Some(out) = st.done.remove(&id) {
                return out.map_err(ScoreError);
            }
            st = self.ready.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// One run's view of the hub's network; counts its own rows as the network would.
struct Member {
    /// The run's own prior: what it says of itself (dimension, noise levels, scale).
    own: Arc<dyn ScoreModel>,
    hub: Arc<Hub>,
    evals: AtomicU64,
}

impl ScoreModel for Member {
    fn dim(&self) -> usize {
        self.own.dim()
    }
    fn noise_kind(&self) -> NoiseKind {
        self.own.noise_kind()
    }
    fn score(&self, x: ArrayView2<f64>, level: f64) -> Result<Array2<f64>, ScoreError> {
        let out = self.hub.submit(x, level, None)?;
        self.evals.fetch_add(x.nrows() as u64, Ordering::Relaxed);
        Ok(out)
    }
    fn score_vjp(
        &self,
        x: ArrayView2<f64>,
        level: f64,
        v: ArrayView2<f64>,
    ) -> Result<Array2<f64>, ScoreError> {
        super::check_vjp_shape(x, v)?;
        let out = self.hub.submit(x, level, Some(v))?;
        self.evals.fetch_add(x.nrows() as u64, Ordering::Relaxed);
        Ok(out)
    }
    fn log_density(&self, x: ArrayView2<f64>, level: f64) -> Option<Array1<f64>> {
        self.own.log_density(x, level)
    }
    fn data_scale(&self) -> f64 {
        self.own.data_scale()
    }
    fn vp_schedule(&self) -> Option<VpSchedule> {
        self.own.vp_schedule()
    }
    fn evaluations(&self) -> u64 {
        self.evals.load(Ordering::Relaxed)
    }
    fn has_vp_view(&self) -> bool {
        self.own.has_vp_view()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::NormalPrior;

    /// Four runs in threads, each at its own levels, get what the prior gives them alone, and their
    /// requests are evaluated together: one network call per round of requests.
    #[test]
    fn runs_in_threads_get_their_own_results_in_shared_batches() {
        let prior = || {
            let tau = Array1::from(vec![1.5, 0.7, 2.0]);
            NormalPrior::new(Array1::from(vec![0.5, -1.0, 2.0]), tau).unwrap()
        };
        let hub = Hub::new();
        let alone = prior();
        let seats: Vec<Seat> = (0..4).map(|_| hub.seat()).collect();
        std::thread::scope(|s| {
            for (r, seat) in seats.into_iter().enumerate() {
                let (hub, alone) = (&hub, &alone);
                s.spawn(move || {
                    let m = hub.member(Box::new(prior()));
                    for k in 0..5 {
                        let x = Array2::from_shape_fn((2 + r, 3), |(i, j)| {
                            (i + 2 * j + k) as f64 * 0.1 - r as f64
                        });
                        let level = 0.1 * (1 + (r + k) % 3) as f64;
                        assert_eq!(
                            m.score(x.view(), level).unwrap(),
                            alone.score(x.view(), level).unwrap()
                        );
                        let v = x.mapv(|a| a * 0.5 + 1.0);
                        let got = m.score_vjp(x.view(), level, v.view()).unwrap();
                        assert_eq!(got, alone.score_vjp(x.view(), level, v.view()).unwrap());
                    }
                    assert_eq!(m.evaluations(), 10 * (2 + r as u64));
                    drop(seat);
                });
            }
        });
        let (calls, rows) = hub.batches();
        assert_eq!(rows, 2 * 5 * (2 + 3 + 4 + 5));
        assert_eq!(calls, 10, "one call per round of 4 requests");
    }

    /// `run_seated` reports every job as it ends, a panicking one as `None`, and the others are not
    /// held up by it: its seat goes as it unwinds.
    #[test]
    fn run_seated_reports_every_job_and_survives_a_panic() {
        let hub = Hub::new();
        let x = Array2::from_shape_fn((2, 3), |(i, j)| (i + j) as f64);
        let mut seen = Vec::new();
        let job = |i: usize, seat: Seat| {
            let tau = Array1::from(vec![1.0, 2.0, 3.0]);
            let m = hub.member(Box::new(NormalPrior::new(Array1::zeros(3), tau).unwrap()));
            for k in 0..3 {
                assert!(!(i == 1 && k == 1), "job 1 fails on purpose");
                m.score(x.view(), 0.5).unwrap();
            }
            drop(seat);
            m.evaluations()
        };
        hub.run_seated(0..3, job, |i, out| seen.push((i, out)));
        seen.sort_by_key(|(i, _)| *i);
        assert_eq!(seen, vec![(0, Some(6)), (1, None), (2, Some(6))]);
        assert_eq!(hub.batches().1, 6 + 2 + 6, "rows: 3 calls of 2, 1 call, 3 calls");
    }
}
