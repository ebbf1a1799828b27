//! `--se bootstrap`, `--boot-ci` and `--test bollen-stine` against lavaan
//! 0.6-14 (`tests/fixtures/bootstrap/*.json`, written by
//! `make_bootstrap_fixtures.R` with 4000 lavaan draws and lavaan's own RNG).
//!
//! The two bootstraps use different random draws, so they agree only within
//! Monte-Carlo error, and each tolerance below is 4 Monte-Carlo standard
//! deviations of the difference (B = our draws, L = lavaan's 4000):
//!
//! - an interval end, a q-quantile (q = 2.5%, 97.5%) of the draws: its MC SD
//!   is sqrt(q (1 - q) / B) / f(Q(q)) with f the density of the draws there.
//!   Skewed draws (the loading of x9 has a long right tail) make 1 / f much
//!   larger than its normal value 17.1 s (s the SD of the draws), so the fixture stores 1 / f
//!   estimated from lavaan's draws, and the tolerance is
//!   4 sqrt(q (1 - q) (1/B + 1/L)) / f, times 1.5 for bca.simple, whose
//!   bias correction w = qnorm(#{t < est} / B) is estimated from the draws too;
//! - a standard error, the SD of B draws with kurtosis k: relative MC SD
//!   sqrt((k - 1) / (4B)), so the tolerance is 4 sqrt((k - 1) / 4 (1/B + 1/L)):
//!   10% at B = 1000 for the regression paths and defined parameters (k = 3,
//!   near-normal draws), 21% for loadings and variances, whose draws have
//!   heavier tails (k = 10 bounds what these draws show);
//! - a p-value p: MC SD sqrt(p (1 - p) (1/B + 1/L)).
//!
//! Debug builds are slow, so the draws are as few as these tolerances allow.

use sem::report::FitReport;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MED: &str = "tests/fixtures/fit/mediation_defined";
const LIKERT: &str = "tests/fixtures/fit/likert_items";
const LAVAAN_DRAWS: f64 = 4000.0;

fn sem(args: &[&str], threads: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sem"));
    c.args(args);
    if let Some(t) = threads {
        c.env("RAYON_NUM_THREADS", t);
    }
    c.output().unwrap()
}

fn ok_json(o: &Output) -> FitReport {
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("the JSON report reads back into FitReport")
}

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(Path::new("tests/fixtures/bootstrap").join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn case(dir: &str, file: &str) -> String {
    Path::new(dir).join(file).display().to_string()
}

fn lavaan_row<'a>(rows: &'a Value, lhs: &str, op: &str, rhs: &str) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["lhs"] == lhs && r["op"] == op && r["rhs"] == rhs)
        .unwrap_or_else(|| panic!("lavaan has no row {lhs} {op} {rhs}"))
}

/// Compare every free and defined parameter's SE and interval with lavaan's;
/// `ci_factor` widens the interval tolerance (1 for perc; bca.simple also
/// estimates its bias correction from the draws).
fn compare_with_lavaan(r: &FitReport, lavaan: &Value, draws: f64, ci_factor: f64) {
    // MC SD of a 2.5% / 97.5% quantile per unit of 1 / density (see the module docs)
    let quantile_sd = (0.025f64 * 0.975 * (1.0 / draws + 1.0 / LAVAAN_DRAWS)).sqrt();
    let mut checked = 0;
    for p in r.parameters.iter().filter(|p| p.free || p.op == ":=") {
        let l = lavaan_row(lavaan, &p.lhs, &p.op, &p.rhs);
        let num = |k: &str| l[k].as_f64().unwrap();
        let (lse, llo, lhi) = (num("se"), num("ci_lower"), num("ci_upper"));
        let what = format!("{} {} {}", p.lhs, p.op, p.rhs);
        assert!((p.est.unwrap() - num("est")).abs() < 1e-4, "{what}: estimate");
        let se = p.se.unwrap();
        let kurtosis: f64 = if matches!(p.op.as_str(), "~" | ":=") { 3.0 } else { 10.0 };
        let se_tol = 4.0 * ((kurtosis - 1.0) / 4.0 * (1.0 / draws + 1.0 / LAVAAN_DRAWS)).sqrt();
        assert!((se / lse - 1.0).abs() < se_tol, "{what}: se {se} vs lavaan {lse}");
        let (lo, hi) = (p.ci_lower.unwrap(), p.ci_upper.unwrap());
        let tol_lo = 4.0 * ci_factor * quantile_sd * num("inv_density_lower");
        let tol_hi = 4.0 * ci_factor * quantile_sd * num("inv_density_upper");
        assert!(
            (lo - llo).abs() < tol_lo,
            "{what}: ci_lower {lo} vs lavaan {llo} (tolerance {tol_lo})"
        );
        assert!(
            (hi - lhi).abs() < tol_hi,
            "{what}: ci_upper {hi} vs lavaan {lhi} (tolerance {tol_hi})"
        );
        // z and p from the bootstrap SE, as lavaan
        let z = p.est.unwrap() / se;
        assert!((p.z.unwrap() - z).abs() < 1e-12);
        checked += 1;
    }
    assert_eq!(checked, 23, "21 free parameters and 2 defined ones");
}

#[test]
fn percentile_intervals_and_ses_match_lavaan_for_an_indirect_effect() {
    let (model, data) = (case(MED, "model.lav"), case(MED, "data.csv"));
    let draws = 1000;
    let o = sem(
        &[
            "fit",
            &model,
            &data,
            "--se",
            "bootstrap",
            "--bootstrap",
            &draws.to_string(),
            "--seed",
            "11",
            "--format",
            "json",
        ],
        None,
    );
    let r = ok_json(&o);
    assert_eq!(r.se_type, "Bootstrap");
    let b = r.bootstrap.as_ref().unwrap();
    assert_eq!(
        (b.kind.as_str(), b.draws, b.successful, b.failed, b.seed),
        ("ordinary", draws, draws, 0, 11)
    );
    assert_eq!(b.ci_type.as_deref(), Some("perc"));
    let lav = fixture("mediation_defined.json");
    compare_with_lavaan(&r, &lav["perc"], draws as f64, 1.0);
    // the indirect effect ab = 0.027: its percentile interval straddles 0, as lavaan's
    let ab = r.parameters.iter().find(|p| p.lhs == "ab").unwrap();
    assert!(ab.ci_lower.unwrap() < 0.0 && ab.ci_upper.unwrap() > 0.0);
    // fixed rows keep se 0 and the interval [est, est]
    let fixed = r.parameters.iter().find(|p| p.lhs == "visual" && p.rhs == "x1").unwrap();
    assert_eq!((fixed.se, fixed.ci_lower, fixed.ci_upper), (Some(0.0), fixed.est, fixed.est));
    // the text report says so too
    let t = sem(
        &["fit", &model, &data, "--se", "bootstrap", "--bootstrap", "20", "--seed", "11"],
        None,
    );
    let text = String::from_utf8_lossy(&t.stdout);
    assert!(
        text.contains("Bootstrap") && text.contains("Number of successful bootstrap draws"),
        "{text}"
    );
}

#[test]
fn bca_simple_intervals_match_lavaan() {
    let (model, data) = (case(MED, "model.lav"), case(MED, "data.csv"));
    let draws = 600;
    let o = sem(
        &[
            "fit",
            &model,
            &data,
            "--se",
            "bootstrap",
            "--bootstrap",
            &draws.to_string(),
            "--seed",
            "5",
            "--boot-ci",
            "bca.simple",
            "--format",
            "json",
        ],
        None,
    );
    let r = ok_json(&o);
    assert_eq!(r.bootstrap.as_ref().unwrap().ci_type.as_deref(), Some("bca.simple"));
    compare_with_lavaan(&r, &fixture("mediation_defined.json")["bca_simple"], draws as f64, 1.5);
}

#[test]
fn the_same_seed_gives_the_same_output_whatever_the_thread_count() {
    let (model, data) = (case(MED, "model.lav"), case(MED, "data.csv"));
    let run = |threads: &str, seed: &str| {
        let o = sem(
            &[
                "fit",
                &model,
                &data,
                "--se",
                "bootstrap",
                "--bootstrap",
                "60",
                "--seed",
                seed,
                "--test",
                "bollen-stine",
                "--format",
                "json",
            ],
            Some(threads),
        );
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        o.stdout
    };
    let one = run("1", "42");
    assert_eq!(one, run("2", "42"), "RAYON_NUM_THREADS=1 and =2 differ");
    assert_eq!(one, run("3", "42"));
    assert_ne!(one, run("2", "43"), "another seed gives other draws");
}

/// Run `--test bollen-stine` and check its p-value against a reference p
/// from `reference_draws` draws (4 MC SDs).
fn check_bollen_stine(model: &str, data: &str, reference: &Value, reference_draws: f64) {
    let draws = 1000;
    let o = sem(
        &[
            "fit",
            model,
            data,
            "--test",
            "bollen-stine",
            "--bootstrap",
            &draws.to_string(),
            "--seed",
            "3",
            "--format",
            "json",
        ],
        None,
    );
    let r = ok_json(&o);
    // the standard errors stay the standard ones
    assert_eq!(r.se_type, "Standard");
    let b = r.bootstrap.as_ref().unwrap();
    assert_eq!((b.kind.as_str(), b.ci_type.as_ref(), b.draws), ("bollen.stine", None, draws));
    let p = r.fit_value("bollen_stine_pvalue").unwrap();
    assert!((0.0..=1.0).contains(&p));
    assert!((r.fit_value("chisq").unwrap() - reference["chisq"].as_f64().unwrap()).abs() < 1e-3);
    let lp = reference["bollen_stine_pvalue"].as_f64().unwrap();
    let tol = 4.0 * (lp * (1.0 - lp) * (1.0 / b.successful as f64 + 1.0 / reference_draws)).sqrt();
    assert!((p - lp).abs() < tol, "Bollen-Stine p {p} vs reference {lp} (tolerance {tol})");
}

#[test]
fn bollen_stine_pvalue_matches_lavaan() {
    let lav = &fixture("likert_items_bollen_stine.json")["two_factor"];
    let dir = std::env::temp_dir().join(format!("sem-boot-bs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("two_factor.lav");
    std::fs::write(&model, lav["model"].as_str().unwrap()).unwrap();
    let draws = lav["successful"].as_f64().unwrap();
    check_bollen_stine(&model.display().to_string(), &case(LIKERT, "data.csv"), lav, draws);
    let _ = std::fs::remove_dir_all(&dir);
}

/// With a fixed.x covariate the reference is the textbook Bollen-Stine
/// bootstrap run with lavaan's fits (lavaan's own keeps the covariate's
/// moments at the full-sample values in every draw; see the fixture script).
#[test]
fn bollen_stine_with_a_fixed_x_covariate_is_the_textbook_one() {
    let f = &fixture("likert_items_bollen_stine.json")["fixed_x"];
    let textbook = &f["textbook"];
    let draws = textbook["successful"].as_f64().unwrap();
    check_bollen_stine(&case(LIKERT, "model.lav"), &case(LIKERT, "data.csv"), textbook, draws);
}

/// A small data set where a dummy covariate is 1 in one row of 30: every
/// draw that misses that row has a constant column and fails.
fn rare_dummy_data(dir: &Path) -> (String, String) {
    let mut csv = String::from("x,d,y\n");
    for i in 0..30 {
        let x = ((i * 37 % 30) as f64 - 15.0) / 7.0;
        let e = ((i * 11 % 13) as f64 - 6.0) / 5.0;
        let d = if i == 4 { 1 } else { 0 };
        csv += &format!("{x},{d},{}\n", 0.5 * x + 0.8 * d as f64 + e);
    }
    let data = dir.join("rare.csv");
    std::fs::write(&data, csv).unwrap();
    let model = dir.join("rare.lav");
    std::fs::write(&model, "y ~ x + d\n").unwrap();
    (model.display().to_string(), data.display().to_string())
}

#[test]
fn failed_draws_are_counted_dropped_and_reported() {
    let dir = std::env::temp_dir().join(format!("sem-boot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (model, data) = rare_dummy_data(&dir);
    let o = sem(
        &[
            "fit",
            &model,
            &data,
            "--se",
            "bootstrap",
            "--bootstrap",
            "200",
            "--seed",
            "9",
            "--format",
            "json",
        ],
        None,
    );
    let r = ok_json(&o);
    let b = r.bootstrap.as_ref().unwrap();
    // P(a draw misses the row) = (29/30)^30 = 0.36
    assert!(b.failed > 40 && b.failed < 110, "{b:?}");
    assert_eq!(b.successful + b.failed, 200);
    let msg = format!("{} of 200 bootstrap draws failed", b.failed);
    assert!(r.warnings.iter().any(|w| w.contains(&msg)), "{:?}", r.warnings);
    assert_eq!(r.se_type, "Bootstrap");
    for p in r.parameters.iter().filter(|p| p.free) {
        assert!(p.se.unwrap().is_finite() && p.ci_lower.unwrap() <= p.ci_upper.unwrap());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bollen_stine_data_have_the_model_implied_moments() {
    use sem::inference::bootstrap::{bollen_stine_rows, chisq, complete_rows};
    // a bootstrap setting makes prepare() keep the rows (not only the moments)
    let opt = sem::pipeline::FitOptions {
        meanstructure: true,
        bootstrap: Some(sem::inference::bootstrap::BootSettings {
            draws: 1,
            seed: 1,
            ci: sem::inference::bootstrap::CiType::Perc,
            se: false,
            bollen_stine: true,
            progress: false,
        }),
        ..Default::default()
    };
    let prep = sem::pipeline::prepare(
        &PathBuf::from(case(LIKERT, "model.lav")),
        &PathBuf::from(case(LIKERT, "data.csv")),
        &opt,
    )
    .unwrap();
    let est = sem::estimate::estimate(&prep.model, &prep.data, 10_000);
    assert!(est.converged);
    let rows = complete_rows(&prep.dataset, &prep.group_rows);
    let t = bollen_stine_rows(&prep.model, &est.x, &rows, &prep.data).unwrap();
    // the transformed data's moments
    let (n, p) = (t[0].n(), t[0].p);
    let mut ds = prep.dataset.clone();
    ds.values = t[0].values.clone();
    ds.lines = (0..n as u64).collect();
    let s = sem::data::SampleStats::listwise(&ds, None).unwrap();
    let gd = vec![sem::estimate::objective::GroupData::new(&s)];
    let t0 = chisq(&prep.model, &est.x, &gd).unwrap();
    assert!(t0 < 1e-8, "the model fits the transformed data exactly: chisq {t0}");
    assert!(chisq(&prep.model, &est.x, &prep.data).unwrap() > 10.0);
    assert_eq!(p, prep.model.ram.p());
}

#[test]
fn bootstrap_flags_need_a_bootstrap() {
    let (model, data) = (case(MED, "model.lav"), case(MED, "data.csv"));
    for args in [vec!["--seed", "3"], vec!["--bootstrap", "100"], vec!["--boot-ci", "bca.simple"]] {
        let mut a = vec!["fit", model.as_str(), data.as_str()];
        a.extend(args.iter().copied());
        let o = sem(&a, None);
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("needs --se bootstrap"), "{err}");
        assert!(o.stdout.is_empty());
    }
    let o = sem(&["fit", &model, &data, "--se", "bootstrap", "--bootstrap", "1"], None);
    assert_eq!(o.status.code(), Some(2));
}

/// `--boot-ci bca` (lavaan's "bca"): accelerated intervals around the
/// estimate that differ from bca.simple's; with fewer successful draws than
/// cases no intervals, and a warning that says why (lavaan stops there).
#[test]
fn bca_intervals_need_as_many_draws_as_cases() {
    let dir = "tests/fixtures/fit/path_fixedx";
    let run = |ci: &str, draws: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_sem"))
            .args(["fit", &case(dir, "model.lav"), &case(dir, "data.csv"), "--se", "bootstrap"])
            .args(["--boot-ci", ci, "--bootstrap", draws, "--format", "json"])
            .output()
            .unwrap();
        ok_json(&o)
    };
    let (bca, simple) = (run("bca", "300"), run("bca.simple", "300"));
    assert_eq!(bca.bootstrap.as_ref().unwrap().ci_type.as_deref(), Some("bca"));
    let mut differ = 0;
    for (p, q) in bca.parameters.iter().zip(&simple.parameters).filter(|(p, _)| p.free) {
        let (l, u, e) = (p.ci_lower.unwrap(), p.ci_upper.unwrap(), p.est.unwrap());
        assert!(l < e && e < u, "{p:?}");
        assert_eq!(p.se, q.se, "same draws, same standard errors");
        if (l - q.ci_lower.unwrap()).abs() > 1e-12 || (u - q.ci_upper.unwrap()).abs() > 1e-12 {
            differ += 1;
        }
    }
    assert!(differ > 0, "the acceleration moves some interval");
    let few = run("bca", "50");
    assert!(few
        .parameters
        .iter()
        .filter(|p| p.free)
        .all(|p| p.ci_lower.is_none() && p.se.is_some()));
    assert!(
        few.warnings
            .iter()
            .any(|w| w.contains("at least as many successful bootstrap draws")),
        "{:?}",
        few.warnings
    );
}
