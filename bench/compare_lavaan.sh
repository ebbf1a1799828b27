#!/usr/bin/env bash
# sem against lavaan on the same workloads, side by side on this machine.
#
#   bench/compare_lavaan.sh [--quick] [--keep DIR]
#
# Builds the release binary and the workloads example, writes the seeded
# workloads (examples/workloads.rs: 100 resampled Bradford data sets, CFAs of
# 5 x 20 and 10 x 20 indicators with N = 1000, a 1,000,000-row CSV) into a
# temporary directory, and times:
#
#   batch100   sem batch on the 100 data sets     | lavaan: sem(), parameterEstimates(), fitMeasures() in a loop
#   cfa5x20    sem fit (JSON, SEs, fit measures)  | lavaan: the same three calls
#   cfa10x20   sem fit                            | lavaan only with LAVAAN_10X20=1 (it needs more than 24 GiB)
#   csv1m      sem fit of the Bradford model on the 1M-row CSV (read + moments + fit)
#                                                 | lavaan: read.csv() + sem() (skipped with --quick)
#   boot1000   1000 bootstrap draws of the Bradford model: the inner loop (resample rows,
#              moments, warm-started estimate, vcov) from `workloads bootstrap`, on all cores
#                                                 | lavaan: bootstrapLavaan(R = 1000) with coef and SEs (skipped with --quick)
#
# sem's time is the wall time of the whole process (start-up included), the
# median of 3 runs; lavaan's is the elapsed time of the loop inside R (R's
# start-up and library(lavaan) excluded), one run. Peak memory (max RSS) comes
# from /usr/bin/time -v when it is there. Prints one line per workload and the
# ratio lavaan / sem. lavaan is skipped when Rscript or lavaan is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0
KEEP=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --keep) KEEP="$2"; shift ;;
    *) echo "usage: $0 [--quick] [--keep DIR]" >&2; exit 2 ;;
  esac
  shift
done

cargo build --release --quiet --bin sem --example workloads
SEM="$PWD/target/release/sem"
WL="$PWD/target/release/examples/workloads"
if [ -n "$KEEP" ]; then W="$KEEP"; mkdir -p "$W"; else W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT; fi
[ -f "$W/big.csv" ] || "$WL" write "$W" >/dev/null

HAVE_R=0
if command -v Rscript >/dev/null && Rscript -e 'suppressMessages(library(lavaan))' >/dev/null 2>&1; then HAVE_R=1; fi
TIMEV=""
if [ -x /usr/bin/time ] && /usr/bin/time -v true >/dev/null 2>&1; then TIMEV=/usr/bin/time; fi

# run a command, print "seconds max_rss_kib" (max RSS "-" without /usr/bin/time)
measure() {
  local log; log="$(mktemp)"
  local t0 t1
  t0=$(date +%s.%N)
  if [ -n "$TIMEV" ]; then $TIMEV -v "$@" >/dev/null 2>"$log"; else "$@" >/dev/null 2>"$log"; fi
  t1=$(date +%s.%N)
  local rss="-"
  if [ -n "$TIMEV" ]; then rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log"); fi
  rm -f "$log"
  echo "$(echo "$t1 - $t0" | bc -l) $rss"
}

# the median of 3 runs (wall seconds), with the largest max RSS
median3() {
  local a b c
  a=$(measure "$@"); b=$(measure "$@"); c=$(measure "$@")
  printf '%s\n%s\n%s\n' "$a" "$b" "$c" | sort -g | sed -n 2p | awk -v r1="${a#* }" -v r2="${b#* }" -v r3="${c#* }" \
    '{m=r1; if (r2>m) m=r2; if (r3>m) m=r3; print $1, m}'
}

# an R snippet's elapsed seconds (printed by the snippet as "ELAPSED x")
rtime() {
  Rscript -e "suppressMessages(library(lavaan)); $1" 2>/dev/null | awk '/^ELAPSED/ {print $2}'
}

kib_to_mib() { [ "$1" = "-" ] && echo "-" || echo "$(( $1 / 1024 )) MiB"; }

printf '%-10s %12s %12s %14s %9s  %s\n' workload "sem (s)" "lavaan (s)" "lavaan/sem" "sem RSS" note
row() { # name sem_line lavaan_seconds note
  local s="${2% *}" rss="${2#* }" l="$3"
  local ratio="-"
  if [ -n "$l" ] && [ "$l" != "-" ]; then ratio=$(echo "$l / $s" | bc -l | xargs printf '%.0fx'); fi
  printf '%-10s %12.3f %12s %14s %9s  %s\n' "$1" "$s" "${l:--}" "$ratio" "$(kib_to_mib "$rss")" "$4"
}

MODEL="$PWD/models/bradford.lav"

# 1. batch of 100 resampled Bradford data sets
S=$(median3 "$SEM" batch "$MODEL" "$W/bradford/*.csv" --format json)
L="-"
if [ $HAVE_R = 1 ]; then
  L=$(rtime "m <- paste(readLines('$MODEL'), collapse='\n'); fs <- sort(Sys.glob('$W/bradford/*.csv'));
    t <- proc.time(); for (f in fs) { fit <- sem(m, data = read.csv(f)); pe <- parameterEstimates(fit, standardized = TRUE); fm <- fitMeasures(fit) };
    cat('ELAPSED', (proc.time() - t)[['elapsed']], '\n')")
fi
row batch100 "$S" "$L" "100 data sets, N = 300 each"

# 2. and 3. the CFAs
for f in 5 10; do
  S=$(median3 "$SEM" fit "$W/cfa${f}x20.lav" "$W/cfa${f}x20.csv" --format json)
  L="-"
  note="N = 1000, estimates, SEs, fit measures"
  if [ $HAVE_R = 1 ] && { [ $f = 5 ] || [ "${LAVAAN_10X20:-0}" = 1 ]; }; then
    L=$(rtime "m <- paste(readLines('$W/cfa${f}x20.lav'), collapse='\n'); d <- read.csv('$W/cfa${f}x20.csv');
      t <- proc.time(); fit <- sem(m, data = d); pe <- parameterEstimates(fit, standardized = TRUE); fm <- fitMeasures(fit);
      cat('ELAPSED', (proc.time() - t)[['elapsed']], '\n')")
  elif [ $f = 10 ]; then
    note="$note; lavaan not run (LAVAAN_10X20=1 runs it: more than 24 GiB)"
  fi
  row "cfa${f}x20" "$S" "$L" "$note"
done

# 4. the 1M-row CSV
S=$(median3 "$SEM" fit "$MODEL" "$W/big.csv" --format json)
L="-"
if [ $HAVE_R = 1 ] && [ $QUICK = 0 ]; then
  L=$(rtime "m <- paste(readLines('$MODEL'), collapse='\n');
    t <- proc.time(); fit <- sem(m, data = read.csv('$W/big.csv')); fm <- fitMeasures(fit);
    cat('ELAPSED', (proc.time() - t)[['elapsed']], '\n')")
fi
row csv1m "$S" "$L" "1,000,000 x 25: read, moments, fit"

# 5. the bootstrap inner loop
S=$(median3 "$WL" bootstrap "$MODEL" "$PWD/data/bradford_demo.csv" 1000)
L="-"
if [ $HAVE_R = 1 ] && [ $QUICK = 0 ]; then
  L=$(rtime "m <- paste(readLines('$MODEL'), collapse='\n'); fit <- sem(m, data = read.csv('$PWD/data/bradford_demo.csv')); set.seed(1);
    t <- proc.time(); b <- bootstrapLavaan(fit, R = 1000, FUN = function(x) c(coef(x), sqrt(diag(vcov(x)))));
    cat('ELAPSED', (proc.time() - t)[['elapsed']], '\n')")
fi
row boot1000 "$S" "$L" "Bradford, N = 300, $(nproc) cores"

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "sem $("$SEM" --version 2>/dev/null | awk '{print $2}'), $(rustc --version)"
if [ $HAVE_R = 1 ]; then Rscript -e 'cat("lavaan", as.character(packageVersion("lavaan")), "on", R.version.string, "\n")'; fi
