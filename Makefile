# VectorStream — see README.md. `make` turns a failing recipe into exit code 2;
# scripts that care about the binary's own exit codes (99 gate failed, 4 invalid run)
# call bin/vectorstream directly.
GO       ?= go
SCENARIO ?= scenarios/smoke.yaml
BIN      := bin/vectorstream

.PHONY: all build test vet bench microbench report clean kafka-up kafka-down

all: build

build:
	$(GO) build -o $(BIN) ./cmd/vectorstream

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: vet
	$(GO) test -race ./...

bench: build
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
