#!/usr/bin/env bash
# Every version of every record schema is backward and forward compatible with every other
# (FULL_TRANSITIVE), decided by Apache Avro's Java SchemaCompatibility (docs/schemas.md).
# The Avro jars come from Maven Central into .cache/avro/lib (scripts/install-deps.sh).
#
#   scripts/check-schemas.sh                 schemas/history plus the test-only versions
#   scripts/check-schemas.sh DIR [DIR...]    these directories (<Record>/v<N>.avsc) instead
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lib="${RECONCILER_CACHE_DIR:-$root/.cache}/avro/lib"
if [ ! -f "$lib/.complete" ]; then
  echo "check-schemas: no Apache Avro jars in $lib: run scripts/install-deps.sh" >&2
  exit 1
fi
if [ $# -eq 0 ]; then
  set -- "$root/schemas/history" "$root/tests/schemas/v2"
fi
exec java -cp "$lib/*" "$root/scripts/schemas/SchemaCompatibilityCheck.java" "$@"
