# cmake --install of the client component into a temp prefix, then the example built as a
# downstream project would build it: with find_package(instaccess), and with pkg-config.
# Run by ctest: cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DCXX=... [-DCXX_FLAGS=...]
#   [-DLINKER_FLAGS=...] -P install_test.cmake
foreach(v BUILD_DIR SOURCE_DIR WORK_DIR CXX)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "${v} is not set")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(RUN_OUT "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}" --component client)

foreach(f
    include/instaccess/client.h include/instaccess/error.h include/instaccess/claims.h
    bin/instaccessctl share/bash-completion/completions/instaccessctl
    share/zsh/vendor-completions/_instaccessctl)
  if(NOT EXISTS "${prefix}/${f}")
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()
file(GLOB_RECURSE config "${prefix}/*/instaccessConfig.cmake")
file(GLOB_RECURSE pc "${prefix}/*/instaccess.pc")
if(NOT config OR NOT pc)
  message(FATAL_ERROR "no instaccessConfig.cmake or instaccess.pc under ${prefix}")
endif()
# Nothing of the daemon's: the client talks to the socket only.
if(EXISTS "${prefix}/sbin/instaccessd")
  message(FATAL_ERROR "the client component installed the daemon")
endif()

# 1. CMake: find_package(instaccess) + target_link_libraries(app instaccess::client).
run(${CMAKE_COMMAND} -S "${SOURCE_DIR}/examples" -B "${WORK_DIR}/build" -G Ninja
    "-DCMAKE_PREFIX_PATH=${prefix}" "-DCMAKE_CXX_COMPILER=${CXX}" "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
    "-DCMAKE_EXE_LINKER_FLAGS=${LINKER_FLAGS}")
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build")

# The program runs: with no daemon it reports that it cannot connect (exit 3).
execute_process(COMMAND "${WORK_DIR}/build/instaccess-example" "${WORK_DIR}/none.sock"
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 3 OR NOT err MATCHES "cannot connect to .*none.sock: no such file")
  message(FATAL_ERROR "example: exit ${rc}, stderr: ${err}")
endif()

# 2. pkg-config, relocated: the .pc finds its prefix from its own place.
get_filename_component(pc_dir "${pc}" DIRECTORY)
set(ENV{PKG_CONFIG_PATH} "${pc_dir}")
run(pkg-config --cflags --libs instaccess)
string(STRIP "${RUN_OUT}" pc_flags)
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
separate_arguments(extra UNIX_COMMAND "${CXX_FLAGS} ${LINKER_FLAGS}")
run(${CXX} -std=c++17 ${extra} "${SOURCE_DIR}/examples/issue_and_decrypt.cc" ${pc_flags}
    -o "${WORK_DIR}/example-pc")
execute_process(COMMAND "${WORK_DIR}/example-pc" "${WORK_DIR}/none.sock" RESULT_VARIABLE rc)
if(NOT rc EQUAL 3)
  message(FATAL_ERROR "example built with pkg-config: exit ${rc}")
endif()
file(REMOVE_RECURSE "${WORK_DIR}")
message(STATUS "installed, found by find_package and pkg-config, linked and run")
