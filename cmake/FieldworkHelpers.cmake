# Small helpers so that every library, binary, test and benchmark is declared the same way.
include(GoogleTest)

# -Wnull-dereference is left out: with GCC 12 at -O3 it reports false positives inside
# libstdc++ (streambuf, vector::resize) that no change of ours can silence.

set(FIELDWORK_WARNINGS
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
    -Wold-style-cast -Woverloaded-virtual -Wdouble-promotion
    -Wformat=2 -Wimplicit-fallthrough -Wcast-qual -Wuseless-cast)

# GCC 12 at -O2/-O3 reports -Wrestrict on `"literal" + std::string` inside libstdc++ (GCC bug
# 105651, fixed in 13): a false positive in any release build, so it is off for GCC 12.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  list(APPEND FIELDWORK_WARNINGS -Wno-restrict)
endif()

# Applies the warning set (and -Werror when asked) to one of our own targets, and compiles its
# sources in unity batches when FIELDWORK_UNITY_BUILD is on: parsing the gRPC, protobuf, Abseil
# and GoogleTest headers is most of a file's compile time, so batching the files of a target
# makes a clean build several times shorter (CI builds from scratch). Every name at namespace
# scope in a .cc file, anonymous namespaces included, must therefore be unique within its
# target; the asan preset builds file by file and so still checks each file's own includes.
function(fieldwork_apply_warnings target)
  target_compile_options(${target} PRIVATE ${FIELDWORK_WARNINGS})
  if(FIELDWORK_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  set_target_properties(${target} PROPERTIES UNITY_BUILD ${FIELDWORK_UNITY_BUILD})
endfunction()

# fieldwork_cc_library(NAME n SRCS a.cc ... [DEPS targets...])
# Defines library `n` and its alias `fieldwork::n`. Our headers are included from the
# repository root: #include "services/common/clock.h".
function(fieldwork_cc_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(${ARG_NAME} STATIC ${ARG_SRCS})
  add_library(fieldwork::${ARG_NAME} ALIAS ${ARG_NAME})
  # A flags file stays an object of its own: a binary links (and so shows in --help) only
  # the flags it uses, as without unity batches.
  foreach(src IN LISTS ARG_SRCS)
    if(src MATCHES "_flags\\.cc$")
      set_source_files_properties(${src} PROPERTIES SKIP_UNITY_BUILD_INCLUSION ON)
    endif()
  endforeach()
  target_include_directories(${ARG_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${ARG_NAME} PUBLIC ${ARG_DEPS})
  fieldwork_apply_warnings(${ARG_NAME})
endfunction()

# fieldwork_cc_binary(NAME n SRCS main.cc [DEPS ...]) for service binaries and tools.
function(fieldwork_cc_binary)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS})
  fieldwork_apply_warnings(${ARG_NAME})
endfunction()

# fieldwork_cc_test(NAME n SRCS a_test.cc ... LABEL unit|integration|e2e [DEPS ...]
#                   [TIMEOUT seconds] [CLUSTER])
# One GoogleTest binary; each test case becomes its own CTest test carrying the label.
# CLUSTER (integration tests): each test case is registered a second time, named
# "<Suite.Test>/cluster" with the label `cluster` only, run with FIELDWORK_TEST_REDIS=cluster so
# that the harness's Redis is a Redis Cluster; the cases listed in FIELDWORK_CLUSTER_EXCLUDED
# (tests/cluster_runs.cmake, with the reason for each) are left out of that run.
function(fieldwork_cc_test)
  cmake_parse_arguments(ARG "CLUSTER" "NAME;LABEL;TIMEOUT" "SRCS;DEPS" ${ARGN})
  if(NOT ARG_LABEL MATCHES "^(unit|integration|e2e)$")
    message(FATAL_ERROR "fieldwork_cc_test(${ARG_NAME}): LABEL must be unit, integration or e2e")
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  fieldwork_apply_warnings(${ARG_NAME})
  # Tests find the sources through this definition (gtest_discover_tests passes only one
  # ENVIRONMENT entry through intact) and the built binaries through FIELDWORK_BINARY_DIR.
  target_compile_definitions(${ARG_NAME} PRIVATE FIELDWORK_TEST_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  gtest_discover_tests(${ARG_NAME}
    DISCOVERY_TIMEOUT 60
    PROPERTIES LABELS ${ARG_LABEL} TIMEOUT ${ARG_TIMEOUT}
               ENVIRONMENT "FIELDWORK_BINARY_DIR=${PROJECT_BINARY_DIR}")
  if(ARG_CLUSTER)
    # The second variable goes through ENVIRONMENT_MODIFICATION, a property of its own, for
    # the reason above.
    list(JOIN FIELDWORK_CLUSTER_EXCLUDED ":" excluded)
    gtest_discover_tests(${ARG_NAME}
      DISCOVERY_TIMEOUT 60
      TEST_SUFFIX "/cluster"
      TEST_FILTER "-${excluded}"
      PROPERTIES LABELS cluster TIMEOUT ${ARG_TIMEOUT}
                 ENVIRONMENT "FIELDWORK_BINARY_DIR=${PROJECT_BINARY_DIR}"
                 ENVIRONMENT_MODIFICATION "FIELDWORK_TEST_REDIS=set:cluster")
  endif()
endfunction()

# fieldwork_cc_benchmark(NAME n SRCS a_bench.cc [DEPS ...]): a Google Benchmark binary.
# Benchmarks are run by hand or by scripts/bench.sh, never by CTest.
function(fieldwork_cc_benchmark)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} benchmark::benchmark)
  fieldwork_apply_warnings(${ARG_NAME})
endfunction()

# fieldwork_proto_library(NAME n PROTOS a.proto ... [DEPS ...] [IMPORT_ROOT dir])
# Generates C++ and gRPC code into the build tree (never the repository) and compiles it
# without our warning set, since the code is not ours.
function(fieldwork_proto_library)
  cmake_parse_arguments(ARG "" "NAME;IMPORT_ROOT" "PROTOS;DEPS" ${ARGN})
  if(NOT ARG_IMPORT_ROOT)
    set(ARG_IMPORT_ROOT ${CMAKE_CURRENT_SOURCE_DIR})
  endif()
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/gen)
  set(generated)
  foreach(proto IN LISTS ARG_PROTOS)
    get_filename_component(abs ${proto} ABSOLUTE)
    file(RELATIVE_PATH rel ${ARG_IMPORT_ROOT} ${abs})
    string(REGEX REPLACE "\\.proto$" "" stem ${rel})
    set(outs ${out_dir}/${stem}.pb.cc ${out_dir}/${stem}.pb.h
             ${out_dir}/${stem}.grpc.pb.cc ${out_dir}/${stem}.grpc.pb.h)
    add_custom_command(
      OUTPUT ${outs}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
      COMMAND protobuf::protoc
              --proto_path=${ARG_IMPORT_ROOT} --proto_path=${PROJECT_SOURCE_DIR}/protos
              --cpp_out=${out_dir} --grpc_out=${out_dir}
              --plugin=protoc-gen-grpc=${FIELDWORK_GRPC_CPP_PLUGIN} ${abs}
      DEPENDS ${abs} protobuf::protoc
      COMMENT "protoc ${rel}"
      VERBATIM)
    list(APPEND generated ${outs})
  endforeach()
  add_library(${ARG_NAME} STATIC ${generated})
  add_library(fieldwork::${ARG_NAME} ALIAS ${ARG_NAME})
  target_include_directories(${ARG_NAME} SYSTEM PUBLIC ${out_dir})
  target_link_libraries(${ARG_NAME} PUBLIC ${ARG_DEPS} protobuf::libprotobuf gRPC::grpc++)
endfunction()
