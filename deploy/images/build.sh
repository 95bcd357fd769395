#!/usr/bin/env bash
# Builds the containers mode's images here, from nothing pulled, and loads them
# into the Docker daemon at $DOCKER_HOST (deploy/docker/up.sh):
#
#   vectorstream/kafka:<kafka version>    Debian bookworm (mmdebstrap, Debian's own
#                                         packages) + a headless Java 17 + the Kafka
#                                         jars deploy/kafka resolves from Maven Central;
#                                         a single KRaft node configured as apache/kafka
#                                         is (KAFKA_* variables; deploy/images/kafka/run)
#   vectorstream/qdrant:edge-<version>    Debian bookworm + bin/qdrant-engine, the engine
#                                         server of the embedded default, configured by
#                                         qdrant/qdrant's variables (deploy/images/qdrant/run)
#   vectorstream/vectorstream:<revision>  FROM scratch: the static vectorstream binary,
#   vectorstream/vectorstream:dev         for the pipeline and the load generator
#
#   deploy/images/build.sh [kafka|qdrant|vectorstream ...]   # default: all three; make images
#
# Imported images have no registry digest: each carries its recipe hash in the label
# org.vectorstream.recipe (the harness records it with the image ID), the hash taken
# over this script, the image's own files and its inputs (the Kafka pom, the engine
# binary, the vectorstream binary). An image whose label matches is not rebuilt; the
# root filesystem tarballs are cached outside the clone under
# ${XDG_CACHE_HOME:-~/.cache}/vectorstream/images/<name>-<hash>.tar, so a fresh clone
# with a fresh daemon imports them in seconds. Debian's packages are the suite's
# current ones (no snapshot archive is reachable here): each image lists them in
# /etc/vectorstream-packages.txt, and SOURCE_DATE_EPOCH fixes the file times.
# Never run by go test: make images and .ci/run call it.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

log() { printf 'images: %s\n' "$*" >&2; }
die() { printf 'images: ERROR: %s\n' "$*" >&2; exit 1; }

[[ -n "${DOCKER_HOST:-}" ]] || die "DOCKER_HOST is not set: run eval \"\$(deploy/docker/up.sh)\" (make docker-up) first"
docker info >/dev/null 2>&1 || die "no Docker daemon answers at $DOCKER_HOST: run make docker-up"

names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=(kafka qdrant vectorstream)

cache=${XDG_CACHE_HOME:-$HOME/.cache}/vectorstream/images
mkdir -p "$cache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SOURCE_DATE_EPOCH=1767225600 # 2026-01-01T00:00:00Z
SUITE=bookworm
MIRRORS=("deb http://deb.debian.org/debian $SUITE main" "deb http://deb.debian.org/debian-security $SUITE-security main")
# Leave out what a container never reads (not the man pages: Java's postinst links
# its own through update-alternatives, which fails without their folders).
DPKG_OPTS=(--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/info/*')

need_mmdebstrap() {
  command -v mmdebstrap >/dev/null 2>&1 && return
  [[ "$(id -u)" == 0 ]] || die "mmdebstrap is not installed and installing it needs root"
  log "installing Debian's mmdebstrap ..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null 2>"$work/apt.err" ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null; } ||
    { cat "$work/apt.err" >&2; die "apt-get install mmdebstrap failed"; }
}

# recipe NAME FILE... prints the recipe hash of image NAME: this script and FILEs.
recipe() {
  local name=$1
  shift
  { echo "$name $SUITE ${MIRRORS[*]} ${DPKG_OPTS[*]}"; sha256sum "$ROOT/deploy/images/build.sh" "$@" | cut -d' ' -f1; } | sha256sum | cut -c1-16
}

# current TAG HASH: the daemon has TAG with recipe HASH.
current() {
  [[ "$(docker image inspect "$1" --format '{{index .Config.Labels "org.vectorstream.recipe"}}' 2>/dev/null || true)" == "$2" ]]
}

# debian_rootfs OUT.tar PACKAGES HOOK...: a bookworm root filesystem of Debian's
# packages (mmdebstrap's essential variant plus PACKAGES) with customize HOOKs.
debian_rootfs() {
  local out=$1 pkgs=$2
  shift 2
  need_mmdebstrap
  local hooks=()
  for h in "$@"; do hooks+=(--customize-hook="$h"); done
  mmdebstrap --quiet --format=tar --variant=essential --include="$pkgs" "${DPKG_OPTS[@]}" \
    --customize-hook='chroot "$1" dpkg-query -W -f "\${Package} \${Version}\n" >"$1/etc/vectorstream-packages.txt"' \
    "${hooks[@]}" "$SUITE" "$out.tmp" "${MIRRORS[@]}" >&2
  mv -f "$out.tmp" "$out"
}

# load NAME HASH TAR TAG... CHANGE...: import TAR as the first TAG with the Dockerfile
# CHANGEs and the recipe label, and tag the rest.
load() {
  local name=$1 hash=$2 tar=$3
  shift 3
  local tags=() changes=()
  for a in "$@"; do
    if [[ "$a" == vectorstream/* ]]; then tags+=("$a"); else changes+=(--change "$a"); fi
  done
  docker import "${changes[@]}" --change "LABEL org.vectorstream.recipe=$hash org.vectorstream.image=$name" \
    "$tar" "${tags[0]}" >/dev/null
  for t in "${tags[@]:1}"; do docker tag "${tags[0]}" "$t"; done
  log "$name: ${tags[*]} = $(docker image inspect "${tags[0]}" --format '{{.ID}}') (recipe $hash, $(du -h "$tar" | cut -f1) rootfs)"
}

build_kafka() {
  # The jars deploy/kafka resolves (in a subshell: its common.sh has a log of its own).
  (
    # shellcheck source=deploy/kafka/common.sh
    source "$ROOT/deploy/kafka/common.sh"
    kafka_resolve_jars
  )
  local KAFKA_LIBS=$ROOT/.cache/kafka/libs jar version hash tag tar
  jar="$(compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" | head -n1)"
  version="$(basename "$jar" .jar)"
  version="${version#kafka_2.13-}"
  hash=$(recipe kafka "$ROOT/deploy/images/kafka/run" "$ROOT/deploy/kafka/pom.xml" "$ROOT/deploy/kafka/log4j2.properties")
  tag=vectorstream/kafka:$version
  if current "$tag" "$hash"; then log "kafka: $tag is current (recipe $hash)"; return; fi
  tar=$cache/kafka-$hash.tar
  if [[ ! -f "$tar" ]]; then
    log "kafka: building the root filesystem (Debian $SUITE, openjdk-17-jre-headless, Kafka $version jars) ..."
    local t0=$SECONDS
    debian_rootfs "$tar" openjdk-17-jre-headless \
      "mkdir -p \"\$1/opt/kafka/config\" \"\$1/etc/kafka/docker\" \"\$1/var/lib/kafka/data\" && cp -r '$KAFKA_LIBS' \"\$1/opt/kafka/libs\" && rm -f \"\$1/opt/kafka/libs/.pom.sha256\"" \
      "cp '$ROOT/deploy/kafka/log4j2.properties' \"\$1/opt/kafka/config/log4j2.properties\" && cp '$ROOT/deploy/images/kafka/run' \"\$1/etc/kafka/docker/run\" && echo '$version' >\"\$1/opt/kafka/VERSION\""
    log "kafka: root filesystem built in $((SECONDS - t0))s"
  fi
  load kafka "$hash" "$tar" "$tag" 'ENTRYPOINT ["/etc/kafka/docker/run"]' 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
}

build_qdrant() {
  local engine=$ROOT/bin/qdrant-engine
  [[ -x "$engine" ]] || die "qdrant: $engine is missing: run make engine first"
  local version hash tag tar sum
  version=$(sed -n 's/^qdrant-edge *= *"=\{0,1\}\([0-9.]*\)".*/\1/p' "$ROOT/infra/qdrant-engine/Cargo.toml" | head -n1)
  [[ -n "$version" ]] || die "qdrant: cannot tell the qdrant-edge version of $engine"
  sum=$work/engine.sha256
  sha256sum "$engine" | cut -d' ' -f1 >"$sum"
  hash=$(recipe qdrant "$ROOT/deploy/images/qdrant/run" "$sum")
  tag=vectorstream/qdrant:edge-$version
  if current "$tag" "$hash"; then log "qdrant: $tag is current (recipe $hash)"; return; fi
  tar=$cache/qdrant-$hash.tar
  if [[ ! -f "$tar" ]]; then
    log "qdrant: building the root filesystem (Debian $SUITE, the engine server) ..."
    local t0=$SECONDS
    debian_rootfs "$tar" libgcc-s1 \
      "mkdir -p \"\$1/qdrant/storage\" && cp '$engine' \"\$1/usr/local/bin/qdrant-engine\" && cp '$ROOT/deploy/images/qdrant/run' \"\$1/usr/local/bin/qdrant-run\""
    log "qdrant: root filesystem built in $((SECONDS - t0))s"
  fi
  load qdrant "$hash" "$tar" "$tag" 'ENTRYPOINT ["/usr/local/bin/qdrant-run"]' 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
}

build_vectorstream() {
  local bin=$work/vectorstream rev hash tar tags
  log "vectorstream: building the static binary (CGO_ENABLED=0) ..."
  CGO_ENABLED=0 go build -trimpath -o "$bin" ./cmd/vectorstream
  # The source revision, as the harness records its own (git, not Go's VCS stamp,
  # which GOFLAGS=-buildvcs=false turns off).
  rev=$(git rev-parse --short=12 HEAD 2>/dev/null || echo nogit)
  [[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]] || rev=$rev-dirty
  sha256sum "$bin" | cut -d' ' -f1 >"$work/vectorstream.sha256"
  hash=$(recipe vectorstream "$work/vectorstream.sha256")
  tags=(vectorstream/vectorstream:$rev vectorstream/vectorstream:dev)
  if current "${tags[0]}" "$hash" && current "${tags[1]}" "$hash"; then log "vectorstream: ${tags[*]} are current (recipe $hash)"; return; fi
  tar=$work/vectorstream.tar
  mkdir -p "$work/root/tmp"
  chmod 1777 "$work/root/tmp"
  cp "$bin" "$work/root/vectorstream"
  tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner -C "$work/root" -cf "$tar" .
  load vectorstream "$hash" "$tar" "${tags[@]}" 'ENTRYPOINT ["/vectorstream"]' 'ENV TMPDIR=/tmp' "LABEL org.vectorstream.revision=$rev"
}

for n in "${names[@]}"; do
  case "$n" in
    kafka | qdrant | vectorstream) "build_$n" ;;
    *) die "unknown image '$n' (kafka, qdrant or vectorstream)" ;;
  esac
done
