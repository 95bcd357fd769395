#!/usr/bin/env bash
# Run the CUDA checks on a GPU machine that has the NVIDIA driver but no Go (the lent
# H100 of the `device` tool). Build the cuda-tagged binaries here first:
#
#   make cuda-device-bins    # bin/kernels.test bin/embed.test bin/vectorstream
#
# then, on the GPU machine, from the repository root with bin/ carried:
#
#   bash deploy/cuda/device-run.sh      # writes at most 7 files under $OUT
#
# Steps (each under its own timeout; about 3–5 minutes in all, at most ~8):
#   nvidia-smi.txt     the GPU, driver, memory and PCIe link
#   kernels-test.txt   correctness: the conformance suite and every kernel against the CPU
#                      backend on fresh random inputs (-test.run 'CUDA|Select|Fallback')
#   bench-encode.txt   the encode sweep, batch 256…262,144 × dims 64/128/256, CUDA then CPU in
#                      one process: events/s with transfers, kernel-ns/op from CUDA events
#   bench-kernels.txt  the common kernel benchmarks on CUDA and CPU
#   bench-fit.txt      embed.Fit of 100k and 1M products on CPU and CUDA
#   vectorstream.txt   the cuda-tagged binary: fit with backend cuda, then auto
#   summary.txt        exit codes, times, and the key numbers
# Exit status: 0 when the correctness tests pass, else 1 (benchmarks are reported, not gated).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/device-out}
mkdir -p "$OUT"
summary="$OUT/summary.txt"
: >"$summary"
note() { echo "$*" | tee -a "$summary"; }

for b in bin/kernels.test bin/embed.test bin/vectorstream; do
  [ -x "$b" ] || { note "missing $b: run make cuda-device-bins and carry bin/"; exit 1; }
done

# step NAME TIMEOUT FILE CMD...: runs CMD with its output in FILE, notes exit code and time.
step() {
  local name=$1 limit=$2 file=$3
  shift 3
  local t0=$SECONDS rc=0
  timeout "$limit" "$@" >"$OUT/$file" 2>&1 || rc=$?
  note "$name: exit $rc in $((SECONDS - t0)) s ($file)"
  return "$rc"
}

{
  nvidia-smi
  nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version,clocks.max.sm,clocks.max.mem,pcie.link.gen.max,pcie.link.width.max --format=csv
  echo; ldd bin/kernels.test
} >"$OUT/nvidia-smi.txt" 2>&1
note "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -n1)"

test_rc=0
step "correctness tests" 150 kernels-test.txt \
  bin/kernels.test -test.v -test.count=1 -test.run 'CUDA|Select|Fallback' || test_rc=$?
grep -E '^(--- (FAIL|SKIP)|FAIL|ok|PASS)|no CUDA device|relative error' "$OUT/kernels-test.txt" | head -n 20 | tee -a "$summary"
grep -E 'cuda → cuda|before:|after:' "$OUT/kernels-test.txt" | head -n 4 | tee -a "$summary"

step "encode benchmarks" 200 bench-encode.txt \
  bin/kernels.test -test.run '^$' -test.bench '^BenchmarkEncode(CUDA|CPU)$' -test.benchtime 0.3s -test.benchmem
grep -E 'dim=128/(cuda|cpu)-65536' "$OUT/bench-encode.txt" | tee -a "$summary"

step "kernel benchmarks" 60 bench-kernels.txt \
  bin/kernels.test -test.run '^$' -test.bench '^Benchmark(CUDA|CPU)$' -test.benchtime 0.2s -test.benchmem

step "fit benchmarks" 200 bench-fit.txt \
  bin/embed.test -test.run '^$' -test.bench '^BenchmarkFitCUDA$' -test.benchtime 1x -test.benchmem
grep -E '^BenchmarkFitCUDA' "$OUT/bench-fit.txt" | tee -a "$summary"

{
  echo "== vectorstream fit, backend cuda"
  bin/vectorstream fit --set embedding.backend=cuda -o /tmp/vs-model-cuda.vsm scenarios/smoke.yaml
  echo "exit $?"
  echo "== vectorstream fit, backend auto"
  bin/vectorstream fit --set embedding.backend=auto -o /tmp/vs-model-auto.vsm scenarios/smoke.yaml
  echo "exit $?"
} >"$OUT/vectorstream.txt" 2>&1
grep -E '^exit|fitted|error' "$OUT/vectorstream.txt" | tee -a "$summary"

if [ "$test_rc" -ne 0 ]; then
  note "RESULT: correctness tests FAILED (exit $test_rc)"
  exit 1
fi
note "RESULT: correctness tests passed"
