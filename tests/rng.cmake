# rng/: counter-based streams, distributions, Gaussian copula.

# Random123's known-answer table (D. E. Shaw Research). Debian ships it
# gzipped; it is unpacked into the build tree at build time so that the
# test reads a plain file. Set RUNWAY_KAT_VECTORS to use another copy.
find_file(RUNWAY_KAT_VECTORS NAMES kat_vectors kat_vectors.gz
  PATHS /usr/share/doc/librandom123-dev/tests
        ${RANDOM123_INCLUDE_DIR}/../share/doc/librandom123-dev/tests
        ${RANDOM123_INCLUDE_DIR}/../tests
  NO_DEFAULT_PATH
  DOC "Random123 tests/kat_vectors (plain or .gz)")
find_program(RUNWAY_GZIP gzip)

if(NOT RUNWAY_KAT_VECTORS)
  # Not skipped: the test then fails, saying which file it could not open.
  message(WARNING "Random123 kat_vectors not found; test_philox_kat will fail. "
                  "Set RUNWAY_KAT_VECTORS to its path.")
  set(runway_kat_arg ${CMAKE_CURRENT_BINARY_DIR}/kat_vectors-not-found)
elseif(RUNWAY_KAT_VECTORS MATCHES "\\.gz$" AND RUNWAY_GZIP)
  set(runway_kat_arg ${CMAKE_CURRENT_BINARY_DIR}/kat_vectors)
  add_custom_command(OUTPUT ${runway_kat_arg}
    COMMAND ${CMAKE_COMMAND} -E copy ${RUNWAY_KAT_VECTORS} ${runway_kat_arg}.gz
    COMMAND ${RUNWAY_GZIP} -d -f ${runway_kat_arg}.gz
    # gzip gives the output the copy's time; make it newer than its input.
    COMMAND ${CMAKE_COMMAND} -E touch ${runway_kat_arg}
    DEPENDS ${RUNWAY_KAT_VECTORS}
    COMMENT "Unpacking Random123 known-answer vectors"
    VERBATIM)
  add_custom_target(runway_kat_vectors ALL DEPENDS ${runway_kat_arg})
else()
  # A plain file, or a .gz the test reads through `gzip -dc` itself.
  set(runway_kat_arg ${RUNWAY_KAT_VECTORS})
endif()

runway_c_test(test_philox_kat test_philox_kat.c ${runway_kat_arg})
if(TARGET runway_kat_vectors)
  add_dependencies(test_philox_kat runway_kat_vectors)
endif()

runway_c_test(test_dist test_dist.c)
runway_c_test(test_copula test_copula.c)

# exp's and log's tables (rng/rng_math_tables.h) are what their generator
# makes, exactly: regenerated with exact rational arithmetic and compared.
add_test(NAME math_tables_match_their_generator
  COMMAND ${RUNWAY_PY} ${CMAKE_SOURCE_DIR}/scripts/gen_math_tables.py --check
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(math_tables_match_their_generator PROPERTIES TIMEOUT 300)
