# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are used by the scripts that source this file
# Shared settings for deploy/kafka/up.sh and down.sh (sourced, not executed).
# Everything lives under <repo>/.cache/kafka (ignored by git).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KAFKA_DEPLOY="$ROOT/deploy/kafka"
KAFKA_CACHE="$ROOT/.cache/kafka"
KAFKA_LIBS="$KAFKA_CACHE/libs"
KAFKA_DATA="$KAFKA_CACHE/data"
KAFKA_PID_FILE="$KAFKA_CACHE/broker.pid"
KAFKA_LOG_FILE="$KAFKA_CACHE/broker.log"
KAFKA_PROPS="$KAFKA_CACHE/server.properties"

KAFKA_HOST=127.0.0.1
KAFKA_PORT="${VECTORSTREAM_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${VECTORSTREAM_KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_BOOTSTRAP="$KAFKA_HOST:$KAFKA_PORT"

if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
  JAVA="$JAVA_HOME/bin/java"
else
  JAVA="java"
fi

log() { printf 'kafka: %s\n' "$*" >&2; }
die() { printf 'kafka: ERROR: %s\n' "$*" >&2; exit 1; }

# broker_pid prints the pid from the pid file when that process is alive and is
# the broker this script started (a java kafka.Kafka reading our server.properties);
# otherwise prints nothing and returns 1.
broker_pid() {
  local pid cmdline
  [[ -f "$KAFKA_PID_FILE" ]] || return 1
  pid="$(tr -dc '0-9' <"$KAFKA_PID_FILE")"
  [[ -n "$pid" ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  [[ "$cmdline" == *kafka.Kafka*"$KAFKA_PROPS"* ]] || return 1
  printf '%s\n' "$pid"
}

# KAFKA_TOOL runs a class from the cached Kafka jars in a small, quiet JVM:
#   "${KAFKA_TOOL[@]}" org.apache.kafka.tools.TopicCommand --bootstrap-server ... --list
KAFKA_TOOL=("$JAVA" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1
  -Dlog4j2.configurationFile="$KAFKA_DEPLOY/tools-log4j2.properties"
  -cp "$KAFKA_LIBS/*")
