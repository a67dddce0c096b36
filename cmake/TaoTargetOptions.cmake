# tao_target_options(<target>): the compile settings every tao target shares:
# C++17, strict warnings as errors on our own code, and the sanitizers chosen
# with TAO_SANITIZERS.

set(TAO_SANITIZER_FLAGS "")
if(TAO_SANITIZERS)
  set(TAO_SANITIZER_FLAGS "-fsanitize=${TAO_SANITIZERS}" -fno-omit-frame-pointer)
endif()

# UBSan's checks stay recoverable so that tests/ubsan.supp can silence CAF's
# one known defect; every executable gets halt_on_error=1 compiled in
# (cmake/ubsan_default_options.cpp), so any other report still stops it.
set(TAO_UBSAN_DEFAULTS "${CMAKE_CURRENT_LIST_DIR}/ubsan_default_options.cpp")
set(TAO_UBSAN_SUPPRESSIONS "${PROJECT_SOURCE_DIR}/tests/ubsan.supp")

function(tao_target_options target)
  target_compile_features(${target} PUBLIC cxx_std_17)
  set_target_properties(${target} PROPERTIES CXX_EXTENSIONS OFF)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor)
  if(TAO_SANITIZER_FLAGS)
    target_compile_options(${target} PUBLIC ${TAO_SANITIZER_FLAGS})
    target_link_options(${target} PUBLIC ${TAO_SANITIZER_FLAGS})
    get_target_property(kind ${target} TYPE)
    if(TAO_SANITIZERS MATCHES "undefined" AND kind STREQUAL "EXECUTABLE")
      target_sources(${target} PRIVATE ${TAO_UBSAN_DEFAULTS})
      target_compile_definitions(${target} PRIVATE
                                 TAO_UBSAN_SUPPRESSIONS="${TAO_UBSAN_SUPPRESSIONS}")
    endif()
  endif()
endfunction()
