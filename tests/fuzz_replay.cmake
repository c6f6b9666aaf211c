# Fuzz corpora and regression inputs, replayed by a plain driver
# (tests/fuzz/replay.c) through the same target functions that
# scripts/fuzz.sh fuzzes with libFuzzer. Runs with any compiler, so in the
# normal build and under ASan+UBSan alike. A property failure
# (tests/fuzz/fuzz_check.h) or a sanitizer report fails the test.
set(RUNWAY_FUZZ_DIR ${CMAKE_CURRENT_SOURCE_DIR}/fuzz)
foreach(t scenario set results)
  add_executable(fuzz_replay_${t} fuzz/replay.c fuzz/fuzz_${t}.c fuzz/fuzz_check.h)
  target_link_libraries(fuzz_replay_${t} PRIVATE runway_engine)
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
set_tests_properties(fuzz_scenario_corpus_and_regressions_replay_cleanly
  fuzz_set_corpus_and_regressions_replay_cleanly
  fuzz_results_corpus_and_regressions_replay_cleanly PROPERTIES TIMEOUT 120)
