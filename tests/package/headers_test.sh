#!/usr/bin/env bash
# Every header of the three layers compiles on its own (self-contained), and
# none exposes CAF 0.17 internals (caf::io::network::*), which change in
# later CAF versions; the test kit (tao/test/) is the one exception: it runs
# tao on CAF's test multiplexer, which lives there.
#   headers_test.sh <source dir> <c++ compiler>
set -euo pipefail
src=$1
cxx=$2
cd "$src"
headers=$(ls protocol/tao/protocol/*.hpp net/tao/net/*.hpp actors/tao/*.hpp actors/tao/detail/*.hpp \
  actors/tao/test/*.hpp)
if grep -l 'caf/io/network\|caf::io::network' $(printf '%s\n' $headers | grep -v '^actors/tao/test/'); then
  echo "FAILED: the headers above use caf::io::network internals" >&2
  exit 1
fi
# The installed (public) headers never include tao's internals, which are
# not installed.
public=$(ls protocol/tao/protocol/*.hpp net/tao/net/*.hpp actors/tao/*.hpp actors/tao/test/*.hpp)
if grep -l '#include "tao/detail/' $public; then
  echo "FAILED: the public headers above include tao/detail headers" >&2
  exit 1
fi
failed=$(printf '%s\n' $headers | xargs -P "$(nproc)" -I{} sh -c '
  h=$(echo "{}" | sed "s#^[a-z]*/##")
  echo "#include \"$h\"" | "$0" -std=c++17 -fsyntax-only -Wall -Wextra -Werror \
    -Iprotocol -Inet -Iactors -x c++ - >/dev/null 2>&1 || echo "{}"' "$cxx")
if [ -n "$failed" ]; then
  echo "FAILED: not self-contained:" $failed >&2
  exit 1
fi
echo "$(printf '%s\n' $headers | wc -l) headers compile on their own"
