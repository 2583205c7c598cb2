#!/bin/bash
# Issue 19's sweep on a many-core machine: the baselines (all but tslearn's softdtw/kshape)
# and the candidate pipelines, on cases written by `quality.py --export-cases DIR`.
# Needs numpy, torch, scikit-learn, scipy only. Each step writes its rows as they finish;
# a step cut short can be finished with the same command plus --resume.
#
#   CASES=.devcases OUT=$OUT JOBS=16 bash benchmarks/sweep_quality.sh
#
# About 6-10 minutes on 16 idle cores; the last step (5 fits per task at full length) is the
# longest and may be dropped (STEPS="1 2 3 4").
set -euo pipefail
CASES=${CASES:-.devcases}
OUT=${OUT:-sweep}
JOBS=${JOBS:-16}
STEPS=${STEPS:-"1 2 3 4 5"}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p "$OUT"
q() { python benchmarks/quality.py --cases-from "$CASES" --jobs "$JOBS" "$@"; }
for step in $STEPS; do
  case $step in
    1) q --suite hard --methods kmeans-z,kmeans-smooth,pca-kmeans,pca-recon,gmm \
         --out "$OUT/baselines.csv" > "$OUT/baselines.log" ;;
    2) q --suite hard --methods rvagene --set max_timepoints=64 --set ensemble=5 \
         --out "$OUT/ens5_b64.csv" > "$OUT/ens5_b64.log" ;;
    3) q --suite targets --methods rvagene --set max_timepoints=64 --set ensemble=5 \
         --seeds 0,1,2,3,4 --out "$OUT/targets_ens5_b64.csv" > "$OUT/targets_ens5_b64.log" ;;
    4) q --suite hard --methods rvagene --out "$OUT/single_full.csv" \
         > "$OUT/single_full.log" ;;
    5) q --suite hard --methods rvagene --set ensemble=5 \
         --out "$OUT/ens5_full.csv" > "$OUT/ens5_full.log" ;;
  esac
  echo "step $step done $(date +%T)"
done
csvs=$(ls "$OUT"/baselines.csv "$OUT"/ens5_b64.csv "$OUT"/single_full.csv \
  "$OUT"/ens5_full.csv 2>/dev/null || true)
python benchmarks/quality.py --report $csvs --out "$OUT/quality_sweep.csv" \
  > "$OUT/quality_sweep.log"
echo "tables in $OUT/quality_sweep.log"
