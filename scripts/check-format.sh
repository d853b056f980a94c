#!/usr/bin/env bash
# Fails when a C file differs from what clang-format (with the committed .clang-format)
# would write. `scripts/check-format.sh --fix` rewrites them instead.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null; git ls-files --others --exclude-standard '*.c' '*.h' 2>/dev/null)
[ ${#files[@]} -gt 0 ] || exit 0
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
# The findings are kept in memory: no file in a shared /tmp to collide with another run.
if ! findings=$(clang-format --dry-run --Werror "${files[@]}" 2>&1); then
  head -n 40 <<<"$findings" >&2
  echo "check-format: run scripts/check-format.sh --fix" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files formatted"
