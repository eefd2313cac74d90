//! A small random SUPN file for the SUPN tests (tests/supn.rs, tests/supn_gibbs.rs).

use std::collections::BTreeMap;
use std::path::Path;
use uq::supn::{SupnConfig, SupnNets};

/// A random `side`×`side` SUPN file with a 3×3 stencil and `latent` latents at `path`. The precision
/// head's last layer is scaled by 0.3: a well-conditioned Λ (full-size random weights give
/// condition numbers that make both the dense references and the samplers struggle).
pub fn write_random_supn(path: &Path, side: usize, latent: usize, seed: u64) -> SupnConfig {
    let cfg = SupnConfig {
        height: side,
        width: side,
        latent,
        radius: 1,
        channels: vec![4, 4],
    };
    let (vb, store) = uq::score::seeded_builder(seed);
    SupnNets::new(&cfg, vb).unwrap();
    let tensors: BTreeMap<_, _> = store
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let t = v.as_tensor().clone();
            let t = if k.starts_with("dec.prec1") {
                (t * 0.3).unwrap()
            } else {
                t
            };
            (k.clone(), t)
        })
        .collect();
    uq::supn::files::save(path, &cfg, &tensors, &[]).unwrap();
    cfg
}
