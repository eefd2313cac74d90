//! Supports, type rules, signatures and the errors of the densities: out-of-support values and
//! parameters are refused with a message naming the distribution and the parameter.

use super::{complex, log_density, real};
use crate::dist::{find, signatures, DensityError, Role, RuleError, Support, REGISTRY};
use crate::graph::{Ty, Value};

fn s(v: f64) -> Value {
    Value::scalar(v)
}

/// `name(params)` at `x` is out of the support, and the message contains every word of `words`.
fn refused(name: &str, x: Value, params: &[Value], words: &[&str]) {
    let d = find(name).unwrap();
    match log_density(d, &x, params, 0.0) {
        Err(DensityError::OutOfSupport(m)) => {
            for w in words {
                assert!(m.contains(w), "{name}: `{m}` does not name `{w}`");
            }
        }
        other => panic!("{name} at {x:?} with {params:?}: {other:?}"),
    }
}

#[test]
fn values_and_parameters_outside_the_support_are_refused_by_name() {
    let x = real(&[0.5, 0.7]);
    refused(
        "HalfNormal",
        real(&[0.5, -0.1]),
        &[s(1.0)],
        &["HalfNormal", "value", "-0.1"],
    );
    refused(
        "HalfNormal",
        x.clone(),
        &[s(-1.0)],
        &["HalfNormal", "sigma", "-1"],
    );
    refused(
        "LogNormal",
        real(&[0.0]),
        &[s(0.0), s(1.0)],
        &["LogNormal", "value"],
    );
    refused("LogNormal", x.clone(), &[s(0.0), s(0.0)], &["LogNormal", "sigma"]);
    refused(
        "Exponential",
        x.clone(),
        &[real(&[1.0, f64::NAN])],
        &["Exponential", "rate", "NaN"],
    );
    refused("Gamma", x.clone(), &[s(0.0), s(1.0)], &["Gamma", "alpha"]);
    refused("Gamma", x.clone(), &[s(1.0), s(-2.0)], &["Gamma", "beta"]);
    refused(
        "InverseGamma",
        real(&[-1.0]),
        &[s(1.0), s(1.0)],
        &["InverseGamma", "value"],
    );
    refused(
        "StudentT",
        x.clone(),
        &[s(-3.0), s(0.0), s(1.0)],
        &["StudentT", "nu"],
    );
    refused(
        "StudentT",
        x.clone(),
        &[s(3.0), s(0.0), s(f64::INFINITY)],
        &["StudentT", "sigma"],
    );
    refused("HalfCauchy", real(&[-2.0]), &[s(1.0)], &["HalfCauchy", "value"]);
    refused("Laplace", x.clone(), &[s(0.0), s(0.0)], &["Laplace", "b"]);
    refused(
        "Uniform",
        real(&[2.5]),
        &[s(0.0), s(2.0)],
        &["Uniform", "outside"],
    );
    refused(
        "Uniform",
        x.clone(),
        &[s(1.0), s(1.0)],
        &["Uniform", "lower < upper"],
    );
    refused("Beta", real(&[1.0]), &[s(1.0), s(1.0)], &["Beta", "value"]);
    refused("Beta", x.clone(), &[s(1.0), s(-1.0)], &["Beta", "b"]);
    refused("Rician", real(&[0.0]), &[s(1.0), s(1.0)], &["Rician", "data"]);
    refused(
        "Rician",
        x.clone(),
        &[real(&[1.0, 1.0]), s(0.0)],
        &["Rician", "sigma"],
    );
    refused(
        "Flat",
        real(&[1.0, -0.5]),
        &[s(0.0), s(f64::INFINITY)],
        &["Flat", "-0.5", "x > 0"],
    );
    refused("Flat", x.clone(), &[s(2.0), s(1.0)], &["Flat", "lower < upper"]);
    refused("Normal", x.clone(), &[s(0.0), s(-1.0)], &["Normal", "sigma"]);
    refused("Poisson", real(&[1.0]), &[real(&[0.0])], &["Poisson", "rate"]);
}

#[test]
fn real_valued_distributions_refuse_complex_values_and_parameters() {
    let z = complex(&[(0.5, 0.1)]);
    for d in REGISTRY {
        let Some(sig) = d.signature(Role::Prior).or(d.signature(Role::Likelihood)) else {
            continue;
        };
        if d.support().allows_complex() || super::is_network(*d) {
            continue;
        }
        let params: Vec<Value> = sig.params.iter().map(|_| s(0.5)).collect();
        let got = log_density(*d, &z, &params, 0.0);
        assert!(got.is_err(), "{} took a complex value: {got:?}", d.name());
        let mut params = params;
        if let Some(p) = params.first_mut() {
            *p = complex(&[(0.5, 0.0)]);
            let got = log_density(*d, &real(&[0.5]), &params, 0.0);
            assert!(got.is_err(), "{} took a complex parameter: {got:?}", d.name());
        }
    }
}

#[test]
fn a_parameter_of_another_shape_is_an_error_not_a_panic() {
    for name in ["HalfNormal", "Normal", "Gamma"] {
        let d = find(name).unwrap();
        let n = d.signature(Role::Prior).unwrap().params.len();
        let params: Vec<Value> = (0..n).map(|_| real(&[1.0, 2.0])).collect();
        let got = log_density(d, &real(&[0.5, 0.6, 0.7]), &params, 0.0);
        assert!(
            matches!(got, Err(DensityError::NonFinite(ref m)) if m.contains("shape")),
            "{name}: {got:?}"
        );
    }
}

#[test]
fn supports_follow_the_bounds() {
    let inf = f64::INFINITY;
    let flat = find("Flat").unwrap();
    let support = |lo: f64, hi: f64| flat.support_for(&[&s(lo), &s(hi)]).unwrap();
    assert_eq!(support(-inf, inf), Support::Real);
    assert_eq!(support(0.0, inf), Support::Positive);
    assert_eq!(support(-1.0, inf), Support::LowerBounded { lo: -1.0 });
    assert_eq!(support(-inf, 3.0), Support::UpperBounded { hi: 3.0 });
    assert_eq!(support(-1.0, 3.0), Support::Interval { lo: -1.0, hi: 3.0 });
    assert!(flat.support_for(&[&s(1.0), &s(1.0)]).is_err());
    let uniform = find("Uniform").unwrap();
    let u = uniform.support_for(&[&s(0.0), &s(1.0)]).unwrap();
    assert_eq!(u, Support::Interval { lo: 0.0, hi: 1.0 });
    assert!(uniform.support_for(&[&s(0.0), &s(inf)]).is_err());
    let fixed = [
        ("HalfNormal", Support::Positive),
        ("Beta", Support::Interval { lo: 0.0, hi: 1.0 }),
        ("Rician", Support::Positive),
        ("StudentT", Support::Real),
    ];
    for (name, want) in fixed {
        let d = find(name).unwrap();
        assert_eq!(d.support_for(&[]).unwrap(), want, "{name}");
    }
}

#[test]
fn latent_types_come_from_declarations_bounds_or_parameters() {
    let scalar = Ty::real(vec![]);
    let image = Ty::real(vec![4, 4]);
    let flat = find("Flat").unwrap();
    let both = [scalar.clone(), scalar.clone()];
    let none_given = flat.prior_type(&both, &[false, false], None);
    assert_eq!(none_given, Err(RuleError::NeedsDeclaredType));
    assert_eq!(flat.prior_type(&both, &[true, false], None), Ok(scalar.clone()));
    assert_eq!(
        flat.prior_type(&both, &[true, false], Some(&image)),
        Ok(image.clone())
    );
    let cplx = Ty::complex(vec![3]);
    assert_eq!(
        flat.prior_type(&both, &[false, false], Some(&cplx)),
        Ok(cplx.clone())
    );
    assert!(flat.prior_type(&both, &[false, true], Some(&cplx)).is_err());
    let uniform = find("Uniform").unwrap();
    assert_eq!(
        uniform.prior_type(&both, &[true, true], Some(&image)),
        Ok(image.clone())
    );
    let vector_bound = [scalar.clone(), Ty::real(vec![2])];
    let got = uniform.prior_type(&vector_bound, &[true, true], None);
    assert!(
        matches!(got, Err(RuleError::Shape { arg: Some(1), .. })),
        "{got:?}"
    );
    // Real-valued priors refuse a complex latent; Normal takes one.
    let half = find("HalfNormal").unwrap();
    assert!(half
        .prior_type(std::slice::from_ref(&scalar), &[true], Some(&cplx))
        .is_err());
    assert_eq!(
        half.prior_type(std::slice::from_ref(&scalar), &[true], Some(&image)),
        Ok(image)
    );
    let normal = find("Normal").unwrap();
    assert_eq!(normal.prior_type(&both, &[true, true], Some(&cplx)), Ok(cplx));
}

#[test]
fn signatures_show_optional_parameters_and_constraints() {
    assert_eq!(
        signatures("Flat"),
        ["Flat(lower = -inf, upper = inf) (prior, scalar bounds, lower < upper, without bounds the latent's type must be declared)"]
    );
    assert_eq!(
        signatures("StudentT"),
        [
            "StudentT(nu, mu, sigma) (prior, nu > 0, sigma > 0)",
            "StudentT(nu, mu, sigma) (likelihood, nu > 0, sigma > 0)"
        ]
    );
    assert_eq!(
        signatures("Rician"),
        ["Rician(nu, sigma) (likelihood, sigma > 0, real data, data >= 0)"]
    );
    assert_eq!(
        crate::dist::usages(Role::Prior)
            .iter()
            .find(|u| u.starts_with("Flat"))
            .map(String::as_str),
        Some("Flat(lower = -inf, upper = inf)")
    );
}

#[test]
fn the_rician_is_even_in_nu() {
    let d = find("Rician").unwrap();
    let y = real(&[0.4, 1.7]);
    let plus = log_density(d, &y, &[real(&[0.8, 1.2]), s(0.5)], 0.0).unwrap();
    let minus = log_density(d, &y, &[real(&[-0.8, -1.2]), s(0.5)], 0.0).unwrap();
    assert!((plus.log_p - minus.log_p).abs() < 1e-12);
    let (Some(Value::Real(a)), Some(Value::Real(b))) = (&plus.d_params[0], &minus.d_params[0]) else {
        panic!("{plus:?}");
    };
    assert!(
        a.iter().zip(b.iter()).all(|(p, m)| (p + m).abs() < 1e-12),
        "{a} vs {b}"
    );
}
