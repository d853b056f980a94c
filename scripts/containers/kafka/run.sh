#!/bin/sh
# The Kafka stand-in's entrypoint (Dockerfile beside it): KAFKA_* variables become
# server.properties, the storage is formatted once, then the broker runs in the foreground.
set -eu
properties=/opt/kafka/config/server.properties
: >"$properties"
# Variables that configure the JVM, not the broker.
env | grep '^KAFKA_' | grep -Ev '^KAFKA_(HEAP_OPTS|OPTS|JVM_PERFORMANCE_OPTS|LOG4J_OPTS|GC_LOG_OPTS)=' |
  while IFS='=' read -r name value; do
    key=$(printf '%s' "${name#KAFKA_}" | tr '[:upper:]' '[:lower:]' | sed -e 's/___/-/g' -e 's/__/@/g' -e 's/_/./g' -e 's/@/_/g')
    printf '%s=%s\n' "$key" "$value" >>"$properties"
  done
log_dirs=$(sed -n 's/^log\.dirs=//p' "$properties")
if [ -z "$log_dirs" ]; then
  log_dirs=/var/lib/kafka/data
  echo "log.dirs=$log_dirs" >>"$properties"
fi
# The official image's default cluster id, so a kept volume formats once and stays valid.
cluster_id="${CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw}"
if [ ! -f "$log_dirs/meta.properties" ]; then
  /opt/kafka/bin/kafka-storage.sh format --ignore-formatted -t "$cluster_id" -c "$properties" >&2
fi
# shellcheck disable=SC2086 # KAFKA_HEAP_OPTS / KAFKA_OPTS are lists of JVM flags
exec java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} -XX:+UseG1GC ${KAFKA_OPTS:-} \
  -cp "/opt/kafka/libs/*" kafka.Kafka "$properties"
