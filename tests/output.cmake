# output/: the result file writer (output/h5out.c) and the reusable checker
# of OUTPUT.md (check_output.py). test_h5out leaves its synthetic files in
# the build tree for the python tests (fixture h5out_files).
set(H5OUT_SYNTHETIC ${CMAKE_CURRENT_BINARY_DIR}/h5out_synthetic.h5)
set(H5OUT_EMPTY_AXES ${CMAKE_CURRENT_BINARY_DIR}/h5out_empty_axes.h5)
runway_c_test(test_h5out test_h5out.c ${H5OUT_SYNTHETIC} ${H5OUT_EMPTY_AXES})
target_link_libraries(test_h5out PRIVATE runway_output)
# The chunk codec (output/h5codec.c): shuffle as HDF5 defines it, zlib
# streams that zlib and HDF5's filters read back.
runway_c_test(test_h5codec test_h5codec.c ${CMAKE_CURRENT_BINARY_DIR}/h5codec_test.h5)
target_link_libraries(test_h5codec PRIVATE runway_output ZLIB::ZLIB)
set_tests_properties(test_h5out PROPERTIES FIXTURES_SETUP h5out_files)

add_test(NAME check_output_synthetic
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/check_output.py ${H5OUT_SYNTHETIC}
          --expect-paths 1000 --expect-labs 3 --expect-horizon 4 --expect-inputs 2
          --expect-kept 5 --per-path)
add_test(NAME check_output_empty_axes
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/check_output.py ${H5OUT_EMPTY_AXES}
          --expect-paths 1000 --expect-inputs 0 --expect-kept 0 --per-path)
add_test(NAME check_output_detects_broken_files
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_check_output_detects.py ${H5OUT_SYNTHETIC})
set_tests_properties(check_output_synthetic check_output_empty_axes check_output_detects_broken_files
  PROPERTIES FIXTURES_REQUIRED h5out_files TIMEOUT 300 ENVIRONMENT PYTHONDONTWRITEBYTECODE=1)
# The same for MODEL.md section 8's files: a conditioned run and a backtest
# pass check_output.py and runway_result.load; broken weights, evidence,
# n_eff and backtest attributes, flags and scales are detected.
add_test(NAME check_output_detects_broken_conditioned_and_backtest_files
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_check_output_detects.py --evidence
          $<TARGET_FILE:runway> ${CMAKE_SOURCE_DIR})
set_tests_properties(check_output_detects_broken_conditioned_and_backtest_files
  PROPERTIES TIMEOUT 300 ENVIRONMENT PYTHONDONTWRITEBYTECODE=1)
