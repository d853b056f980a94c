#!/usr/bin/env bash
# Every version of every record schema is backward and forward compatible with every other
# (FULL_TRANSITIVE), decided by Apache Avro's Java SchemaCompatibility (docs/schemas.md).
# Fetches the Avro jars from Maven Central into .cache/avro/lib once.
#
#   scripts/check-schemas.sh                 schemas/history plus the test-only versions
#   scripts/check-schemas.sh DIR [DIR...]    these directories (<Record>/v<N>.avsc) instead
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lib="$root/.cache/avro/lib"
if [ ! -f "$lib/.complete" ]; then
  rm -rf "$lib"
  mkdir -p "$lib"
  echo "check-schemas: fetching Apache Avro from Maven Central into $lib" >&2
  mvn -q -B -f "$root/scripts/schemas/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$lib" -Dmdep.useRepositoryLayout=false
  touch "$lib/.complete"
fi
if [ $# -eq 0 ]; then
  set -- "$root/schemas/history" "$root/tests/schemas/v2"
fi
exec java -cp "$lib/*" "$root/scripts/schemas/SchemaCompatibilityCheck.java" "$@"
