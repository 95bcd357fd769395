#!/usr/bin/env bash
# Builds the Qdrant engine server (infra/qdrant-engine: Qdrant's storage engine
# qdrant-edge behind VectorStream's gRPC server) into bin/qdrant-engine, where
# `vectorstream bench` and `vectorstream infra serve` find it.
#
# The release binary is cached under ${XDG_CACHE_HOME:-~/.cache}/vectorstream/
# qdrant-engine/<hash>, the hash taken over its recipe (the crate's sources,
# Cargo.lock, the .proto files and rustc's version): a clone whose recipe was built
# before copies it in a second. Cargo's own build directory is shared across
# recipes (.../cargo-target), so a changed source rebuilds only the server crate.
# The first build compiles qdrant-edge and its dependencies: about 15 minutes on
# 2 cores.
#
#   deploy/qdrant-engine/build.sh             build, or fail with a clear line
#   deploy/qdrant-engine/build.sh --optional  without cargo, say so on one line and
#                                             exit 0 (make bench then runs on the
#                                             in-memory stand-in)
set -euo pipefail
cd "$(dirname "$0")/../.."
optional=false
[ "${1:-}" = --optional ] && optional=true

crate=infra/qdrant-engine
out=bin/qdrant-engine
if ! command -v cargo >/dev/null 2>&1; then
  msg="qdrant-engine: cargo not found, so the Qdrant engine server is not built; runs use the exact in-memory Qdrant stand-in (install Rust to run on Qdrant's engine)"
  if $optional; then echo "$msg" >&2; exit 0; fi
  echo "$msg" >&2; exit 1
fi

cache=${XDG_CACHE_HOME:-$HOME/.cache}/vectorstream
hash=$( { rustc --version; cd "$crate" && find Cargo.toml Cargo.lock build.rs src proto patches -type f | LC_ALL=C sort | xargs sha256sum; } | sha256sum | cut -c1-16)
cached=$cache/qdrant-engine/$hash/qdrant-engine
mkdir -p bin
if [ -x "$cached" ]; then
  cp -f "$cached" "$out.tmp" && mv -f "$out.tmp" "$out"
  exit 0
fi

# qdrant-edge with VectorStream's patches, where Cargo.toml's [patch] points.
bash deploy/qdrant-engine/vendor-edge.sh
echo "qdrant-engine: building the Qdrant engine server (recipe $hash); the first build compiles qdrant-edge: about 15 minutes on 2 cores" >&2
start=$(date +%s)
quiet=()
[ -n "${CI:-}" ] && quiet=(--quiet)
CARGO_TARGET_DIR=$cache/cargo-target cargo build --release --locked "${quiet[@]}" --manifest-path "$crate/Cargo.toml"
mkdir -p "$(dirname "$cached")"
cp -f "$cache/cargo-target/release/qdrant-engine" "$cached.tmp" && mv -f "$cached.tmp" "$cached"
cp -f "$cached" "$out.tmp" && mv -f "$out.tmp" "$out"
echo "qdrant-engine: built in $(( $(date +%s) - start )) s: $out" >&2
