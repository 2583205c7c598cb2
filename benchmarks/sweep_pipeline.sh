#!/bin/bash
# Issue 19's check of the shipped pipeline: rvagene.GeneClustering with its defaults (what
# the scripts run) on the hard, held-out and target suites, 3 seeds (5 for the targets), on
# cases written by `quality.py --export-cases DIR`. The baselines are cheap: run them
# anywhere with `quality.py --methods kmeans-z,...` and merge with `quality.py --report`.
#
#   CASES=.devcases OUT=$OUT JOBS=16 bash benchmarks/sweep_pipeline.sh
#
# About 6-8 minutes on 16 idle cores. Rows are written as they finish; a run cut short is
# finished by the same command with RESUME=--resume.
set -euo pipefail
CASES=${CASES:-.devcases}
OUT=${OUT:-sweep}
JOBS=${JOBS:-16}
RESUME=${RESUME:-}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p "$OUT"
ALL=$(cd benchmarks && PYTHONPATH=.. python -c "import cases; s = cases.SUITES
print(','.join(s['hard'] + s['heldout'] + s['targets']))")
q() { python benchmarks/quality.py --cases-from "$CASES" --methods pipeline $RESUME "$@"; }
q --cases demo,simfinal --seeds 3,4 --jobs 2 --out "$OUT/pipeline_targets.csv" \
  > "$OUT/pipeline_targets.log" &
q --cases "$ALL" --seeds 0,1,2 --jobs "$JOBS" --out "$OUT/pipeline.csv" > "$OUT/pipeline.log"
wait
echo "done $(date +%T); rows in $OUT/pipeline.csv and $OUT/pipeline_targets.csv"
