#!/usr/bin/env bash
# sem power against a lavaan loop, side by side in one run (BENCHMARKS.md, issue 17):
# 1000 replications of the Bradford model at N = 300 with `sem power` (simulate + fit + SEs +
# summaries, all cores), and REPS (default 50) replications of simulateData() + sem() in R.
# Prints wall and user CPU of each and the per-replication ratio. Run from the repository
# root after `cargo build --release`.
set -euo pipefail
reps=${1:-50}
sem=${SEM:-target/release/sem}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f "sem power: 1000 replications in %e s wall, %U s user CPU, peak RSS %M KB" \
  "$sem" power models/bradford_population.lav --model models/bradford.lav --n 300 --reps 1000 \
  --format json > /dev/null
/usr/bin/time -f "sem power: 4000 replications in %e s wall, %U s user CPU, peak RSS %M KB" \
  "$sem" power models/bradford_population.lav --model models/bradford.lav --n 300 --reps 4000 \
  --format json > /dev/null
Rscript bench/power_lavaan.R "$reps"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
