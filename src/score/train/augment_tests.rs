//! Tests of the training augmentation: seeded, bounded, and each term doing what its formula says.
#![allow(clippy::unwrap_used)]

use rand::SeedableRng;

use super::*;

#[test]
fn warp_is_seeded_bounded_and_keeps_a_centred_disc() {
    let size = 32;
    // A bright disc of radius 8 in the centre: it stays roughly where and as big as it was.
    let disc: Vec<f32> = (0..size * size)
        .map(|i| {
            let (y, x) = ((i / size) as f64 - 15.5, (i % size) as f64 - 15.5);
            f32::from(u8::from(y * y + x * x < 64.0))
        })
        .collect();
    let mass: f32 = disc.iter().sum();
    let params = AugmentParams::default();
    for seed in 0..20 {
        let mut a = disc.clone();
        warp(&mut ChaCha8Rng::seed_from_u64(seed), &mut a, size, &params);
        let mut b = disc.clone();
        warp(&mut ChaCha8Rng::seed_from_u64(seed), &mut b, size, &params);
        assert_eq!(a, b, "seeded");
        assert!(
            a.iter().all(|v| (0.0..=1.0).contains(v)),
            "convex weights of values in [0, 1]"
        );
        let m: f32 = a.iter().sum();
        // Scale ∈ [0.9, 1.1] changes the area by at most ±21 %; the warp adds a little more.
        assert!((m / mass - 1.0).abs() < 0.3, "seed {seed}: mass {m} vs {mass}");
        assert!(a != disc, "seed {seed}: the warp moved something");
    }
}

#[test]
fn intensity_remap_is_monotone() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut v: Vec<f32> = (0..11).map(|i| i as f32 / 10.0).collect();
    remap_intensity(&mut rng, &mut v);
    assert!(v.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(v[0], 0.0);
    assert!(v[10] >= 0.85 && v[10] <= 1.15);
}

/// Second moments (along y, along x) of an image about the image centre.
fn moments(img: &[f32], size: usize) -> (f64, f64) {
    let c = (size as f64 - 1.0) / 2.0;
    let (mut yy, mut xx, mut m) = (0.0, 0.0, 0.0);
    for (i, v) in img.iter().enumerate() {
        let (y, x) = ((i / size) as f64 - c, (i % size) as f64 - c);
        let v = f64::from(*v);
        yy += v * y * y;
        xx += v * x * x;
        m += v;
    }
    (yy / m, xx / m)
}

#[test]
fn aniso_scales_the_axes_apart_and_iso_does_not() {
    let size = 48;
    let c = (size as f64 - 1.0) / 2.0;
    let disc: Vec<f32> = (0..size * size)
        .map(|i| {
            let (y, x) = ((i / size) as f64 - c, (i % size) as f64 - c);
            f32::from(u8::from(y * y + x * x < 100.0))
        })
        .collect();
    let params = |aniso| AugmentParams {
        rotate_deg: 0.0,
        elastic_px: 0.0,
        scale: [0.7, 1.4],
        aniso,
        ..AugmentParams::default()
    };
    let mut far = 0;
    for seed in 0..20 {
        for aniso in [false, true] {
            let mut a = disc.clone();
            warp(&mut ChaCha8Rng::seed_from_u64(seed), &mut a, size, &params(aniso));
            let (my, mx) = moments(&a, size);
            let ratio = (my / mx).sqrt();
            if aniso {
                far += usize::from((ratio.ln()).abs() > 0.05);
            } else {
                assert!((ratio - 1.0).abs() < 0.02, "seed {seed}: iso ratio {ratio}");
            }
        }
    }
    // Two independent log-uniform scales in [0.7, 1.4] differ by over 5 % in ~85 % of draws.
    assert!(
        far >= 12,
        "{far} of 20 anisotropic draws were visibly anisotropic"
    );
}

#[test]
fn sharpen_scales_a_checkerboard_by_its_formula() {
    let size = 16;
    let checker = |i: usize| {
        if (i / size + i % size).is_multiple_of(2) {
            1.0
        } else {
            -1.0
        }
    };
    let img: Vec<f32> = (0..size * size).map(|i| 0.5 + 0.25 * checker(i)).collect();
    // G₁ of (−1)^(y+x) in the interior: (Σ w_k (−1)^k / Σ w_k)² times it.
    let w = [-2.0f64, -1.0, 0.0, 1.0, 2.0].map(|d| (-0.5 * d * d).exp());
    let alt = (w[0] - w[1] + w[2] - w[3] + w[4]) / w.iter().sum::<f64>();
    for amount in [-0.6f32, 0.0, 1.0] {
        let mut out = img.clone();
        sharpen(&mut out, size, amount, true);
        let gain = 1.0 + f64::from(amount) * (1.0 - alt * alt);
        for y in 2..size - 2 {
            for x in 2..size - 2 {
                let i = y * size + x;
                let want = 0.5 + 0.25 * gain * f64::from(checker(i));
                assert!(
                    (f64::from(out[i]) - want).abs() < 1e-5,
                    "a {amount} at ({y}, {x})"
                );
            }
        }
    }
}

#[test]
fn bias_field_is_a_smooth_cubic_of_the_stated_spread() {
    let size = 24;
    let sd = 0.2;
    let coord = |k: usize| 2.0 * k as f64 / (size as f64 - 1.0) - 1.0;
    // E[mean over pixels of b²] = sd² Σ_terms mean(P_i(u)² P_j(v)²), exactly.
    let mut want = 0.0;
    for i in 0..=3usize {
        for j in 0..=(3 - i) {
            if i + j > 0 {
                let mean: f64 = (0..size * size)
                    .map(|p| (legendre(i, coord(p % size)) * legendre(j, coord(p / size))).powi(2))
                    .sum::<f64>()
                    / (size * size) as f64;
                want += sd * sd * mean;
            }
        }
    }
    let draws = 400;
    let mut per_draw = Vec::with_capacity(draws);
    for seed in 0..draws as u64 {
        let mut img = vec![0.5f32; size * size];
        bias_field(&mut ChaCha8Rng::seed_from_u64(seed), &mut img, size, sd);
        let b: Vec<f64> = img.iter().map(|v| (f64::from(*v) / 0.5).ln()).collect();
        assert!(img.iter().all(|v| *v > 0.0 && v.is_finite()));
        // A cubic along each row: its fourth differences vanish (f32 rounding aside).
        for row in b.chunks(size) {
            for k in 0..size - 4 {
                let d4 = row[k] - 4.0 * row[k + 1] + 6.0 * row[k + 2] - 4.0 * row[k + 3] + row[k + 4];
                assert!(d4.abs() < 1e-5, "seed {seed}: fourth difference {d4}");
            }
        }
        per_draw.push(b.iter().map(|v| v * v).sum::<f64>() / b.len() as f64);
    }
    let mean = per_draw.iter().sum::<f64>() / draws as f64;
    let var = per_draw.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (draws - 1) as f64;
    let se = (var / draws as f64).sqrt();
    assert!(
        (mean - want).abs() < 4.0 * se,
        "mean b² {mean} vs {want} (se {se})"
    );
}

#[test]
fn rician_noise_keeps_the_background_and_adds_two_s_squared() {
    let size = 32;
    let s = 0.05;
    let params = AugmentParams {
        p_warp: 0.0,
        p_gamma: 0.0,
        p_noise: 1.0,
        noise: [s, s],
        ..AugmentParams::default()
    };
    let img: Vec<f32> = (0..size * size)
        .map(|i| if i % 3 == 0 { 0.0 } else { 0.4 })
        .collect();
    let mut excess = Vec::new();
    for seed in 0..50 {
        let mut out = img.clone();
        augment_full(
            &mut ChaCha8Rng::seed_from_u64(seed),
            &mut out,
            size,
            true,
            &params,
        );
        for (o, x) in out.iter().zip(&img) {
            if *x == 0.0 {
                assert_eq!(*o, 0.0, "background stays 0");
            } else {
                excess.push(f64::from(*o).powi(2) - f64::from(*x).powi(2));
            }
        }
    }
    // |x + s n₁ + i s n₂|² − x² = 2 x s n₁ + s²(n₁² + n₂²): mean 2 s², variance 4x²s² + 4s⁴.
    let n = excess.len() as f64;
    let mean = excess.iter().sum::<f64>() / n;
    let se = ((4.0 * 0.16 * s * s + 4.0 * s.powi(4)) / n).sqrt();
    assert!((mean - 2.0 * s * s).abs() < 4.0 * se, "{mean} vs {}", 2.0 * s * s);
}

#[test]
fn default_settings_draw_what_the_original_recipe_drew() {
    // The original recipe: warp with probability 0.75, then (real) remap with probability 0.5, no
    // other draw. Old checkpoints resume on these streams.
    let size = 16;
    let img: Vec<f32> = (0..size * size).map(|i| (i % 7) as f32 / 7.0).collect();
    let params = AugmentParams::default();
    for seed in 0..30 {
        let mut a = img.clone();
        let mut ra = ChaCha8Rng::seed_from_u64(seed);
        augment_full(&mut ra, &mut a, size, true, &params);
        let mut b = img.clone();
        let mut rb = ChaCha8Rng::seed_from_u64(seed);
        if rb.random::<f64>() < 0.75 {
            warp(&mut rb, &mut b, size, &params);
        }
        if rb.random::<f64>() < 0.5 {
            remap_intensity(&mut rb, &mut b);
        }
        assert_eq!(a, b, "seed {seed}");
        assert_eq!(
            ra.random::<u64>(),
            rb.random::<u64>(),
            "seed {seed}: same stream after"
        );
    }
}

#[test]
fn bad_settings_name_their_flag() {
    let bad = |p: AugmentParams| p.invalid().unwrap();
    let d = AugmentParams::default;
    assert!(bad(AugmentParams { p_bias: 1.5, ..d() }).contains("--p-bias"));
    assert!(bad(AugmentParams {
        scale: [1.2, 0.9],
        ..d()
    })
    .contains("--scale"));
    assert!(bad(AugmentParams {
        noise: [0.0, 0.1],
        ..d()
    })
    .contains("--noise"));
    assert!(bad(AugmentParams {
        rotate_deg: f64::NAN,
        ..d()
    })
    .contains("--rotate"));
    assert!(bad(AugmentParams {
        elastic_px: -1.0,
        ..d()
    })
    .contains("--elastic"));
    assert!(d().invalid().is_none());
}
