#!/usr/bin/env bash
# The gpu-vs-cpu scenario on a GPU machine (the second device call, after
# deploy/cuda/device-run.sh): the pipeline once with embedding.backend cpu and once with
# cuda, same load, then the comparison. Needs bin/vectorstream built with -tags cuda
# (make cuda-device-bins) and carried. Writes under $OUT:
#   gpu-vs-cpu.tgz   results/gpu-vs-cpu/<run-id>/ (both runs, series.json, reports)
#   gpu-vs-cpu.txt   the bench output and `vectorstream compare` of the two runs
# Back here: tar xzf gpu-vs-cpu.tgz; commit results/gpu-vs-cpu/<run-id>/ with the GPU
# named (environment.backend_selection.device in each result.json).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/device-out}
mkdir -p "$OUT"
run_id=${RUN_ID:-baseline-gpu-$(date -u +%Y%m%d)}
log="$OUT/gpu-vs-cpu.txt"
[ -x bin/vectorstream ] || { echo "missing bin/vectorstream: run make cuda-device-bins and carry bin/" | tee "$log"; exit 1; }
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  echo "== bench scenarios/gpu-vs-cpu.yaml (run $run_id)"
  timeout 420 bin/vectorstream bench --quiet --run-id "$run_id" scenarios/gpu-vs-cpu.yaml
  echo "bench exit $?"
  dir="results/gpu-vs-cpu/$run_id"
  echo "== compare cpu (baseline) vs cuda"
  bin/vectorstream compare --out "$dir" "$dir/embedding.backend=cpu/rep-1" "$dir/embedding.backend=cuda/rep-1"
  echo "compare exit $?"
} >"$log" 2>&1
tar czf "$OUT/gpu-vs-cpu.tgz" results/gpu-vs-cpu
tail -n 40 "$log"
