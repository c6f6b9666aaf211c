# The Python side: the `runway` package (python/runway), the batch index
# page it helps write, and the worked example of docs/python.md.
add_test(NAME batch_index_is_one_scenario_by_lab_table_with_links
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_batch_index.py $<TARGET_FILE:runway> ${CMAKE_SOURCE_DIR})
set_tests_properties(batch_index_is_one_scenario_by_lab_table_with_links PROPERTIES TIMEOUT 300)
add_test(NAME python_module_loads_labelled_groups_and_tidy_paths
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_python_module.py $<TARGET_FILE:runway> ${CMAKE_SOURCE_DIR})
set_tests_properties(python_module_loads_labelled_groups_and_tidy_paths PROPERTIES TIMEOUT 300)
add_test(NAME python_package_installs_where_debian_python_finds_it
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_python_install.py ${CMAKE_COMMAND}
          ${CMAKE_BINARY_DIR} $<TARGET_FILE:runway> ${CMAKE_SOURCE_DIR})
set_tests_properties(python_package_installs_where_debian_python_finds_it PROPERTIES TIMEOUT 120)
add_test(NAME docs_python_example_runs
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_docs_python.py $<TARGET_FILE:runway> ${CMAKE_SOURCE_DIR})
set_tests_properties(docs_python_example_runs PROPERTIES TIMEOUT 300)
