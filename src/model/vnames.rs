//! Which variable is what, by lavaan's rules (`lav_partable_vnames`): latent
//! variables are the left-hand sides of `=~`; every other name is observed.
//! Observed variables are ordered as lavaan orders them: indicators, then
//! dependent variables of regressions, then regressors, then names that only
//! occur in `~~` or `~ 1`. An observed regressor that is never dependent and
//! never an indicator is an exogenous covariate (`ov.x`): with fixed.x its
//! variances and covariances are fixed at their sample values, unless the
//! model writes a variance, covariance or intercept formula for it.

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
}

fn add(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

impl VarNames {
    /// Classify from the flat user rows `(lhs, op, rhs)`.
    pub fn from_flat<'a>(flat: impl Iterator<Item = (&'a str, &'a str, &'a str)> + Clone, fixed_x: bool) -> VarNames {
        let mut n = VarNames::default();
        for (l, op, r) in flat.clone() {
            // a composite (`f <~ x1 + x2`) is a latent variable without indicators
            if op == "<~" {
                add(&mut n.lv, l);
            }
            if op == "=~" {
                add(&mut n.lv, l);
                match n.indicators.iter_mut().find(|(f, _)| f == l) {
                    Some((_, ind)) => add(ind, r),
                    None => n.indicators.push((l.to_string(), vec![r.to_string()])),
                }
            }
        }
        let is_lv = |s: &str| n.lv.iter().any(|x| x == s);
        let (mut ind, mut eqs_y, mut eqs_x, mut touched) = (vec![], vec![], vec![], vec![]);
        let (mut cov_l, mut cov_r, mut int_l, mut ord_l) = (vec![], vec![], vec![], vec![]);
        for (l, op, r) in flat.clone() {
            match op {
                "=~" => add(&mut ind, r),
                "~" | "<~" => {
                    add(&mut eqs_y, l);
                    add(&mut eqs_x, r);
                }
                "~~" => {
                    add(&mut cov_l, l);
                    add(&mut cov_r, r);
                    add(&mut touched, l);
                    add(&mut touched, r);
                }
                "~1" => {
                    add(&mut int_l, l);
                    add(&mut touched, l);
                }
                "|" | "~*~" => add(&mut ord_l, l),
                _ => {}
            }
        }
        // indicators, dependents (mediators too), regressors, then the rest
        let mut ov = Vec::new();
        for s in ind
            .iter()
            .chain(&eqs_y)
            .chain(&eqs_x)
            .chain(&cov_l)
            .chain(&cov_r)
            .chain(&int_l)
            .chain(&ord_l)
        {
            if !is_lv(s) {
                add(&mut ov, s);
            }
        }
        let has = |v: &Vec<String>, s: &str| v.iter().any(|x| x == s);
        let mut ov_x = vec![];
        let mut exo_freed = vec![];
        for s in &ov {
            if has(&eqs_x, s) && !has(&eqs_y, s) && !has(&ind, s) {
                if has(&touched, s) {
                    exo_freed.push(s.clone());
                } else {
                    ov_x.push(s.clone());
                }
            }
        }
        // dependent-only variables, in order: as they appear on the left of `~`
        let ov_y = ov
            .iter()
            .filter(|s| has(&eqs_y, s) && !has(&eqs_x, s) && !has(&ind, s))
            .cloned()
            .collect();
        let lv_x = n.lv.iter().filter(|s| !has(&eqs_y, s) && !has(&ind, s)).cloned().collect();
        let lv_y =
            n.lv.iter()
                .filter(|s| has(&eqs_y, s) && !has(&eqs_x, s) && !has(&ind, s))
                .cloned()
                .collect();
        n.ov = ov;
        n.exo = ov_x.clone();
        n.ov_x = if fixed_x { ov_x } else { vec![] };
        n.ov_y = ov_y;
        n.lv_x = lv_x;
        n.lv_y = lv_y;
        n.exo_freed = exo_freed;
        n
    }

    pub fn is_lv(&self, s: &str) -> bool {
        self.lv.iter().any(|x| x == s)
    }

    pub fn first_indicator(&self, f: &str) -> Option<&str> {
        self.indicators
            .iter()
            .find(|(l, _)| l == f)
            .and_then(|(_, v)| v.first())
            .map(|s| s.as_str())
    }

    /// Is `v` (observed or latent) the only indicator of some factor
    /// and loads on nothing else? (lavaan's auto.fix.single fixes its
    /// residual variance to zero.)
    pub fn single_indicator_of(&self, v: &str) -> bool {
        let loads = self.indicators.iter().filter(|(_, ind)| ind.iter().any(|x| x == v)).count();
        loads == 1 && self.indicators.iter().any(|(_, ind)| ind.len() == 1 && ind[0] == v)
    }

    /// Observed variables that the model estimates (everything but fixed.x covariates).
    pub fn ov_nox(&self) -> Vec<String> {
        self.ov.iter().filter(|v| !self.ov_x.contains(v)).cloned().collect()
    }
}
