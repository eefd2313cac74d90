//! `uq eval-prior` (Tweedie denoising of held-out slices against the best Gaussian filter) and
//! `uq time-prior` (median wall times of a fresh network's score and VJP).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;

use uq::score::train::{read_images, DenoiseReport};
use uq::score::{NetKind, NetworkPrior};

/// Denoise held-out images with a VE model via Tweedie and compare with the best Gaussian filter.
#[derive(Clone, Debug, Args)]
pub struct EvalArgs {
    /// VE model file.
    #[arg(long)]
    pub model: PathBuf,
    /// Test images (n, H, W), a path relative to the working directory. Default: `mri_head_test_S.npy`
    /// (S the model's image size) beside the model file, else in `tests/fixtures/mri/` of the model's
    /// folder or of the folder above it (where the shipped models' project keeps them).
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Training images, used only to tune the Gaussian filter's width; a path relative to the working
    /// directory. Default: `mri_head_train_S.npy`, found like `--test`.
    #[arg(long)]
    pub train: Option<PathBuf>,
    /// Noise levels.
    #[arg(long, value_delimiter = ',', default_value = "0.05,0.1,0.2")]
    pub sigmas: Vec<f64>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Where a default image set of `eval-prior` may lie, relative to the model file `model`, in order.
fn default_image_candidates(model: &Path, set: &str, size: usize) -> Vec<PathBuf> {
    let dir = match model.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file = format!("mri_head_{set}_{size}.npy");
    let fixtures = Path::new("tests").join("fixtures").join("mri");
    vec![
        dir.join(&file),
        dir.join(&fixtures).join(&file),
        dir.join("..").join(&fixtures).join(&file),
    ]
}

/// `given` (relative to the working directory), else the first default candidate that exists.
fn image_set(given: Option<&Path>, model: &Path, set: &str, size: usize) -> anyhow::Result<PathBuf> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    let candidates = default_image_candidates(model, set, size);
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    let looked: Vec<String> = candidates.iter().map(|p| format!("`{}`", p.display())).collect();
    anyhow::bail!(
        "no {set} images given and none found for `{}`: looked for {}; pass --{set} FILE.npy \
         (a path relative to the working directory)",
        model.display(),
        looked.join(", ")
    )
}

/// Run the denoising benchmark; prints one JSON line per σ.
pub fn run_eval(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let prior = NetworkPrior::load(&args.model)?;
    let [size, _] = prior.header().image_shape;
    let test_path = image_set(args.test.as_deref(), &args.model, "test", size)?;
    let train_path = image_set(args.train.as_deref(), &args.model, "train", size)?;
    let flat = |p: &Path| -> anyhow::Result<Vec<Vec<f32>>> {
        let a = read_images(p)?;
        Ok(a.outer_iter().map(|im| im.iter().copied().collect()).collect())
    };
    let test = flat(&test_path)?;
    let train = flat(&train_path)?;
    for &s in &args.sigmas {
        let r = DenoiseReport::run(&prior, &train, &test, size, s, args.seed, 4)?;
        println!("{}", serde_json::to_string(&r)?);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_images_are_found_from_the_model_not_the_working_directory() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let model = root.join("models").join("head64_ve.safetensors");
        let found = image_set(None, &model, "test", 64).unwrap();
        assert_eq!(
            found.canonicalize().unwrap(),
            root.join("tests/fixtures/mri/mri_head_test_64.npy")
                .canonicalize()
                .unwrap()
        );
        let given = Path::new("elsewhere.npy");
        assert_eq!(image_set(Some(given), &model, "test", 64).unwrap(), given);
        let e = image_set(None, &model, "train", 17).unwrap_err().to_string();
        assert!(
            e.contains("mri_head_train_17.npy") && e.contains("--train FILE.npy"),
            "{e}"
        );
        assert!(e.contains("relative to the working directory"), "{e}");
    }
}

/// Timing of a fresh network (no data needed).
#[derive(Clone, Debug, Args)]
pub struct TimeArgs {
    #[arg(long, value_delimiter = ',', default_value = "16,32,64")]
    pub channels: Vec<usize>,
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Chains per score call.
    #[arg(long, default_value_t = 4)]
    pub chains: usize,
    #[arg(long, default_value_t = 5)]
    pub reps: usize,
}

/// Print median wall times of a batched score call and its VJP.
pub fn run_time(args: TimeArgs) -> anyhow::Result<ExitCode> {
    use ndarray::Array2;
    use uq::score::{header_metadata, seeded_builder, HeaderKind, ScoreHeader, ScoreModel, UNet, UNetConfig};
    let cfg = UNetConfig {
        channels: args.channels.clone(),
        image_channels: 1,
        kind: NetKind::Ve,
    };
    let (vb, _) = seeded_builder(0);
    let net = UNet::new(&cfg, vb)?;
    let kind = HeaderKind::Ve {
        sigma_min: 0.01,
        sigma_max: 30.0,
    };
    let meta = header_metadata(&cfg, &kind, [args.size, args.size], 1.0, &BTreeMap::new());
    let prior = NetworkPrior::from_net(net, ScoreHeader::from_metadata("time", &meta)?);
    let n = args.size * args.size;
    let x = Array2::from_shape_fn((args.chains, n), |(i, j)| ((i * 7 + j) % 13) as f64 / 13.0);
    let median = |f: &dyn Fn() -> anyhow::Result<()>| -> anyhow::Result<f64> {
        let mut v = Vec::new();
        for _ in 0..args.reps.max(1) {
            let t = Instant::now();
            f()?;
            v.push(t.elapsed().as_secs_f64() * 1e3);
        }
        v.sort_by(f64::total_cmp);
        Ok(v.get(v.len() / 2).copied().unwrap_or(f64::NAN))
    };
    let fwd = median(&|| {
        prior.score(x.view(), 0.1)?;
        Ok(())
    })?;
    let vjp = median(&|| {
        prior.score_vjp(x.view(), 0.1, x.view())?;
        Ok(())
    })?;
    println!(
        "channels {:?} {}x{} chains {}: score {fwd:.1} ms, vjp {vjp:.1} ms (median of {}, {} threads)",
        args.channels,
        args.size,
        args.size,
        args.chains,
        args.reps,
        candle_core::utils::get_num_threads()
    );
    Ok(ExitCode::SUCCESS)
}
