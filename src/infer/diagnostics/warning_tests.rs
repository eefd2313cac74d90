//! Each warning fires on a run that should trigger it and stays quiet on a healthy one.

use super::warnings::{check, ebfmi, LatentCheck, Levels, RunChecks, WarningKind};
use super::Diagnostics;
use crate::infer::{KernelKind, RunConfig, SampleStats};
use ndarray::{Array2, Array3};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Statistics of a healthy NUTS run: acceptance ≈ 0.8, depth 3, no divergence, iid energies.
fn healthy(chains: usize, draws: usize, seed: u64) -> SampleStats {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut st = SampleStats::new(chains, draws, true, true, true);
    st.acceptance_rate = Array2::from_shape_fn((chains, draws), |(c, d)| 0.7 + 0.02 * ((c + d) % 10) as f64);
    st.step_size.fill(0.3);
    st.n_steps.fill(7);
    if let Some(t) = st.tree_depth.as_mut() {
        t.fill(3);
    }
    if let Some(e) = st.energy.as_mut() {
        e.mapv_inplace(|_| 10.0 + Distribution::<f64>::sample(&StandardNormal, &mut rng));
    }
    if let Some(lp) = st.lp.as_mut() {
        lp.fill(-5.0);
    }
    st
}

fn nuts_checks(stats: SampleStats, warmup: usize) -> RunChecks {
    let cfg = RunConfig {
        kernel: KernelKind::NUTS,
        warmup,
        ..RunConfig::default()
    };
    RunChecks::of_chains(&cfg, stats)
}

fn kinds(run: &RunChecks) -> Vec<WarningKind> {
    check(&[], run).into_iter().map(|w| w.kind).collect()
}

#[test]
fn a_healthy_run_has_no_warning() {
    assert!(kinds(&nuts_checks(healthy(4, 1000, 1), 1000)).is_empty());
    assert!(kinds(&RunChecks::default()).is_empty());
}

#[test]
fn divergences_after_warmup_warn_with_their_chain() {
    // mri_gauss at --warmup 20 --draws 20: chains with 20 of 20 divergent draws.
    let mut st = healthy(4, 20, 2);
    st.diverging.row_mut(1).fill(true);
    st.diverging[[3, 7]] = true;
    let w = check(&[], &nuts_checks(st, 1000));
    let d = w.iter().find(|w| w.kind == WarningKind::Divergences).unwrap();
    assert!(d.message.starts_with("21 of 80 transitions"), "{}", d.message);
    assert!(d.message.contains("chain 2: 20 of 20") && d.message.contains("chain 4: 1 of 20"));
    assert_eq!(d.figures["per_chain"], serde_json::json!([0, 20, 0, 1]));
}

#[test]
fn saturated_trees_warn_only_at_the_maximum_depth() {
    let mut st = healthy(2, 100, 3);
    if let Some(t) = st.tree_depth.as_mut() {
        t.fill(9);
    }
    assert!(kinds(&nuts_checks(st.clone(), 1000)).is_empty());
    if let Some(t) = st.tree_depth.as_mut() {
        t[[0, 5]] = 10;
    }
    let w = check(&[], &nuts_checks(st, 1000));
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].kind, WarningKind::TreeDepth);
    assert!(w[0]
        .message
        .contains("1 of 200 transitions hit the maximum tree depth 10"));
}

#[test]
fn ebfmi_of_a_random_walk_energy_warns() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    // Independent energies: E-BFMI ≈ 2; a random walk: E-BFMI ≈ 1/N·(…) ≪ 0.3.
    let iid: Vec<f64> = (0..1000).map(|_| StandardNormal.sample(&mut rng)).collect();
    assert!((ebfmi(&iid) - 2.0).abs() < 0.2, "{}", ebfmi(&iid));
    let mut walk = iid.clone();
    for i in 1..walk.len() {
        walk[i] += walk[i - 1];
    }
    assert!(ebfmi(&walk) < 0.05);
    assert!(ebfmi(&[1.0, 2.0]).is_nan());
    // ArviZ 0.23: az.bfmi(az.from_dict(sample_stats={"energy": [[1, 3, 2, 5, 4, 4.5, 0.5]]}))
    assert!((ebfmi(&[1.0, 3.0, 2.0, 5.0, 4.0, 4.5, 0.5]) - 1.702_334_630_350_194_3).abs() < 1e-12);
    let mut st = healthy(3, 1000, 5);
    if let Some(e) = st.energy.as_mut() {
        e.row_mut(2).assign(&ndarray::Array1::from(walk));
    }
    let w = check(&[], &nuts_checks(st, 1000));
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].kind, WarningKind::Ebfmi);
    assert!(w[0].message.contains("chain 3: 0.0"), "{}", w[0].message);
}

#[test]
fn a_stuck_chain_and_an_everything_accepting_chain_warn() {
    let mut st = healthy(4, 50, 6);
    st.acceptance_rate.row_mut(2).fill(0.0);
    let w = kinds(&nuts_checks(st.clone(), 1000));
    assert_eq!(w, vec![WarningKind::AcceptanceStuck]);
    // blur_demo at --warmup 50 --draws 50: acceptance exactly 1.0.
    st.acceptance_rate.row_mut(2).fill(1.0);
    assert_eq!(
        kinds(&nuts_checks(st.clone(), 1000)),
        vec![WarningKind::AcceptanceOne]
    );
    // Too few draws to tell, or no Metropolis correction: no warning.
    assert!(kinds(&nuts_checks(st.truncated(10), 1000)).is_empty());
    let mut unadjusted = nuts_checks(st, 1000);
    unadjusted.corrected = false;
    assert!(kinds(&unadjusted).is_empty());
}

#[test]
fn short_warmup_warns_below_stans_windows() {
    for (warmup, fires, phrase) in [
        (0, true, "no warm-up"),
        (10, true, "too short for a metric window"),
        (50, true, "1 metric window"),
        (149, true, "shrunk to 15%/75%/10%"),
        (150, false, ""),
        (1000, false, ""),
    ] {
        let w = check(&[], &nuts_checks(healthy(2, 100, 7), warmup));
        assert_eq!(!w.is_empty(), fires, "warmup {warmup}: {w:?}");
        if fires {
            assert_eq!(w[0].kind, WarningKind::ShortWarmup);
            assert!(w[0].message.contains(phrase), "{}", w[0].message);
        }
    }
    // MALA adapts the step size only: no windows, no warning.
    let cfg = RunConfig {
        kernel: KernelKind::Mala,
        warmup: 50,
        ..RunConfig::default()
    };
    assert!(kinds(&RunChecks::of_chains(&cfg, healthy(2, 100, 8))).is_empty());
}

#[test]
fn collapsed_annealing_levels_warn_and_a_short_dip_does_not() {
    let sigmas: Vec<f64> = (0..500).map(|i| 0.995f64.powi(i)).collect();
    let mut accept = vec![0.7; 500];
    for a in &mut accept[100..105] {
        *a = 0.02;
    }
    let run = |accept: Vec<f64>| RunChecks {
        levels: Some(Levels {
            sigmas: sigmas.clone(),
            accept,
        }),
        ..RunChecks::default()
    };
    assert!(kinds(&run(accept.clone())).is_empty());
    for a in &mut accept[300..340] {
        *a = 0.01;
    }
    let w = check(&[], &run(accept));
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].kind, WarningKind::AnnealingCollapse);
    assert!(
        w[0].message.starts_with("annealing levels 301–340 of 500"),
        "{}",
        w[0].message
    );
}

#[test]
fn scalar_chains_in_different_modes_warn_rhat_and_ess() {
    // prior_only.uq's mixture: two chains that never leave modes at −2 and +2.
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let x = Array3::from_shape_fn((2, 1000, 2), |(c, _, p)| {
        let z: f64 = StandardNormal.sample(&mut rng);
        if p == 0 {
            if c == 0 {
                -2.0 + 0.5 * z
            } else {
                2.0 + z
            }
        } else {
            z
        }
    });
    let d = Diagnostics::compute(x.view());
    let shape = [2];
    let l = LatentCheck {
        name: "theta",
        shape: &shape,
        diag: &d,
    };
    let w = check(&[l], &RunChecks::default());
    let r = w.iter().find(|w| w.kind == WarningKind::Rhat).unwrap();
    assert!(
        r.message.starts_with("R̂ of theta is") && r.message.contains("at [0]"),
        "{}",
        r.message
    );
    assert!(w.iter().any(|w| w.kind == WarningKind::EssBulk));
}

#[test]
fn rhat_spread_over_an_image_warns_below_the_largest_value_limit() {
    // 4 chains × 8 draws of 4,096 pixels: the largest-R̂ limit is 2.09, the spread limit ~1.6.
    let n = 4096;
    let diag = |rhat: Vec<f64>| Diagnostics {
        chains: 4,
        draws: 8,
        mean: vec![0.0; n],
        rhat,
        ess_bulk: vec![48.2; n],
        ess_tail: vec![48.2; n],
        ..Diagnostics::default()
    };
    let shape = [64, 64];
    let run = |d: &Diagnostics| {
        let l = LatentCheck {
            name: "x",
            shape: &shape,
            diag: d,
        };
        check(&[l], &RunChecks::default())
    };
    // A healthy map: nothing above 1.5.
    let healthy = diag((0..n).map(|i| 1.0 + 0.5 * (i % 97) as f64 / 97.0).collect());
    assert!(run(&healthy).is_empty());
    // 20% of the pixels at 1.8, none above the largest-value limit.
    let spread = diag((0..n).map(|i| if i % 5 == 0 { 1.8 } else { 1.1 }).collect());
    let w = run(&spread);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].kind, WarningKind::Rhat);
    assert!(
        w[0].message.contains("on 20% of its 4096 values"),
        "{}",
        w[0].message
    );
    assert!(
        w[0].message.contains("the largest is 1.800 at [0, 0]"),
        "{}",
        w[0].message
    );
}
