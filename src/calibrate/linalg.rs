//! Dense symmetric positive-definite algebra for the exact reference posteriors (a few hundred to a
//! few thousand unknowns): Cholesky factor, solves, log-determinant and the inverse's diagonal.

use ndarray::{Array1, Array2, ArrayView1};

/// Lower Cholesky factor L (L Lᵀ = A) of a symmetric positive-definite matrix, or None.
pub fn cholesky(a: &Array2<f64>) -> Option<Array2<f64>> {
    let n = a.nrows();
    let mut l = Array2::<f64>::zeros((n, n));
    for j in 0..n {
        let row_j: Vec<f64> = l.row(j).iter().take(j).copied().collect();
        let d = a[[j, j]] - row_j.iter().map(|v| v * v).sum::<f64>();
        if !(d > 0.0 && d.is_finite()) {
            return None;
        }
        let djj = d.sqrt();
        l[[j, j]] = djj;
        for i in j + 1..n {
            let s: f64 = l.row(i).iter().take(j).zip(&row_j).map(|(a, b)| a * b).sum();
            l[[i, j]] = (a[[i, j]] - s) / djj;
        }
    }
    Some(l)
}

/// Solve L z = b (forward substitution).
pub fn forward(l: &Array2<f64>, b: ArrayView1<f64>) -> Array1<f64> {
    let n = l.nrows();
    let mut z = Array1::zeros(n);
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[[i, k]] * z[k]).sum();
        z[i] = (b[i] - s) / l[[i, i]];
    }
    z
}

/// Solve Lᵀ x = z (back substitution).
pub fn backward(l: &Array2<f64>, z: ArrayView1<f64>) -> Array1<f64> {
    let n = l.nrows();
    let mut x = Array1::zeros(n);
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[[k, i]] * x[k]).sum();
        x[i] = (z[i] - s) / l[[i, i]];
    }
    x
}

/// A⁻¹ b from A's Cholesky factor.
pub fn solve(l: &Array2<f64>, b: ArrayView1<f64>) -> Array1<f64> {
    backward(l, forward(l, b).view())
}

/// log |A| from A's Cholesky factor.
pub fn logdet(l: &Array2<f64>) -> f64 {
    2.0 * l.diag().iter().map(|v| v.ln()).sum::<f64>()
}

/// diag(A⁻¹) from A's Cholesky factor: (A⁻¹)_ii = ‖L⁻¹ e_i‖².
pub fn inverse_diag(l: &Array2<f64>) -> Array1<f64> {
    let n = l.nrows();
    let mut d = Array1::zeros(n);
    for i in 0..n {
        // Column i of L⁻¹ is zero above i: solve from row i on.
        let mut z = vec![0.0; n];
        z[i] = 1.0 / l[[i, i]];
        for r in i + 1..n {
            let s: f64 = (i..r).map(|k| l[[r, k]] * z[k]).sum();
            z[r] = -s / l[[r, r]];
        }
        // (A⁻¹)_ii = (L⁻ᵀ L⁻¹)_ii = ‖column i of L⁻¹‖².
        d[i] = z.iter().map(|v| v * v).sum::<f64>();
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn solves_and_inverts_a_small_spd_matrix() {
        let a = array![[4.0, 2.0, 0.6], [2.0, 5.0, 1.0], [0.6, 1.0, 3.0]];
        let l = cholesky(&a).unwrap();
        let b = array![1.0, -2.0, 0.5];
        let x = solve(&l, b.view());
        assert!((a.dot(&x) - &b).iter().all(|v| v.abs() < 1e-12));
        // det by cofactors: 4(15 − 1) − 2(6 − 0.6) + 0.6(2 − 3) = 44.6
        assert!((logdet(&l) - 44.6f64.ln()).abs() < 1e-12);
        let d = inverse_diag(&l);
        let exact = [14.0 / 44.6, (12.0 - 0.36) / 44.6, 16.0 / 44.6];
        for (v, e) in d.iter().zip(exact) {
            assert!((v - e).abs() < 1e-12, "{d} vs {exact:?}");
        }
        assert!(cholesky(&array![[1.0, 2.0], [2.0, 1.0]]).is_none());
    }
}
