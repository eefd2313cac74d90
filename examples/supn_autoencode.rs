//! The autoencoder reference of docs/supn.md's denoising table: μ(E(y)), the SUPN decoder's mean at
//! the encoder's mean of a noisy image (the same networks, no prior, no noise model).
//!
//! `cargo run --example supn_autoencode -- MODEL.safetensors NOISY.npy OUT.npy` (64×64 float64).

use std::path::PathBuf;

use ndarray::Array2;
use ndarray_npy::{read_npy, write_npy};
use uq::supn::SupnModel;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, noisy, out] = &args[..] else {
        anyhow::bail!("usage: supn_autoencode MODEL.safetensors NOISY.npy OUT.npy");
    };
    let m = SupnModel::load(&PathBuf::from(model))?;
    let y: Array2<f64> = read_npy(noisy)?;
    let (h, w) = y.dim();
    let z = m.encode(&y.iter().copied().collect::<Vec<_>>())?;
    let (mean, _) = m.decode(&z)?;
    write_npy(out, &Array2::from_shape_vec((h, w), mean)?)?;
    Ok(())
}
