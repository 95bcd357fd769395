#!/usr/bin/env bash
# Lays out qdrant-edge 0.7.0 with VectorStream's patches at
# infra/qdrant-engine/vendor/qdrant-edge-0.7.0 (git-ignored), where the crate's
# [patch.crates-io] points: the registry's own .crate, checked against its
# crates.io checksum, unpacked, and infra/qdrant-engine/patches/*.patch applied.
# Run before any cargo command on the crate; build.sh does. Idempotent: a layout
# made from the same patches is kept.
#
# The one patch so far adds EdgeShard::flush_and_truncate_wal: qdrant-edge 0.7.0
# writes every update to its WAL and never truncates it (its acknowledgement is not
# public), so an hour at 10,000 points/s would leave ~27 GB of WAL.
set -euo pipefail
cd "$(dirname "$0")/../.."
crate=infra/qdrant-engine
version=0.7.0
checksum=714dd06d7635624d53e5c6718081f914d83c76532c598747b5157c38169e2546
dest=$crate/vendor/qdrant-edge-$version
stamp=$( { echo "$checksum"; cat "$crate"/patches/*.patch; } | sha256sum | cut -c1-16)
[ -f "$dest/.vectorstream-patched" ] && [ "$(cat "$dest/.vectorstream-patched")" = "$stamp" ] && exit 0

cargo_home=${CARGO_HOME:-$HOME/.cargo}
find_crate() { ls "$cargo_home"/registry/cache/*/qdrant-edge-$version.crate 2>/dev/null | head -1; }
archive=$(find_crate)
if [ -z "$archive" ]; then
  # Cargo's own download, by name: a throwaway manifest that depends on it.
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/src" && : >"$tmp/src/lib.rs"
  printf '[package]\nname = "fetch-qdrant-edge"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\nqdrant-edge = "=%s"\n' "$version" >"$tmp/Cargo.toml"
  cargo fetch --quiet --manifest-path "$tmp/Cargo.toml"
  archive=$(find_crate)
fi
[ -n "$archive" ] || { echo "vendor-edge: qdrant-edge $version not in $cargo_home/registry/cache after cargo fetch" >&2; exit 1; }
echo "$checksum  $archive" | sha256sum --check --quiet - ||
  { echo "vendor-edge: $archive does not have crates.io's checksum $checksum" >&2; exit 1; }

rm -rf "$dest" "$dest.tmp"
mkdir -p "$dest.tmp"
tar -xzf "$archive" -C "$dest.tmp" --strip-components=1
for p in "$crate"/patches/*.patch; do
  patch --quiet --directory "$dest.tmp" -p1 <"$p"
done
echo "$stamp" >"$dest.tmp/.vectorstream-patched"
mv "$dest.tmp" "$dest"
