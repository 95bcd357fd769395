#!/usr/bin/env bash
# Stop the Docker daemon deploy/docker/up.sh started (by its pid file; any other
# dockerd is left alone), after removing the containers it still runs.
#   deploy/docker/down.sh           # or: make docker-down
#   deploy/docker/down.sh --purge   # also delete its state (.cache/docker: images too)
set -euo pipefail

# shellcheck source=deploy/docker/common.sh
source "$(cd "$(dirname "$0")" && pwd)/common.sh"

purge=0
for a in "$@"; do
  case "$a" in
    --purge) purge=1 ;;
    *) die "unknown argument '$a' (usage: down.sh [--purge])" ;;
  esac
done

if pid="$(daemon_pid)"; then
  if answers; then
    ids="$(DOCKER_HOST="$OUR_DOCKER_HOST" docker ps -aq 2>/dev/null || true)"
    if [[ -n "$ids" ]]; then
      log "removing $(wc -w <<<"$ids") container(s) left on our daemon"
      # shellcheck disable=SC2086 # one id a word
      DOCKER_HOST="$OUR_DOCKER_HOST" docker rm -f $ids >/dev/null 2>&1 || true
    fi
  fi
  log "stopping dockerd (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "dockerd did not stop within 30s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$DOCKER_PID_FILE"
  log "daemon stopped"
else
  log "no daemon of ours is running"
fi

if [[ "$purge" == 1 && -d "$DOCKER_CACHE" ]]; then
  # vfs layers are plain directories; unmount anything left under the exec root first.
  grep -o " $DOCKER_CACHE[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$DOCKER_CACHE"
  log "purged ${DOCKER_CACHE#"$ROOT/"}"
fi
