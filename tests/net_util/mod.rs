//! Shared by the tests that need a score network file: a tiny seeded U-Net (channels [4, 8], 8×8
//! images, as `uq bench score` builds), written as a uq score file.

use std::collections::BTreeMap;
use std::path::Path;
use uq::score::{header_metadata, seeded_builder, write_safetensors, HeaderKind, NetKind, UNet, UNetConfig};

/// Write a tiny 8×8 network of `kind` with `image_channels` channels (2: complex) and header `header`,
/// its weights drawn from `seed`.
pub fn tiny_network(path: &Path, image_channels: usize, kind: NetKind, header: HeaderKind, seed: u64) {
    let cfg = UNetConfig {
        channels: vec![4, 8],
        image_channels,
        kind,
    };
    let (vb, vars) = seeded_builder(seed);
    let net = UNet::new(&cfg, vb).unwrap();
    let meta = header_metadata(net.config(), &header, [8, 8], 1.0, &BTreeMap::new());
    let tensors = vars
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect();
    write_safetensors(path, &tensors, meta).unwrap();
}

/// Annealed HMC flags that keep a run on the tiny network to a fraction of a second: few levels,
/// 2 leapfrog steps, 2 corrector steps.
pub const QUICK_ANNEALED: [&str; 8] = [
    "--gamma",
    "0.5",
    "--sigma-min",
    "0.1",
    "--steps",
    "2",
    "--correct",
    "2",
];
