# Fuzz corpora and regression inputs, replayed by a plain driver
# (tests/fuzz/replay.c) through the same target functions that
# scripts/fuzz.sh fuzzes with libFuzzer. Runs with any compiler, so in the
# normal build and under ASan+UBSan alike. A property failure
# (tests/fuzz/fuzz_check.h) or a sanitizer report fails the test.
set(RUNWAY_FUZZ_DIR ${CMAKE_CURRENT_SOURCE_DIR}/fuzz)
foreach(t scenario set results yaml_events)
  add_executable(fuzz_replay_${t} fuzz/replay.c fuzz/fuzz_${t}.c fuzz/fuzz_check.h)
  if(t STREQUAL "results") # reads and writes result files: HDF5
    target_link_libraries(fuzz_replay_${t} PRIVATE runway_output)
  else()
    target_link_libraries(fuzz_replay_${t} PRIVATE runway_engine)
  endif()
endforeach()
target_compile_definitions(fuzz_replay_set PRIVATE
  RUNWAY_FUZZ_BASELINE="${CMAKE_SOURCE_DIR}/scenarios/baseline.yaml")

add_test(NAME fuzz_scenario_corpus_and_regressions_replay_cleanly
  COMMAND fuzz_replay_scenario
          ${CMAKE_SOURCE_DIR}/scenarios
          ${CMAKE_CURRENT_SOURCE_DIR}/invalid
          ${RUNWAY_FUZZ_DIR}/corpus/scenario
          ${RUNWAY_FUZZ_DIR}/regressions/scenario)
add_test(NAME fuzz_set_corpus_and_regressions_replay_cleanly
  COMMAND fuzz_replay_set
          ${RUNWAY_FUZZ_DIR}/corpus/set
          ${RUNWAY_FUZZ_DIR}/regressions/set)
add_test(NAME fuzz_results_corpus_and_regressions_replay_cleanly
  COMMAND fuzz_replay_results
          ${RUNWAY_FUZZ_DIR}/corpus/results
          ${RUNWAY_FUZZ_DIR}/regressions/results)
add_test(NAME fuzz_yaml_events_corpus_and_regressions_replay_cleanly
  COMMAND fuzz_replay_yaml_events
          ${CMAKE_SOURCE_DIR}/scenarios
          ${CMAKE_CURRENT_SOURCE_DIR}/invalid
          ${RUNWAY_FUZZ_DIR}/corpus/scenario
          ${RUNWAY_FUZZ_DIR}/corpus/yaml_events
          ${RUNWAY_FUZZ_DIR}/regressions/yaml_events)
set_tests_properties(fuzz_yaml_events_corpus_and_regressions_replay_cleanly PROPERTIES TIMEOUT 120)
set_tests_properties(fuzz_scenario_corpus_and_regressions_replay_cleanly
  fuzz_set_corpus_and_regressions_replay_cleanly
  fuzz_results_corpus_and_regressions_replay_cleanly PROPERTIES TIMEOUT 120)

# The Python readers of result files (scripts/runway_result.py load and
# check_compatible, compare.py compare, sweep_summary.py summarise,
# report.py's tables): the corpus and regression inputs of
# tests/fuzz/fuzz_py_readers.py (JSON programs of edits to result files
# that runway writes at start), replayed once each. A traceback other than
# ResultError, a ResultError message that is empty, on several lines or
# naming neither file, or an accepted file or comparison that breaks what
# load promises fails the test.
add_test(NAME fuzz_py_readers_corpus_and_regressions_replay_cleanly
  COMMAND ${RUNWAY_PY} ${RUNWAY_FUZZ_DIR}/fuzz_py_readers.py --replay $<TARGET_FILE:runway>
          ${RUNWAY_FUZZ_DIR}/corpus/py_readers
          ${RUNWAY_FUZZ_DIR}/regressions/py_readers)
set_tests_properties(fuzz_py_readers_corpus_and_regressions_replay_cleanly PROPERTIES
  TIMEOUT 300 ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
