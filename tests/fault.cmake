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

# Hostile inputs and an unlucky world (issue 18, docs/faults.md): one test
# per case of tests/fault/test_hostile.py. Cases that need root (another
# user, a device node, a PID namespace) exit 77 without it: skipped, and
# CI runs as root.
foreach(case
    temporaries_resist_planted_symlinks
    runs_sharing_a_pid_never_share_a_temporary
    output_to_device_node_is_refused
    rename_failure_keeps_the_result_and_says_where
    batch_refuses_two_scenarios_with_one_output_name
    deep_nesting_is_refused_in_under_a_second
    signals_leave_a_checkpoint_or_nothing_and_say_so
    huge_per_path_runs_are_refused_up_front_with_the_figure
    resume_and_merge_refuse_states_the_engine_cannot_produce
    resume_refuses_options_it_would_ignore
    names_are_limited_and_printed_names_are_sanitised
    messages_name_the_rule_and_the_value)
  add_test(NAME ${case}
    COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/fault/test_hostile.py $<TARGET_FILE:runway>
            ${CMAKE_SOURCE_DIR} ${case})
  set_tests_properties(${case} PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77)
  if(RUNWAY_ASAN OR RUNWAY_TSAN)
    set_tests_properties(${case} PROPERTIES ENVIRONMENT RUNWAY_TIME_FACTOR=5)
  endif()
endforeach()
