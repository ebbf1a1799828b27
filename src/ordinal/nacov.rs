//! The NACOV of one group (lavaan's `gamma`, N F'F from the casewise
//! influence F), computed in the background. Forming it is the one product
//! of cost N p^2 in the ordinal statistics, yet the DWLS and ULS fits need
//! only its diagonal (the weights): so the product starts on the rayon pool
//! as soon as the statistics exist, runs while the model is estimated, and
//! the first use of the full matrix (robust standard errors, the scaled
//! test) takes the finished result, or waits for it, or computes it itself
//! if the pool has not started it yet. The result is the same bytes
//! whichever thread computes it.
//!
//! No rayon worker ever waits for another thread here: a worker that finds
//! the product running elsewhere computes it itself, and statistics built
//! on a worker (fits run in parallel by `batch`, `power`) compute it at
//! once. A blocked worker could otherwise hold the very work the product
//! waits for (a pool of one thread, or a product that stole the waiting
//! fit), and the run would hang.

use std::ops::Deref;
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use nalgebra::{DMatrix, DVector};

/// N F'F, its diagonal at hand and the whole matrix on first use.
#[derive(Clone)]
pub struct Nacov {
    diag: DVector<f64>,
    shared: Arc<Shared>,
}

/// What the background job and the users of the matrix share.
struct Shared {
    /// the casewise influence F (rows: cases, columns: statistics)
    influence: DMatrix<f64>,
    full: OnceLock<DMatrix<f64>>,
    /// whether some thread has started the product; `done` is signalled
    /// when it is in `full`
    started: Mutex<bool>,
    done: Condvar,
}

impl Shared {
    /// Compute the product and publish it (a second result, equal to the
    /// first, is dropped).
    fn compute(&self) -> &DMatrix<f64> {
        let m = super::gram(&self.influence, self.influence.nrows() as f64);
        let _ = self.full.set(m);
        // under the lock, so that a waiter between its check and its wait
        // cannot miss the signal
        let _guard = self.started.lock();
        self.done.notify_all();
        self.full.get().expect("set above")
    }

    /// Claim the product: true when this thread is the first to start it.
    fn claim(&self) -> bool {
        match self.started.lock() {
            Ok(mut s) if !*s => {
                *s = true;
                true
            }
            Ok(_) => false,
            // a thread panicked while holding the flag: compute regardless
            Err(_) => true,
        }
    }
}

impl Nacov {
    /// N F'F from the casewise influence `f` (N rows): started on the
    /// rayon pool now, or computed at once on a pool's worker.
    pub fn from_influence(f: DMatrix<f64>) -> Nacov {
        let n = f.nrows() as f64;
        let diag = DVector::from_iterator(f.ncols(), f.column_iter().map(|c| n * c.norm_squared()));
        let shared = Arc::new(Shared {
            influence: f,
            full: OnceLock::new(),
            started: Mutex::new(false),
            done: Condvar::new(),
        });
        if rayon::current_thread_index().is_some() {
            // already inside the pool (parallel fits): no background job
            shared.claim();
            shared.compute();
        } else {
            let job = Arc::clone(&shared);
            rayon::spawn(move || {
                if job.claim() {
                    job.compute();
                }
            });
        }
        Nacov { diag, shared }
    }

    /// Its diagonal (the asymptotic variances), without waiting for the
    /// whole matrix.
    pub fn diagonal(&self) -> &DVector<f64> {
        &self.diag
    }

    /// The whole matrix: the finished product; else computed here when no
    /// thread has started it, or when this thread is a rayon worker (which
    /// must not wait); else waited for.
    pub fn matrix(&self) -> &DMatrix<f64> {
        let s = &*self.shared;
        if let Some(m) = s.full.get() {
            return m;
        }
        if s.claim() || rayon::current_thread_index().is_some() {
            return s.compute();
        }
        let mut started = s.started.lock();
        while s.full.get().is_none() {
            started = match started {
                Ok(g) => s.done.wait(g),
                // a poisoned lock: the product's thread panicked; compute here
                Err(_) => return s.compute(),
            };
        }
        s.full.get().expect("checked in the loop")
    }
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
            .field("ready", &self.shared.full.get().is_some())
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
        // built on a pool's worker: computed at once, nothing left to wait for
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let e = pool.install(|| Nacov::from_influence(b.shared.influence.clone()));
        assert!(e.shared.full.get().is_some());
        assert_eq!(e.matrix().as_slice(), b.matrix().as_slice());
    }
}
