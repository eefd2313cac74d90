//! `uq traj radial`: writes a radial k-space trajectory (`real[S*N, 2]`, radians) for `nufft`.

use anyhow::Context;
use clap::{Args, Subcommand};
use ndarray::Array2;
use std::f64::consts::PI;
use std::path::PathBuf;
use std::process::ExitCode;

/// The golden angle of radial MRI (Winkelmann et al. 2007), degrees between consecutive spokes.
pub const GOLDEN_ANGLE_DEG: f64 = 111.246_117_975;

#[derive(Clone, Debug, Args)]
pub struct TrajArgs {
    #[command(subcommand)]
    pub what: TrajWhat,
}

#[derive(Clone, Debug, Subcommand)]
pub enum TrajWhat {
    /// Radial spokes through the k-space centre: spoke s at angle s·180°/S (or s·111.246° with
    /// --golden), readout points −π + 2πi/N for i = 0..N; row s·N + i is
    /// (t_i cos θ_s, t_i sin θ_s) in radians, for `nufft(x, traj)` with x of size N × N.
    Radial(RadialArgs),
}

#[derive(Clone, Debug, Args)]
pub struct RadialArgs {
    /// Number of spokes S.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub spokes: u32,
    /// Samples per spoke N (the image side length for full radial coverage).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub readout: u32,
    /// Golden-angle ordering (111.246° between consecutive spokes) instead of uniform over 180°.
    #[arg(long)]
    pub golden: bool,
    /// The `.npy` file to write (f64, shape [S*N, 2]); an existing file is never overwritten.
    #[arg(long)]
    pub out: PathBuf,
}

/// The trajectory of `uq traj radial` as an `[S*N, 2]` array in radians.
pub fn radial(spokes: usize, readout: usize, golden: bool) -> Array2<f64> {
    let mut traj = Array2::zeros((spokes * readout, 2));
    for s in 0..spokes {
        let theta = if golden {
            (s as f64 * GOLDEN_ANGLE_DEG).to_radians()
        } else {
            PI * s as f64 / spokes as f64
        };
        for i in 0..readout {
            let t = -PI + 2.0 * PI * i as f64 / readout as f64;
            traj[[s * readout + i, 0]] = t * theta.cos();
            traj[[s * readout + i, 1]] = t * theta.sin();
        }
    }
    traj
}

pub fn run(args: TrajArgs) -> anyhow::Result<ExitCode> {
    let TrajWhat::Radial(a) = args.what;
    if a.out.symlink_metadata().is_ok() {
        eprintln!(
            "error: `{}` already exists; uq does not overwrite it (choose another --out or remove it)",
            a.out.display()
        );
        return Ok(ExitCode::from(super::EXIT_USAGE));
    }
    let traj = radial(a.spokes as usize, a.readout as usize, a.golden);
    uq::output::write_npy(&a.out, &traj)
        .with_context(|| format!("writing the trajectory to `{}`", a.out.display()))?;
    let order = if a.golden {
        "golden angle"
    } else {
        "uniform angles"
    };
    eprintln!(
        "wrote real[{}, 2] ({} spokes × {} samples, {order}) to {}",
        traj.nrows(),
        a.spokes,
        a.readout,
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spokes_pass_through_the_centre_at_their_angles() {
        let t = radial(3, 4, true);
        assert_eq!(t.shape(), [12, 2]);
        // Sample i = N/2 of every spoke is the centre; sample 0 is at radius π.
        for s in 0..3 {
            assert_eq!(t.row(s * 4 + 2).to_vec(), [0.0, 0.0]);
            let (a, b) = (t[[s * 4, 0]], t[[s * 4, 1]]);
            assert!(((a * a + b * b).sqrt() - PI).abs() < 1e-12);
            let angle = (-b).atan2(-a).to_degrees().rem_euclid(360.0);
            let want = (s as f64 * GOLDEN_ANGLE_DEG).rem_euclid(360.0);
            assert!((angle - want).abs() < 1e-9, "spoke {s}: {angle} vs {want}");
        }
        let u = radial(4, 2, false);
        assert!((u[[2, 1]] + PI * (PI / 4.0).sin()).abs() < 1e-12);
    }
}
