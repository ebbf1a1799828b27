//! Model matrices in RAM form (McArdle & McDonald): every variable, observed
//! and latent, is one index `0..nv` (observed first, in lavaan's order).
//! `A[i][j]` is the effect of `j` on `i` (loadings and regressions), `S` the
//! (residual) variances and covariances, `m` the intercepts. Then
//!
//!   B = (I - A)^-1,   C = B S B',   Sigma = F C F',   mu = F B m
//!
//! where `F` keeps the observed rows. One form covers factor models, path
//! models among observed variables and full SEMs, and its derivatives are
//! rank-two outer products (see `estimate::objective`), which is what keeps
//! the information matrix cheap.

use super::partable::ParTable;
use nalgebra::{DMatrix, DVector};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mat {
    A,
    S,
    M,
}

/// One parameter-table row placed in a matrix.
#[derive(Debug, Clone)]
pub struct Cell {
    /// index of the row in the parameter table
    pub row: usize,
    pub mat: Mat,
    pub i: usize,
    pub j: usize,
    /// index of the free parameter (after equality constraints), if free
    pub x: Option<usize>,
    /// value when fixed (fixed.x rows get the sample values)
    pub fixed: f64,
}

/// The model of one group.
#[derive(Debug, Clone)]
pub struct GroupModel {
    pub group: usize,
    pub cells: Vec<Cell>,
}

/// Structure shared by all groups: variable names and the free parameters.
#[derive(Debug, Clone)]
pub struct Ram {
    pub ov: Vec<String>,
    pub lv: Vec<String>,
    pub groups: Vec<GroupModel>,
    /// number of free parameters after equality constraints
    pub nx: usize,
    /// for each free parameter, the parameter-table rows that share it
    pub x_rows: Vec<Vec<usize>>,
    pub meanstructure: bool,
    /// observed indices of the fixed.x covariates: lavaan gives their
    /// moments zero weight in the information (it matters only when a
    /// parameter moves them, as in the extended model of modindices)
    pub x_ov: Vec<usize>,
    /// variable name -> index in `ov` then `lv`, built on the first `index`
    /// call (a linear search per call made callers that look up every row
    /// quadratic in the model's size)
    pub name_index: std::sync::OnceLock<std::collections::HashMap<String, usize>>,
    /// the general constraints (`==` other than ties, `<`, `>`) on x
    pub constraints: Option<std::sync::Arc<super::constraints::Constraints>>,
}

impl Ram {
    pub fn p(&self) -> usize {
        self.ov.len()
    }
    pub fn nv(&self) -> usize {
        self.ov.len() + self.lv.len()
    }
    pub fn index(&self, name: &str) -> Option<usize> {
        self.name_index
            .get_or_init(|| {
                let mut m = std::collections::HashMap::with_capacity(self.nv());
                // the first of a repeated name wins, as a linear search would find it
                for (k, v) in self.ov.iter().chain(&self.lv).enumerate() {
                    m.entry(v.clone()).or_insert(k);
                }
                m
            })
            .get(name)
            .copied()
    }

    /// Lay the parameter table out in matrices. `x_of_row` maps a row to its
    /// free parameter (see `constraints`).
    pub fn new(pt: &ParTable, x_of_row: &[Option<usize>], nx: usize) -> Ram {
        let ov = pt.names.ov.clone();
        let lv = pt.names.lv.clone();
        let mut ram = Ram {
            ov,
            lv,
            groups: vec![],
            nx,
            x_rows: vec![vec![]; nx],
            meanstructure: pt.meanstructure,
            x_ov: vec![],
            name_index: Default::default(),
            constraints: None,
        };
        ram.x_ov = pt.names.ov_x.iter().filter_map(|v| ram.index(v).filter(|&k| k < ram.p())).collect();
        for (r, x) in x_of_row.iter().enumerate() {
            if let Some(x) = x {
                ram.x_rows[*x].push(r);
            }
        }
        // names to indices once (a linear `index` per row would make this
        // quadratic: a model with 1000 factors has 500,000 covariance rows)
        let mut at: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (k, v) in ram.ov.iter().chain(&ram.lv).enumerate() {
            at.entry(v.as_str()).or_insert(k);
        }
        let index = |name: &str| at.get(name).copied();
        for g in 1..=pt.ngroups {
            let mut cells = Vec::new();
            for (r, row) in pt.rows.iter().enumerate() {
                if row.group != g {
                    continue;
                }
                let (mat, i, j) = match row.op.as_str() {
                    "=~" => (Mat::A, index(&row.rhs).unwrap(), index(&row.lhs).unwrap()),
                    "~" => (Mat::A, index(&row.lhs).unwrap(), index(&row.rhs).unwrap()),
                    "~~" => (Mat::S, index(&row.lhs).unwrap(), index(&row.rhs).unwrap()),
                    "~1" => (Mat::M, index(&row.lhs).unwrap(), 0),
                    _ => continue,
                };
                cells.push(Cell {
                    row: r,
                    mat,
                    i,
                    j,
                    x: x_of_row[r],
                    fixed: row.ustart.unwrap_or(0.0),
                });
            }
            ram.groups.push(GroupModel { group: g, cells });
        }
        ram
    }

    /// Fill the matrices of group `g` from the free parameter vector `x`.
    pub fn matrices(&self, g: usize, x: &[f64]) -> (DMatrix<f64>, DMatrix<f64>, DVector<f64>) {
        let nv = self.nv();
        let mut a = DMatrix::zeros(nv, nv);
        let mut s = DMatrix::zeros(nv, nv);
        let mut m = DVector::zeros(nv);
        for c in &self.groups[g].cells {
            let v = c.x.map_or(c.fixed, |k| x[k]);
            match c.mat {
                Mat::A => a[(c.i, c.j)] = v,
                Mat::S => {
                    s[(c.i, c.j)] = v;
                    s[(c.j, c.i)] = v;
                }
                Mat::M => m[c.i] = v,
            }
        }
        (a, s, m)
    }
}

/// Implied moments of one group and the pieces their derivatives need.
#[derive(Debug, Clone)]
pub struct Implied {
    /// (I - A)^-1
    pub b: DMatrix<f64>,
    /// B S B': implied covariance of all variables
    pub c: DMatrix<f64>,
    /// B m: implied means of all variables
    pub bm: DVector<f64>,
    pub sigma: DMatrix<f64>,
    pub mu: DVector<f64>,
}

impl Implied {
    /// `None` when I - A is singular (a non-recursive model at a bad point).
    ///
    /// Recursive models (no cycle in A, the usual case) get B by
    /// back-substitution in causal order (`acyclic_inverse`), and C = B S B'
    /// skips the zeros of S and B, so a CFA with 200 indicators costs a few
    /// hundred thousand flops here instead of three dense nv^3 products.
    pub fn new(a: &DMatrix<f64>, s: &DMatrix<f64>, m: &DVector<f64>, p: usize) -> Option<Implied> {
        let nv = a.nrows();
        let b = match acyclic_inverse(a) {
            Some(b) => b,
            None => (DMatrix::identity(nv, nv) - a).try_inverse()?,
        };
        let c = sandwich(&b, s);
        let bm = &b * m;
        let sigma = c.view((0, 0), (p, p)).into_owned();
        let mu = bm.rows(0, p).into_owned();
        Some(Implied { b, c, bm, sigma, mu })
    }
}

/// (I - A)^-1 when A has no cycle (and a zero diagonal), else `None`.
///
/// B = I + B A, so column j of B is e_j + sum_i A(i,j) B(:,i) over the
/// effects i of j: taking the variables effects-first (Kahn's algorithm on
/// the nonzero pattern), each column is ready when it is needed, and the
/// whole inverse costs nnz(A) column updates of length nv.
pub fn acyclic_inverse(a: &DMatrix<f64>) -> Option<DMatrix<f64>> {
    let nv = a.nrows();
    // the nonzeros of A as (i, j): effects of j are the i, causes of i the j
    let mut nz: Vec<(usize, usize)> = Vec::new();
    for j in 0..nv {
        for (i, v) in a.column(j).iter().enumerate() {
            if *v != 0.0 {
                if i == j {
                    return None;
                }
                nz.push((i, j));
            }
        }
    }
    // effects of j: nz[estart[j]..estart[j + 1]] (nz is sorted by j)
    let mut estart = vec![0; nv + 1];
    for &(_, j) in &nz {
        estart[j + 1] += 1;
    }
    for j in 0..nv {
        estart[j + 1] += estart[j];
    }
    // causes of i, as a CSR list over the same nonzeros
    let mut cstart = vec![0; nv + 1];
    for &(i, _) in &nz {
        cstart[i + 1] += 1;
    }
    for i in 0..nv {
        cstart[i + 1] += cstart[i];
    }
    let mut causes = vec![0; nz.len()];
    let mut fill = cstart.clone();
    for &(i, j) in &nz {
        causes[fill[i]] = j;
        fill[i] += 1;
    }
    let mut pending: Vec<usize> = (0..nv).map(|j| estart[j + 1] - estart[j]).collect();
    let mut ready: Vec<usize> = (0..nv).filter(|&j| pending[j] == 0).collect();
    let mut b = DMatrix::<f64>::zeros(nv, nv);
    let mut done = 0;
    while let Some(j) = ready.pop() {
        done += 1;
        let data = b.as_mut_slice();
        data[j * nv + j] = 1.0;
        for &(i, _) in &nz[estart[j]..estart[j + 1]] {
            let aij = a[(i, j)];
            // columns i and j of the column-major storage, i != j
            let (bi, bj) = if i < j {
                let (lo, hi) = data.split_at_mut(j * nv);
                (&lo[i * nv..(i + 1) * nv], &mut hi[..nv])
            } else {
                let (lo, hi) = data.split_at_mut(i * nv);
                (&hi[..nv], &mut lo[j * nv..(j + 1) * nv])
            };
            axpy(bj, aij, bi);
        }
        for &k in &causes[cstart[j]..cstart[j + 1]] {
            pending[k] -= 1;
            if pending[k] == 0 {
                ready.push(k);
            }
        }
    }
    (done == nv).then_some(b)
}

/// B S B' for a symmetric S, skipping the zeros of S and of B.
pub fn sandwich(b: &DMatrix<f64>, s: &DMatrix<f64>) -> DMatrix<f64> {
    let nv = b.nrows();
    let bs = b.as_slice();
    let col = |j: usize| j * nv..(j + 1) * nv;
    // T = B S, column by column over the nonzeros of S
    let mut t = vec![0.0; nv * nv];
    for j in 0..nv {
        for i in 0..nv {
            let sij = s[(i, j)];
            if sij != 0.0 {
                axpy(&mut t[col(j)], sij, &bs[col(i)]);
            }
        }
    }
    // C = T B': C(:,k) = sum_j T(:,j) B(k,j) over the nonzeros of B
    let mut c = vec![0.0; nv * nv];
    for j in 0..nv {
        for k in 0..nv {
            let bkj = bs[j * nv + k];
            if bkj != 0.0 {
                axpy(&mut c[col(k)], bkj, &t[col(j)]);
            }
        }
    }
    DMatrix::from_vec(nv, nv, c)
}

/// y += alpha x
#[inline]
fn axpy(y: &mut [f64], alpha: f64, x: &[f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A with effects among 6 variables in a scrambled causal order.
    fn dag() -> DMatrix<f64> {
        let mut a = DMatrix::zeros(6, 6);
        for &(i, j, v) in &[
            (0, 3, 0.7),
            (1, 3, 0.5),
            (2, 4, 1.2),
            (3, 5, 0.4),
            (4, 5, -0.3),
            (0, 4, 0.2),
            (1, 2, 0.6),
        ] {
            a[(i, j)] = v;
        }
        a
    }

    #[test]
    fn acyclic_inverse_is_the_inverse() {
        let a = dag();
        let b = acyclic_inverse(&a).unwrap();
        let lu = (DMatrix::identity(6, 6) - &a).try_inverse().unwrap();
        assert!((&b - &lu).amax() < 1e-14);
    }

    #[test]
    fn a_cycle_is_left_to_lu() {
        let mut a = dag();
        a[(5, 0)] = 0.1; // 5 -> 0 -> 3 -> 5
        assert!(acyclic_inverse(&a).is_none());
        let mut a = dag();
        a[(2, 2)] = 0.5;
        assert!(acyclic_inverse(&a).is_none());
    }

    #[test]
    fn sandwich_is_b_s_bt() {
        let b = (DMatrix::identity(6, 6) - dag()).try_inverse().unwrap();
        let mut s = DMatrix::from_diagonal_element(6, 6, 0.5);
        s[(1, 0)] = 0.2;
        s[(0, 1)] = 0.2;
        let c = sandwich(&b, &s);
        assert!((&c - &b * &s * b.transpose()).amax() < 1e-14);
    }
}
