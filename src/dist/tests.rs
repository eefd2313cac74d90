//! Every registered distribution against closed forms: log densities by hand, gradients by finite
//! differences. A distribution registered without a case here fails `every_distribution_has_a_case`.

#![allow(clippy::unwrap_used)]

use super::{find, Density, ParamKind, Role, REGISTRY};
use crate::graph::Value;
use ndarray::{Array2, ArrayD, IxDyn};
use num_complex::Complex64;

fn real(v: &[f64]) -> Value {
    Value::Real(ArrayD::from_shape_vec(IxDyn(&[v.len()]), v.to_vec()).unwrap())
}

fn complex(v: &[(f64, f64)]) -> Value {
    let z = v.iter().map(|&(re, im)| Complex64::new(re, im)).collect();
    Value::Complex(ArrayD::from_shape_vec(IxDyn(&[v.len()]), z).unwrap())
}

/// `name`'s log density at `x` with `params` and `level` is `log_p` (computed by hand, below).
struct LikelihoodCase {
    name: &'static str,
    x: Value,
    params: Vec<Value>,
    level: f64,
    log_p: f64,
}

/// The prior `name(params)` of a latent with `x.len()` flat values has log density `log_p` at `x`.
struct PriorCase {
    name: &'static str,
    params: Vec<Value>,
    complex: bool,
    x: Vec<f64>,
    level: f64,
    log_p: f64,
}

// Reference values (Python, `L(v) = -0.5*log(2*pi*v)`):
//   N1  = sum(-(y-m)**2/(2*v) + L(v)) for y in [0.3,-1,2], m in [0.1,0.2,0.3], v = 0.7**2 + 0.2**2
//   N2  = sum(-abs(y-m)**2/(2*s*s) + 2*L(s*s)) for y in [1+2j,-0.5], m in [0.5-1j,0.25j], s in [0.8,1.5]
//   P   = sum(y*log(l) - l - lgamma(y+1)) for y in [0,1,3], l in [0.5,2,3]
//   NP  = sum(-(x-0.5)**2/(2*v) + L(v)) for x in [0,1,-1], v = t*t + 0.25 for t in [1,2,0.5]
//   NPc = sum(-(x-m)**2/2 + L(1)) for x in [0.5,0.5,-1,2], m in [1,0,1,0]  (complex[2], real mean 1)
//   GM  = log(sum(w*exp(sum(-(x-mu)**2/(2*v) + L(v) for x in [0.1,1.5])))) over
//         (w, mu, s) in [(0.3,-1,0.5), (0.7,2,1)], v = s*s + 0.3**2
fn likelihood_cases() -> Vec<LikelihoodCase> {
    vec![
        LikelihoodCase {
            name: "Normal",
            x: real(&[0.3, -1.0, 2.0]),
            params: vec![real(&[0.1, 0.2, 0.3]), Value::scalar(0.7)],
            level: 0.2,
            log_p: -5.927139700394026,
        },
        LikelihoodCase {
            name: "Normal",
            x: complex(&[(1.0, 2.0), (-0.5, 0.0)]),
            params: vec![complex(&[(0.5, -1.0), (0.0, 0.25)]), real(&[0.8, 1.5])],
            level: 0.0,
            log_p: -11.336404190851042,
        },
        LikelihoodCase {
            name: "Poisson",
            x: real(&[0.0, 1.0, 3.0]),
            params: vec![real(&[0.5, 2.0, 3.0])],
            level: 0.7,
            log_p: -3.302775422663781,
        },
    ]
}

fn prior_cases() -> Vec<PriorCase> {
    vec![
        PriorCase {
            name: "Normal",
            params: vec![Value::scalar(0.5), real(&[1.0, 2.0, 0.5])],
            complex: false,
            x: vec![0.0, 1.0, -1.0],
            level: 0.5,
            log_p: -5.624685041165195,
        },
        PriorCase {
            name: "Normal",
            params: vec![Value::scalar(1.0), Value::scalar(1.0)],
            complex: true,
            x: vec![0.5, 0.5, -1.0, 2.0],
            level: 0.0,
            log_p: -7.925754132818691,
        },
        PriorCase {
            name: "GaussianMixture",
            params: vec![real(&[0.3, 0.7]), real(&[-1.0, 2.0]), real(&[0.5, 1.0])],
            complex: false,
            x: vec![0.1, 1.5],
            level: 0.3,
            log_p: -4.051233087524357,
        },
        PriorCase {
            name: "Flat",
            params: vec![],
            complex: false,
            x: vec![1.0, -2.0, 3.0],
            level: 0.4,
            log_p: 0.0,
        },
    ]
}

/// The priors registered without a pointwise density: learned networks, loaded from their file.
fn is_network(d: &dyn super::Distribution) -> bool {
    d.signature(Role::Prior)
        .is_some_and(|s| s.params.iter().any(|p| p.kind == ParamKind::ScoreFile))
}

#[test]
fn every_distribution_has_a_case() {
    let (lik, pri) = (likelihood_cases(), prior_cases());
    for d in REGISTRY {
        if d.signature(Role::Likelihood).is_some() {
            assert!(
                lik.iter().any(|c| c.name == d.name()),
                "no likelihood case for {}",
                d.name()
            );
        }
        if d.signature(Role::Prior).is_some() && !is_network(*d) {
            assert!(
                pri.iter().any(|c| c.name == d.name()),
                "no prior case for {}",
                d.name()
            );
        }
    }
    let names = lik.iter().map(|c| c.name).chain(pri.iter().map(|c| c.name));
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

/// Central differences of `f` at `v` against the gradient `g`, element by element.
fn check_gradient(what: &str, v: &Value, g: &Value, f: impl Fn(&Value) -> f64) {
    let h = 1e-6;
    for i in 0..v.shape().iter().product() {
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

#[test]
fn likelihoods_match_closed_forms_and_finite_differences() {
    for c in likelihood_cases() {
        let d = find(c.name).unwrap();
        let refs: Vec<&Value> = c.params.iter().collect();
        let dens: Density = d.log_density(&c.x, &refs, c.level).unwrap();
        assert!(
            (dens.log_p - c.log_p).abs() < 1e-10,
            "{}: {} vs {}",
            c.name,
            dens.log_p,
            c.log_p
        );
        assert_eq!(dens.d_params.len(), c.params.len(), "{}", c.name);
        let at = |x: &Value, params: &[Value]| {
            let refs: Vec<&Value> = params.iter().collect();
            d.log_density(x, &refs, c.level).unwrap().log_p
        };
        for (j, g) in dens.d_params.iter().enumerate() {
            let g = g.as_ref().unwrap();
            check_gradient(&format!("{} d/dparam{j}", c.name), &c.params[j], g, |v| {
                let mut p = c.params.clone();
                p[j] = v.clone();
                at(&c.x, &p)
            });
        }
        match &dens.d_x {
            Some(g) => check_gradient(&format!("{} d/dx", c.name), &c.x, g, |x| at(x, &c.params)),
            None => assert!(d.support().is_discrete(), "{} has no d/dx", c.name),
        }
    }
}

#[test]
fn priors_match_closed_forms_and_their_scores_are_gradients() {
    for c in prior_cases() {
        let d = find(c.name).unwrap();
        let prior = d.build_prior(&c.params, c.x.len(), c.complex).unwrap();
        let x = Array2::from_shape_vec((1, c.x.len()), c.x.clone()).unwrap();
        let lp = prior.log_density(x.view(), c.level).unwrap()[0];
        assert!((lp - c.log_p).abs() < 1e-10, "{}: {lp} vs {}", c.name, c.log_p);
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
