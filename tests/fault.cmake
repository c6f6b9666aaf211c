# Fault injection: an allocator that fails on demand (LD_PRELOAD), a full
# disk, a vanishing output directory, SIGKILL at random moments. Not with
# the sanitizers: they replace the allocator themselves.
if(NOT RUNWAY_ASAN AND NOT RUNWAY_TSAN)
  add_library(failmalloc SHARED fault/failmalloc.c)
  target_link_libraries(failmalloc PRIVATE dl)
  add_test(NAME faults_end_in_clear_errors_never_crashes_or_false_complete_files
    COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_faults.py $<TARGET_FILE:runway>
            $<TARGET_FILE:failmalloc> ${CMAKE_SOURCE_DIR})
  set_tests_properties(faults_end_in_clear_errors_never_crashes_or_false_complete_files
    PROPERTIES TIMEOUT 900)
endif()
