#!/usr/bin/env bash
# Fetch what building and checking the `cuda`-tagged VectorStream needs on a machine
# without a GPU or a CUDA installation: NVIDIA's CUDA 11.8 packages from Debian
# bookworm's non-free archive, through a private apt configuration (the system's
# sources lists are not touched).
#
#   deploy/cuda/sdk.sh               # or: make cuda-sdk
#   deploy/cuda/sdk.sh --no-toolkit  # only cuda.h and the libcuda stub (no root needed)
#
# What it leaves (all under .cache/cuda/, git-ignored):
#   root/usr/include/cuda.h                                   for CGO_CFLAGS=-I…
#   root/usr/lib/x86_64-linux-gnu/stubs/libcuda.so            for CGO_LDFLAGS=-L…
#   root/usr/lib/x86_64-linux-gnu/stubs/libcuda.so.1 -> libcuda.so
#       for LD_LIBRARY_PATH: a `cuda`-tagged binary needs libcuda.so.1 to start; the
#       stub's cuInit fails, so the binary runs with "no device".
#   env.sh                                                    CGO_CFLAGS, CGO_LDFLAGS, CUDA_STUBS
# and, unless --no-toolkit, nvcc and ptxas 11.8 installed system-wide from the package
# nvidia-cuda-toolkit-gcc (that needs root: apt-get install).
#
# Idempotent: what is already there is not fetched again. Progress goes to stderr.
# Environment: VECTORSTREAM_DEBIAN_MIRROR (default: the URI of the system's Debian source,
# else http://deb.debian.org/debian).
set -euo pipefail

cd "$(dirname "$0")/../.."
toolkit=1
for arg in "$@"; do
  case "$arg" in
    --no-toolkit) toolkit=0 ;;
    -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "cuda-sdk: unknown argument $arg" >&2; exit 2 ;;
  esac
done

say() { echo "cuda-sdk: $*" >&2; }
die() { say "$*"; exit 1; }

CACHE="$PWD/.cache/cuda"
ROOT="$CACHE/root"
STUBS="$ROOT/usr/lib/x86_64-linux-gnu/stubs"
mkdir -p "$CACHE/apt/lists/partial" "$CACHE/apt/archives/partial" "$CACHE/debs"

mirror="${VECTORSTREAM_DEBIAN_MIRROR:-}"
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list.d/debian.sources ]; then
  mirror=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources | head -n1 | awk '{print $1}')
fi
mirror="${mirror:-http://deb.debian.org/debian}"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || die "$keyring not found (install debian-archive-keyring)"
echo "deb [signed-by=$keyring] $mirror bookworm main contrib non-free" >"$CACHE/apt/sources.list"

APT_OPTS=(
  -o "Dir::Etc::SourceList=$CACHE/apt/sources.list"
  -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$CACHE/apt/lists"
  -o "Dir::Cache::Archives=$CACHE/apt/archives"
  -o Debug::NoLocking=1
  -o APT::Sandbox::User=root
)

have_lists() { compgen -G "$CACHE/apt/lists/*non-free*Packages*" >/dev/null; }
apt_update() {
  have_lists && return 0
  say "apt-get update (private configuration: $mirror bookworm main contrib non-free)"
  local t0=$SECONDS
  apt-get "${APT_OPTS[@]}" update -qq >&2 || die "apt-get update failed"
  say "apt-get update took $((SECONDS - t0)) s"
}

# --- nvcc and ptxas 11.8 -------------------------------------------------------
nvcc_ok() { command -v nvcc >/dev/null 2>&1 && command -v ptxas >/dev/null 2>&1 && nvcc --version | grep -q 'release 11\.8'; }
if [ "$toolkit" = 1 ] && ! nvcc_ok; then
  if [ "$(id -u)" != 0 ]; then
    die "nvcc/ptxas 11.8 missing; installing them needs root: run this script as root, or run
  apt-get ${APT_OPTS[*]} install -y --no-install-recommends nvidia-cuda-toolkit-gcc
as root, or use --no-toolkit to fetch only what \`make build-cuda\` needs."
  fi
  apt_update
  say "apt-get install nvidia-cuda-toolkit-gcc (nvcc, ptxas, g++-11; about a minute)"
  t0=$SECONDS
  DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends \
    nvidia-cuda-toolkit-gcc >/dev/null || die "apt-get install nvidia-cuda-toolkit-gcc failed"
  # The installed archives are not needed again.
  rm -f "$CACHE"/apt/archives/*.deb
  say "install took $((SECONDS - t0)) s"
  nvcc_ok || die "nvcc 11.8 not found after the install"
fi
if [ "$toolkit" = 1 ]; then
  say "$(nvcc --version | grep release)"
fi

# --- cuda.h and the libcuda stub ---------------------------------------------
# The toolkit install brings nvidia-cuda-dev, whose two files are then copied;
# without it the package is downloaded and just those two files extracted.
sys_h=/usr/include/cuda.h
sys_stub=/usr/lib/x86_64-linux-gnu/stubs/libcuda.so
if [ ! -f "$ROOT/usr/include/cuda.h" ] || [ ! -f "$STUBS/libcuda.so" ]; then
  mkdir -p "$ROOT/usr/include" "$STUBS"
  if [ -f "$sys_h" ] && [ -f "$sys_stub" ] && dpkg -S "$sys_h" 2>/dev/null | grep -q '^nvidia-cuda-dev'; then
    say "copying cuda.h and the libcuda stub from the installed nvidia-cuda-dev"
    cp "$sys_h" "$ROOT/usr/include/cuda.h"
    cp "$sys_stub" "$STUBS/libcuda.so"
  else
    apt_update
    deb=$(compgen -G "$CACHE/debs/nvidia-cuda-dev_*.deb" | head -n1 || true)
    if [ -z "$deb" ]; then
      say "apt-get download nvidia-cuda-dev (about 774 MB)"
      t0=$SECONDS
      (cd "$CACHE/debs" && apt-get "${APT_OPTS[@]}" download -qq nvidia-cuda-dev >&2) \
        || die "apt-get download nvidia-cuda-dev failed"
      say "download took $((SECONDS - t0)) s"
      deb=$(compgen -G "$CACHE/debs/nvidia-cuda-dev_*.deb" | head -n1)
    fi
    say "extracting cuda.h and the libcuda stub from $(basename "$deb")"
    t0=$SECONDS
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$ROOT" \
      ./usr/include/cuda.h ./usr/lib/x86_64-linux-gnu/stubs/libcuda.so
    say "extraction took $((SECONDS - t0)) s"
    # The .deb is large; keep only what we use.
    rm -f "$CACHE"/debs/*.deb
  fi
fi
ln -sfn libcuda.so "$STUBS/libcuda.so.1"

cat >"$CACHE/env.sh" <<EOF
# Generated by deploy/cuda/sdk.sh; source it to build the cuda-tagged binary.
export CGO_ENABLED=1
export CGO_CFLAGS="-I$ROOT/usr/include"
export CGO_LDFLAGS="-L$STUBS"
export CUDA_STUBS="$STUBS"
EOF
say "ready: source $CACHE/env.sh"
