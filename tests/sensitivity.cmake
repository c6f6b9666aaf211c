# Given-data sensitivity indices and swings (engine/sensitivity.h): closed
# forms, correlated inputs grouped, thread invariance.
runway_c_test(sensitivity_index_matches_closed_forms test_sensitivity_index.c analytic)
add_test(NAME sensitivity_groups_correlated_inputs_and_credits_the_set
  COMMAND sensitivity_index_matches_closed_forms correlated
  WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
add_test(NAME sensitivity_indices_identical_on_1_2_3_threads
  COMMAND sensitivity_index_matches_closed_forms threads
  WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
add_test(NAME sensitivity_datasets_match_numpy_and_merge_exactly
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_sensitivity_datasets.py $<TARGET_FILE:runway>
          ${CMAKE_SOURCE_DIR})
set_tests_properties(sensitivity_datasets_match_numpy_and_merge_exactly PROPERTIES TIMEOUT 600)
add_test(NAME report_sensitivity_section_groups_correlated_inputs_by_year
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_report_sensitivity.py $<TARGET_FILE:runway>
          ${CMAKE_SOURCE_DIR})
set_tests_properties(report_sensitivity_section_groups_correlated_inputs_by_year PROPERTIES TIMEOUT 900)
add_test(NAME sensitivity_bucketed_binning_equals_full_ranking
  COMMAND sensitivity_index_matches_closed_forms binning
  WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
add_test(NAME sensitivity_from_shared_ranks_and_lab_tuples_is_bit_identical
  COMMAND sensitivity_index_matches_closed_forms shared
  WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
