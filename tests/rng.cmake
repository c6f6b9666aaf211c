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

# The incomplete beta and gamma and their inverses (rng/rng_special.h):
# agreement with GSL, round trips, monotonicity, known bits, cost.
runway_c_test(test_special test_special.c)

# ...and they call no libm or GSL function: the object of
# test_special_symbols.c (each function as an external definition) must
# leave none of them undefined. nm lists what the compiler really
# emitted, whatever the source or the flags.
add_library(test_special_symbols OBJECT test_special_symbols.c)
target_include_directories(test_special_symbols PRIVATE ${CMAKE_SOURCE_DIR})
set(runway_libm_names "^(__)?(exp|exp2|exp10|expm1|log|log2|log10|log1p|logb|pow|lgamma|lgamma_r|tgamma|gamma|erf|erfc|cbrt|sin|cos|tan|asin|acos|atan|atan2|sinh|cosh|tanh|asinh|acosh|atanh|hypot|fma|ldexp|frexp|scalbn|nextafter)[fl]?(_r)?(_finite)?$|^gsl_")
add_test(NAME special_functions_call_no_libm
  COMMAND sh -c [=[
    undef=$("$0" -u "$1" | awk '{print $NF}') || exit 1
    "$0" --defined-only "$1" | grep -q rsp_sym_gamma_inv || { echo "no rsp_sym_ functions in $1"; exit 1; }
    bad=$(printf '%s\n' "$undef" | grep -E "$2")
    if [ -n "$bad" ]; then echo "rng_special.h calls: $bad"; exit 1; fi
    echo "undefined symbols: ${undef:-none}"
  ]=] ${CMAKE_NM} $<TARGET_OBJECTS:test_special_symbols> "${runway_libm_names}")
