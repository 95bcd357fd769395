# VectorStream — see README.md. `make` turns a failing recipe into exit code 2;
# scripts that care about the binary's own exit codes (99 gate failed, 4 invalid run)
# call bin/vectorstream directly.
GO       ?= go
SCENARIO ?= scenarios/smoke.yaml
BIN      := bin/vectorstream

.PHONY: all build engine engine-optional test vet bench microbench report clean kafka-up kafka-down docker-up docker-down images cuda-sdk build-cuda cuda-check cuda-device-bins mutants test-under-load bench-under-nice-hogs

all: build

build:
	$(GO) build -o $(BIN) ./cmd/vectorstream

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: vet
	$(GO) test -race ./...

# The Qdrant engine server (infra/qdrant-engine, Rust: Qdrant's storage engine behind
# VectorStream's gRPC server) into bin/qdrant-engine, cached by recipe hash under
# ~/.cache/vectorstream (deploy/qdrant-engine/build.sh). The first build takes about
# 15 minutes on 2 cores; later ones copy the cached binary.
engine:
	@deploy/qdrant-engine/build.sh

# As engine, but without cargo it says so on one line and bench runs on the stand-in.
engine-optional:
	@deploy/qdrant-engine/build.sh --optional

# A Docker daemon of the project's own for the containers mode (deploy/docker/up.sh:
# Debian's docker.io, state under .cache/docker, vfs storage, no bridge, host
# networking). Other make targets and the harness find it through DOCKER_HOST:
#   eval "$$(deploy/docker/up.sh)"
docker-up:
	@bash deploy/docker/up.sh

docker-down:
	@bash deploy/docker/down.sh

# The containers mode's images (vectorstream/kafka, vectorstream/qdrant,
# vectorstream/vectorstream), built here from Debian's packages, Maven Central's
# Kafka jars and this source (deploy/images/build.sh), cached by recipe hash; the
# daemon of docker-up unless DOCKER_HOST names another.
images: engine
	@export DOCKER_HOST="$${DOCKER_HOST:-unix://$(CURDIR)/.cache/docker/docker.sock}"; bash deploy/images/build.sh

bench: build engine-optional
	$(BIN) bench $(SCENARIO)

# Redraw every committed run's plots and report.html (and every series' curve).
report: build
	@dirs=$$(find results -name series.json -exec dirname {} \; ; \
	  find results -name result.json -exec dirname {} \; | grep -v '/rep-[0-9]*$$'); \
	  [ -z "$$dirs" ] || $(BIN) report $$dirs

microbench:
	$(GO) test -run '^$$' -bench . -benchmem ./workloads/ ./embed/ ./kernels/...

clean:
	rm -rf bin

# A real single-node Apache Kafka broker (KRaft) on 127.0.0.1 for CI and development;
# jars from Maven Central into .cache/kafka (see deploy/kafka/). No Docker.
kafka-up:
	@deploy/kafka/up.sh

kafka-down:
	@deploy/kafka/down.sh

# --- CUDA backend (kernels/, behind the `cuda` build tag; see deploy/cuda/) ----------
# cuda-sdk:   NVIDIA's CUDA 11.8 packages from Debian non-free into .cache/cuda (cuda.h,
#             the libcuda stub) and nvcc/ptxas 11.8 (root). With a CUDA toolkit installed,
#             `go build -tags cuda` alone is enough.
# build-cuda: the cuda-tagged binary ($(CUDA_BIN)); it needs libcuda.so.1 to start.
# cuda-check: what CI checks without a GPU (deploy/cuda/check.sh).
# cuda-device-bins: bin/kernels.test, bin/embed.test, bin/vectorstream (all cuda-tagged)
#             for deploy/cuda/device-run.sh on a GPU machine.
CUDA_ENV := .cache/cuda/env.sh
CUDA_BIN ?= $(BIN)

cuda-sdk:
	@deploy/cuda/sdk.sh

$(CUDA_ENV):
	@deploy/cuda/sdk.sh --no-toolkit

build-cuda: $(CUDA_ENV)
	. ./$(CUDA_ENV) && $(GO) build -tags cuda -o $(CUDA_BIN) ./cmd/vectorstream

cuda-check: cuda-sdk
	@deploy/cuda/check.sh

cuda-device-bins: $(CUDA_ENV)
	. ./$(CUDA_ENV) && $(GO) test -c -tags cuda -ldflags=-s\ -w -o bin/kernels.test ./kernels && \
	  $(GO) test -c -tags cuda -ldflags=-s\ -w -o bin/embed.test ./embed && \
	  $(GO) build -tags cuda -ldflags=-s\ -w -o bin/vectorstream ./cmd/vectorstream

# make test with the cores saturated by CPU hogs (.ci/under-load): a test that needs an
# idle machine fails here. -count=1: every test runs, none is taken from the test cache.
test-under-load:
	@GOFLAGS="$$GOFLAGS -count=1" bash .ci/under-load make test

# make bench three times with one `nice -n 19 yes` hog per core (.ci/bench-under-nice-hogs):
# the harness at normal priority must win the CPU, so every run must pass.
bench-under-nice-hogs: build
	@bash .ci/bench-under-nice-hogs 3

# The in-memory exactly-once tests against deliberately broken pipelines (.ci/mutants):
# each mutant must make its test fail. By hand; not part of `make test`.
mutants:
	@bash .ci/mutants
