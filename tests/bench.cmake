# The benchmarks' NumPy peer (bench/numpy_peer.py) must be the same model
# as runway, or its timing compares nothing (docs/performance.md).
add_test(NAME numpy_peer_agrees_with_runway_within_mc_error
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_numpy_peer.py $<TARGET_FILE:runway> ${CMAKE_SOURCE_DIR})
set_tests_properties(numpy_peer_agrees_with_runway_within_mc_error PROPERTIES TIMEOUT 600)
