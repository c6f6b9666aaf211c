# Scenario module (engine/scenario.c): the shipped scenarios load with the
# values MODEL.md sections 1, 4 and 7 give them, overrides land and are
# re-emitted; every file in tests/invalid/ and every bad --set is refused
# with one line naming file, line, key and rule.
runway_c_test(scenario_loads_shipped_and_applies_overrides test_scenario_load.c)
runway_c_test(scenario_rejects_invalid_with_file_line_key_rule test_scenario_invalid.c)

# Observations (engine/observe.c, MODEL.md section 8): a valid file loads
# with the scenario's lab indices and the figures' medians; every broken
# rule is refused with one line naming file, line, key and rule (fixtures
# in tests/observe/); ob_loglik matches GSL's densities.
runway_c_test(observations_checked_like_scenarios_and_loglik_matches_gsl test_observe.c)
