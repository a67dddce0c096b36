# Installs tao's headers, libraries and a CMake package, so that consumers
# write `find_package(tao 0.1 REQUIRED)` and link `tao::tao` (or one layer:
# tao::protocol, tao::net, tao::actors).

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(TAO_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/tao")

set_target_properties(tao_protocol PROPERTIES EXPORT_NAME protocol)
set_target_properties(tao_net PROPERTIES EXPORT_NAME net)
set_target_properties(tao_actors PROPERTIES EXPORT_NAME actors)

install(TARGETS tao_protocol tao_net tao_actors tao
        EXPORT taoTargets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")

# Public headers only: tao's internals (`tao/detail/`) stay out of the
# package, and no public header includes them (headers_self_contained checks).
foreach(layer protocol net actors)
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/${layer}/tao"
          DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
          FILES_MATCHING PATTERN "*.hpp"
          PATTERN "detail" EXCLUDE)
endforeach()

install(EXPORT taoTargets NAMESPACE tao:: DESTINATION "${TAO_INSTALL_CMAKEDIR}")

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/taoConfig.cmake.in"
                              "${PROJECT_BINARY_DIR}/taoConfig.cmake"
                              INSTALL_DESTINATION "${TAO_INSTALL_CMAKEDIR}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/taoConfigVersion.cmake"
                                 VERSION "${PROJECT_VERSION}"
                                 COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/taoConfig.cmake"
              "${PROJECT_BINARY_DIR}/taoConfigVersion.cmake"
              "${PROJECT_SOURCE_DIR}/cmake/FindCAF.cmake"
              "${PROJECT_SOURCE_DIR}/cmake/Findwslay.cmake"
        DESTINATION "${TAO_INSTALL_CMAKEDIR}")
