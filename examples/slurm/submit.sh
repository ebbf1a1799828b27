#!/bin/bash
# Submit a sharded `sem power` study to Slurm: an array of $SHARDS tasks (power.sbatch),
# then the merge job (merge.sbatch) that starts when every task has succeeded.
# Settings come from the environment: SEM (the binary), POPULATION, MODEL, NS, REPS, SEED,
# EXTRA, OUT, FORMAT, REPORT (see power.sbatch and merge.sbatch). Prints the merge job id.
# WAIT=1 blocks until the merge job has finished (sbatch --wait), for scripts and tests.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shards=${SHARDS:-4}
array=$(sbatch --parsable --array="1-$shards" --export=ALL "$here/power.sbatch")
array=${array%%;*}
wait_flag=()
if [ "${WAIT:-0}" = 1 ]; then wait_flag=(--wait); fi
sbatch --parsable "${wait_flag[@]}" --dependency="afterok:$array" --kill-on-invalid-dep=yes --export=ALL "$here/merge.sbatch"
