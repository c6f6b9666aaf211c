# The Python side: the `runway` package (python/runway), the batch index
# page it helps write, and the worked example of docs/python.md. Each test
# is SCRIPT RUNWAY SOURCE_DIR [more arguments].
function(runway_py_test name script timeout)
  add_test(NAME ${name} COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/${script}
    $<TARGET_FILE:runway> ${CMAKE_SOURCE_DIR} ${ARGN})
  set_tests_properties(${name} PROPERTIES TIMEOUT ${timeout})
endfunction()
runway_py_test(batch_index_is_one_scenario_by_lab_table_with_links test_batch_index.py 300)
runway_py_test(python_module_loads_labelled_groups_and_tidy_paths test_python_module.py 300)
runway_py_test(docs_python_example_runs test_docs_python.py 300)
runway_py_test(python_package_installs_where_debian_python_finds_it test_python_install.py 120
  ${CMAKE_COMMAND} ${CMAKE_BINARY_DIR})
