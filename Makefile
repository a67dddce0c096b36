# The README's Quick start: `make demo` and `make test`. Both install missing
# Debian packages, configure, build and run. Everything else is plain CMake.

BUILD        ?= build
BUILD_TYPE   ?= RelWithDebInfo
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= $(if $(CI),30,20)
JOBS         ?= $(shell nproc)
STRESS_RUNS  ?= 5
CMAKE_ARGS   ?=

.PHONY: all deps configure build demo test unit-test fuzz-test stress-test sanitize tsan docs clean

all: build

deps:
	@tools/install-deps

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) $(if $(shell command -v ninja 2>/dev/null),-G Ninja,) \
	  -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)

configure: $(BUILD)/CMakeCache.txt

build: deps configure
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	tools/demo $(BUILD)

unit-test: build
	ctest --test-dir $(BUILD) -j $(JOBS) --output-on-failure

# Every libFuzzer target (tests/fuzz) for FUZZ_SECONDS each, two at a time.
fuzz-test: deps
	@if command -v clang++-14 >/dev/null 2>&1; then \
	  CXX=clang++-14 cmake -S . -B $(FUZZ_BUILD) $(if $(shell command -v ninja 2>/dev/null),-G Ninja,) \
	    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTAO_BUILD_FUZZERS=ON -DTAO_BUILD_TESTS=OFF -DTAO_BUILD_EXAMPLES=OFF \
	    -DTAO_FUZZ_SECONDS=$(FUZZ_SECONDS) && \
	  cmake --build $(FUZZ_BUILD) -j $(JOBS) --target tao_fuzzers && \
	  ctest --test-dir $(FUZZ_BUILD) -L fuzz -j $(JOBS) --output-on-failure; \
	else echo "tao: clang++-14 not found, fuzzers skipped"; fi

test: unit-test fuzz-test

# The timing-sensitive suites STRESS_RUNS times each, with a busy loop per
# core beside them (docs/development.md, "Stress runs"). BUILD=build-asan
# repeats them under the sanitizers once `make sanitize` built that tree.
stress-test: build
	tools/stress-test $(BUILD) $(STRESS_RUNS)

sanitize: deps
	cmake -S . -B build-asan $(if $(shell command -v ninja 2>/dev/null),-G Ninja,) \
	  -DCMAKE_BUILD_TYPE=Debug -DTAO_SANITIZERS=address,undefined $(CMAKE_ARGS)
	cmake --build build-asan -j $(JOBS)
	ctest --test-dir build-asan -j $(JOBS) --output-on-failure \
	  -E '^(package_.*|headers_self_contained|getting_started_snippets)$$'

# ThreadSanitizer on the suites that drive tao's shared state from plain
# threads (see docs/development.md, "What runs where"): built with gcc in
# build-tsan, only those suites.
TSAN_SUITES ?= concurrency_direct_writer concurrency_flow_control concurrency_shared_services concurrency_connection_gate concurrency_socket_dealer
tsan: deps
	cmake -S . -B build-tsan $(if $(shell command -v ninja 2>/dev/null),-G Ninja,) \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTAO_SANITIZERS=thread -DTAO_BUILD_EXAMPLES=OFF $(CMAKE_ARGS)
	cmake --build build-tsan -j $(JOBS) --target $(TSAN_SUITES)
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	  ctest --test-dir build-tsan -j $(JOBS) --output-on-failure \
	  -R '^($(subst $(eval) ,|,$(strip $(TSAN_SUITES))))$$'

# API reference from the /// comments into build/docs/html; warnings fail.
docs: deps
	mkdir -p build/docs
	doxygen docs/Doxyfile

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) build-asan build-tsan
