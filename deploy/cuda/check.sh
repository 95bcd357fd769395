#!/usr/bin/env bash
# Check the `cuda`-tagged build on a machine without a GPU (CI, and `make cuda-check`),
# so that GPU code cannot rot unseen. Needs what deploy/cuda/sdk.sh leaves in .cache/cuda
# (and nvcc/ptxas 11.8 on PATH).
#
#  1. go vet -tags cuda on kernels and embed; go build -tags cuda ./... and the binary.
#  2. ptxas --gpu-name sm_90 (H100) on every committed kernels/cuda/*.ptx.
#  3. Regenerates the PTX from kernels/cuda/*.cu with the exact //go:generate commands of
#     kernels/gen.go and nvcc 11.8 into a temporary folder: any difference from the
#     committed PTX fails (run `go generate ./kernels` and commit).
#  4. go test -race -tags cuda ./kernels/... with LD_LIBRARY_PATH at a libcuda.so.1 link to
#     the stub, whose cuInit fails: the CUDA tests must skip saying "no CUDA device", and
#     selection and fallback run for real; the tagged binary must start and fit a model
#     with backend auto (on CPU).
set -euo pipefail
cd "$(dirname "$0")/../.."
GO=${GO:-go}

env_sh=.cache/cuda/env.sh
if [ ! -f "$env_sh" ]; then
  echo "cuda-check: $env_sh missing: run make cuda-sdk (deploy/cuda/sdk.sh) first" >&2
  exit 1
fi
# shellcheck source=/dev/null
source "$env_sh"
fail() { echo "cuda-check: $*" >&2; exit 1; }
step() { echo "== cuda: $*"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
t_all=$SECONDS

step "go vet -tags cuda ./kernels/... ./embed/..."
$GO vet -tags cuda ./kernels/... ./embed/...
step "go build -tags cuda ./..."
$GO build -tags cuda ./...
$GO build -tags cuda -o "$tmp/vectorstream" ./cmd/vectorstream

command -v ptxas >/dev/null && command -v nvcc >/dev/null || fail "nvcc/ptxas not found: run make cuda-sdk"
nvcc --version | grep -q 'release 11\.8' || fail "nvcc is not 11.8 ($(nvcc --version | grep release)); the committed PTX is nvcc 11.8's"

step "ptxas --gpu-name sm_90 on the committed PTX"
shopt -s nullglob
ptxs=(kernels/cuda/*.ptx)
[ ${#ptxs[@]} -gt 0 ] || fail "no kernels/cuda/*.ptx"
for ptx in "${ptxs[@]}"; do
  ptxas --gpu-name sm_90 -o "$tmp/$(basename "$ptx" .ptx).cubin" "$ptx" || fail "ptxas rejected $ptx"
  echo "   $ptx: ok"
done

step "regenerate the PTX with nvcc 11.8 and compare"
gen_lines=$(grep '^//go:generate nvcc ' kernels/gen.go | sed 's|^//go:generate ||')
for cu in kernels/cuda/*.cu; do
  base=$(basename "$cu" .cu)
  grep -q -- "-o cuda/$base.ptx cuda/$base.cu" <<<"$gen_lines" || fail "kernels/gen.go has no //go:generate line for $cu"
  [ -f "kernels/cuda/$base.ptx" ] || fail "$cu has no committed kernels/cuda/$base.ptx"
done
for ptx in "${ptxs[@]}"; do
  [ -f "${ptx%.ptx}.cu" ] || fail "$ptx has no source ${ptx%.ptx}.cu"
done
mkdir -p "$tmp/regen"
while IFS= read -r line; do
  # The same command, writing into the temporary folder instead.
  cmd=$(sed -E "s|-o cuda/([A-Za-z0-9_]+\.ptx)|-o $tmp/regen/\1|" <<<"$line")
  (cd kernels && eval "$cmd")
done <<<"$gen_lines"
for ptx in "${ptxs[@]}"; do
  if ! diff -u "$ptx" "$tmp/regen/$(basename "$ptx")" >"$tmp/diff"; then
    head -n 40 "$tmp/diff"
    fail "$ptx differs from what nvcc 11.8 makes of its source: run go generate ./kernels and commit"
  fi
  echo "   $ptx: unchanged"
done

step "go test -race -tags cuda ./kernels/... with the stub libcuda.so.1 (no device)"
[ -e "$CUDA_STUBS/libcuda.so.1" ] || fail "$CUDA_STUBS/libcuda.so.1 missing: run make cuda-sdk"
export LD_LIBRARY_PATH="$CUDA_STUBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
$GO test -race -tags cuda -count=1 -v ./kernels/... >"$tmp/test.log" 2>&1 || { tail -n 60 "$tmp/test.log"; fail "tagged tests failed"; }
grep -E '^(ok|FAIL|---|PASS)' "$tmp/test.log" | grep -v -- '--- PASS: .*/' | sed 's/^/   /' | tail -n 40
grep -q -- '--- SKIP: TestCUDAConformance' "$tmp/test.log" || fail "TestCUDAConformance did not skip although there is no device"
grep -q 'no CUDA device: .*CUDA_ERROR_STUB_LIBRARY' "$tmp/test.log" || fail "the skip does not say that the stub has no device"
grep -q -- '--- PASS: TestCUDASelect' "$tmp/test.log" || fail "TestCUDASelect did not pass"
grep -q -- '--- PASS: TestFallbackFailNthCall' "$tmp/test.log" || fail "the fallback tests did not run"

step "the tagged binary starts on the stub and fits on CPU with backend auto"
"$tmp/vectorstream" fit --set embedding.backend=auto -o "$tmp/model.vsm" scenarios/smoke.yaml
rc=0
"$tmp/vectorstream" fit --set embedding.backend=cuda -o "$tmp/model-cuda.vsm" scenarios/smoke.yaml >"$tmp/cuda.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "backend cuda succeeded without a device"
grep -q 'no CUDA device' "$tmp/cuda.out" || { cat "$tmp/cuda.out"; fail "backend cuda without a device did not say why"; }
echo "   backend cuda without a device: exit $rc: $(head -c 300 "$tmp/cuda.out")"
step "done in $((SECONDS - t_all)) s"
