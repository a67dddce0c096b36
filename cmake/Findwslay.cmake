# Findwslay.cmake -- locates wslay, the WebSocket frame library (Debian:
# libwslay-dev), whether or not it ships a CMake package.
#
# Imported target: wslay::wslay. Result variables: wslay_FOUND,
# wslay_INCLUDE_DIR, wslay_LIBRARY.

find_path(wslay_INCLUDE_DIR wslay/wslay.h)
find_library(wslay_LIBRARY NAMES wslay)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(wslay REQUIRED_VARS wslay_LIBRARY wslay_INCLUDE_DIR)

if(wslay_FOUND AND NOT TARGET wslay::wslay)
  add_library(wslay::wslay UNKNOWN IMPORTED)
  set_target_properties(wslay::wslay PROPERTIES
    IMPORTED_LOCATION "${wslay_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${wslay_INCLUDE_DIR}")
endif()

mark_as_advanced(wslay_INCLUDE_DIR wslay_LIBRARY)
