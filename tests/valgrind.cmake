# valgrind's memcheck on short runs (tests/test_valgrind.sh): no invalid
# access, no use of uninitialised memory, no leak; and, with the
# baseline-x86-64 build it needs, the same bits on any CPU. Skipped (77) only when
# valgrind is not installed; scripts/setup.sh installs it.
#
# Not in a sanitizer build: ASan and TSan replace the allocator and map
# shadow memory, which valgrind cannot run under (UBSan alone would work,
# but CI only builds UBSan together with ASan).
if(RUNWAY_ASAN OR RUNWAY_TSAN)
  return()
endif()

# valgrind 3.19 (Debian 12) cannot decode AVX-512, which -march=native
# (RUNWAY_NATIVE, the default) emits on machines that have it. The test
# then checks runway_valgrind: the same sources as runway and its app,
# output, engine and rng libraries (read from those targets, so a new source file is picked
# up), with the same options except -march=native and
# -mprefer-vector-width. Memory errors and leaks are properties of the
# source, not of the vector width the compiler picked.
if(RUNWAY_NATIVE)
  set(_vg_sources "")
  foreach(_t runway_rng runway_engine runway_output runway_app runway)
    get_target_property(_s ${_t} SOURCES)
    get_target_property(_d ${_t} SOURCE_DIR)
    foreach(_f ${_s})
      if(NOT IS_ABSOLUTE ${_f})
        set(_f ${_d}/${_f})
      endif()
      list(APPEND _vg_sources ${_f})
    endforeach()
  endforeach()
  add_executable(runway_valgrind ${_vg_sources})
  set(_vg_libs "")
  foreach(_t runway_rng runway_engine runway_output runway_app)
    get_target_property(_l ${_t} LINK_LIBRARIES)
    list(APPEND _vg_libs ${_l})
    get_target_property(_i ${_t} INCLUDE_DIRECTORIES)
    if(_i)
      target_include_directories(runway_valgrind PRIVATE ${_i})
    endif()
  endforeach()
  list(REMOVE_ITEM _vg_libs runway_rng runway_engine runway_output runway_app)
  target_link_libraries(runway_valgrind PRIVATE ${_vg_libs})
  get_target_property(_o runway_valgrind COMPILE_OPTIONS)
  list(FILTER _o EXCLUDE REGEX "^-march=|^-mprefer-vector-width=|^-mtune=")
  set_target_properties(runway_valgrind PROPERTIES COMPILE_OPTIONS "${_o}")
  target_compile_options(runway_valgrind PRIVATE -g)
  set(_vg_runway $<TARGET_FILE:runway_valgrind>)
  # The same build has a second use: it runs the scalar fallbacks of every
  # hand-vectorised path (Philox, the normal quantile's tail packing) and
  # SSE2 code where runway has AVX2 or AVX-512, so comparing its files
  # with runway's proves that the bits do not depend on the CPU.
  file(GLOB _bits_scen ${CMAKE_SOURCE_DIR}/scenarios/*.yaml)
  add_test(NAME results_identical_on_native_and_baseline_x86_64_builds
    COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_same_bits_any_cpu.py
            $<TARGET_FILE:runway> $<TARGET_FILE:runway_valgrind> ${_bits_scen}
            ${CMAKE_CURRENT_SOURCE_DIR}/kernel_edges.yaml)
  set_tests_properties(results_identical_on_native_and_baseline_x86_64_builds
    PROPERTIES TIMEOUT 300)
else()
  set(_vg_runway $<TARGET_FILE:runway>)
endif()

add_test(NAME valgrind_short_run_has_no_leaks_or_invalid_access
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_valgrind.sh ${_vg_runway}
          ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/valgrind.supp)
set_tests_properties(valgrind_short_run_has_no_leaks_or_invalid_access
  PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77)
