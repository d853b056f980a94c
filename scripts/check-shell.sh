#!/usr/bin/env bash
# Fails when shellcheck has anything to say about a shell script in scripts/, bench/ or
# tests/containers/ (every severity, info included): the *.sh files and the files without
# extension whose first line names sh or bash. A finding is fixed, not silenced; the rare
# disable comment says why on the line above it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
files=()
while IFS= read -r file; do
  case "${file##*/}" in
  *.sh) files+=("$file") ;;
  *.*) ;; # another language or data (.py, .lua, .json, ...)
  *) if head -n 1 "$file" | grep -Eq '^#!.*[/ ](ba)?sh$'; then files+=("$file"); fi ;;
  esac
done < <(git ls-files --cached --others --exclude-standard scripts bench tests/containers)
[ ${#files[@]} -gt 0 ] || exit 0
if ! command -v shellcheck >/dev/null 2>&1; then
  echo "check-shell: shellcheck not found (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
shellcheck --severity=style "${files[@]}"
echo "check-shell: ${#files[@]} shell scripts clean"
