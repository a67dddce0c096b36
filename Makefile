# The README's Quick start: `make demo` and `make test`. Both install missing
# Debian packages, configure, build and run. Everything else is plain CMake.

BUILD        ?= build
BUILD_TYPE   ?= RelWithDebInfo
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= $(if $(CI),60,20)
JOBS         ?= $(shell nproc)
CMAKE_ARGS   ?=

.PHONY: all deps configure build demo test unit-test fuzz-test sanitize docs clean

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

fuzz-test: deps
	@if command -v clang++-14 >/dev/null 2>&1; then \
	  CXX=clang++-14 cmake -S . -B $(FUZZ_BUILD) $(if $(shell command -v ninja 2>/dev/null),-G Ninja,) \
	    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTAO_BUILD_FUZZERS=ON -DTAO_BUILD_TESTS=OFF -DTAO_BUILD_EXAMPLES=OFF \
	    -DTAO_FUZZ_SECONDS=$(FUZZ_SECONDS) && \
	  cmake --build $(FUZZ_BUILD) -j $(JOBS) && \
	  ctest --test-dir $(FUZZ_BUILD) -R '^fuzz_' --output-on-failure; \
	else echo "tao: clang++-14 not found, fuzzers skipped"; fi

test: unit-test fuzz-test

sanitize: deps
	cmake -S . -B build-asan $(if $(shell command -v ninja 2>/dev/null),-G Ninja,) \
	  -DCMAKE_BUILD_TYPE=Debug -DTAO_SANITIZERS=address,undefined $(CMAKE_ARGS)
	cmake --build build-asan -j $(JOBS)
	ctest --test-dir build-asan -j $(JOBS) --output-on-failure

# API reference from the /// comments into build/docs/html; warnings fail.
docs: deps
	doxygen docs/Doxyfile

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) build-asan
