#!/usr/bin/env bash
# Stop the broker started by deploy/kafka/up.sh (SIGTERM, wait, then SIGKILL).
#
#   deploy/kafka/down.sh          # or: make kafka-down
#   deploy/kafka/down.sh --purge  # also delete the broker's data (.cache/kafka/data)
#
# Environment: VECTORSTREAM_KAFKA_STOP_TIMEOUT seconds to wait after SIGTERM, default 30.
# The downloaded jars (.cache/kafka/libs) are kept either way.
set -euo pipefail

# shellcheck source=deploy/kafka/common.sh
source "$(cd "$(dirname "$0")" && pwd)/common.sh"

STOP_TIMEOUT="${VECTORSTREAM_KAFKA_STOP_TIMEOUT:-30}"
purge=0
for arg in "$@"; do
  case "$arg" in
    --purge) purge=1 ;;
    -h | --help)
      sed -n '2,8s/^# \{0,1\}//p' "$0"
      exit 0
      ;;
    *) die "unknown argument '$arg' (usage: down.sh [--purge])" ;;
  esac
done

if pid="$(broker_pid)"; then
  log "stopping broker (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "broker did not stop within ${STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  fi
  log "broker stopped"
elif [[ -f "$KAFKA_PID_FILE" ]]; then
  log "no broker running (removing stale pid file)"
else
  log "no broker running"
fi
rm -f "$KAFKA_PID_FILE"

if [[ "$purge" == 1 ]]; then
  rm -rf "$KAFKA_DATA"
  log "purged ${KAFKA_DATA#"$ROOT/"}"
fi
