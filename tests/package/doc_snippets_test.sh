#!/usr/bin/env bash
# Every ```cpp and ```cmake block of a documentation page must appear
# verbatim in one of the given files, which the package tests compile and
# run: the page cannot show code that does not build.
#   doc_snippets_test.sh <page.md> <file>...
set -euo pipefail
page=$1
shift
haystack=""
for f in "$@"; do
  haystack+=$(cat "$f")$'\n\x1f\n'
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
awk -v dir="$work" '
  /^```(cpp|cmake)$/ { n++; inside = 1; next }
  /^```/ && inside { inside = 0; next }
  inside { print > (dir "/block." n) }
' "$page"
count=0
failed=0
for block in "$work"/block.*; do
  [ -e "$block" ] || continue
  count=$((count + 1))
  needle=$(cat "$block")
  if [[ "$haystack" != *"$needle"* ]]; then
    echo "$page: this block is in none of the tested files:" >&2
    cat "$block" >&2
    failed=1
  fi
done
[ "$count" -gt 0 ] || {
  echo "$page: no cpp or cmake blocks found" >&2
  exit 1
}
[ "$failed" -eq 0 ] || exit 1
echo "$count blocks of $page checked"
