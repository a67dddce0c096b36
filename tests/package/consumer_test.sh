#!/usr/bin/env bash
# Installs the built tree into a temporary prefix, then configures, builds
# and runs the getting-started greeter (tests/package/consumer) against it
# with find_package(tao), as docs/getting-started.md tells a new user to.
#   consumer_test.sh <build dir> <source dir>
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/lib/cmake/tao/taoConfig.cmake" || {
  echo "no taoConfig.cmake installed" >&2
  exit 1
}
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
cmake -S "$src/tests/package/consumer" -B "$work/consumer" "${generator[@]}" \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/consumer" >/dev/null
"$src/tests/package/run_greeter.sh" "$work/consumer"
# A consumer's Boost.Test test on the installed test kit (tao/test/).
cmake -S "$src/tests/package/kit_consumer" -B "$work/kit_consumer" "${generator[@]}" \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/kit_consumer" >/dev/null
"$work/kit_consumer/greeter_test"
