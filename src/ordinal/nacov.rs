//! The NACOV of one group (lavaan's `gamma`, N F'F from the casewise
//! influence F), computed in the background. Forming it is the one product
//! of cost N p^2 in the ordinal statistics, yet the DWLS and ULS fits need
//! only its diagonal (the weights): so the product starts on the rayon pool
//! as soon as the statistics exist, runs while the model is estimated, and
//! the first use of the full matrix (robust standard errors, the scaled
//! test) takes the finished result, or waits for it, or computes it itself
//! if the pool has not started it yet. The result is the same bytes
//! whichever thread computes it.

use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use nalgebra::{DMatrix, DVector};

/// N F'F, its diagonal at hand and the whole matrix on first use.
#[derive(Clone)]
pub struct Nacov {
    diag: DVector<f64>,
    full: Arc<OnceLock<DMatrix<f64>>>,
    /// the casewise influence F (rows: cases, columns: statistics)
    influence: Arc<DMatrix<f64>>,
}

impl Nacov {
    /// N F'F from the casewise influence `f` (N rows), started on the
    /// rayon pool now.
    pub fn from_influence(f: DMatrix<f64>) -> Nacov {
        let n = f.nrows() as f64;
        let diag = DVector::from_iterator(f.ncols(), f.column_iter().map(|c| n * c.norm_squared()));
        let full = Arc::new(OnceLock::new());
        let influence = Arc::new(f);
        let (cell, inf) = (Arc::clone(&full), Arc::clone(&influence));
        rayon::spawn(move || {
            cell.get_or_init(|| product(&inf));
        });
        Nacov { diag, full, influence }
    }

    /// Its diagonal (the asymptotic variances), without waiting for the
    /// whole matrix.
    pub fn diagonal(&self) -> &DVector<f64> {
        &self.diag
    }

    /// The whole matrix (waits for, or computes, the product).
    pub fn matrix(&self) -> &DMatrix<f64> {
        self.full.get_or_init(|| product(&self.influence))
    }
}

/// N F'F.
fn product(f: &DMatrix<f64>) -> DMatrix<f64> {
    super::gram(f, f.nrows() as f64)
}

impl Deref for Nacov {
    type Target = DMatrix<f64>;
    fn deref(&self) -> &DMatrix<f64> {
        self.matrix()
    }
}

impl std::fmt::Debug for Nacov {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nacov")
            .field("dim", &self.diag.len())
            .field("ready", &self.full.get().is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn background_product_equals_the_direct_one() {
        let f = DMatrix::from_fn(50, 30, |i, j| ((i * 7 + j * 13) % 11) as f64 - 5.0 + 0.01 * (i * j) as f64);
        let want = f.tr_mul(&f) * 50.0;
        let a = Nacov::from_influence(f.clone());
        assert!((a.diagonal() - want.diagonal()).amax() < 1e-9);
        assert!((a.matrix() - &want).amax() < 1e-9);
        // the same bytes whichever thread computes it
        let b = Nacov::from_influence(f.clone());
        let c = Nacov::from_influence(f);
        assert_eq!(b.matrix().as_slice(), c.matrix().as_slice());
    }
}
