#!/usr/bin/env bash
# Creates the reconciler's topics (docs/contracts.md §5) on KAFKA_BOOTSTRAP_SERVERS if they do not
# exist: checks, verdicts, actions and the urgent lane with 12 partitions each (enough for 12 checkers in one
# group), the DLQ with 1 (it is read by people, in order). Names follow the same
# RECONCILER_TOPIC_* variables as the programs. Extra kafka-topics flags (e.g.
# --command-config for SASL) can be passed as arguments.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
kafka_lib="${KAFKA_JARS_DIR:-$root/.cache/kafka/lib}"
bootstrap="${KAFKA_BOOTSTRAP_SERVERS:?KAFKA_BOOTSTRAP_SERVERS must be set}"
partitions="${RECONCILER_TOPIC_PARTITIONS:-12}"
replication="${RECONCILER_TOPIC_REPLICATION:-1}"

topics=(
  "${RECONCILER_TOPIC_CHECKS:-reconciler.checks}:$partitions"
  "${RECONCILER_TOPIC_VERDICTS:-reconciler.verdicts}:$partitions"
  "${RECONCILER_TOPIC_ACTIONS:-reconciler.actions}:$partitions"
  "${RECONCILER_TOPIC_URGENT_CHECKS:-reconciler.checks.urgent}:$partitions"
  "${RECONCILER_TOPIC_DLQ:-reconciler.dlq}:1"
)
for entry in "${topics[@]}"; do
  name=${entry%%:*}
  count=${entry##*:}
  java -Xmx256m -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$kafka_lib/*" org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" \
    --create --if-not-exists --topic "$name" --partitions "$count" --replication-factor "$replication" "$@" \
    2>&1 | grep -v '^SLF4J' || true
  echo "create-topics: $name ($count partitions)"
done
# Verify rather than trust the tool's exit code: every topic must now be listed.
listed=$(java -Xmx256m -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$kafka_lib/*" org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" --list "$@" 2>/dev/null)
for entry in "${topics[@]}"; do
  grep -qx "${entry%%:*}" <<<"$listed" || { echo "create-topics: topic ${entry%%:*} missing after create" >&2; exit 1; }
done
