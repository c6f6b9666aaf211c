# scripts/: the analyst's reports (report.py, compare.py, sweep_summary.py,
# sweep_plot.py), run by Debian's /usr/bin/python3 with python3-h5py,
# python3-numpy and python3-matplotlib. Each test makes its own small runs
# with the runway binary. report_html_pdf renders a PDF page with pdftoppm
# (Debian poppler-utils) and returns 77 (skipped) only if that is missing.
set(RUNWAY_REPORT_TESTS
  report_html_pdf          test_report.py
  compare_paired_unpaired  test_compare.py
  sweep_summary_and_plot   test_report_sweep.py
  report_rejects_bad_input test_report_bad_input.py)
list(LENGTH RUNWAY_REPORT_TESTS _n)
math(EXPR _last "${_n} - 1")
foreach(_i RANGE 0 ${_last} 2)
  math(EXPR _j "${_i} + 1")
  list(GET RUNWAY_REPORT_TESTS ${_i} _name)
  list(GET RUNWAY_REPORT_TESTS ${_j} _script)
  add_test(NAME ${_name}
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/${_script}
            $<TARGET_FILE:runway> ${CMAKE_SOURCE_DIR})
  set_tests_properties(${_name} PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77
    ENVIRONMENT "MPLBACKEND=Agg;MPLCONFIGDIR=${CMAKE_CURRENT_BINARY_DIR}/mplconfig")
endforeach()
# The report of a conditioned run (Conditioned on, prior versus posterior,
# the Bayes factor), of a backtest (its table, coverages, band and PIT
# figures), and the worlds where each lab fails (scripts/explain.py).
add_test(NAME report_conditioned_backtest_and_failure_worlds
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_report_evidence.py
          $<TARGET_FILE:runway> ${CMAKE_SOURCE_DIR})
set_tests_properties(report_conditioned_backtest_and_failure_worlds PROPERTIES TIMEOUT 600
  ENVIRONMENT "MPLBACKEND=Agg;MPLCONFIGDIR=${CMAKE_CURRENT_BINARY_DIR}/mplconfig")
# Tests that run one Python script in several modes: each NAME:MODE pair
# is a test NAME running SCRIPT RUNWAY SOURCE_DIR MODE (10 minutes at most;
# exit 77 is a skip); MATPLOTLIB: with the report's matplotlib settings.
function(runway_py_modes script)
  cmake_parse_arguments(PM "MATPLOTLIB" "" "PAIRS" ${ARGN})
  foreach(_pair ${PM_PAIRS})
    string(REPLACE ":" ";" _pair "${_pair}")
    list(GET _pair 0 _name)
    list(GET _pair 1 _mode)
    add_test(NAME ${_name}
      COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/${script}
              $<TARGET_FILE:runway> ${CMAKE_SOURCE_DIR} ${_mode})
    set_tests_properties(${_name} PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77)
    if(PM_MATPLOTLIB)
      set_tests_properties(${_name} PROPERTIES ENVIRONMENT
        "MPLBACKEND=Agg;MPLCONFIGDIR=${CMAKE_CURRENT_BINARY_DIR}/mplconfig")
    endif()
  endforeach()
endfunction()
# runway compare of runs whose labs differ (matched by name, the labs of
# one run listed, changed inputs named), its intervals at 0 and 1, a
# reader that has gone, and hostile lab names (tests/test_compare_labs.py).
runway_py_modes(test_compare_labs.py PAIRS
  "compare_matches_labs_by_name_and_lists_changed_inputs:labs"
  "compare_interval_covers_at_p_zero_and_one:interval"
  "compare_quiet_on_broken_pipe:pipe"
  "compare_sanitises_hostile_lab_names:hostile")
# The report's first page, its figures, hostile names and signals
# (tests/test_report_summary.py; the first needs pdftotext and pdftoppm
# from poppler-utils and returns 77 without them).
runway_py_modes(test_report_summary.py MATPLOTLIB PAIRS
  "report_first_page_summarises_and_prints_dollars_literally:summary"
  "report_figures_show_only_what_can_happen:figures"
  "report_sanitises_hostile_lab_names:hostile"
  "report_leaves_no_temporaries_on_signals:signals")
