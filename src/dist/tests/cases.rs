//! The closed-form cases: reference log densities from scipy (the Python line above each), at
//! points inside the support and away from kinks so that finite differences apply.

use super::{complex, real};
use crate::dist::Role;
use crate::graph::Value;

/// `name`'s log density in `role` at `x` with `params` and `level` is `log_p`.
pub struct DensityCase {
    pub name: &'static str,
    pub role: Role,
    pub x: Value,
    pub params: Vec<Value>,
    pub level: f64,
    pub log_p: f64,
}

/// The prior `name(params)` built as a score model for a latent of `x.len()` flat values (complex:
/// interleaved re, im) has log density `log_p` at `x`.
pub struct PriorCase {
    pub name: &'static str,
    pub params: Vec<Value>,
    pub complex: bool,
    pub x: Vec<f64>,
    pub level: f64,
    pub log_p: f64,
}

fn case(name: &'static str, role: Role, x: Value, params: Vec<Value>, level: f64, log_p: f64) -> DensityCase {
    DensityCase {
        name,
        role,
        x,
        params,
        level,
        log_p,
    }
}

fn s(v: f64) -> Value {
    Value::scalar(v)
}

fn cs(re: f64, im: f64) -> Value {
    Value::Complex(ndarray::ArrayD::from_elem(
        ndarray::IxDyn(&[]),
        num_complex::Complex64::new(re, im),
    ))
}

const INF: f64 = f64::INFINITY;

// Python: `from scipy import stats as st; import numpy as np; A = np.array; L = lambda v: -0.5*np.log(2*np.pi*v)`.
pub fn density_cases() -> Vec<DensityCase> {
    use Role::{Likelihood as Lik, Prior};
    vec![
        // sum(-(y-m)**2/(2*v) + L(v)) for y in [0.3,-1,2], m in [0.1,0.2,0.3], v = 0.7**2 + 0.2**2
        case(
            "Normal",
            Lik,
            real(&[0.3, -1.0, 2.0]),
            vec![real(&[0.1, 0.2, 0.3]), s(0.7)],
            0.2,
            -5.927139700394026,
        ),
        // sum(-abs(y-m)**2/(2*s*s) + 2*L(s*s)) for y in [1+2j,-0.5], m in [0.5-1j,0.25j], s in [0.8,1.5]
        case(
            "Normal",
            Lik,
            complex(&[(1.0, 2.0), (-0.5, 0.0)]),
            vec![complex(&[(0.5, -1.0), (0.0, 0.25)]), real(&[0.8, 1.5])],
            0.0,
            -11.336404190851042,
        ),
        // sum(-(x-0.5)**2/(2*v) + L(v)) for x in [0,1,-1], v = t*t + 0.25 for t in [1,2,0.5]
        case(
            "Normal",
            Prior,
            real(&[0.0, 1.0, -1.0]),
            vec![s(0.5), real(&[1.0, 2.0, 0.5])],
            0.5,
            -5.624685041165195,
        ),
        // st.norm.logpdf(A([0.3,-0.2,1.1]), loc=0.1, scale=0.6).sum()
        case(
            "Normal",
            Prior,
            real(&[0.3, -0.2, 1.1]),
            vec![s(0.1), s(0.6)],
            0.0,
            -2.7937831727604903,
        ),
        // sum(-(x-m)**2/2 + L(1)) for x in [0.5,0.5,-1,2], m in [1,0,1,0]  (complex[2], real mean 1)
        case(
            "Normal",
            Prior,
            complex(&[(0.5, 0.5), (-1.0, 2.0)]),
            vec![s(1.0), s(1.0)],
            0.0,
            -7.925754132818691,
        ),
        // sum(y*log(l) - l - lgamma(y+1)) for y in [0,1,3], l in [0.5,2,3]
        case(
            "Poisson",
            Lik,
            real(&[0.0, 1.0, 3.0]),
            vec![real(&[0.5, 2.0, 3.0])],
            0.7,
            -3.302775422663781,
        ),
        // st.halfnorm.logpdf(A([0.3,1.2,2.5]), scale=1.5).sum()
        case(
            "HalfNormal",
            Prior,
            real(&[0.3, 1.2, 2.5]),
            vec![s(1.5)],
            0.3,
            -3.6226582711475643,
        ),
        // st.halfnorm.logpdf(A([0.3,1.2]), scale=A([0.5,2.0])).sum()
        case(
            "HalfNormal",
            Prior,
            real(&[0.3, 1.2]),
            vec![real(&[0.5, 2.0])],
            0.0,
            -0.811582705289455,
        ),
        // st.lognorm.logpdf(A([0.5,1.5,3.0]), s=0.8, scale=np.exp(A([0.1,-0.2,0.4]))).sum()
        case(
            "LogNormal",
            Prior,
            real(&[0.5, 1.5, 3.0]),
            vec![real(&[0.1, -0.2, 0.4]), s(0.8)],
            0.0,
            -4.057478893953902,
        ),
        // st.expon.logpdf(A([0.2,1.0,3.5]), scale=1/0.7).sum()
        case(
            "Exponential",
            Prior,
            real(&[0.2, 1.0, 3.5]),
            vec![s(0.7)],
            0.0,
            -4.360024831816197,
        ),
        // st.gamma.logpdf(A([0.4,1.3,2.2]), a=A([2.5,0.8,1.7]), scale=1/1.3).sum()
        case(
            "Gamma",
            Prior,
            real(&[0.4, 1.3, 2.2]),
            vec![real(&[2.5, 0.8, 1.7]), s(1.3)],
            0.0,
            -4.974102327577977,
        ),
        // st.invgamma.logpdf(A([0.4,1.3,2.2]), a=3.0, scale=A([0.5,1.5,2.0])).sum()
        case(
            "InverseGamma",
            Prior,
            real(&[0.4, 1.3, 2.2]),
            vec![s(3.0), real(&[0.5, 1.5, 2.0])],
            0.0,
            -4.714106852122831,
        ),
        // st.t.logpdf(A([-1.0,0.3,4.0]), df=3.5, loc=0.5, scale=A([1.0,2.0,0.7])).sum()
        case(
            "StudentT",
            Prior,
            real(&[-1.0, 0.3, 4.0]),
            vec![s(3.5), s(0.5), real(&[1.0, 2.0, 0.7])],
            0.0,
            -9.146862927069671,
        ),
        // st.t.logpdf(A([0.2,-1.5,2.0]), df=A([4.0,1.5,10.0]), loc=A([0.0,-1.0,1.0]), scale=0.9).sum()
        case(
            "StudentT",
            Lik,
            real(&[0.2, -1.5, 2.0]),
            vec![real(&[4.0, 1.5, 10.0]), real(&[0.0, -1.0, 1.0]), s(0.9)],
            0.4,
            -3.5901164667405365,
        ),
        // Complex values: real and imaginary parts each.
        // x=A([1+0.5j,-2-1j]); mu=A([0.5-0.2j,-1.5+0j]); sg=A([0.8,1.4])
        // st.t.logpdf(x.real, df=3.0, loc=mu.real, scale=sg).sum() + st.t.logpdf(x.imag, df=3.0, loc=mu.imag, scale=sg).sum()
        case(
            "StudentT",
            Lik,
            complex(&[(1.0, 0.5), (-2.0, -1.0)]),
            vec![s(3.0), complex(&[(0.5, -0.2), (-1.5, 0.0)]), real(&[0.8, 1.4])],
            0.0,
            -5.327019611203751,
        ),
        // x=A([0.9-0.4j,-0.2+1.3j]); nu=A([2.5,6.0])
        // st.t.logpdf(x.real, df=nu, loc=0.2, scale=0.9).sum() + st.t.logpdf(x.imag, df=nu, loc=0.1, scale=0.9).sum()
        case(
            "StudentT",
            Prior,
            complex(&[(0.9, -0.4), (-0.2, 1.3)]),
            vec![real(&[2.5, 6.0]), cs(0.2, 0.1), s(0.9)],
            0.0,
            -5.137281601225732,
        ),
        // A real location is the real part's (the imaginary part's is 0); b=A([0.6,1.1])
        // st.laplace.logpdf(x.real, loc=0.3, scale=b).sum() + st.laplace.logpdf(x.imag, loc=0.0, scale=b).sum()
        case(
            "Laplace",
            Prior,
            complex(&[(0.9, -0.4), (-0.2, 1.3)]),
            vec![s(0.3), real(&[0.6, 1.1])],
            0.0,
            -5.244588137346753,
        ),
        // st.halfcauchy.logpdf(A([0.1,1.0,7.0]), scale=2.0).sum()
        case(
            "HalfCauchy",
            Prior,
            real(&[0.1, 1.0, 7.0]),
            vec![s(2.0)],
            0.0,
            -6.243827641493229,
        ),
        // st.laplace.logpdf(A([-0.5,0.7,2.0]), loc=0.2, scale=1.3).sum()
        case(
            "Laplace",
            Prior,
            real(&[-0.5, 0.7, 2.0]),
            vec![s(0.2), s(1.3)],
            0.0,
            -5.174226642774617,
        ),
        // st.laplace.logpdf(A([1.0,-2.0,0.5]), loc=A([0.5,-1.0,1.5]), scale=A([0.5,1.0,2.0])).sum()
        case(
            "Laplace",
            Lik,
            real(&[1.0, -2.0, 0.5]),
            vec![real(&[0.5, -1.0, 1.5]), real(&[0.5, 1.0, 2.0])],
            0.2,
            -4.579441541679836,
        ),
        // st.uniform.logpdf(A([0.2,0.9,-0.4]), loc=-1, scale=3).sum()
        case(
            "Uniform",
            Prior,
            real(&[0.2, 0.9, -0.4]),
            vec![s(-1.0), s(2.0)],
            0.0,
            -3.295836866004329,
        ),
        // st.beta.logpdf(A([0.2,0.55,0.9]), 2.5, A([0.7,3.0,1.2])).sum()
        case(
            "Beta",
            Prior,
            real(&[0.2, 0.55, 0.9]),
            vec![s(2.5), real(&[0.7, 3.0, 1.2])],
            0.0,
            -0.9109403159794505,
        ),
        // nu = A([0.3,1.0,2.5]); st.rice.logpdf(A([0.5,1.2,3.0]), b=nu/0.7, scale=0.7).sum()
        case(
            "Rician",
            Lik,
            real(&[0.5, 1.2, 3.0]),
            vec![real(&[0.3, 1.0, 2.5]), s(0.7)],
            0.0,
            -1.4633679359608618,
        ),
        // Bessel arguments y·nu/σ² ≈ 1e6 and 2.6e6 (I₀ overflows; the scaled form does not):
        // nu = A([50.3,80.0]); st.rice.logpdf(A([50.0,80.2]), b=nu/0.05, scale=0.05).sum()
        case(
            "Rician",
            Lik,
            real(&[50.0, 80.2]),
            vec![real(&[50.3, 80.0]), s(0.05)],
            0.0,
            -21.848154942079262,
        ),
        // 0 inside the bounds, whatever they are.
        case(
            "Flat",
            Prior,
            real(&[1.0, -2.0, 3.0]),
            vec![s(-INF), s(INF)],
            0.4,
            0.0,
        ),
        case(
            "Flat",
            Prior,
            complex(&[(1.0, -2.0)]),
            vec![s(-INF), s(INF)],
            0.0,
            0.0,
        ),
        case("Flat", Prior, real(&[0.5, 2.0]), vec![s(0.0), s(INF)], 0.0, 0.0),
        case("Flat", Prior, real(&[-3.0, 0.5]), vec![s(-INF), s(1.0)], 0.0, 0.0),
        case("Flat", Prior, real(&[-3.0, 0.5]), vec![s(-4.0), s(1.0)], 0.0, 0.0),
    ]
}

pub fn prior_cases() -> Vec<PriorCase> {
    vec![
        PriorCase {
            name: "Normal",
            params: vec![s(0.5), real(&[1.0, 2.0, 0.5])],
            complex: false,
            x: vec![0.0, 1.0, -1.0],
            level: 0.5,
            log_p: -5.624685041165195,
        },
        PriorCase {
            name: "Normal",
            params: vec![s(1.0), s(1.0)],
            complex: true,
            x: vec![0.5, 0.5, -1.0, 2.0],
            level: 0.0,
            log_p: -7.925754132818691,
        },
        // A complex scalar latent with a real mean: the imaginary part has mean 0.
        // -(0.3-1)**2/(2*.25) - 0.4**2/(2*.25) + 2*L(0.25)
        PriorCase {
            name: "Normal",
            params: vec![s(1.0), s(0.5)],
            complex: true,
            x: vec![0.3, 0.4],
            level: 0.0,
            log_p: -1.7515827052894546,
        },
        // log(sum(w*exp(sum(-(x-mu)**2/(2*v) + L(v) for x in [0.1,1.5])))) over
        // (w, mu, s) in [(0.3,-1,0.5), (0.7,2,1)], v = s*s + 0.3**2
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
            params: vec![s(-INF), s(INF)],
            complex: false,
            x: vec![1.0, -2.0, 3.0],
            level: 0.4,
            log_p: 0.0,
        },
    ]
}
