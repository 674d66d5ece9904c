# Makes ptdb installable: a shared and a static libptdb built from the objects of the
# internal libraries (ptdb_common, ptdb_file, ptdb), the public headers, a pkg-config
# file and a CMake package giving ptdb::ptdb (shared) and ptdb::ptdb_static.
# Included from the top-level CMakeLists.txt after the library subdirectories.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(PTDB_INTERNAL_LIBS ptdb_common ptdb_file ptdb_pmem ptdb)
# One set of objects serves the internal libraries (tests, tools) and both installed
# ones, so it is position independent, and only what carries PTDB_EXPORT is visible
# outside the shared library.
set_target_properties(${PTDB_INTERNAL_LIBS} PROPERTIES
  POSITION_INDEPENDENT_CODE ON
  CXX_VISIBILITY_PRESET hidden
  VISIBILITY_INLINES_HIDDEN ON
)
set(PTDB_OBJECTS)
foreach(lib IN LISTS PTDB_INTERNAL_LIBS)
  list(APPEND PTDB_OBJECTS $<TARGET_OBJECTS:${lib}>)
endforeach()

add_library(ptdb_shared SHARED ${PTDB_OBJECTS})
add_library(ptdb_static STATIC ${PTDB_OBJECTS})
target_link_libraries(ptdb_shared PRIVATE Threads::Threads PkgConfig::PMEMOBJ_CPP PkgConfig::XXHASH)
# Plain names: an installed consumer has no pkg-config targets of ours to resolve.
target_link_libraries(ptdb_static INTERFACE Threads::Threads pmemobj pmem xxhash)
set_target_properties(ptdb_shared PROPERTIES
  OUTPUT_NAME ptdb
  EXPORT_NAME ptdb
  VERSION ${PROJECT_VERSION}
  SOVERSION 0
)
set_target_properties(ptdb_static PROPERTIES
  OUTPUT_NAME ptdb
  EXPORT_NAME ptdb_static
)
foreach(lib ptdb_shared ptdb_static)
  set_target_properties(${lib} PROPERTIES
    LINKER_LANGUAGE CXX
    # Apart from the internal frontend/libptdb.a, which has the same file name.
    ARCHIVE_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/lib
    LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/lib
  )
  target_include_directories(${lib} INTERFACE
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
  )
  target_compile_features(${lib} INTERFACE cxx_std_17)
endforeach()

install(TARGETS ptdb_shared ptdb_static
  EXPORT ptdbTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ptdb
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h"
)

# pkg-config: the prefix is found relative to the .pc file, so the installed tree can
# be moved (and `cmake --install --prefix` works without reconfiguring).
set(PTDB_PC_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(PTDB_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(PTDB_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(PTDB_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  file(RELATIVE_PATH PTDB_PC_UP "/${PTDB_PC_DIR}" "/")
  string(REGEX REPLACE "/$" "" PTDB_PC_UP "${PTDB_PC_UP}")
  set(PTDB_PC_PREFIX "\${pcfiledir}/${PTDB_PC_UP}")
  set(PTDB_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(PTDB_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/ptdb.pc.in ${PROJECT_BINARY_DIR}/ptdb.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/ptdb.pc DESTINATION ${PTDB_PC_DIR})

# CMake package: find_package(ptdb) gives ptdb::ptdb.
set(PTDB_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/ptdb)
install(EXPORT ptdbTargets NAMESPACE ptdb:: DESTINATION ${PTDB_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/ptdbConfig.cmake.in
  ${PROJECT_BINARY_DIR}/ptdbConfig.cmake
  INSTALL_DESTINATION ${PTDB_CMAKE_DIR}
)
# Before 1.0 a minor version may break the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ptdbConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion
)
install(FILES ${PROJECT_BINARY_DIR}/ptdbConfig.cmake ${PROJECT_BINARY_DIR}/ptdbConfigVersion.cmake
  DESTINATION ${PTDB_CMAKE_DIR}
)
