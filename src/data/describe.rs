//! The look at the data a researcher takes before fitting (`sem check
//! MODEL DATA`): per model variable its type, how many values are observed
//! and missing, mean, standard deviation (divisor N - 1, as R's `sd`),
//! minimum and maximum, and, when it takes few distinct values, how often
//! each occurs. A Likert item, a 0/1 dummy and a continuous score look
//! different here, and so does a column where -99 still marks "no answer".

use super::Dataset;
use serde::Serialize;

/// At most this many distinct values are listed as categories.
pub const MAX_CATEGORIES: usize = 10;

#[derive(Debug, Clone, Serialize)]
pub struct VariableSummary {
    pub name: String,
    /// "continuous", "categorical" (few distinct values) or "empty"
    #[serde(rename = "type")]
    pub kind: String,
    pub n: usize,
    pub missing: usize,
    pub mean: Option<f64>,
    pub sd: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// (value, count) in increasing order, for few distinct values
    #[serde(skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<(f64, usize)>>,
}

/// A summary of each column of `ds`.
pub fn describe(ds: &Dataset) -> Vec<VariableSummary> {
    let p = ds.names.len();
    (0..p)
        .map(|k| {
            let vals: Vec<f64> = (0..ds.nrows()).map(|i| ds.row(i)[k]).filter(|v| !v.is_nan()).collect();
            let n = vals.len();
            let missing = ds.nrows() - n;
            let mean = (n > 0).then(|| vals.iter().sum::<f64>() / n as f64);
            let sd = mean
                .filter(|_| n > 1)
                .map(|m| (vals.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1) as f64).sqrt());
            let min = vals.iter().copied().reduce(f64::min);
            let max = vals.iter().copied().reduce(f64::max);
            let mut sorted = vals.clone();
            sorted.sort_by(f64::total_cmp);
            let mut cats: Vec<(f64, usize)> = vec![];
            for v in sorted {
                match cats.last_mut() {
                    Some((x, c)) if *x == v => *c += 1,
                    _ => {
                        if cats.len() == MAX_CATEGORIES {
                            cats.clear();
                            break;
                        }
                        cats.push((v, 1));
                    }
                }
            }
            let few = !cats.is_empty() && cats.iter().map(|c| c.1).sum::<usize>() == n;
            VariableSummary {
                name: ds.names[k].clone(),
                kind: if n == 0 {
                    "empty".into()
                } else if few {
                    "categorical".into()
                } else {
                    "continuous".into()
                },
                n,
                missing,
                mean,
                sd,
                min,
                max,
                categories: few.then_some(cats),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_moments_and_categories() {
        let ds = Dataset {
            file: "d".into(),
            names: vec!["likert".into(), "score".into()],
            values: vec![
                1.0,
                0.5,
                2.0,
                f64::NAN,
                2.0,
                1.5,
                5.0,
                2.5,
                f64::NAN,
                3.5,
                1.0,
                4.5,
                2.0,
                5.5,
                3.0,
                6.5,
                4.0,
                7.5,
                5.0,
                8.5,
                1.0,
                9.5,
                2.0,
                10.5,
            ],
            lines: (1..=12).collect(),
            group: None,
        };
        let d = describe(&ds);
        assert_eq!((d[0].n, d[0].missing, d[0].kind.as_str()), (11, 1, "categorical"));
        assert_eq!(
            d[0].categories.as_ref().unwrap(),
            &[(1.0, 3), (2.0, 4), (3.0, 1), (4.0, 1), (5.0, 2)]
        );
        assert_eq!((d[1].n, d[1].missing, d[1].kind.as_str()), (11, 1, "continuous"));
        assert!(d[1].categories.is_none());
        let v = [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5, 10.5];
        let m = v.iter().sum::<f64>() / 11.0;
        let sd = (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / 10.0).sqrt();
        assert!((d[1].mean.unwrap() - m).abs() < 1e-15 && (d[1].sd.unwrap() - sd).abs() < 1e-14);
        assert_eq!((d[1].min, d[1].max), (Some(0.5), Some(10.5)));
    }
}
