//! Every registered distribution against closed forms: log densities from scipy, gradients in the
//! variate and every parameter by finite differences, broadcasting, supports and error messages. A
//! distribution registered without a case fails `every_distribution_has_a_case`.

#![allow(clippy::unwrap_used)]

mod cases;
mod errors;
mod prior_draws;
mod replicates;

use super::{find, Density, DensityError, Distribution, ParamKind, Role, REGISTRY};
use crate::graph::Value;
use cases::{density_cases, prior_cases};
use ndarray::{Array2, ArrayD, IxDyn};
use num_complex::Complex64;

fn real(v: &[f64]) -> Value {
    Value::Real(ArrayD::from_shape_vec(IxDyn(&[v.len()]), v.to_vec()).unwrap())
}

fn complex(v: &[(f64, f64)]) -> Value {
    let z = v.iter().map(|&(re, im)| Complex64::new(re, im)).collect();
    Value::Complex(ArrayD::from_shape_vec(IxDyn(&[v.len()]), z).unwrap())
}

/// The priors registered without a pointwise density: learned networks, loaded from their file.
fn is_network(d: &dyn Distribution) -> bool {
    d.signature(Role::Prior)
        .is_some_and(|s| s.params.iter().any(|p| p.kind == ParamKind::ScoreFile))
}

/// True when `d` evaluates a log density itself (not only through a score model).
fn has_log_density(d: &dyn Distribution) -> bool {
    !matches!(
        d.log_density(&Value::scalar(0.5), &[], 0.0),
        Err(DensityError::Unavailable(_))
    )
}

#[test]
fn every_distribution_has_a_case() {
    let (dens, pri) = (density_cases(), prior_cases());
    let has = |name: &str, role| dens.iter().any(|c| c.name == name && c.role == role);
    for d in REGISTRY {
        if d.signature(Role::Likelihood).is_some() {
            assert!(
                has(d.name(), Role::Likelihood),
                "no likelihood case for {}",
                d.name()
            );
        }
        if d.signature(Role::Prior).is_some() && !is_network(*d) {
            if has_log_density(*d) {
                assert!(
                    has(d.name(), Role::Prior),
                    "no prior density case for {}",
                    d.name()
                );
            } else {
                let built = pri.iter().any(|c| c.name == d.name());
                assert!(built, "no prior case for {}", d.name());
            }
        }
    }
    let names = dens.iter().map(|c| c.name).chain(pri.iter().map(|c| c.name));
    names.for_each(|n| assert!(find(n).is_some(), "case for unregistered {n}"));
}

/// Element `i` of `v` moved by `h` (along the imaginary axis when `im`).
fn nudge(v: &Value, i: usize, im: bool, h: f64) -> Value {
    let mut v = v.clone();
    match &mut v {
        Value::Real(a) => a.iter_mut().nth(i).into_iter().for_each(|x| *x += h),
        Value::Complex(a) => {
            let d = if im {
                Complex64::new(0.0, h)
            } else {
                Complex64::new(h, 0.0)
            };
            a.iter_mut().nth(i).into_iter().for_each(|z| *z += d);
        }
    }
    v
}

/// Component `i` (real or imaginary part) of a gradient in the `∂/∂re + i ∂/∂im` convention.
fn component(g: &Value, i: usize, im: bool) -> f64 {
    match g {
        Value::Real(a) => a.iter().nth(i).copied().unwrap(),
        Value::Complex(a) => a.iter().nth(i).map(|z| if im { z.im } else { z.re }).unwrap(),
    }
}

/// Central differences of `f` at `v` against the gradient `g`, element by element; `g` must have
/// `v`'s shape and kind. Infinite entries (Flat's default bounds) are skipped.
fn check_gradient(what: &str, v: &Value, g: &Value, f: impl Fn(&Value) -> f64) {
    assert_eq!(g.shape(), v.shape(), "{what}: gradient shape");
    assert_eq!(g.is_complex(), v.is_complex(), "{what}: gradient kind");
    let h = 1e-6;
    for i in 0..v.shape().iter().product() {
        if !component(v, i, false).is_finite() {
            continue;
        }
        for im in [false, true].into_iter().take(if v.is_complex() { 2 } else { 1 }) {
            let fd = (f(&nudge(v, i, im, h)) - f(&nudge(v, i, im, -h))) / (2.0 * h);
            let got = component(g, i, im);
            assert!(
                (fd - got).abs() < 1e-6 * (1.0 + fd.abs()),
                "{what}[{i}] im={im}: {fd} vs {got}"
            );
        }
    }
}

fn log_density(
    d: &dyn Distribution,
    x: &Value,
    params: &[Value],
    level: f64,
) -> Result<Density, DensityError> {
    let refs: Vec<&Value> = params.iter().collect();
    d.log_density(x, &refs, level)
}

#[test]
fn log_densities_match_closed_forms_and_finite_differences() {
    for c in density_cases() {
        let what = format!("{} {:?} at {:?}", c.name, c.role, c.x);
        let d = find(c.name).unwrap();
        let sig = d
            .signature(c.role)
            .unwrap_or_else(|| panic!("{what}: no signature"));
        assert_eq!(sig.params.len(), c.params.len(), "{what}");
        let dens = log_density(d, &c.x, &c.params, c.level).unwrap_or_else(|e| panic!("{what}: {e}"));
        let tol = 1e-12 * (1.0 + c.log_p.abs());
        assert!(
            (dens.log_p - c.log_p).abs() < tol,
            "{what}: {} vs {}",
            dens.log_p,
            c.log_p
        );
        assert_eq!(dens.d_params.len(), c.params.len(), "{what}");
        let at = |x: &Value, params: &[Value]| log_density(d, x, params, c.level).unwrap().log_p;
        for (j, g) in dens.d_params.iter().enumerate() {
            let g = g
                .as_ref()
                .unwrap_or_else(|| panic!("{what}: no d/d{}", sig.params[j].name));
            check_gradient(
                &format!("{what} d/d{}", sig.params[j].name),
                &c.params[j],
                g,
                |v| {
                    let mut p = c.params.clone();
                    p[j] = v.clone();
                    at(&c.x, &p)
                },
            );
        }
        match &dens.d_x {
            Some(g) => check_gradient(&format!("{what} d/dx"), &c.x, g, |x| at(x, &c.params)),
            None => assert!(d.support().is_discrete(), "{what}: no d/dx"),
        }
    }
}

/// A scalar parameter gives what the same value repeated over the variate gives, and its gradient
/// is the sum of the repeated one's.
#[test]
fn scalar_parameters_broadcast_and_their_gradients_are_sums() {
    for c in density_cases() {
        let n: usize = c.x.shape().iter().product();
        let d = find(c.name).unwrap();
        let scalar = log_density(d, &c.x, &c.params, c.level).unwrap();
        let sig = d.signature(c.role).unwrap();
        for (j, p) in c.params.iter().enumerate() {
            let Value::Real(a) = p else { continue };
            // Bounds (`ty` "real", or optional) are scalars by definition.
            let always_scalar = sig.params[j].ty == "real" || sig.params[j].default.is_some();
            if a.len() != 1 || n == 1 || always_scalar {
                continue;
            }
            let mut spread = c.params.clone();
            spread[j] = Value::Real(ArrayD::from_elem(IxDyn(c.x.shape()), a.iter().copied().sum()));
            let full = log_density(d, &c.x, &spread, c.level).unwrap();
            let what = format!("{} {:?} param {j}", c.name, c.role);
            assert!((full.log_p - scalar.log_p).abs() < 1e-12, "{what}");
            let sum_full: f64 = component_sum(full.d_params[j].as_ref().unwrap());
            let one = component_sum(scalar.d_params[j].as_ref().unwrap());
            assert!(
                (sum_full - one).abs() < 1e-10 * (1.0 + one.abs()),
                "{what}: {sum_full} vs {one}"
            );
        }
    }
}

fn component_sum(v: &Value) -> f64 {
    match v {
        Value::Real(a) => a.sum(),
        Value::Complex(a) => a.iter().map(|z| z.re + z.im).sum(),
    }
}

/// A latent's flat values (complex: interleaved re, im) as a vector value.
fn flat_to_value(x: &[f64], is_complex: bool) -> Value {
    if is_complex {
        let z: Vec<(f64, f64)> = x.chunks(2).map(|c| (c[0], c[1])).collect();
        complex(&z)
    } else {
        real(x)
    }
}

/// Built priors against closed forms; where the distribution also has a log density (the
/// graph-term form the posterior uses for latent parameters) the two forms agree.
#[test]
fn priors_match_closed_forms_and_their_scores_are_gradients() {
    for c in prior_cases() {
        let d = find(c.name).unwrap();
        let prior = d.build_prior(&c.params, c.x.len(), c.complex).unwrap();
        let x = Array2::from_shape_vec((1, c.x.len()), c.x.clone()).unwrap();
        let lp = prior.log_density(x.view(), c.level).unwrap()[0];
        assert!((lp - c.log_p).abs() < 1e-10, "{}: {lp} vs {}", c.name, c.log_p);
        if has_log_density(d) {
            let v = flat_to_value(&c.x, c.complex);
            let direct = log_density(d, &v, &c.params, c.level).unwrap().log_p;
            assert!(
                (direct - lp).abs() < 1e-10,
                "{}: log_density {direct} vs score model {lp}",
                c.name
            );
        }
        let score = prior.score(x.view(), c.level).unwrap();
        let h = 1e-6;
        for j in 0..c.x.len() {
            let (mut p, mut m) = (x.clone(), x.clone());
            p[[0, j]] += h;
            m[[0, j]] -= h;
            let f = |a: &Array2<f64>| prior.log_density(a.view(), c.level).unwrap()[0];
            let fd = (f(&p) - f(&m)) / (2.0 * h);
            assert!(
                (fd - score[[0, j]]).abs() < 1e-6,
                "{} score[{j}]: {fd} vs {}",
                c.name,
                score[[0, j]]
            );
        }
    }
}

#[test]
fn likelihood_only_distributions_cannot_build_a_prior() {
    for d in REGISTRY.iter().filter(|d| d.signature(Role::Prior).is_none()) {
        assert!(d.build_prior(&[], 3, false).is_err(), "{}", d.name());
    }
}
