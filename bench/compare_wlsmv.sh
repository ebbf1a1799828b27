#!/usr/bin/env bash
# WLSMV on ordinal data, sem against lavaan side by side on this machine.
#
#   bench/compare_wlsmv.sh [RUNS]
#
# The workload is the lavaan fixture tests/fixtures/ordinal/bradford_likert5:
# the Bradford model on 25 five-point items, N = 400, every item ordinal
# (`sem fit ... --ordered all` | lavaan::sem(model, data, ordered = names(data))),
# estimates, robust SEs, the scaled-shifted test and fit measures.
#
# sem, two ways:
# - process: user CPU and wall time of the whole `sem fit` process (start-up,
#   CSV reading, the three-stage statistics, the fit, printing), median of
#   max(RUNS, 50) runs;
# - in-process (examples/time_wlsmv.rs): median wall time of RUNS runs of
#   reading + statistics + fit + report inside one process, and the mean CPU
#   time per run; the like-for-like counterpart of lavaan's timing below.
# lavaan, two ways: elapsed and user CPU time of RUNS calls of sem() +
# fitMeasures() inside one R process (R start-up, library(lavaan) and
# read.csv excluded), median; and whole `Rscript` runs (start-up, library,
# read.csv, sem, fitMeasures, summary printed), median of up to 5. The load average is printed with the numbers: the machine is shared.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-20}"
F=tests/fixtures/ordinal/bradford_likert5
cargo build --release --quiet --bin sem --example time_wlsmv
SEM="$PWD/target/release/sem"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# sem: one line "user wall" per run from bash's times; at least 50 runs (they are
# cheap, and a fresh process's time is spread: 15-23 ms here)
sem_times=()
for _ in $(seq "$(( RUNS > 50 ? RUNS : 50 ))"); do
  t=$( { TIMEFORMAT='%U %R'; time "$SEM" fit "$F/model.lav" "$F/data.csv" --ordered all >/dev/null; } 2>&1 )
  sem_times+=("$t")
done
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
sem_user=$(printf '%s\n' "${sem_times[@]}" | awk '{print $1}' | median)
sem_wall=$(printf '%s\n' "${sem_times[@]}" | awk '{print $2}' | median)
read -r in_wall in_cpu < <("$PWD/target/release/examples/time_wlsmv" "$F/model.lav" "$F/data.csv" "$RUNS")
echo "load average after sem: $(cut -d' ' -f1-3 /proc/loadavg)"

if command -v Rscript >/dev/null && Rscript -e 'suppressMessages(library(lavaan))' >/dev/null 2>&1; then
  read -r lav_wall lav_user < <(Rscript -e '
    suppressMessages(library(lavaan))
    a <- commandArgs(TRUE)
    model <- paste(readLines(a[1]), collapse = "\n")
    d <- read.csv(a[2])
    runs <- as.integer(a[3])
    fit1 <- function() { f <- sem(model, data = d, ordered = names(d)); fitMeasures(f) }
    invisible(fit1())
    t <- t(sapply(seq_len(runs), function(i) { s <- system.time(fit1()); c(s[["elapsed"]], s[["user.self"]]) }))
    cat(median(t[, 1]), median(t[, 2]), "\n")
  ' "$F/model.lav" "$F/data.csv" "$RUNS")
  # the same as a whole process, as a user runs it from a terminal: R start-up,
  # library(lavaan), read.csv, sem(), fitMeasures() and summary() printed;
  # median of min(RUNS, 5) runs
  lav_proc=()
  for _ in $(seq "$(( RUNS < 5 ? RUNS : 5 ))"); do
    t=$( { TIMEFORMAT='%R %U'; time Rscript -e '
      suppressMessages(library(lavaan))
      a <- commandArgs(TRUE)
      d <- read.csv(a[2])
      f <- sem(paste(readLines(a[1]), collapse = "\n"), data = d, ordered = names(d))
      invisible(fitMeasures(f)); summary(f, fit.measures = TRUE, standardized = TRUE)
    ' "$F/model.lav" "$F/data.csv" >/dev/null; } 2>&1 )
    lav_proc+=("$t")
  done
  lavp_wall=$(printf '%s\n' "${lav_proc[@]}" | awk '{print $1}' | median)
  lavp_user=$(printf '%s\n' "${lav_proc[@]}" | awk '{print $2}' | median)
else
  lav_wall=NA; lav_user=NA; lavp_wall=NA; lavp_user=NA
fi
echo "load average after lavaan: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-18s %10s %10s\n' "" "wall (s)" "CPU (s)"
printf '%-18s %10s %10s\n' "sem (process)" "$sem_wall" "$sem_user"
printf '%-18s %10s %10s\n' "sem (in-process)" "$in_wall" "$in_cpu"
printf '%-18s %10s %10s\n' "lavaan (in R)" "$lav_wall" "$lav_user"
printf '%-18s %10s %10s\n' "lavaan (Rscript)" "$lavp_wall" "$lavp_user"
awk -v lw="$lav_wall" -v sw="$sem_wall" -v lu="$lav_user" -v su="$sem_user" -v iw="$in_wall" -v ic="$in_cpu" \
  -v pw="$lavp_wall" -v pu="$lavp_user" 'BEGIN {
  if (lw == "NA") exit
  printf "lavaan in R / sem process: %.0fx wall, %.0fx CPU\n", lw / sw, (su > 0 ? lu / su : 0)
  if (ic != "NA") printf "in-process, both:         %.0fx wall, %.0fx CPU\n", lw / iw, (ic > 0 ? lu / ic : 0)
  if (pw != "NA") printf "whole processes, both:     %.0fx wall, %.0fx CPU\n", pw / sw, (su > 0 ? pu / su : 0) }'
