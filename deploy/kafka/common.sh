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

# kafka_resolve_jars fetches the broker's jars from Maven Central into $KAFKA_LIBS
# (deploy/kafka/pom.xml), once: a stamp of the pom's hash says they are there.
kafka_resolve_jars() {
  local pom_sum stamp t0
  pom_sum="$(sha256sum "$KAFKA_DEPLOY/pom.xml" | cut -d' ' -f1)"
  stamp="$KAFKA_LIBS/.pom.sha256"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$pom_sum" ]] && compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null; then
    log "using cached jars in ${KAFKA_LIBS#"$ROOT/"}"
  else
    command -v mvn >/dev/null 2>&1 || die "mvn not found: Maven is needed once to fetch the Kafka jars from Maven Central"
    log "resolving Kafka jars from Maven Central into ${KAFKA_LIBS#"$ROOT/"} ..."
    rm -rf "$KAFKA_LIBS"
    t0=$SECONDS
    # (Maven 3.8 prints stray colour-reset codes even with -q -B; strip them.)
    if ! mvn -q -B -f "$KAFKA_DEPLOY/pom.xml" -Dkafka.libs.dir="$KAFKA_LIBS" package 2>&1 \
      | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^[[:space:]]*$/d' >&2; then
      die "Maven could not resolve the Kafka jars (see above)"
    fi
    compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null || die "Maven finished but no kafka_2.13 jar is in $KAFKA_LIBS"
    printf '%s\n' "$pom_sum" >"$stamp"
    log "jars resolved in $((SECONDS - t0))s"
  fi
}
