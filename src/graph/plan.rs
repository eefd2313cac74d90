//! A graph prepared for repeated evaluation: op types checked once, latent-free nodes folded, and
//! the forward and reverse sweeps run over the latent-dependent nodes only.

use super::eval::{Graph, GraphError, NodeId, NodeKind};
use super::fft::FftCache;
use super::filter::Fusion;
use super::value::{Ty, Value};

/// What [`Graph::plan`] computed once for a graph and its data.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Values of the nodes that depend on no latent (data, constants and ops over them).
    folded: Vec<Option<Value>>,
    /// Per node: whether its value depends on a latent.
    live: Vec<bool>,
}

/// Node values of one evaluation: the plan's folded values and this point's own.
#[derive(Debug)]
pub struct Values<'p> {
    folded: &'p [Option<Value>],
    own: Vec<Option<Value>>,
}

/// Read access to node values by node index, for [`Graph::backward`].
pub trait NodeValues {
    fn node_value(&self, i: usize) -> Option<&Value>;
    fn count(&self) -> usize;
}

impl NodeValues for [Value] {
    fn node_value(&self, i: usize) -> Option<&Value> {
        self.get(i)
    }
    fn count(&self) -> usize {
        self.len()
    }
}

impl NodeValues for Vec<Value> {
    fn node_value(&self, i: usize) -> Option<&Value> {
        self.get(i)
    }
    fn count(&self) -> usize {
        self.len()
    }
}

impl NodeValues for Values<'_> {
    fn node_value(&self, i: usize) -> Option<&Value> {
        self.get(i)
    }
    fn count(&self) -> usize {
        self.own.len()
    }
}

impl Values<'_> {
    /// The value of node `i` (`None` past the end).
    pub fn get(&self, i: usize) -> Option<&Value> {
        match self.own.get(i)? {
            Some(v) => Some(v),
            None => self.folded.get(i)?.as_ref(),
        }
    }

    pub fn len(&self) -> usize {
        self.own.len()
    }

    pub fn is_empty(&self) -> bool {
        self.own.is_empty()
    }
}

/// Whether `v` has type `ty`, without building `v`'s type.
pub(super) fn has_type(v: &Value, ty: &Ty) -> bool {
    v.is_complex() == ty.is_complex() && v.shape() == ty.shape.as_slice()
}

impl Plan {
    /// Per node: whether its value depends on a latent.
    pub fn live(&self) -> &[bool] {
        &self.live
    }
}

impl Graph {
    /// Prepare repeated evaluation on `data`: every op's result type is checked against its node's
    /// (so evaluation can skip type inference), and the latent-free nodes are evaluated once.
    pub fn plan(&self, data: &[Value], fft: &FftCache) -> Result<Plan, GraphError> {
        keep_freed_memory();
        let n = self.nodes.len();
        for (i, node) in self.nodes.iter().enumerate() {
            if let NodeKind::Op(op, ids) = &node.kind {
                let tys = ids
                    .iter()
                    .map(|id| {
                        (id.0 < i)
                            .then(|| self.nodes.get(id.0).map(|a| a.ty.clone()))
                            .flatten()
                    })
                    .collect::<Option<Vec<Ty>>>()
                    .ok_or_else(|| {
                        self.error(i, format!("`{}` refers to a missing or later node", op.name()))
                    })?;
                let ty = op.infer_type(&tys).map_err(|m| self.error(i, m))?;
                if ty != node.ty {
                    return Err(self.error(
                        i,
                        format!("`{}` gives {ty}, but the node says {}", op.name(), node.ty),
                    ));
                }
            }
        }
        let live = self.latent_mask();
        let mut folded: Vec<Option<Value>> = vec![None; n];
        for i in 0..n {
            if live[i] {
                continue;
            }
            let v = self.eval_node(
                i,
                |j| folded.get(j).and_then(Option::as_ref),
                &[],
                data,
                fft,
                true,
            )?;
            folded[i] = Some(v);
        }
        Ok(Plan { folded, live })
    }

    /// The fused real filters ([`Fusion`]) of this planned graph whose intermediates none of
    /// `pinned` (the nodes the caller will read) is.
    pub fn fuse(&self, plan: &Plan, pinned: &[NodeId]) -> Fusion {
        self.find_filters(
            &plan.live,
            |i| plan.folded.get(i).and_then(Option::as_ref),
            pinned,
        )
    }

    /// The values of every node at `latents` (moved in), reusing the plan's folded values. `plan`
    /// must come from this graph ([`Graph::plan`]).
    pub fn forward_planned<'p>(
        &self,
        plan: &'p Plan,
        latents: Vec<Value>,
        fft: &FftCache,
    ) -> Result<Values<'p>, GraphError> {
        self.forward_with(plan, None, latents, fft)
    }

    /// [`Graph::forward_planned`] with `fusion`'s filters (from [`Graph::fuse`] on this graph and
    /// plan). The intermediates of fused chains get no value; every other node does (the `pinned`
    /// nodes given to `fuse` among them).
    pub fn forward_fused<'p>(
        &self,
        plan: &'p Plan,
        fusion: &Fusion,
        latents: Vec<Value>,
        fft: &FftCache,
    ) -> Result<Values<'p>, GraphError> {
        self.forward_with(plan, Some(fusion), latents, fft)
    }

    fn forward_with<'p>(
        &self,
        plan: &'p Plan,
        fusion: Option<&Fusion>,
        latents: Vec<Value>,
        fft: &FftCache,
    ) -> Result<Values<'p>, GraphError> {
        let n = self.nodes.len();
        if plan.live.len() != n || fusion.is_some_and(|f| f.skip.len() != n) {
            return Err(self.error(0, "internal error: the plan was made for another graph"));
        }
        let mut latents: Vec<Option<Value>> = latents.into_iter().map(Some).collect();
        let mut own: Vec<Option<Value>> = Vec::with_capacity(n);
        for i in 0..n {
            if !plan.live[i] || fusion.is_some_and(|f| f.skip[i]) {
                own.push(None);
                continue;
            }
            if let Some(filter) = fusion.and_then(|f| f.filters[i].as_ref()) {
                let Some(Some(Value::Real(x))) = own.get(filter.input.0) else {
                    return Err(self.error(i, "internal error: the filter's input has no real value"));
                };
                own.push(Some(Value::Real(filter.apply_array(x, false, fft))));
                continue;
            }
            let v = match &self.nodes[i].kind {
                NodeKind::Latent(j) => {
                    // Moved in; a second node of the same latent copies the first one's value.
                    let earlier = || {
                        (0..i)
                            .find(|&k| self.nodes[k].kind == NodeKind::Latent(*j))
                            .and_then(|k| own.get(k).cloned().flatten())
                    };
                    let v = latents
                        .get_mut(*j)
                        .and_then(Option::take)
                        .or_else(earlier)
                        .ok_or_else(|| self.error(i, format!("latent #{j} is not bound")))?;
                    if !has_type(&v, &self.nodes[i].ty) {
                        return Err(self.error(
                            i,
                            format!(
                                "the latent has type {}, but {} was expected",
                                v.ty(),
                                self.nodes[i].ty
                            ),
                        ));
                    }
                    v
                }
                _ => {
                    let get = |j: usize| match own.get(j) {
                        Some(Some(v)) => Some(v),
                        _ => plan.folded.get(j).and_then(Option::as_ref),
                    };
                    self.eval_node(i, get, &[], &[], fft, true)?
                }
            };
            own.push(Some(v));
        }
        Ok(Values {
            folded: &plan.folded,
            own,
        })
    }
}

/// Each evaluation allocates its node values and cotangents and frees them at the end. glibc gives
/// freed memory at the top of its heap back to the system once 128 KiB are free there, and serves
/// blocks over 128 KiB by `mmap`, so every gradient faulted its pages in again (a fifth of a 32×32
/// model's gradient). Keep up to 64 MiB of freed heap, and take blocks up to 32 MiB from the heap.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: `mallopt` only sets allocator parameters; both values are in their valid ranges.
        unsafe {
            libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        }
    });
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}
