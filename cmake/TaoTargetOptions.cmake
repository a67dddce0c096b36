# tao_target_options(<target>): the compile settings every tao target shares:
# C++17, strict warnings as errors on our own code, and the sanitizers chosen
# with TAO_SANITIZERS.

set(TAO_SANITIZER_FLAGS "")
if(TAO_SANITIZERS)
  set(TAO_SANITIZER_FLAGS "-fsanitize=${TAO_SANITIZERS}" -fno-omit-frame-pointer)
  if(TAO_SANITIZERS MATCHES "undefined")
    list(APPEND TAO_SANITIZER_FLAGS -fno-sanitize-recover=undefined)
  endif()
endif()

function(tao_target_options target)
  target_compile_features(${target} PUBLIC cxx_std_17)
  set_target_properties(${target} PROPERTIES CXX_EXTENSIONS OFF)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor)
  if(TAO_SANITIZER_FLAGS)
    target_compile_options(${target} PUBLIC ${TAO_SANITIZER_FLAGS})
    target_link_options(${target} PUBLIC ${TAO_SANITIZER_FLAGS})
  endif()
endfunction()
