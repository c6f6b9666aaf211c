# scripts/slurm/: the job scripts, run for real on a one-node Slurm cluster
# on localhost that the test starts and stops (scripts/slurm_local.sh;
# Debian's slurm-wlm and munge; needs root): a job array of shards and the
# dependent merge job, the MPI job script when runway-mpi is built, a sweep
# array over scenario files, and a shard preempted by its warning signal
# that checkpoints and requeues itself. Each result is compared bit for bit
# with a direct run. Fails, never skips, when Slurm cannot be started.
# About 35 s on 2 cores.
set(RUNWAY_SLURM_TEST_ARGS $<TARGET_FILE:runway> ${CMAKE_SOURCE_DIR})
if(TARGET runway-mpi)
  list(APPEND RUNWAY_SLURM_TEST_ARGS $<TARGET_FILE:runway-mpi>)
endif()
add_test(NAME slurm_array_merge_mpi_sweep_and_preemption_on_a_local_cluster
  COMMAND ${RUNWAY_PY} ${CMAKE_CURRENT_SOURCE_DIR}/test_slurm.py ${RUNWAY_SLURM_TEST_ARGS})
# One local cluster at a time: its ports are fixed (RUNWAY_SLURM_PORT).
set_tests_properties(slurm_array_merge_mpi_sweep_and_preemption_on_a_local_cluster PROPERTIES
  TIMEOUT 600 RESOURCE_LOCK runway_slurm_cluster ENVIRONMENT PYTHONDONTWRITEBYTECODE=1)
