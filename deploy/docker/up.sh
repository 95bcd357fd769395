#!/usr/bin/env bash
# Start a Docker daemon of the project's own for the containers mode: Debian's
# docker.io (installed when dockerd is missing), state under .cache/docker, a socket
# of its own, vfs storage, no iptables, no bridge (containers use host networking on
# loopback). Nothing is pulled: the images are built here (deploy/images/build.sh).
#
#   deploy/docker/up.sh            # or: make docker-up
#   eval "$(deploy/docker/up.sh)"  # also exports DOCKER_HOST
#
# Progress goes to stderr; the only stdout line is `export DOCKER_HOST=unix://...`.
# Environment:
#   VECTORSTREAM_DOCKER_START_TIMEOUT  seconds to wait for the daemon to answer, default 60
# Idempotent: if our daemon is already running and answers, it says so and exits 0.
# Stops nothing it did not start (deploy/docker/down.sh stops it by its pid file).
set -euo pipefail

# shellcheck source=deploy/docker/common.sh
source "$(cd "$(dirname "$0")" && pwd)/common.sh"

START_TIMEOUT="${VECTORSTREAM_DOCKER_START_TIMEOUT:-60}"

done_ok() {
  printf 'export DOCKER_HOST=%s\n' "$OUR_DOCKER_HOST"
  exit 0
}

mkdir -p "$DOCKER_CACHE"

if pid="$(daemon_pid)"; then
  if answers; then
    log "daemon already running (pid $pid) and answering at $OUR_DOCKER_HOST"
    done_ok
  fi
  log "daemon process $pid is running but does not answer yet; waiting for it"
  started_now=0
else
  rm -f "$DOCKER_PID_FILE"
  started_now=1
fi

if [[ "$started_now" == 1 ]]; then
  if ! command -v dockerd >/dev/null 2>&1; then
    [[ "$(id -u)" == 0 ]] || die "dockerd is not installed and installing Debian's docker.io needs root"
    command -v apt-get >/dev/null 2>&1 || die "dockerd is not installed and there is no apt-get to install Debian's docker.io"
    log "installing Debian's docker.io (dockerd, containerd, runc) ..."
    t0=$SECONDS
    export DEBIAN_FRONTEND=noninteractive
    # No init system starts services here: keep the package scripts from trying.
    policy=/usr/sbin/policy-rc.d
    made_policy=0
    if [[ ! -e "$policy" ]]; then
      printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
    fi
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends docker.io >/dev/null 2>"$DOCKER_CACHE/apt.err" \
      || { cat "$DOCKER_CACHE/apt.err" >&2; [[ "$made_policy" == 0 ]] || rm -f "$policy"; die "apt-get install docker.io failed"; }
    [[ "$made_policy" == 0 ]] || rm -f "$policy"
    command -v dockerd >/dev/null 2>&1 || die "docker.io installed but there is no dockerd on PATH"
    log "docker.io installed in $((SECONDS - t0))s"
  fi
  command -v docker >/dev/null 2>&1 || die "no docker client on PATH (Debian's docker.io ships one)"
  [[ "$(id -u)" == 0 ]] || die "dockerd must start as root"
  mkdir -p "$DOCKER_DATA" "$DOCKER_EXEC"
  rm -f "$DOCKER_SOCK"
  [[ ! -f "$DOCKER_LOG_FILE" ]] || mv -f "$DOCKER_LOG_FILE" "$DOCKER_LOG_FILE.1"
  log "starting dockerd ($(dockerd --version)) at $OUR_DOCKER_HOST, state in ${DOCKER_CACHE#"$ROOT/"}"
  # setsid: not killed by a Ctrl-C or the end of the calling shell; stdin from /dev/null.
  setsid dockerd --data-root "$DOCKER_DATA" --exec-root "$DOCKER_EXEC" \
    --pidfile "$DOCKER_PID_FILE" --host "$OUR_DOCKER_HOST" \
    --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false --bridge=none \
    --storage-driver=vfs </dev/null >"$DOCKER_LOG_FILE" 2>&1 &
  # (dockerd writes the pid file itself, and refuses one that names a live process.)
  pid=$!
fi

t0=$SECONDS
deadline=$((SECONDS + START_TIMEOUT))
until answers; do
  if ! kill -0 "$pid" 2>/dev/null; then
    rm -f "$DOCKER_PID_FILE"
    log "last lines of ${DOCKER_LOG_FILE#"$ROOT/"}:"
    tail -n 30 "$DOCKER_LOG_FILE" >&2 || true
    die "dockerd exited during start-up"
  fi
  if ((SECONDS >= deadline)); then
    log "last lines of ${DOCKER_LOG_FILE#"$ROOT/"}:"
    tail -n 30 "$DOCKER_LOG_FILE" >&2 || true
    [[ "$started_now" == 0 ]] || { kill -TERM "$pid" 2>/dev/null || true; rm -f "$DOCKER_PID_FILE"; }
    die "dockerd did not answer at $OUR_DOCKER_HOST within ${START_TIMEOUT}s"
  fi
  sleep 0.5
done
log "daemon up (pid $pid) in $((SECONDS - t0))s: $(DOCKER_HOST="$OUR_DOCKER_HOST" docker info --format 'Docker {{.ServerVersion}}, storage {{.Driver}}, cgroup {{.CgroupVersion}}/{{.CgroupDriver}}' 2>/dev/null)"
done_ok
