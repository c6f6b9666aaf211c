# scripts/ (report.py, compare.py, sweep_summary.py, runway_result.py) on
# truncated, corrupted and hand-crafted result files: a one-line refusal
# (exit 1) or, for corruption no check can see, a normal run; never a
# Python traceback (tests/test_untrusted_results.py).
add_test(NAME result_readers_refuse_untrusted_files_in_one_line
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_untrusted_results.py
          $<TARGET_FILE:runway> ${CMAKE_SOURCE_DIR})
set_tests_properties(result_readers_refuse_untrusted_files_in_one_line PROPERTIES
  TIMEOUT 300 ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1;MPLBACKEND=Agg;MPLCONFIGDIR=${CMAKE_CURRENT_BINARY_DIR}/mplconfig")
