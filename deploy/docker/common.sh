# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are used by the scripts that source this file
# Shared settings for deploy/docker/up.sh and down.sh (sourced, not executed).
# The daemon's state lives under <repo>/.cache/docker (ignored by git).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DOCKER_CACHE="$ROOT/.cache/docker"
DOCKER_DATA="$DOCKER_CACHE/data"
DOCKER_EXEC="$DOCKER_CACHE/exec"
DOCKER_PID_FILE="$DOCKER_CACHE/dockerd.pid"
DOCKER_LOG_FILE="$DOCKER_CACHE/dockerd.log"
DOCKER_SOCK="$DOCKER_CACHE/docker.sock"
OUR_DOCKER_HOST="unix://$DOCKER_SOCK"

log() { printf 'docker: %s\n' "$*" >&2; }
die() { printf 'docker: ERROR: %s\n' "$*" >&2; exit 1; }

# daemon_pid prints the pid from the pid file when that process is alive and is
# the dockerd this script started (its command line names our socket); otherwise
# prints nothing and returns 1.
daemon_pid() {
  local pid cmdline
  [[ -f "$DOCKER_PID_FILE" ]] || return 1
  pid="$(tr -dc '0-9' <"$DOCKER_PID_FILE")"
  [[ -n "$pid" ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  [[ "$cmdline" == *dockerd*"$DOCKER_SOCK"* ]] || return 1
  printf '%s\n' "$pid"
}

# answers: the daemon answers a real API call on our socket.
answers() { DOCKER_HOST="$OUR_DOCKER_HOST" timeout 10 docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }
