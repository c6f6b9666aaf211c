# The analyst's desk (issue 17), through the binary: provenance and rerun,
# -O DIR made, the --target-halfwidth search, every scenario error at
# once, suggestions for options and "a - b" ranges, the revenue breakdown,
# long lab names (tests/test_cli_desk.py, one mode per test).
foreach(pair
    "provenance;stored_run_keeps_scenario_text_and_reproduces_with_overrides"
    "output_dir;output_dir_is_created_for_batch_and_sweep"
    "target;target_halfwidth_finds_minimum_paths_for_every_year"
    "errors;scenario_errors_are_all_reported_each_on_its_line"
    "options;unknown_option_suggests_nearest"
    "minus_range;minus_range_suggests_to"
    "revenue;revenue_exceeding_market_names_each_lab"
    "long_names;survival_table_prints_long_lab_names_whole")
  list(GET pair 0 mode)
  list(GET pair 1 name)
  add_test(NAME ${name}
    COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_cli_desk.py ${mode}
            $<TARGET_FILE:runway> ${CMAKE_SOURCE_DIR})
  set_tests_properties(${name} PROPERTIES TIMEOUT 600 ENVIRONMENT PYTHONDONTWRITEBYTECODE=1)
endforeach()

# The README's commands as written, and docs/scenarios.md's and
# docs/reports.md's with fewer paths (tests/test_doc_examples.py).
add_test(NAME readme_examples_run
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_doc_examples.py readme
          $<TARGET_FILE:runway> ${CMAKE_SOURCE_DIR})
add_test(NAME docs_examples_run
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_doc_examples.py docs
          $<TARGET_FILE:runway> ${CMAKE_SOURCE_DIR})
set_tests_properties(readme_examples_run docs_examples_run PROPERTIES TIMEOUT 900
  ENVIRONMENT PYTHONDONTWRITEBYTECODE=1)
