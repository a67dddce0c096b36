#!/usr/bin/env bash
# tao as a subproject of the getting-started greeter:
#  1. FetchContent (tests/package/subproject), the sources taken from this
#     checkout through FETCHCONTENT_SOURCE_DIR_TAO (no network): configured,
#     built (only the greeter and the tao libraries it links) and run;
#  2. add_subdirectory (tests/package/subdirectory): configured only.
# Both must leave tao's tests, examples and benchmarks out.
#   subproject_test.sh <source dir>
set -euo pipefail
src=$(cd "$1" && pwd)
here=$src/tests/package
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)

# Fails if tao configured any of its own tests, examples or benchmarks.
check_libraries_only() {
  local tao_build=$1 dir
  for dir in tests examples bench; do
    if [ -e "$tao_build/$dir" ]; then
      echo "tao configured $dir/ as a subproject ($tao_build/$dir)" >&2
      exit 1
    fi
  done
  if grep -q '^TAO_BUILD_TESTS:BOOL=ON' "$2/CMakeCache.txt" \
    || grep -q '^TAO_BUILD_EXAMPLES:BOOL=ON' "$2/CMakeCache.txt"; then
    echo "TAO_BUILD_TESTS or TAO_BUILD_EXAMPLES is ON in a subproject" >&2
    exit 1
  fi
}

# 1. FetchContent: without optimisation or debug information it compiles fastest.
mkdir "$work/fetch"
cp "$here/subproject/CMakeLists.txt" "$here/consumer/greeting.hpp" "$here/consumer/server.cpp" \
  "$here/consumer/client.cpp" "$work/fetch/"
cmake -S "$work/fetch" -B "$work/fetch-build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS_DEBUG=-g0 -DFETCHCONTENT_SOURCE_DIR_TAO="$src" -DFETCHCONTENT_FULLY_DISCONNECTED=ON >/dev/null
check_libraries_only "$work/fetch-build/_deps/tao-build" "$work/fetch-build"
cmake --build "$work/fetch-build" --target greeter_server greeter_client >/dev/null
"$here/run_greeter.sh" "$work/fetch-build"

# 2. add_subdirectory of a copy of tao (here a symbolic link to this checkout).
mkdir -p "$work/sub/third_party"
ln -s "$src" "$work/sub/third_party/tao"
cp "$here/subdirectory/CMakeLists.txt" "$here/consumer/greeting.hpp" "$here/consumer/server.cpp" \
  "$here/consumer/client.cpp" "$work/sub/"
# No build type given: tao must not impose its own on the parent.
cmake -S "$work/sub" -B "$work/sub-build" "${generator[@]}" >/dev/null
check_libraries_only "$work/sub-build/third_party/tao" "$work/sub-build"
if ! grep -q '^CMAKE_BUILD_TYPE:[A-Z]*=$' "$work/sub-build/CMakeCache.txt"; then
  echo "tao set the parent's build type:" >&2
  grep '^CMAKE_BUILD_TYPE' "$work/sub-build/CMakeCache.txt" >&2
  exit 1
fi
# Nor install its package as part of the parent's install.
if grep -q 'taoConfig.cmake' "$work/sub-build/third_party/tao/cmake_install.cmake"; then
  echo "tao added its install rules to the parent" >&2
  exit 1
fi
echo "subproject ok"
