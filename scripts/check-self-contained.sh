#!/usr/bin/env bash
# Fails when the repository leans on something a reader of the repository alone cannot find:
#   1. a reference to a document kept outside the repository (the contracts file, style
#      guide or developers' guide the project's first sessions worked from, and the shared
#      folder beside the repository that held them): what they fixed is in docs/ now,
#      docs/contracts.md for the contracts;
#   2. a relative Markdown link, in any tracked .md file, to a path that does not exist;
#   3. a docs/*.md or ops/README.md named anywhere in a tracked file that does not exist.
# Checks tracked files plus new ones not yet added (like check-format.sh). Part of
# scripts/test.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mapfile -t files < <(git ls-files 2>/dev/null; git ls-files --others --exclude-standard 2>/dev/null)
failed=0

# 1. Each pattern has one letter in brackets, so this script does not match itself.
outside='CONTRACT[S]\.md|CONTRACT[S] §|\.\./share[d]|/work/share[d]|STYL[E]\.md|DEVELOPER[S]\.md'
if grep -I -s -n -E "$outside" -- "${files[@]}" >&2; then
  failed=1
fi
[ $failed = 0 ] || echo "check-self-contained: the lines above refer to a file outside the repository; cite docs/ instead (docs/contracts.md §N for the contracts)" >&2

# 2. Relative links: ](target) with no scheme; a #fragment or "title" is dropped.
for file in "${files[@]}"; do
  case "$file" in *.md) ;; *) continue ;; esac
  [ -f "$file" ] || continue
  dir=$(dirname "$file")
  while IFS= read -r target; do
    target=${target#](}
    target=${target%)}
    target=${target%% *}
    target=${target%%#*}
    case "$target" in '' | http://* | https://* | mailto:*) continue ;; esac
    if [ ! -e "$dir/$target" ]; then
      echo "$file: link to $target, which does not exist" >&2
      failed=1
    fi
  done < <(grep -o '](\([^)]*\))' "$file" || true)
done

# 3. Documents named in prose or comments: docs/<name>.md, ops/README.md.
while IFS= read -r named; do
  if [ ! -e "$named" ]; then
    grep -I -n -F "$named" "${files[@]}" 2>/dev/null | sed 's/$/  <- no such file/' >&2
    failed=1
  fi
done < <(grep -I -o -h -E '\b(docs/[A-Za-z0-9_.-]+\.md|ops/README\.md)' "${files[@]}" 2>/dev/null | sort -u)

if [ $failed != 0 ]; then
  exit 1
fi
echo "check-self-contained: ${#files[@]} files refer only to what the repository holds"
