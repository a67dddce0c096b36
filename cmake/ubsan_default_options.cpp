// Linked into every tao executable of a build with UBSan (TAO_SANITIZERS
// containing "undefined"), so that tests, examples and benchmarks stop at
// the first report wherever they are started from (ctest, a test's child
// process, a shell), and CAF's known defect in tests/ubsan.supp does not.
// UBSAN_OPTIONS in the environment still overrides these per key.

/// The sanitizer runtime calls this once at start-up for its defaults.
extern "C" __attribute__((visibility("default"))) const char* __ubsan_default_options();

extern "C" const char* __ubsan_default_options() {
  return "halt_on_error=1:print_stacktrace=1:suppressions=" TAO_UBSAN_SUPPRESSIONS;
}
