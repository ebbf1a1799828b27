//! criterion bench of `sem power` (`cargo bench --bench power`): Monte Carlo
//! replications of the Bradford model (models/bradford_population.lav, analysed
//! with models/bradford.lav) at N = 300, each one a draw from the population,
//! the fit (estimate, vcov, test, fit measures) and the streaming summaries.
//! One iteration runs 100 replications on all cores; the target is
//! 1000 replications in under 2 s on two cores (BENCHMARKS.md).

use criterion::{criterion_group, criterion_main, Criterion};
use sem::pipeline::FitOptions;
use sem::power::{Design, PowerOptions, Study};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

fn study(reps: usize) -> Study {
    Study::new(PowerOptions {
        population: PathBuf::from("models/bradford_population.lav"),
        model: Some(PathBuf::from("models/bradford.lav")),
        designs: vec![Design { groups: vec![300] }],
        reps,
        seed: 1,
        likert: None,
        missing: 0.0,
        fit: FitOptions::default(),
        jobs: None,
    })
    .expect("the Bradford population")
}

fn power(c: &mut Criterion) {
    let s = study(100);
    let mut g = c.benchmark_group("power");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4));
    g.bench_function("bradford_n300_100_reps", |b| b.iter(|| black_box(s.run(None, &|| {}).unwrap())));
    g.finish();
}

criterion_group!(benches, power);
criterion_main!(benches);
