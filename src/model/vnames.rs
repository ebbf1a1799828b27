//! Which variable is what, by lavaan's rules (`lav_partable_vnames`): latent
//! variables are the left-hand sides of `=~`; every other name is observed.
//! Observed variables are ordered as lavaan orders them: indicators, then
//! dependent variables of regressions, then regressors, then names that only
//! occur in `~~` or `~ 1`. An observed regressor that is never dependent and
//! never an indicator is an exogenous covariate (`ov.x`): with fixed.x its
//! variances and covariances are fixed at their sample values, unless the
//! model writes a variance, covariance or intercept formula for it.

use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, Default)]
pub struct VarNames {
    /// latent variables, in order of appearance
    pub lv: Vec<String>,
    /// observed variables, in lavaan's order
    pub ov: Vec<String>,
    /// exogenous observed covariates treated as fixed (fixed.x)
    pub ov_x: Vec<String>,
    /// exogenous observed covariates whether or not fixed.x is on (lavaan
    /// lists their variances and covariances as one block either way)
    pub exo: Vec<String>,
    /// observed variables that are dependent only (for auto.cov.y)
    pub ov_y: Vec<String>,
    /// exogenous latent variables (get free covariances)
    pub lv_x: Vec<String>,
    /// latent variables that are dependent only (for auto.cov.y)
    pub lv_y: Vec<String>,
    /// regressors that would be exogenous but appear in a `~~` or `~1` formula
    pub exo_freed: Vec<String>,
    /// (factor, indicators) in order of appearance
    pub indicators: Vec<(String, Vec<String>)>,
    /// ordinal observed variables in `ov` order (lavaan's ov.ord); set by
    /// the parameter table from its options and the `|` rows
    pub ov_ord: Vec<String>,
    /// hash lookups over the lists above (`reindex`)
    index: Index,
}

/// A list of names in order of first appearance with a hash index, so that
/// adding a name and asking for one are O(1) (a model with thousands of
/// variables would otherwise spend its time in linear scans).
#[derive(Debug, Clone, Default)]
struct Ordered<'a> {
    list: Vec<&'a str>,
    seen: HashSet<&'a str>,
}

impl<'a> Ordered<'a> {
    fn add(&mut self, s: &'a str) {
        if self.seen.insert(s) {
            self.list.push(s);
        }
    }
    fn has(&self, s: &str) -> bool {
        self.seen.contains(s)
    }
}

/// Lookups by name, built once from the lists (every query O(1)).
#[derive(Debug, Clone, Default)]
struct Index {
    lv: HashSet<String>,
    ov: HashSet<String>,
    /// factor -> position in `indicators`
    factor: HashMap<String, usize>,
    /// variable -> the number of factors it is an indicator of
    loads: HashMap<String, usize>,
    /// variables that are the only indicator of some factor
    sole: HashSet<String>,
    ov_x: HashSet<String>,
}

impl VarNames {
    /// Classify from the flat user rows `(lhs, op, rhs)`; linear in the rows.
    pub fn from_flat<'a>(flat: impl Iterator<Item = (&'a str, &'a str, &'a str)> + Clone, fixed_x: bool) -> VarNames {
        let mut n = VarNames::default();
        let mut lv = Ordered::default();
        let mut inds: Vec<(&str, Ordered)> = Vec::new();
        let mut at: HashMap<&str, usize> = HashMap::new();
        for (l, op, r) in flat.clone() {
            // a composite (`f <~ x1 + x2`) is a latent variable without indicators
            if op == "<~" {
                lv.add(l);
            }
            if op == "=~" {
                lv.add(l);
                let k = *at.entry(l).or_insert_with(|| {
                    inds.push((l, Ordered::default()));
                    inds.len() - 1
                });
                inds[k].1.add(r);
            }
        }
        let (mut ind, mut eqs_y, mut eqs_x, mut touched) = (Ordered::default(), Ordered::default(), Ordered::default(), Ordered::default());
        let (mut cov_l, mut cov_r, mut int_l, mut ord_l) = (Ordered::default(), Ordered::default(), Ordered::default(), Ordered::default());
        for (l, op, r) in flat.clone() {
            match op {
                "=~" => ind.add(r),
                "~" | "<~" => {
                    eqs_y.add(l);
                    eqs_x.add(r);
                }
                "~~" => {
                    cov_l.add(l);
                    cov_r.add(r);
                    touched.add(l);
                    touched.add(r);
                }
                "~1" => {
                    int_l.add(l);
                    touched.add(l);
                }
                "|" | "~*~" => ord_l.add(l),
                _ => {}
            }
        }
        // indicators, dependents (mediators too), regressors, then the rest
        let mut ov = Ordered::default();
        for s in [&ind, &eqs_y, &eqs_x, &cov_l, &cov_r, &int_l, &ord_l]
            .into_iter()
            .flat_map(|o| o.list.iter())
        {
            if !lv.has(s) {
                ov.add(s);
            }
        }
        let owned = |v: Vec<&str>| -> Vec<String> { v.into_iter().map(str::to_string).collect() };
        let mut ov_x = vec![];
        let mut exo_freed = vec![];
        for &s in &ov.list {
            if eqs_x.has(s) && !eqs_y.has(s) && !ind.has(s) {
                if touched.has(s) {
                    exo_freed.push(s);
                } else {
                    ov_x.push(s);
                }
            }
        }
        // dependent-only variables, in order: as they appear on the left of `~`
        let dependent_only = |s: &&str| eqs_y.has(s) && !eqs_x.has(s) && !ind.has(s);
        n.ov_y = owned(ov.list.iter().copied().filter(dependent_only).collect());
        n.lv_x = owned(lv.list.iter().copied().filter(|s| !eqs_y.has(s) && !ind.has(s)).collect());
        n.lv_y = owned(lv.list.iter().copied().filter(dependent_only).collect());
        n.lv = owned(lv.list);
        n.ov = owned(ov.list);
        n.exo = owned(ov_x.clone());
        n.ov_x = if fixed_x { owned(ov_x) } else { vec![] };
        n.exo_freed = owned(exo_freed);
        n.indicators = inds.into_iter().map(|(f, o)| (f.to_string(), owned(o.list))).collect();
        n.reindex();
        n
    }

    /// Rebuild the lookups after the lists changed (`from_flat` calls it).
    pub fn reindex(&mut self) {
        let mut ix = Index {
            lv: self.lv.iter().cloned().collect(),
            ov: self.ov.iter().cloned().collect(),
            ov_x: self.ov_x.iter().cloned().collect(),
            ..Index::default()
        };
        for (k, (f, ind)) in self.indicators.iter().enumerate() {
            ix.factor.entry(f.clone()).or_insert(k);
            for v in ind {
                *ix.loads.entry(v.clone()).or_insert(0) += 1;
            }
            if ind.len() == 1 {
                ix.sole.insert(ind[0].clone());
            }
        }
        self.index = ix;
    }

    pub fn is_lv(&self, s: &str) -> bool {
        self.index.lv.contains(s)
    }

    pub fn is_ov(&self, s: &str) -> bool {
        self.index.ov.contains(s)
    }

    pub fn first_indicator(&self, f: &str) -> Option<&str> {
        self.index
            .factor
            .get(f)
            .and_then(|&k| self.indicators[k].1.first())
            .map(|s| s.as_str())
    }

    /// Is `v` (observed or latent) the only indicator of some factor
    /// and loads on nothing else? (lavaan's auto.fix.single fixes its
    /// residual variance to zero.)
    pub fn single_indicator_of(&self, v: &str) -> bool {
        self.index.loads.get(v) == Some(&1) && self.index.sole.contains(v)
    }

    /// Is `v` an exogenous covariate fixed at its sample values (fixed.x)?
    pub fn is_ov_x(&self, v: &str) -> bool {
        self.index.ov_x.contains(v)
    }

    /// Observed variables that the model estimates (everything but fixed.x covariates).
    pub fn ov_nox(&self) -> Vec<String> {
        self.ov.iter().filter(|v| !self.is_ov_x(v)).cloned().collect()
    }
}
