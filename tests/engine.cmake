# Engine-level tests: closed forms, sketch bound, reproducibility, CLI.
runway_c_test(test_closed_form test_closed_form.c)
runway_c_test(test_sketch test_sketch.c)
runway_c_test(test_stats test_stats.c)
set(RUNWAY_BASELINE ${CMAKE_SOURCE_DIR}/scenarios/baseline.yaml)
add_test(NAME cli_rejects_bad_input_with_one_line_and_no_file
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_cli_errors.py $<TARGET_FILE:runway>)
add_test(NAME results_identical_across_threads_runs_and_crn
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_reproducible.py $<TARGET_FILE:runway> ${RUNWAY_BASELINE})
add_test(NAME baseline_result_file_matches_output_md
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_output_layout.py $<TARGET_FILE:runway> ${RUNWAY_BASELINE})
set_tests_properties(cli_rejects_bad_input_with_one_line_and_no_file
  results_identical_across_threads_runs_and_crn baseline_result_file_matches_output_md
  PROPERTIES TIMEOUT 600)
runway_c_test(test_rng_math test_rng_math.c)
runway_c_test(test_rng_philox test_rng_philox.c)
runway_c_test(test_kernel test_kernel.c)
add_test(NAME workflow_batch_sweep_target_perpath_report_compare
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_workflow.py $<TARGET_FILE:runway> ${CMAKE_SOURCE_DIR})
set_tests_properties(workflow_batch_sweep_target_perpath_report_compare PROPERTIES TIMEOUT 600)
add_test(NAME shards_merge_exactly_and_sigterm_checkpoint_resumes_exactly
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_shards_resume.py $<TARGET_FILE:runway> ${CMAKE_SOURCE_DIR})
set_tests_properties(shards_merge_exactly_and_sigterm_checkpoint_resumes_exactly PROPERTIES TIMEOUT 600)
if(TARGET runway-mpi)
  add_test(NAME mpi_1_2_3_ranks_equal_the_single_process_run
    COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_mpi.py $<TARGET_FILE:runway>
            $<TARGET_FILE:runway-mpi> ${CMAKE_SOURCE_DIR})
  set_tests_properties(mpi_1_2_3_ranks_equal_the_single_process_run PROPERTIES TIMEOUT 600)
endif()
add_test(NAME quantiles_within_stated_sketch_error_of_exact_on_real_run
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_quantile_bound.py $<TARGET_FILE:runway> ${CMAKE_SOURCE_DIR})
add_test(NAME sensitivity_equals_spearman_of_the_per_path_data
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_sensitivity.py $<TARGET_FILE:runway> ${CMAKE_SOURCE_DIR})
# Refactors change no result: every result dataset of every shipped
# scenario against the digests stored before (tests/result_digests.py).
add_test(NAME shipped_scenarios_give_their_stored_digests
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/result_digests.py check $<TARGET_FILE:runway>
          ${CMAKE_CURRENT_SOURCE_DIR}/digests)
set_tests_properties(shipped_scenarios_give_their_stored_digests PROPERTIES TIMEOUT 600)
add_test(NAME backtest_scores_exactly_over_every_path_and_refuses_bad_observations
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_backtest.py $<TARGET_FILE:runway>)
set_tests_properties(backtest_scores_exactly_over_every_path_and_refuses_bad_observations
  PROPERTIES TIMEOUT 600)
# Version 2 gives a version 1 scenario the bits version 1 gave it.
add_test(NAME v1_scenarios_give_v1_bits_under_v2
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/result_digests.py check $<TARGET_FILE:runway>
          ${CMAKE_CURRENT_SOURCE_DIR}/v1/digests ${CMAKE_CURRENT_SOURCE_DIR}/v1/scenarios)
set_tests_properties(v1_scenarios_give_v1_bits_under_v2 PROPERTIES TIMEOUT 600)
add_test(NAME condition_matches_closed_forms_and_is_thread_invariant
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_condition.py $<TARGET_FILE:runway>
          $<$<TARGET_EXISTS:runway-mpi>:$<TARGET_FILE:runway-mpi>>)
set_tests_properties(condition_matches_closed_forms_and_is_thread_invariant PROPERTIES TIMEOUT 900)
add_test(NAME explain_ranks_the_driving_input_first_and_prim_brackets_its_threshold
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_explain.py $<TARGET_FILE:runway>)
set_tests_properties(explain_ranks_the_driving_input_first_and_prim_brackets_its_threshold
  PROPERTIES TIMEOUT 900)
# runway compare of conditioned runs: paired weighted differences, and the
# Bayes factor of two conditioned runs with its Monte Carlo interval.
add_test(NAME compare_weighted_paired_and_bayes_factor_of_conditioned_runs
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_compare_conditioned.py
          $<TARGET_FILE:runway> ${CMAKE_SOURCE_DIR})
set_tests_properties(compare_weighted_paired_and_bayes_factor_of_conditioned_runs
  PROPERTIES TIMEOUT 900 ENVIRONMENT PYTHONDONTWRITEBYTECODE=1)
