# Numeric edges of a scenario (tests/test_scenario_edges.c): what must be
# accepted (exactly at each limit, 2^40 paths, horizon 100, 100 labs,
# empty correlations, a lab with no revenue) and the limits --paths and
# --set must respect. The refusals at a file line are tests/invalid/*.yaml.
runway_c_test(scenario_numeric_edges_accepted_or_refused_by_rule test_scenario_edges.c)
